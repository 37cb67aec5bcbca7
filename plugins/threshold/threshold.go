package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Plugin identity, as reported by Describe.
const (
	pluginName    = "threshold"
	pluginVersion = "0.1.0"
)

// timerFired is the internal event type the host sends when a timer comes
// due. This trigger sets no timers and never counts it.
const timerFired = "timer.fired"

// DefaultStep is the step a rule fires when its config names none.
const DefaultStep = "default"

// Bounds on what the rule keeps per customer. The state lives in etcd, so
// it must stay small however many events a customer sends.
const (
	// maxEvents is the number of events kept per customer, over all keys;
	// beyond it the oldest are forgotten. It is also the largest count a
	// rule can ask for.
	maxEvents = 1000
	// maxKeys is the number of distinct key values kept per customer;
	// beyond it the least recently active key is forgotten.
	maxKeys = 50
	// maxKeyLen is the longest key value counted; longer values are
	// skipped, as they are not identifiers.
	maxKeyLen = 256
	// maxIDLen is the longest event id remembered for dedupe.
	maxIDLen = 128
)

// Config is one rule's config block.
type Config struct {
	// On lists the event types that are counted.
	On sdk.EventTypes `hcl:"on" doc:"Event types to count, e.g. [\"product.viewed\"]. \"*\" matches any type, \"product.*\" any type starting with \"product.\"; \"timer.fired\" is never counted."`
	// When narrows the counted events further.
	When sdk.Expression `hcl:"when,optional" doc:"Condition over event and customer that an event must meet to be counted, e.g. event.properties.price > 50. An evaluation error counts as false and is logged; guard optional data with try() or can()."`
	// Count is the number of events that fires the rule.
	Count int `hcl:"count,optional" doc:"Fire when at least this many matching events fall within the window (1 to 1000). Set either count, or sum with at_least."`
	// Sum names the property whose values are added up.
	Sum string `hcl:"sum,optional" doc:"Name of a numeric event property (event.properties.<sum>) to add up over the window; events where it is missing or not a number are skipped and logged. Goes with at_least."`
	// AtLeast is the total that fires the rule in sum mode.
	AtLeast float64 `hcl:"at_least,optional" doc:"Fire when the sum of the sum property within the window reaches this value (greater than 0). Goes with sum."`
	// Within is the length of the sliding window.
	Within sdk.Duration `hcl:"within" doc:"Length of the sliding window, e.g. \"1d\" or \"30m\". An event counts while it is less than this old."`
	// Key splits the count by an event property.
	Key string `hcl:"key,optional" doc:"Event property to count separately by value (event.properties.<key>), e.g. \"product_id\" for \"viewed the same product 3 times\". Events without it are skipped and logged. Default: one count per customer."`
	// Step is the name of the step the rule fires.
	Step string `hcl:"step,optional" doc:"Name of the step to fire. Default \"default\"."`
	// Cooldown keeps a key quiet after it fired.
	Cooldown sdk.Duration `hcl:"cooldown,optional" doc:"After a fire, the same customer and key do not fire again until this much time has passed. \"0s\" fires on every event at or over the threshold. Default: the value of within."`

	// set holds the attributes present in the raw config, so that Validate
	// tells "count = 0" from no count at all.
	set map[string]bool
}

// Validate checks what the struct tags cannot express.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	if len(c.On) == 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("on"), "on must list at least one event type, e.g. on = [\"product.viewed\"]"))
	}
	for i, typ := range c.On {
		switch strings.TrimSpace(typ) {
		case "":
			diags = append(diags, sdk.Errorf(sdk.Attr("on").Index(i), "event type must not be empty"))
		case timerFired:
			diags = append(diags, sdk.Errorf(sdk.Attr("on").Index(i), "%q is internal and never counted; remove it", timerFired))
		}
	}

	hasCount, hasSum, hasAtLeast := c.set["count"], c.set["sum"], c.set["at_least"]
	switch {
	case hasCount && hasSum:
		diags = append(diags, sdk.Errorf(sdk.Attr("sum"), "count and sum exclude each other: fire on a number of events (count) or on a summed property (sum with at_least)"))
	case hasCount && hasAtLeast:
		diags = append(diags, sdk.Errorf(sdk.Attr("at_least"), "at_least goes with sum, not count: remove it, or replace count with sum"))
	case hasCount:
		if c.Count < 1 || c.Count > maxEvents {
			diags = append(diags, sdk.Errorf(sdk.Attr("count"), "count must be between 1 and %d, got %d", maxEvents, c.Count))
		}
	case hasSum && !hasAtLeast:
		diags = append(diags, sdk.Errorf(sdk.Attr("sum"), "sum needs at_least, the total that fires the rule, e.g. at_least = 300"))
	case hasAtLeast && !hasSum:
		diags = append(diags, sdk.Errorf(sdk.Attr("at_least"), "at_least needs sum, the event property to add up, e.g. sum = \"seconds\""))
	case !hasSum:
		diags = append(diags, sdk.Errorf(sdk.Attr("count"), "set count (fire on a number of events) or sum with at_least (fire on a summed property)"))
	}
	if hasSum && strings.TrimSpace(c.Sum) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("sum"), "sum must name an event property, e.g. sum = \"seconds\""))
	}
	if hasSum && hasAtLeast && !hasCount && !(c.AtLeast > 0) {
		diags = append(diags, sdk.Errorf(sdk.Attr("at_least"), "at_least must be greater than 0, got %v", c.AtLeast))
	}

	if c.Within <= 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("within"), "within must be longer than 0, e.g. within = \"1d\""))
	}
	if c.set["key"] && strings.TrimSpace(c.Key) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("key"), "key must name an event property; leave it out to count per customer"))
	}
	if strings.TrimSpace(c.Step) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("step"), "step must not be empty; leave it out to use %q", DefaultStep))
	}
	return diags
}

// summing reports whether the rule adds up a property rather than counting.
func (c *Config) summing() bool { return c.Sum != "" }

// matches reports whether an event type is counted.
func (c *Config) matches(typ string) bool {
	return typ != timerFired && sdk.MatchType(c.On, typ)
}

// decodeConfig decodes a rule's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Step: DefaultStep, set: presentAttrs(raw)}
	resp := sdk.CheckConfig(raw, cfg)
	if !cfg.set["cooldown"] {
		cfg.Cooldown = cfg.Within
	}
	return cfg, resp
}

// presentAttrs lists the attributes a raw config holds. A config that is
// not a JSON object yields none; CheckConfig reports it.
func presentAttrs(raw sdk.RawConfig) map[string]bool {
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(raw, &obj)
	set := make(map[string]bool, len(obj))
	for name, v := range obj {
		if string(v) != "null" {
			set[name] = true
		}
	}
	return set
}

// state is what the rule keeps per customer, as JSON.
type state struct {
	// Keys holds one window per key value; "" when counting per customer.
	Keys map[string]*window `json:"keys,omitempty"`
}

// window is the recent events of one key.
type window struct {
	// Events are in time order, oldest first.
	Events []entry `json:"events,omitempty"`
	// LastFire is when the key last fired, for the cooldown.
	LastFire time.Time `json:"last_fire,omitzero"`
}

// entry is one counted event.
type entry struct {
	At    time.Time `json:"at"`
	Value float64   `json:"v,omitempty"`
	// ID is the event id, so that a redelivered event is not counted twice.
	ID string `json:"id,omitempty"`
}

// lastActive is when the key last saw an event or fired.
func (w *window) lastActive() time.Time {
	last := w.LastFire
	if n := len(w.Events); n > 0 && w.Events[n-1].At.After(last) {
		last = w.Events[n-1].At
	}
	return last
}

// coolingDown reports whether the key fired less than cooldown ago.
func (w *window) coolingDown(now time.Time, cooldown time.Duration) bool {
	return !w.LastFire.IsZero() && now.Before(w.LastFire.Add(cooldown))
}

// totals returns the number of events and the sum of their values.
func (w *window) totals() (int, float64) {
	var sum float64
	for _, e := range w.Events {
		sum += e.Value
	}
	return len(w.Events), sum
}

// normalize makes decoded state safe to work on: state comes back from
// storage and is not trusted to be sorted or within bounds.
func (s *state) normalize(now time.Time) {
	for k, w := range s.Keys {
		if w == nil {
			delete(s.Keys, k)
			continue
		}
		slices.SortStableFunc(w.Events, func(a, b entry) int { return a.At.Compare(b.At) })
		if w.LastFire.After(now) {
			w.LastFire = now
		}
	}
	s.enforceBounds()
}

// prune forgets events that left the window and keys with nothing left to
// remember.
func (s *state) prune(cutoff, now time.Time, cooldown time.Duration) {
	for k, w := range s.Keys {
		i := 0
		for i < len(w.Events) && !w.Events[i].At.After(cutoff) {
			i++
		}
		w.Events = slices.Delete(w.Events, 0, i)
		if len(w.Events) == 0 && !w.coolingDown(now, cooldown) {
			delete(s.Keys, k)
		}
	}
}

// seen reports whether an event id was already counted.
func (s *state) seen(id string) bool {
	if id == "" {
		return false
	}
	for _, w := range s.Keys {
		for _, e := range w.Events {
			if e.ID == id {
				return true
			}
		}
	}
	return false
}

// add counts an event under key, keeping the state within its bounds.
func (s *state) add(key string, e entry) {
	if s.Keys == nil {
		s.Keys = map[string]*window{}
	}
	w, ok := s.Keys[key]
	if !ok {
		w = &window{}
		s.Keys[key] = w
	}
	i, _ := slices.BinarySearchFunc(w.Events, e.At, func(x entry, at time.Time) int {
		// Insert after events at the same time, to keep arrival order.
		if x.At.After(at) {
			return 1
		}
		return -1
	})
	w.Events = slices.Insert(w.Events, i, e)
	s.enforceBounds()
}

// enforceBounds drops the least recently active keys beyond maxKeys, then
// the oldest events beyond maxEvents. It stays cheap however far out of
// bounds stored state is: keys are sorted once, each key's surplus over
// maxEvents is cut at once, and what remains to drop is at most
// maxKeys*maxEvents events, found by walking at most maxKeys heads each.
func (s *state) enforceBounds() {
	if len(s.Keys) > maxKeys {
		keys := slices.Collect(maps.Keys(s.Keys))
		slices.SortFunc(keys, func(a, b string) int {
			// Most recently active first; ties in key order, for determinism.
			if c := s.Keys[b].lastActive().Compare(s.Keys[a].lastActive()); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		for _, k := range keys[maxKeys:] {
			delete(s.Keys, k)
		}
	}
	total := 0
	for _, w := range s.Keys {
		if n := len(w.Events); n > maxEvents {
			w.Events = slices.Delete(w.Events, 0, n-maxEvents)
		}
		total += len(w.Events)
	}
	if total <= maxEvents {
		return
	}
	// Drop the oldest events over all keys: walk the keys' heads, counting
	// what each loses, then cut once per key.
	// Keys in order, so that ties between keys break the same way each time.
	keys := slices.Sorted(maps.Keys(s.Keys))
	drop := make(map[*window]int, len(s.Keys))
	for ; total > maxEvents; total-- {
		var victim *window
		for _, k := range keys {
			w := s.Keys[k]
			i := drop[w]
			if i < len(w.Events) && (victim == nil || w.Events[i].At.Before(victim.Events[drop[victim]].At)) {
				victim = w
			}
		}
		drop[victim]++
	}
	for w, n := range drop {
		w.Events = slices.Delete(w.Events, 0, n)
	}
}

// Threshold is the "threshold" trigger.
type Threshold struct {
	log hclog.Logger
}

var _ sdk.Trigger = (*Threshold)(nil)

// New builds the trigger with the logger the SDK injects.
func New(log hclog.Logger) sdk.Trigger { return &Threshold{log: log} }

// Describe reports the plugin's identity and config schema.
func (t *Threshold) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Fires a step when a customer's matching events reach a count, or their summed value an amount, within a sliding window.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one rule's config.
func (t *Threshold) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Evaluate counts matching events per customer and key, and fires when a
// window reaches the threshold.
func (t *Threshold) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	return sdk.EvaluateEach(ctx, req, decodeConfig, t.evaluate)
}

// evaluate counts one item and decides whether it fires.
func (t *Threshold) evaluate(item *sdk.EvaluateItem, cfg *Config) sdk.Result {
	unchanged := sdk.Result{State: item.State}
	ev := &item.Event
	if !cfg.matches(ev.Type) {
		return unchanged
	}
	log := t.log.With("rule", item.Rule, "event_id", ev.ID, "event_type", ev.Type)
	if cfg.When.IsSet() {
		ok, err := cfg.When.EvalBool(ev, &item.Profile)
		if err != nil {
			log.Warn("condition could not be evaluated; event not counted", "error", err)
			return unchanged
		}
		if !ok {
			return unchanged
		}
	}
	key, ok := t.keyOf(log, ev, cfg)
	if !ok {
		return unchanged
	}
	var value float64
	if cfg.summing() {
		if value, ok = t.valueOf(log, ev, cfg); !ok {
			return unchanged
		}
	}

	now := item.Now
	st := t.decodeState(log, item.State, now)
	cutoff := now.Add(-cfg.Within.D())
	st.prune(cutoff, now, cfg.Cooldown.D())
	at := eventTime(ev, now)
	switch {
	case !at.After(cutoff):
		log.Debug("event is older than the window; not counted", "occurred_at", ev.OccurredAt)
		return t.result(log, st, nil)
	case st.seen(ev.ID):
		log.Debug("event already counted; ignoring the redelivery")
		return t.result(log, st, nil)
	}
	id := ev.ID
	if len(id) > maxIDLen {
		id = ""
	}
	st.add(key, entry{At: at, Value: value, ID: id})

	w, ok := st.Keys[key]
	if !ok {
		return t.result(log, st, nil)
	}
	count, sum := w.totals()
	if !cfg.reached(count, sum) {
		return t.result(log, st, nil)
	}
	if w.coolingDown(now, cfg.Cooldown.D()) {
		log.Debug("threshold reached during the cooldown; not firing", "key", key, "last_fire", w.LastFire)
		return t.result(log, st, nil)
	}
	w.LastFire = now
	data := map[string]any{"count": count, "key": key, "window": cfg.Within.D().String()}
	if cfg.summing() {
		data["sum"] = sum
	}
	// The key value and the id of the event that closed the window: a
	// re-evaluation of that event is the same message, a later window that
	// reaches the threshold again is a new one.
	ref := ev.ID
	if ref == "" {
		ref = "at:" + now.UTC().Format(time.RFC3339Nano)
	}
	if cfg.Key != "" {
		ref = key + "/" + ref
	}
	log.Debug("threshold reached", "key", key, "count", count, "sum", sum)
	return t.result(log, st, []sdk.Fire{{Step: cfg.Step, Key: ref, Data: data}})
}

// reached reports whether a window's totals meet the rule's threshold.
func (c *Config) reached(count int, sum float64) bool {
	if !c.summing() {
		return count >= c.Count
	}
	// Allow for rounding, so that 0.7 + 0.1 reaches 0.8.
	return sum >= c.AtLeast-1e-9*math.Max(1, math.Abs(c.AtLeast))
}

// keyOf returns the key an event is counted under.
func (t *Threshold) keyOf(log hclog.Logger, ev *sdk.Event, cfg *Config) (string, bool) {
	if cfg.Key == "" {
		return "", true
	}
	raw, ok := ev.Properties[cfg.Key]
	var key string
	switch v := raw.(type) {
	case string:
		key = v
	case float64:
		key = strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		key = strconv.Itoa(v)
	case int64:
		key = strconv.FormatInt(v, 10)
	case json.Number:
		key = v.String()
	case bool:
		key = strconv.FormatBool(v)
	}
	switch {
	case !ok:
		log.Warn("event has no key property; not counted", "key", cfg.Key)
	case key == "" || len(key) > maxKeyLen:
		log.Warn("key property is not a usable identifier (a non-empty string or number of at most 256 bytes); not counted",
			"key", cfg.Key, "type", fmt.Sprintf("%T", raw))
	default:
		return key, true
	}
	return "", false
}

// valueOf returns the number an event adds to the sum.
func (t *Threshold) valueOf(log hclog.Logger, ev *sdk.Event, cfg *Config) (float64, bool) {
	raw, ok := ev.Properties[cfg.Sum]
	var (
		value   float64
		numeric = true
	)
	switch v := raw.(type) {
	case float64:
		value = v
	case int:
		value = float64(v)
	case int64:
		value = float64(v)
	case json.Number:
		f, err := v.Float64()
		value, numeric = f, err == nil
	default:
		numeric = false
	}
	switch {
	case !ok:
		log.Warn("event has no sum property; not counted", "sum", cfg.Sum)
	case !numeric || math.IsNaN(value) || math.IsInf(value, 0):
		log.Warn("sum property is not a number; not counted", "sum", cfg.Sum, "type", fmt.Sprintf("%T", raw))
	default:
		return value, true
	}
	return 0, false
}

// eventTime is when an event counts as having happened: when the vendor
// says, unless that is unknown or ahead of the host's clock.
func eventTime(ev *sdk.Event, now time.Time) time.Time {
	if ev.OccurredAt.IsZero() || ev.OccurredAt.After(now) {
		return now
	}
	return ev.OccurredAt
}

// decodeState reads the rule state. State that does not decode is logged
// and replaced: losing a window is better than blocking the customer.
func (t *Threshold) decodeState(log hclog.Logger, raw []byte, now time.Time) *state {
	st := &state{}
	if len(raw) == 0 {
		return st
	}
	if err := json.Unmarshal(raw, st); err != nil {
		log.Warn("rule state does not decode; starting afresh", "error", err)
		return &state{}
	}
	st.normalize(now)
	return st
}

// result encodes the new state with the fires. Empty state is deleted.
func (t *Threshold) result(log hclog.Logger, st *state, fires []sdk.Fire) sdk.Result {
	if len(st.Keys) == 0 {
		return sdk.Result{Fires: fires}
	}
	b, err := json.Marshal(st)
	if err != nil {
		// Only times outside years 0-9999 fail to encode; drop the state
		// rather than fail the customer forever.
		log.Warn("rule state does not encode; dropping it", "error", err)
		return sdk.Result{Fires: fires}
	}
	return sdk.Result{State: b, Fires: fires}
}
