package main

import (
	"context"
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
	pluginName    = "inactivity"
	pluginVersion = "0.1.0"
)

// timerFired is the internal event type the host sends when a timer comes
// due. It is never activity.
const timerFired = "timer.fired"

// DefaultStep is the first step's name when the config names none.
const DefaultStep = "default"

// timerID names the rule's one timer per customer: the next step.
const timerID = "inactivity"

// DefaultIgnore are the event types that "*" and prefix patterns in `on`
// do not count as activity: what the gateway's own messages cause
// (deliveries, bounces, opens that mail clients fetch by themselves,
// link-scanner clicks) and record syncs. Counting them would make the
// inactivity message itself look like the customer coming back.
var DefaultIgnore = []string{
	"email.*", "sms.*", "sendgrid.*", "mailgun.*", "postmark.*", "twilio.*",
	"customer.updated", "customer.deleted",
}

// Config is one rule's config block.
type Config struct {
	// On lists what counts as activity.
	On sdk.EventTypes `hcl:"on,optional" doc:"Event types that count as activity. \"*\" matches any type, \"order.*\" any type starting with \"order.\"; \"timer.fired\" never counts. Default [\"*\"]."`
	// Ignore narrows the patterns of On.
	Ignore []string `hcl:"ignore,optional" doc:"Event types that \"*\" and prefix patterns in on do not count; a type written out in full in on still counts. Default: the gateway's own message events and record syncs (email.*, sms.*, sendgrid.*, mailgun.*, postmark.*, twilio.*, customer.updated, customer.deleted)."`
	// After is the silence before the first step.
	After sdk.Duration `hcl:"after" doc:"Time without activity before the first step fires, e.g. \"30d\"."`
	// Step is the first step's name.
	Step string `hcl:"step,optional" doc:"Name of the first step. Default \"default\"."`
	// Then are further steps as the silence goes on.
	Then []Then `hcl:"then,block" doc:"Further steps if the silence goes on, each measured from the last activity and later than the step before. After the last one nothing more fires until the customer is active again."`
	// ReturnedStep fires when a customer comes back.
	ReturnedStep string `hcl:"returned_step,optional" doc:"Step fired by the first activity after at least one inactivity step has fired (\"welcome back\"). Default: none."`
	// When is an optional condition over the activity event.
	When sdk.Expression `hcl:"when,optional" doc:"Condition over event and customer that an event must meet to count as activity, e.g. customer.orders_count > 0. An evaluation error counts as not met and is logged. Default: always."`

	plan []step // the first step then the `then` steps, set by decodeConfig
}

// Then is a `then { }` block.
type Then struct {
	// Step names the step.
	Step string `hcl:"step" doc:"Name of the step, e.g. \"final\"; distinct from every other step of the rule."`
	// After is measured from the last activity.
	After sdk.Duration `hcl:"after" doc:"Time without activity before this step fires, e.g. \"60d\"; later than the step before."`
}

// step is one step of a rule's plan.
type step struct {
	name  string
	after time.Duration
}

// Validate checks what the struct tags cannot express.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	if len(c.On) == 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("on"), "on must list at least one event type, e.g. on = [\"*\"] (the default)"))
	}
	for i, typ := range c.On {
		switch {
		case strings.TrimSpace(typ) == "":
			diags = append(diags, sdk.Errorf(sdk.Attr("on").Index(i), "event type must not be empty"))
		case typ == timerFired:
			diags = append(diags, sdk.Errorf(sdk.Attr("on").Index(i), "%q is the gateway's own timer event and never counts as activity; remove it", timerFired))
		}
	}
	for i, typ := range c.Ignore {
		if strings.TrimSpace(typ) == "" {
			diags = append(diags, sdk.Errorf(sdk.Attr("ignore").Index(i), "event type must not be empty"))
		}
	}
	if c.After <= 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("after"), "after must be longer than 0, e.g. \"30d\""))
	}
	if strings.TrimSpace(c.Step) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("step"), "step must not be empty; leave it out to use %q", DefaultStep))
	}
	names := map[string]bool{c.Step: true}
	prev, prevName := c.After, "after"
	for i, th := range c.Then {
		p := sdk.Attr("then").Index(i)
		switch {
		case strings.TrimSpace(th.Step) == "":
			diags = append(diags, sdk.Errorf(p.Attr("step"), "step must name the step, e.g. \"final\""))
		case names[th.Step]:
			diags = append(diags, sdk.Errorf(p.Attr("step"), "step %q is already used by another step of this rule; give each step its own name", th.Step))
		}
		names[th.Step] = true
		if th.After <= prev {
			diags = append(diags, sdk.Errorf(p.Attr("after"), "after (%s) must be later than %s (%s): steps are measured from the last activity, in order",
				th.After.D(), prevName, prev.D()))
		}
		prev, prevName = th.After, fmt.Sprintf("then[%d].after", i)
	}
	switch {
	case c.ReturnedStep != "" && strings.TrimSpace(c.ReturnedStep) == "":
		diags = append(diags, sdk.Errorf(sdk.Attr("returned_step"), "returned_step must name a step, e.g. \"welcome_back\", or be left out"))
	case c.ReturnedStep != "" && names[c.ReturnedStep]:
		diags = append(diags, sdk.Errorf(sdk.Attr("returned_step"), "returned_step %q is already an inactivity step; give it its own name", c.ReturnedStep))
	}
	return diags
}

// counts reports whether an event type is activity.
func (c *Config) counts(typ string) bool {
	switch {
	case typ == timerFired:
		return false
	case slices.Contains(c.On, typ):
		return true
	}
	return sdk.MatchType(c.On, typ) && !sdk.MatchType(c.Ignore, typ)
}

// decodeConfig decodes a rule's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{On: []string{"*"}, Ignore: slices.Clone(DefaultIgnore), Step: DefaultStep}
	resp := sdk.CheckConfig(raw, cfg)
	cfg.plan = append(cfg.plan, step{name: cfg.Step, after: cfg.After.D()})
	for _, th := range cfg.Then {
		cfg.plan = append(cfg.plan, step{name: th.Step, after: th.After.D()})
	}
	return cfg, resp
}

// state is what the rule keeps per customer, as JSON. A customer without
// state has never been active for this rule and is never messaged.
type state struct {
	// Last is when the last activity occurred; steps are measured from it.
	Last time.Time `json:"last"`
	// LastID is the last activity's event id. It keys the inactivity
	// fires: the same for every retry, new after the next activity.
	LastID string `json:"last_id,omitempty"`
	// Fired is how many steps have fired since Last (or, for a step
	// skipped because a later one was already due, passed).
	Fired int `json:"fired,omitempty"`
	// FiredAt is when the last step fired, on the gateway's clock. Only
	// activity that occurred since then is a return.
	FiredAt time.Time `json:"fired_at,omitzero"`
}

// Inactivity is the "inactivity" trigger.
type Inactivity struct {
	log hclog.Logger
}

var _ sdk.Trigger = (*Inactivity)(nil)

// New builds the trigger with the logger the SDK injects.
func New(log hclog.Logger) sdk.Trigger { return &Inactivity{log: log} }

// Describe reports the plugin's identity and config schema.
func (in *Inactivity) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Fires steps when a customer shows no activity for a while, and optionally when they come back.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one rule's config.
func (in *Inactivity) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Evaluate restarts the customer's clock on activity and fires the steps
// whose time has come.
func (in *Inactivity) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	return sdk.EvaluateEach(ctx, req, decodeConfig, in.evaluate)
}

// evaluate handles one item.
func (in *Inactivity) evaluate(item *sdk.EvaluateItem, cfg *Config) sdk.Result {
	log := in.log.With("rule", item.Rule, "event_id", item.Event.ID, "event_type", item.Event.Type)
	isTimer := item.Event.Type == timerFired
	if !isTimer && (!cfg.counts(item.Event.Type) || !meetsWhen(log, cfg, item)) {
		return sdk.Result{State: item.State}
	}
	st, ok := load(log, item.State, cfg)
	now := item.Now.UTC()
	var res sdk.Result
	switch {
	case isTimer && !ok:
		// Never active (or the state was lost): never messaged.
		return sdk.Result{}
	case isTimer:
		res = timer(log, cfg, &st, now)
	default:
		var changed bool
		res, changed = activity(log, cfg, &st, ok, &item.Event, now)
		if !changed {
			return sdk.Result{State: item.State}
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return sdk.Result{State: item.State, Err: fmt.Sprintf("encoding state of rule %q: %v", item.Rule, err)}
	}
	res.State = b
	return res
}

// load decodes the state, which comes back from storage and is untrusted.
// It reports false when there is none worth keeping.
func load(log hclog.Logger, raw []byte, cfg *Config) (state, bool) {
	var st state
	if len(raw) == 0 {
		return st, false
	}
	if err := json.Unmarshal(raw, &st); err != nil || st.Last.IsZero() {
		log.Warn("rule state does not decode; starting afresh", "error", err)
		return state{}, false
	}
	st.Fired = min(max(st.Fired, 0), len(cfg.plan))
	return st, true
}

// activity restarts the clock, first firing the returned step if the
// customer is coming back. It reports whether anything changed.
func activity(log hclog.Logger, cfg *Config, st *state, known bool, ev *sdk.Event, now time.Time) (sdk.Result, bool) {
	at := eventTime(ev, now)
	if known {
		if ev.ID != "" && ev.ID == st.LastID {
			log.Debug("activity already taken in; ignoring it")
			return sdk.Result{}, false
		}
		if at.Before(st.Last) {
			log.Debug("activity older than the last one; ignoring it", "last", st.Last)
			return sdk.Result{}, false
		}
	}
	var res sdk.Result
	if known && st.Fired > 0 && cfg.ReturnedStep != "" && !at.Before(st.FiredAt) {
		key := ev.ID
		if key == "" {
			key = "t" + strconv.FormatInt(at.UnixNano(), 10)
		}
		log.Debug("customer is back", "step", cfg.ReturnedStep)
		res.Fires = []sdk.Fire{{
			Step: cfg.ReturnedStep,
			Key:  key,
			Data: map[string]any{
				"step":           cfg.ReturnedStep,
				"last_active_at": st.Last.Format(time.RFC3339),
				"inactive_days":  int(at.Sub(st.Last) / (24 * time.Hour)),
				"steps_fired":    st.Fired,
				"last_step":      cfg.plan[st.Fired-1].name,
			},
		}}
	}
	*st = state{Last: at, LastID: ev.ID}
	res.SetTimers = []sdk.Timer{nextTimer(cfg, st)}
	return res, true
}

// timer fires the step that is due. When the next step and the one after
// are both overdue (the gateway was down, the activity arrived late), only
// the latest due step fires: the customer gets the message that fits now.
func timer(log hclog.Logger, cfg *Config, st *state, now time.Time) sdk.Result {
	if st.Fired >= len(cfg.plan) {
		return sdk.Result{} // all sent: silent until the customer is active
	}
	if st.Last.Add(cfg.plan[st.Fired].after).After(now) {
		return sdk.Result{SetTimers: []sdk.Timer{nextTimer(cfg, st)}}
	}
	j := st.Fired
	for j+1 < len(cfg.plan) && !st.Last.Add(cfg.plan[j+1].after).After(now) {
		j++
	}
	name := cfg.plan[j].name
	key := st.LastID
	if key == "" {
		key = "t" + strconv.FormatInt(st.Last.UnixNano(), 10)
	}
	log.Debug("inactivity step due", "step", name)
	res := sdk.Result{Fires: []sdk.Fire{{
		Step: name,
		Key:  key,
		Data: map[string]any{
			"step":           name,
			"last_active_at": st.Last.Format(time.RFC3339),
			"inactive_days":  int(now.Sub(st.Last) / (24 * time.Hour)),
			"last_event_id":  st.LastID,
		},
	}}}
	st.Fired, st.FiredAt = j+1, now
	if st.Fired < len(cfg.plan) {
		res.SetTimers = []sdk.Timer{nextTimer(cfg, st)}
	}
	return res
}

// nextTimer is the timer of the next step to fire.
func nextTimer(cfg *Config, st *state) sdk.Timer {
	s := cfg.plan[st.Fired]
	return sdk.Timer{ID: timerID, At: st.Last.Add(s.after), Data: map[string]any{"step": s.name}}
}

// meetsWhen evaluates the rule's condition on an activity event.
func meetsWhen(log hclog.Logger, cfg *Config, item *sdk.EvaluateItem) bool {
	if !cfg.When.IsSet() {
		return true
	}
	ok, err := cfg.When.EvalBool(&item.Event, &item.Profile)
	if err != nil {
		log.Warn("condition could not be evaluated; treating it as not met", "error", err)
		return false
	}
	return ok
}

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
