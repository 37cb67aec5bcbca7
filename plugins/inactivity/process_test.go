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
	if err != nil || d.Name != "inactivity" || d.Kind != sdk.KindTrigger || d.ProtocolVersion != sdk.ProtocolVersion || len(d.Schema.Blocks) != 1 {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	cfg := sdk.RawConfig(`{"after":"30d","step":"at_risk","then":[{"step":"final","after":"60d"}],"returned_step":"welcome_back"}`)
	v, err := trig.ValidateConfig(ctx, &sdk.ValidateConfigRequest{Config: cfg})
	if err != nil || len(v.Diagnostics) != 0 {
		t.Fatalf("ValidateConfig = %+v, %v", v, err)
	}
	evaluate := func(item sdk.EvaluateItem) sdk.Result {
		t.Helper()
		item.Rule = "r"
		resp, err := trig.Evaluate(ctx, &sdk.EvaluateRequest{Rules: map[string]sdk.RawConfig{"r": cfg}, Items: []sdk.EvaluateItem{item}})
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		if r := resp.Results[0]; r.Err != "" {
			t.Fatalf("Result.Err = %s", r.Err)
		}
		return resp.Results[0]
	}

	res := evaluate(sdk.EvaluateItem{Event: visit("v1"), Now: start})
	if len(res.SetTimers) != 1 || !res.SetTimers[0].At.Equal(start.Add(30*day)) || len(res.Fires) != 0 {
		t.Fatalf("activity: %+v, want one timer at 30d", res)
	}
	tm := res.SetTimers[0]
	res = evaluate(sdk.EvaluateItem{
		Event: sdk.Event{ID: "t1", Type: "timer.fired", Customer: jane()}, Timer: &tm, State: res.State, Now: tm.At,
	})
	if len(res.Fires) != 1 || res.Fires[0].Step != "at_risk" || res.Fires[0].Key != "v1" || res.Fires[0].Data["inactive_days"] != float64(30) {
		t.Fatalf("timer: fires = %+v", res.Fires)
	}
	res = evaluate(sdk.EvaluateItem{Event: visit("v2"), State: res.State, Now: start.Add(31 * day)})
	if len(res.Fires) != 1 || res.Fires[0].Step != "welcome_back" || res.Fires[0].Key != "v2" {
		t.Errorf("return: fires = %+v, want welcome_back", res.Fires)
	}
}
