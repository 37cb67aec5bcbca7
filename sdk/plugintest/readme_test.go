package plugintest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

type stepCfg struct {
	Name  string       `hcl:"name"`
	Delay sdk.Duration `hcl:"delay,optional"`
}

type readmeCfg struct {
	On    []string       `hcl:"on"`
	When  sdk.Expression `hcl:"when,optional"`
	Steps []stepCfg      `hcl:"step,block"`
}

// recorder keeps the errors a helper reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func writeReadme(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadmeConfigs(t *testing.T) {
	t.Parallel()
	md := "# x\n\n```hcl\ntrigger \"a\" {\n  plugin = \"mine\"\n  config {\n    on   = [\"x.y\"]\n    when = try(event.properties.v, 0) > 1\n    step {\n      name = \"one\"\n    }\n    step {\n      name  = \"two\"\n      delay = \"2d\"\n    }\n  }\n}\n```\n\ntext\n\n```hcl\ntrigger \"b\" {\n  plugin = \"other\"\n}\n```\n"
	got := plugintest.ReadmeConfigs(t, writeReadme(t, md), "mine", sdk.SchemaOf(readmeCfg{}))
	if len(got) != 2 || got[0].Name != "a" || got[0].Plugin != "mine" || got[1].Plugin != "other" || got[1].Config != nil {
		t.Fatalf("configs = %+v", got)
	}
	want := `{"on":["x.y"],"step":[{"name":"one"},{"delay":"2d","name":"two"}],"when":"try(event.properties.v, 0) \u003e 1"}`
	if string(got[0].Config) != want {
		t.Fatalf("config = %s\nwant     %s", got[0].Config, want)
	}
	var cfg readmeCfg
	if resp := sdk.CheckConfig(got[0].Config, &cfg); resp.Diagnostics.HasErrors() || len(cfg.Steps) != 2 {
		t.Fatalf("the encoded config does not decode: %+v %+v", resp.Diagnostics, cfg)
	}
}

func TestReadmeConfigsReportsBadExamples(t *testing.T) {
	t.Parallel()
	md := "```hcl\ntrigger \"a\" {\n  plugin = \"mine\"\n  config {\n    on   = [\"x\"]\n    when = event.properties.v > 1\n    nope = 1\n  }\n}\n```\n"
	r := &recorder{TB: t}
	plugintest.ReadmeConfigs(r, writeReadme(t, md), "mine", sdk.SchemaOf(readmeCfg{}))
	all := strings.Join(r.errs, "\n")
	if !strings.Contains(all, `attribute "nope" is not in the schema`) || !strings.Contains(all, "fails for a customer without data") {
		t.Fatalf("errors reported: %q", r.errs)
	}
}

type secretCfg struct {
	Token string `hcl:"token"`
}

// Examples give secrets with env(), which reads the test's environment.
func TestReadmeConfigsEnv(t *testing.T) {
	md := "```hcl\nchannel \"c\" {\n  plugin = \"mine\"\n  config {\n    token = env(\"README_TEST_TOKEN\")\n  }\n}\n```\n"
	path := writeReadme(t, md)
	r := &recorder{TB: t}
	plugintest.ReadmeConfigs(r, path, "mine", sdk.SchemaOf(secretCfg{}))
	if all := strings.Join(r.errs, "\n"); !strings.Contains(all, "README_TEST_TOKEN is not set: set it with t.Setenv") {
		t.Fatalf("errors reported for an unset variable: %q", r.errs)
	}
	t.Setenv("README_TEST_TOKEN", "tok-123")
	got := plugintest.ReadmeConfigs(t, path, "mine", sdk.SchemaOf(secretCfg{}))
	if len(got) != 1 || string(got[0].Config) != `{"token":"tok-123"}` {
		t.Fatalf("configs = %+v", got)
	}
}
