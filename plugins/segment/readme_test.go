package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/triggergate/triggergate/sdk"
)

// TestReadmeExamples checks that every trigger block of the README's HCL
// examples names this plugin, that its config validates without any
// diagnostic, decoded the way the host sends it, and that its conditions
// evaluate without error for a customer with no data at all (the examples
// guard optional data as they advise).
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	md, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	trig := New(hclog.NewNullLogger())
	schema := sdk.SchemaOf(Config{})
	checked := 0
	for i, src := range hclExamples(string(md)) {
		file, diags := hclsyntax.ParseConfig([]byte(src), fmt.Sprintf("README.md example %d", i+1), hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("example %d does not parse: %s", i+1, diags.Error())
		}
		for _, block := range file.Body.(*hclsyntax.Body).Blocks {
			if block.Type != "trigger" {
				continue
			}
			name := strings.Join(block.Labels, ".")
			if p, ok := block.Body.Attributes["plugin"]; !ok || string(p.Expr.Range().SliceBytes([]byte(src))) != `"`+pluginName+`"` {
				t.Errorf("trigger %s does not name plugin %q", name, pluginName)
			}
			for _, cb := range block.Body.Blocks {
				if cb.Type != "config" {
					continue
				}
				raw := encodeConfig(t, name, cb.Body, schema, []byte(src))
				resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: raw})
				if err != nil || len(resp.Diagnostics) != 0 {
					t.Errorf("trigger %s: config %s: diagnostics %+v, %v", name, raw, resp.Diagnostics, err)
				}
				checked++
			}
		}
	}
	if checked < 2 {
		t.Errorf("checked %d example configs, want at least 2", checked)
	}
}

// hclExamples returns the contents of the ```hcl fences of a Markdown text.
func hclExamples(md string) []string {
	var out []string
	for _, part := range strings.Split(md, "```hcl\n")[1:] {
		body, _, _ := strings.Cut(part, "```")
		out = append(out, body)
	}
	return out
}

// encodeConfig turns a config body into the JSON the host would send:
// expressions as their source text, other attributes as their values.
func encodeConfig(t *testing.T, name string, body *hclsyntax.Body, schema sdk.Schema, src []byte) sdk.RawConfig {
	t.Helper()
	types := map[string]sdk.AttrType{}
	for _, a := range schema.Attributes {
		types[a.Name] = a.Type
	}
	obj := map[string]json.RawMessage{}
	for attrName, attr := range body.Attributes {
		typ, ok := types[attrName]
		if !ok {
			t.Errorf("trigger %s: unknown attribute %q", name, attrName)
			continue
		}
		if typ == sdk.TypeExpression {
			text := string(attr.Expr.Range().SliceBytes(src))
			expr, err := sdk.ParseExpression(text)
			if err != nil {
				t.Fatalf("trigger %s: %s: %v", name, attrName, err)
			}
			if _, err := expr.EvalBool(&sdk.Event{}, &sdk.Profile{}); err != nil {
				t.Errorf("trigger %s: %s fails on a customer without data: %v", name, attrName, err)
			}
			obj[attrName], _ = json.Marshal(text)
			continue
		}
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("trigger %s: %s: %s", name, attrName, diags.Error())
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			t.Fatalf("trigger %s: %s: %v", name, attrName, err)
		}
		obj[attrName] = b
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
