package plugintest

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/triggergate/triggergate/sdk"
)

var hclFence = regexp.MustCompile("(?s)```hcl\n(.*?)```")

// readmeEvalContext offers examples env(), read from the test's
// environment.
var readmeEvalContext = &hcl.EvalContext{Functions: map[string]function.Function{
	"env": function.New(&function.Spec{
		Params: []function.Parameter{{Name: "name", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			v, ok := os.LookupEnv(name)
			if !ok {
				return cty.NilVal, fmt.Errorf("%s is not set: set it with t.Setenv in the test, to a value the plugin accepts", name)
			}
			return cty.StringVal(v), nil
		},
	}),
}}

// ReadmeConfig is one `trigger` or `channel` block of a README example.
type ReadmeConfig struct {
	Name   string // the block's label
	Plugin string // its plugin attribute
	// Config is its config block as the host sends it; nil when the block
	// names another plugin (its config is not decoded).
	Config sdk.RawConfig
}

// ReadmeConfigs reads the ```hcl examples of a Markdown file (a plugin's
// README) and returns every `trigger` and `channel` block, in order, with
// the config of those whose plugin is plugin encoded the way the host
// sends it: expressions as their source text, other attributes as values,
// nested blocks as objects (lists when repeated). Pass each config to
// ValidateConfig so that the documented examples cannot drift from what
// the plugin accepts.
//
// The test fails on an example that does not parse, and on an attribute
// or block the schema does not have. An expression that fails to evaluate
// for an event and customer without any data is reported too: examples
// should guard optional data with try() as the docs advise.
//
// Examples may give secrets with env("NAME"), as admins should: it reads
// the test's environment, so set each variable with t.Setenv to a value
// the plugin accepts before calling.
func ReadmeConfigs(t testing.TB, path, plugin string, schema sdk.Schema) []ReadmeConfig {
	t.Helper()
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []ReadmeConfig
	for i, m := range hclFence.FindAllSubmatch(md, -1) {
		src := m[1]
		f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s example %d does not parse: %s", path, i+1, diags.Error())
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			if b.Type != "trigger" && b.Type != "channel" {
				continue
			}
			rc := ReadmeConfig{Name: strings.Join(b.Labels, ".")}
			if attr, ok := b.Body.Attributes["plugin"]; ok {
				if v, d := attr.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.String {
					rc.Plugin = v.AsString()
				}
			}
			if rc.Plugin != plugin {
				out = append(out, rc)
				continue
			}
			cfg := map[string]any{}
			for _, cb := range b.Body.Blocks {
				if cb.Type == "config" {
					cfg = encodeBody(t, cb.Body, schema, src)
				}
			}
			raw, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			rc.Config = raw
			out = append(out, rc)
		}
	}
	return out
}

// encodeBody turns a config body into the JSON object the host sends.
func encodeBody(t testing.TB, body *hclsyntax.Body, schema sdk.Schema, src []byte) map[string]any {
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
			text := string(attr.Expr.Range().SliceBytes(src))
			expr, err := sdk.ParseExpression(text)
			if err != nil {
				t.Errorf("%s: %s: %v", attr.SrcRange, name, err)
				continue
			}
			if _, err := expr.EvalBool(&sdk.Event{}, &sdk.Profile{}); err != nil {
				t.Errorf("%s: %s fails for a customer without data: %v", attr.SrcRange, name, err)
			}
			out[name] = text
			continue
		}
		v, diags := attr.Expr.Value(readmeEvalContext)
		if diags.HasErrors() {
			t.Errorf("%s: %s", attr.SrcRange, diags.Error())
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
		inner := encodeBody(t, b.Body, bs.Schema, src)
		if !bs.Repeated {
			out[b.Type] = inner
			continue
		}
		list, _ := out[b.Type].([]any)
		out[b.Type] = append(list, inner)
	}
	return out
}
