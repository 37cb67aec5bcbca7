package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// fuzzConfig uses every feature: an entry condition, goal and exit,
// re-entry, carried properties and a branch. Its last step has a delay, so
// no single evaluation completes an instance.
const fuzzConfig = `{
	"start": ["customer.created", "signup.*"],
	"when": "try(customer.email, \"\") != \"\"",
	"goal": ["order.placed"], "goal_step": "thanks",
	"exit": ["customer.unsubscribed"],
	"reentry": "after_exit", "reentry_after": "1d",
	"carry": ["plan", "source"],
	"step": [
		{"name": "welcome"},
		{"name": "tips", "delay": "2d", "when": "try(customer.traits.plan, \"\") == \"free\"", "else": "upgrade"},
		{"name": "again", "delay": "0s", "when": "try(event.properties.again, false)", "else": "welcome"},
		{"name": "upgrade", "delay": "3d"}
	]
}`

// FuzzEvaluate feeds arbitrary state (which comes back from etcd and is
// untrusted), events and timers to Evaluate. It must never panic or fail
// the item, must return state that decodes, at most one step timer, and
// fire keys of the instance it reports; evaluating the same item again on
// the new state must fire nothing (redelivery).
func FuzzEvaluate(f *testing.F) {
	valid := `{"entries":2,"status":"active","entered_at":"2026-11-22T10:00:00Z","start_id":"e1","step":"tips","step_index":1,"due_at":"2026-11-24T10:00:00Z","seq":3,"fired":{"welcome":1},"carried":{"plan":"free"}}`
	f.Add([]byte(nil), "customer.created", "e1", int64(0), []byte(nil), int64(0), `{"plan":"free"}`)
	f.Add([]byte(valid), timerFired, "t1", int64(0), []byte(`{"id":"journey.step","at":"2026-11-24T10:00:00Z","data":{"instance":2,"seq":3,"step":"tips"}}`), int64(2*day), `{}`)
	f.Add([]byte(valid), "order.placed", "o1", int64(day), []byte(nil), int64(day), `{}`)
	f.Add([]byte(valid), "customer.unsubscribed", "u1", int64(day), []byte(nil), int64(day), `{}`)
	f.Add([]byte(`{"entries":1,"status":"exited","start_id":"e1","entered_at":"2026-11-22T10:00:00Z"}`), "signup.done", "e2", int64(-day), []byte(nil), int64(3*day), `{"source":[1,2]}`)
	f.Add([]byte(`{"entries":-4}`), "customer.created", "", int64(0), []byte(`{"id":"journey.step","data":{"instance":1e300,"seq":"x"}}`), int64(0), `{"again":true}`)
	f.Add([]byte("not json"), timerFired, "t", int64(0), []byte(`null`), int64(0), `null`)

	j := New(hclog.NewNullLogger())
	f.Fuzz(func(t *testing.T, st []byte, typ, id string, occurred int64, timer []byte, now int64, props string) {
		item := sdk.EvaluateItem{
			Rule:    "r",
			Event:   sdk.Event{ID: id, Type: typ, Customer: jane(), OccurredAt: start.Add(time.Duration(occurred))},
			Profile: sdk.Profile{Customer: jane(), Traits: map[string]any{"plan": "free"}},
			State:   st,
			Now:     start.Add(time.Duration(now)),
		}
		_ = json.Unmarshal([]byte(props), &item.Event.Properties)
		if len(timer) > 0 {
			var tm sdk.Timer
			if json.Unmarshal(timer, &tm) == nil {
				item.Timer = &tm
			}
		}
		res := evaluateDirect(t, j, item)
		if res.State != nil {
			next, err := decodeState(res.State)
			if err != nil {
				t.Fatalf("result state %q does not decode: %v", res.State, err)
			}
			for _, fire := range res.Fires {
				if !strings.HasPrefix(fire.Key, fmt.Sprintf("%d:%s", next.Entries, fire.Step)) {
					t.Errorf("fire %+v does not belong to instance %d", fire, next.Entries)
				}
			}
		} else if len(res.Fires) != 0 {
			t.Errorf("fires %+v with no state left", res.Fires)
		}
		if len(res.SetTimers) > 1 || (len(res.SetTimers) == 1 && (res.SetTimers[0].ID != timerID || len(res.CancelTimers) != 0)) {
			t.Errorf("timers: set %+v, cancel %v", res.SetTimers, res.CancelTimers)
		}
		if len(res.SetTimers) == 1 && res.SetTimers[0].At.Before(item.Now) {
			t.Errorf("timer set in the past: %+v", res.SetTimers[0])
		}

		// The same item delivered again, on the state just kept.
		again := item
		again.State = res.State
		if res2 := evaluateDirect(t, j, again); len(res2.Fires) != 0 && item.Event.ID != "" {
			t.Errorf("redelivered item fired %+v (first time %+v)", res2.Fires, res.Fires)
		}
	})
}

func evaluateDirect(t *testing.T, j sdk.Trigger, item sdk.EvaluateItem) sdk.Result {
	t.Helper()
	resp, err := j.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": sdk.RawConfig(fuzzConfig)},
		Items: []sdk.EvaluateItem{item},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 1 {
		t.Fatalf("%d results", len(resp.Results))
	}
	if resp.Results[0].Err != "" {
		t.Fatalf("item error: %s", resp.Results[0].Err)
	}
	return resp.Results[0]
}

// FuzzConfig feeds arbitrary configs to ValidateConfig and, when one is
// accepted, runs a customer through it: a config that validates must never
// loop without a delay (the guard in due logs an error when it does).
func FuzzConfig(f *testing.F) {
	f.Add(fuzzConfig)
	f.Add(`{"start":["a"],"step":[{"name":"a"},{"name":"b","when":"false","else":"a"}]}`)
	f.Add(`{"start":["a"],"step":[{"name":"a","when":"false","else":"c"},{"name":"b","when":"false","else":"a"},{"name":"c","when":"false","else":"b"}]}`)
	f.Add(`{"start":["a"],"step":[{"name":"a","delay":"1d","when":"false","else":"b"},{"name":"b","when":"false","else":"a"}]}`)
	f.Add(`{"start":"a","step":{}}`)
	f.Fuzz(func(t *testing.T, cfg string) {
		var logs bytes.Buffer
		j := New(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Error}))
		v, err := j.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: sdk.RawConfig(cfg)})
		if err != nil {
			t.Fatalf("ValidateConfig: %v", err)
		}
		if v.Diagnostics.HasErrors() {
			return
		}
		c, _ := decodeConfig(sdk.RawConfig(cfg))
		if len(c.Start) == 0 {
			t.Fatalf("accepted a config without start: %s", cfg)
		}
		typ := c.Start[0]
		if strings.HasSuffix(typ, "*") {
			typ = strings.TrimSuffix(typ, "*") + "x"
		}
		// Enter, then follow the step timer, a few times over.
		var (
			st    []byte
			timer *sdk.Timer
			now   = start
		)
		for i := range 8 {
			item := sdk.EvaluateItem{
				Rule: "r", Event: sdk.Event{ID: fmt.Sprint("e", i), Type: typ, Customer: jane()},
				Profile: sdk.Profile{Customer: jane()}, State: st, Now: now,
			}
			if timer != nil {
				item.Event.Type, item.Timer, item.Now = timerFired, timer, timer.At
			}
			resp, err := j.Evaluate(context.Background(), &sdk.EvaluateRequest{
				Rules: map[string]sdk.RawConfig{"r": sdk.RawConfig(cfg)},
				Items: []sdk.EvaluateItem{item},
			})
			if err != nil || resp.Results[0].Err != "" {
				t.Fatalf("Evaluate: %v %+v", err, resp)
			}
			res := resp.Results[0]
			st, timer, now = res.State, nil, item.Now.Add(400*day)
			if len(res.SetTimers) == 1 {
				timer = &res.SetTimers[0]
			}
		}
		if strings.Contains(logs.String(), "loop without delay") {
			t.Errorf("accepted config loops without delay: %s", cfg)
		}
	})
}
