package main

import (
	"context"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// TestPluginProcess builds the plugin binary and runs it the way the gateway
// does: a separate process, go-plugin handshake, gRPC only, AutoMTLS.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin binary")
	}
	t.Parallel()
	trig := plugintest.TriggerProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	d, err := trig.Describe(ctx)
	if err != nil || d.Name != "event" || d.Kind != sdk.KindTrigger || d.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	resp, err := trig.Evaluate(ctx, &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": sdk.RawConfig(`{"on":["order.placed"],"when":"event.properties.value > 1"}`)},
		Items: []sdk.EvaluateItem{
			{Rule: "r", Event: sdk.Event{ID: "e1", Type: "order.placed", Customer: jane(), Properties: map[string]any{"value": 2}}, Now: start},
			{Rule: "r", Event: sdk.Event{ID: "e2", Type: "order.placed", Customer: jane()}, Now: start},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f := resp.Results[0].Fires; len(f) != 1 || f[0].Key != "e1" || len(resp.Results[1].Fires) != 0 {
		t.Errorf("results = %+v", resp.Results)
	}
}
