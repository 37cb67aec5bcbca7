package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Plugin identity, as reported by Describe.
const (
	pluginName    = "journey"
	pluginVersion = "0.1.0"
)

// timerFired is the event type the host sends when a timer comes due.
const timerFired = "timer.fired"

// timerID names the one timer a journey keeps per customer: setting it
// again replaces it, so an instance never has two steps pending.
const timerID = "journey.step"

// Journey is the "journey" trigger.
type Journey struct {
	log hclog.Logger
}

var _ sdk.Trigger = (*Journey)(nil)

// New builds the trigger with the logger the SDK injects.
func New(log hclog.Logger) sdk.Trigger { return &Journey{log: log} }

// Describe reports the plugin's identity and config schema.
func (j *Journey) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Takes each customer through a sequence of steps with delays, branches, a goal, exit events and re-entry rules.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one rule's config.
func (j *Journey) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Evaluate moves each item's customer through the journey.
func (j *Journey) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	return sdk.EvaluateEach(ctx, req, decodeConfig, j.evaluate)
}

// run is the evaluation of one item: the state it changes and the result
// it builds.
type run struct {
	log     hclog.Logger
	item    *sdk.EvaluateItem
	cfg     *Config
	st      *state
	changed bool
	fires   []sdk.Fire
	set     *sdk.Timer // the step timer to set, if any
	cancel  bool       // cancel the step timer (unless set)
}

// evaluate applies one event or timer to one customer's journey.
func (j *Journey) evaluate(item *sdk.EvaluateItem, cfg *Config) sdk.Result {
	// The event id identifies the customer in the gateway's records
	// without putting an email address in the log.
	log := j.log.With("rule", item.Rule, "event_id", item.Event.ID)
	st, err := decodeState(item.State)
	r := &run{log: log, item: item, cfg: cfg, st: st}
	if err != nil {
		// The host's copy is unreadable: start afresh rather than leave the
		// customer stuck in the dead-letter records forever.
		log.Warn("rule state does not decode; starting afresh", "error", err)
		r.changed = true
	}

	switch typ := item.Event.Type; {
	case typ == timerFired:
		r.onTimer()
	case matches(cfg.Goal, typ):
		r.onGoal()
	case matches(cfg.Exit, typ):
		r.onExit()
	case matches(cfg.Start, typ):
		r.onStart()
	}

	res := sdk.Result{State: item.State, Fires: r.fires}
	switch {
	case r.set != nil:
		res.SetTimers = []sdk.Timer{*r.set}
	case r.cancel:
		res.CancelTimers = []string{timerID}
	}
	if r.changed {
		b, err := r.st.encode()
		if err != nil { // not reachable: the state holds JSON values only
			return sdk.Result{State: item.State, Err: err.Error()}
		}
		res.State = b
	}
	return res
}

// onStart enters the customer into the journey if the re-entry rules and
// the entry condition allow it.
func (r *run) onStart() {
	ev, st, now := &r.item.Event, r.st, r.item.Now
	if st.Entries > 0 {
		switch {
		case ev.ID != "" && startID(ev.ID) == st.StartID:
			r.log.Debug("start event already entered the journey; ignoring it")
			return
		case !ev.OccurredAt.IsZero() && ev.OccurredAt.Before(st.StartOccurredAt):
			r.log.Debug("start event happened before the last entry; ignoring it", "occurred_at", ev.OccurredAt)
			return
		case st.active() && r.cfg.Reentry != ReentryAlways:
			return
		case !st.active() && r.cfg.Reentry == ReentryNever:
			return
		case now.Sub(st.EnteredAt) < r.cfg.ReentryAfter.D():
			r.log.Debug("start event within reentry_after of the last entry; ignoring it", "entered_at", st.EnteredAt)
			return
		}
	}
	if r.cfg.When.IsSet() {
		ok, err := r.cfg.When.EvalBool(ev, &r.item.Profile)
		if err != nil {
			r.log.Warn("entry condition could not be evaluated; treating it as not met", "event_type", ev.Type, "error", err)
			return
		}
		if !ok {
			return
		}
	}
	if st.active() {
		r.log.Debug("journey restarted", "instance", st.Entries)
		r.end(statusCompleted)
	}

	r.changed = true
	st.Entries++
	st.Status = statusActive
	st.EnteredAt = now
	st.StartID = startID(ev.ID)
	st.StartOccurredAt = ev.OccurredAt
	st.Fired = nil
	st.Carried = carry(r.cfg.Carry, ev.Properties)
	r.log.Debug("journey entered", "instance", st.Entries)
	r.next(0)
}

// onGoal ends a running instance as converted, firing goal_step if set.
func (r *run) onGoal() {
	st, ev := r.st, &r.item.Event
	if !st.active() {
		return
	}
	if !ev.OccurredAt.IsZero() && ev.OccurredAt.Before(st.StartOccurredAt) {
		// Delivered late: it happened before this run began, so it is not
		// this run's conversion.
		r.log.Debug("goal event happened before the journey was entered; ignoring it", "occurred_at", ev.OccurredAt)
		return
	}
	if r.cfg.GoalStep != "" {
		data := r.fireData()
		data["goal"] = r.item.Event.Type
		r.fires = append(r.fires, sdk.Fire{Step: r.cfg.GoalStep, Key: fmt.Sprintf("%d:%s", st.Entries, r.cfg.GoalStep), Data: data})
	}
	r.log.Debug("journey converted", "instance", st.Entries, "event_type", r.item.Event.Type)
	r.end(statusConverted)
}

// onExit ends a running instance without conversion.
func (r *run) onExit() {
	if !r.st.active() {
		return
	}
	r.log.Debug("journey exited", "instance", r.st.Entries, "event_type", r.item.Event.Type)
	r.end(statusExited)
}

// onTimer runs the pending step when its timer is the current one. A
// timer of an instance that has ended, or one that a later timer replaced,
// is stale and ignored.
func (r *run) onTimer() {
	st, tm := r.st, r.item.Timer
	if tm == nil || tm.ID != timerID {
		return
	}
	inst, ok1 := intOf(tm.Data["instance"])
	seq, ok2 := intOf(tm.Data["seq"])
	if !ok1 || !ok2 || !st.active() || st.Step == "" || inst != st.Entries || seq != st.Seq {
		r.log.Debug("stale journey timer; ignoring it", "timer_instance", tm.Data["instance"], "timer_seq", tm.Data["seq"],
			"instance", st.Entries, "seq", st.Seq, "status", st.Status)
		return
	}
	// Steps are found by name, so that a config edit that inserts or
	// removes steps before it still runs the right one; if it was removed,
	// the one now at its place runs.
	i := r.cfg.stepIndex(st.Step)
	if i < 0 {
		i = st.StepIndex
		r.log.Warn("pending step is no longer in the config; going on with the step at its place", "step", st.Step, "index", i)
	}
	r.changed = true
	st.Step, st.DueAt = "", time.Time{}
	if i >= len(r.cfg.Steps) {
		r.end(statusCompleted)
		return
	}
	r.due(i)
}

// next makes step i the next one: due now if its delay is 0, else on a
// timer. Past the last step, the instance is completed.
func (r *run) next(i int) {
	switch {
	case i >= len(r.cfg.Steps):
		r.end(statusCompleted)
	case r.cfg.Steps[i].Delay > 0:
		r.schedule(i)
	default:
		r.due(i)
	}
}

// due runs step i, which is due now, and every 0s step that follows it.
func (r *run) due(i int) {
	// Validation rejects loops of 0s steps, so a chain visits each step at
	// most once; the bound is a guard, not a rule.
	for range len(r.cfg.Steps) + 1 {
		i = r.runStep(i)
		if i >= len(r.cfg.Steps) || r.cfg.Steps[i].Delay > 0 {
			r.next(i)
			return
		}
	}
	r.log.Error("journey steps loop without delay; ending the instance", "instance", r.st.Entries)
	r.end(statusCompleted)
}

// runStep fires step i if its condition holds and returns the index of the
// step that comes next.
func (r *run) runStep(i int) int {
	s := &r.cfg.Steps[i]
	ok := true
	if s.When.IsSet() {
		var err error
		ok, err = s.When.EvalBool(&r.item.Event, &r.item.Profile)
		if err != nil {
			r.log.Warn("step condition could not be evaluated; treating it as not met", "step", s.Name, "error", err)
			ok = false
		}
	}
	if !ok {
		if s.Else != "" {
			if j := r.cfg.stepIndex(s.Else); j >= 0 {
				return j
			}
		}
		return i + 1
	}
	st := r.st
	if st.Fired == nil {
		st.Fired = map[string]int{}
	}
	st.Fired[s.Name]++
	// Instance and step: a timer evaluated again never sends twice, a new
	// instance sends again. A step an else loop brings round again in the
	// same instance counts its visits.
	key := fmt.Sprintf("%d:%s", st.Entries, s.Name)
	if n := st.Fired[s.Name]; n > 1 {
		key = fmt.Sprintf("%s:%d", key, n)
	}
	data := r.fireData()
	data["step_index"] = i
	r.fires = append(r.fires, sdk.Fire{Step: s.Name, Key: key, Data: data})
	return i + 1
}

// fireData is what every fire of the instance carries.
func (r *run) fireData() map[string]any {
	data := map[string]any{
		"instance":   r.st.Entries,
		"entered_at": r.st.EnteredAt.UTC().Format(time.RFC3339),
	}
	if len(r.st.Carried) > 0 {
		data["start"] = maps.Clone(r.st.Carried)
	}
	return data
}

// schedule sets the step timer for step i, its delay from now.
func (r *run) schedule(i int) {
	st := r.st
	s := &r.cfg.Steps[i]
	st.Seq++
	st.Step, st.StepIndex, st.DueAt = s.Name, i, r.item.Now.Add(s.Delay.D())
	r.set = &sdk.Timer{ID: timerID, At: st.DueAt, Data: map[string]any{
		"instance": st.Entries, "seq": st.Seq, "step": s.Name,
	}}
}

// end closes the running instance with status; a pending step timer is
// cancelled.
func (r *run) end(status string) {
	st := r.st
	r.changed = true
	if st.Step != "" {
		r.cancel = true
	}
	r.set = nil
	st.Status = status
	st.EndedAt = r.item.Now
	st.Step, st.StepIndex, st.DueAt = "", 0, time.Time{}
}

// intOf reads a whole number from timer data, which crosses the wire as
// JSON (float64).
func intOf(v any) (int, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	default:
		return 0, false
	}
	if f != math.Trunc(f) || f < 0 || f > 1<<53 {
		return 0, false
	}
	return int(f), true
}
