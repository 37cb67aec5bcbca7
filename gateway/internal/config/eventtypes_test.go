package config

import (
	"strings"
	"testing"

	"github.com/triggergate/triggergate/sdk"
)

func TestEventCatalog(t *testing.T) {
	t.Parallel()
	cfg, diags := LoadFiles(one(`
source "shop" {
  kind   = "shopify"
  secret = "s"
}
source "app" {
  kind        = "json"
  event_types = ["course.completed", "quiz.passed"]
}
`), t.TempDir())
	noErrors(t, diags)
	cat := cfg.Events()
	for _, tt := range []struct {
		pattern, suggestion string
		ok                  bool
	}{
		{"*", "", true},
		{"order.placed", "", true},
		{"order.*", "", true},
		{"course.completed", "", true},
		{"quiz.*", "", true},
		{"shopify.app.uninstalled", "", true},
		{"shopify.*", "", true},
		{"order.plcaed", "order.placed", false},
		{"course.complete", "course.completed", false},
		{"stripe.invoice.upcoming", "", false}, // no stripe source
		{"nothing.*", "", false},
		{"timer.fired", "", false},
	} {
		ok, suggestion := cat.Check(tt.pattern)
		if ok != tt.ok || (!ok && tt.suggestion != "" && suggestion != tt.suggestion) {
			t.Errorf("Check(%q) = %v, %q; want %v, %q", tt.pattern, ok, suggestion, tt.ok, tt.suggestion)
		}
	}
}

func TestDecodeEventTypes(t *testing.T) {
	t.Parallel()
	type trig struct {
		On sdk.EventTypes `hcl:"on"`
	}
	cfg, diags := LoadFiles(one(`
channel "c" {
  plugin = "log"
  config {
    on = ["order.placed", "order.plcaed"]
  }
}
`), t.TempDir())
	noErrors(t, diags)
	schema := sdk.SchemaOf(trig{})
	if schema.Attributes[0].Type != sdk.TypeEventTypes {
		t.Fatalf("schema type %q, want %q", schema.Attributes[0].Type, sdk.TypeEventTypes)
	}
	_, diags = DecodePluginConfig(cfg.Channels[0].Config, schema, EvalContext("."), cfg.Events())
	if !diags.HasErrors() || len(diags) != 1 {
		t.Fatalf("diags %v, want one error", diags)
	}
	d := diags[0]
	if d.Summary != "Unknown event type" || d.Subject.Start.Line != 5 ||
		!strings.Contains(d.Detail, `on[1] is "order.plcaed"`) || !strings.Contains(d.Detail, `Did you mean "order.placed"?`) {
		t.Fatalf("diagnostic %s at line %d: %s", d.Summary, d.Subject.Start.Line, d.Detail)
	}
	// Without a catalog the list is taken as is.
	raw, diags := DecodePluginConfig(cfg.Channels[0].Config, schema, EvalContext("."))
	noErrors(t, diags)
	if string(raw) != `{"on":["order.placed","order.plcaed"]}` {
		t.Fatalf("raw %s", raw)
	}
}

func TestSourceEventTypesErrors(t *testing.T) {
	t.Parallel()
	_, diags := LoadFiles(one(`
source "app" {
  kind        = "json"
  event_types = ["Course Completed", "timer.fired", "nodot", "ok.type"]
}
`), t.TempDir())
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary+": "+d.Detail)
	}
	all := strings.Join(got, "\n")
	if len(diags) != 3 || !strings.Contains(all, "event_types[0]") || !strings.Contains(all, "Reserved event type") || !strings.Contains(all, "event_types[2]") {
		t.Fatalf("diagnostics:\n%s", all)
	}
}
