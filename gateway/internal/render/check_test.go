package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/render"
)

func TestStaticChecksAccept(t *testing.T) {
	t.Parallel()
	good := []string{
		`{{ .Customer.Email }} {{ .Customer.ID }} {{ .Customer.Timezone }} {{ .Customer.Stats.OrdersCount }}`,
		`{{ .Customer.Customer.Email }} {{ .Customer.Key }} {{ .Event.Customer.Email }}`,
		`{{ .Customer.Traits.first_name }} {{ .Event.Properties.anything.deeper }} {{ .Fire.x.y }} {{ .Customer.Consent.email }}`,
		`{{ .Trigger }} {{ .Step }} {{ .UnsubscribeURL }} {{ .Event.Type }}`,
		`{{ .Event.OccurredAt.Format "2006" }} {{ .Event.OccurredAt.UTC.Year }} {{ .Customer.Stats.LastOrderAt.IsZero }}`,
		`{{ with .Customer }}{{ .Email }}{{ .Anything }}{{ end }}`,
		`{{ with index .Fire "x" }}{{ .Whatever }}{{ else }}{{ .Trigger }}{{ end }}`,
		`{{ with .Fire.a }}{{ .b }}{{ else with .Fire.c }}{{ .d }}{{ end }}`,
		`{{ range .Event.Properties.items }}{{ .name }} {{ index . "sku" }} {{ $.Customer.Email }}{{ end }}`,
		`{{ range $i, $e := .Fire.items }}{{ $i }} {{ $e.sku }} {{ $.Event.Properties.x }}{{ break }}{{ end }}`,
		`{{ range 3 }}{{ . }}{{ end }}`,
		`{{ $x := .Customer }}{{ $x.Nope }}`,
		`{{ $ = .Customer }}{{ $.Email }}`,
		`{{ (index .Fire "x").Foo }} {{ printf "%v" (.Customer.Email) }}`,
		`{{ define "p" }}{{ .Anything }}{{ $.Anything }}{{ end }}{{ template "p" .Customer }}`,
		`{{ block "b" .Event }}{{ .Type }}{{ end }}`,
		`{{ if .Customer.Traits }}{{ .Customer.Email }}{{ else if .Fire }}{{ .Step }}{{ end }}`,
		`{{ index .Customer.Traits "first_name" | default "there" }} {{ money .Event.Properties.value "EUR" }}`,
	}
	for _, src := range good {
		for part, p := range map[string][3]string{"subject": {src, "", ""}, "text": {"", src, ""}, "html": {"", "", src}} {
			if _, err := render.Parse("t", p[0], p[1], p[2]); err != nil {
				t.Errorf("%s %q: %v", part, src, err)
			}
		}
	}
}

func TestStaticChecksRefuse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                string
		subject, text, html string
		want                []string
	}{
		{name: "unknown first field", text: "Hi\n{{ .Custmer }}",
			want: []string{`template "t" text: line 2: .Custmer is not a field; templates see .Customer, .Event, .Fire, .Trigger, .Step, .UnsubscribeURL`}},
		{name: "customer field", subject: "Hi {{ .Customer.FirstName }}",
			want: []string{`template "t" subject: line 1: .Customer.FirstName is not a field; .Customer has ID, Email, Phone, ExternalIDs, AnonymousID, Traits, Timezone, Stats, Consent; a trait is .Customer.Traits.first_name`}},
		{name: "event field in html", html: "<p>\n\n{{ .Event.Propertys.value }}</p>",
			want: []string{`template "t" html: line 3: .Event.Propertys is not a field; .Event has ID, Type,`, "did you mean .Event.Properties?"}},
		{name: "event field hint", text: "{{ .Event.OrderID }}", want: []string{"an event property is .Event.Properties.order_id"}},
		{name: "misspelt customer field", text: "{{ .Customer.Emial }}", want: []string{"did you mean .Customer.Email?"}},
		{name: "event customer has no traits", text: "{{ .Event.Customer.Traits.x }}", want: []string{"the profile has it: .Customer.Traits"}},
		{name: "stats", text: "{{ .Customer.Stats.Orders }}", want: []string{".Customer.Stats.Orders is not a field; .Customer.Stats has OrdersCount,"}},
		{name: "time method", text: `{{ .Event.OccurredAt.Formt "15:04" }}`, want: []string{".Event.OccurredAt.Formt is not a method of time.Time"}},
		{name: "field of a string", text: "{{ .Trigger.Name }}", want: []string{".Trigger.Name is not a field: .Trigger is a string"}},
		{name: "settings are not data", text: "{{ .Location }}", want: []string{".Location is not a field"}},
		{name: "dollar inside range", text: "{{ range .Fire.items }}\n{{ $.Custmer.Email }}{{ end }}", want: []string{"text: line 2: $.Custmer is not a field"}},
		{name: "dollar inside with", text: "{{ with .Fire.x }}{{ $.Customer.Name }}{{ end }}", want: []string{"$.Customer.Name is not a field"}},
		{name: "with pipeline", text: "{{ with .Custmer }}{{ end }}", want: []string{".Custmer is not a field"}},
		{name: "with else keeps the dot", text: "{{ with .Fire.x }}{{ .y }}{{ else }}{{ .Evnt }}{{ end }}", want: []string{".Evnt is not a field"}},
		{name: "range else keeps the dot", text: "{{ range .Fire.x }}{{ .y }}{{ else }}{{ .Evnt }}{{ end }}", want: []string{".Evnt is not a field"}},
		{name: "if branches", text: "{{ if .Fire.x }}{{ .Stp }}{{ else }}{{ .Tigger }}{{ end }}", want: []string{".Stp is not a field", ".Tigger is not a field"}},
		{name: "parenthesised", text: `{{ printf "%s" (.Customer.Nmae) }}`, want: []string{".Customer.Nmae is not a field"}},
		{name: "function argument", text: `{{ money .Event.Value "EUR" }}`, want: []string{".Event.Value is not a field"}},
		{name: "variable declaration", text: `{{ $x := .Custmer }}{{ $x }}`, want: []string{".Custmer is not a field"}},
		{name: "template call", text: `{{ template "p" .Custmer }}{{ define "p" }}{{ . }}{{ end }}`, want: []string{".Custmer is not a field"}},
		{name: "every problem, each with its part and line", subject: "{{ .Sep }}", text: "{{ .A }}\n{{ .B }}",
			want: []string{`"t" subject: line 1: .Sep`, `"t" text: line 1: .A`, `"t" text: line 2: .B`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := render.Parse("t", c.subject, c.text, c.html)
			if err == nil {
				t.Fatalf("Parse accepted it; want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestShippedTemplatesPass guards against false alarms: every template in
// configs/ passes the static checks.
func TestShippedTemplatesPass(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../../configs/journeys/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no journeys found: %v", err)
	}
	files = append(files, "../../../configs/gateway.hcl")
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, diags := config.LoadFiles(map[string][]byte{filepath.Base(f): src}, filepath.Dir(f))
		if cfg == nil {
			t.Fatalf("%s: %v", f, diags)
		}
		for _, tp := range cfg.Templates {
			if _, err := render.Parse(tp.Name, tp.Subject, tp.Text, tp.HTML); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			n++
		}
	}
	if n < 20 {
		t.Fatalf("parsed %d templates; the journeys have more", n)
	}
}
