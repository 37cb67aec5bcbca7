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
	if err != nil || d.Name != "absence" || d.Kind != sdk.KindTrigger || d.ProtocolVersion != sdk.ProtocolVersion || len(d.Schema.Blocks) != 1 {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	cfg := sdk.RawConfig(`{"start":["checkout.updated"],"cancel":["order.placed"],"key":"checkout_id","wait":"1h",` +
		`"reminder":[{"step":"reminder_2","after":"24h"}]}`)
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

	res := evaluate(sdk.EvaluateItem{Event: checkout("ev1", "ch1", 30), Now: start})
	if len(res.SetTimers) != 1 || !res.SetTimers[0].At.Equal(start.Add(time.Hour)) || len(res.Fires) != 0 {
		t.Fatalf("start: %+v, want one timer at 1h", res)
	}
	tm := res.SetTimers[0]
	res = evaluate(sdk.EvaluateItem{
		Event: sdk.Event{ID: "t1", Type: "timer.fired", Customer: jane()}, Timer: &tm, State: res.State, Now: tm.At,
	})
	if len(res.Fires) != 1 || res.Fires[0].Step != "default" || res.Fires[0].Key != "ch1/ev1" || res.Fires[0].Data["properties"] == nil {
		t.Fatalf("timer: fires = %+v", res.Fires)
	}
	if len(res.SetTimers) != 1 || !res.SetTimers[0].At.Equal(start.Add(24*time.Hour)) {
		t.Fatalf("timer: timers = %+v, want the reminder at 24h", res.SetTimers)
	}
	res = evaluate(sdk.EvaluateItem{Event: order("o1", "ch1"), State: res.State, Now: start.Add(2 * time.Hour)})
	if len(res.CancelTimers) != 1 || res.CancelTimers[0] != "clock:ch1" {
		t.Errorf("order: cancelled timers = %v, want clock:ch1", res.CancelTimers)
	}
}
