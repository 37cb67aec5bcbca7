package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Plugin identity, as reported by Describe.
const (
	pluginName    = "date"
	pluginVersion = "0.1.0"
)

// timerFired is the internal event type the host sends when a timer comes
// due.
const timerFired = "timer.fired"

// timerID names the rule's one timer per customer: setting it again moves
// it.
const timerID = "date"

// DefaultStep is the step a rule fires when its config names none.
const DefaultStep = "default"

// Values of the repeat attribute.
const (
	RepeatYearly = "yearly"
	RepeatOnce   = "once"
)

// OccurredAt is the property name that stands for the event's own
// occurred_at time rather than one of its properties.
const OccurredAt = "occurred_at"

// repeatUnset tells a repeat left out, whose default depends on the date
// source, from one written empty.
const repeatUnset = "\x00unset"

// Config is one rule's config block.
type Config struct {
	// Trait names the profile trait holding the date. It is read from the
	// profile on every event, so the rule follows the trait as it changes.
	Trait string `hcl:"trait,optional" doc:"Profile trait holding the date, e.g. \"birthday\" (\"a.b\" reads a nested trait). Read on every event. Set trait, or property with on, not both."`
	// On lists the event types that carry the date in Property.
	On sdk.EventTypes `hcl:"on,optional" doc:"With property: event types carrying the date, e.g. [\"subscription.renewed\"]. \"*\" matches any type, \"order.*\" any type starting with \"order.\"."`
	// Property names the event property holding the date.
	Property string `hcl:"property,optional" doc:"Event property holding the date, e.g. \"renews_at\" (\"a.b\" reads a nested property); \"occurred_at\" means the event's own time. Needs on."`
	// FirstOnly keeps the date of the earliest event rather than the
	// latest.
	FirstOnly bool `hcl:"first_only,optional" doc:"With property: keep the date from the earliest on event (e.g. the first order) instead of the latest. Default false."`
	// CancelOn lists event types that forget the date and cancel the
	// pending occurrence.
	CancelOn sdk.EventTypes `hcl:"cancel_on,optional" doc:"With property: event types that forget the date and cancel what is scheduled, e.g. [\"subscription.cancelled\"]. Default none."`
	// Offset moves the occurrence before (negative) or after the date.
	Offset string `hcl:"offset,optional" doc:"Shift from the date: \"-7d\" is 7 days before, \"30d\" or \"+30d\" 30 days after, \"-2h\" two hours before the at time. Whole days are calendar days in the customer's timezone. Default \"0\"."`
	// At is the local time of day the occurrence is due.
	At string `hcl:"at,optional" doc:"Time of day the step is due, \"HH:MM\" (24-hour) in the customer's timezone (UTC when unknown). Default \"09:00\"."`
	// Repeat says whether the date recurs every year.
	Repeat string `hcl:"repeat,optional" doc:"\"yearly\" (every anniversary of the date) or \"once\" (on the date itself). Default \"yearly\" with trait, \"once\" with property."`
	// Step is the name of the step the rule fires.
	Step string `hcl:"step,optional" doc:"Name of the step to fire. Default \"default\"."`

	// What Validate derives from the attributes above.
	offsetDays int
	offsetRest time.Duration
	hour       int
	minute     int
}

// Validate checks what the struct tags cannot express, resolves the
// defaults that depend on the date source, and parses offset and at.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	trait, property := strings.TrimSpace(c.Trait), strings.TrimSpace(c.Property)
	switch {
	case trait != "" && property != "":
		diags = append(diags, sdk.Errorf(sdk.Attr("property"), "trait and property are exclusive: use trait for a profile trait (a birthday), or property with on for an event property (a renewal date)"))
	case trait == "" && c.Trait != "":
		diags = append(diags, sdk.Errorf(sdk.Attr("trait"), "trait must name a profile trait, e.g. \"birthday\""))
	case property == "" && c.Property != "":
		diags = append(diags, sdk.Errorf(sdk.Attr("property"), "property must name an event property, e.g. \"renews_at\", or be \"occurred_at\""))
	case trait == "" && property == "" && len(c.On) > 0:
		diags = append(diags, sdk.Errorf(sdk.Attr("property"), "on needs property: the event property holding the date, e.g. property = \"renews_at\", or \"occurred_at\" for the event's own time"))
	case trait == "" && property == "":
		diags = append(diags, sdk.Errorf(nil, "set trait (a profile trait holding the date, e.g. trait = \"birthday\") or property and on (an event property, e.g. on = [\"subscription.renewed\"], property = \"renews_at\")"))
	case trait != "":
		if len(c.On) > 0 {
			diags = append(diags, sdk.Errorf(sdk.Attr("on"), "on is only used with property: a trait is read from the profile on every event; remove on"))
		}
		if c.FirstOnly {
			diags = append(diags, sdk.Errorf(sdk.Attr("first_only"), "first_only is only used with property: a trait always holds its latest value; remove first_only"))
		}
		if len(c.CancelOn) > 0 {
			diags = append(diags, sdk.Errorf(sdk.Attr("cancel_on"), "cancel_on is only used with property: with trait, removing the trait cancels; remove cancel_on"))
		}
	default:
		if len(c.On) == 0 {
			diags = append(diags, sdk.Errorf(sdk.Attr("on"), "property needs on: the event types carrying it, e.g. on = [\"subscription.renewed\"]"))
		}
		diags = append(diags, checkTypes(sdk.Attr("on"), c.On, nil)...)
		diags = append(diags, checkTypes(sdk.Attr("cancel_on"), c.CancelOn, c.On)...)
	}

	switch c.Repeat {
	case repeatUnset:
		c.Repeat = RepeatOnce
		if trait != "" {
			c.Repeat = RepeatYearly
		}
	case RepeatYearly, RepeatOnce:
	default:
		diags = append(diags, sdk.Errorf(sdk.Attr("repeat"), "repeat must be %q or %q, got %q", RepeatYearly, RepeatOnce, c.Repeat))
	}

	if d, err := parseOffset(c.Offset); err != nil {
		diags = append(diags, sdk.Errorf(sdk.Attr("offset"), "%s", err))
	} else {
		c.offsetDays = int(d / (24 * time.Hour))
		c.offsetRest = d % (24 * time.Hour)
	}
	if h, m, err := parseClock(c.At); err != nil {
		diags = append(diags, sdk.Errorf(sdk.Attr("at"), "%s", err))
	} else {
		c.hour, c.minute = h, m
	}
	if strings.TrimSpace(c.Step) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("step"), "step must not be empty; leave it out to use %q", DefaultStep))
	}
	return diags
}

// checkTypes checks a list of event type patterns; none may be empty,
// timer.fired (the rule's own timers), or also listed in other.
func checkTypes(path sdk.Path, types, other []string) sdk.Diagnostics {
	var diags sdk.Diagnostics
	for i, typ := range types {
		switch {
		case strings.TrimSpace(typ) == "":
			diags = append(diags, sdk.Errorf(path.Index(i), "event type must not be empty"))
		case typ == timerFired:
			diags = append(diags, sdk.Errorf(path.Index(i), "%q is the rule's own timer and cannot be listed here", timerFired))
		case slices.Contains(other, typ):
			diags = append(diags, sdk.Errorf(path.Index(i), "%q is also in on: an event type either sets the date or cancels it", typ))
		}
	}
	return diags
}

// parseOffset reads a signed duration: sdk.ParseDuration's forms ("7d",
// "36h", "90m") with an optional leading "+" or "-".
func parseOffset(s string) (time.Duration, error) {
	body, neg := strings.CutPrefix(s, "-")
	if !neg {
		body, _ = strings.CutPrefix(s, "+")
	}
	d, err := sdk.ParseDuration(body)
	if err != nil || body == "" || body[0] == '+' || body[0] == '-' {
		return 0, fmt.Errorf("offset %q is not a duration: write it like \"-7d\" (7 days before), \"30d\" (30 days after) or \"-2h\"", s)
	}
	if neg {
		d = -d
	}
	return d, nil
}

// parseClock reads a 24-hour "HH:MM".
func parseClock(s string) (hour, minute int, err error) {
	t, perr := time.Parse("15:04", s)
	if perr != nil || len(s) != len("15:04") {
		return 0, 0, fmt.Errorf("at %q is not a time of day: write it as \"HH:MM\" on a 24-hour clock, e.g. \"09:00\" or \"18:30\"", s)
	}
	return t.Hour(), t.Minute(), nil
}

// matches reports whether an event type is one of the patterns: exact
// types, "*" and "prefix.*". timer.fired never matches.
func matches(patterns []string, typ string) bool {
	return typ != timerFired && sdk.MatchType(patterns, typ)
}

// decodeConfig decodes a rule's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Offset: "0", At: "09:00", Repeat: repeatUnset, Step: DefaultStep}
	resp := sdk.CheckConfig(raw, cfg)
	if cfg.Repeat == repeatUnset {
		// A decoding error stopped before Validate: never leak the marker.
		cfg.Repeat = ""
	}
	return cfg, resp
}

// state is what the rule keeps per customer, as JSON. It holds a few short
// strings and times, whatever the events: it is bounded by construction.
type state struct {
	// Date is the date value seen (a trait's, or the property of the event
	// that set it), as written, at most maxValueLen bytes. Numbers are
	// kept as "@" and the Unix time.
	Date string `json:"date,omitempty"`
	// SeenAt is when the event that set Date occurred (property only): an
	// older event arriving late does not override it, and with first_only
	// an earlier one does.
	SeenAt time.Time `json:"seen_at,omitzero"`
	// Next is the occurrence the rule's timer is set for.
	Next *occurrence `json:"next,omitempty"`
	// Fired is the key of the last occurrence fired, so that a timer
	// delivered twice fires once.
	Fired string `json:"fired,omitempty"`
}

// Date is the "date" trigger.
type Date struct {
	log hclog.Logger

	mu    sync.RWMutex
	zones map[string]*time.Location // valid IANA names only: bounded by the tz database
}

var _ sdk.Trigger = (*Date)(nil)

// New builds the trigger with the logger the SDK injects.
func New(log hclog.Logger) sdk.Trigger {
	return &Date{log: log, zones: map[string]*time.Location{}}
}

// Describe reports the plugin's identity and config schema.
func (p *Date) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Fires a step on a date from a profile trait or an event, plus or minus an offset, at a local time in the customer's timezone: birthdays, anniversaries, renewal and expiry reminders.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one rule's config.
func (p *Date) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Evaluate keeps each customer's timer on the next occurrence of their
// date and fires the step when it comes due.
func (p *Date) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	return sdk.EvaluateEach(ctx, req, decodeConfig, p.evaluate)
}

// evaluate brings one customer's schedule up to date with the event and
// fires a due, still valid occurrence.
func (p *Date) evaluate(item *sdk.EvaluateItem, cfg *Config) sdk.Result {
	unchanged := sdk.Result{State: item.State}
	isTimer := item.Event.Type == timerFired
	if isTimer && (item.Timer == nil || item.Timer.ID != timerID) {
		return unchanged
	}
	if !isTimer && cfg.Trait == "" && !matches(cfg.On, item.Event.Type) && !matches(cfg.CancelOn, item.Event.Type) {
		// Most events are not about this rule's date: leave the state
		// alone without reading it.
		return unchanged
	}
	// Customer identities (emails) stay out of the log: the event id
	// leads to them for those allowed to look.
	log := p.log.With("rule", item.Rule, "event_id", item.Event.ID)

	st, corrupt := decodeState(item.State)
	if corrupt {
		log.Warn("rule state does not decode; starting afresh", "state_bytes", len(item.State))
	}
	prev := st.Date

	// Bring the date up to date with what the item says.
	switch {
	case cfg.Trait != "":
		// The profile is current on every item, timers included: a trait
		// changed since the timer was set is seen here.
		v, _ := lookup(item.Profile.Traits, cfg.Trait)
		st.Date = valueString(v)
	case isTimer:
		// The date is the one the last on event set.
	case matches(cfg.CancelOn, item.Event.Type):
		if !st.SeenAt.IsZero() && item.Event.OccurredAt.Before(st.SeenAt) {
			log.Debug("ignoring a cancel_on event older than the date")
			return unchanged
		}
		st.Date, st.SeenAt = "", item.Event.OccurredAt.UTC()
	default: // one of on
		if !p.observe(log, item, cfg, &st) && !corrupt {
			return unchanged
		}
	}

	loc, zoneErr := p.location(item.Profile.Timezone)
	sched, dateErr := newSchedule(cfg, st.Date, loc)
	if dateErr != nil && st.Date != "" && (st.Date != prev || corrupt) {
		log.Warn("date cannot be read; nothing is scheduled", "source", cfg.source(), "error", dateErr)
	}

	res := sdk.Result{}
	from := item.Now
	if isTimer {
		if item.Timer.At.After(from) {
			from = item.Timer.At
		}
		if fire, ok := p.fire(log, item.Timer, sched, &st, cfg); ok {
			res.Fires = []sdk.Fire{fire}
		}
	}

	// Plan the next occurrence.
	var want *occurrence
	if sched != nil {
		if n := st.Next; n != nil && n.Key != st.Fired && !n.At.After(from) && sched.holds(*n) {
			// Due but not delivered yet (the host's scheduler runs late,
			// or this event came at the very moment): keep it rather than
			// skip to the next one.
			want = n
		} else if o, ok := sched.after(from); ok {
			want = &o
		}
	}
	had := st.Next
	consumed := isTimer && had != nil && had.At.Equal(item.Timer.At)
	switch {
	case want == nil && (corrupt || (had != nil && !consumed)):
		res.CancelTimers = []string{timerID}
	case want != nil && (corrupt || had == nil || !had.same(*want) || consumed):
		res.SetTimers = []sdk.Timer{{ID: timerID, At: want.At, Data: map[string]any{"key": want.Key}}}
	}
	st.Next = want
	if st.Date == "" {
		st.Fired = "" // it only guards the date it was fired for
	}
	if zoneErr != nil && (len(res.SetTimers) > 0 || len(res.Fires) > 0) {
		log.Warn("customer timezone is not a valid IANA name; using UTC", "error", zoneErr)
	}
	if len(res.SetTimers) > 0 {
		log.Debug("occurrence scheduled", "key", want.Key, "at", want.At)
	}

	res.State = encodeState(st)
	if bytes.Equal(res.State, item.State) {
		res.State = item.State
	}
	return res
}

// observe takes the date from an on event into the state and reports
// whether anything changed.
func (p *Date) observe(log hclog.Logger, item *sdk.EvaluateItem, cfg *Config, st *state) bool {
	ev := &item.Event
	var v any
	if cfg.Property == OccurredAt {
		if !ev.OccurredAt.IsZero() {
			v = ev.OccurredAt.UTC().Format(time.RFC3339Nano)
		}
	} else {
		v, _ = lookup(ev.Properties, cfg.Property)
	}
	s := valueString(v)
	if s == "" {
		// Missing data does not cancel a reminder: cancel_on does.
		log.Warn("event has no date in its property; ignored", "event_type", ev.Type, "property", cfg.Property)
		return false
	}
	older := !st.SeenAt.IsZero() && ev.OccurredAt.Before(st.SeenAt)
	if cfg.FirstOnly {
		// Keep the earliest readable date: an unreadable value must not
		// take the first order's place for good.
		if st.Date != "" && !older {
			return false
		}
		loc, _ := p.location(item.Profile.Timezone)
		if _, err := newSchedule(cfg, s, loc); err != nil {
			log.Warn("date cannot be read; event ignored", "property", cfg.Property, "error", err)
			return false
		}
	} else if older {
		log.Debug("ignoring an event older than the one that set the date")
		return false
	}
	if st.Date == s && st.SeenAt.Equal(ev.OccurredAt) {
		return false
	}
	st.Date, st.SeenAt = s, ev.OccurredAt.UTC()
	return true
}

// fire decides whether a timer that came due fires: only if its occurrence
// still follows from the current date, timezone and config, and was not
// fired already.
func (p *Date) fire(log hclog.Logger, timer *sdk.Timer, sched *schedule, st *state, cfg *Config) (sdk.Fire, bool) {
	key, _ := timer.Data["key"].(string)
	o := occurrence{Key: key, At: timer.At.UTC()}
	switch {
	case sched == nil || !sched.holds(o):
		log.Debug("stale timer: its occurrence no longer follows from the date", "key", key)
		return sdk.Fire{}, false
	case st.Fired == key:
		log.Debug("occurrence already fired", "key", key)
		return sdk.Fire{}, false
	}
	o, _ = sched.after(o.At.Add(-time.Nanosecond))
	st.Fired = key
	data := map[string]any{"date": sched.date.String(), "occurs_on": sched.anchor(o.Year)}
	if sched.yearly && sched.date.Year != 0 {
		data["years"] = o.Year - sched.date.Year
	}
	log.Debug("occurrence fired", "key", key)
	// The occurrence's local date as key: one message per occurrence,
	// however often the timer or an event is replayed.
	return sdk.Fire{Step: cfg.Step, Key: key, Data: data}, true
}

// newSchedule applies the rule's timing to a date value. It is nil, with
// no error, when there is no value.
func newSchedule(cfg *Config, value string, loc *time.Location) (*schedule, error) {
	if value == "" {
		return nil, nil
	}
	var d civil
	var err error
	if cfg.Property == OccurredAt {
		d, err = parseOccurredAt(value, loc)
	} else {
		d, err = parseDate(value, loc)
	}
	if err != nil {
		return nil, err
	}
	if d.Year == 0 && cfg.Repeat == RepeatOnce {
		return nil, fmt.Errorf("the date has no year, so repeat = %q has no day to fire on: use repeat = %q or a full date", RepeatOnce, RepeatYearly)
	}
	return &schedule{
		date: d, yearly: cfg.Repeat == RepeatYearly,
		days: cfg.offsetDays, rest: cfg.offsetRest,
		hour: cfg.hour, minute: cfg.minute, loc: loc,
	}, nil
}

// anchor is the date an occurrence stands for, before the offset: the
// birthday a reminder is about. February 29 is February 28 in other years.
func (s *schedule) anchor(year int) string {
	d := s.date.Day
	if s.date.Month == time.February && d == 29 && !isLeap(year) {
		d = 28
	}
	return civil{Year: year, Month: s.date.Month, Day: d}.String()
}

// source names where the rule reads its date, for logs.
func (c *Config) source() string {
	if c.Trait != "" {
		return "trait " + c.Trait
	}
	return "property " + c.Property
}

// location resolves a customer's timezone. Empty means UTC; a name that is
// not an IANA zone (including "Local", the machine's zone) also gives UTC,
// with the error for the caller to log.
func (p *Date) location(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	p.mu.RLock()
	loc, ok := p.zones[name]
	p.mu.RUnlock()
	if ok {
		return loc, nil
	}
	if name == "Local" || len(name) > 64 {
		return time.UTC, fmt.Errorf("unknown time zone %q", truncate(name))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC, err
	}
	p.mu.Lock()
	p.zones[name] = loc
	p.mu.Unlock()
	return loc, nil
}

// lookup finds a value by key, or by a dotted path into nested objects
// when no key has the whole name.
func lookup(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	head, rest, ok := strings.Cut(path, ".")
	if !ok {
		return nil, false
	}
	inner, isMap := m[head].(map[string]any)
	if !isMap {
		return nil, false
	}
	return lookup(inner, rest)
}

// valueString is how a date value is kept in the state: strings as
// written, numbers (Unix times) as "@" and the number, anything else as its
// JSON, which never reads as a date. Empty means no value.
func valueString(v any) string {
	var s string
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		s = strings.TrimSpace(v)
	case float64:
		s = "@" + strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		s = "@" + strconv.Itoa(v)
	case int64:
		s = "@" + strconv.FormatInt(v, 10)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte(fmt.Sprintf("%T", v))
		}
		s = string(b)
	}
	// Kept as JSON would keep it, so that the value read back from the
	// state compares equal to the one read from the next event.
	return truncate(strings.ToValidUTF8(s, "\uFFFD"))
}

// truncate caps a value at maxValueLen bytes; a capped value ends in "…"
// and so can never read as a date.
func truncate(s string) string {
	if len(s) <= maxValueLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxValueLen], "") + "…"
}

// decodeState reads the rule state. State comes back from storage and is
// not trusted: a state that does not decode, or holds values the rule
// never writes, is reported corrupt and replaced by an empty one.
func decodeState(b []byte) (state, bool) {
	var st state
	if len(b) == 0 {
		return st, false
	}
	if err := json.Unmarshal(b, &st); err != nil || !utf8.ValidString(st.Date) || len(st.Date) > maxValueLen+len("…") || len(st.Fired) > len("9999-12-31") || (st.Next != nil && len(st.Next.Key) > len("9999-12-31")) {
		return state{}, true
	}
	return st, false
}

// encodeState writes the state; nil, which deletes it, when it holds
// nothing.
func encodeState(st state) []byte {
	if st == (state{}) {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		// Only strings, a time and an int: cannot happen.
		return nil
	}
	return b
}
