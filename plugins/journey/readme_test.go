package main

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// TestReadmeExamples decodes each journey trigger's config block of the
// README's HCL examples against the plugin's schema (as the host does:
// expressions as their source text) and validates it, so the documented
// examples cannot drift from what the plugin accepts.
func TestReadmeExamples(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	d, err := trig.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	journeys := 0
	for _, rc := range plugintest.ReadmeConfigs(t, "README.md", pluginName, d.Schema) {
		if rc.Plugin != pluginName {
			continue
		}
		journeys++
		resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: rc.Config})
		if err != nil || len(resp.Diagnostics) != 0 {
			t.Errorf("trigger %q: diagnostics %+v, %v", rc.Name, resp.Diagnostics, err)
		}
	}
	if journeys < 2 {
		t.Errorf("README has %d journey examples, want at least 2", journeys)
	}
}
