package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// TestReadmeExamples checks that every smtp channel block of the README's
// HCL examples validates without errors, decoded the way the host sends it.
// The examples' env() variables are set for the test, and the example's
// ca_file is replaced by a real PEM file.
func TestReadmeExamples(t *testing.T) {
	t.Setenv("SES_SMTP_USERNAME", "AKIAEXAMPLE")
	t.Setenv("SES_SMTP_PASSWORD", "example-password")
	md, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, caFile := selfSigned(t)
	src := strings.ReplaceAll(string(md), "/etc/triggergate/corp-ca.pem", caFile)
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}

	ch := New(hclog.NewNullLogger())
	checked := 0
	for _, rc := range plugintest.ReadmeConfigs(t, path, pluginName, sdk.SchemaOf(Config{})) {
		if rc.Plugin != pluginName {
			continue
		}
		resp, err := ch.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: rc.Config})
		if err != nil || resp.Diagnostics.HasErrors() {
			t.Errorf("channel %s: config %s: diagnostics %+v, %v", rc.Name, rc.Config, resp.Diagnostics, err)
		}
		checked++
	}
	if checked < 3 {
		t.Errorf("checked %d example configs, want 3", checked)
	}
}
