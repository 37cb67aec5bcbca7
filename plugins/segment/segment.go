package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Plugin identity, as reported by Describe.
const (
	pluginName    = "segment"
	pluginVersion = "0.1.0"
)

// timerFired is the internal event type the host sends when a timer comes
// due. This trigger sets no timers and never re-evaluates on it.
const timerFired = "timer.fired"

// Defaults of the config attributes.
const (
	DefaultFireOn    = fireEnter
	DefaultEnterStep = "entered"
	DefaultLeaveStep = "left"
)

// The values of fire_on.
const (
	fireEnter = "enter"
	fireLeave = "leave"
	fireBoth  = "both"
)

// maxEntries bounds the entry count read from stored state; a larger one
// is corrupt (and would overflow).
const maxEntries = 1 << 30

// Config is one rule's config block.
type Config struct {
	// Condition defines the segment.
	Condition sdk.Expression `hcl:"condition" doc:"Condition over customer (and event) that defines membership, e.g. customer.lifetime_value >= 1000. An evaluation error (such as a missing attribute) counts as not a member and is logged; guard optional data with try() or can()."`
	// On lists the event types on which membership is re-evaluated.
	On sdk.EventTypes `hcl:"on,optional" doc:"Event types on which to re-evaluate membership. \"*\" matches any type, \"order.*\" any type starting with \"order.\"; \"timer.fired\" never re-evaluates. Default [\"*\"]."`
	// FireOn says which transitions fire.
	FireOn string `hcl:"fire_on,optional" doc:"Which transitions fire: \"enter\", \"leave\" or \"both\". Default \"enter\"."`
	// EnterStep is the step fired on entering.
	EnterStep string `hcl:"enter_step,optional" doc:"Step fired when the customer enters the segment. Default \"entered\"."`
	// LeaveStep is the step fired on leaving.
	LeaveStep string `hcl:"leave_step,optional" doc:"Step fired when the customer leaves the segment. Default \"left\"."`
	// Once limits the rule to the customer's first entry.
	Once bool `hcl:"once,optional" doc:"If true, only the customer's first entry fires (and, with fire_on = \"leave\" or \"both\", only leaving it), as for an enrolment. Default false: every re-entry fires again."`
	// ReentryAfter spaces out enter fires.
	ReentryAfter sdk.Duration `hcl:"reentry_after,optional" doc:"Minimum time between two enter fires for a customer, e.g. \"30d\"; an entry sooner than that is recorded but does not fire. Default: none."`
}

// Validate checks what the struct tags cannot express.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	if !c.Condition.IsSet() {
		diags = append(diags, sdk.Errorf(sdk.Attr("condition"), "condition must not be empty, e.g. condition = customer.lifetime_value >= 1000"))
	}
	if len(c.On) == 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("on"), "on must list at least one event type; leave it out to re-evaluate on every event"))
	}
	for i, typ := range c.On {
		switch strings.TrimSpace(typ) {
		case "":
			diags = append(diags, sdk.Errorf(sdk.Attr("on").Index(i), "event type must not be empty"))
		case timerFired:
			diags = append(diags, sdk.Errorf(sdk.Attr("on").Index(i), "%q is internal and never re-evaluates membership; remove it", timerFired))
		}
	}
	switch c.FireOn {
	case fireEnter, fireLeave, fireBoth:
	default:
		diags = append(diags, sdk.Errorf(sdk.Attr("fire_on"), "fire_on must be %q, %q or %q, got %q", fireEnter, fireLeave, fireBoth, c.FireOn))
	}
	if strings.TrimSpace(c.EnterStep) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("enter_step"), "enter_step must not be empty; leave it out to use %q", DefaultEnterStep))
	}
	if strings.TrimSpace(c.LeaveStep) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("leave_step"), "leave_step must not be empty; leave it out to use %q", DefaultLeaveStep))
	}
	if c.ReentryAfter > 0 {
		switch {
		case c.Once:
			diags = append(diags, warnf(sdk.Attr("reentry_after"), "reentry_after has no effect with once = true, which never fires a re-entry; remove one of them"))
		case c.FireOn == fireLeave:
			diags = append(diags, warnf(sdk.Attr("reentry_after"), "reentry_after has no effect with fire_on = %q, which never fires on entering; remove it", fireLeave))
		}
	}
	return diags
}

// warnf builds a warning diagnostic at path.
func warnf(path sdk.Path, format string, args ...any) sdk.Diagnostic {
	d := sdk.Errorf(path, format, args...)
	d.Severity = sdk.SeverityWarning
	return d
}

// matches reports whether an event type re-evaluates membership.
func (c *Config) matches(typ string) bool {
	return typ != timerFired && sdk.MatchType(c.On, typ)
}

// firesOnEnter reports whether entering the segment fires.
func (c *Config) firesOnEnter() bool { return c.FireOn == fireEnter || c.FireOn == fireBoth }

// firesOnLeave reports whether leaving the segment fires.
func (c *Config) firesOnLeave() bool { return c.FireOn == fireLeave || c.FireOn == fireBoth }

// decodeConfig decodes a rule's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{
		On:        []string{"*"},
		FireOn:    DefaultFireOn,
		EnterStep: DefaultEnterStep,
		LeaveStep: DefaultLeaveStep,
	}
	return cfg, sdk.CheckConfig(raw, cfg)
}

// state is what the rule keeps per customer, as JSON. A customer who has
// never been a member has none.
type state struct {
	// Member is whether the customer was in the segment at the last
	// evaluation.
	Member bool `json:"member"`
	// Since is when Member last changed.
	Since time.Time `json:"since,omitzero"`
	// EnteredAt is when the current, or last, membership began.
	EnteredAt time.Time `json:"entered_at,omitzero"`
	// Entries counts the customer's entries; it numbers the fire keys.
	Entries int `json:"entries"`
	// LastEnterFire is when an enter step last fired, for reentry_after.
	LastEnterFire time.Time `json:"last_enter_fire,omitzero"`
}

// Segment is the "segment" trigger.
type Segment struct {
	log hclog.Logger
}

var _ sdk.Trigger = (*Segment)(nil)

// New builds the trigger with the logger the SDK injects.
func New(log hclog.Logger) sdk.Trigger { return &Segment{log: log} }

// Describe reports the plugin's identity and config schema.
func (s *Segment) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Fires a step when a customer enters, or leaves, a segment defined by a condition over the profile.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one rule's config.
func (s *Segment) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Evaluate re-evaluates membership on matching events and fires on the
// transitions the rule asks for.
func (s *Segment) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	return sdk.EvaluateEach(ctx, req, decodeConfig, s.evaluate)
}

// evaluate re-evaluates one customer's membership.
func (s *Segment) evaluate(item *sdk.EvaluateItem, cfg *Config) sdk.Result {
	ev := &item.Event
	if !cfg.matches(ev.Type) {
		return sdk.Result{State: item.State}
	}
	log := s.log.With("rule", item.Rule, "event_id", ev.ID, "event_type", ev.Type)
	member, err := cfg.Condition.EvalBool(ev, &item.Profile)
	if err != nil {
		log.Warn("condition could not be evaluated; counting the customer as not a member", "error", err)
		member = false
	}
	st, sound := s.decodeState(log, item.State, item.Now)
	now := item.Now
	var fires []sdk.Fire
	switch {
	case member && !st.Member:
		st.Member, st.Since, st.EnteredAt = true, now, now
		st.Entries++
		log.Debug("customer entered the segment", "entry", st.Entries)
		if fire, ok := s.enterFire(log, cfg, &st, now); ok {
			fires = append(fires, fire)
		}
	case !member && st.Member:
		st.Member, st.Since = false, now
		log.Debug("customer left the segment", "entry", st.Entries)
		if cfg.firesOnLeave() && (!cfg.Once || st.Entries == 1) {
			fires = append(fires, sdk.Fire{
				Step: cfg.LeaveStep,
				Key:  "leave-" + strconv.Itoa(st.Entries),
				Data: map[string]any{
					"condition":  cfg.Condition.String(),
					"entered_at": formatTime(st.EnteredAt),
					"left_at":    formatTime(now),
					"entry":      st.Entries,
				},
			})
		}
	case sound:
		// No change, and the stored state was sound: keep it as it is.
		return sdk.Result{State: item.State}
	}
	return s.result(log, st, fires)
}

// enterFire decides whether an entry fires. The entry number keys it, so
// a re-evaluation of the same event is the same message and a later
// re-entry a new one.
func (s *Segment) enterFire(log hclog.Logger, cfg *Config, st *state, now time.Time) (sdk.Fire, bool) {
	switch {
	case !cfg.firesOnEnter():
		return sdk.Fire{}, false
	case cfg.Once && st.Entries > 1:
		log.Debug("re-entry does not fire: once = true", "entry", st.Entries)
		return sdk.Fire{}, false
	case !st.LastEnterFire.IsZero() && now.Sub(st.LastEnterFire) < cfg.ReentryAfter.D():
		log.Debug("re-entry does not fire: within reentry_after of the last one", "entry", st.Entries, "last_enter_fire", st.LastEnterFire)
		return sdk.Fire{}, false
	}
	st.LastEnterFire = now
	return sdk.Fire{
		Step: cfg.EnterStep,
		Key:  "enter-" + strconv.Itoa(st.Entries),
		Data: map[string]any{
			"condition":  cfg.Condition.String(),
			"entered_at": formatTime(now),
			"entry":      st.Entries,
		},
	}, true
}

// decodeState reads the rule state; sound is false when it had to be
// repaired or replaced, so that the repair is stored. State that does not
// decode, or holds an impossible entry count, is logged and replaced by
// "never a member": a customer who still matches then enters again as
// entry 1, whose fire the host already knows if it sent it.
func (s *Segment) decodeState(log hclog.Logger, raw []byte, now time.Time) (st state, sound bool) {
	if len(raw) == 0 {
		return state{}, true
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		log.Warn("rule state does not decode; starting afresh", "error", err)
		return state{}, false
	}
	if st.Entries < 0 || st.Entries > maxEntries {
		log.Warn("rule state holds an impossible entry count; starting afresh", "entries", st.Entries)
		return state{}, false
	}
	sound = true
	if st.Member && st.Entries == 0 {
		st.Entries, sound = 1, false
	}
	if st.LastEnterFire.After(now) {
		// A fire in the future would hold re-entries back for too long.
		st.LastEnterFire, sound = now, false
	}
	return st, sound
}

// result encodes the new state with the fires. A customer who has never
// been a member keeps no state.
func (s *Segment) result(log hclog.Logger, st state, fires []sdk.Fire) sdk.Result {
	if !st.Member && st.Entries == 0 {
		return sdk.Result{Fires: fires}
	}
	b, err := json.Marshal(st)
	if err != nil {
		// Only times outside years 0-9999 fail to encode.
		log.Warn("rule state does not encode; dropping it", "error", err)
		return sdk.Result{Fires: fires}
	}
	return sdk.Result{State: b, Fires: fires}
}

// formatTime writes a time for fire data.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
