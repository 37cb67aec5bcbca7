package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// fuzzConfigs are the rule configs FuzzEvaluate picks from.
var fuzzConfigs = []string{
	`{"trait":"birthday"}`,
	`{"trait":"dates.birthday","offset":"-7d","at":"00:30","repeat":"once"}`,
	`{"on":["subscription.renewed"],"property":"renews_at","offset":"-36h","cancel_on":["subscription.cancelled"]}`,
	`{"on":["order.*"],"property":"occurred_at","first_only":true,"repeat":"yearly","at":"23:59"}`,
	`{"on":["*"],"property":"expires_at","offset":"+400d","repeat":"yearly"}`,
}

// FuzzEvaluate feeds arbitrary state, traits, properties, timezones and
// timers to Evaluate. It must never fail or panic, must return state it
// can read back, and must be idempotent: the same event evaluated again
// with the state it produced changes nothing, and a timer delivered twice
// fires at most once.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(nil), uint8(0), "1990-03-14", "Europe/Paris", "identify", []byte(`{}`), int64(0), false, int64(0), "")
	f.Add([]byte(`{"date":"1990-03-14","next":{"key":"2027-03-14","at":"2027-03-14T08:00:00Z","year":2027}}`), uint8(0), "1990-03-14", "Europe/Paris", "timer.fired", []byte(`{}`), int64(0), true, int64(9504*3600), "2027-03-14")
	f.Add([]byte("not json"), uint8(2), "", "America/New_York", "subscription.renewed", []byte(`{"renews_at":"2027-04-01T10:00:00+02:00"}`), int64(-3600), false, int64(0), "")
	f.Add([]byte(`{"date":"@1806408000","seen_at":"2026-11-22T10:00:00Z"}`), uint8(2), "", "", "subscription.cancelled", []byte(`{}`), int64(60), false, int64(0), "")
	f.Add([]byte(`{}`), uint8(3), "", "Mars/Base", "order.placed", []byte(`{"x":[1,2]}`), int64(-86400*400), false, int64(0), "")
	f.Add([]byte(`{"date":"02-29"}`), uint8(4), "", "Asia/Tokyo", "warranty.registered", []byte(`{"expires_at":1806408000000}`), int64(0), true, int64(-1), "bad")
	f.Fuzz(func(t *testing.T, st []byte, cfgIdx uint8, trait, tz, typ string, props []byte, occurred int64, isTimer bool, timerAt int64, timerKey string) {
		var properties map[string]any
		_ = json.Unmarshal(props, &properties)
		cfg := sdk.RawConfig(fuzzConfigs[int(cfgIdx)%len(fuzzConfigs)])
		now := start
		ev := sdk.Event{ID: "e", Type: typ, Customer: jane(), OccurredAt: now.Add(time.Duration(occurred) * time.Second), Properties: properties}
		item := sdk.EvaluateItem{
			Rule: "r", Event: ev, State: st, Now: now,
			Profile: sdk.Profile{Customer: jane(), Timezone: tz, Traits: map[string]any{"birthday": trait, "dates": map[string]any{"birthday": trait}}},
		}
		if isTimer {
			item.Event.Type = timerFired
			item.Timer = &sdk.Timer{ID: timerID, At: now.Add(time.Duration(timerAt) * time.Second), Data: map[string]any{"key": timerKey}}
		}
		p := New(hclog.NewNullLogger())
		eval := func(item sdk.EvaluateItem) sdk.Result {
			resp, err := p.Evaluate(context.Background(), &sdk.EvaluateRequest{Rules: map[string]sdk.RawConfig{"r": cfg}, Items: []sdk.EvaluateItem{item}})
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if len(resp.Results) != 1 || resp.Results[0].Err != "" {
				t.Fatalf("results = %+v", resp.Results)
			}
			r := resp.Results[0]
			// State is either handed back untouched (an event not about
			// the date) or written afresh, and then it reads back.
			if _, corrupt := decodeState(r.State); corrupt && string(r.State) != string(item.State) {
				t.Fatalf("state %q does not read back", r.State)
			}
			if len(r.SetTimers) > 0 && len(r.CancelTimers) > 0 || len(r.SetTimers) > 1 || len(r.Fires) > 1 {
				t.Fatalf("result = %+v", r)
			}
			for _, tm := range r.SetTimers {
				key, _ := tm.Data["key"].(string)
				if tm.ID != timerID || tm.At.IsZero() || !isDate(key) {
					t.Fatalf("timer = %+v", tm)
				}
			}
			for _, f := range r.Fires {
				if item.Timer == nil || f.Key != item.Timer.Data["key"] || !isDate(f.Key) {
					t.Fatalf("fire %+v for timer %+v", f, item.Timer)
				}
			}
			return r
		}
		first := eval(item)
		item.State = first.State
		again := eval(item)
		if isTimer {
			if len(again.Fires) != 0 {
				t.Fatalf("the timer fired twice: %+v then %+v", first, again)
			}
			return
		}
		if string(again.State) != string(first.State) || len(again.SetTimers)+len(again.CancelTimers)+len(again.Fires) != 0 {
			t.Fatalf("not idempotent: %+v then %+v", first, again)
		}
	})
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// FuzzParseDate checks the date reader on arbitrary strings: it never
// panics, what it reads writes back to the same date, and every schedule
// over it finds the first occurrence strictly after the given time, which
// it then recognises as its own.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1990-03-14", "02-29", "--12-31", "2027-04-01T10:00:00+02:00", "@1806408000", "@-1e3", "9999-12-31", "0001-01-01T00:30:00+01:00"} {
		f.Add(s, "Europe/Paris", int64(0), int64(0))
	}
	f.Fuzz(func(t *testing.T, s, tz string, offsetMinutes int64, at int64) {
		loc, err := New(hclog.NewNullLogger()).(*Date).location(tz)
		if err != nil {
			loc = time.UTC
		}
		d, err := parseDate(s, loc)
		if err != nil {
			return
		}
		back, err := parseDate(d.String(), time.UTC)
		if err != nil || back != d {
			t.Fatalf("parseDate(%q) = %+v, which writes as %q and reads back as %+v, %v", s, d, d, back, err)
		}
		offset := time.Duration(offsetMinutes%(200*365*24*60)) * time.Minute
		for _, yearly := range []bool{true, false} {
			if !yearly && d.Year == 0 {
				continue
			}
			sched := &schedule{
				date: d, yearly: yearly, days: int(offset / (24 * time.Hour)), rest: offset % (24 * time.Hour),
				hour: int(uint64(at) % 24), minute: int(uint64(at) % 60), loc: loc,
			}
			from := start.Add(time.Duration(at%(100*365*24)) * time.Hour)
			o, ok := sched.after(from)
			if !ok {
				continue
			}
			if !o.At.After(from) || !sched.holds(o) || !isDate(o.Key) {
				t.Fatalf("after(%s) = %+v for %+v", from, o, sched)
			}
			// It is the first one: the year before is not after from.
			if prev, ok := sched.in(o.Year - 1); yearly && ok && o.Year-1 > d.Year && prev.At.After(from) {
				t.Fatalf("after(%s) = %+v skipped %+v for %+v", from, o, prev, sched)
			}
		}
	})
}
