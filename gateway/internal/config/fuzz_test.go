package config

import (
	"io"
	"testing"

	"github.com/triggergate/triggergate/sdk"
)

// FuzzLoadFiles feeds arbitrary bytes as one configuration file through
// loading, plugin config decoding, diagnostic mapping and rendering. None
// of it may panic: configurations arrive from admins and from etcd.
func FuzzLoadFiles(f *testing.F) {
	for _, seed := range []string{
		fullConfig,
		journeyHCL,
		policyConfig,
		"policy {\n  quiet_hours {\n    start = \"9:0\"\n    end = 1.5\n    fallback = \"x\"\n  }\n  frequency_cap \"\" { max = \"a\" }\n}",
		"",
		"gateway {\n  listen = \n}",
		"store {\n  embedded = false\n}",
		"channel \"Email\" {}\nchannel \"Email\" {}",
		"trigger \"t\" {\n  plugin = \"x\"\n  action { channel = \"nope\" }\n}",
		"template \"t\" { html = file(\"../../../../etc/hostname\") }",
		"source \"s\" { kind = env(\"HOME\") \n secrets = [env(\"X\", \"\")] }",
		"channel \"c\" {\n  plugin = \"x\"\n  config { when = foo(bar.baz) \n step { delay = 1 } }\n}",
		"a = <<EOT\n${x}\nEOT\n",
		"\xff\xfe{",
	} {
		f.Add([]byte(seed))
	}
	schema := sdk.SchemaOf(journeyConfig{})
	paths := []sdk.Path{
		nil,
		sdk.Attr("cancel").Index(1),
		sdk.Attr("step").Index(0).Attr("branch").Index(1).Attr("if"),
		sdk.Attr("step").Index(-1),
	}
	baseDir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, diags := LoadFiles(map[string][]byte{"fuzz.hcl": data}, baseDir)
		if cfg == nil {
			t.Fatal("nil config")
		}
		for _, c := range cfg.Channels {
			_, d := DecodePluginConfig(c.Config, schema, EvalContext(baseDir))
			diags = append(diags, d...)
			for _, p := range paths {
				diags = append(diags, PluginDiagnostics(c.Config, c.ConfigRange, sdk.Diagnostics{sdk.Errorf(p, "x")})...)
			}
		}
		for _, tr := range cfg.Triggers {
			_, d := DecodePluginConfig(tr.Config, schema, EvalContext(baseDir))
			diags = append(diags, d...)
		}
		if err := WriteDiagnostics(io.Discard, cfg.Files, diags); err != nil {
			t.Fatal(err)
		}
	})
}
