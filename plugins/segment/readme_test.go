package main

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// TestReadmeExamples checks that every trigger block of the README's HCL
// examples names this plugin, that its config validates without any
// diagnostic, decoded the way the host sends it, and that its conditions
// evaluate without error for a customer with no data at all (the examples
// guard optional data as they advise; plugintest.ReadmeConfigs checks it).
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	trig := New(hclog.NewNullLogger())
	checked := 0
	for _, rc := range plugintest.ReadmeConfigs(t, "README.md", pluginName, sdk.SchemaOf(Config{})) {
		if rc.Plugin != pluginName {
			t.Errorf("trigger %s does not name plugin %q", rc.Name, pluginName)
			continue
		}
		resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: rc.Config})
		if err != nil || len(resp.Diagnostics) != 0 {
			t.Errorf("trigger %s: config %s: diagnostics %+v, %v", rc.Name, rc.Config, resp.Diagnostics, err)
		}
		checked++
	}
	if checked < 2 {
		t.Errorf("checked %d example configs, want at least 2", checked)
	}
}
