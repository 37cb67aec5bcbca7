package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func jane() sdk.Customer { return sdk.Customer{ID: "c1", Email: "jane@example.com"} }

const day = 24 * time.Hour

// vip is the VIP-enrolment condition used throughout.
const vip = "customer.lifetime_value >= 1000"

// syncBuffer is a log sink safe for the plugin's gRPC goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLogger(buf *syncBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Trace})
}

// order is one step of a spend scenario: the host has added an order to the
// customer's lifetime value before the rule sees the event.
type order struct {
	at   time.Duration // clock, from start
	ltv  float64       // lifetime value after the event
	want string        // "step/key" of the expected fire; "" for none
}

// playOrders sends an order.placed event per step with the profile's
// lifetime value set as the host would have updated it.
func playOrders(t *testing.T, config map[string]any, orders []order) *plugintest.TriggerHarness {
	t.Helper()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t, config), start)
	for i, o := range orders {
		h.Clock.Set(start.Add(o.at))
		h.SetProfile(sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: o.ltv, OrdersCount: i + 1}})
		fires := h.Send(sdk.Event{ID: fmt.Sprint("o", i), Type: "order.placed", Customer: jane()})
		got := ""
		if len(fires) == 1 {
			got = fires[0].Step + "/" + fires[0].Key
		}
		if len(fires) > 1 || got != o.want {
			t.Errorf("order %d (ltv %v at %v): fires = %+v, want %q", i, o.ltv, o.at, fires, o.want)
		}
	}
	return h
}

func TestMembership(t *testing.T) {
	t.Parallel()
	base := func(kv ...any) map[string]any {
		cfg := map[string]any{"condition": vip, "on": []string{"order.placed"}}
		for i := 0; i < len(kv); i += 2 {
			cfg[kv[i].(string)] = kv[i+1]
		}
		return cfg
	}
	tests := []struct {
		name   string
		config map[string]any
		orders []order
	}{
		{
			name:   "entering fires once, staying in does not fire again",
			config: base(),
			orders: []order{
				{at: 0, ltv: 400},
				{at: day, ltv: 999.99},
				{at: 2 * day, ltv: 1000, want: "entered/enter-1"},
				{at: 3 * day, ltv: 1500},
				{at: 4 * day, ltv: 2500},
			},
		},
		{
			name:   "leaving then re-entering fires again",
			config: base(),
			orders: []order{
				{at: 0, ltv: 1200, want: "entered/enter-1"},
				{at: day, ltv: 800},
				{at: 2 * day, ltv: 800},
				{at: 3 * day, ltv: 1100, want: "entered/enter-2"},
			},
		},
		{
			name:   "once: re-entering does not fire",
			config: base("once", true),
			orders: []order{
				{at: 0, ltv: 1200, want: "entered/enter-1"},
				{at: day, ltv: 800},
				{at: 2 * day, ltv: 1100},
				{at: 3 * day, ltv: 10},
				{at: 4 * day, ltv: 5000},
			},
		},
		{
			name:   "reentry_after holds back early re-entries, from the last fire",
			config: base("reentry_after", "7d"),
			orders: []order{
				{at: 0, ltv: 1200, want: "entered/enter-1"},
				{at: day, ltv: 800},
				{at: 2 * day, ltv: 1200}, // entry 2, too soon
				{at: 3 * day, ltv: 800},
				{at: 7*day - time.Second, ltv: 1200}, // entry 3, a second too soon
				{at: 7 * day, ltv: 800},
				{at: 7 * day, ltv: 1200, want: "entered/enter-4"}, // exactly 7d after the fire
			},
		},
		{
			name:   "fire_on leave",
			config: base("fire_on", "leave"),
			orders: []order{
				{at: 0, ltv: 1200},
				{at: day, ltv: 1300},
				{at: 2 * day, ltv: 800, want: "left/leave-1"},
				{at: 3 * day, ltv: 700},
				{at: 4 * day, ltv: 1100},
				{at: 5 * day, ltv: 900, want: "left/leave-2"},
			},
		},
		{
			name:   "fire_on both with named steps",
			config: base("fire_on", "both", "enter_step", "vip_welcome", "leave_step", "vip_lapsed"),
			orders: []order{
				{at: 0, ltv: 1200, want: "vip_welcome/enter-1"},
				{at: day, ltv: 800, want: "vip_lapsed/leave-1"},
				{at: 2 * day, ltv: 1100, want: "vip_welcome/enter-2"},
			},
		},
		{
			name:   "once with fire_on both fires only the first entry and its leave",
			config: base("fire_on", "both", "once", true),
			orders: []order{
				{at: 0, ltv: 1200, want: "entered/enter-1"},
				{at: day, ltv: 800, want: "left/leave-1"},
				{at: 2 * day, ltv: 1100},
				{at: 3 * day, ltv: 900},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			playOrders(t, tc.config, tc.orders)
		})
	}
}

func TestFireData(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t,
		map[string]any{"condition": vip, "fire_on": "both"}), start)
	h.SetProfile(sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: 1000}})
	enter := h.Send(sdk.Event{ID: "o1", Type: "order.placed", Customer: jane()})
	h.Clock.Set(start.Add(36 * time.Hour))
	h.SetProfile(sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: 10}})
	leave := h.Send(sdk.Event{ID: "r1", Type: "order.refunded", Customer: jane()})
	if len(enter) != 1 || len(leave) != 1 {
		t.Fatalf("fires = %+v / %+v, want one each", enter, leave)
	}
	check := func(name string, f sdk.Fire, want map[string]any) {
		got, _ := json.Marshal(f.Data)
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Errorf("%s data = %s, want %s", name, got, w)
		}
	}
	check("enter", enter[0], map[string]any{"condition": vip, "entered_at": "2026-11-22T10:00:00Z", "entry": 1})
	check("leave", leave[0], map[string]any{
		"condition": vip, "entered_at": "2026-11-22T10:00:00Z", "left_at": "2026-11-23T22:00:00Z", "entry": 1,
	})
}

func TestTraitSegments(t *testing.T) {
	t.Parallel()
	t.Run("interest group joined", func(t *testing.T) {
		t.Parallel()
		h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t, map[string]any{
			"condition": `contains(try(customer.traits.interests, []), "running")`, "enter_step": "running_club",
		}), start)
		steps := []struct {
			traits map[string]any
			want   string
		}{
			{nil, ""},
			{map[string]any{"interests": []any{"cycling"}}, ""},
			{map[string]any{"interests": []any{"cycling", "running"}}, "enter-1"},
			{map[string]any{"first_name": "Jane"}, ""}, // interests kept on the profile
		}
		for i, s := range steps {
			fires := h.Send(sdk.Event{ID: fmt.Sprint("e", i), Type: "customer.updated", Customer: jane(), Traits: s.traits})
			switch {
			case s.want == "" && len(fires) != 0:
				t.Errorf("step %d: fires = %+v, want none", i, fires)
			case s.want != "" && (len(fires) != 1 || fires[0].Key != s.want || fires[0].Step != "running_club"):
				t.Errorf("step %d: fires = %+v, want running_club/%s", i, fires, s.want)
			}
		}
	})

	t.Run("welcome back on leaving the lapsed segment", func(t *testing.T) {
		t.Parallel()
		h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t, map[string]any{
			"condition": "try(customer.traits.lapsed, false)", "fire_on": "leave", "leave_step": "welcome_back",
		}), start)
		if f := h.Send(sdk.Event{ID: "e1", Type: "customer.updated", Customer: jane(), Traits: map[string]any{"lapsed": true}}); len(f) != 0 {
			t.Errorf("lapsing fired: %+v", f)
		}
		h.Clock.Set(start.Add(40 * day))
		if f := h.Send(sdk.Event{ID: "e2", Type: "page.viewed", Customer: jane()}); len(f) != 0 {
			t.Errorf("still lapsed, yet fired: %+v", f)
		}
		f := h.Send(sdk.Event{ID: "e3", Type: "session.started", Customer: jane(), Traits: map[string]any{"lapsed": false}})
		if len(f) != 1 || f[0].Step != "welcome_back" || f[0].Key != "leave-1" {
			t.Errorf("coming back: fires = %+v, want welcome_back/leave-1", f)
		}
	})
}

func TestOnFiltersEvents(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t,
		map[string]any{"condition": vip, "on": []string{"order.*"}}), start)
	h.SetProfile(sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: 5000}})
	if f := h.Send(sdk.Event{ID: "e1", Type: "page.viewed", Customer: jane()}); len(f) != 0 || h.State(jane()) != nil {
		t.Errorf("page.viewed re-evaluated: fires %+v, state %s", f, h.State(jane()))
	}
	if f := h.Send(sdk.Event{ID: "e2", Type: "order.paid", Customer: jane()}); len(f) != 1 {
		t.Errorf("order.paid: fires = %+v, want one", f)
	}
}

// evaluateOne evaluates one item over the wire.
func evaluateOne(t *testing.T, trig sdk.Trigger, config map[string]any, item sdk.EvaluateItem) sdk.Result {
	t.Helper()
	item.Rule = "r"
	if item.Now.IsZero() {
		item.Now = start
	}
	if item.Event.Customer.Key() == "" {
		item.Event.Customer = jane()
	}
	if item.Profile.Key() == "" {
		item.Profile.Customer = jane()
	}
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": plugintest.MustConfig(t, config)},
		Items: []sdk.EvaluateItem{item},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 1 {
		t.Fatalf("results = %+v, want one", resp.Results)
	}
	return resp.Results[0]
}

func rich() sdk.Profile { return sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: 5000}} }

func TestConditionErrorIsNotMember(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"condition": "customer.traits.vip == true", "fire_on": "both"}
	tests := []struct {
		name      string
		state     string
		wantFire  string
		wantState string
	}{
		{"never a member: no fire, no state", "", "", ""},
		{"a member: leaves", `{"member":true,"entries":2}`, "left/leave-2", `"member":false`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			trig := plugintest.Trigger(t, New(newLogger(&logs)))
			var st []byte
			if tc.state != "" {
				st = []byte(tc.state)
			}
			res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: sdk.Event{ID: "e1", Type: "page.viewed"}, State: st})
			got := ""
			if len(res.Fires) == 1 {
				got = res.Fires[0].Step + "/" + res.Fires[0].Key
			}
			if res.Err != "" || got != tc.wantFire {
				t.Errorf("result = %+v, want fire %q", res, tc.wantFire)
			}
			if (tc.wantState == "") != (res.State == nil) || !strings.Contains(string(res.State), tc.wantState) {
				t.Errorf("state = %s, want one containing %q", res.State, tc.wantState)
			}
			if !strings.Contains(logs.String(), "condition could not be evaluated; counting the customer as not a member") {
				t.Errorf("log = %q, want a warning", logs.String())
			}
		})
	}
}

func TestNonBoolConditionIsNotMember(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	trig := plugintest.Trigger(t, New(newLogger(&logs)))
	res := evaluateOne(t, trig, map[string]any{"condition": "customer.email"}, sdk.EvaluateItem{Event: sdk.Event{ID: "e", Type: "x"}})
	if len(res.Fires) != 0 || res.State != nil || !strings.Contains(logs.String(), "want a bool") {
		t.Errorf("result = %+v, log %q: want no fire, no state and a warning", res, logs.String())
	}
}

func TestIgnoredEventsKeepState(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	kept := []byte(`{"opaque":true}`)
	for _, tc := range []struct {
		on  []string
		typ string
	}{
		{[]string{"*"}, "timer.fired"},
		{[]string{"order.*"}, "page.viewed"},
	} {
		res := evaluateOne(t, trig, map[string]any{"condition": vip, "on": tc.on}, sdk.EvaluateItem{
			Event: sdk.Event{ID: "e", Type: tc.typ}, Profile: rich(), State: kept,
		})
		if res.Err != "" || len(res.Fires) != 0 || string(res.State) != string(kept) {
			t.Errorf("%s on %v: result = %+v, want no fire and the state handed back", tc.typ, tc.on, res)
		}
	}
}

func TestReevaluationIsIdempotent(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	cfg := map[string]any{"condition": vip}
	item := sdk.EvaluateItem{Event: sdk.Event{ID: "o1", Type: "order.placed"}, Profile: rich()}
	// The host retries a failed batch from the same state: the fire is the
	// same message.
	a := evaluateOne(t, trig, cfg, item)
	b := evaluateOne(t, trig, cfg, item)
	if len(a.Fires) != 1 || len(b.Fires) != 1 || a.Fires[0].Key != b.Fires[0].Key || a.Fires[0].Step != b.Fires[0].Step {
		t.Fatalf("fires = %+v / %+v, want the same single fire twice", a.Fires, b.Fires)
	}
	// A redelivery after the state was stored does not fire at all, and
	// leaves the state as it was.
	item.State = a.State
	c := evaluateOne(t, trig, cfg, item)
	if len(c.Fires) != 0 || string(c.State) != string(a.State) {
		t.Errorf("redelivery = %+v, want no fire and the state unchanged", c)
	}
}

func TestState(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t,
		map[string]any{"condition": vip}), start)
	h.SetProfile(sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: 10}})
	h.Send(sdk.Event{ID: "e1", Type: "order.placed", Customer: jane()})
	if s := h.State(jane()); s != nil {
		t.Errorf("state of a customer never in the segment = %s, want none", s)
	}
	h.Clock.Set(start.Add(time.Hour))
	h.SetProfile(sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: 2000}})
	h.Send(sdk.Event{ID: "e2", Type: "order.placed", Customer: jane()})
	want := `{"member":true,"since":"2026-11-22T11:00:00Z","entered_at":"2026-11-22T11:00:00Z","entries":1,"last_enter_fire":"2026-11-22T11:00:00Z"}`
	if s := string(h.State(jane())); s != want {
		t.Errorf("member state = %s, want %s", s, want)
	}
	h.Clock.Set(start.Add(2 * time.Hour))
	h.SetProfile(sdk.Profile{Customer: jane(), Stats: sdk.Stats{LifetimeValue: 0}})
	h.Send(sdk.Event{ID: "e3", Type: "order.refunded", Customer: jane()})
	want = `{"member":false,"since":"2026-11-22T12:00:00Z","entered_at":"2026-11-22T11:00:00Z","entries":1,"last_enter_fire":"2026-11-22T11:00:00Z"}`
	if s := string(h.State(jane())); s != want {
		t.Errorf("state after leaving = %s, want %s (kept, so that the next entry is the second)", s, want)
	}
}

func TestCorruptState(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"condition": vip}
	tests := []struct {
		name    string
		state   string
		profile sdk.Profile
		want    string // key of the expected fire
		wantLog string
		check   func(t *testing.T, st state)
	}{
		{
			name: "not json, member: enters as entry 1", state: "not json", profile: rich(), want: "enter-1",
			wantLog: "rule state does not decode; starting afresh",
		},
		{
			name: "not json, not a member: state deleted", state: `{"member":"yes"}`,
			wantLog: "rule state does not decode; starting afresh",
		},
		{
			name: "negative entries", state: `{"member":false,"entries":-4}`, profile: rich(), want: "enter-1",
			wantLog: "impossible entry count",
		},
		{
			name: "overflowing entries", state: `{"member":false,"entries":9223372036854775807}`, profile: rich(), want: "enter-1",
			wantLog: "impossible entry count",
		},
		{
			name: "member without entries is repaired", state: `{"member":true,"entries":0}`, profile: rich(),
			check: func(t *testing.T, st state) {
				if !st.Member || st.Entries != 1 {
					t.Errorf("state = %+v, want member with 1 entry", st)
				}
			},
		},
		{
			name:  "a last fire in the future is clamped to now",
			state: `{"member":false,"entries":1,"last_enter_fire":"2099-01-01T00:00:00Z"}`,
			check: func(t *testing.T, st state) {
				if !st.LastEnterFire.Equal(start) {
					t.Errorf("last enter fire = %v, want %v", st.LastEnterFire, start)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			trig := plugintest.Trigger(t, New(newLogger(&logs)))
			res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: sdk.Event{ID: "e", Type: "x"}, Profile: tc.profile, State: []byte(tc.state)})
			if res.Err != "" {
				t.Fatalf("Err = %q, want the item evaluated", res.Err)
			}
			switch {
			case tc.want == "" && len(res.Fires) != 0:
				t.Errorf("fires = %+v, want none", res.Fires)
			case tc.want != "" && (len(res.Fires) != 1 || res.Fires[0].Key != tc.want):
				t.Errorf("fires = %+v, want one keyed %s", res.Fires, tc.want)
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log = %q, want %q", logs.String(), tc.wantLog)
			}
			if tc.check != nil {
				var st state
				if err := json.Unmarshal(res.State, &st); err != nil {
					t.Fatalf("state %s: %v", res.State, err)
				}
				tc.check(t, st)
			} else if tc.want == "" && res.State != nil {
				t.Errorf("state = %s, want none", res.State)
			}
		})
	}
}

func TestEvaluateBatch(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{
			"vip":    plugintest.MustConfig(t, map[string]any{"condition": vip}),
			"big":    plugintest.MustConfig(t, map[string]any{"condition": "customer.lifetime_value >= 10000"}),
			"broken": plugintest.MustConfig(t, map[string]any{"condition": vip, "fire_on": "sometimes"}),
		},
		Items: []sdk.EvaluateItem{
			{Rule: "vip", Event: sdk.Event{ID: "a", Type: "x", Customer: jane()}, Profile: rich(), Now: start},
			{Rule: "big", Event: sdk.Event{ID: "a", Type: "x", Customer: jane()}, Profile: rich(), Now: start},
			{Rule: "broken", Event: sdk.Event{ID: "a", Type: "x", Customer: jane()}, Profile: rich(), Now: start, State: []byte("kept")},
			{Rule: "missing", Event: sdk.Event{ID: "a", Type: "x", Customer: jane()}, Now: start},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Results
	if len(r) != 4 {
		t.Fatalf("results = %+v, want 4", r)
	}
	if len(r[0].Fires) != 1 || r[0].Err != "" {
		t.Errorf("vip: %+v, want a fire", r[0])
	}
	if len(r[1].Fires) != 0 || r[1].Err != "" || r[1].State != nil {
		t.Errorf("big: %+v, want nothing", r[1])
	}
	if !strings.Contains(r[2].Err, "fire_on") || string(r[2].State) != "kept" {
		t.Errorf("broken: %+v, want an error naming fire_on and the state kept", r[2])
	}
	if !strings.Contains(r[3].Err, "no config") {
		t.Errorf("missing: %+v, want an error", r[3])
	}
}

func TestEvaluateCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(hclog.NewNullLogger()).Evaluate(ctx, &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": sdk.RawConfig(`{"condition":"true"}`)},
		Items: []sdk.EvaluateItem{{Rule: "r", Event: sdk.Event{Type: "x"}, Now: start}},
	})
	if err == nil {
		t.Error("Evaluate with a cancelled context succeeded")
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		config      string
		wantPath    string // empty: no diagnostic
		wantWarning bool   // the diagnostic is a warning, not an error
	}{
		{"minimal", `{"condition":"customer.lifetime_value >= 1000"}`, "", false},
		{"all", `{"condition":"customer.orders_count > 2","on":["order.*"],"fire_on":"both","enter_step":"in","leave_step":"out","once":false,"reentry_after":"30d"}`, "", false},
		{"missing condition", `{"on":["*"]}`, "condition", false},
		{"empty condition", `{"condition":""}`, "condition", false},
		{"bad condition", `{"condition":"customer.("}`, "condition", false},
		{"empty on", `{"condition":"true","on":[]}`, "on", false},
		{"empty on entry", `{"condition":"true","on":["order.placed",""]}`, "on[1]", false},
		{"timer.fired in on", `{"condition":"true","on":["timer.fired"]}`, "on[0]", false},
		{"invalid fire_on", `{"condition":"true","fire_on":"sometimes"}`, "fire_on", false},
		{"fire_on is case-sensitive", `{"condition":"true","fire_on":"Enter"}`, "fire_on", false},
		{"empty fire_on", `{"condition":"true","fire_on":""}`, "fire_on", false},
		{"empty enter_step", `{"condition":"true","enter_step":" "}`, "enter_step", false},
		{"empty leave_step", `{"condition":"true","leave_step":""}`, "leave_step", false},
		{"bad reentry_after", `{"condition":"true","reentry_after":"later"}`, "reentry_after", false},
		{"once is a bool", `{"condition":"true","once":"yes"}`, "once", false},
		{"reentry_after with once", `{"condition":"true","once":true,"reentry_after":"7d"}`, "reentry_after", true},
		{"reentry_after with fire_on leave", `{"condition":"true","fire_on":"leave","reentry_after":"7d"}`, "reentry_after", true},
	}
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: sdk.RawConfig(tc.config)})
			if err != nil {
				t.Fatalf("ValidateConfig: %v", err)
			}
			d := resp.Diagnostics
			if tc.wantPath == "" {
				if len(d) != 0 {
					t.Fatalf("diagnostics = %+v, want none", d)
				}
				return
			}
			if len(d) == 0 || d.HasErrors() == tc.wantWarning {
				t.Fatalf("diagnostics = %+v, want one (warning: %v)", d, tc.wantWarning)
			}
			if got := d[0].Path.String(); got != tc.wantPath {
				t.Errorf("path = %q, want %q (%+v)", got, tc.wantPath, d)
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
	if d.Name != "segment" || d.Kind != sdk.KindTrigger || d.Version != "0.1.0" || d.ProtocolVersion != sdk.ProtocolVersion || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]struct {
		typ      sdk.AttrType
		required bool
	}{
		"condition":     {sdk.TypeExpression, true},
		"on":            {sdk.TypeEventTypes, false},
		"fire_on":       {sdk.TypeString, false},
		"enter_step":    {sdk.TypeString, false},
		"leave_step":    {sdk.TypeString, false},
		"once":          {sdk.TypeBool, false},
		"reentry_after": {sdk.TypeDuration, false},
	}
	if len(d.Schema.Attributes) != len(want) || len(d.Schema.Blocks) != 0 {
		t.Fatalf("schema = %+v", d.Schema)
	}
	for _, a := range d.Schema.Attributes {
		w, ok := want[a.Name]
		if !ok || a.Type != w.typ || a.Required != w.required || a.Description == "" {
			t.Errorf("attribute %+v, want %+v with a description", a, w)
		}
	}
}

// FuzzEvaluate feeds arbitrary stored state, traits and event types to
// Evaluate: it must never panic or fail the item, whatever state it
// returns must decode sensibly, and evaluating the same event again from
// that state must not fire.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(nil), "order.placed", []byte(`{"interests":["running"]}`), 1200.0, 0)
	f.Add([]byte(`{"member":true,"entries":3,"last_enter_fire":"2026-11-01T00:00:00Z"}`), "x", []byte(`{"vip":true}`), 10.0, 1)
	f.Add([]byte(`{"member":true,"entries":0}`), "timer.fired", []byte(`null`), 5000.0, 2)
	f.Add([]byte(`{"entries":-1}`), "order.refunded", []byte(`{"interests":"running"}`), -1.0, 3)
	configs := []sdk.RawConfig{
		sdk.RawConfig(`{"condition":"customer.lifetime_value >= 1000","fire_on":"both"}`),
		sdk.RawConfig(`{"condition":"contains(try(customer.traits.interests, []), \"running\")","once":true,"fire_on":"both"}`),
		sdk.RawConfig(`{"condition":"customer.traits.vip == true","fire_on":"leave","on":["order.*"]}`),
		sdk.RawConfig(`{"condition":"customer.lifetime_value > 100","reentry_after":"1d"}`),
	}
	trig := New(hclog.NewNullLogger())
	f.Fuzz(func(t *testing.T, stateBytes []byte, typ string, traitsJSON []byte, ltv float64, rule int) {
		var traits map[string]any
		_ = json.Unmarshal(traitsJSON, &traits)
		cfg := configs[(rule%len(configs)+len(configs))%len(configs)]
		req := &sdk.EvaluateRequest{
			Rules: map[string]sdk.RawConfig{"r": cfg},
			Items: []sdk.EvaluateItem{{
				Rule: "r", Event: sdk.Event{ID: "e", Type: typ, Customer: jane(), Traits: traits},
				Profile: sdk.Profile{Customer: jane(), Traits: traits, Stats: sdk.Stats{LifetimeValue: ltv}},
				State:   stateBytes, Now: start,
			}},
		}
		resp, err := trig.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		if len(resp.Results) != 1 {
			t.Fatalf("%d results, want 1", len(resp.Results))
		}
		res := resp.Results[0]
		if res.Err != "" || len(res.Fires) > 1 {
			t.Fatalf("result = %+v", res)
		}
		if res.State != nil && string(res.State) != string(stateBytes) {
			var st state
			if err := json.Unmarshal(res.State, &st); err != nil {
				t.Fatalf("returned state %s does not decode: %v", res.State, err)
			}
			if st.Entries < 0 || (st.Member && st.Entries < 1) {
				t.Fatalf("returned state %s is inconsistent", res.State)
			}
		}
		req.Items[0].State = res.State
		again, err := trig.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatalf("second Evaluate: %v", err)
		}
		if len(again.Results[0].Fires) != 0 {
			t.Fatalf("the same event fired again from the new state: %+v", again.Results[0].Fires)
		}
	})
}

// FuzzValidateConfig checks that no config, however malformed, panics.
func FuzzValidateConfig(f *testing.F) {
	f.Add([]byte(`{"condition":"customer.lifetime_value >= 1000"}`))
	f.Add([]byte(`{"condition":"true","fire_on":"both","on":null,"once":true,"reentry_after":"1d"}`))
	f.Add([]byte(`7`))
	trig := New(hclog.NewNullLogger())
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: raw})
		if err != nil || resp == nil {
			t.Fatalf("ValidateConfig = %v, %v", resp, err)
		}
	})
}
