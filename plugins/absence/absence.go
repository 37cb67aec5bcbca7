package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Plugin identity, as reported by Describe.
const (
	pluginName    = "absence"
	pluginVersion = "0.1.0"
)

// timerFired is the internal event type the host sends when a timer comes
// due. It is never a start or cancel event.
const timerFired = "timer.fired"

// DefaultStep is the first step's name when the config names none.
const DefaultStep = "default"

// Limits that keep a customer's state, and the timers kept with it, small.
const (
	// MaxOpen is how many clocks (keys) one customer can have running. A
	// start event for one more drops the clock whose last start event is
	// the oldest, without firing it.
	MaxOpen = 20
	// MaxClosed is how many closed clocks one customer's state remembers
	// (see ClosedTTL); beyond it the oldest are forgotten.
	MaxClosed = 20
	// ClosedTTL is how long a closed clock (cancelled, or with every step
	// fired) is remembered, so that a start event that occurred before the
	// close but arrives late or twice does not open it again.
	ClosedTTL = 48 * time.Hour
	// MaxPropertiesBytes caps the JSON size of the start event properties
	// kept per clock for the fire data. Larger properties are not kept.
	MaxPropertiesBytes = 8 << 10
	// MaxKeyLen caps a key value as kept in state and timer IDs; a longer
	// value is replaced by "sha256:" and its hex digest.
	MaxKeyLen = 128
)

// Timer IDs: one timer per open clock, and one that forgets closed clocks
// once they expire, so that the state of a customer who never comes back
// is deleted.
const (
	clockTimerPrefix = "clock:"
	gcTimerID        = "gc"
)

// Config is one rule's config block.
type Config struct {
	// Start lists the event types that start, or restart, a clock.
	Start sdk.EventTypes `hcl:"start" doc:"Event types that start (or restart) the clock for their key, e.g. [\"checkout.updated\"]. \"*\" matches any type, \"cart.*\" any type starting with \"cart.\"."`
	// Cancel lists the event types that stop a clock before it fires.
	Cancel sdk.EventTypes `hcl:"cancel" doc:"Event types that stop the clock for their key, e.g. [\"order.placed\"]. Patterns as for start; an event matching both is a cancel."`
	// Key names the event property that tells clocks apart.
	Key string `hcl:"key,optional" doc:"Event property (event.properties.<key>) that correlates start and cancel events, e.g. \"checkout_id\": one clock per value. Default: one clock per customer."`
	// CancelAny lets a cancel event that lacks the key stop every clock.
	CancelAny bool `hcl:"cancel_any,optional" doc:"With key set, whether a cancel event that does not carry the key stops every clock of the customer. Default false: it stops none."`
	// Wait is the time from the last start event to the first step.
	Wait sdk.Duration `hcl:"wait" doc:"Time after the last start event before the first step fires, e.g. \"1h\"."`
	// Step is the first step's name.
	Step string `hcl:"step,optional" doc:"Name of the first step. Default \"default\"."`
	// Reminders are further steps after the first.
	Reminders []Reminder `hcl:"reminder,block" doc:"Further steps, each fired if the clock is still running; after is measured from the last start event and must grow from one step to the next."`
	// When is an optional condition over the start event.
	When sdk.Expression `hcl:"when,optional" doc:"Condition over event and customer that a start event must meet to start the clock, e.g. try(event.properties.value, 0) > 0. A start event that does not meet it (or fails to evaluate) stops a running clock for its key. Default: always."`
	// Restart says whether a start event for a running clock pushes its
	// steps back.
	Restart bool `hcl:"restart,optional" doc:"Whether a new start event for a running clock measures its remaining steps from that event. false keeps the first deadline. Default true."`

	plan []step // the first step then the reminders, set by decodeConfig
}

// Reminder is a `reminder { }` block.
type Reminder struct {
	// Step names the reminder's step.
	Step string `hcl:"step" doc:"Name of the step, e.g. \"reminder_2\"; distinct from every other step of the rule."`
	// After is measured from the last start event.
	After sdk.Duration `hcl:"after" doc:"Time after the last start event, e.g. \"24h\"; later than wait and than the reminder before."`
}

// step is one step of a rule's plan.
type step struct {
	name  string
	after time.Duration
}

// Validate checks what the struct tags cannot express.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	diags = append(diags, validateTypes("start", c.Start)...)
	diags = append(diags, validateTypes("cancel", c.Cancel)...)
	// An event matching both is a cancel, so a start type that a cancel
	// entry matches could never start a clock.
	for j, pat := range c.Cancel {
		for _, typ := range c.Start {
			if !strings.HasSuffix(typ, "*") && matches([]string{pat}, typ) {
				diags = append(diags, sdk.Errorf(sdk.Attr("cancel").Index(j),
					"%q also matches the start event %q, which would then never start the clock; an event type either starts or cancels it", pat, typ))
				break
			}
		}
	}
	if c.Key != "" && strings.TrimSpace(c.Key) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("key"), "key must name an event property, e.g. \"checkout_id\"; leave it out for one clock per customer"))
	}
	if c.CancelAny && c.Key == "" {
		diags = append(diags, sdk.Diagnostic{
			Severity: sdk.SeverityWarning, Path: sdk.Attr("cancel_any"),
			Summary: "cancel_any has no effect without key: every cancel event stops the customer's one clock",
		})
	}
	if c.Wait <= 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("wait"), "wait must be longer than 0, e.g. \"1h\""))
	}
	if strings.TrimSpace(c.Step) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("step"), "step must not be empty; leave it out to use %q", DefaultStep))
	}
	names := map[string]bool{c.Step: true}
	prev, prevName := c.Wait, "wait"
	for i, r := range c.Reminders {
		p := sdk.Attr("reminder").Index(i)
		switch {
		case strings.TrimSpace(r.Step) == "":
			diags = append(diags, sdk.Errorf(p.Attr("step"), "step must name the reminder, e.g. \"reminder_%d\"", i+2))
		case names[r.Step]:
			diags = append(diags, sdk.Errorf(p.Attr("step"), "step %q is already used by another step of this rule; give each step its own name", r.Step))
		}
		names[r.Step] = true
		if r.After <= prev {
			diags = append(diags, sdk.Errorf(p.Attr("after"), "after (%s) must be later than %s (%s): steps are measured from the last start event, in order",
				r.After.D(), prevName, prev.D()))
		}
		prev, prevName = r.After, fmt.Sprintf("reminder[%d].after", i)
	}
	return diags
}

// validateTypes checks the list of event type patterns of attribute attr.
func validateTypes(attr string, types []string) sdk.Diagnostics {
	var diags sdk.Diagnostics
	if len(types) == 0 {
		example := map[string]string{"start": "checkout.updated", "cancel": "order.placed"}[attr]
		diags = append(diags, sdk.Errorf(sdk.Attr(attr), "%s must list at least one event type, e.g. %s = [%q]", attr, attr, example))
	}
	for i, typ := range types {
		switch {
		case strings.TrimSpace(typ) == "":
			diags = append(diags, sdk.Errorf(sdk.Attr(attr).Index(i), "event type must not be empty"))
		case typ == timerFired:
			diags = append(diags, sdk.Errorf(sdk.Attr(attr).Index(i), "%q is the gateway's own timer event; list the events your sources send", timerFired))
		}
	}
	return diags
}

// matches reports whether an event type matches one of the patterns. The
// internal timer event matches none.
func matches(patterns []string, typ string) bool {
	return typ != timerFired && sdk.MatchType(patterns, typ)
}

// decodeConfig decodes a rule's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Step: DefaultStep, Restart: true}
	resp := sdk.CheckConfig(raw, cfg)
	cfg.plan = append(cfg.plan, step{name: cfg.Step, after: cfg.Wait.D()})
	for _, r := range cfg.Reminders {
		cfg.plan = append(cfg.plan, step{name: r.Step, after: r.After.D()})
	}
	return cfg, resp
}

// state is what the rule keeps per customer, as JSON.
type state struct {
	// Clocks are the running clocks, oldest opened first.
	Clocks []clock `json:"clocks,omitempty"`
	// Closed are recently closed clocks (see ClosedTTL).
	Closed []closed `json:"closed,omitempty"`
}

// clock is one running clock: a key whose start was not yet cancelled.
type clock struct {
	// Key is the key value; empty when the rule has no key.
	Key string `json:"key,omitempty"`
	// Open is the id of the start event that opened the clock (or its
	// time, for an event without id). With the key it makes the fire key,
	// the same for every step of this clock and new for the next one.
	Open string `json:"open"`
	// LastID is the id of the last start event taken in.
	LastID string `json:"last_id,omitempty"`
	// Started is when the opening start event occurred.
	Started time.Time `json:"started"`
	// LastAt is when the last start event taken in occurred; start events
	// that occurred earlier are out of order and ignored.
	LastAt time.Time `json:"last_at"`
	// Since is what steps are measured from: LastAt, or Started when the
	// rule does not restart.
	Since time.Time `json:"since"`
	// Next is the index of the next step to fire.
	Next int `json:"next,omitempty"`
	// Props are the last start event's properties, for the fire data.
	Props map[string]any `json:"props,omitempty"`
}

// closed remembers a clock that stopped, so that start events that
// occurred before it stopped (late, out of order, redelivered) do not
// open it again.
type closed struct {
	// Key is the clock's key; ignored when All is set.
	Key string `json:"key,omitempty"`
	// All marks a cancel that stopped every clock (cancel_any).
	All bool `json:"all,omitempty"`
	// At is when the event that closed it occurred (for a clock whose
	// steps all fired, its last start event): start events that occurred
	// at or before it do not open the key again.
	At time.Time `json:"at"`
	// ID is the last start event's id, which does not open it again either.
	ID string `json:"id,omitempty"`
	// Until is when the entry is forgotten.
	Until time.Time `json:"until"`
}

// Absence is the "absence" trigger.
type Absence struct {
	log hclog.Logger
}

var _ sdk.Trigger = (*Absence)(nil)

// New builds the trigger with the logger the SDK injects.
func New(log hclog.Logger) sdk.Trigger { return &Absence{log: log} }

// Describe reports the plugin's identity and config schema.
func (a *Absence) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Fires a step, then optional reminders, when a start event is not followed by a cancel event for the same key within a wait.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one rule's config.
func (a *Absence) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Evaluate runs each item's event through the customer's clocks.
func (a *Absence) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	return sdk.EvaluateEach(ctx, req, decodeConfig, a.evaluate)
}

// evaluation is one item being evaluated.
type evaluation struct {
	a    *Absence
	cfg  *Config
	item *sdk.EvaluateItem
	now  time.Time
	st   state
	// fires collects the item's fires.
	fires []sdk.Fire
}

// evaluate handles one item. Events that are neither start, cancel nor
// timer leave the state as it is, without decoding it.
func (a *Absence) evaluate(item *sdk.EvaluateItem, cfg *Config) sdk.Result {
	typ := item.Event.Type
	isTimer, isCancel := typ == timerFired, matches(cfg.Cancel, typ)
	isStart := !isCancel && matches(cfg.Start, typ)
	if !isTimer && !isCancel && !isStart {
		return sdk.Result{State: item.State}
	}
	e := &evaluation{a: a, cfg: cfg, item: item, now: item.Now.UTC()}
	oldTimers := e.load()
	switch {
	case isTimer:
		e.timer()
	case isCancel:
		e.cancel()
	default:
		e.start()
	}
	return e.result(oldTimers)
}

// log returns the logger with the item's identifying fields.
func (e *evaluation) log() hclog.Logger {
	return e.a.log.With("rule", e.item.Rule, "event_id", e.item.Event.ID, "event_type", e.item.Event.Type)
}

// load decodes the state (untrusted: it comes back from storage) and
// returns the timer IDs it implies, to cancel those no longer needed.
func (e *evaluation) load() []string {
	if len(e.item.State) > 0 {
		if err := json.Unmarshal(e.item.State, &e.st); err != nil {
			e.log().Warn("rule state does not decode; starting afresh", "error", err)
			e.st = state{}
		}
	}
	var ids []string
	for _, c := range e.st.Clocks {
		ids = append(ids, clockTimerID(c.Key))
	}
	if len(e.st.Closed) > 0 {
		ids = append(ids, gcTimerID)
	}

	// Keep only what the current config can use: a clock whose key does
	// not fit the key setting, or whose steps are all past, is dropped, as
	// is the second clock of a key.
	seen := make(map[string]bool, len(e.st.Clocks))
	e.st.Clocks = slices.DeleteFunc(e.st.Clocks, func(c clock) bool {
		drop := c.Open == "" || c.Since.IsZero() || c.Next < 0 || c.Next >= len(e.cfg.plan) ||
			(c.Key == "") != (e.cfg.Key == "") || seen[c.Key]
		if !drop {
			seen[c.Key] = true
		}
		return drop
	})
	e.capClocks()
	e.st.Closed = slices.DeleteFunc(e.st.Closed, func(c closed) bool { return !c.Until.After(e.now) })
	e.capClosed()
	return ids
}

// capClocks drops the clocks whose last start event is the oldest, down to
// MaxOpen, without firing them.
func (e *evaluation) capClocks() {
	if len(e.st.Clocks) <= MaxOpen {
		return
	}
	slices.SortStableFunc(e.st.Clocks, func(x, y clock) int { return x.LastAt.Compare(y.LastAt) })
	drop := len(e.st.Clocks) - MaxOpen
	for _, c := range e.st.Clocks[:drop] {
		e.log().Debug("too many open clocks; dropping the oldest", "key", c.Key, "max", MaxOpen)
	}
	e.st.Clocks = slices.Delete(e.st.Clocks, 0, drop)
}

// capClosed forgets the oldest closed clocks, down to MaxClosed.
func (e *evaluation) capClosed() {
	if len(e.st.Closed) > MaxClosed {
		slices.SortStableFunc(e.st.Closed, func(x, y closed) int { return x.Until.Compare(y.Until) })
		e.st.Closed = slices.Delete(e.st.Closed, 0, len(e.st.Closed)-MaxClosed)
	}
}

// start takes in a start event: it opens, pushes back or (when the event
// no longer meets `when`) closes the clock for its key.
func (e *evaluation) start() {
	ev := &e.item.Event
	key, ok := e.key()
	if !ok {
		e.log().Warn("start event does not carry the key property; ignoring it", "key", e.cfg.Key)
		return
	}
	at := eventTime(ev, e.now)
	if e.isClosed(key, at, ev.ID) {
		e.log().Debug("start event occurred before its clock was closed; ignoring it", "key", key)
		return
	}
	i := slices.IndexFunc(e.st.Clocks, func(c clock) bool { return c.Key == key })
	if i >= 0 {
		c := &e.st.Clocks[i]
		if ev.ID != "" && (ev.ID == c.LastID || ev.ID == c.Open) {
			e.log().Debug("start event already taken in; ignoring it", "key", key)
			return
		}
		if at.Before(c.LastAt) {
			e.log().Debug("start event is older than the clock's last one; ignoring it", "key", key)
			return
		}
	}
	if !e.meetsWhen() {
		if i >= 0 {
			e.log().Debug("start event does not meet the condition; stopping the clock", "key", key)
			e.close(i, closed{Key: key, At: at})
		}
		return
	}
	props := e.properties()
	if i >= 0 {
		c := &e.st.Clocks[i]
		c.LastID, c.LastAt, c.Props = ev.ID, at, props
		if e.cfg.Restart {
			c.Since = at
		}
		return
	}
	open := ev.ID
	if open == "" {
		open = "t" + strconv.FormatInt(at.UnixNano(), 10)
	}
	e.st.Clocks = append(e.st.Clocks, clock{
		Key: key, Open: open, LastID: ev.ID, Started: at, LastAt: at, Since: at, Props: props,
	})
	e.capClocks()
}

// cancel stops the clock of the cancel event's key, or every clock.
func (e *evaluation) cancel() {
	ev := &e.item.Event
	at := eventTime(ev, e.now)
	key, ok := e.key()
	switch {
	case ok:
		i := slices.IndexFunc(e.st.Clocks, func(c clock) bool { return c.Key == key })
		e.close(i, closed{Key: key, At: at})
	case e.cfg.CancelAny:
		e.st.Clocks = nil
		e.remember(closed{All: true, At: at})
	case len(e.st.Clocks) > 0:
		e.log().Warn("cancel event does not carry the key property, and cancel_any is false; it stops no clock", "key", e.cfg.Key)
	}
}

// timer fires the next step of every clock that is due. When a clock's
// next step is overdue and so is the one after (the gateway was down, or
// the start event arrived late), only the latest due step fires: the
// customer gets the message that fits now, not a burst.
func (e *evaluation) timer() {
	for i := 0; i < len(e.st.Clocks); i++ {
		c := &e.st.Clocks[i]
		if c.Since.Add(e.cfg.plan[c.Next].after).After(e.now) {
			continue
		}
		j := c.Next
		for j+1 < len(e.cfg.plan) && !c.Since.Add(e.cfg.plan[j+1].after).After(e.now) {
			j++
		}
		e.fires = append(e.fires, e.fire(c, j))
		c.Next = j + 1
		if c.Next == len(e.cfg.plan) {
			e.close(i, closed{Key: c.Key, At: c.LastAt, ID: c.LastID})
			i--
		}
	}
}

// fire builds the fire of step j of clock c.
func (e *evaluation) fire(c *clock, j int) sdk.Fire {
	name := e.cfg.plan[j].name
	data := map[string]any{
		"step":       name,
		"event_id":   c.LastID,
		"started_at": c.Started.Format(time.RFC3339),
		"updated_at": c.LastAt.Format(time.RFC3339),
	}
	key := c.Open
	if e.cfg.Key != "" {
		data["key"] = c.Key
		key = c.Key + "/" + c.Open
	}
	if c.Props != nil {
		data["properties"] = c.Props
	}
	e.log().Debug("absence step due", "key", c.Key, "step", name)
	return sdk.Fire{Step: name, Data: data, Key: key}
}

// close removes clock i (if i >= 0) and remembers cl.
func (e *evaluation) close(i int, cl closed) {
	if i >= 0 {
		e.st.Clocks = slices.Delete(e.st.Clocks, i, i+1)
	}
	e.remember(cl)
}

// remember records a closed clock, keeping the latest close per key.
func (e *evaluation) remember(cl closed) {
	cl.Until = e.now.Add(ClosedTTL)
	if i := slices.IndexFunc(e.st.Closed, func(o closed) bool { return o.All == cl.All && o.Key == cl.Key }); i >= 0 {
		if e.st.Closed[i].At.After(cl.At) {
			cl.At = e.st.Closed[i].At
		}
		e.st.Closed[i] = cl
		return
	}
	e.st.Closed = append(e.st.Closed, cl)
	e.capClosed()
}

// isClosed reports whether a start event for key that occurred at `at`
// belongs to a clock that was already closed.
func (e *evaluation) isClosed(key string, at time.Time, id string) bool {
	for _, c := range e.st.Closed {
		if !c.All && c.Key != key {
			continue
		}
		if !at.After(c.At) || (id != "" && id == c.ID) {
			return true
		}
	}
	return false
}

// key returns the event's key value, or "" for a rule without key.
func (e *evaluation) key() (string, bool) {
	if e.cfg.Key == "" {
		return "", true
	}
	return keyValue(e.item.Event.Properties[e.cfg.Key])
}

// keyValue turns a key property into the string that names its clock.
func keyValue(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case bool:
		s = strconv.FormatBool(x)
	}
	if s == "" {
		return "", false
	}
	if len(s) > MaxKeyLen {
		sum := sha256.Sum256([]byte(s))
		s = "sha256:" + hex.EncodeToString(sum[:])
	}
	return s, true
}

// meetsWhen evaluates the rule's condition on the start event.
func (e *evaluation) meetsWhen() bool {
	if !e.cfg.When.IsSet() {
		return true
	}
	ok, err := e.cfg.When.EvalBool(&e.item.Event, &e.item.Profile)
	if err != nil {
		e.log().Warn("condition could not be evaluated; treating it as not met", "error", err)
		return false
	}
	return ok
}

// properties returns the start event's properties to keep, or nil when
// they are too large.
func (e *evaluation) properties() map[string]any {
	p := e.item.Event.Properties
	if len(p) == 0 {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil || len(b) > MaxPropertiesBytes {
		e.log().Warn("start event properties are too large to keep; the fire will carry none", "bytes", len(b), "max", MaxPropertiesBytes, "error", err)
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

// result encodes the state and the timer changes since load.
func (e *evaluation) result(oldTimers []string) sdk.Result {
	res := sdk.Result{Fires: e.fires}
	keep := make(map[string]bool, len(e.st.Clocks)+1)
	for _, c := range e.st.Clocks {
		id := clockTimerID(c.Key)
		keep[id] = true
		// Replaced every time: the step, or what it is measured from,
		// may have changed, and the timer that fired is gone.
		res.SetTimers = append(res.SetTimers, sdk.Timer{
			ID: id, At: c.Since.Add(e.cfg.plan[c.Next].after),
			Data: map[string]any{"key": c.Key, "step": e.cfg.plan[c.Next].name},
		})
	}
	if len(e.st.Closed) > 0 {
		keep[gcTimerID] = true
		last := slices.MaxFunc(e.st.Closed, func(x, y closed) int { return x.Until.Compare(y.Until) })
		res.SetTimers = append(res.SetTimers, sdk.Timer{ID: gcTimerID, At: last.Until})
	}
	for _, id := range oldTimers {
		if !keep[id] && !slices.Contains(res.CancelTimers, id) {
			res.CancelTimers = append(res.CancelTimers, id)
		}
	}
	slices.SortFunc(res.SetTimers, func(x, y sdk.Timer) int { return cmp.Compare(x.ID, y.ID) })
	if len(e.st.Clocks) == 0 && len(e.st.Closed) == 0 {
		return res // nil State deletes it
	}
	b, err := json.Marshal(e.st)
	if err != nil {
		return sdk.Result{State: e.item.State, Err: fmt.Sprintf("encoding state of rule %q: %v", e.item.Rule, err)}
	}
	res.State = b
	return res
}

// clockTimerID names the timer of the clock for key.
func clockTimerID(key string) string { return clockTimerPrefix + key }

// eventTime is when an event occurred, as far as the rule is concerned:
// its OccurredAt, else ReceivedAt, else now, and never later than now.
func eventTime(ev *sdk.Event, now time.Time) time.Time {
	t := ev.OccurredAt
	if t.IsZero() {
		t = ev.ReceivedAt
	}
	if t.IsZero() || t.After(now) {
		t = now
	}
	return t.UTC()
}
