package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// FuzzEvaluate feeds arbitrary rule state (it comes back from storage and
// is untrusted) and arbitrary events to two rules. Evaluate must not panic
// nor fail the item, must return one result per item, and what it keeps
// must decode and go on working when its timer fires.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(nil), []byte(`{"id":"e1","type":"page.viewed"}`), int64(0))
	f.Add([]byte(`{"last":"2026-10-01T00:00:00Z","last_id":"v1","fired":1,"fired_at":"2026-10-31T00:00:00Z"}`),
		[]byte(`{"id":"t","type":"timer.fired"}`), int64(90000))
	f.Add([]byte(`{"last":"9999-12-31T23:59:59Z","fired":-1}`), []byte(`{"id":"o","type":"order.placed","occurred_at":"0001-01-01T00:00:00Z"}`), int64(-5))
	f.Add([]byte(`{"last":"2026-10-01T00:00:00Z","fired":7}`), []byte(`{"type":"email.clicked","properties":{"value":2}}`), int64(1))
	f.Add([]byte(`{`), []byte(`page.viewed`), int64(3600))

	rules := map[string]sdk.RawConfig{
		"winback": sdk.RawConfig(`{"after":"30d","step":"at_risk","then":[{"step":"rescue","after":"45d"},{"step":"final","after":"60d"}],"returned_step":"back"}`),
		"orders":  sdk.RawConfig(`{"on":["order.*","email.clicked"],"ignore":["order.refunded"],"after":"1h","when":"try(event.properties.value, 1) > 0"}`),
	}
	trig := New(hclog.NewNullLogger())
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	f.Fuzz(func(t *testing.T, state, event []byte, offset int64) {
		var ev sdk.Event
		if err := json.Unmarshal(event, &ev); err != nil {
			ev = sdk.Event{ID: "raw", Type: string(event)}
		}
		ev.Customer = sdk.Customer{ID: "c1"}
		now := start.Add(time.Duration(offset%(1<<24)) * time.Second)
		for rule := range rules {
			item := sdk.EvaluateItem{Rule: rule, Event: ev, State: state, Now: now, Profile: sdk.Profile{Customer: ev.Customer}}
			if ev.Type == timerFired {
				item.Timer = &sdk.Timer{ID: timerID, At: now}
			}
			res := evaluateOne(t, trig, rules, item)
			for range 4 {
				if len(res.SetTimers) == 0 {
					break
				}
				tm := res.SetTimers[0]
				at := tm.At
				if at.Before(now) {
					at = now
				}
				res = evaluateOne(t, trig, rules, sdk.EvaluateItem{
					Rule: rule, Event: sdk.Event{ID: "t", Type: timerFired, Customer: ev.Customer},
					Timer: &tm, State: res.State, Now: at, Profile: item.Profile,
				})
			}
		}
	})
}

func evaluateOne(t *testing.T, trig sdk.Trigger, rules map[string]sdk.RawConfig, item sdk.EvaluateItem) sdk.Result {
	t.Helper()
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{Rules: rules, Items: []sdk.EvaluateItem{item}})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 1 {
		t.Fatalf("%d results for 1 item", len(resp.Results))
	}
	res := resp.Results[0]
	if res.Err != "" {
		t.Fatalf("Result.Err = %q", res.Err)
	}
	// Events the rule ignores hand the state back as it came; anything the
	// rule writes must be valid.
	if len(res.State) > 0 && !bytes.Equal(res.State, item.State) {
		var st state
		if err := json.Unmarshal(res.State, &st); err != nil || st.Last.IsZero() || st.Fired < 0 {
			t.Fatalf("returned state is not valid (%v): %s", err, res.State)
		}
	}
	if len(res.SetTimers) > 1 || (len(res.SetTimers) == 1 && res.SetTimers[0].ID != timerID) {
		t.Fatalf("timers = %+v, want at most the one", res.SetTimers)
	}
	if len(res.Fires) > 1 {
		t.Fatalf("%d fires for one item", len(res.Fires))
	}
	for _, f := range res.Fires {
		if f.Step == "" || f.Key == "" {
			t.Fatalf("fire without step or key: %+v", f)
		}
	}
	if _, err := json.Marshal(res.Fires); err != nil {
		t.Fatalf("fires do not encode: %v", err)
	}
	return res
}
