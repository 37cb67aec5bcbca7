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
	if err != nil || d.Name != "segment" || d.Kind != sdk.KindTrigger || d.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	v, err := trig.ValidateConfig(ctx, &sdk.ValidateConfigRequest{Config: sdk.RawConfig(`{"condition":"true","fire_on":"sometimes"}`)})
	if err != nil || !v.Diagnostics.HasErrors() || v.Diagnostics[0].Path.String() != "fire_on" {
		t.Fatalf("ValidateConfig = %+v, %v; want an error at fire_on", v, err)
	}

	// A customer crosses the VIP threshold, places another order, then
	// drops below and crosses again: state travels through the process.
	rules := map[string]sdk.RawConfig{"vip": sdk.RawConfig(`{"condition":"customer.lifetime_value >= 1000","on":["order.*"]}`)}
	order := func(id string, ltv float64, state []byte) sdk.Result {
		t.Helper()
		resp, err := trig.Evaluate(ctx, &sdk.EvaluateRequest{Rules: rules, Items: []sdk.EvaluateItem{{
			Rule: "vip", Event: sdk.Event{ID: id, Type: "order.placed", Customer: jane()},
			Profile: sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: ltv}},
			State:   state, Now: start,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Results[0]
	}
	r1 := order("o1", 1200, nil)
	r2 := order("o2", 1500, r1.State)
	r3 := order("o3", 900, r2.State)
	r4 := order("o4", 1100, r3.State)
	if len(r1.Fires) != 1 || r1.Fires[0].Key != "enter-1" || r1.Fires[0].Step != "entered" {
		t.Errorf("first crossing = %+v, want entered/enter-1", r1)
	}
	if len(r2.Fires) != 0 || len(r3.Fires) != 0 {
		t.Errorf("staying in or leaving fired: %+v, %+v", r2, r3)
	}
	if len(r4.Fires) != 1 || r4.Fires[0].Key != "enter-2" {
		t.Errorf("second crossing = %+v, want enter-2", r4)
	}
}
