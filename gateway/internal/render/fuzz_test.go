package render_test

import (
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
)

// FuzzParse checks that no subject, text or html, however broken, makes
// Parse or rendering a sample panic.
func FuzzParse(f *testing.F) {
	f.Add("Hi {{ .Customer.Traits.first_name }}", "{{ money .Event.Properties.value \"USD\" }}", "<p>{{ date \"15:04\" .Event.OccurredAt }}</p>")
	f.Add("{{ index .Customer.Traits \"x\" | default \"there\" }}", "{{ range .Fire.items }}{{ .name }}{{ $.Customer.Email }}{{ end }}", "<a href=\"{{ .UnsubscribeURL }}\">x</a>")
	f.Add("{{ .Custmer }}", "{{ with .Customer }}{{ .Email }}{{ else }}{{ .Event.Propertys }}{{ end }}", "{{ define \"p\" }}{{ .x }}{{ end }}{{ template \"p\" . }}")
	f.Add("{{ $ = .Customer }}{{ $.Email }}", "{{ (.Event).Type }} {{ .Event.OccurredAt.UTC.Year }}", "<script>var x = {{ .Fire }};</script>")
	f.Add("", "{{ money \"1e400\" \"JPY\" }} {{ money -0.5 \"KWD\" }}", "{{ date \"\" .Fire.entered_at }}")
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject, text, html string) {
		tmpl, err := render.Parse("fuzz", subject, text, html)
		if err != nil {
			return
		}
		d := sample()
		d.Location = tokyo
		d.Fire["items"] = []any{map[string]any{"name": "x"}, time.Unix(0, 0)}
		_, _ = tmpl.Render(d)
	})
}
