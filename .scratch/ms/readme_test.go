package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

func TestMilestones(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "loyalty",
		plugintest.MustConfig(t, map[string]any{"on": []string{"order.paid"}, "milestones": []int{1, 3}}), start)
	jane := sdk.Customer{ID: "c1", Email: "jane@example.com"}

	for i, want := range []string{"1", "", "3", ""} {
		h.Clock.Set(start.Add(time.Duration(i) * time.Hour))
		fires := h.Send(sdk.Event{ID: fmt.Sprint("ev", i), Type: "order.paid", Customer: jane})
		switch {
		case want == "" && len(fires) != 0:
			t.Errorf("order %d: fires = %+v, want none", i+1, fires)
		case want != "" && (len(fires) != 1 || fires[0].Key != want || fires[0].Data["count"] != float64(i+1)):
			// Fire data crosses the wire as JSON: numbers come back float64.
			t.Errorf("order %d: fires = %+v, want milestone %s", i+1, fires, want)
		}
	}
	if got := string(h.State(jane)); got != `{"count":4}` {
		t.Errorf("state = %s", got)
	}
}
