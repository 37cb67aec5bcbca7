package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// FuzzEvaluate feeds arbitrary rule state (it comes back from storage and
// is untrusted) and arbitrary events to two rules. Evaluate must not panic
// nor fail the item, must return one result per item, and what it keeps
// must decode, stay within the caps and go on working when its timers fire.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(nil), []byte(`{"id":"e1","type":"checkout.updated","properties":{"checkout_id":"c1","value":3}}`), int64(0))
	f.Add([]byte(`{"clocks":[{"key":"c1","open":"e1","since":"2026-11-22T09:00:00Z","next":1,"props":{"a":[1,{"b":null}]}}]}`),
		[]byte(`{"id":"t","type":"timer.fired"}`), int64(90000))
	f.Add([]byte(`{"clocks":[{"key":"","open":"e1","since":"9999-12-31T23:59:59Z"}],"closed":[{"all":true,"at":"2026-11-22T09:00:00Z","until":"2027-01-01T00:00:00Z"}]}`),
		[]byte(`{"id":"o","type":"order.placed","occurred_at":"0001-01-01T00:00:00Z"}`), int64(-5))
	f.Add([]byte(`{"clocks":[{"key":"x","open":"e","since":"2026-11-22T09:00:00Z","next":-3}]}`),
		[]byte(`{"id":"e2","type":"checkout.updated","properties":{"checkout_id":true}}`), int64(1))
	f.Add([]byte(`{`), []byte(`checkout.updated`), int64(3600))

	rules := map[string]sdk.RawConfig{
		"keyed": sdk.RawConfig(`{"start":["checkout.*"],"cancel":["order.placed"],"key":"checkout_id","wait":"1h",` +
			`"when":"try(event.properties.value, 1) > 0","reminder":[{"step":"r2","after":"24h"},{"step":"r3","after":"3d"}]}`),
		"any": sdk.RawConfig(`{"start":["*"],"cancel":["order.*"],"key":"checkout_id","cancel_any":true,"wait":"30m","restart":false}`),
		"one": sdk.RawConfig(`{"start":["checkout.updated"],"cancel":["order.placed"],"wait":"1h"}`),
	}
	trig := New(hclog.NewNullLogger())
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	f.Fuzz(func(t *testing.T, state, event []byte, offset int64) {
		var ev sdk.Event
		if err := json.Unmarshal(event, &ev); err != nil {
			ev = sdk.Event{ID: "raw", Type: string(event)}
		}
		ev.Customer = sdk.Customer{ID: "c1"}
		now := start.Add(time.Duration(offset%(1<<20)) * time.Second)
		for rule := range rules {
			item := sdk.EvaluateItem{Rule: rule, Event: ev, State: state, Now: now, Profile: sdk.Profile{Customer: ev.Customer}}
			if ev.Type == timerFired {
				item.Timer = &sdk.Timer{ID: "clock:c1", At: now}
			}
			res := evaluateOne(t, trig, rules, item)
			// Fire every timer it set, in turn, as the host would.
			for range 5 {
				if len(res.SetTimers) == 0 {
					break
				}
				tm := res.SetTimers[0]
				at := tm.At
				if at.Before(now) {
					at = now
				}
				res = evaluateOne(t, trig, rules, sdk.EvaluateItem{
					Rule: rule, Event: sdk.Event{ID: "t-" + tm.ID, Type: timerFired, Customer: ev.Customer},
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
	// rule writes must be valid. Nil or empty deletes it.
	if len(res.State) > 0 && !bytes.Equal(res.State, item.State) {
		var st state
		if err := json.Unmarshal(res.State, &st); err != nil {
			t.Fatalf("returned state does not decode: %v\n%s", err, res.State)
		}
		if len(st.Clocks) > MaxOpen || len(st.Closed) > MaxClosed {
			t.Fatalf("state over the caps: %d clocks, %d closed", len(st.Clocks), len(st.Closed))
		}
		if len(st.Clocks)+len(st.Closed) == 0 {
			t.Fatalf("empty state %s returned instead of nil", res.State)
		}
	}
	if len(res.SetTimers) > MaxOpen+1 {
		t.Fatalf("%d timers set", len(res.SetTimers))
	}
	for _, tm := range res.SetTimers {
		if tm.ID != gcTimerID && !strings.HasPrefix(tm.ID, clockTimerPrefix) {
			t.Fatalf("unexpected timer %q", tm.ID)
		}
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
