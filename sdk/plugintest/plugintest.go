// Package plugintest runs triggergate plugins over real in-process gRPC, the
// same wire the gateway uses, so a plugin's tests exercise its encoding as
// well as its logic. TriggerHarness plays the host's part for a trigger: it
// keeps rule state and timers per customer and fires timers on a fake clock.
package plugintest

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/triggergate/triggergate/sdk"
)

// Trigger connects to impl over in-process gRPC and returns the client side,
// which is what the gateway would hold. The connection closes with the test.
func Trigger(t testing.TB, impl sdk.Trigger) sdk.Trigger {
	t.Helper()
	return dispense(t, sdk.TriggerPluginSet(impl), sdk.KindTrigger).(sdk.Trigger)
}

// Channel connects to impl over in-process gRPC and returns the client side.
func Channel(t testing.TB, impl sdk.Channel) sdk.Channel {
	t.Helper()
	return dispense(t, sdk.ChannelPluginSet(impl), sdk.KindChannel).(sdk.Channel)
}

func dispense(t testing.TB, ps plugin.PluginSet, name string) any {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, ps)
	t.Cleanup(func() {
		// Stop the server before closing the client: Close asks the server
		// to shut down over the wire, and a second, concurrent Stop races
		// inside go-plugin's GRPCServer.
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense(name)
	if err != nil {
		t.Fatalf("dispensing %s plugin: %v", name, err)
	}
	return raw
}

// Clock is a fake clock that only moves when told to.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start.UTC()} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC()
}

// MustConfig encodes a config for a harness or a direct call: a map with
// attribute names as keys, as the host would send it.
func MustConfig(t testing.TB, cfg map[string]any) sdk.RawConfig {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("encoding config: %v", err)
	}
	return b
}

// Fired is a fire the harness saw, with when and for whom.
type Fired struct {
	sdk.Fire
	Rule     string
	Customer string
	At       time.Time
}

// TriggerHarness drives one rule of a trigger plugin through a sequence of
// events on a fake clock, the way the host would: state and timers are kept
// per customer, and timers fire as "timer.fired" events when the clock
// passes them.
type TriggerHarness struct {
	t      testing.TB
	plugin sdk.Trigger
	rule   string
	config sdk.RawConfig

	// Clock is the harness's virtual time; Advance moves it.
	Clock *Clock

	state    map[string][]byte
	timers   map[string]map[string]sdk.Timer
	profiles map[string]sdk.Profile
	// Fires holds every fire seen so far, in order.
	Fires []Fired
}

// NewTriggerHarness connects to impl over gRPC, validates config (the test
// fails on any error diagnostic) and returns a harness for rule at start.
func NewTriggerHarness(t testing.TB, impl sdk.Trigger, rule string, config sdk.RawConfig, start time.Time) *TriggerHarness {
	t.Helper()
	h := &TriggerHarness{
		t: t, plugin: Trigger(t, impl), rule: rule, config: config,
		Clock: NewClock(start), state: map[string][]byte{}, timers: map[string]map[string]sdk.Timer{},
		profiles: map[string]sdk.Profile{},
	}
	resp, err := h.plugin.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: config})
	if err != nil {
		t.Fatalf("ValidateConfig: %v", err)
	}
	if resp.Diagnostics.HasErrors() {
		t.Fatalf("config does not validate: %+v", resp.Diagnostics)
	}
	return h
}

// Send evaluates ev at the clock's time and returns the fires it caused.
// The event's customer must have an identity.
func (h *TriggerHarness) Send(ev sdk.Event) []sdk.Fire {
	h.t.Helper()
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = h.Clock.Now()
	}
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = h.Clock.Now()
	}
	return h.evaluate(ev, nil)
}

// Advance moves the clock forward by d, firing every timer that comes due
// on the way in time order, and returns the fires they caused.
func (h *TriggerHarness) Advance(d time.Duration) []sdk.Fire {
	h.t.Helper()
	end := h.Clock.Now().Add(d)
	var fires []sdk.Fire
	for {
		cust, timer, ok := h.nextTimer(end)
		if !ok {
			break
		}
		delete(h.timers[cust], timer.ID)
		if timer.At.After(h.Clock.Now()) {
			h.Clock.Set(timer.At)
		}
		ev := sdk.Event{
			ID: "timer-" + timer.ID, Type: "timer.fired", Source: "internal", SourceKind: "internal",
			OccurredAt: timer.At, ReceivedAt: h.Clock.Now(), Customer: h.profiles[cust].Customer,
		}
		fires = append(fires, h.evaluate(ev, &timer)...)
	}
	h.Clock.Set(end)
	return fires
}

// SetProfile replaces the profile the harness keeps for p's customer, for
// rules that read traits, the timezone, stats or consent. Later events
// still merge their identity and traits into it.
func (h *TriggerHarness) SetProfile(p sdk.Profile) {
	h.t.Helper()
	key := p.Customer.Key()
	if key == "" {
		h.t.Fatal("SetProfile: the profile has no customer identity")
	}
	h.profiles[key] = p
}

// Profile returns the profile the harness keeps for a customer.
func (h *TriggerHarness) Profile(c sdk.Customer) sdk.Profile { return h.profiles[c.Key()] }

// State returns the rule state kept for a customer.
func (h *TriggerHarness) State(c sdk.Customer) []byte { return h.state[c.Key()] }

// Timers returns the pending timers for a customer, in due order (ties
// by id).
func (h *TriggerHarness) Timers(c sdk.Customer) []sdk.Timer {
	var out []sdk.Timer
	for _, tm := range h.timers[c.Key()] {
		out = append(out, tm)
	}
	slices.SortFunc(out, func(a, b sdk.Timer) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (h *TriggerHarness) nextTimer(end time.Time) (string, sdk.Timer, bool) {
	var (
		bestCust string
		best     sdk.Timer
		found    bool
	)
	for cust, ts := range h.timers {
		for _, tm := range ts {
			if tm.At.After(end) {
				continue
			}
			if !found || tm.At.Before(best.At) || (tm.At.Equal(best.At) && cust+tm.ID < bestCust+best.ID) {
				bestCust, best, found = cust, tm, true
			}
		}
	}
	return bestCust, best, found
}

func (h *TriggerHarness) evaluate(ev sdk.Event, timer *sdk.Timer) []sdk.Fire {
	h.t.Helper()
	key := ev.Customer.Key()
	if key == "" {
		h.t.Fatalf("event %q has no customer identity", ev.ID)
	}
	profile := h.profiles[key]
	if timer == nil {
		// Like the host: the event's identity and traits are merged into
		// the profile before rules see it.
		profile.Customer = profile.Customer.Merge(ev.Customer)
		traits := make(map[string]any, len(profile.Traits)+len(ev.Traits))
		maps.Copy(traits, profile.Traits)
		maps.Copy(traits, ev.Traits)
		profile.Traits = traits
		h.profiles[key] = profile
	}
	req := &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{h.rule: h.config},
		Items: []sdk.EvaluateItem{{
			Rule: h.rule, Event: ev, Timer: timer, State: h.state[key], Now: h.Clock.Now(),
			Profile: profile,
		}},
	}
	resp, err := h.plugin.Evaluate(context.Background(), req)
	if err != nil {
		h.t.Fatalf("Evaluate: %v", err)
	}
	res := resp.Results[0]
	if res.Err != "" {
		h.t.Fatalf("Evaluate item: %s", res.Err)
	}
	if res.State == nil {
		delete(h.state, key)
	} else {
		h.state[key] = res.State
	}
	for _, id := range res.CancelTimers {
		delete(h.timers[key], id)
	}
	for _, tm := range res.SetTimers {
		if h.timers[key] == nil {
			h.timers[key] = map[string]sdk.Timer{}
		}
		h.timers[key][tm.ID] = tm
	}
	for _, f := range res.Fires {
		h.Fires = append(h.Fires, Fired{Fire: f, Rule: h.rule, Customer: key, At: h.Clock.Now()})
	}
	return res.Fires
}
