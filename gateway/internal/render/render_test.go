package render_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests' zones resolve on hosts without zone files

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

func TestRender(t *testing.T) {
	t.Parallel()
	data := &render.Data{
		Customer: sdk.Profile{Customer: sdk.Customer{Email: "jane@example.com"}, Traits: map[string]any{"first_name": "Jane"}},
		Event:    sdk.Event{Type: "checkout.updated", Properties: map[string]any{"value": 199.0, "note": "<b>hi</b>"}},
		Fire:     map[string]any{"count": 3},
		Trigger:  "cart", Step: "reminder",
	}
	cases := []struct {
		name                string
		subject, text, html string
		want                render.Content
		wantErr             string
	}{
		{name: "all parts",
			subject: "Hi {{ .Customer.Traits.first_name }}", text: "{{ .Trigger }}/{{ .Step }} {{ .Fire.count }}",
			html: "<p>{{ .Event.Properties.note }}</p>",
			want: render.Content{Subject: "Hi Jane", Text: "cart/reminder 3", HTML: "<p>&lt;b&gt;hi&lt;/b&gt;</p>"}},
		{name: "missing value is an error", text: "{{ .Customer.Traits.last_name }}", wantErr: "last_name"},
		{name: "subject may not break lines", subject: "{{ .Event.Properties.note }}\n", wantErr: "one line"},
		{name: "bad syntax", text: "{{ .Foo ", wantErr: "unclosed action"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := render.Parse("t", c.subject, c.text, c.html)
			if err == nil {
				var got render.Content
				got, err = tmpl.Render(data)
				if err == nil && c.wantErr == "" {
					if got != c.want {
						t.Fatalf("got %+v, want %+v", got, c.want)
					}
					return
				}
			}
			if c.wantErr == "" || err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.wantErr)
			}
		})
	}
}

func TestRenderedSubjectWithNewlineIsRefused(t *testing.T) {
	t.Parallel()
	tmpl, err := render.Parse("t", "Re: {{ .Event.Properties.title }}", "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tmpl.Render(&render.Data{Event: sdk.Event{Properties: map[string]any{"title": "x\r\nBcc: victim@example.com"}}})
	if err == nil || !strings.Contains(err.Error(), "line break") {
		t.Fatalf("err = %v, want a refusal of the header injection", err)
	}
}

// sample is a customer in the middle of an order, for the tests below.
func sample() *render.Data {
	return &render.Data{
		Customer: sdk.Profile{
			Customer: sdk.Customer{ID: "c-1", Email: "jane@example.com"},
			Traits:   map[string]any{"first_name": "Jane", "nickname": "", "visits": 0.0},
			Timezone: "Asia/Tokyo",
			Stats:    sdk.Stats{OrdersCount: 2, LastOrderAt: time.Date(2026, 1, 10, 23, 30, 0, 0, time.UTC)},
		},
		Event: sdk.Event{
			Type:       "order.placed",
			OccurredAt: time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC),
			ReceivedAt: time.Date(2026, 7, 1, 12, 0, 1, 0, time.UTC),
			Properties: map[string]any{
				"value": 1234.5, "currency": "usd", "text_value": "1234.5", "number": json.Number("19.99"),
				"order_id": "1001", "nan": math.NaN(),
			},
		},
		Fire: map[string]any{
			"entered_at": "2026-07-01T14:00:00+02:00",
			"occurs_on":  "2026-03-14",
			"count":      0,
		},
		Trigger: "orders", Step: "default",
	}
}

// renderText renders src as the text part over d.
func renderText(t *testing.T, src string, d *render.Data) (string, error) {
	t.Helper()
	tmpl, err := render.Parse("t", "", src, "")
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	c, err := tmpl.Render(d)
	return c.Text, err
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, want, wantErr string
	}{
		{name: "money USD", src: `{{ money 1234.5 "USD" }}`, want: "$1,234.50"},
		{name: "money EUR", src: `{{ money 12 "EUR" }}`, want: "€12.00"},
		{name: "money CHF has a space after its letters", src: `{{ money 12 "chf" }}`, want: "CHF 12.00"},
		{name: "money JPY has no decimals", src: `{{ money 1234.5 "JPY" }}`, want: "¥1,235"},
		{name: "money KWD has three", src: `{{ money 7 "KWD" }}`, want: "KWD 7.000"},
		{name: "money negative", src: `{{ money -1234.5 "USD" }}`, want: "-$1,234.50"},
		{name: "money negative that rounds to zero", src: `{{ money -0.001 "USD" }}`, want: "$0.00"},
		{name: "money rounds halves up as written", src: `{{ money 1.005 "USD" }} {{ money 9.995 "USD" }}`, want: "$1.01 $10.00"},
		{name: "money from data", src: `{{ money .Event.Properties.value .Event.Properties.currency }}`, want: "$1,234.50"},
		{name: "money string amount", src: `{{ money .Event.Properties.text_value "EUR" }} {{ money " 3" "EUR" }}`, want: "€1,234.50 €3.00"},
		{name: "money json.Number amount", src: `{{ money .Event.Properties.number "GBP" }}`, want: "£19.99"},
		{name: "money int amount", src: `{{ money .Fire.count "USD" }}`, want: "$0.00"},
		{name: "money not a number", src: `{{ money "abc" "USD" }}`, wantErr: `amount "abc" is not a number`},
		{name: "money NaN string", src: `{{ money "NaN" "USD" }}`, wantErr: `amount "NaN" is not a number`},
		{name: "money NaN float", src: `{{ money .Event.Properties.nan "USD" }}`, wantErr: "not a finite number"},
		{name: "money hex string", src: `{{ money "0x10" "USD" }}`, wantErr: "not a number"},
		{name: "money missing amount", src: `{{ money (index .Event.Properties "total") "USD" }}`, wantErr: "amount nil (no value) is not a number"},
		{name: "money bool amount", src: `{{ money true "USD" }}`, wantErr: "amount true (bool) is not a number"},
		{name: "money unknown currency", src: `{{ money 1 "XYZ" }}`, wantErr: `currency "XYZ" is not an ISO 4217 code`},
		{name: "money empty currency", src: `{{ money 1 "" }}`, wantErr: "not an ISO 4217 code"},
		{name: "money currency of the wrong type", src: `{{ money 1 2 }}`, wantErr: "currency 2 (int) is not an ISO 4217 code"},

		{name: "date of a time", src: `{{ date "2006-01-02 15:04" .Event.OccurredAt }}`, want: "2026-07-01 12:00"},
		{name: "date piped", src: `{{ .Event.OccurredAt | date "Jan 2" }}`, want: "Jul 1"},
		{name: "date of an RFC 3339 string keeps its offset", src: `{{ date "15:04 -0700" .Fire.entered_at }}`, want: "14:00 +0200"},
		{name: "date of a plain date", src: `{{ date "2 January" .Fire.occurs_on }}`, want: "14 March"},
		{name: "date of a day without a year", src: `{{ date "2 January" "--03-14" }}`, want: "14 March"},
		{name: "date of something else", src: `{{ date "15:04" "yesterday" }}`, wantErr: `"yesterday" is not a time`},
		{name: "date of nothing", src: `{{ date "15:04" (index .Fire "nope") }}`, wantErr: "nil (no value) is not a time"},
		{name: "date of a number", src: `{{ date "15:04" 12 }}`, wantErr: "12 (int) is not a time"},
		{name: "date of an unknown time", src: `{{ date "15:04" .Customer.Stats.FirstSeenAt }}`, wantErr: "zero time"},

		{name: "default with a present value", src: `{{ index .Customer.Traits "first_name" | default "there" }}`, want: "Jane"},
		{name: "default with a missing value", src: `{{ index .Customer.Traits "last_name" | default "there" }}`, want: "there"},
		{name: "default with an empty string", src: `{{ index .Customer.Traits "nickname" | default "friend" }}`, want: "friend"},
		{name: "default with zero", src: `{{ .Customer.Traits.visits | default 1 }} {{ default 5 .Fire.count }}`, want: "1 5"},
		{name: "default in a longer pipeline", src: `{{ index .Event.Properties "total" | default .Event.Properties.value | printf "%.2f" }}`, want: "1234.50"},
		{name: "default as an argument", src: `{{ money 1 (index .Event.Properties "currency" | default "EUR") }} {{ money 1 (index .Fire "currency" | default "EUR") }}`, want: "$1.00 €1.00"},
		{name: "default keeps the missing key rule", src: `{{ .Customer.Traits.last_name | default "there" }}`, wantErr: `map has no entry for key "last_name"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := renderText(t, c.src, sample())
			switch {
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %q, err = %v; want an error mentioning %q", got, err, c.wantErr)
				}
			case err != nil:
				t.Fatalf("err = %v, want %q", err, c.want)
			case got != c.want:
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestHelpersInEveryPart(t *testing.T) {
	t.Parallel()
	src := `{{ money 5 "EUR" }} {{ date "Jan 2" .Event.OccurredAt }} {{ default "x" "" }}`
	tmpl, err := render.Parse("t", src, src, "<p>"+src+"</p>")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	want := render.Content{Subject: "€5.00 Jul 1 x", Text: "€5.00 Jul 1 x", HTML: "<p>€5.00 Jul 1 x</p>"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestRenderInCustomerTimezone(t *testing.T) {
	t.Parallel()
	src := `{{ .Event.OccurredAt.Format "Mon 2 Jan 15:04 MST" }}|{{ date "15:04" .Event.OccurredAt }}|` +
		`{{ .Event.ReceivedAt.Format "15:04:05" }}|{{ date "2 Jan 15:04" .Customer.Stats.LastOrderAt }}|` +
		`{{ date "15:04" .Fire.at }}|{{ date "15:04" (index .Fire.nested.list 0) }}|{{ date "15:04 -0700" .Fire.entered_at }}`
	cases := []struct {
		zone string
		want string
	}{
		{"Asia/Tokyo", "Wed 1 Jul 21:00 JST|21:00|21:00:01|11 Jan 08:30|18:00|18:00|14:00 +0200"},
		// July: Pacific daylight time, UTC-7.
		{"America/Los_Angeles", "Wed 1 Jul 05:00 PDT|05:00|05:00:01|10 Jan 15:30|02:00|02:00|14:00 +0200"},
		{"", "Wed 1 Jul 12:00 UTC|12:00|12:00:01|10 Jan 23:30|09:00|09:00|14:00 +0200"},
	}
	for _, c := range cases {
		t.Run(c.zone, func(t *testing.T) {
			t.Parallel()
			d := sample()
			if c.zone != "" {
				loc, err := time.LoadLocation(c.zone)
				if err != nil {
					t.Fatal(err)
				}
				d.Location = loc
			}
			at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
			d.Fire["at"] = at
			d.Fire["nested"] = map[string]any{"list": []any{at}}
			tmpl, err := render.Parse("t", src, src, src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Render(d)
			if err != nil {
				t.Fatal(err)
			}
			for part, s := range map[string]string{"subject": got.Subject, "text": got.Text, "html": got.HTML} {
				if want := strings.ReplaceAll(c.want, "+", map[bool]string{true: "&#43;", false: "+"}[part == "html"]); s != want {
					t.Errorf("%s = %q, want %q", part, s, want)
				}
			}
		})
	}
}

func TestRenderWithoutLocationShowsUTC(t *testing.T) {
	t.Parallel()
	d := sample()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	d.Event.OccurredAt = d.Event.OccurredAt.In(paris)
	got, err := renderText(t, `{{ .Event.OccurredAt.Format "15:04 MST" }}`, d)
	if err != nil || got != "12:00 UTC" {
		t.Fatalf("got %q, %v; want 12:00 UTC", got, err)
	}
}

func TestRenderDoesNotChangeItsData(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	build := func() *render.Data {
		d := sample()
		d.Fire["at"] = at
		d.Fire["nested"] = map[string]any{"list": []any{at, "x"}}
		d.Event.Properties["when"] = at
		d.Customer.Traits["since"] = at
		delete(d.Event.Properties, "nan") // NaN is not DeepEqual to itself
		return d
	}
	d, want := build(), build()
	shared := d.Fire["nested"].(map[string]any)
	list := shared["list"].([]any)
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	d.Location, want.Location = loc, loc
	got, err := renderText(t, `{{ date "15:04" .Fire.at }} {{ date "15:04" .Event.Properties.when }} {{ date "15:04" .Customer.Traits.since }} {{ .Event.OccurredAt.Format "15:04" }}`, d)
	if err != nil || got != "18:00 18:00 18:00 21:00" {
		t.Fatalf("got %q, %v", got, err)
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("Render changed its data:\n got %+v\nwant %+v", d, want)
	}
	if list[0].(time.Time).Location() != time.UTC || d.Event.OccurredAt.Location() != time.UTC {
		t.Fatal("Render moved the caller's times to the customer's location")
	}
}

func TestUnsubscribeURL(t *testing.T) {
	t.Parallel()
	tmpl, err := render.Parse("t", "", `{{ with .UnsubscribeURL }}Unsubscribe: {{ . }}{{ end }}`, `<a href="{{ .UnsubscribeURL }}">unsubscribe</a>`)
	if err != nil {
		t.Fatal(err)
	}
	d := sample()
	d.UnsubscribeURL = "https://mail.example.com/t/u/abc?x=1&y=2"
	got, err := tmpl.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "Unsubscribe: https://mail.example.com/t/u/abc?x=1&y=2" ||
		got.HTML != `<a href="https://mail.example.com/t/u/abc?x=1&amp;y=2">unsubscribe</a>` {
		t.Fatalf("got %+v", got)
	}
	d.UnsubscribeURL = ""
	if got, err = tmpl.Render(d); err != nil || got.Text != "" {
		t.Fatalf("without tracking: got %+v, %v; want no line", got, err)
	}
}

// A template whose output runs away fails instead of filling memory.
func TestRenderCapsOutput(t *testing.T) {
	t.Parallel()
	for _, part := range []string{"text", "html"} {
		text, html := "", ""
		body := `{{ range 2000000 }}0123456789{{ end }}`
		if part == "text" {
			text = body
		} else {
			html = body
		}
		tmpl, err := render.Parse("loop", "", text, html)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tmpl.Render(&render.Data{}); err == nil || !strings.Contains(err.Error(), "longer than 1048576 bytes") {
			t.Errorf("%s: err = %v, want the output cap", part, err)
		}
	}
}
