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

// welcome is the welcome series of the README: a step at entry, then +2d,
// then +3d more; an order converts, an unsubscribe exits.
func welcome() map[string]any {
	return map[string]any{
		"start": []string{"customer.created"},
		"goal":  []string{"order.placed"},
		"exit":  []string{"customer.unsubscribed"},
		"step": []map[string]any{
			{"name": "welcome", "delay": "0s"},
			{"name": "tips", "delay": "2d"},
			{"name": "upgrade", "delay": "3d"},
		},
	}
}

// with returns cfg with the given attributes replaced.
func with(cfg map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func harness(t *testing.T, cfg map[string]any) *plugintest.TriggerHarness {
	t.Helper()
	return plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "journey", plugintest.MustConfig(t, cfg), start)
}

// history lists every fire the harness saw as "offset step key", offsets
// from start ("2d", "1d12h0m0s").
func history(h *plugintest.TriggerHarness) []string {
	out := make([]string, 0, len(h.Fires))
	for _, f := range h.Fires {
		out = append(out, offset(f.At)+" "+f.Step+" "+f.Key)
	}
	return out
}

func offset(at time.Time) string {
	d := at.Sub(start)
	days, rest := d/day, d%day
	switch {
	case rest == 0:
		return fmt.Sprintf("%dd", days)
	case days == 0:
		return rest.String()
	}
	return fmt.Sprintf("%dd%s", days, rest)
}

func wantHistory(t *testing.T, h *plugintest.TriggerHarness, want ...string) {
	t.Helper()
	if got := history(h); !slices.Equal(got, want) {
		t.Errorf("fires:\n got %q\nwant %q", got, want)
	}
}

// at moves the harness clock to start+d (never backwards).
func at(h *plugintest.TriggerHarness, d time.Duration) {
	h.Advance(start.Add(d).Sub(h.Clock.Now()))
}

func decoded(t *testing.T, b []byte) state {
	t.Helper()
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state %q does not decode: %v", b, err)
	}
	return st
}

func ev(id, typ string) sdk.Event { return sdk.Event{ID: id, Type: typ, Customer: jane()} }

func TestWelcomeSeriesFiresEachStepOnTime(t *testing.T) {
	t.Parallel()
	h := harness(t, welcome())

	fires := h.Send(ev("e1", "customer.created"))
	if len(fires) != 1 || fires[0].Step != "welcome" || fires[0].Key != "1:welcome" {
		t.Fatalf("entry fires = %+v, want welcome 1:welcome at once", fires)
	}
	wantData := map[string]any{"instance": 1.0, "step_index": 0.0, "entered_at": "2026-11-22T10:00:00Z"}
	if fmt.Sprint(fires[0].Data) != fmt.Sprint(wantData) {
		t.Errorf("fire data = %v, want %v", fires[0].Data, wantData)
	}
	tm := h.Timers(jane())
	if len(tm) != 1 || tm[0].ID != timerID || !tm[0].At.Equal(start.Add(2*day)) {
		t.Fatalf("timers = %+v, want one %s at +2d", tm, timerID)
	}

	if f := h.Advance(2*day - time.Nanosecond); len(f) != 0 {
		t.Fatalf("fired before +2d: %+v", f)
	}
	f := h.Advance(time.Nanosecond)
	if len(f) != 1 || f[0].Step != "tips" || f[0].Key != "1:tips" || f[0].Data["step_index"] != 1.0 ||
		f[0].Data["entered_at"] != "2026-11-22T10:00:00Z" {
		t.Fatalf("fires at +2d = %+v, want tips", f)
	}
	if tm := h.Timers(jane()); len(tm) != 1 || !tm[0].At.Equal(start.Add(5*day)) {
		t.Fatalf("timers after tips = %+v, want one at +5d", tm)
	}
	if f := h.Advance(3*day - time.Nanosecond); len(f) != 0 {
		t.Fatalf("fired before +5d: %+v", f)
	}
	h.Advance(time.Nanosecond)
	h.Advance(60 * day)
	wantHistory(t, h, "0d welcome 1:welcome", "2d tips 1:tips", "5d upgrade 1:upgrade")

	if tm := h.Timers(jane()); len(tm) != 0 {
		t.Errorf("timers after the last step = %+v, want none", tm)
	}
	st := decoded(t, h.State(jane()))
	if st.Entries != 1 || st.Status != statusCompleted || !st.EndedAt.Equal(start.Add(5*day)) || st.Step != "" {
		t.Errorf("state = %+v, want instance 1 completed at +5d", st)
	}
}

func TestOtherEventsLeaveTheJourneyAlone(t *testing.T) {
	t.Parallel()
	h := harness(t, welcome())
	if f := h.Send(ev("x", "page.viewed")); len(f) != 0 || h.State(jane()) != nil {
		t.Fatalf("an unrelated event before entry: fires %+v, state %q", f, h.State(jane()))
	}
	// Goal and exit before any entry change nothing either.
	h.Send(ev("o0", "order.placed"))
	h.Send(ev("u0", "customer.unsubscribed"))
	if h.State(jane()) != nil {
		t.Fatalf("state after goal/exit without entry = %q, want none", h.State(jane()))
	}
	h.Send(ev("e1", "customer.created"))
	before := string(h.State(jane()))
	h.Clock.Set(start.Add(time.Hour))
	if f := h.Send(ev("x2", "page.viewed")); len(f) != 0 || string(h.State(jane())) != before {
		t.Errorf("unrelated event mid-journey: fires %+v, state %s, want unchanged %s", f, h.State(jane()), before)
	}
	at(h, 10*day)
	wantHistory(t, h, "0d welcome 1:welcome", "2d tips 1:tips", "5d upgrade 1:upgrade")
}

func TestGoalEndsTheJourneyAsConverted(t *testing.T) {
	t.Parallel()
	t.Run("goal at +1d cancels the rest", func(t *testing.T) {
		t.Parallel()
		h := harness(t, welcome())
		h.Send(ev("e1", "customer.created"))
		at(h, day)
		if f := h.Send(ev("o1", "order.placed")); len(f) != 0 {
			t.Errorf("goal fired %+v without goal_step", f)
		}
		if tm := h.Timers(jane()); len(tm) != 0 {
			t.Errorf("timers after goal = %+v, want none", tm)
		}
		at(h, 30*day)
		wantHistory(t, h, "0d welcome 1:welcome")
		st := decoded(t, h.State(jane()))
		if st.Status != statusConverted || !st.EndedAt.Equal(start.Add(day)) {
			t.Errorf("state = %+v, want converted at +1d", st)
		}
	})
	t.Run("goal_step fires once with the goal event", func(t *testing.T) {
		t.Parallel()
		h := harness(t, with(welcome(), "goal_step", "thanks"))
		h.Send(ev("e1", "customer.created"))
		at(h, 3*day)
		f := h.Send(ev("o1", "order.placed"))
		if len(f) != 1 || f[0].Step != "thanks" || f[0].Key != "1:thanks" || f[0].Data["goal"] != "order.placed" || f[0].Data["instance"] != 1.0 {
			t.Fatalf("goal fires = %+v, want thanks 1:thanks", f)
		}
		// A second order: the journey has ended, nothing more.
		if f := h.Send(ev("o2", "order.placed")); len(f) != 0 {
			t.Errorf("second goal event fired %+v", f)
		}
		at(h, 30*day)
		wantHistory(t, h, "0d welcome 1:welcome", "2d tips 1:tips", "3d thanks 1:thanks")
	})
	t.Run("goal exactly at a step's due time, before its timer, wins", func(t *testing.T) {
		t.Parallel()
		h := harness(t, welcome())
		h.Send(ev("e1", "customer.created"))
		h.Clock.Set(start.Add(2 * day)) // the timer is due but not yet delivered
		h.Send(ev("o1", "order.placed"))
		h.Advance(10 * day)
		wantHistory(t, h, "0d welcome 1:welcome")
	})
	t.Run("goal that happened before the entry is not a conversion", func(t *testing.T) {
		t.Parallel()
		h := harness(t, welcome())
		h.Clock.Set(start.Add(time.Hour))
		h.Send(ev("e1", "customer.created"))
		late := ev("o1", "order.placed")
		late.OccurredAt = start // delivered late: placed an hour before the entry
		h.Send(late)
		if st := decoded(t, h.State(jane())); st.Status != statusActive {
			t.Errorf("status = %q, want still active", st.Status)
		}
		at(h, 10*day)
		wantHistory(t, h, "1h0m0s welcome 1:welcome", "2d1h0m0s tips 1:tips", "5d1h0m0s upgrade 1:upgrade")
	})
}

func TestExitEndsTheJourneyWithoutConversion(t *testing.T) {
	t.Parallel()
	h := harness(t, with(welcome(), "goal_step", "thanks"))
	h.Send(ev("e1", "customer.created"))
	at(h, 3*day)
	if f := h.Send(ev("u1", "customer.unsubscribed")); len(f) != 0 {
		t.Fatalf("exit fired %+v", f)
	}
	if tm := h.Timers(jane()); len(tm) != 0 {
		t.Errorf("timers after exit = %+v, want none", tm)
	}
	// A goal after the exit is no conversion: goal_step does not fire.
	h.Send(ev("o1", "order.placed"))
	at(h, 30*day)
	wantHistory(t, h, "0d welcome 1:welcome", "2d tips 1:tips")
	st := decoded(t, h.State(jane()))
	if st.Status != statusExited || !st.EndedAt.Equal(start.Add(3*day)) {
		t.Errorf("state = %+v, want exited at +3d", st)
	}
}

func TestStepConditions(t *testing.T) {
	t.Parallel()
	steps := func(tipsElse string) []map[string]any {
		tips := map[string]any{"name": "tips", "delay": "2d", "when": `try(customer.traits.plan, "") == "free"`}
		if tipsElse != "" {
			tips["else"] = tipsElse
		}
		return []map[string]any{
			{"name": "welcome"},
			tips,
			{"name": "nurture", "delay": "1d"},
			{"name": "upgrade", "delay": "3d"},
		}
	}
	tests := []struct {
		name     string
		steps    []map[string]any
		plan     string        // the customer's plan at entry
		planAt1d string        // if set, the plan from +1d
		want     []string      // fire history
		wantEnd  time.Duration // when the journey completes
	}{
		{
			name: "when true fires the step", steps: steps("upgrade"), plan: "free",
			want: []string{"0d welcome 1:welcome", "2d tips 1:tips", "3d nurture 1:nurture", "6d upgrade 1:upgrade"}, wantEnd: 6 * day,
		},
		{
			name: "when false jumps to else, its own delay from then", steps: steps("upgrade"), plan: "pro",
			want: []string{"0d welcome 1:welcome", "5d upgrade 1:upgrade"}, wantEnd: 5 * day,
		},
		{
			name: "when false without else skips to the next step", steps: steps(""), plan: "pro",
			want: []string{"0d welcome 1:welcome", "3d nurture 1:nurture", "6d upgrade 1:upgrade"}, wantEnd: 6 * day,
		},
		{
			name: "when reads the profile when the step comes due", steps: steps("upgrade"), plan: "pro", planAt1d: "free",
			want: []string{"0d welcome 1:welcome", "2d tips 1:tips", "3d nurture 1:nurture", "6d upgrade 1:upgrade"}, wantEnd: 6 * day,
		},
		{
			name: "missing trait (try) counts as false", steps: steps("upgrade"), plan: "",
			want: []string{"0d welcome 1:welcome", "5d upgrade 1:upgrade"}, wantEnd: 5 * day,
		},
		{
			name: "when that errors counts as false",
			steps: []map[string]any{
				{"name": "welcome"},
				{"name": "tips", "delay": "2d", "when": `customer.traits.plan == "free"`, "else": "upgrade"},
				{"name": "nurture", "delay": "1d"},
				{"name": "upgrade", "delay": "3d"},
			},
			want: []string{"0d welcome 1:welcome", "5d upgrade 1:upgrade"}, wantEnd: 5 * day,
		},
		{
			name: "an else target with delay 0 fires at once",
			steps: []map[string]any{
				{"name": "welcome"},
				{"name": "tips", "delay": "2d", "when": `try(customer.traits.plan, "") == "free"`, "else": "offer"},
				{"name": "nurture", "delay": "1d"},
				{"name": "offer", "delay": "0s"},
				{"name": "last", "delay": "1d"},
			},
			plan: "pro",
			want: []string{"0d welcome 1:welcome", "2d offer 1:offer", "3d last 1:last"}, wantEnd: 3 * day,
		},
		{
			name: "a false first step with delay 0 is skipped at entry",
			steps: []map[string]any{
				{"name": "vip_welcome", "when": `try(customer.traits.vip, false)`, "else": "welcome"},
				{"name": "tips", "delay": "1d"},
				{"name": "welcome"},
			},
			want: []string{"0d welcome 1:welcome"}, wantEnd: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := harness(t, with(welcome(), "step", tc.steps))
			p := sdk.Profile{Customer: jane(), Traits: map[string]any{}}
			if tc.plan != "" {
				p.Traits["plan"] = tc.plan
			}
			h.SetProfile(p)
			h.Send(ev("e1", "customer.created"))
			if tc.planAt1d != "" {
				at(h, day)
				p.Traits = map[string]any{"plan": tc.planAt1d}
				h.SetProfile(p)
			}
			at(h, 30*day)
			wantHistory(t, h, tc.want...)
			st := decoded(t, h.State(jane()))
			if st.Status != statusCompleted || !st.EndedAt.Equal(start.Add(tc.wantEnd)) {
				t.Errorf("state = %+v, want completed at +%s", st, tc.wantEnd)
			}
		})
	}
}

func TestEventTypePatterns(t *testing.T) {
	t.Parallel()
	cfg := with(welcome(),
		"start", []string{"customer.*"},
		"goal", []string{"order.placed"},
		"goal_step", "thanks",
		"exit", []string{"order.*", "customer.unsubscribed"},
		"reentry", ReentryAfterExit)
	h := harness(t, cfg)

	// customer.unsubscribed matches start ("customer.*") and exit: an exit
	// event is never a start event.
	if f := h.Send(ev("u0", "customer.unsubscribed")); len(f) != 0 || h.State(jane()) != nil {
		t.Fatalf("exit event entered the journey: %+v", f)
	}
	if f := h.Send(ev("e1", "customer.updated")); len(f) != 1 || f[0].Key != "1:welcome" {
		t.Fatalf("customer.updated (customer.*) did not enter: %+v", f)
	}
	// order.placed matches goal and exit ("order.*"): the goal wins.
	at(h, day)
	if f := h.Send(ev("o1", "order.placed")); len(f) != 1 || f[0].Key != "1:thanks" {
		t.Fatalf("order.placed: %+v, want the goal step", f)
	}
	if st := decoded(t, h.State(jane())); st.Status != statusConverted {
		t.Errorf("status = %q, want converted", st.Status)
	}
	// Another order.* event is an exit.
	at(h, 2*day)
	h.Send(ev("e2", "customer.created"))
	at(h, 3*day)
	if f := h.Send(ev("r1", "order.refunded")); len(f) != 0 {
		t.Fatalf("order.refunded fired %+v", f)
	}
	if st := decoded(t, h.State(jane())); st.Status != statusExited || st.Entries != 2 {
		t.Errorf("state = %+v, want instance 2 exited", st)
	}
	// The journey's own timer event never matches a pattern.
	if matches([]string{"*", "timer.*"}, timerFired) {
		t.Error("timer.fired matches a pattern")
	}
}

func TestRestartEndsTheRunningInstance(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{
		"start":   []string{"customer.created"},
		"reentry": ReentryAlways,
		"step": []map[string]any{
			{"name": "router", "when": "try(event.properties.wait, false)", "else": "instant"},
			{"name": "wait", "delay": "1d"},
			{"name": "instant"},
		},
	}
	h := harness(t, cfg)
	first := ev("e1", "customer.created")
	first.Properties = map[string]any{"wait": true}
	h.Send(first)
	if tm := h.Timers(jane()); len(tm) != 1 {
		t.Fatalf("timers = %+v, want the wait step pending", tm)
	}
	// A restart that waits: instance 1 ends now, instance 2's timer
	// replaces its timer.
	at(h, time.Hour)
	second := ev("e2", "customer.created")
	second.Properties = map[string]any{"wait": true}
	h.Send(second)
	if st := decoded(t, h.State(jane())); st.Entries != 2 || st.Status != statusActive || !st.EndedAt.Equal(start.Add(time.Hour)) {
		t.Errorf("state = %+v, want instance 2 running and the last end at +1h", st)
	}
	if tm := h.Timers(jane()); len(tm) != 1 || tm[0].Data["instance"] != 2.0 || !tm[0].At.Equal(start.Add(day+time.Hour)) {
		t.Fatalf("timers = %+v, want instance 2's wait step at +1d1h", tm)
	}
	// A restart that completes at once: no timer is left behind.
	at(h, 2*time.Hour)
	if f := h.Send(ev("e3", "customer.created")); len(f) != 1 || f[0].Key != "3:instant" {
		t.Fatalf("restart fires = %+v, want 3:instant", f)
	}
	if tm := h.Timers(jane()); len(tm) != 0 {
		t.Errorf("timers after a restart that completed = %+v, want none", tm)
	}
	at(h, 5*day)
	wantHistory(t, h, "0d router 1:router", "1h0m0s router 2:router", "2h0m0s instant 3:instant")
	if st := decoded(t, h.State(jane())); st.Status != statusCompleted || st.Entries != 3 || !st.EndedAt.Equal(start.Add(2*time.Hour)) {
		t.Errorf("state = %+v, want instance 3 completed at +2h", st)
	}
}

func TestEntryCondition(t *testing.T) {
	t.Parallel()
	h := harness(t, with(welcome(), "when", `try(customer.email, "") != ""`, "reentry", ReentryNever))
	anon := sdk.Customer{ID: "c1"}
	if f := h.Send(sdk.Event{ID: "e1", Type: "customer.created", Customer: anon}); len(f) != 0 {
		t.Fatalf("entered without an email: %+v", f)
	}
	if h.State(anon) != nil {
		t.Fatalf("state after a failed entry = %q, want none", h.State(anon))
	}
	// Not having entered, the customer may still enter, even with
	// reentry = "never".
	h.Clock.Set(start.Add(time.Hour))
	if f := h.Send(ev("e2", "customer.created")); len(f) != 1 || f[0].Key != "1:welcome" {
		t.Fatalf("entry with an email: %+v, want 1:welcome", f)
	}
}

func TestReentry(t *testing.T) {
	t.Parallel()
	type send struct {
		at  time.Duration
		typ string // customer.created, order.placed or customer.unsubscribed
	}
	tests := []struct {
		name  string
		attrs []any
		sends []send
		want  []string
	}{
		{
			name:  "never: a start event during the journey is ignored",
			attrs: []any{"reentry", ReentryNever},
			sends: []send{{0, "customer.created"}, {day, "customer.created"}},
			want:  []string{"0d welcome 1:welcome", "2d tips 1:tips", "5d upgrade 1:upgrade"},
		},
		{
			name:  "never: no second run after the first ended",
			attrs: []any{"reentry", ReentryNever},
			sends: []send{{0, "customer.created"}, {day, "customer.unsubscribed"}, {10 * day, "customer.created"}},
			want:  []string{"0d welcome 1:welcome"},
		},
		{
			name:  "after_exit: ignored while running",
			attrs: []any{"reentry", ReentryAfterExit},
			sends: []send{{0, "customer.created"}, {day, "customer.created"}},
			want:  []string{"0d welcome 1:welcome", "2d tips 1:tips", "5d upgrade 1:upgrade"},
		},
		{
			name:  "after_exit: a new run after an exit",
			attrs: []any{"reentry", ReentryAfterExit},
			sends: []send{{0, "customer.created"}, {day, "customer.unsubscribed"}, {10 * day, "customer.created"}},
			want:  []string{"0d welcome 1:welcome", "10d welcome 2:welcome", "12d tips 2:tips", "15d upgrade 2:upgrade"},
		},
		{
			name:  "after_exit: a new run after completion",
			attrs: []any{"reentry", ReentryAfterExit},
			sends: []send{{0, "customer.created"}, {6 * day, "customer.created"}},
			want: []string{"0d welcome 1:welcome", "2d tips 1:tips", "5d upgrade 1:upgrade",
				"6d welcome 2:welcome", "8d tips 2:tips", "11d upgrade 2:upgrade"},
		},
		{
			name:  "after_exit: a new run after conversion",
			attrs: []any{"reentry", ReentryAfterExit},
			sends: []send{{0, "customer.created"}, {day, "order.placed"}, {3 * day, "customer.created"}},
			want:  []string{"0d welcome 1:welcome", "3d welcome 2:welcome", "5d tips 2:tips", "8d upgrade 2:upgrade"},
		},
		{
			name:  "always: a start event restarts a running journey",
			attrs: []any{"reentry", ReentryAlways},
			sends: []send{{0, "customer.created"}, {3 * day, "customer.created"}},
			want:  []string{"0d welcome 1:welcome", "2d tips 1:tips", "3d welcome 2:welcome", "5d tips 2:tips", "8d upgrade 2:upgrade"},
		},
		{
			name:  "after_exit with reentry_after: too soon is ignored, exactly then enters",
			attrs: []any{"reentry", ReentryAfterExit, "reentry_after", "30d"},
			sends: []send{{0, "customer.created"}, {day, "customer.unsubscribed"}, {10 * day, "customer.created"},
				{30*day - time.Second, "customer.created"}, {30 * day, "customer.created"}},
			want: []string{"0d welcome 1:welcome", "30d welcome 2:welcome", "32d tips 2:tips", "35d upgrade 2:upgrade"},
		},
		{
			name:  "always with reentry_after: no restart within it",
			attrs: []any{"reentry", ReentryAlways, "reentry_after", "4d"},
			sends: []send{{0, "customer.created"}, {3 * day, "customer.created"}, {4 * day, "customer.created"}},
			want:  []string{"0d welcome 1:welcome", "2d tips 1:tips", "4d welcome 2:welcome", "6d tips 2:tips", "9d upgrade 2:upgrade"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := harness(t, with(welcome(), tc.attrs...))
			for i, s := range tc.sends {
				at(h, s.at)
				h.Send(ev(fmt.Sprintf("e%d", i), s.typ))
				if tm := h.Timers(jane()); len(tm) > 1 {
					t.Fatalf("after send %d: %d timers, want at most one: %+v", i, len(tm), tm)
				}
			}
			at(h, 60*day)
			wantHistory(t, h, tc.want...)
		})
	}
}

func TestRedeliveredStartEventDoesNotRestart(t *testing.T) {
	t.Parallel()
	for _, reentry := range []string{ReentryAfterExit, ReentryAlways} {
		t.Run(reentry, func(t *testing.T) {
			t.Parallel()
			h := harness(t, with(welcome(), "reentry", reentry))
			first := ev("e1", "customer.created")
			h.Send(first)
			at(h, time.Hour)
			if f := h.Send(first); len(f) != 0 {
				t.Errorf("redelivery while running fired %+v", f)
			}
			at(h, 6*day) // the run has completed
			if f := h.Send(first); len(f) != 0 {
				t.Errorf("redelivery after the run fired %+v", f)
			}
			// An older start event delivered late does not start a run either.
			old := ev("e0", "customer.created")
			old.OccurredAt = start.Add(-time.Hour)
			if f := h.Send(old); len(f) != 0 {
				t.Errorf("out-of-order start event fired %+v", f)
			}
			at(h, 20*day)
			wantHistory(t, h, "0d welcome 1:welcome", "2d tips 1:tips", "5d upgrade 1:upgrade")
			if st := decoded(t, h.State(jane())); st.Entries != 1 {
				t.Errorf("entries = %d, want 1", st.Entries)
			}
		})
	}
}

// evaluateOne calls the plugin over gRPC for one item of the welcome rule.
func evaluateOne(t *testing.T, trig sdk.Trigger, cfg map[string]any, item sdk.EvaluateItem) sdk.Result {
	t.Helper()
	item.Rule = "journey"
	if item.Profile.Customer.Key() == "" {
		item.Profile.Customer = jane()
	}
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"journey": plugintest.MustConfig(t, cfg)},
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

func timerItem(tm sdk.Timer, st []byte, now time.Time) sdk.EvaluateItem {
	return sdk.EvaluateItem{
		Event: sdk.Event{ID: "timer-" + tm.ID, Type: timerFired, Customer: jane()},
		Timer: &tm, State: st, Now: now,
	}
}

func TestStaleTimersDoNotFire(t *testing.T) {
	t.Parallel()
	cfg := with(welcome(), "reentry", ReentryAfterExit)
	h := harness(t, cfg)
	h.Send(ev("e1", "customer.created"))
	oldTimer := h.Timers(jane())[0] // instance 1's tips, due at +2d
	at(h, day)
	h.Send(ev("u1", "customer.unsubscribed"))
	at(h, day+time.Hour)
	h.Send(ev("e2", "customer.created"))
	st := h.State(jane())
	current := h.Timers(jane())[0]
	if current.Data["instance"] != 2.0 {
		t.Fatalf("current timer = %+v, want instance 2", current)
	}

	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	now := start.Add(2 * day)
	tests := []struct {
		name  string
		timer sdk.Timer
	}{
		{"a previous instance's timer", oldTimer},
		{"a timer replaced since", sdk.Timer{ID: timerID, At: now, Data: map[string]any{"instance": 2.0, "seq": current.Data["seq"].(float64) - 1, "step": "tips"}}},
		{"another timer id", sdk.Timer{ID: "other", At: now, Data: current.Data}},
		{"no data", sdk.Timer{ID: timerID, At: now}},
		{"garbage data", sdk.Timer{ID: timerID, At: now, Data: map[string]any{"instance": "two", "seq": -1.0}}},
		{"the current seq with another instance", sdk.Timer{ID: timerID, At: now, Data: map[string]any{"instance": 1.0, "seq": current.Data["seq"], "step": "tips"}}},
		{"fractional data", sdk.Timer{ID: timerID, At: now, Data: map[string]any{"instance": 2.5, "seq": current.Data["seq"]}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := evaluateOne(t, trig, cfg, timerItem(tc.timer, st, now))
			if res.Err != "" || len(res.Fires) != 0 || len(res.SetTimers) != 0 || len(res.CancelTimers) != 0 || !bytes.Equal(res.State, st) {
				t.Errorf("result = %+v, want nothing changed", res)
			}
		})
	}
	t.Run("the current timer does fire", func(t *testing.T) {
		t.Parallel()
		res := evaluateOne(t, trig, cfg, timerItem(current, st, current.At))
		if len(res.Fires) != 1 || res.Fires[0].Key != "2:tips" {
			t.Errorf("fires = %+v, want 2:tips", res.Fires)
		}
	})
	t.Run("a timer.fired event without a timer", func(t *testing.T) {
		t.Parallel()
		item := timerItem(current, st, now)
		item.Timer = nil
		res := evaluateOne(t, trig, cfg, item)
		if res.Err != "" || len(res.Fires) != 0 || !bytes.Equal(res.State, st) {
			t.Errorf("result = %+v, want nothing changed", res)
		}
	})
}

func TestTimerEvaluatedTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	cfg := welcome()
	h := harness(t, cfg)
	h.Send(ev("e1", "customer.created"))
	st := h.State(jane())
	tm := h.Timers(jane())[0]
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))

	// The host retries a batch whose commit failed with the old state: the
	// same fire, same key, so the host sends it once.
	a := evaluateOne(t, trig, cfg, timerItem(tm, st, tm.At))
	b := evaluateOne(t, trig, cfg, timerItem(tm, st, tm.At))
	if len(a.Fires) != 1 || fmt.Sprint(a.Fires) != fmt.Sprint(b.Fires) || !bytes.Equal(a.State, b.State) {
		t.Fatalf("two evaluations differ: %+v / %+v", a, b)
	}
	// The same timer delivered again after the new state was kept: stale.
	c := evaluateOne(t, trig, cfg, timerItem(tm, a.State, tm.At.Add(time.Minute)))
	if len(c.Fires) != 0 || !bytes.Equal(c.State, a.State) {
		t.Errorf("redelivered timer: %+v, want no fire and the state unchanged", c)
	}
}

func TestElseLoopGivesEachVisitItsOwnKey(t *testing.T) {
	t.Parallel()
	// A reminder every 3 days until the customer has activated, then a
	// congratulation: "remind" comes round again through the else loop.
	cfg := map[string]any{
		"start": []string{"customer.created"},
		"step": []map[string]any{
			{"name": "remind", "delay": "0s"},
			{"name": "congrats", "delay": "3d", "when": `try(customer.traits.activated, false)`, "else": "remind"},
		},
	}
	h := harness(t, cfg)
	h.Send(ev("e1", "customer.created"))
	at(h, 7*day)
	p := h.Profile(jane())
	p.Traits = map[string]any{"activated": true}
	h.SetProfile(p)
	at(h, 20*day)
	wantHistory(t, h, "0d remind 1:remind", "3d remind 1:remind:2", "6d remind 1:remind:3", "9d congrats 1:congrats")
}

func TestCarriedProperties(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{
		"start":   []string{"order.placed"},
		"reentry": ReentryAlways,
		"carry":   []string{"order_id", "product", "huge", "absent"},
		"step": []map[string]any{
			{"name": "review_request", "delay": "7d"},
			{"name": "cross_sell", "delay": "7d"},
		},
	}
	h := harness(t, cfg)
	order := ev("o1", "order.placed")
	order.Properties = map[string]any{
		"order_id": "1001", "product": map[string]any{"sku": "MUG-1", "price": 12.5},
		"huge": strings.Repeat("x", 2000), "other": "not carried",
	}
	h.Send(order)
	f := h.Advance(7 * day)
	want := `map[order_id:1001 product:map[price:12.5 sku:MUG-1]]`
	if len(f) != 1 || fmt.Sprint(f[0].Data["start"]) != want {
		t.Fatalf("review request fires = %+v, want start = %s", f, want)
	}
	if f := h.Advance(7 * day); len(f) != 1 || fmt.Sprint(f[0].Data["start"]) != want {
		t.Fatalf("cross-sell fires = %+v, want start = %s", f, want)
	}
	// A start event without the properties: no start data at all.
	h.Send(ev("o2", "order.placed"))
	if f := h.Advance(7 * day); len(f) != 1 || f[0].Data["start"] != nil || f[0].Key != "2:review_request" {
		t.Fatalf("fires = %+v, want 2:review_request without start data", f)
	}
}

func TestCorruptStateStartsAfresh(t *testing.T) {
	t.Parallel()
	cfg := welcome()
	tests := []struct {
		name  string
		state string
	}{
		{"not json", "{not json"},
		{"wrong shape", `[1,2,3]`},
		{"negative entries", `{"entries":-1}`},
		{"unknown status", `{"entries":1,"status":"dancing"}`},
		{"status without entry", `{"entries":0,"status":"active"}`},
		{"too big", `{"entries":1,"start_id":"` + strings.Repeat("a", maxStateSize) + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			trig := plugintest.Trigger(t, New(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})))

			// An event that does not concern the journey: the unreadable
			// state is dropped.
			res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: ev("x", "page.viewed"), State: []byte(tc.state), Now: start})
			if res.Err != "" || res.State != nil || len(res.Fires) != 0 {
				t.Errorf("unrelated event: %+v, want the state deleted", res)
			}
			// A start event: the customer enters as if new.
			res = evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: ev("e1", "customer.created"), State: []byte(tc.state), Now: start})
			if res.Err != "" || len(res.Fires) != 1 || res.Fires[0].Key != "1:welcome" {
				t.Errorf("start event: %+v, want a fresh entry", res)
			}
			if st := decoded(t, res.State); st.Entries != 1 || st.Status != statusActive {
				t.Errorf("state = %+v", st)
			}
			if !strings.Contains(logs.String(), "rule state does not decode; starting afresh") {
				t.Errorf("log = %q, want a warning", logs.String())
			}
		})
	}
}

func TestPendingStepRemovedFromConfig(t *testing.T) {
	t.Parallel()
	cfg := welcome()
	h := harness(t, cfg)
	h.Send(ev("e1", "customer.created"))
	st, tm := h.State(jane()), h.Timers(jane())[0]
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))

	// "tips" was renamed "hints": the step now at its place runs.
	renamed := welcome()
	renamed["step"] = []map[string]any{{"name": "welcome"}, {"name": "hints", "delay": "2d"}, {"name": "upgrade", "delay": "3d"}}
	res := evaluateOne(t, trig, renamed, timerItem(tm, st, tm.At))
	if len(res.Fires) != 1 || res.Fires[0].Key != "1:hints" || len(res.SetTimers) != 1 {
		t.Errorf("renamed step: %+v, want 1:hints and the next timer", res)
	}
	// A step inserted before it: "tips" is still found by name.
	inserted := welcome()
	inserted["step"] = []map[string]any{{"name": "welcome"}, {"name": "survey", "delay": "1d"}, {"name": "tips", "delay": "2d"}, {"name": "upgrade", "delay": "3d"}}
	res = evaluateOne(t, trig, inserted, timerItem(tm, st, tm.At))
	if len(res.Fires) != 1 || res.Fires[0].Key != "1:tips" || res.Fires[0].Data["step_index"] != 2.0 {
		t.Errorf("inserted step: %+v, want 1:tips at index 2", res)
	}
	// The journey was cut short: the instance completes.
	short := welcome()
	short["step"] = []map[string]any{{"name": "welcome"}}
	res = evaluateOne(t, trig, short, timerItem(tm, st, tm.At))
	if len(res.Fires) != 0 || decoded(t, res.State).Status != statusCompleted {
		t.Errorf("shortened journey: %+v, want completed without a fire", res)
	}
}

func TestEvaluateBatch(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	c2 := sdk.Customer{ID: "c2"}
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{
			"welcome": plugintest.MustConfig(t, welcome()),
			"broken":  plugintest.MustConfig(t, with(welcome(), "step", []map[string]any{{"name": "a"}, {"name": "b", "delay": "1d", "else": "a"}})),
		},
		Items: []sdk.EvaluateItem{
			{Rule: "welcome", Event: ev("e1", "customer.created"), Profile: sdk.Profile{Customer: jane()}, Now: start},
			{Rule: "broken", Event: ev("e1", "customer.created"), Profile: sdk.Profile{Customer: jane()}, State: []byte("kept"), Now: start},
			{Rule: "missing", Event: ev("e1", "customer.created"), Profile: sdk.Profile{Customer: jane()}, Now: start},
			{Rule: "welcome", Event: sdk.Event{ID: "e2", Type: "page.viewed", Customer: c2}, Profile: sdk.Profile{Customer: c2}, Now: start},
		},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 4 {
		t.Fatalf("%d results, want 4", len(resp.Results))
	}
	if r := resp.Results[0]; r.Err != "" || len(r.Fires) != 1 || r.Fires[0].Key != "1:welcome" {
		t.Errorf("item 0 = %+v", r)
	}
	if r := resp.Results[1]; !strings.Contains(r.Err, "step[1].else") || string(r.State) != "kept" || len(r.Fires) != 0 {
		t.Errorf("item 1 = %+v, want an error naming step[1].else and the state kept", r)
	}
	if r := resp.Results[2]; !strings.Contains(r.Err, `no config for rule "missing"`) {
		t.Errorf("item 2 = %+v", r)
	}
	if r := resp.Results[3]; r.Err != "" || r.State != nil || len(r.Fires) != 0 {
		t.Errorf("item 3 = %+v, want nothing", r)
	}
}

func TestEvaluateStopsOnCancelledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(hclog.NewNullLogger()).Evaluate(ctx, &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"journey": plugintest.MustConfig(t, welcome())},
		Items: []sdk.EvaluateItem{{Rule: "journey", Event: ev("e1", "customer.created"), Now: start}},
	})
	if err == nil {
		t.Fatal("Evaluate with a cancelled context returned no error")
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	steps := func(s ...map[string]any) map[string]any { return with(welcome(), "step", s) }
	when := `try(customer.traits.plan, "") == "free"`
	many := make([]map[string]any, maxSteps+1)
	for i := range many {
		many[i] = map[string]any{"name": fmt.Sprintf("s%d", i)}
	}
	tests := []struct {
		name      string
		config    map[string]any
		wantPaths []string // error paths, in order; none: valid
		wantWarn  string   // path of an expected warning
	}{
		{name: "valid", config: welcome()},
		{name: "valid with everything", config: with(welcome(), "when", `try(customer.email, "") != ""`, "goal_step", "thanks",
			"reentry", ReentryAfterExit, "reentry_after", "30d", "carry", []string{"order_id"})},
		{name: "valid else loop with a delay", config: steps(
			map[string]any{"name": "a"}, map[string]any{"name": "b", "delay": "1d", "when": when, "else": "a"})},
		{name: "valid forward else", config: steps(
			map[string]any{"name": "a", "when": when, "else": "c"}, map[string]any{"name": "b"}, map[string]any{"name": "c"})},
		{name: "reentry_after with never warns", config: with(welcome(), "reentry_after", "7d"), wantWarn: "reentry_after"},
		{name: "missing start", config: with(welcome(), "start", nil), wantPaths: []string{"start"}},
		{name: "empty start", config: with(welcome(), "start", []string{}), wantPaths: []string{"start"}},
		{name: "empty start entry", config: with(welcome(), "start", []string{"customer.created", " "}), wantPaths: []string{"start[1]"}},
		{name: "timer.fired as start", config: with(welcome(), "start", []string{"timer.fired"}), wantPaths: []string{"start[0]"}},
		{name: "goal also a start event", config: with(welcome(), "goal", []string{"customer.created"}), wantPaths: []string{"goal[0]"}},
		{name: "exit also a goal event", config: with(welcome(), "exit", []string{"customer.unsubscribed", "order.placed"}), wantPaths: []string{"exit[1]"}},
		{name: "empty exit entry", config: with(welcome(), "exit", []string{""}), wantPaths: []string{"exit[0]"}},
		{name: "start of the wrong type", config: with(welcome(), "start", "customer.created"), wantPaths: []string{"start"}},
		{name: "bad entry condition", config: with(welcome(), "when", "customer.("), wantPaths: []string{"when"}},
		{name: "unknown reentry", config: with(welcome(), "reentry", "sometimes"), wantPaths: []string{"reentry"}},
		{name: "bad reentry_after", config: with(welcome(), "reentry", ReentryAlways, "reentry_after", "a month"), wantPaths: []string{"reentry_after"}},
		{name: "goal_step without goal", config: with(welcome(), "goal", nil, "goal_step", "thanks"), wantPaths: []string{"goal_step"}},
		{name: "goal_step named like a step", config: with(welcome(), "goal_step", "tips"), wantPaths: []string{"goal_step"}},
		{name: "goal_step with a colon", config: with(welcome(), "goal_step", "a:b"), wantPaths: []string{"goal_step"}},
		{name: "too many carried properties", config: with(welcome(), "carry", strings.Split("a b c d e f g h i j k l m n o p q", " ")), wantPaths: []string{"carry"}},
		{name: "empty carried property", config: with(welcome(), "carry", []string{"order_id", ""}), wantPaths: []string{"carry[1]"}},
		{name: "no steps", config: with(welcome(), "step", nil), wantPaths: []string{"step"}},
		{name: "empty step list", config: steps(), wantPaths: []string{"step"}},
		{name: "too many steps", config: steps(many...), wantPaths: []string{"step[100]"}},
		{name: "step not a block list", config: with(welcome(), "step", "welcome"), wantPaths: []string{"step"}},
		{name: "negative delay", config: steps(map[string]any{"name": "a"}, map[string]any{"name": "b", "delay": "-1s"}), wantPaths: []string{"step[1].delay"}},
		{name: "unparsable delay", config: steps(map[string]any{"name": "a"}, map[string]any{"name": "b", "delay": "soon"}), wantPaths: []string{"step[1].delay"}},
		{name: "missing name", config: steps(map[string]any{"delay": "1d"}), wantPaths: []string{"step[0].name"}},
		{name: "empty name", config: steps(map[string]any{"name": ""}), wantPaths: []string{"step[0].name"}},
		{name: "name with a colon", config: steps(map[string]any{"name": "a:1"}), wantPaths: []string{"step[0].name"}},
		{name: "duplicate name", config: steps(map[string]any{"name": "a"}, map[string]any{"name": "b"}, map[string]any{"name": "a"}), wantPaths: []string{"step[2].name"}},
		{name: "bad step condition", config: steps(map[string]any{"name": "a", "when": "customer.("}), wantPaths: []string{"step[0].when"}},
		{name: "else to a missing step", config: steps(map[string]any{"name": "a"}, map[string]any{"name": "b", "when": when, "else": "z"}), wantPaths: []string{"step[1].else"}},
		{name: "else to itself", config: steps(map[string]any{"name": "a"}, map[string]any{"name": "b", "delay": "1d", "when": when, "else": "b"}), wantPaths: []string{"step[1].else"}},
		{name: "else without when", config: steps(map[string]any{"name": "a"}, map[string]any{"name": "b", "else": "a"}), wantPaths: []string{"step[1].else"}},
		{name: "loop without delay", config: steps(
			map[string]any{"name": "a"}, map[string]any{"name": "b", "when": when, "else": "a"}, map[string]any{"name": "c", "delay": "1d"}),
			wantPaths: []string{"step[1].else"}},
		{name: "loop without delay through two else", config: steps(
			map[string]any{"name": "a", "delay": "1d"},
			map[string]any{"name": "b", "when": when, "else": "d"},
			map[string]any{"name": "c", "delay": "1d"},
			map[string]any{"name": "d", "when": when, "else": "b"}),
			wantPaths: []string{"step[1].else", "step[3].else"}},
	}
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := map[string]any{}
			for k, v := range tc.config {
				if v != nil {
					cfg[k] = v
				}
			}
			resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: plugintest.MustConfig(t, cfg)})
			if err != nil {
				t.Fatalf("ValidateConfig: %v", err)
			}
			var errs, warns []string
			for _, d := range resp.Diagnostics {
				if d.Summary == "" {
					t.Errorf("diagnostic without a summary: %+v", d)
				}
				if d.Severity == sdk.SeverityError {
					errs = append(errs, d.Path.String())
				} else {
					warns = append(warns, d.Path.String())
				}
			}
			if !slices.Equal(errs, tc.wantPaths) {
				t.Errorf("error paths = %q, want %q (%+v)", errs, tc.wantPaths, resp.Diagnostics)
			}
			if tc.wantWarn != "" && !slices.Equal(warns, []string{tc.wantWarn}) {
				t.Errorf("warning paths = %q, want %q", warns, tc.wantWarn)
			}
			if tc.wantWarn == "" && len(warns) != 0 {
				t.Errorf("unexpected warnings: %+v", resp.Diagnostics)
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
	if d.Name != "journey" || d.Kind != sdk.KindTrigger || d.Version != pluginVersion || d.ProtocolVersion != sdk.ProtocolVersion || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	type attr struct {
		typ      sdk.AttrType
		required bool
	}
	check := func(where string, got []sdk.AttributeSchema, want map[string]attr) {
		if len(got) != len(want) {
			t.Errorf("%s: %d attributes, want %d: %+v", where, len(got), len(want), got)
		}
		for _, a := range got {
			w, ok := want[a.Name]
			if !ok || a.Type != w.typ || a.Required != w.required || a.Description == "" {
				t.Errorf("%s: attribute %+v, want %+v with a description", where, a, w)
			}
		}
	}
	check("config", d.Schema.Attributes, map[string]attr{
		"start": {sdk.TypeEventTypes, true}, "when": {sdk.TypeExpression, false},
		"goal": {sdk.TypeEventTypes, false}, "goal_step": {sdk.TypeString, false},
		"exit": {sdk.TypeEventTypes, false}, "reentry": {sdk.TypeString, false},
		"reentry_after": {sdk.TypeDuration, false}, "carry": {sdk.TypeStringList, false},
	})
	if len(d.Schema.Blocks) != 1 {
		t.Fatalf("blocks = %+v, want step", d.Schema.Blocks)
	}
	b := d.Schema.Blocks[0]
	if b.Name != "step" || !b.Repeated || b.Required || b.Description == "" {
		t.Errorf("step block = %+v, want repeated", b)
	}
	check("step", b.Schema.Attributes, map[string]attr{
		"name": {sdk.TypeString, true}, "delay": {sdk.TypeDuration, false},
		"when": {sdk.TypeExpression, false}, "else": {sdk.TypeString, false},
	})
}
