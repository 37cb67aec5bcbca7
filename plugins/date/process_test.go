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
	if err != nil || d.Name != "date" || d.Kind != sdk.KindTrigger || d.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	v, err := trig.ValidateConfig(ctx, &sdk.ValidateConfigRequest{Config: sdk.RawConfig(`{"trait":"birthday","at":"9am"}`)})
	if err != nil || len(v.Diagnostics) != 1 || v.Diagnostics[0].Path.String() != "at" {
		t.Fatalf("ValidateConfig = %+v, %v, want one diagnostic at at", v, err)
	}

	rules := map[string]sdk.RawConfig{"birthday": sdk.RawConfig(`{"trait":"birthday","step":"happy_birthday"}`)}
	profile := sdk.Profile{Customer: jane(), Timezone: "Europe/Paris", Traits: map[string]any{"birthday": "1990-03-14"}}
	resp, err := trig.Evaluate(ctx, &sdk.EvaluateRequest{Rules: rules, Items: []sdk.EvaluateItem{
		{Rule: "birthday", Event: sdk.Event{ID: "e1", Type: "identify", Customer: jane()}, Profile: profile, Now: start},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Results[0]
	due := utc(2027, 3, 14, 8, 0) // 09:00 CET
	if r.Err != "" || len(r.SetTimers) != 1 || !r.SetTimers[0].At.Equal(due) || len(r.Fires) != 0 {
		t.Fatalf("result = %+v, want a timer at %s", r, due)
	}

	timer := r.SetTimers[0]
	resp, err = trig.Evaluate(ctx, &sdk.EvaluateRequest{Rules: rules, Items: []sdk.EvaluateItem{
		{Rule: "birthday", Event: sdk.Event{ID: "t1", Type: "timer.fired", Customer: jane()}, Timer: &timer, Profile: profile, State: r.State, Now: due},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r = resp.Results[0]
	if r.Err != "" || len(r.Fires) != 1 || r.Fires[0].Key != "2027-03-14" || r.Fires[0].Step != "happy_birthday" || r.Fires[0].Data["years"] != float64(37) {
		t.Fatalf("result = %+v, want the 2027 birthday fired", r)
	}
	if len(r.SetTimers) != 1 || !r.SetTimers[0].At.Equal(utc(2028, 3, 14, 8, 0)) {
		t.Errorf("SetTimers = %+v, want next year's", r.SetTimers)
	}
}
