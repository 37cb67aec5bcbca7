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

// send is one event of a scenario and the fire it should cause.
type send struct {
	at       time.Duration  // clock, from start
	id       string         // event id
	typ      string         // event type; "product.viewed" if empty
	props    map[string]any // event properties
	occurred time.Duration  // OccurredAt from start; 0 means the clock's time
	want     string         // key of the expected fire; "" for none
}

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

// play sends the events in order through a harness and checks each one's
// fires. It returns the harness for further checks.
func play(t *testing.T, log hclog.Logger, config map[string]any, sends []send) *plugintest.TriggerHarness {
	t.Helper()
	h := plugintest.NewTriggerHarness(t, New(log), "r", plugintest.MustConfig(t, config), start)
	for i, s := range sends {
		h.Clock.Set(start.Add(s.at))
		ev := sdk.Event{ID: s.id, Type: s.typ, Customer: jane(), Properties: s.props}
		if ev.Type == "" {
			ev.Type = "product.viewed"
		}
		if s.occurred != 0 {
			ev.OccurredAt = start.Add(s.occurred)
		}
		fires := h.Send(ev)
		switch {
		case s.want == "" && len(fires) != 0:
			t.Errorf("send %d (%s at %v): fires = %+v, want none", i, s.id, s.at, fires)
		case s.want != "" && len(fires) != 1:
			t.Errorf("send %d (%s at %v): fires = %+v, want one keyed %q", i, s.id, s.at, fires, s.want)
		case s.want != "" && fires[0].Key != s.want:
			t.Errorf("send %d (%s at %v): fire key = %q, want %q", i, s.id, s.at, fires[0].Key, s.want)
		}
	}
	return h
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	views := map[string]any{"on": []string{"product.viewed"}, "count": 3, "within": "1d"}
	with := func(base map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	seconds := func(v any) map[string]any { return map[string]any{"seconds": v} }
	product := func(id string) map[string]any { return map[string]any{"product_id": id} }
	tests := []struct {
		name   string
		config map[string]any
		sends  []send
	}{
		{
			name:   "third view in a day fires once, the fourth is in the cooldown",
			config: views,
			sends: []send{
				{at: 0, id: "v1"},
				{at: 2 * time.Hour, id: "v2"},
				{at: 5 * time.Hour, id: "v3", want: "v3"},
				{at: 6 * time.Hour, id: "v4"},
				{at: 20 * time.Hour, id: "v5"},
			},
		},
		{
			name:   "after the default cooldown a fire needs fresh events",
			config: views,
			sends: []send{
				{at: 0, id: "v1"},
				{at: time.Hour, id: "v2"},
				{at: 5 * time.Hour, id: "v3", want: "v3"},
				{at: 6 * time.Hour, id: "v4"},
				// The cooldown ends at 29h; the window (5h, 29h] holds v4, v5.
				{at: 29 * time.Hour, id: "v5"},
				// (6h, 30h]: v4 has left, exactly a day old.
				{at: 30 * time.Hour, id: "v6"},
				{at: 31 * time.Hour, id: "v7", want: "v7"},
			},
		},
		{
			name:   "a cooldown shorter than the window fires again as soon as it ends",
			config: with(views, "cooldown", "2h"),
			sends: []send{
				{at: 0, id: "v1"},
				{at: time.Hour, id: "v2"},
				{at: 2 * time.Hour, id: "v3", want: "v3"},
				{at: 4*time.Hour - time.Nanosecond, id: "v4"},
				{at: 4 * time.Hour, id: "v5", want: "v5"},
			},
		},
		{
			name:   "cooldown 0s fires on every event at or over the threshold",
			config: with(views, "cooldown", "0s"),
			sends: []send{
				{at: 0, id: "v1"},
				{at: time.Hour, id: "v2"},
				{at: 2 * time.Hour, id: "v3", want: "v3"},
				{at: 3 * time.Hour, id: "v4", want: "v4"},
			},
		},
		{
			name:   "views spread over more than the window never fire",
			config: views,
			sends: []send{
				{at: 0, id: "v1"},
				{at: 12*time.Hour + time.Minute, id: "v2"},
				{at: 24*time.Hour + 2*time.Minute, id: "v3"},
				{at: 36*time.Hour + 3*time.Minute, id: "v4"},
				{at: 48*time.Hour + 4*time.Minute, id: "v5"},
				{at: 60*time.Hour + 5*time.Minute, id: "v6"},
			},
		},
		{
			name:   "an event exactly one window old has left it",
			config: views,
			sends: []send{
				{at: 0, id: "v1"},
				{at: 12 * time.Hour, id: "v2"},
				{at: day, id: "v3"},
			},
		},
		{
			name:   "an event a nanosecond younger than the window still counts",
			config: views,
			sends: []send{
				{at: 0, id: "v1"},
				{at: 12 * time.Hour, id: "v2"},
				{at: day - time.Nanosecond, id: "v3", want: "v3"},
			},
		},
		{
			name:   "other event types are not counted",
			config: views,
			sends: []send{
				{at: 0, id: "v1"},
				{at: time.Minute, id: "o1", typ: "cart.updated"},
				{at: 2 * time.Minute, id: "o2", typ: "product.viewed_twice"},
				{at: 3 * time.Minute, id: "v2"},
				{at: 4 * time.Minute, id: "v3", want: "v3"},
			},
		},
		{
			name:   "prefix pattern counts every type under it",
			config: with(views, "on", []string{"product.*"}),
			sends: []send{
				{at: 0, id: "a", typ: "product.viewed"},
				{at: time.Minute, id: "b", typ: "product.compared"},
				{at: 2 * time.Minute, id: "c", typ: "products.viewed"},
				{at: 3 * time.Minute, id: "d", typ: "product.shared", want: "d"},
			},
		},
		{
			name:   "when filters the counted events",
			config: with(views, "when", "try(event.properties.price, 0) >= 100"),
			sends: []send{
				{at: 0, id: "v1", props: map[string]any{"price": 150.0}},
				{at: time.Minute, id: "v2", props: map[string]any{"price": 20.0}},
				{at: 2 * time.Minute, id: "v3"},
				{at: 3 * time.Minute, id: "v4", props: map[string]any{"price": 100.0}},
				{at: 4 * time.Minute, id: "v5", props: map[string]any{"price": 999.0}, want: "v5"},
			},
		},
		{
			name:   "a redelivered event is counted once",
			config: views,
			sends: []send{
				{at: 0, id: "v1"},
				{at: time.Minute, id: "v1"},
				{at: 2 * time.Minute, id: "v2"},
				{at: 3 * time.Minute, id: "v2"},
				{at: 4 * time.Minute, id: "v3", want: "v3"},
				{at: 5 * time.Minute, id: "v3"},
			},
		},
		{
			name:   "a late event counts at the time it occurred",
			config: views,
			sends: []send{
				// 30h old when it arrives: outside the window, not counted.
				{at: 30 * time.Hour, id: "old", occurred: time.Nanosecond},
				{at: 30 * time.Hour, id: "v1", occurred: 29 * time.Hour},
				// Would be the third if "old" had counted.
				{at: 30 * time.Hour, id: "v2", occurred: 7 * time.Hour},
				{at: 30 * time.Hour, id: "v3", want: "v3"},
			},
		},
		{
			name:   "sum reaching exactly at_least fires",
			config: map[string]any{"on": []string{"page.left"}, "sum": "seconds", "at_least": 300, "within": "1h"},
			sends: []send{
				{at: 0, id: "p1", typ: "page.left", props: seconds(100.0)},
				{at: time.Minute, id: "p2", typ: "page.left", props: seconds(150.0)},
				{at: 2 * time.Minute, id: "p3", typ: "page.left", props: seconds(50.0), want: "p3"},
			},
		},
		{
			name:   "sum just below at_least does not fire",
			config: map[string]any{"on": []string{"page.left"}, "sum": "seconds", "at_least": 300, "within": "1h"},
			sends: []send{
				{at: 0, id: "p1", typ: "page.left", props: seconds(100.0)},
				{at: time.Minute, id: "p2", typ: "page.left", props: seconds(199.99)},
			},
		},
		{
			name: "sum allows for floating-point rounding",
			// 0.7 + 0.1 is 0.7999999999999999 in float64.
			config: map[string]any{"on": []string{"page.left"}, "sum": "seconds", "at_least": 0.8, "within": "1h"},
			sends: []send{
				{at: 0, id: "p1", typ: "page.left", props: seconds(0.7)},
				{at: time.Minute, id: "p2", typ: "page.left", props: seconds(0.1), want: "p2"},
			},
		},
		{
			name:   "sum forgets values that left the window",
			config: map[string]any{"on": []string{"page.left"}, "sum": "seconds", "at_least": 300, "within": "1h"},
			sends: []send{
				{at: 0, id: "p1", typ: "page.left", props: seconds(200.0)},
				{at: time.Hour, id: "p2", typ: "page.left", props: seconds(150.0)},
				{at: time.Hour + time.Minute, id: "p3", typ: "page.left", props: seconds(150.0), want: "p3"},
			},
		},
		{
			name:   "non-numeric and missing sum values are skipped",
			config: map[string]any{"on": []string{"page.left"}, "sum": "seconds", "at_least": 300, "within": "1h"},
			sends: []send{
				{at: 0, id: "p1", typ: "page.left", props: seconds("250")},
				{at: time.Minute, id: "p2", typ: "page.left", props: seconds(true)},
				{at: 2 * time.Minute, id: "p3", typ: "page.left"},
				{at: 3 * time.Minute, id: "p4", typ: "page.left", props: seconds(200.0)},
				{at: 4 * time.Minute, id: "p5", typ: "page.left", props: seconds(100.0), want: "p5"},
			},
		},
		{
			name:   "keys count independently",
			config: map[string]any{"on": []string{"product.viewed"}, "count": 2, "within": "1d", "key": "product_id"},
			sends: []send{
				{at: 0, id: "v1", props: product("p1")},
				{at: time.Hour, id: "v2", props: product("p2")},
				{at: 2 * time.Hour, id: "v3", props: product("p2"), want: "p2/v3"},
				{at: 3 * time.Hour, id: "v4", props: product("p1"), want: "p1/v4"},
				// Both keys are now cooling down, independently of a third.
				{at: 4 * time.Hour, id: "v5", props: product("p1")},
				{at: 5 * time.Hour, id: "v6", props: product("p3")},
				{at: 6 * time.Hour, id: "v7", props: product("p3"), want: "p3/v7"},
			},
		},
		{
			name:   "numeric key values and events without the key",
			config: map[string]any{"on": []string{"product.viewed"}, "count": 2, "within": "1d", "key": "product_id"},
			sends: []send{
				{at: 0, id: "v1", props: map[string]any{"product_id": 42.0}},
				{at: time.Minute, id: "v2"},
				{at: 2 * time.Minute, id: "v3", props: product("")},
				{at: 3 * time.Minute, id: "v4", props: map[string]any{"product_id": map[string]any{"x": 1.0}}},
				{at: 4 * time.Minute, id: "v5", props: map[string]any{"product_id": 42.0}, want: "42/v5"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			play(t, hclog.NewNullLogger(), tc.config, tc.sends)
		})
	}
}

func TestFireData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		props  map[string]any
		want   map[string]any
	}{
		{
			name:   "count per customer",
			config: map[string]any{"on": []string{"product.viewed"}, "count": 2, "within": "1d"},
			want:   map[string]any{"count": 2.0, "key": "", "window": "24h0m0s"},
		},
		{
			name:   "sum per key",
			config: map[string]any{"on": []string{"product.viewed"}, "sum": "seconds", "at_least": 50, "within": "30m", "key": "page"},
			props:  map[string]any{"seconds": 30.0, "page": "/pricing"},
			want:   map[string]any{"count": 2.0, "sum": 60.0, "key": "/pricing", "window": "30m0s"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t, tc.config), start)
			h.Send(sdk.Event{ID: "e1", Type: "product.viewed", Customer: jane(), Properties: tc.props})
			h.Clock.Set(start.Add(time.Minute))
			fires := h.Send(sdk.Event{ID: "e2", Type: "product.viewed", Customer: jane(), Properties: tc.props})
			if len(fires) != 1 {
				t.Fatalf("fires = %+v, want one", fires)
			}
			if fires[0].Step != "default" {
				t.Errorf("step = %q, want default", fires[0].Step)
			}
			got, _ := json.Marshal(fires[0].Data)
			want, _ := json.Marshal(tc.want)
			if string(got) != string(want) {
				t.Errorf("data = %s, want %s", got, want)
			}
		})
	}
}

func TestNamedStep(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t,
		map[string]any{"on": []string{"*"}, "count": 1, "within": "1h", "step": "high_intent"}), start)
	fires := h.Send(sdk.Event{ID: "e1", Type: "page.viewed", Customer: jane()})
	if len(fires) != 1 || fires[0].Step != "high_intent" || fires[0].Key != "e1" {
		t.Errorf("fires = %+v, want step high_intent keyed e1", fires)
	}
}

func TestCustomersAreIndependent(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t,
		map[string]any{"on": []string{"product.viewed"}, "count": 2, "within": "1d"}), start)
	joe := sdk.Customer{ID: "c2"}
	h.Send(sdk.Event{ID: "j1", Type: "product.viewed", Customer: jane()})
	if f := h.Send(sdk.Event{ID: "o1", Type: "product.viewed", Customer: joe}); len(f) != 0 {
		t.Errorf("joe's first view fired: %+v", f)
	}
	if f := h.Send(sdk.Event{ID: "j2", Type: "product.viewed", Customer: jane()}); len(f) != 1 {
		t.Errorf("jane's second view: fires = %+v, want one", f)
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  map[string]any
		props   map[string]any
		wantLog string
	}{
		{
			name:    "when error",
			config:  map[string]any{"on": []string{"*"}, "count": 1, "within": "1h", "when": "event.properties.price > 1"},
			wantLog: "condition could not be evaluated; event not counted: event_id=e1 event_type=x rule=r",
		},
		{
			name:    "non-numeric sum",
			config:  map[string]any{"on": []string{"*"}, "sum": "seconds", "at_least": 1, "within": "1h"},
			props:   map[string]any{"seconds": "12"},
			wantLog: "sum property is not a number; not counted",
		},
		{
			name:    "missing sum",
			config:  map[string]any{"on": []string{"*"}, "sum": "seconds", "at_least": 1, "within": "1h"},
			wantLog: "event has no sum property; not counted",
		},
		{
			name:    "missing key",
			config:  map[string]any{"on": []string{"*"}, "count": 1, "within": "1h", "key": "product_id"},
			wantLog: "event has no key property; not counted",
		},
		{
			name:    "overlong key",
			config:  map[string]any{"on": []string{"*"}, "count": 1, "within": "1h", "key": "product_id"},
			props:   map[string]any{"product_id": strings.Repeat("x", maxKeyLen+1)},
			wantLog: "key property is not a usable identifier",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			h := plugintest.NewTriggerHarness(t, New(newLogger(&logs)), "r", plugintest.MustConfig(t, tc.config), start)
			if f := h.Send(sdk.Event{ID: "e1", Type: "x", Customer: jane(), Properties: tc.props}); len(f) != 0 {
				t.Errorf("fires = %+v, want none", f)
			}
			if s := h.State(jane()); s != nil {
				t.Errorf("state = %s, want none: the event was not counted", s)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log = %q, want it to contain %q", logs.String(), tc.wantLog)
			}
		})
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

func decode(t *testing.T, b []byte) state {
	t.Helper()
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("state %s does not decode: %v", b, err)
	}
	return st
}

func TestIgnoredEventsKeepState(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	cfg := map[string]any{"on": []string{"*"}, "count": 1, "within": "1h", "when": "event.properties.ok == true"}
	kept := []byte(`{"opaque":true}`)
	for _, ev := range []sdk.Event{
		{ID: "t", Type: "timer.fired"},
		{ID: "f", Type: "page.viewed", Properties: map[string]any{"ok": false}},
	} {
		res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: ev, State: kept})
		if res.Err != "" || len(res.Fires) != 0 || string(res.State) != string(kept) {
			t.Errorf("%s: result = %+v, want no fire and the state handed back", ev.Type, res)
		}
	}
}

func TestEventTimes(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	cfg := map[string]any{"on": []string{"*"}, "count": 5, "within": "1d"}
	now := start.Add(10 * time.Hour)
	tests := []struct {
		name     string
		occurred time.Time
		want     time.Time // zero: not counted
	}{
		{"occurred in the window", start.Add(9 * time.Hour), start.Add(9 * time.Hour)},
		{"no occurred time counts now", time.Time{}, now},
		{"occurred in the future counts now", now.Add(time.Hour), now},
		{"occurred before the window", now.Add(-day), time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: sdk.Event{ID: "e", Type: "x", OccurredAt: tc.occurred}, Now: now})
			if tc.want.IsZero() {
				if res.State != nil {
					t.Errorf("state = %s, want none", res.State)
				}
				return
			}
			st := decode(t, res.State)
			if w := st.Keys[""]; w == nil || len(w.Events) != 1 || !w.Events[0].At.Equal(tc.want) || w.Events[0].ID != "e" {
				t.Errorf("state = %s, want one event at %v", res.State, tc.want)
			}
		})
	}
}

func TestStateIsDeletedWhenEmpty(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t,
		map[string]any{"on": []string{"product.viewed"}, "count": 3, "within": "1h"}), start)
	h.Send(sdk.Event{ID: "v1", Type: "product.viewed", Customer: jane()})
	if h.State(jane()) == nil {
		t.Fatal("no state after a counted event")
	}
	// Two hours later the first view has left the window; this one is
	// itself too old to count, so nothing is left to keep.
	h.Clock.Set(start.Add(2 * time.Hour))
	h.Send(sdk.Event{ID: "v2", Type: "product.viewed", Customer: jane(), OccurredAt: start})
	if s := h.State(jane()); s != nil {
		t.Errorf("state = %s, want it deleted", s)
	}
}

func TestCorruptState(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"on": []string{"*"}, "count": 1, "within": "1h"}
	for _, raw := range []string{"not json", `{"keys":[1,2]}`, `{"keys":{"":{"events":[{"at":"yesterday"}]}}}`} {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			trig := plugintest.Trigger(t, New(newLogger(&logs)))
			res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: sdk.Event{ID: "e1", Type: "x"}, State: []byte(raw)})
			if res.Err != "" || len(res.Fires) != 1 || res.Fires[0].Key != "e1" {
				t.Errorf("result = %+v, want a fresh start that fires", res)
			}
			if st := decode(t, res.State); len(st.Keys[""].Events) != 1 {
				t.Errorf("state = %s, want the one new event", res.State)
			}
			if !strings.Contains(logs.String(), "rule state does not decode; starting afresh") {
				t.Errorf("log = %q, want a warning", logs.String())
			}
		})
	}
}

func TestUntrustedStateIsNormalized(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	cfg := map[string]any{"on": []string{"*"}, "count": 3, "within": "1d", "cooldown": "1h"}
	// Unsorted events, a null window, and a fire time ahead of the clock
	// (which must not stretch the cooldown beyond an hour from now).
	raw := fmt.Sprintf(`{"keys":{"":{"events":[{"at":%q,"id":"b"},{"at":%q,"id":"a"}],"last_fire":%q},"x":null}}`,
		start.Add(-time.Hour).Format(time.RFC3339), start.Add(-2*time.Hour).Format(time.RFC3339),
		start.Add(48*time.Hour).Format(time.RFC3339))
	res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: sdk.Event{ID: "c", Type: "x"}, State: []byte(raw)})
	if len(res.Fires) != 0 {
		t.Errorf("fired during the cooldown: %+v", res.Fires)
	}
	st := decode(t, res.State)
	w := st.Keys[""]
	if len(st.Keys) != 1 || w == nil || len(w.Events) != 3 || w.Events[0].ID != "a" || w.Events[1].ID != "b" || w.Events[2].ID != "c" {
		t.Fatalf("state = %s, want keys {\"\"} with events a, b, c in order", res.State)
	}
	if !w.LastFire.Equal(start) {
		t.Errorf("last fire = %v, want it clamped to now %v", w.LastFire, start)
	}
	res = evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: sdk.Event{ID: "d", Type: "x"}, State: res.State, Now: start.Add(time.Hour)})
	if len(res.Fires) != 1 || res.Fires[0].Key != "d" {
		t.Errorf("fires an hour later = %+v, want one keyed d", res.Fires)
	}
}

func TestBounds(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))

	t.Run("events", func(t *testing.T) {
		t.Parallel()
		cfg := map[string]any{"on": []string{"*"}, "count": maxEvents, "within": "30d"}
		var st state
		for i := range maxEvents {
			st.add("", entry{At: start.Add(time.Duration(i) * time.Second), ID: fmt.Sprint("e", i)})
		}
		b, _ := json.Marshal(st)
		now := start.Add(time.Hour)
		res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: sdk.Event{ID: "new", Type: "x"}, State: b, Now: now})
		if len(res.Fires) != 1 {
			t.Errorf("fires = %+v, want one: a full window still reaches count", res.Fires)
		}
		got := decode(t, res.State).Keys[""].Events
		if len(got) != maxEvents || got[0].ID != "e1" || got[len(got)-1].ID != "new" {
			t.Errorf("kept %d events from %s to %s, want %d from e1 to new", len(got), got[0].ID, got[len(got)-1].ID, maxEvents)
		}
	})

	t.Run("keys", func(t *testing.T) {
		t.Parallel()
		cfg := map[string]any{"on": []string{"*"}, "count": 2, "within": "30d", "key": "k"}
		var b []byte
		for i := range maxKeys + 10 {
			res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{
				Event: sdk.Event{ID: fmt.Sprint("e", i), Type: "x", Properties: map[string]any{"k": fmt.Sprint("k", i)}},
				State: b, Now: start.Add(time.Duration(i) * time.Minute),
			})
			b = res.State
		}
		st := decode(t, b)
		if len(st.Keys) != maxKeys {
			t.Fatalf("kept %d keys, want %d", len(st.Keys), maxKeys)
		}
		for i := range 10 {
			if _, ok := st.Keys[fmt.Sprint("k", i)]; ok {
				t.Errorf("key k%d kept; the ten least recently active should have gone", i)
			}
		}
		if _, ok := st.Keys[fmt.Sprint("k", maxKeys+9)]; !ok {
			t.Errorf("newest key missing")
		}
	})

	t.Run("oversized state from storage", func(t *testing.T) {
		t.Parallel()
		cfg := map[string]any{"on": []string{"*"}, "count": 1, "within": "30d", "key": "k", "cooldown": "0s"}
		st := state{Keys: map[string]*window{}}
		for k := range maxKeys * 2 {
			w := &window{}
			for i := range 30 {
				w.Events = append(w.Events, entry{At: start.Add(-time.Duration(k*30+i) * time.Second)})
			}
			st.Keys[fmt.Sprint("k", k)] = w
		}
		b, _ := json.Marshal(st)
		res := evaluateOne(t, trig, cfg, sdk.EvaluateItem{Event: sdk.Event{ID: "e", Type: "x", Properties: map[string]any{"k": "new"}}, State: b})
		got := decode(t, res.State)
		total := 0
		for _, w := range got.Keys {
			total += len(w.Events)
		}
		if len(got.Keys) > maxKeys || total > maxEvents || got.Keys["new"] == nil {
			t.Errorf("kept %d keys and %d events (max %d, %d), new key kept: %v", len(got.Keys), total, maxKeys, maxEvents, got.Keys["new"] != nil)
		}
	})
}

func TestMissingEventID(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "r", plugintest.MustConfig(t,
		map[string]any{"on": []string{"*"}, "count": 1, "within": "1h", "cooldown": "0s"}), start)
	f1 := h.Send(sdk.Event{Type: "x", Customer: jane()})
	h.Clock.Set(start.Add(time.Second))
	f2 := h.Send(sdk.Event{Type: "x", Customer: jane()})
	if len(f1) != 1 || len(f2) != 1 || f1[0].Key == f2[0].Key || f1[0].Key == "" {
		t.Errorf("fires = %+v, %+v: want two with distinct, non-empty keys", f1, f2)
	}
}

func TestEvaluateBatch(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{
			"one":    plugintest.MustConfig(t, map[string]any{"on": []string{"*"}, "count": 1, "within": "1h"}),
			"two":    plugintest.MustConfig(t, map[string]any{"on": []string{"*"}, "count": 2, "within": "1h"}),
			"broken": plugintest.MustConfig(t, map[string]any{"on": []string{"*"}, "within": "1h"}),
		},
		Items: []sdk.EvaluateItem{
			{Rule: "one", Event: sdk.Event{ID: "a", Type: "x", Customer: jane()}, Now: start},
			{Rule: "two", Event: sdk.Event{ID: "a", Type: "x", Customer: jane()}, Now: start},
			{Rule: "broken", Event: sdk.Event{ID: "a", Type: "x", Customer: jane()}, Now: start, State: []byte("kept")},
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
		t.Errorf("one: %+v, want a fire", r[0])
	}
	if len(r[1].Fires) != 0 || r[1].Err != "" || r[1].State == nil {
		t.Errorf("two: %+v, want state and no fire", r[1])
	}
	if !strings.Contains(r[2].Err, "count") || string(r[2].State) != "kept" {
		t.Errorf("broken: %+v, want an error naming count and the state kept", r[2])
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
		Rules: map[string]sdk.RawConfig{"r": sdk.RawConfig(`{"on":["*"],"count":1,"within":"1h"}`)},
		Items: []sdk.EvaluateItem{{Rule: "r", Event: sdk.Event{Type: "x"}, Now: start}},
	})
	if err == nil {
		t.Error("Evaluate with a cancelled context succeeded")
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		config   string
		wantPath string // empty: valid
	}{
		{"count", `{"on":["product.viewed"],"count":3,"within":"1d"}`, ""},
		{"sum", `{"on":["page.left"],"sum":"seconds","at_least":300,"within":"1h"}`, ""},
		{"all", `{"on":["product.*"],"when":"event.properties.price > 1","count":3,"within":"7d","key":"product_id","step":"s","cooldown":"0s"}`, ""},
		{"missing on", `{"count":3,"within":"1d"}`, "on"},
		{"empty on", `{"on":[],"count":3,"within":"1d"}`, "on"},
		{"empty entry", `{"on":["a",""],"count":3,"within":"1d"}`, "on[1]"},
		{"timer.fired", `{"on":["a","timer.fired"],"count":3,"within":"1d"}`, "on[1]"},
		{"missing within", `{"on":["a"],"count":3}`, "within"},
		{"zero within", `{"on":["a"],"count":3,"within":"0s"}`, "within"},
		{"bad within", `{"on":["a"],"count":3,"within":"soon"}`, "within"},
		{"neither count nor sum", `{"on":["a"],"within":"1d"}`, "count"},
		{"count zero", `{"on":["a"],"count":0,"within":"1d"}`, "count"},
		{"count too large", `{"on":["a"],"count":1001,"within":"1d"}`, "count"},
		{"count fractional", `{"on":["a"],"count":2.5,"within":"1d"}`, "count"},
		{"count and sum", `{"on":["a"],"count":3,"sum":"v","at_least":1,"within":"1d"}`, "sum"},
		{"count and at_least", `{"on":["a"],"count":3,"at_least":1,"within":"1d"}`, "at_least"},
		{"sum without at_least", `{"on":["a"],"sum":"v","within":"1d"}`, "sum"},
		{"at_least without sum", `{"on":["a"],"at_least":1,"within":"1d"}`, "at_least"},
		{"empty sum", `{"on":["a"],"sum":"","at_least":1,"within":"1d"}`, "sum"},
		{"zero at_least", `{"on":["a"],"sum":"v","at_least":0,"within":"1d"}`, "at_least"},
		{"negative at_least", `{"on":["a"],"sum":"v","at_least":-5,"within":"1d"}`, "at_least"},
		{"empty key", `{"on":["a"],"count":3,"within":"1d","key":" "}`, "key"},
		{"empty step", `{"on":["a"],"count":3,"within":"1d","step":""}`, "step"},
		{"bad cooldown", `{"on":["a"],"count":3,"within":"1d","cooldown":"-1h"}`, "cooldown"},
		{"bad expression", `{"on":["a"],"count":3,"within":"1d","when":"event.("}`, "when"},
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
			if !d.HasErrors() {
				t.Fatalf("diagnostics = %+v, want an error", d)
			}
			if got := d[0].Path.String(); got != tc.wantPath {
				t.Errorf("path = %q, want %q (%+v)", got, tc.wantPath, d)
			}
		})
	}
}

func TestCooldownDefaultsToWithin(t *testing.T) {
	t.Parallel()
	cfg, resp := decodeConfig(sdk.RawConfig(`{"on":["a"],"count":3,"within":"2d"}`))
	if resp.Diagnostics.HasErrors() || cfg.Cooldown.D() != 2*day {
		t.Errorf("cooldown = %v (%+v), want 48h", cfg.Cooldown.D(), resp.Diagnostics)
	}
	cfg, _ = decodeConfig(sdk.RawConfig(`{"on":["a"],"count":3,"within":"2d","cooldown":"0s"}`))
	if cfg.Cooldown.D() != 0 {
		t.Errorf("explicit cooldown = %v, want 0", cfg.Cooldown.D())
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d, err := plugintest.Trigger(t, New(hclog.NewNullLogger())).Describe(context.Background())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Name != "threshold" || d.Kind != sdk.KindTrigger || d.Version != "0.1.0" || d.ProtocolVersion != sdk.ProtocolVersion || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]struct {
		typ      sdk.AttrType
		required bool
	}{
		"on":       {sdk.TypeEventTypes, true},
		"when":     {sdk.TypeExpression, false},
		"count":    {sdk.TypeNumber, false},
		"sum":      {sdk.TypeString, false},
		"at_least": {sdk.TypeNumber, false},
		"within":   {sdk.TypeDuration, true},
		"key":      {sdk.TypeString, false},
		"step":     {sdk.TypeString, false},
		"cooldown": {sdk.TypeDuration, false},
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

// FuzzEvaluate feeds arbitrary stored state and event data to Evaluate: it
// must never panic or fail the item, and whatever state it returns must
// decode and stay within bounds.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(nil), "product.viewed", []byte(`{"product_id":"p1","seconds":12}`), "e1", int64(0), true)
	f.Add([]byte(`{"keys":{"p1":{"events":[{"at":"2026-11-22T09:00:00Z","v":3,"id":"e0"}],"last_fire":"2026-11-22T08:00:00Z"}}}`),
		"product.viewed", []byte(`{"product_id":"p1","seconds":300}`), "e2", int64(-time.Hour), false)
	f.Add([]byte(`{"keys":{"":null}}`), "timer.fired", []byte(`null`), "", int64(time.Hour), true)
	f.Add([]byte(`not json`), "x", []byte(`{"product_id":[1,2],"seconds":"1"}`), "e3", int64(-48*time.Hour), false)
	configs := []sdk.RawConfig{
		sdk.RawConfig(`{"on":["*"],"count":2,"within":"1d","key":"product_id","cooldown":"1h"}`),
		sdk.RawConfig(`{"on":["product.*"],"sum":"seconds","at_least":100,"within":"1h"}`),
	}
	trig := New(hclog.NewNullLogger())
	f.Fuzz(func(t *testing.T, stateBytes []byte, typ string, props []byte, id string, offset int64, summing bool) {
		var properties map[string]any
		_ = json.Unmarshal(props, &properties)
		rule := configs[0]
		if summing {
			rule = configs[1]
		}
		ev := sdk.Event{ID: id, Type: typ, Customer: jane(), Properties: properties, OccurredAt: start.Add(time.Duration(offset))}
		req := &sdk.EvaluateRequest{
			Rules: map[string]sdk.RawConfig{"r": rule},
			Items: []sdk.EvaluateItem{{Rule: "r", Event: ev, State: stateBytes, Now: start}},
		}
		resp, err := trig.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		if len(resp.Results) != 1 {
			t.Fatalf("%d results, want 1", len(resp.Results))
		}
		res := resp.Results[0]
		if res.Err != "" || len(res.Fires) > 1 || len(res.SetTimers) != 0 {
			t.Fatalf("result = %+v", res)
		}
		if res.State == nil || string(res.State) == string(stateBytes) {
			return
		}
		var st state
		if err := json.Unmarshal(res.State, &st); err != nil {
			t.Fatalf("returned state %s does not decode: %v", res.State, err)
		}
		total := 0
		for _, w := range st.Keys {
			total += len(w.Events)
		}
		if len(st.Keys) > maxKeys || total > maxEvents {
			t.Fatalf("state holds %d keys and %d events", len(st.Keys), total)
		}
		// Evaluating again from the new state must work too.
		req.Items[0].State = res.State
		req.Items[0].Now = start.Add(time.Minute)
		if _, err := trig.Evaluate(context.Background(), req); err != nil {
			t.Fatalf("second Evaluate: %v", err)
		}
	})
}

// FuzzValidateConfig checks that no config, however malformed, panics.
func FuzzValidateConfig(f *testing.F) {
	f.Add([]byte(`{"on":["a"],"count":3,"within":"1d"}`))
	f.Add([]byte(`{"on":["a"],"sum":"v","at_least":1,"within":"1d","cooldown":null}`))
	f.Add([]byte(`[]`))
	trig := New(hclog.NewNullLogger())
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: raw})
		if err != nil || resp == nil {
			t.Fatalf("ValidateConfig = %v, %v", resp, err)
		}
	})
}
