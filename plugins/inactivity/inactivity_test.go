package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func jane() sdk.Customer { return sdk.Customer{ID: "c1", Email: "jane@example.com"} }
func john() sdk.Customer { return sdk.Customer{ID: "c2", Email: "john@example.com"} }

// winBack is the README's win-back rule: at risk after 30 days, a final
// attempt at 60, and a welcome back when the customer returns.
func winBack() map[string]any {
	return map[string]any{
		"after":         "30d",
		"step":          "at_risk",
		"then":          []map[string]any{{"step": "final", "after": "60d"}},
		"returned_step": "welcome_back",
	}
}

// with returns cfg with the given attributes replaced (nil removes one).
func with(cfg map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func harness(t *testing.T, cfg map[string]any) *plugintest.TriggerHarness {
	t.Helper()
	return plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "winback", plugintest.MustConfig(t, cfg), start)
}

func visit(id string) sdk.Event {
	return sdk.Event{ID: id, Type: "page.viewed", Customer: jane()}
}

// advanceTo moves the clock to start+d, firing the timers due on the way.
func advanceTo(h *plugintest.TriggerHarness, d time.Duration) []sdk.Fire {
	return h.Advance(start.Add(d).Sub(h.Clock.Now()))
}

// fired lists every fire the harness saw as "step key @offset".
func fired(h *plugintest.TriggerHarness) []string {
	out := []string{}
	for _, f := range h.Fires {
		off, when := f.At.Sub(start), ""
		if off%day == 0 {
			when = fmt.Sprintf("%dd", off/day)
		} else {
			when = off.String()
		}
		out = append(out, fmt.Sprintf("%s %s @%s", f.Step, f.Key, when))
	}
	return out
}

func TestInactivity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		// play sends events; the test then advances to day 400.
		play func(t *testing.T, h *plugintest.TriggerHarness)
		want []string
	}{
		{
			name:   "fires at exactly 30 days, not a second before",
			config: with(winBack(), "then", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				if f := advanceTo(h, 30*day-time.Second); len(f) != 0 {
					t.Errorf("fires at 30d-1s = %+v, want none", f)
				}
				if f := advanceTo(h, 30*day); len(f) != 1 {
					t.Errorf("fires at 30d = %+v, want one", f)
				}
			},
			want: []string{"at_risk v1 @30d"},
		},
		{
			name:   "activity a second before the deadline restarts the clock",
			config: with(winBack(), "then", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 30*day-time.Second)
				h.Send(visit("v2"))
				if f := advanceTo(h, 60*day-2*time.Second); len(f) != 0 {
					t.Errorf("fires before 60d-1s = %+v, want none", f)
				}
			},
			want: []string{"at_risk v2 @1439h59m59s"},
		},
		{
			name:   "escalation steps fire in order, then nothing until the customer is back",
			config: with(winBack(), "then", []map[string]any{{"step": "rescue", "after": "45d"}, {"step": "final", "after": "60d"}}, "returned_step", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 200*day)
				if tm := h.Timers(jane()); len(tm) != 0 {
					t.Errorf("timers after the last step = %+v, want none", tm)
				}
				h.Send(visit("v2")) // back: tracking starts over
			},
			want: []string{"at_risk v1 @30d", "rescue v1 @45d", "final v1 @60d", "at_risk v2 @230d", "rescue v2 @245d", "final v2 @260d"},
		},
		{
			name:   "welcome back fires once, on the first activity after a step",
			config: winBack(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 40*day)
				h.Send(visit("v2"))
				h.Send(visit("v2")) // redelivered
				advanceTo(h, 41*day)
				h.Send(visit("v3"))
			},
			want: []string{"at_risk v1 @30d", "welcome_back v2 @40d", "at_risk v3 @71d", "final v3 @101d"},
		},
		{
			name:   "welcome back after the final step",
			config: winBack(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 100*day)
				h.Send(visit("v2"))
				advanceTo(h, 101*day)
				h.Send(visit("v3"))
			},
			want: []string{"at_risk v1 @30d", "final v1 @60d", "welcome_back v2 @100d", "at_risk v3 @131d", "final v3 @161d"},
		},
		{
			name:   "no welcome back for activity before any step fired",
			config: winBack(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 29*day)
				h.Send(visit("v2"))
				advanceTo(h, 58*day)
				h.Send(visit("v3"))
				advanceTo(h, 87*day)
				h.Send(sdk.Event{ID: "o1", Type: "order.placed", Customer: jane()})
				advanceTo(h, 100*day)
				h.Send(visit("v4"))
			},
			want: []string{"at_risk v4 @130d", "final v4 @160d"},
		},
		{
			name:   "activity that occurred before the step fired, arriving after it, is no return",
			config: winBack(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 31*day)
				late := visit("v2")
				late.OccurredAt = start.Add(30*day - time.Minute)
				h.Send(late)
			},
			// Measured from when v2 occurred: 30d-1m + 30d.
			want: []string{"at_risk v1 @30d", "at_risk v2 @1439h59m0s", "final v2 @2159h59m0s"},
		},
		{
			name:   "activity older than the last one changes nothing",
			config: winBack(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				advanceTo(h, 10*day)
				h.Send(visit("v2"))
				old := visit("v1")
				old.OccurredAt = start
				h.Send(old)
			},
			want: []string{"at_risk v2 @40d", "final v2 @70d"},
		},
		{
			name:   "first activity arriving long after it occurred: only the latest due step fires",
			config: winBack(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				advanceTo(h, 70*day)
				late := visit("v1")
				late.OccurredAt = start
				h.Send(late)
			},
			want: []string{"final v1 @70d"},
		},
		{
			name:   "the gateway's own message events are not activity, nor a return",
			config: winBack(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 30*day+time.Minute)
				for i, typ := range []string{"email.delivered", "email.opened", "sendgrid.processed", "sms.delivered", "customer.updated"} {
					h.Send(sdk.Event{ID: fmt.Sprint("m", i), Type: typ, Customer: jane()})
				}
			},
			want: []string{"at_risk v1 @30d", "final v1 @60d"},
		},
		{
			name:   "a type written out in on counts even if ignore covers it",
			config: with(winBack(), "on", []string{"*", "email.clicked"}, "then", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 31*day)
				h.Send(sdk.Event{ID: "k1", Type: "email.clicked", Customer: jane()})
				h.Send(sdk.Event{ID: "k2", Type: "email.opened", Customer: jane()})
			},
			want: []string{"at_risk v1 @30d", "welcome_back k1 @31d", "at_risk k1 @61d"},
		},
		{
			name:   "ignore = [] makes * count everything",
			config: with(winBack(), "ignore", []string{}, "then", nil, "returned_step", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(visit("v1"))
				advanceTo(h, 20*day)
				h.Send(sdk.Event{ID: "m1", Type: "email.delivered", Customer: jane()})
			},
			want: []string{"at_risk m1 @50d"},
		},
		{
			name:   "on lists the activity: other types are not",
			config: with(winBack(), "on", []string{"order.*"}, "then", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(sdk.Event{ID: "o1", Type: "order.placed", Customer: jane()})
				advanceTo(h, 10*day)
				h.Send(visit("v1"))
				advanceTo(h, 35*day)
				h.Send(visit("v2"))
				h.Send(sdk.Event{ID: "o2", Type: "order.paid", Customer: jane()})
			},
			want: []string{"at_risk o1 @30d", "welcome_back o2 @35d", "at_risk o2 @65d"},
		},
		{
			name:   "when: only matching events are activity",
			config: with(winBack(), "when", "try(event.properties.value, 0) > 0", "then", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(sdk.Event{ID: "o1", Type: "order.placed", Customer: jane(), Properties: map[string]any{"value": 10.0}})
				advanceTo(h, 20*day)
				h.Send(visit("v1")) // no value: not activity
				advanceTo(h, 31*day)
				h.Send(sdk.Event{ID: "o2", Type: "order.placed", Customer: jane(), Properties: map[string]any{"value": 0.0}})
			},
			want: []string{"at_risk o1 @30d"},
		},
		{
			name:   "events without id: fire keys come from the time",
			config: with(winBack(), "then", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(sdk.Event{Type: "page.viewed", Customer: jane()})
				advanceTo(h, 31*day)
				h.Send(sdk.Event{Type: "page.viewed", Customer: jane()})
			},
			want: []string{
				fmt.Sprintf("at_risk t%d @30d", start.UnixNano()),
				fmt.Sprintf("welcome_back t%d @31d", start.Add(31*day).UnixNano()),
				fmt.Sprintf("at_risk t%d @61d", start.Add(31*day).UnixNano()),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := harness(t, tc.config)
			tc.play(t, h)
			advanceTo(h, 400*day)
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if got := fired(h); !slices.Equal(got, want) {
				t.Errorf("fires:\n got  %q\n want %q", got, want)
			}
		})
	}
}

func TestNeverSeenNeverMessaged(t *testing.T) {
	t.Parallel()
	h := harness(t, winBack())
	ev := visit("v1")
	ev.Customer = john()
	h.Send(ev)
	advanceTo(h, 10*day)
	h.Send(ev) // redelivered: the clock stays where it was
	advanceTo(h, 400*day)
	for _, f := range h.Fires {
		if f.Customer != john().Key() {
			t.Errorf("fire for %s, who was never seen: %+v", f.Customer, f)
		}
	}
	if got, want := fired(h), []string{"at_risk v1 @30d", "final v1 @60d"}; !slices.Equal(got, want) {
		t.Errorf("fires = %q, want %q", got, want)
	}
	if h.State(jane()) != nil || len(h.Timers(jane())) != 0 {
		t.Errorf("jane has state %s or timers %+v", h.State(jane()), h.Timers(jane()))
	}
}

func TestFireData(t *testing.T) {
	t.Parallel()
	h := harness(t, winBack())
	h.Send(visit("v1"))
	fires := advanceTo(h, 30*day)
	if len(fires) != 1 {
		t.Fatalf("fires = %+v, want one", fires)
	}
	got, _ := json.Marshal(fires[0])
	want := `{"step":"at_risk","data":{"inactive_days":30,"last_active_at":"2026-11-22T10:00:00Z","last_event_id":"v1","step":"at_risk"},"key":"v1"}`
	if string(got) != want {
		t.Errorf("inactivity fire:\n got  %s\n want %s", got, want)
	}
	advanceTo(h, 75*day+time.Hour)
	fires = h.Send(visit("v2"))
	if len(fires) != 1 {
		t.Fatalf("fires = %+v, want one", fires)
	}
	got, _ = json.Marshal(fires[0])
	want = `{"step":"welcome_back","data":{"inactive_days":75,"last_active_at":"2026-11-22T10:00:00Z","last_step":"final","step":"welcome_back","steps_fired":2},"key":"v2"}`
	if string(got) != want {
		t.Errorf("returned fire:\n got  %s\n want %s", got, want)
	}
}

func TestTimerAndState(t *testing.T) {
	t.Parallel()
	h := harness(t, winBack())
	if f := h.Send(visit("v1")); len(f) != 0 {
		t.Fatalf("first activity fired %+v", f)
	}
	tm := h.Timers(jane())
	if len(tm) != 1 || tm[0].ID != "inactivity" || !tm[0].At.Equal(start.Add(30*day)) {
		t.Fatalf("timers = %+v, want one at 30d", tm)
	}
	advanceTo(h, 5*day)
	h.Send(visit("v2"))
	if tm := h.Timers(jane()); len(tm) != 1 || !tm[0].At.Equal(start.Add(35*day)) {
		t.Fatalf("timers after activity = %+v, want the one timer replaced, at 35d", tm)
	}
	before := string(h.State(jane()))
	h.Send(sdk.Event{ID: "m1", Type: "email.delivered", Customer: jane()})
	if got := string(h.State(jane())); got != before {
		t.Errorf("state changed on an ignored event:\n%s\n%s", before, got)
	}
	advanceTo(h, 100*day)
	var st state
	if err := json.Unmarshal(h.State(jane()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Fired != 2 || st.LastID != "v2" || !st.FiredAt.Equal(start.Add(65*day)) {
		t.Errorf("state = %+v, want both steps fired, the last at 65d", st)
	}
}

// evaluate calls the plugin over gRPC with one item.
func evaluate(t *testing.T, trig sdk.Trigger, cfg map[string]any, item sdk.EvaluateItem) sdk.Result {
	t.Helper()
	item.Rule = "r"
	if item.Now.IsZero() {
		item.Now = start
	}
	if item.Profile.Key() == "" {
		item.Profile = sdk.Profile{Customer: jane()}
	}
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": plugintest.MustConfig(t, cfg)},
		Items: []sdk.EvaluateItem{item},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 1 {
		t.Fatalf("%d results, want 1", len(resp.Results))
	}
	return resp.Results[0]
}

func TestUntrustedState(t *testing.T) {
	t.Parallel()
	timerEv := sdk.Event{ID: "t", Type: timerFired, Customer: jane()}
	tests := []struct {
		name      string
		state     string
		event     sdk.Event
		now       time.Time
		wantFires []string // step/key
		wantState string   // "" for deleted
		wantTimer string   // step of the timer set; "" for none
		wantLog   string
	}{
		{
			name:      "corrupt state: activity starts tracking afresh, with no welcome back",
			state:     `{"last":`,
			event:     visit("v9"),
			wantState: `{"last":"2026-11-22T10:00:00Z","last_id":"v9"}`,
			wantTimer: "at_risk",
			wantLog:   "rule state does not decode; starting afresh",
		},
		{
			name:    "corrupt state: a timer fires nothing and the state is deleted",
			state:   `[1,2]`,
			event:   timerEv,
			wantLog: "rule state does not decode",
		},
		{
			name:    "state without a last activity is no state",
			state:   `{"fired":1}`,
			event:   timerEv,
			wantLog: "rule state does not decode",
		},
		{
			name:    "no state: a timer fires nothing",
			event:   timerEv,
			wantLog: "",
		},
		{
			name:      "fired count past the steps: nothing more fires",
			state:     `{"last":"2026-01-01T00:00:00Z","last_id":"v1","fired":99}`,
			event:     timerEv,
			wantState: `"fired":2`,
		},
		{
			name:      "fired count past the steps, then a return: welcome back names the last step",
			state:     `{"last":"2026-01-01T00:00:00Z","last_id":"v1","fired":99}`,
			event:     visit("v2"),
			wantFires: []string{"welcome_back/v2"},
			wantState: `{"last":"2026-11-22T10:00:00Z","last_id":"v2"}`,
			wantTimer: "at_risk",
		},
		{
			name:      "negative fired count counts as none",
			state:     `{"last":"2026-10-01T00:00:00Z","last_id":"v1","fired":-4}`,
			event:     timerEv,
			wantFires: []string{"at_risk/v1"},
			wantState: `"fired":1`,
			wantTimer: "final",
		},
		{
			name:      "a timer before the step is due re-arms it",
			state:     `{"last":"2026-11-01T00:00:00Z","last_id":"v1"}`,
			event:     timerEv,
			wantState: `"last_id":"v1"`,
			wantTimer: "at_risk",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			trig := plugintest.Trigger(t, New(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})))
			var st []byte
			if tc.state != "" {
				st = []byte(tc.state)
			}
			res := evaluate(t, trig, winBack(), sdk.EvaluateItem{Event: tc.event, State: st, Now: tc.now})
			if res.Err != "" {
				t.Fatalf("Result.Err = %q; untrusted state must not fail the item", res.Err)
			}
			var fires []string
			for _, f := range res.Fires {
				fires = append(fires, f.Step+"/"+f.Key)
			}
			if !slices.Equal(fires, tc.wantFires) {
				t.Errorf("fires = %v, want %v", fires, tc.wantFires)
			}
			switch {
			case tc.wantState == "" && res.State != nil:
				t.Errorf("state = %s, want it deleted", res.State)
			case tc.wantState != "" && !strings.Contains(string(res.State), tc.wantState):
				t.Errorf("state = %s, want it to contain %s", res.State, tc.wantState)
			}
			var timer string
			if len(res.SetTimers) == 1 {
				timer, _ = res.SetTimers[0].Data["step"].(string)
			}
			if len(res.SetTimers) > 1 || timer != tc.wantTimer {
				t.Errorf("timers = %+v, want one for step %q", res.SetTimers, tc.wantTimer)
			}
			if tc.wantLog == "" && strings.Contains(logs.String(), "[WARN]") {
				t.Errorf("unexpected warning: %s", logs.String())
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log = %q, want it to contain %q", logs.String(), tc.wantLog)
			}
		})
	}
}

func TestTimerFiredIsNotActivity(t *testing.T) {
	t.Parallel()
	// Even with no state at all, and a rule counting everything, the
	// gateway's own timer event does not start tracking.
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	res := evaluate(t, trig, with(winBack(), "ignore", []string{}), sdk.EvaluateItem{
		Event: sdk.Event{ID: "t", Type: timerFired, Customer: jane()},
	})
	if res.State != nil || len(res.SetTimers) != 0 || len(res.Fires) != 0 {
		t.Errorf("result = %+v, want nothing", res)
	}
	// With state, a timer before the deadline does not move it.
	res = evaluate(t, trig, winBack(), sdk.EvaluateItem{Event: visit("v1")})
	res = evaluate(t, trig, winBack(), sdk.EvaluateItem{
		Event: sdk.Event{ID: "t2", Type: timerFired, Customer: jane()}, State: res.State, Now: start.Add(10 * day),
	})
	if len(res.SetTimers) != 1 || !res.SetTimers[0].At.Equal(start.Add(30*day)) {
		t.Errorf("timers = %+v, want the deadline kept at 30d", res.SetTimers)
	}
}

func TestConditionErrorIsLogged(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	trig := plugintest.Trigger(t, New(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})))
	res := evaluate(t, trig, with(winBack(), "when", "event.properties.value > 0"), sdk.EvaluateItem{Event: visit("v1")})
	if res.State != nil || len(res.SetTimers) != 0 {
		t.Errorf("result = %+v, want no tracking", res)
	}
	if !strings.Contains(logs.String(), "condition could not be evaluated; treating it as not met") {
		t.Errorf("log = %q", logs.String())
	}
}

func TestEvaluateBatch(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{
			"winback": plugintest.MustConfig(t, winBack()),
			"orders":  plugintest.MustConfig(t, map[string]any{"on": []string{"order.placed"}, "after": "90d"}),
			"broken":  plugintest.MustConfig(t, map[string]any{"after": "0s"}),
		},
		Items: []sdk.EvaluateItem{
			{Rule: "winback", Event: visit("a"), Now: start},
			{Rule: "orders", Event: visit("a"), Now: start, State: []byte("kept")},
			{Rule: "broken", Event: visit("b"), Now: start, State: []byte("kept")},
			{Rule: "missing", Event: visit("c"), Now: start},
		},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 4 {
		t.Fatalf("%d results, want 4", len(resp.Results))
	}
	if r := resp.Results[0]; r.Err != "" || len(r.SetTimers) != 1 || r.State == nil {
		t.Errorf("item 0 = %+v, want tracking started", r)
	}
	if r := resp.Results[1]; r.Err != "" || string(r.State) != "kept" || len(r.SetTimers) != 0 {
		t.Errorf("item 1 = %+v, want the state handed back untouched", r)
	}
	if r := resp.Results[2]; !strings.Contains(r.Err, `rule "broken" is invalid: after:`) || string(r.State) != "kept" {
		t.Errorf("item 2 = %+v, want an error naming after, state kept", r)
	}
	if r := resp.Results[3]; !strings.Contains(r.Err, `no config for rule "missing"`) {
		t.Errorf("item 3 = %+v, want an error", r)
	}
}

func TestEvaluateCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(hclog.NewNullLogger()).Evaluate(ctx, &sdk.EvaluateRequest{
		Items: []sdk.EvaluateItem{{Rule: "r", Event: visit("a")}},
	})
	if err == nil {
		t.Fatal("Evaluate with a cancelled ctx returned no error")
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		config    string
		wantPaths []string // empty: valid
	}{
		{"valid", `{"after":"30d"}`, nil},
		{"valid with all", `{"on":["*","email.clicked"],"ignore":["sms.*"],"after":"30d","step":"a","returned_step":"back",` +
			`"when":"customer.orders_count > 0","then":[{"step":"b","after":"45d"},{"step":"c","after":"60d"}]}`, nil},
		{"missing after", `{}`, []string{"after"}},
		{"zero after", `{"after":"0s"}`, []string{"after"}},
		{"bad after", `{"after":"a month"}`, []string{"after"}},
		{"empty on", `{"on":[],"after":"1d"}`, []string{"on"}},
		{"empty on entry", `{"on":["order.*",""],"after":"1d"}`, []string{"on[1]"}},
		{"timer.fired in on", `{"on":["timer.fired"],"after":"1d"}`, []string{"on[0]"}},
		{"empty ignore entry", `{"ignore":[" "],"after":"1d"}`, []string{"ignore[0]"}},
		{"empty step", `{"after":"1d","step":""}`, []string{"step"}},
		{"then not later", `{"after":"30d","then":[{"step":"b","after":"30d"}]}`, []string{"then[0].after"}},
		{"then out of order", `{"after":"30d","then":[{"step":"b","after":"60d"},{"step":"c","after":"45d"}]}`, []string{"then[1].after"}},
		{"then reuses a step", `{"after":"30d","then":[{"step":"default","after":"60d"}]}`, []string{"then[0].step"}},
		{"then without step", `{"after":"30d","then":[{"step":" ","after":"60d"}]}`, []string{"then[0].step"}},
		{"then missing after", `{"after":"30d","then":[{"step":"b"}]}`, []string{"then[0].after"}},
		{"blank returned_step", `{"after":"30d","returned_step":" "}`, []string{"returned_step"}},
		{"returned_step reuses a step", `{"after":"30d","then":[{"step":"final","after":"60d"}],"returned_step":"final"}`, []string{"returned_step"}},
		{"bad expression", `{"after":"30d","when":"event.("}`, []string{"when"}},
		{"wrong type", `{"after":"30d","on":"page.viewed"}`, []string{"on"}},
	}
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: sdk.RawConfig(tc.config)})
			if err != nil {
				t.Fatalf("ValidateConfig: %v", err)
			}
			var paths []string
			for _, d := range resp.Diagnostics {
				paths = append(paths, d.Path.String())
			}
			if !slices.Equal(paths, tc.wantPaths) {
				t.Errorf("diagnostic paths = %q, want %q (%+v)", paths, tc.wantPaths, resp.Diagnostics)
			}
			if tc.wantPaths != nil && !resp.Diagnostics.HasErrors() {
				t.Errorf("diagnostics = %+v, want errors", resp.Diagnostics)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d, err := plugintest.Trigger(t, New(hclog.NewNullLogger())).Describe(context.Background())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Name != "inactivity" || d.Kind != sdk.KindTrigger || d.Version != pluginVersion || d.ProtocolVersion != sdk.ProtocolVersion || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]struct {
		typ      sdk.AttrType
		required bool
	}{
		"on":            {sdk.TypeEventTypes, false},
		"ignore":        {sdk.TypeStringList, false},
		"after":         {sdk.TypeDuration, true},
		"step":          {sdk.TypeString, false},
		"returned_step": {sdk.TypeString, false},
		"when":          {sdk.TypeExpression, false},
	}
	if len(d.Schema.Attributes) != len(want) {
		t.Fatalf("schema = %+v", d.Schema)
	}
	for _, a := range d.Schema.Attributes {
		w, ok := want[a.Name]
		if !ok || a.Type != w.typ || a.Required != w.required || a.Description == "" {
			t.Errorf("attribute %+v, want %+v with a description", a, w)
		}
	}
	if len(d.Schema.Blocks) != 1 {
		t.Fatalf("blocks = %+v, want then", d.Schema.Blocks)
	}
	if b := d.Schema.Blocks[0]; b.Name != "then" || !b.Repeated || b.Required || len(b.Schema.Attributes) != 2 || b.Description == "" {
		t.Errorf("then block = %+v", b)
	}
}
