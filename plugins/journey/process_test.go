package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// TestPluginProcess builds the plugin binary and runs it the way the gateway
// does: a separate process, go-plugin handshake, gRPC only, AutoMTLS. It
// takes one customer through entry and the first timer.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin binary")
	}
	t.Parallel()
	trig := plugintest.TriggerProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	d, err := trig.Describe(ctx)
	if err != nil || d.Name != "journey" || d.Kind != sdk.KindTrigger || d.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	v, err := trig.ValidateConfig(ctx, &sdk.ValidateConfigRequest{Config: sdk.RawConfig(`{"start":["a"],"step":[{"name":"x"},{"name":"y","delay":"-2d"}]}`)})
	if err != nil || len(v.Diagnostics) != 1 || v.Diagnostics[0].Path.String() != "step[1].delay" {
		t.Fatalf("ValidateConfig = %+v, %v; want one diagnostic at step[1].delay", v, err)
	}

	cfg := sdk.RawConfig(`{"start":["customer.created"],"goal":["order.placed"],"carry":["source"],
		"step":[{"name":"welcome"},{"name":"tips","delay":"2d","when":"try(customer.traits.plan, \"\") == \"free\""}]}`)
	profile := sdk.Profile{Customer: jane(), Traits: map[string]any{"plan": "free"}}
	resp, err := trig.Evaluate(ctx, &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": cfg},
		Items: []sdk.EvaluateItem{{
			Rule: "r", Event: sdk.Event{ID: "e1", Type: "customer.created", Customer: jane(), Properties: map[string]any{"source": "shop"}},
			Profile: profile, Now: start,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	entry := resp.Results[0]
	if len(entry.Fires) != 1 || entry.Fires[0].Key != "1:welcome" || len(entry.SetTimers) != 1 || !entry.SetTimers[0].At.Equal(start.Add(2*day)) {
		t.Fatalf("entry result = %+v", entry)
	}
	tm := entry.SetTimers[0]
	resp, err = trig.Evaluate(ctx, &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": cfg},
		Items: []sdk.EvaluateItem{{
			Rule: "r", Event: sdk.Event{ID: "timer-1", Type: timerFired, Customer: jane()}, Timer: &tm,
			Profile: profile, State: entry.State, Now: tm.At,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f := resp.Results[0].Fires; len(f) != 1 || f[0].Key != "1:tips" || fmt.Sprint(f[0].Data["start"]) != "map[source:shop]" {
		t.Errorf("timer result = %+v", resp.Results[0])
	}
}
