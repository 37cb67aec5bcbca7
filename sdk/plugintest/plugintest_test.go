package plugintest_test

import (
	"context"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestHarnessTimers(t *testing.T) {
	t.Parallel()
	// A trigger that sets a timer an hour after each event and fires when
	// it comes due: the harness must deliver it as timer.fired on its
	// fake clock, with the timer attached.
	h := plugintest.NewTriggerHarness(t, timerTrigger{}, "r", plugintest.MustConfig(t, map[string]any{}), t0)
	c := sdk.Customer{Email: "jane@example.com"}
	if f := h.Send(sdk.Event{ID: "e1", Type: "cart.updated", Customer: c}); len(f) != 0 {
		t.Fatalf("fires = %+v", f)
	}
	if tm := h.Timers(c); len(tm) != 1 || !tm[0].At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("timers = %+v", tm)
	}
	if f := h.Advance(59 * time.Minute); len(f) != 0 {
		t.Fatalf("fired early: %+v", f)
	}
	f := h.Advance(2 * time.Minute)
	if len(f) != 1 || f[0].Key != "e1" || f[0].Data["at"] != t0.Add(time.Hour).Format(time.RFC3339) {
		t.Fatalf("fires = %+v", f)
	}
	if !h.Clock.Now().Equal(t0.Add(time.Hour + time.Minute)) {
		t.Errorf("clock = %s", h.Clock.Now())
	}
	if len(h.Timers(c)) != 0 || string(h.State(c)) != "fired" {
		t.Errorf("after firing: timers %v state %q", h.Timers(c), h.State(c))
	}
}

type timerTrigger struct{}

func (timerTrigger) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "timer"}, nil
}

func (timerTrigger) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (timerTrigger) Evaluate(_ context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	out := &sdk.EvaluateResponse{Results: make([]sdk.Result, len(req.Items))}
	for i, it := range req.Items {
		if it.Event.Type == "timer.fired" {
			if it.Timer == nil {
				out.Results[i].Err = "timer.fired without a timer"
				continue
			}
			out.Results[i] = sdk.Result{State: []byte("fired"), Fires: []sdk.Fire{{
				Step: "default", Key: it.Timer.Data["event"].(string),
				Data: map[string]any{"at": it.Now.Format(time.RFC3339)},
			}}}
			continue
		}
		out.Results[i] = sdk.Result{State: []byte("waiting"), SetTimers: []sdk.Timer{{
			ID: "t", At: it.Now.Add(time.Hour), Data: map[string]any{"event": it.Event.ID},
		}}}
	}
	return out, nil
}

func TestHarnessTimersAcrossCustomers(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, timerTrigger{}, "r", plugintest.MustConfig(t, map[string]any{}), t0)
	a, b := sdk.Customer{ID: "a"}, sdk.Customer{ID: "b"}
	h.Send(sdk.Event{ID: "ea", Type: "x", Customer: a})
	h.Clock.Set(t0.Add(10 * time.Minute))
	h.Send(sdk.Event{ID: "eb", Type: "x", Customer: b})
	fires := h.Advance(3 * time.Hour)
	if len(fires) != 2 || fires[0].Key != "ea" || fires[1].Key != "eb" {
		t.Fatalf("fires = %+v, want a's timer then b's", fires)
	}
	if len(h.Fires) != 2 || h.Fires[0].Customer != "id:a" || !h.Fires[1].At.Equal(t0.Add(70*time.Minute)) {
		t.Errorf("recorded fires = %+v", h.Fires)
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	c := plugintest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, paris))
	if got := c.Now(); got.Location() != time.UTC || got.Hour() != 11 {
		t.Errorf("Now = %s, want 11:00 UTC", got)
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Errorf("Now after Set = %s", c.Now())
	}
}

func TestMustConfig(t *testing.T) {
	t.Parallel()
	if got := string(plugintest.MustConfig(t, map[string]any{"on": []string{"a"}, "n": 1})); got != `{"n":1,"on":["a"]}` {
		t.Errorf("MustConfig = %s", got)
	}
}

func TestHarnessSetProfile(t *testing.T) {
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	h := plugintest.NewTriggerHarness(t, echoProfile{}, "r", sdk.RawConfig(`{}`), start)
	jane := sdk.Customer{ID: "c1"}
	h.SetProfile(sdk.Profile{Customer: jane, Timezone: "Europe/Paris", Stats: sdk.Stats{OrdersCount: 3}})
	fires := h.Send(sdk.Event{ID: "e1", Type: "x", Customer: sdk.Customer{ID: "c1", Email: "j@example.com"}, Traits: map[string]any{"a": 1.0}})
	if len(fires) != 1 || fires[0].Data["timezone"] != "Europe/Paris" || fires[0].Data["orders"] != 3.0 {
		t.Fatalf("fires = %+v", fires)
	}
	p := h.Profile(jane)
	if p.Email != "j@example.com" || p.Traits["a"] != 1.0 || p.Stats.OrdersCount != 3 {
		t.Fatalf("profile = %+v", p)
	}
}

// echoProfile fires with the profile's timezone and order count.
type echoProfile struct{}

func (echoProfile) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "echo"}, nil
}

func (echoProfile) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (echoProfile) Evaluate(_ context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	out := &sdk.EvaluateResponse{}
	for _, it := range req.Items {
		out.Results = append(out.Results, sdk.Result{Fires: []sdk.Fire{{Step: "default", Key: it.Event.ID,
			Data: map[string]any{"timezone": it.Profile.Timezone, "orders": it.Profile.Stats.OrdersCount}}}})
	}
	return out, nil
}
