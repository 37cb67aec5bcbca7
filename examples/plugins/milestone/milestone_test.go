package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestMilestones(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "loyalty",
		plugintest.MustConfig(t, map[string]any{"on": []string{"order.paid"}, "milestones": []int{1, 3, 5}}), start)
	jane := sdk.Customer{ID: "c1", Email: "jane@example.com"}
	joe := sdk.Customer{ID: "c2"}

	type step struct {
		customer sdk.Customer
		typ      string
		want     int // milestone expected to fire; 0: none
	}
	steps := []step{
		{jane, "order.paid", 1},
		{jane, "page.viewed", 0}, // not counted
		{joe, "order.paid", 1},   // counts are per customer
		{jane, "order.paid", 0},
		{jane, "order.paid", 3},
		{jane, "order.paid", 0},
		{jane, "order.paid", 5},
		{jane, "order.paid", 0}, // past the last milestone
		{jane, "timer.fired", 0},
	}
	for i, s := range steps {
		h.Clock.Set(start.Add(time.Duration(i) * time.Hour))
		fires := h.Send(sdk.Event{ID: "ev" + strconv.Itoa(i), Type: s.typ, Customer: s.customer})
		if s.want == 0 {
			if len(fires) != 0 {
				t.Errorf("step %d: fires = %+v, want none", i, fires)
			}
			continue
		}
		if len(fires) != 1 {
			t.Fatalf("step %d: fires = %+v, want one", i, fires)
		}
		f := fires[0]
		// Fire data crosses the wire as JSON, so numbers come back float64.
		if f.Step != "milestone" || f.Key != strconv.Itoa(s.want) || f.Data["count"] != float64(s.want) {
			t.Errorf("step %d: fire = %+v, want milestone %d", i, f, s.want)
		}
	}
	if got := string(h.State(jane)); got != `{"count":6}` {
		t.Errorf("jane's state = %s", got)
	}
	if got := string(h.State(joe)); got != `{"count":1}` {
		t.Errorf("joe's state = %s", got)
	}
	if len(h.Fires) != 4 {
		t.Errorf("harness saw %d fires, want 4", len(h.Fires))
	}
}

func TestCorruptStateIsAnItemError(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": plugintest.MustConfig(t, map[string]any{"on": []string{"*"}, "milestones": []int{1}})},
		Items: []sdk.EvaluateItem{
			{Rule: "r", Event: sdk.Event{ID: "1", Type: "x"}, State: []byte("not json"), Now: start},
			{Rule: "r", Event: sdk.Event{ID: "2", Type: "x"}, Now: start},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Results[0]; r.Err == "" || string(r.State) != "not json" {
		t.Errorf("corrupt item = %+v, want an error and the state kept", r)
	}
	if r := resp.Results[1]; r.Err != "" || len(r.Fires) != 1 {
		t.Errorf("healthy item = %+v, want one fire", r)
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	tests := []struct {
		config   string
		wantPath string
	}{
		{`{"on":["order.paid"],"milestones":[1,5,10]}`, ""},
		{`{"milestones":[1]}`, "on"},
		{`{"on":[],"milestones":[1]}`, "on"},
		{`{"on":["a"],"milestones":[]}`, "milestones"},
		{`{"on":["a"],"milestones":[1,0]}`, "milestones[1]"},
		{`{"on":["a"],"milestones":[1.5]}`, "milestones"},
	}
	for _, tc := range tests {
		t.Run(tc.config, func(t *testing.T) {
			t.Parallel()
			resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: sdk.RawConfig(tc.config)})
			if err != nil {
				t.Fatal(err)
			}
			d := resp.Diagnostics
			if tc.wantPath == "" {
				if len(d) != 0 {
					t.Errorf("diagnostics = %+v", d)
				}
				return
			}
			if !d.HasErrors() || d[0].Path.String() != tc.wantPath {
				t.Errorf("diagnostics = %+v, want an error at %s", d, tc.wantPath)
			}
		})
	}
}
