package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/triggergate/triggergate/sdk"
)

// journeyConfig exercises every attribute type and nested repeated blocks,
// the way a plugin describes itself with sdk.SchemaOf.
type journeyConfig struct {
	Name     string            `hcl:"name"`
	Priority float64           `hcl:"priority,optional"`
	Enabled  bool              `hcl:"enabled,optional"`
	Wait     sdk.Duration      `hcl:"wait,optional"`
	When     sdk.Expression    `hcl:"when,optional"`
	Cancel   []string          `hcl:"cancel,optional"`
	Buckets  []float64         `hcl:"buckets,optional"`
	Labels   map[string]string `hcl:"labels,optional"`
	Goal     *goalConfig       `hcl:"goal,block"`
	Steps    []stepConfig      `hcl:"step,block"`
}

type goalConfig struct {
	Event string `hcl:"event"`
}

type stepConfig struct {
	Delay    sdk.Duration   `hcl:"delay"`
	Branches []branchConfig `hcl:"branch,block"`
}

type branchConfig struct {
	If   sdk.Expression `hcl:"if"`
	Then string         `hcl:"then"`
}

const journeyHCL = `channel "c" {
  plugin = "journey"
  config {
    name     = "welcome"
    priority = 2.5
    enabled  = true
    wait     = "7d"
    when     = event.type == "signup" && try(customer.traits.vip, false) != true # not VIP
    cancel   = ["unsubscribed", "order.placed"]
    buckets  = [1, 2.5, 10]
    labels   = { team = "growth", owner = env("TG_TEST_OWNER", "nobody") }

    goal {
      event = "order.placed"
    }

    step {
      delay = "1h"
      branch {
        if   = contains([for t in event.tags : lower(t)], "vip")
        then = "vip_mail"
      }
      branch {
        if = (
          event.properties.value > 50
        )
        then = "big_mail"
      }
    }

    step {
      delay = "2d"
    }
  }
}
`

func loadBody(t *testing.T, src string) (*Config, hcl.Body) {
	t.Helper()
	cfg, diags := LoadFiles(one(src), t.TempDir())
	noErrors(t, diags)
	if len(cfg.Channels) == 0 {
		t.Fatal("no channel")
	}
	return cfg, cfg.Channels[0].Config
}

func TestDecodePluginConfigAllTypes(t *testing.T) {
	t.Parallel()
	cfg, body := loadBody(t, journeyHCL)
	raw, diags := DecodePluginConfig(body, sdk.SchemaOf(journeyConfig{}), EvalContext(cfg.BaseDir))
	noErrors(t, diags)

	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	want := map[string]any{
		"name":     "welcome",
		"priority": 2.5,
		"enabled":  true,
		"wait":     "7d",
		"when":     `event.type == "signup" && try(customer.traits.vip, false) != true`,
		"cancel":   []any{"unsubscribed", "order.placed"},
		"buckets":  []any{1.0, 2.5, 10.0},
		"labels":   map[string]any{"team": "growth", "owner": "nobody"},
		"goal":     map[string]any{"event": "order.placed"},
		"step": []any{
			map[string]any{
				"delay": "1h",
				"branch": []any{
					map[string]any{"if": `contains([for t in event.tags : lower(t)], "vip")`, "then": "vip_mail"},
					map[string]any{"if": "(\n          event.properties.value > 50\n        )", "then": "big_mail"},
				},
			},
			map[string]any{"delay": "2d"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("got\n%s", gb)
	}

	// The plugin side decodes it back, and the expressions work.
	var jc journeyConfig
	if err := sdk.DecodeConfig(raw, &jc); err != nil {
		t.Fatalf("sdk.DecodeConfig: %v", err)
	}
	if jc.Wait.D() != 7*24*time.Hour || len(jc.Steps) != 2 || len(jc.Steps[0].Branches) != 2 || jc.Goal == nil {
		t.Errorf("decoded = %+v", jc)
	}
	ok, err := jc.When.EvalBool(&sdk.Event{Type: "signup"}, &sdk.Profile{})
	if err != nil || !ok {
		t.Errorf("when.EvalBool = %v, %v; want true", ok, err)
	}
}

func TestDecodePluginConfigEmpty(t *testing.T) {
	t.Parallel()
	optional := sdk.Schema{
		Attributes: []sdk.AttributeSchema{{Name: "host", Type: sdk.TypeString}},
		Blocks:     []sdk.BlockSchema{{Name: "tls", Repeated: true}},
	}
	_, absent := loadBody(t, "channel \"c\" {\n  plugin = \"log\"\n}\n")
	_, empty := loadBody(t, "channel \"c\" {\n  plugin = \"log\"\n  config {}\n}\n")
	tests := []struct {
		name string
		body hcl.Body
	}{
		{"nil body", nil},
		{"hcl.EmptyBody", hcl.EmptyBody()},
		{"absent config block", absent},
		{"empty config block", empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range []sdk.Schema{{}, optional} {
				raw, diags := DecodePluginConfig(tt.body, s, EvalContext("."))
				noErrors(t, diags)
				if string(raw) != "{}" {
					t.Errorf("raw = %s, want {}", raw)
				}
			}
		})
	}
}

func TestDecodePluginConfigErrors(t *testing.T) {
	t.Parallel()
	schema := sdk.Schema{
		Attributes: []sdk.AttributeSchema{
			{Name: "host", Type: sdk.TypeString, Required: true},
			{Name: "port", Type: sdk.TypeNumber},
			{Name: "tls", Type: sdk.TypeBool},
			{Name: "wait", Type: sdk.TypeDuration},
			{Name: "when", Type: sdk.TypeExpression},
			{Name: "tags", Type: sdk.TypeStringList},
			{Name: "nums", Type: sdk.TypeNumberList},
			{Name: "headers", Type: sdk.TypeStringMap},
		},
		Blocks: []sdk.BlockSchema{
			{Name: "auth", Required: true, Schema: sdk.Schema{Attributes: []sdk.AttributeSchema{{Name: "user", Type: sdk.TypeString, Required: true}}}},
			{Name: "step", Repeated: true, Schema: sdk.Schema{Attributes: []sdk.AttributeSchema{{Name: "delay", Type: sdk.TypeDuration, Required: true}}}},
		},
	}
	// Each case adds one line (line 5) to an otherwise valid config.
	head := "channel \"c\" {\n  plugin = \"x\"\n  config {\n    host = \"h\"\n"
	tail := "\n    auth {\n      user = \"u\"\n    }\n  }\n}\n"
	tests := []struct {
		name, line, text, at string
	}{
		{"string for number", `port = "many"`, `Inappropriate value for attribute "port": a number is required`, "a.hcl:5"},
		{"number for bool", `tls = 3`, `Inappropriate value for attribute "tls"`, "a.hcl:5"},
		{"number for list", `tags = 3`, "want a list of strings", "a.hcl:5"},
		{"bad list element", `nums = [1, "x"]`, `Inappropriate value for attribute "nums"`, "a.hcl:5"},
		{"null list element", `tags = ["a", null]`, `Element 1 of "tags" is null`, "a.hcl:5"},
		{"null map element", `headers = { a = null }`, `Element "a" of "headers" is null`, "a.hcl:5"},
		{"list for map", `headers = ["a"]`, "want a map of strings", "a.hcl:5"},
		{"bad duration", `wait = "soon"`, `invalid duration "soon"`, "a.hcl:5"},
		{"number duration", `wait = 5`, `invalid duration "5"`, "a.hcl:5"},
		{"unknown attribute", `prot = 1`, `An argument named "prot" is not expected here. Did you mean "port"?`, "a.hcl:5"},
		{"unknown block", `retry {}`, `Blocks of type "retry" are not expected here`, "a.hcl:5"},
		{"variable in static attribute", `tags = [event.type]`, "Variables not allowed", "a.hcl:5"},
		{"env unset in plugin config", `tags = [env("TG_TEST_SURELY_UNSET")]`, `environment variable "TG_TEST_SURELY_UNSET" is not set`, "a.hcl:5"},
		{"unknown variable in expression", `when = event.type == "x" && order.total > 5`, `There is no variable "order" here: expressions may refer only to event and customer`, "a.hcl:5"},
		{"unknown function in expression", `when = env("X") == "y"`, `There is no function "env" in expressions; the functions available are abs, can`, "a.hcl:5"},
		{"nested unknown function", `when = lower(upper(jsonencode(event)))`, `There is no function "jsonencode"`, "a.hcl:5"},
		{"duplicate single block", "auth {\n      user = \"v\"\n    }", `Only one "auth" block is allowed here; the first is at a.hcl:5`, "a.hcl:8"},
		{"repeated block missing attr", "step {\n    }", `The argument "delay" is required`, "a.hcl:5"},
		{"repeated block bad duration", "step {\n      delay = \"1h\"\n    }\n    step {\n      delay = \"x\"\n    }", `invalid duration "x"`, "a.hcl:9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, body := loadBody(t, head+"    "+tt.line+tail)
			_, diags := DecodePluginConfig(body, schema, EvalContext(cfg.BaseDir))
			wantDiag(t, diags, tt.text, tt.at)
		})
	}

	missing := []struct {
		name, src, text, at string
	}{
		{"missing required attribute", "channel \"c\" {\n  plugin = \"x\"\n  config {\n    auth {\n      user = \"u\"\n    }\n  }\n}\n",
			`The argument "host" is required`, "a.hcl:3"},
		{"null required attribute", "channel \"c\" {\n  plugin = \"x\"\n  config {\n    host = null\n    auth {\n      user = \"u\"\n    }\n  }\n}\n",
			`The attribute "host" is required and must not be null`, "a.hcl:4"},
		{"missing required block", "channel \"c\" {\n  plugin = \"x\"\n  config {\n    host = \"h\"\n  }\n}\n",
			`At least one "auth" block is required`, "a.hcl:3"},
		{"absent config block", "\nchannel \"c\" {\n  plugin = \"x\"\n}\n",
			`The argument "host" is required`, "a.hcl:2"},
	}
	for _, tt := range missing {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, body := loadBody(t, tt.src)
			_, diags := DecodePluginConfig(body, schema, EvalContext(cfg.BaseDir))
			wantDiag(t, diags, tt.text, tt.at)
		})
	}
}

func TestDecodePluginConfigExpressionSource(t *testing.T) {
	t.Parallel()
	schema := sdk.Schema{Attributes: []sdk.AttributeSchema{{Name: "when", Type: sdk.TypeExpression, Required: true}}}
	tests := []struct {
		name, expr string
	}{
		{"comparison", `event.properties.value > 50`},
		{"unicode and template", `"${event.type}-ünï" == "order.placed-ünï"`},
		{"multi-line in parentheses", "(customer.traits.vip &&\n      event.type == \"x\")"},
		{"for expression local", `length([for k, v in event.properties : v if k != "x"]) > 0`},
		{"splat", `contains(event.items[*].sku, "A1")`},
		{"conditional", `event.type == "a" ? true : false`},
		{"literal", `true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, body := loadBody(t, "channel \"c\" {\n  plugin = \"x\"\n  config {\n    when = "+tt.expr+"\n  }\n}\n")
			raw, diags := DecodePluginConfig(body, schema, EvalContext(cfg.BaseDir))
			noErrors(t, diags)
			var got struct{ When string }
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got.When != tt.expr {
				t.Errorf("when = %q, want %q", got.When, tt.expr)
			}
			if _, err := sdk.ParseExpression(got.When); err != nil {
				t.Errorf("source does not parse: %v", err)
			}
		})
	}
}

func TestDecodePluginConfigSourceBody(t *testing.T) {
	t.Parallel()
	// Source.Body is decoded the same way by package source, including
	// its nested blocks and expressions.
	cfg, diags := LoadFiles(one("source \"s\" {\n  kind = \"k\"\n  secret = \"x\"\n  map {\n    when = event.type == \"a\"\n  }\n}\n"), ".")
	noErrors(t, diags)
	schema := sdk.Schema{Blocks: []sdk.BlockSchema{{Name: "map", Schema: sdk.Schema{
		Attributes: []sdk.AttributeSchema{{Name: "when", Type: sdk.TypeExpression}},
	}}}}
	raw, diags := DecodePluginConfig(cfg.Sources[0].Body, schema, EvalContext("."))
	noErrors(t, diags)
	if want := `{"map":{"when":"event.type == \"a\""}}`; string(raw) != want {
		t.Errorf("raw = %s, want %s", raw, want)
	}

	// A caller that takes part of the body first keeps the source too.
	_, rest, diags := cfg.Sources[0].Body.PartialContent(&hcl.BodySchema{})
	noErrors(t, diags)
	raw, diags = DecodePluginConfig(rest, schema, EvalContext("."))
	noErrors(t, diags)
	if want := `{"map":{"when":"event.type == \"a\""}}`; string(raw) != want {
		t.Errorf("after PartialContent: raw = %s, want %s", raw, want)
	}
}

func TestDecodePluginConfigWithoutSource(t *testing.T) {
	t.Parallel()
	f, diags := hclsyntax.ParseConfig([]byte("when = event.x > 1\n"), "raw.hcl", hcl.InitialPos)
	noErrors(t, diags)
	schema := sdk.Schema{Attributes: []sdk.AttributeSchema{{Name: "when", Type: sdk.TypeExpression}}}
	_, diags = DecodePluginConfig(f.Body, schema, nil)
	wantDiag(t, diags, "source text of \"when\" is not known", "raw.hcl:1")
}

func TestPluginDiagnostics(t *testing.T) {
	t.Parallel()
	cfg, body := loadBody(t, journeyHCL)
	fallback := cfg.Channels[0].ConfigRange // line 3
	tests := []struct {
		name       string
		path       sdk.Path
		wantLine   int
		wantCol    int
		wantDetail string
	}{
		{"empty path", nil, 3, 3, "why"},
		{"top attribute", sdk.Attr("wait"), 7, 16, "why"},
		{"list element", sdk.Attr("cancel").Index(1), 9, 33, "why"},
		{"single block attribute", sdk.Attr("goal").Attr("event"), 14, 15, "why"},
		{"repeated block attribute", sdk.Attr("step").Index(1).Attr("delay"), 32, 15, "why"},
		{"first repeated block", sdk.Attr("step").Index(0).Attr("delay"), 18, 15, "why"},
		{"nested repeated block", sdk.Attr("step").Index(0).Attr("branch").Index(1).Attr("then"), 27, 16, "why"},
		{"block itself", sdk.Attr("step").Index(1), 31, 5, "why"},
		{"unknown attribute in block", sdk.Attr("step").Index(1).Attr("nope"), 31, 5, "At step[1].nope. why"},
		{"index out of range", sdk.Attr("step").Index(7).Attr("delay"), 3, 3, "At step[7].delay. why"},
		{"unknown top name", sdk.Attr("nope"), 3, 3, "At nope. why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := PluginDiagnostics(body, fallback, sdk.Diagnostics{{Severity: sdk.SeverityError, Summary: "bad", Detail: "why", Path: tt.path}})
			if len(got) != 1 {
				t.Fatalf("got %d diagnostics, want 1", len(got))
			}
			d := got[0]
			if d.Severity != hcl.DiagError || d.Summary != "bad" || d.Detail != tt.wantDetail {
				t.Errorf("diagnostic = %s (detail %q)", d.Error(), d.Detail)
			}
			if d.Subject == nil || d.Subject.Filename != "a.hcl" || d.Subject.Start.Line != tt.wantLine || d.Subject.Start.Column != tt.wantCol {
				t.Errorf("subject = %v, want a.hcl:%d,%d", d.Subject, tt.wantLine, tt.wantCol)
			}
		})
	}

	t.Run("warning and no body", func(t *testing.T) {
		t.Parallel()
		got := PluginDiagnostics(nil, fallback, sdk.Diagnostics{{Severity: sdk.SeverityWarning, Summary: "meh", Path: sdk.Attr("x")}})
		if len(got) != 1 || got[0].Severity != hcl.DiagWarning || got[0].Subject.Start.Line != 3 {
			t.Errorf("got %v", got)
		}
		if !strings.Contains(got[0].Detail, "At x.") {
			t.Errorf("detail = %q, want the path", got[0].Detail)
		}
	})
}
