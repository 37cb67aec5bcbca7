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
	if err != nil || d.Name != "threshold" || d.Kind != sdk.KindTrigger || d.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	v, err := trig.ValidateConfig(ctx, &sdk.ValidateConfigRequest{Config: sdk.RawConfig(`{"on":["a"],"count":3,"sum":"v","at_least":1,"within":"1d"}`)})
	if err != nil || !v.Diagnostics.HasErrors() || v.Diagnostics[0].Path.String() != "sum" {
		t.Fatalf("ValidateConfig = %+v, %v; want an error at sum", v, err)
	}

	// Two views of the same product, the second one a redelivery, then a
	// third view: state travels through the process between calls.
	rules := map[string]sdk.RawConfig{"r": sdk.RawConfig(`{"on":["product.viewed"],"count":2,"within":"1d","key":"product_id"}`)}
	view := func(id string, state []byte, now time.Time) sdk.Result {
		t.Helper()
		resp, err := trig.Evaluate(ctx, &sdk.EvaluateRequest{Rules: rules, Items: []sdk.EvaluateItem{{
			Rule: "r", Event: sdk.Event{ID: id, Type: "product.viewed", Customer: jane(), Properties: map[string]any{"product_id": "p1"}},
			State: state, Now: now,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Results[0]
	}
	r1 := view("v1", nil, start)
	r2 := view("v1", r1.State, start.Add(time.Minute))
	r3 := view("v2", r2.State, start.Add(2*time.Minute))
	if len(r1.Fires) != 0 || len(r2.Fires) != 0 {
		t.Errorf("fired before the threshold: %+v, %+v", r1, r2)
	}
	if len(r3.Fires) != 1 || r3.Fires[0].Key != "p1/v2" || r3.Fires[0].Data["count"] != 2.0 {
		t.Errorf("third call = %+v, want one fire keyed p1/v2 with count 2", r3)
	}
}
