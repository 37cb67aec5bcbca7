package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// TestReadmeExamples parses every HCL example of the README, decodes each
// journey trigger's config block against the plugin's schema (as the host
// does: expressions as their source text) and validates it, so the
// documented examples cannot drift from what the plugin accepts.
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	d, err := trig.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```hcl\n(.*?)```").FindAllSubmatch(readme, -1)
	var journeys int
	for i, m := range blocks {
		src := m[1]
		f, diags := hclsyntax.ParseConfig(src, "README.md", hcl.InitialPos)
		if diags.HasErrors() {
			t.Errorf("example %d does not parse: %s", i, diags)
			continue
		}
		for _, tb := range f.Body.(*hclsyntax.Body).Blocks {
			plugin, ok := tb.Body.Attributes["plugin"]
			if tb.Type != "trigger" || !ok {
				continue
			}
			if v, _ := plugin.Expr.Value(nil); v.AsString() != "journey" {
				continue
			}
			for _, cb := range tb.Body.Blocks {
				if cb.Type != "config" {
					continue
				}
				journeys++
				raw, err := json.Marshal(decodeBody(t, cb.Body, d.Schema, src))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: raw})
				if err != nil || len(resp.Diagnostics) != 0 {
					t.Errorf("trigger %q: diagnostics %+v, %v", tb.Labels, resp.Diagnostics, err)
				}
			}
		}
	}
	if journeys < 2 {
		t.Errorf("README has %d journey examples, want at least 2", journeys)
	}
}

// decodeBody turns a config body into the JSON object the host sends.
func decodeBody(t *testing.T, body *hclsyntax.Body, schema sdk.Schema, src []byte) map[string]any {
	t.Helper()
	out := map[string]any{}
	for name, attr := range body.Attributes {
		var as *sdk.AttributeSchema
		for i := range schema.Attributes {
			if schema.Attributes[i].Name == name {
				as = &schema.Attributes[i]
			}
		}
		if as == nil {
			t.Errorf("%s: attribute %q is not in the schema", attr.SrcRange, name)
			continue
		}
		if as.Type == sdk.TypeExpression {
			out[name] = string(attr.Expr.Range().SliceBytes(src))
			continue
		}
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() {
			t.Errorf("%s: %s", attr.SrcRange, diags)
			continue
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			t.Fatal(err)
		}
		out[name] = json.RawMessage(b)
	}
	for _, b := range body.Blocks {
		var bs *sdk.BlockSchema
		for i := range schema.Blocks {
			if schema.Blocks[i].Name == b.Type {
				bs = &schema.Blocks[i]
			}
		}
		if bs == nil || len(b.Labels) != 0 {
			t.Errorf("%s: block %s %q is not in the schema", b.DefRange(), b.Type, b.Labels)
			continue
		}
		inner := decodeBody(t, b.Body, bs.Schema, src)
		if !bs.Repeated {
			out[b.Type] = inner
			continue
		}
		list, _ := out[b.Type].([]any)
		out[b.Type] = append(list, inner)
	}
	return out
}
