package main

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// TestReadmeExamples checks that every slack channel of the README's HCL
// examples validates, decoded the way the host sends it; the variables
// the examples read with env() are set to values an admin would give.
func TestReadmeExamples(t *testing.T) {
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX")
	ch := New(hclog.NewNullLogger())
	checked := 0
	for _, rc := range plugintest.ReadmeConfigs(t, "README.md", pluginName, sdk.SchemaOf(Config{})) {
		if rc.Plugin != pluginName {
			continue
		}
		resp, err := ch.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: rc.Config})
		if err != nil || resp.Diagnostics.HasErrors() {
			t.Errorf("channel %s: config %s: diagnostics %+v, %v", rc.Name, rc.Config, resp.Diagnostics, err)
		}
		checked++
	}
	if checked == 0 {
		t.Error("the README has no example to check")
	}
}
