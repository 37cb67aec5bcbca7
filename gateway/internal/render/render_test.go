package render_test

import (
	"strings"
	"testing"

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
