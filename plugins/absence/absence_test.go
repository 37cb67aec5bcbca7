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

func jane() sdk.Customer { return sdk.Customer{ID: "c1", Email: "jane@example.com"} }
func john() sdk.Customer { return sdk.Customer{ID: "c2", Email: "john@example.com"} }

// abandonedCheckout is the config of the README's abandoned checkout rule:
// a first reminder after 1h and a second, with an incentive, after 24h.
func abandonedCheckout() map[string]any {
	return map[string]any{
		"start":  []string{"checkout.updated"},
		"cancel": []string{"order.placed"},
		"key":    "checkout_id",
		"wait":   "1h",
		"step":   "reminder_1",
		"reminder": []map[string]any{
			{"step": "reminder_2", "after": "24h"},
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
	return plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "abandoned", plugintest.MustConfig(t, cfg), start)
}

// checkout is a checkout.updated event for jane; id is the event id.
func checkout(id, checkoutID string, value float64) sdk.Event {
	return sdk.Event{ID: id, Type: "checkout.updated", Customer: jane(), Properties: map[string]any{
		"checkout_id": checkoutID, "value": value,
		"items": []any{map[string]any{"title": "Socks", "quantity": 2.0}},
	}}
}

func order(id, checkoutID string) sdk.Event {
	ev := sdk.Event{ID: id, Type: "order.placed", Customer: jane(), Properties: map[string]any{"value": 25.0}}
	if checkoutID != "" {
		ev.Properties["checkout_id"] = checkoutID
	}
	return ev
}

// advanceTo moves the clock to start+d, firing the timers due on the way.
func advanceTo(h *plugintest.TriggerHarness, d time.Duration) []sdk.Fire {
	return h.Advance(start.Add(d).Sub(h.Clock.Now()))
}

// fired lists every fire the harness saw as "step key @offset".
func fired(h *plugintest.TriggerHarness) []string {
	out := []string{}
	for _, f := range h.Fires {
		out = append(out, fmt.Sprintf("%s %s @%s", f.Step, f.Key, f.At.Sub(start)))
	}
	return out
}

func wantFired(t *testing.T, h *plugintest.TriggerHarness, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := fired(h); !slices.Equal(got, want) {
		t.Errorf("fires:\n got  %q\n want %q", got, want)
	}
}

func TestAbandonedCheckout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
		// play sends events; the test then advances to 72h.
		play func(t *testing.T, h *plugintest.TriggerHarness)
		want []string
	}{
		{
			name:   "first reminder after exactly 1h, not at 59m59s, then the second at 24h",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				if f := advanceTo(h, time.Hour-time.Second); len(f) != 0 {
					t.Errorf("fires at 59m59s = %+v, want none", f)
				}
				if f := advanceTo(h, time.Hour); len(f) != 1 {
					t.Errorf("fires at 1h = %+v, want one", f)
				}
			},
			want: []string{"reminder_1 ch1/ev1 @1h0m0s", "reminder_2 ch1/ev1 @24h0m0s"},
		},
		{
			name:   "an order at 59 min: no reminder at all",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 59*time.Minute)
				h.Send(order("o1", "ch1"))
			},
		},
		{
			name:   "an order at 61 min, after the first reminder, cancels the second",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 61*time.Minute)
				h.Send(order("o1", "ch1"))
			},
			want: []string{"reminder_1 ch1/ev1 @1h0m0s"},
		},
		{
			name:   "a checkout update at 30 min pushes the reminders to 1h30 and 24h30",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 30*time.Minute)
				h.Send(checkout("ev2", "ch1", 45))
				if f := advanceTo(h, 90*time.Minute-time.Second); len(f) != 0 {
					t.Errorf("fires before 1h30 = %+v, want none", f)
				}
			},
			want: []string{"reminder_1 ch1/ev1 @1h30m0s", "reminder_2 ch1/ev1 @24h30m0s"},
		},
		{
			name:   "an update after the first reminder pushes only the second back",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 2*time.Hour)
				h.Send(checkout("ev2", "ch1", 30)) // back from the reminder's link
			},
			want: []string{"reminder_1 ch1/ev1 @1h0m0s", "reminder_2 ch1/ev1 @26h0m0s"},
		},
		{
			name:   "restart = false keeps the first deadline",
			config: with(abandonedCheckout(), "restart", false),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 30*time.Minute)
				h.Send(checkout("ev2", "ch1", 45))
			},
			want: []string{"reminder_1 ch1/ev1 @1h0m0s", "reminder_2 ch1/ev1 @24h0m0s"},
		},
		{
			name:   "two checkouts are independent",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 20*time.Minute)
				h.Send(checkout("ev2", "ch2", 50))
				advanceTo(h, 40*time.Minute)
				h.Send(order("o1", "ch1"))
				advanceTo(h, 25*time.Hour)
				h.Send(order("o2", "ch2"))
			},
			want: []string{"reminder_1 ch2/ev2 @1h20m0s", "reminder_2 ch2/ev2 @24h20m0s"},
		},
		{
			name:   "two customers are independent",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				ev := checkout("ev2", "ch1", 30)
				ev.Customer = john()
				h.Send(ev)
				advanceTo(h, 30*time.Minute)
				h.Send(order("o1", "ch1")) // jane's order
			},
			want: []string{"reminder_1 ch1/ev2 @1h0m0s", "reminder_2 ch1/ev2 @24h0m0s"},
		},
		{
			name:   "a redelivered start event does not fire or push anything again",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				ev := checkout("ev1", "ch1", 30)
				ev.OccurredAt = start
				h.Send(ev)
				advanceTo(h, 70*time.Minute)
				h.Send(ev)
				restamped := ev
				restamped.OccurredAt = time.Time{} // received again without a vendor time: stamped now
				h.Send(restamped)
				advanceTo(h, 30*time.Hour)
				h.Send(ev)
				h.Send(restamped)
			},
			want: []string{"reminder_1 ch1/ev1 @1h0m0s", "reminder_2 ch1/ev1 @24h0m0s"},
		},
		{
			name:   "the opening and the last start events, redelivered after an update, do not push the clock",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 30*time.Minute)
				h.Send(checkout("ev2", "ch1", 45))
				advanceTo(h, 45*time.Minute)
				h.Send(checkout("ev1", "ch1", 30)) // stamped 45m
				h.Send(checkout("ev2", "ch1", 45)) // stamped 45m
			},
			want: []string{"reminder_1 ch1/ev1 @1h30m0s", "reminder_2 ch1/ev1 @24h30m0s"},
		},
		{
			name:   "a start event that occurred before the order but arrives after it is ignored",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				advanceTo(h, 10*time.Minute)
				h.Send(order("o1", "ch1"))
				late := checkout("ev1", "ch1", 30)
				late.OccurredAt = start.Add(9 * time.Minute)
				h.Send(late)
			},
		},
		{
			name:   "a start event older than the clock's last one changes nothing",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				advanceTo(h, 30*time.Minute)
				h.Send(checkout("ev2", "ch1", 30))
				late := checkout("ev1", "ch1", 30)
				late.OccurredAt = start
				h.Send(late)
			},
			want: []string{"reminder_1 ch1/ev2 @1h30m0s", "reminder_2 ch1/ev2 @24h30m0s"},
		},
		{
			name:   "a start event that arrives late: steps from when it occurred, only the latest overdue one fires",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				advanceTo(h, 30*time.Hour)
				late := checkout("ev1", "ch1", 30)
				late.OccurredAt = start
				h.Send(late)
			},
			want: []string{"reminder_2 ch1/ev1 @30h0m0s"},
		},
		{
			name:   "a new checkout after a completed one is reminded again",
			config: with(abandonedCheckout(), "key", nil, "reminder", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 10*time.Minute)
				h.Send(order("o1", ""))
				advanceTo(h, 20*time.Minute)
				h.Send(checkout("ev2", "ch2", 30))
			},
			want: []string{"reminder_1 ev2 @1h20m0s"},
		},
		{
			name:   "without key, any cancel event stops the customer's clock",
			config: with(abandonedCheckout(), "key", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				h.Send(checkout("ev2", "ch2", 30)) // same clock
				advanceTo(h, 2*time.Hour)
				h.Send(order("o1", "ch9"))
			},
			want: []string{"reminder_1 ev1 @1h0m0s"},
		},
		{
			name:   "all steps fired: a later update starts a new round",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 30*time.Hour)
				h.Send(checkout("ev2", "ch1", 30))
			},
			want: []string{
				"reminder_1 ch1/ev1 @1h0m0s", "reminder_2 ch1/ev1 @24h0m0s",
				"reminder_1 ch1/ev2 @31h0m0s", "reminder_2 ch1/ev2 @54h0m0s",
			},
		},
		{
			name:   "a cancel event without the key stops no clock by default",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				advanceTo(h, 10*time.Minute)
				h.Send(order("o1", ""))
			},
			want: []string{"reminder_1 ch1/ev1 @1h0m0s", "reminder_2 ch1/ev1 @24h0m0s"},
		},
		{
			name:   "cancel_any: a cancel event without the key stops every clock, and earlier starts stay stopped",
			config: with(abandonedCheckout(), "cancel_any", true),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				h.Send(checkout("ev2", "ch2", 30))
				advanceTo(h, 10*time.Minute)
				h.Send(order("o1", ""))
				late := checkout("ev3", "ch3", 30)
				late.OccurredAt = start.Add(5 * time.Minute)
				h.Send(late)
			},
		},
		{
			name:   "cancel_any: a cancel event with the key still stops only its clock",
			config: with(abandonedCheckout(), "cancel_any", true, "reminder", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 30))
				h.Send(checkout("ev2", "ch2", 30))
				advanceTo(h, 10*time.Minute)
				h.Send(order("o1", "ch1"))
			},
			want: []string{"reminder_1 ch2/ev2 @1h0m0s"},
		},
		{
			name:   "when: an empty cart does not start the clock, and emptying it stops it",
			config: with(abandonedCheckout(), "when", "try(event.properties.value, 0) > 0", "reminder", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(checkout("ev1", "ch1", 0))
				h.Send(checkout("ev2", "ch2", 10))
				advanceTo(h, 10*time.Minute)
				h.Send(checkout("ev3", "ch2", 0))
				advanceTo(h, 20*time.Minute)
				h.Send(checkout("ev4", "ch3", 10))
			},
			want: []string{"reminder_1 ch3/ev4 @1h20m0s"},
		},
		{
			name:   "a start event without the key property is ignored",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				ev := checkout("ev1", "", 30)
				delete(ev.Properties, "checkout_id")
				h.Send(ev)
			},
		},
		{
			name:   "numeric keys: a start and a cancel correlate through a number",
			config: abandonedCheckout(),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				ev := checkout("ev1", "", 30)
				ev.Properties["checkout_id"] = 12345.0
				h.Send(ev)
				ev2 := checkout("ev2", "", 30)
				ev2.Properties["checkout_id"] = 678.0
				h.Send(ev2)
				o := order("o1", "")
				o.Properties["checkout_id"] = 12345.0
				h.Send(o)
			},
			want: []string{"reminder_1 678/ev2 @1h0m0s", "reminder_2 678/ev2 @24h0m0s"},
		},
		{
			name: "patterns: cart.* starts, an explicit cancel type wins over the pattern",
			config: map[string]any{
				"start": []string{"cart.*"}, "cancel": []string{"cart.emptied", "order.*"}, "wait": "2h",
			},
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(sdk.Event{ID: "e1", Type: "cart.updated", Customer: jane()})
				advanceTo(h, time.Hour)
				h.Send(sdk.Event{ID: "e2", Type: "cart.emptied", Customer: jane()})
				advanceTo(h, 2*time.Hour)
				h.Send(sdk.Event{ID: "e3", Type: "cart.item_added", Customer: jane()})
				h.Send(sdk.Event{ID: "e4", Type: "page.viewed", Customer: jane()}) // neither
			},
			want: []string{"default e3 @4h0m0s"},
		},
		{
			name:   "timer.fired is neither a start nor a cancel event",
			config: with(abandonedCheckout(), "start", []string{"*"}, "cancel", []string{"order.placed"}, "key", nil, "reminder", nil),
			play: func(t *testing.T, h *plugintest.TriggerHarness) {
				h.Send(sdk.Event{ID: "e1", Type: "page.viewed", Customer: jane()})
			},
			// The timer that fires is not taken for a new start event:
			// one fire, no loop.
			want: []string{"reminder_1 e1 @1h0m0s"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := harness(t, tc.config)
			tc.play(t, h)
			advanceTo(h, 72*time.Hour)
			wantFired(t, h, tc.want...)
		})
	}
}

func TestFireData(t *testing.T) {
	t.Parallel()
	h := harness(t, abandonedCheckout())
	h.Send(checkout("ev1", "ch1", 30))
	advanceTo(h, 30*time.Minute)
	h.Send(checkout("ev2", "ch1", 45))
	fires := advanceTo(h, 2*time.Hour)
	if len(fires) != 1 {
		t.Fatalf("fires = %+v, want one", fires)
	}
	got, _ := json.Marshal(fires[0])
	want := `{"step":"reminder_1","data":{"event_id":"ev2","key":"ch1","properties":{"checkout_id":"ch1","items":[{"quantity":2,"title":"Socks"}],"value":45},` +
		`"started_at":"2026-11-22T10:00:00Z","step":"reminder_1","updated_at":"2026-11-22T10:30:00Z"},"key":"ch1/ev1"}`
	if string(got) != want {
		t.Errorf("fire:\n got  %s\n want %s", got, want)
	}
}

func TestTimersAndStateLifecycle(t *testing.T) {
	t.Parallel()
	h := harness(t, abandonedCheckout())
	h.Send(checkout("ev1", "ch1", 30))
	h.Send(checkout("ev2", "ch2", 30))
	timerIDs := func() []string {
		var ids []string
		for _, tm := range h.Timers(jane()) {
			ids = append(ids, tm.ID+"@"+tm.At.Sub(start).String())
		}
		slices.Sort(ids) // timers due at the same time come in no set order
		return ids
	}
	if got, want := timerIDs(), []string{"clock:ch1@1h0m0s", "clock:ch2@1h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("timers = %v, want %v", got, want)
	}
	advanceTo(h, 30*time.Minute)
	h.Send(order("o1", "ch1"))
	if got, want := timerIDs(), []string{"clock:ch2@1h0m0s", "gc@48h30m0s"}; !slices.Equal(got, want) {
		t.Errorf("timers after the order = %v, want %v", got, want)
	}
	advanceTo(h, 2*time.Hour)
	if got, want := timerIDs(), []string{"clock:ch2@24h0m0s", "gc@48h30m0s"}; !slices.Equal(got, want) {
		t.Errorf("timers after the first reminder = %v, want %v", got, want)
	}
	// Unrelated events hand the state back byte for byte.
	before := string(h.State(jane()))
	h.Send(sdk.Event{ID: "pv", Type: "page.viewed", Customer: jane()})
	if got := string(h.State(jane())); got != before {
		t.Errorf("state changed on an unrelated event:\n%s\n%s", before, got)
	}
	advanceTo(h, 25*time.Hour)
	if h.State(jane()) == nil {
		t.Fatal("state deleted while closed clocks should be remembered")
	}
	// Once every closed clock is forgotten, nothing is left.
	advanceTo(h, 25*time.Hour+ClosedTTL)
	if st, tm := h.State(jane()), h.Timers(jane()); st != nil || len(tm) != 0 {
		t.Errorf("state = %s, timers = %+v; want both gone", st, tm)
	}
}

func TestOpenClocksAreCapped(t *testing.T) {
	t.Parallel()
	h := harness(t, with(abandonedCheckout(), "reminder", nil))
	for i := range MaxOpen + 1 {
		advanceTo(h, time.Duration(i)*time.Second)
		h.Send(checkout(fmt.Sprint("ev", i), fmt.Sprint("ch", i), 30))
	}
	if n := len(h.Timers(jane())); n != MaxOpen {
		t.Errorf("%d timers, want %d", n, MaxOpen)
	}
	advanceTo(h, 2*time.Hour)
	if len(h.Fires) != MaxOpen {
		t.Fatalf("%d fires, want %d", len(h.Fires), MaxOpen)
	}
	for _, f := range h.Fires {
		if f.Key == "ch0/ev0" {
			t.Errorf("the oldest checkout fired although it was dropped")
		}
	}
}

func TestLongKeysAreHashed(t *testing.T) {
	t.Parallel()
	h := harness(t, with(abandonedCheckout(), "reminder", nil))
	long := strings.Repeat("x", MaxKeyLen+1)
	h.Send(checkout("ev1", long, 30))
	fires := advanceTo(h, time.Hour)
	if len(fires) != 1 || !strings.HasPrefix(fires[0].Key, "sha256:") || len(fires[0].Key) != len("sha256:")+64+len("/ev1") {
		t.Fatalf("fires = %+v, want one keyed by the key's digest", fires)
	}
	other := strings.Repeat("x", MaxKeyLen) + "y"
	h.Send(order("o1", other))
	h.Send(checkout("ev2", long, 30))
	h.Send(order("o2", long))
	if f := advanceTo(h, 3*time.Hour); len(f) != 0 {
		t.Errorf("fires = %+v, want the long key's clock cancelled by its order", f)
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
	cfg := with(abandonedCheckout(), "reminder", nil)
	timerEv := sdk.Event{ID: "t", Type: timerFired, Customer: jane()}
	tests := []struct {
		name       string
		state      string
		event      sdk.Event
		now        time.Time
		wantFires  []string // step/key
		wantState  string   // substring of the new state; "" for none
		wantCancel []string
		wantLog    string
	}{
		{
			name:      "corrupt state: warned, and a start event starts afresh",
			state:     `{"clocks": [`,
			event:     checkout("ev1", "ch1", 30),
			wantState: `"open":"ev1"`,
			wantLog:   "rule state does not decode; starting afresh",
		},
		{
			name:    "corrupt state: a timer fires nothing and the state is deleted",
			state:   `not json`,
			event:   timerEv,
			wantLog: "rule state does not decode",
		},
		{
			name:      "state of another shape decodes to nothing",
			state:     `{"clocks": {"a": 1}}`,
			event:     timerEv,
			wantLog:   "rule state does not decode",
			wantFires: nil,
		},
		{
			name: "clocks the config cannot use are dropped and their timers cancelled",
			state: `{"clocks":[` +
				`{"key":"a","open":"e1","since":"2026-11-22T09:00:00Z","next":7},` + // step out of range
				`{"key":"","open":"e2","since":"2026-11-22T09:00:00Z"},` + // no key, but the rule has one
				`{"key":"b","open":"","since":"2026-11-22T09:00:00Z"},` + // no opening id
				`{"key":"c","open":"e3","since":"2026-11-22T09:00:00Z"},` +
				`{"key":"c","open":"e4","since":"2026-11-22T08:00:00Z"}]}`, // second clock of a key
			event:      timerEv,
			wantFires:  []string{"reminder_1/c/e3"},
			wantCancel: []string{"clock:", "clock:a", "clock:b", "clock:c"},
			wantState:  `{"closed":[{"key":"c","at":"0001-01-01T00:00:00Z","until"`,
		},
		{
			name:      "a timer before a clock is due re-arms it and fires nothing",
			state:     `{"clocks":[{"key":"a","open":"e1","last_at":"2026-11-22T09:30:00Z","since":"2026-11-22T09:30:00Z"}]}`,
			event:     timerEv,
			wantState: `"open":"e1"`,
		},
		{
			name:      "expired closed clocks are forgotten",
			state:     `{"closed":[{"key":"a","at":"2026-11-20T09:00:00Z","until":"2026-11-22T09:00:00Z"}]}`,
			event:     order("o1", "zz"),
			wantState: `{"closed":[{"key":"zz","at":"2026-11-22T10:00:00Z"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			trig := plugintest.Trigger(t, New(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})))
			res := evaluate(t, trig, cfg, sdk.EvaluateItem{Event: tc.event, State: []byte(tc.state), Now: tc.now})
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
			cancel := slices.Sorted(slices.Values(res.CancelTimers))
			if !slices.Equal(cancel, tc.wantCancel) {
				t.Errorf("cancelled timers = %v, want %v", cancel, tc.wantCancel)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log = %q, want it to contain %q", logs.String(), tc.wantLog)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  map[string]any
		event   sdk.Event
		state   string
		wantLog string
	}{
		{
			name:    "start event without the key",
			config:  abandonedCheckout(),
			event:   sdk.Event{ID: "e1", Type: "checkout.updated", Customer: jane()},
			wantLog: "start event does not carry the key property; ignoring it: event_id=e1 event_type=checkout.updated rule=r key=checkout_id",
		},
		{
			name:    "cancel event without the key while clocks run",
			config:  abandonedCheckout(),
			event:   order("o1", ""),
			state:   `{"clocks":[{"key":"a","open":"e1","last_at":"2026-11-22T09:30:00Z","since":"2026-11-22T09:30:00Z"}]}`,
			wantLog: "cancel event does not carry the key property, and cancel_any is false",
		},
		{
			name:    "condition that does not evaluate",
			config:  with(abandonedCheckout(), "when", "event.properties.missing > 0"),
			event:   checkout("e1", "ch1", 1),
			wantLog: "condition could not be evaluated; treating it as not met",
		},
		{
			name:   "properties too large to keep",
			config: abandonedCheckout(),
			event: sdk.Event{ID: "e1", Type: "checkout.updated", Customer: jane(), Properties: map[string]any{
				"checkout_id": "ch1", "blob": strings.Repeat("x", MaxPropertiesBytes),
			}},
			wantLog: "start event properties are too large to keep",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			trig := plugintest.Trigger(t, New(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})))
			res := evaluate(t, trig, tc.config, sdk.EvaluateItem{Event: tc.event, State: []byte(tc.state)})
			if res.Err != "" {
				t.Fatalf("Result.Err = %q", res.Err)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log = %q, want it to contain %q", logs.String(), tc.wantLog)
			}
		})
	}
}

func TestLargePropertiesFireWithout(t *testing.T) {
	t.Parallel()
	h := harness(t, with(abandonedCheckout(), "reminder", nil))
	h.Send(sdk.Event{ID: "e1", Type: "checkout.updated", Customer: jane(), Properties: map[string]any{
		"checkout_id": "ch1", "blob": strings.Repeat("x", MaxPropertiesBytes),
	}})
	fires := advanceTo(h, time.Hour)
	if len(fires) != 1 || fires[0].Data["properties"] != nil || fires[0].Data["key"] != "ch1" {
		t.Fatalf("fires = %+v, want one with the key and no properties", fires)
	}
	if n := len(h.State(jane())); n > 1024 {
		t.Errorf("state is %d bytes: the large properties were kept", n)
	}
}

func TestConfigChangeReschedules(t *testing.T) {
	t.Parallel()
	// A clock set under one config fires by the config of the moment: a
	// timer that comes due before the (now later) step re-arms itself.
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	res := evaluate(t, trig, abandonedCheckout(), sdk.EvaluateItem{Event: checkout("ev1", "ch1", 30)})
	later := with(abandonedCheckout(), "wait", "3h")
	res = evaluate(t, trig, later, sdk.EvaluateItem{
		Event: sdk.Event{ID: "t", Type: timerFired, Customer: jane()}, State: res.State, Now: start.Add(time.Hour),
		Timer: &sdk.Timer{ID: "clock:ch1", At: start.Add(time.Hour)},
	})
	if len(res.Fires) != 0 || len(res.SetTimers) != 1 || !res.SetTimers[0].At.Equal(start.Add(3*time.Hour)) {
		t.Fatalf("result = %+v, want no fire and the timer moved to 3h", res)
	}
}

func TestEvaluateBatch(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{
			"cart":   plugintest.MustConfig(t, abandonedCheckout()),
			"broken": plugintest.MustConfig(t, with(abandonedCheckout(), "wait", "0s")),
		},
		Items: []sdk.EvaluateItem{
			{Rule: "cart", Event: checkout("a", "ch1", 1), Now: start},
			{Rule: "broken", Event: checkout("b", "ch1", 1), Now: start, State: []byte("kept")},
			{Rule: "missing", Event: checkout("c", "ch1", 1), Now: start},
			{Rule: "cart", Event: sdk.Event{ID: "d", Type: "page.viewed", Customer: jane()}, Now: start, State: []byte("x")},
		},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 4 {
		t.Fatalf("%d results, want 4", len(resp.Results))
	}
	if r := resp.Results[0]; r.Err != "" || len(r.SetTimers) != 1 || r.State == nil {
		t.Errorf("item 0 = %+v, want a clock started", r)
	}
	if r := resp.Results[1]; !strings.Contains(r.Err, `rule "broken" is invalid: wait:`) || string(r.State) != "kept" {
		t.Errorf("item 1 = %+v, want an error naming wait, state kept", r)
	}
	if r := resp.Results[2]; !strings.Contains(r.Err, `no config for rule "missing"`) {
		t.Errorf("item 2 = %+v, want an error", r)
	}
	if r := resp.Results[3]; r.Err != "" || string(r.State) != "x" || len(r.SetTimers)+len(r.CancelTimers) != 0 {
		t.Errorf("item 3 = %+v, want the state handed back untouched", r)
	}
}

func TestEvaluateCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(hclog.NewNullLogger()).Evaluate(ctx, &sdk.EvaluateRequest{
		Items: []sdk.EvaluateItem{{Rule: "r", Event: checkout("a", "ch1", 1)}},
	})
	if err == nil {
		t.Fatal("Evaluate with a cancelled ctx returned no error")
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	base := `"start":["checkout.updated"],"cancel":["order.placed"],"wait":"1h"`
	tests := []struct {
		name      string
		config    string
		wantPaths []string // empty: valid
		warning   bool     // the only diagnostic is a warning
	}{
		{"valid", `{` + base + `}`, nil, false},
		{"valid with all", `{` + base + `,"key":"checkout_id","cancel_any":true,"step":"r1","restart":false,` +
			`"when":"event.properties.value > 0","reminder":[{"step":"r2","after":"24h"},{"step":"r3","after":"3d"}]}`, nil, false},
		{"start pattern and a cancel type under it", `{"start":["cart.*"],"cancel":["cart.emptied"],"wait":"1h"}`, nil, false},
		{"missing start", `{"cancel":["order.placed"],"wait":"1h"}`, []string{"start"}, false},
		{"empty start", `{"start":[],"cancel":["order.placed"],"wait":"1h"}`, []string{"start"}, false},
		{"empty start entry", `{"start":["a",""],"cancel":["order.placed"],"wait":"1h"}`, []string{"start[1]"}, false},
		{"timer.fired as start", `{"start":["timer.fired"],"cancel":["order.placed"],"wait":"1h"}`, []string{"start[0]"}, false},
		{"missing cancel", `{"start":["a"],"wait":"1h"}`, []string{"cancel"}, false},
		{"empty cancel", `{"start":["a"],"cancel":[],"wait":"1h"}`, []string{"cancel"}, false},
		{"timer.fired as cancel", `{"start":["a"],"cancel":["x"," ","timer.fired"],"wait":"1h"}`, []string{"cancel[1]", "cancel[2]"}, false},
		{"cancel repeats a start type", `{"start":["a","b"],"cancel":["x","b"],"wait":"1h"}`, []string{"cancel[1]"}, false},
		{"cancel pattern covers a start type", `{"start":["checkout.updated"],"cancel":["checkout.*"],"wait":"1h"}`, []string{"cancel[0]"}, false},
		{"cancel star covers a start type", `{"start":["checkout.updated"],"cancel":["*"],"wait":"1h"}`, []string{"cancel[0]"}, false},
		{"missing wait", `{"start":["a"],"cancel":["b"]}`, []string{"wait"}, false},
		{"zero wait", `{"start":["a"],"cancel":["b"],"wait":"0s"}`, []string{"wait"}, false},
		{"bad wait", `{"start":["a"],"cancel":["b"],"wait":"soon"}`, []string{"wait"}, false},
		{"empty step", `{` + base + `,"step":" "}`, []string{"step"}, false},
		{"blank key", `{` + base + `,"key":"  "}`, []string{"key"}, false},
		{"cancel_any without key", `{` + base + `,"cancel_any":true}`, []string{"cancel_any"}, true},
		{"bad expression", `{` + base + `,"when":"event.("}`, []string{"when"}, false},
		{"reminder not after wait", `{` + base + `,"reminder":[{"step":"r2","after":"1h"}]}`, []string{"reminder[0].after"}, false},
		{"reminders out of order", `{` + base + `,"reminder":[{"step":"r2","after":"2d"},{"step":"r3","after":"1d"}]}`, []string{"reminder[1].after"}, false},
		{"reminder reuses the first step", `{` + base + `,"reminder":[{"step":"default","after":"2h"}]}`, []string{"reminder[0].step"}, false},
		{"reminders share a step", `{` + base + `,"reminder":[{"step":"r","after":"2h"},{"step":"r","after":"3h"}]}`, []string{"reminder[1].step"}, false},
		{"reminder without step", `{` + base + `,"reminder":[{"step":"","after":"2h"}]}`, []string{"reminder[0].step"}, false},
		{"reminder missing after", `{` + base + `,"reminder":[{"step":"r2"}]}`, []string{"reminder[0].after"}, false},
		{"wrong type", `{"start":"a","cancel":["b"],"wait":"1h"}`, []string{"start"}, false},
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
			if tc.wantPaths != nil && resp.Diagnostics.HasErrors() == tc.warning {
				t.Errorf("HasErrors = %v, want %v (%+v)", !tc.warning, tc.warning, resp.Diagnostics)
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
	if d.Name != "absence" || d.Kind != sdk.KindTrigger || d.Version != pluginVersion || d.ProtocolVersion != sdk.ProtocolVersion || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]struct {
		typ      sdk.AttrType
		required bool
	}{
		"start":      {sdk.TypeEventTypes, true},
		"cancel":     {sdk.TypeEventTypes, true},
		"key":        {sdk.TypeString, false},
		"cancel_any": {sdk.TypeBool, false},
		"wait":       {sdk.TypeDuration, true},
		"step":       {sdk.TypeString, false},
		"when":       {sdk.TypeExpression, false},
		"restart":    {sdk.TypeBool, false},
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
		t.Fatalf("blocks = %+v, want reminder", d.Schema.Blocks)
	}
	b := d.Schema.Blocks[0]
	if b.Name != "reminder" || !b.Repeated || b.Required || len(b.Schema.Attributes) != 2 || b.Description == "" {
		t.Errorf("reminder block = %+v", b)
	}
}
