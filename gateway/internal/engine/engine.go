// Package engine consumes the event log: for each committed event it runs
// the configured trigger rules through their plugins, and commits the
// outcome (rule state, outbox messages, consumed log entries) in one etcd
// transaction that only succeeds if the consumed entries are still there.
//
// Events of one customer are evaluated in commit order: a pass is split
// into rounds, each holding at most one event per customer, and a rule's
// state from one round is the input of the next.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/policy"
	"github.com/triggergate/triggergate/gateway/internal/stats"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// Rule is one configured trigger block.
type Rule struct {
	Name    string
	Trigger sdk.Trigger
	Config  sdk.RawConfig
	Actions []Action
	// Policy holds the trigger's policy settings (transactional, holdout,
	// cap); its Name is set to the rule's.
	Policy policy.Rule
}

// Action sends a rule's fires through a channel, optionally rendered with
// a template.
type Action struct {
	Channel  string
	Template string
	// Variants replace Template with a weighted, per-customer choice.
	Variants []policy.Variant
	// Steps limits the action to fires of these steps; empty means all.
	Steps []string
}

// Engine processes the event log.
type Engine struct {
	store  *store.Store
	log    *eventlog.Log
	logger hclog.Logger
	now    func() time.Time

	// The ruleset: what passes decide with. A pass holds rulesMu for
	// reading from start to commit, so SetRuleset swaps it only between
	// passes and no event is ever processed under half of one.
	rulesMu       sync.RWMutex
	rules         []Rule
	policy        *policy.Global
	sendHorizon   time.Duration     // how long sends count toward caps
	kinds         map[string]string // channel name → kind
	timerLateness time.Duration

	batch       int
	opTimeout   time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration
	maxAttempts int

	// Partition loops, started and stopped by the cluster as this node
	// gains and loses partitions.
	mu       sync.Mutex
	runCtx   context.Context // set by Run; loops live within it
	running  chan struct{}   // closed once Run has set runCtx
	loops    map[int]*partitionLoop
	stopping map[int]*partitionLoop // loops finishing their batch
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock injects the clock rules see as "now".
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithMaxAttempts sets how many times one event may fail in the trigger
// plugins, alone, before it is dead-lettered (default 10).
func WithMaxAttempts(n int) Option { return func(e *Engine) { e.maxAttempts = max(n, 1) } }

// WithBackoff sets the wait after a failed pass: min, doubling up to max.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(e *Engine) { e.minBackoff, e.maxBackoff = minWait, maxWait }
}

// WithPolicy sets the policies applied to every fire. Default: no caps,
// no quiet hours, no channel requiring opt-in.
func WithPolicy(g *policy.Global) Option {
	return func(e *Engine) {
		if g != nil {
			e.policy = g
		}
	}
}

// WithChannelKinds maps channel names to their kinds ("email", "sms"),
// for consent and caps. A channel not listed is its own kind.
func WithChannelKinds(kinds map[string]string) Option { return func(e *Engine) { e.kinds = kinds } }

// WithTimerLateness sets how late a timer may still fire; later ones are
// dropped and recorded in the customer's trace (default
// DefaultTimerLateness).
func WithTimerLateness(d time.Duration) Option {
	return func(e *Engine) {
		if d > 0 {
			e.timerLateness = d
		}
	}
}

// WithBatchSize bounds the log entries taken per pass (default 64).
func WithBatchSize(n int) Option { return func(e *Engine) { e.batch = n } }

// New returns an engine over the given rules.
func New(st *store.Store, lg *eventlog.Log, rules []Rule, logger hclog.Logger, opts ...Option) *Engine {
	e := &Engine{
		store: st, log: lg, rules: rules, logger: logger, now: time.Now,
		policy: &policy.Global{}, timerLateness: DefaultTimerLateness,
		batch: 64, opTimeout: 10 * time.Second,
		minBackoff: 100 * time.Millisecond, maxBackoff: 30 * time.Second, maxAttempts: 10,
		running: make(chan struct{}), loops: map[int]*partitionLoop{}, stopping: map[int]*partitionLoop{},
	}
	for _, o := range opts {
		o(e)
	}
	e.sendHorizon = horizon(e.rules, e.policy)
	return e
}

// horizon is how long sends count toward the rules' caps.
func horizon(rules []Rule, g *policy.Global) time.Duration {
	pols := make([]*policy.Rule, len(rules))
	for i := range rules {
		rules[i].Policy.Name = rules[i].Name
		pols[i] = &rules[i].Policy
	}
	return g.Horizon(pols)
}

// Ruleset is what the engine decides with: the rules, and the policies
// and channel kinds around them (see WithPolicy, WithChannelKinds and
// WithTimerLateness for the zero values).
type Ruleset struct {
	Rules         []Rule
	Policy        *policy.Global
	ChannelKinds  map[string]string
	TimerLateness time.Duration
}

// SetRuleset switches the engine to rs: passes under way finish with the
// old ruleset, and every pass after SetRuleset returns uses the new one.
// Rule state is kept by rule name, so a rule that keeps its name keeps
// its state; a removed rule's state stays in customer records, unused.
func (e *Engine) SetRuleset(rs Ruleset) {
	g := rs.Policy
	if g == nil {
		g = &policy.Global{}
	}
	lateness := rs.TimerLateness
	if lateness <= 0 {
		lateness = DefaultTimerLateness
	}
	h := horizon(rs.Rules, g)
	e.rulesMu.Lock()
	defer e.rulesMu.Unlock()
	e.rules, e.policy, e.kinds, e.timerLateness, e.sendHorizon = rs.Rules, g, rs.ChannelKinds, lateness, h
}

// Drain processes every partition until the log holds nothing and no
// timer is due, and returns the number of events and timers consumed,
// without fencing. It does not wait for new events: tests and tools (the
// simulator) use it to process what is there deterministically, on a
// store no other node processes. A pass may append to another partition
// (a merge hands a record over), so it sweeps until a sweep finds nothing.
func (e *Engine) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		swept := 0
		for p := range e.log.Partitions() {
			for {
				n, _, err := e.pass(ctx, p, nil, e.batch)
				swept += n
				if err != nil {
					return total + swept, err
				}
				if n == 0 {
					break
				}
			}
		}
		total += swept
		if swept == 0 {
			return total, nil
		}
	}
}

// NextTimer returns when the earliest timer of any partition is due, if
// there is one. The simulator advances its clock to it.
func (e *Engine) NextTimer(ctx context.Context) (time.Time, bool) {
	var first time.Time
	found := false
	for p := range e.log.Partitions() {
		if due, ok := e.nextTimer(ctx, p, time.Time{}); ok && (!found || due.Before(first)) {
			first, found = due, true
		}
	}
	return first, found
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// errFenced means this node no longer owns the partition: another node
// took it (our lease expired), so nothing may be committed for it.
var errFenced = errors.New("partition ownership lost")

// errTooManyOps means a pass's outcome does not fit one transaction.
var errTooManyOps = errors.New("pass outcome exceeds one transaction")

// maxOps stays under etcd's default limit of 128 operations per txn.
const maxOps = 120

// pass processes up to limit pending entries of one partition,
// and the partition's timers that are due, and returns how many of either
// it consumed and the revision it read at. With a claim, the commit is
// fenced by it. A failure of the trigger plugins comes back as a
// *processError, so the caller can isolate a poison event.
func (e *Engine) pass(ctx context.Context, partition int, claim *cluster.Claim, limit int) (int, int64, error) {
	e.rulesMu.RLock()
	defer e.rulesMu.RUnlock()
	entries, timers, rev, err := e.read(ctx, partition, limit)
	if err != nil {
		return 0, 0, err
	}
	if limit == 1 && len(timers) > 0 {
		// Isolating a failing item: one at a time, timers first.
		entries = nil
	}
	if len(entries)+len(timers) == 0 {
		return 0, rev, nil
	}
	for {
		out, err := e.process(ctx, partition, entries, timers)
		if err != nil {
			return 0, rev, &processError{entries: entries, timers: timers, err: err}
		}
		err = e.commit(ctx, entries, timers, out, claim)
		if errors.Is(err, errTooManyOps) && len(entries)+len(timers) > 1 {
			entries, timers = entries[:len(entries)/2], timers[:len(timers)/2]
			continue
		}
		if err != nil {
			return 0, rev, err
		}
		return len(entries) + len(timers), rev, nil
	}
}

// processError is a pass that failed in the trigger plugins, not in etcd.
type processError struct {
	entries []eventlog.Entry
	timers  []dueTimer
	err     error
}

func (e *processError) items() int { return len(e.entries) + len(e.timers) }

func (e *processError) Error() string { return e.err.Error() }
func (e *processError) Unwrap() error { return e.err }

// outcome is what a pass will commit.
type outcome struct {
	customers map[string]*customerRecord // by customer key
	messages  []outbox.Entry
	dead      []deadEvent
	// writes are the other keys the pass writes: timers set, moved,
	// cancelled and fired, identity index entries, events forwarded to
	// other partitions.
	writes writes
	// cmps are the conditions on keys the pass read besides the log,
	// timers and customers (identity index entries), by key.
	cmps map[string]clientv3.Cmp
	// stats are the counters the pass adds to statsKey, its partition's
	// key of the day; nil when it counted nothing.
	stats    stats.Day
	statsKey string
}

// compare makes the commit conditional on key still being at rev (0:
// still absent).
func (o *outcome) compare(key string, rev int64) {
	if o.cmps == nil {
		o.cmps = map[string]clientv3.Cmp{}
	}
	if _, ok := o.cmps[key]; !ok {
		o.cmps[key] = clientv3.Compare(clientv3.ModRevision(key), "=", rev)
	}
}

type deadEvent struct {
	Event    sdk.Event `json:"event"`
	Rule     string    `json:"rule,omitempty"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts,omitempty"`
	At       time.Time `json:"at"`
}

// customerRecord is the one etcd key kept per customer: what the gateway
// knows of the customer (customer.Record), each rule's state, and the
// timers each rule has pending.
type customerRecord struct {
	Key string `json:"key"`
	customer.Record
	Rules  map[string][]byte               `json:"rules,omitempty"`
	Timers map[string]map[string]sdk.Timer `json:"timers,omitempty"`

	modRevision int64
	dirty       bool
	erased      bool // delete the record instead of writing it
}

func (e *Engine) customerKey(key string) string {
	return e.store.Key("customers", url.PathEscape(key))
}

// work is one item of a pass: a log entry, or a due timer (then the event
// is the internal timer.fired event and only its rule sees it).
type work struct {
	entry *eventlog.Entry
	timer *dueTimer
	event sdk.Event
	key   string // customer key
}

func (e *Engine) process(ctx context.Context, partition int, entries []eventlog.Entry, timers []dueTimer) (*outcome, error) {
	now := e.now().UTC()
	out := &outcome{customers: map[string]*customerRecord{}, statsKey: stats.DayKey(e.store, now, partition)}

	// Timers first (they were due before the events now waiting were
	// read), then the log in order; split into rounds of at most one item
	// per customer.
	var items []*work
	for i := range timers {
		d := &timers[i]
		if d.Customer == "" { // undecodable: delete it
			out.writes.del(d.key)
			continue
		}
		items = append(items, &work{timer: d, key: d.Customer})
	}
	for i := range entries {
		en := &entries[i]
		if en.DecodeErr != nil {
			out.dead = append(out.dead, deadEvent{Event: sdk.Event{ID: en.Key}, Error: en.DecodeErr.Error(), At: now})
			continue
		}
		key := en.Event.Customer.Key()
		if key == "" {
			out.dead = append(out.dead, deadEvent{Event: en.Event, Error: "event has no customer identity", At: now})
			continue
		}
		items = append(items, &work{entry: en, event: en.Event, key: key})
	}
	items, err := e.resolve(ctx, partition, items, out, now)
	if err != nil {
		return nil, err
	}
	var rounds [][]*work
	seen := map[string]int{}
	for _, w := range items {
		r := seen[w.key]
		seen[w.key]++
		if r == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[r] = append(rounds[r], w)
	}
	if err := e.loadCustomers(ctx, seen, out.customers); err != nil {
		return nil, err
	}

	for _, round := range rounds {
		live := round[:0:0]
		for _, w := range round {
			c := out.customers[w.key]
			if w.timer != nil {
				if !e.timerLive(w, c, out, now) {
					continue
				}
				w.event = timerEvent(w.timer, c.Profile, now)
			} else if internalType(w.event.Type) {
				if err := e.internal(ctx, w, c, out, now); err != nil {
					return nil, err
				}
				continue
			} else {
				c.erased = false // events after an erasure start a new record
				c.Apply(&w.event, now)
				e.countEngagement(&w.event, out)
			}
			c.dirty = true
			live = append(live, w)
		}
		if err := e.evaluateRound(ctx, live, out, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// timerLive settles a due timer that will not be evaluated: one the rule
// replaced or cancelled since (stale), or one too late to fire. It
// reports whether the timer is to be evaluated; either way its key goes.
func (e *Engine) timerLive(w *work, c *customerRecord, out *outcome, now time.Time) bool {
	d := w.timer
	out.writes.del(d.key)
	cur, ok := c.Timers[d.Rule][d.Timer.ID]
	if !ok || !cur.At.Equal(d.Timer.At) {
		e.logger.Debug("stale timer dropped", "rule", d.Rule, "timer", d.Timer.ID, "customer", w.key)
		return false
	}
	delete(c.Timers[d.Rule], d.Timer.ID)
	if len(c.Timers[d.Rule]) == 0 {
		delete(c.Timers, d.Rule)
	}
	c.dirty = true
	if late := now.Sub(d.Timer.At); late > e.timerLateness {
		c.Decide(customer.Decision{At: now, Rule: d.Rule, Outcome: policy.Dropped, Reason: "timer_too_late",
			Detail: fmt.Sprintf("timer %s was due %s ago, more than the %s allowed", d.Timer.ID, late.Round(time.Second), e.timerLateness)})
		e.logger.Warn("timer too late; dropped", "rule", d.Rule, "timer", d.Timer.ID, "customer", w.key, "late", late.Round(time.Second))
		return false
	}
	return true
}

// evaluateRound sends one batch per plugin holding every (rule, item)
// pair of the round, and applies the results.
func (e *Engine) evaluateRound(ctx context.Context, round []*work, out *outcome, now time.Time) error {
	type ref struct {
		rule *Rule
		item *work
	}
	type batch struct {
		req  sdk.EvaluateRequest
		refs []ref
	}
	batches := map[sdk.Trigger]*batch{}
	var order []sdk.Trigger
	for i := range e.rules {
		rule := &e.rules[i]
		b, ok := batches[rule.Trigger]
		if !ok {
			b = &batch{req: sdk.EvaluateRequest{Rules: map[string]sdk.RawConfig{}}}
			batches[rule.Trigger] = b
			order = append(order, rule.Trigger)
		}
		for _, w := range round {
			if w.timer != nil && w.timer.Rule != rule.Name {
				continue
			}
			b.req.Rules[rule.Name] = rule.Config
			c := out.customers[w.key]
			it := sdk.EvaluateItem{Rule: rule.Name, Event: w.event, Profile: c.Profile, State: c.Rules[rule.Name], Now: now}
			if w.timer != nil {
				t := w.timer.Timer
				it.Timer = &t
			}
			b.req.Items = append(b.req.Items, it)
			b.refs = append(b.refs, ref{rule: rule, item: w})
		}
	}
	for _, t := range order {
		b := batches[t]
		if len(b.req.Items) == 0 {
			continue
		}
		resp, err := t.Evaluate(ctx, &b.req)
		if err != nil {
			return fmt.Errorf("evaluating %d items: %w", len(b.req.Items), err)
		}
		if len(resp.Results) != len(b.req.Items) {
			return fmt.Errorf("evaluating %d items: the plugin returned %d results", len(b.req.Items), len(resp.Results))
		}
		for i, res := range resp.Results {
			r := b.refs[i]
			e.apply(r.rule, r.item, res, out, now)
		}
	}
	return nil
}

func (e *Engine) apply(rule *Rule, w *work, res sdk.Result, out *outcome, now time.Time) {
	key := w.key
	if res.Err != "" {
		// The plugin could not evaluate this event for this rule. The other
		// rules' results stand; the event is kept in the dead-letter records
		// so it can be inspected and replayed.
		e.logger.Warn("rule failed for event", "rule", rule.Name, "event_id", w.event.ID, "error", res.Err)
		out.dead = append(out.dead, deadEvent{Event: w.event, Rule: rule.Name, Error: res.Err, At: now})
		return
	}
	c := out.customers[key]
	partition := e.log.Partition(key)
	if c.Rules == nil {
		c.Rules = map[string][]byte{}
	}
	if res.State == nil {
		delete(c.Rules, rule.Name)
	} else {
		c.Rules[rule.Name] = res.State
	}
	for _, id := range res.CancelTimers {
		if t, ok := c.Timers[rule.Name][id]; ok {
			out.writes.del(e.timerKey(partition, key, rule.Name, t))
			delete(c.Timers[rule.Name], id)
		}
	}
	for _, t := range res.SetTimers {
		if t.ID == "" || len(t.ID) > 200 || len(c.Timers[rule.Name]) >= maxTimersPerRule {
			e.logger.Warn("timer refused", "rule", rule.Name, "customer", key, "timer", t.ID,
				"why", "empty or over-long id, or too many timers for the rule")
			continue
		}
		if c.Timers == nil {
			c.Timers = map[string]map[string]sdk.Timer{}
		}
		if c.Timers[rule.Name] == nil {
			c.Timers[rule.Name] = map[string]sdk.Timer{}
		}
		if old, ok := c.Timers[rule.Name][t.ID]; ok {
			out.writes.del(e.timerKey(partition, key, rule.Name, old))
		}
		t.At = t.At.UTC()
		if err := e.putTimer(partition, key, rule.Name, t, out); err != nil {
			e.logger.Warn("timer refused: its data does not encode", "rule", rule.Name, "timer", t.ID, "error", err)
			continue
		}
		c.Timers[rule.Name][t.ID] = t
	}
	c.dirty = true
	for _, f := range res.Fires {
		step := f.Step
		if step == "" {
			step = "default"
		}
		for ai, a := range rule.Actions {
			if len(a.Steps) > 0 && !slices.Contains(a.Steps, step) {
				continue
			}
			e.decide(rule, step, ai, a, f, w, c, out, now)
		}
	}
}

// maxTimersPerRule bounds the timers one rule keeps for one customer.
const maxTimersPerRule = 100

// decide runs the policies on one action of a fire and queues its message
// unless they hold it back; either way the decision goes in the trace.
func (e *Engine) decide(rule *Rule, step string, ai int, a Action, f sdk.Fire, w *work, c *customerRecord, out *outcome, now time.Time) {
	key := w.key
	id := outbox.MessageID(rule.Name, step, key, f.Key, ai)
	d := e.policy.Decide(policy.Input{
		Rule: &rule.Policy, Channel: policy.Channel{Name: a.Channel, Kind: e.kind(a.Channel)},
		Variants: a.Variants, CustomerKey: key, Record: &c.Record, MessageID: id, Now: now,
	})
	dec := customer.Decision{At: now, Rule: rule.Name, Step: step, EventID: w.event.ID, Channel: a.Channel,
		MessageID: id, Outcome: d.Outcome, Reason: d.Reason, Detail: d.Detail}
	template := a.Template
	if d.Variant != nil {
		template, dec.Variant = d.Variant.Template, d.Variant.Name
	}
	switch d.Outcome {
	case policy.Sent, policy.Deferred, policy.Fallback:
		if d.Outcome == policy.Deferred {
			dec.Until = d.SendAt
		}
		dec.Channel = d.Channel
		msg := sdk.Message{ID: id, Trigger: rule.Name, Step: step, Variant: dec.Variant, Profile: c.Profile, Event: w.event,
			Fire: f.Data, CreatedAt: now}
		out.messages = append(out.messages, outbox.Entry{
			Message: msg, Partition: e.log.Partition(key), Customer: key, Channel: d.Channel, Template: template,
			Transactional: rule.Policy.Transactional, NextAttemptAt: d.SendAt,
		})
		c.RecordSend(customer.Send{At: now, Rule: rule.Name, Channel: d.Channel, Kind: e.kind(d.Channel),
			Transactional: rule.Policy.Transactional}, id, e.sendHorizon)
		e.logger.Debug("rule fired", "rule", rule.Name, "step", step, "customer", key,
			"event_id", w.event.ID, "channel", d.Channel, "message_id", id, "outcome", d.Outcome)
	default:
		e.logger.Debug("fire held back", "rule", rule.Name, "step", step, "customer", key,
			"event_id", w.event.ID, "channel", a.Channel, "outcome", d.Outcome, "reason", d.Reason)
	}
	k := stats.Key{Trigger: rule.Name, Step: step, Variant: dec.Variant, Channel: dec.Channel}
	switch d.Outcome {
	case policy.Sent, policy.Deferred, policy.Fallback:
		out.count(k, func(c *stats.Counts) { c.Queued++ })
	default:
		out.count(k, func(c *stats.Counts) {
			if c.Suppressed == nil {
				c.Suppressed = map[string]int64{}
			}
			c.Suppressed[d.Reason]++
		})
	}
	c.Decide(dec)
	c.dirty = true
}

func (e *Engine) kind(channel string) string {
	if k, ok := e.kinds[channel]; ok && k != "" {
		return k
	}
	return channel
}

func (e *Engine) loadCustomers(ctx context.Context, keys map[string]int, into map[string]*customerRecord) error {
	ops := make([]clientv3.Op, 0, len(keys))
	names := make([]string, 0, len(keys))
	for k := range keys {
		ops = append(ops, clientv3.OpGet(e.customerKey(k)))
		names = append(names, k)
	}
	for start := 0; start < len(ops); start += maxOps {
		end := min(start+maxOps, len(ops))
		tctx, cancel := context.WithTimeout(ctx, e.opTimeout)
		resp, err := e.store.Client().Txn(tctx).Then(ops[start:end]...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("loading customers: %w", err)
		}
		for i, r := range resp.Responses {
			name := names[start+i]
			rec := &customerRecord{Key: name}
			if kvs := r.GetResponseRange().Kvs; len(kvs) == 1 {
				if err := json.Unmarshal(kvs[0].Value, rec); err != nil {
					e.logger.Error("customer record does not decode; starting afresh", "customer", name, "error", err)
					rec = &customerRecord{Key: name}
				}
				rec.modRevision = kvs[0].ModRevision
			}
			into[name] = rec
		}
	}
	return nil
}

// commit writes a pass's outcome if every consumed entry and timer and
// every customer record is still as read.
func (e *Engine) commit(ctx context.Context, entries []eventlog.Entry, timers []dueTimer, out *outcome, claim *cluster.Claim) error {
	var cmps []clientv3.Cmp
	if claim != nil {
		cmps = append(cmps, claim.Fence())
	}
	for _, en := range entries {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(en.Key), "=", en.ModRevision))
	}
	for _, t := range timers {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(t.key), "=", t.modRevision))
	}
	for _, k := range slices.Sorted(maps.Keys(out.cmps)) {
		cmps = append(cmps, out.cmps[k])
	}
	ops := e.log.ConsumeOps(entries)
	ops = append(ops, out.writes.list()...)
	for key, c := range out.customers {
		if !c.dirty {
			continue
		}
		k := e.customerKey(key)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", c.modRevision))
		if c.erased {
			ops = append(ops, clientv3.OpDelete(k))
			continue
		}
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encoding customer %q: %w", key, err)
		}
		ops = append(ops, clientv3.OpPut(k, string(b)))
	}
	queued := map[string]bool{}
	for i := range out.messages {
		m := &out.messages[i]
		if queued[m.Message.ID] {
			continue // the same fire twice in one pass is one message
		}
		queued[m.Message.ID] = true
		v, err := m.Encode()
		if err != nil {
			return err
		}
		ops = append(ops, clientv3.OpPut(e.store.Key(outbox.KeyParts(m.Partition, m.Message.ID)...), v))
	}
	for _, d := range out.dead {
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encoding dead-letter record: %w", err)
		}
		id := d.Event.ID
		if d.Rule != "" {
			id += "." + d.Rule
		}
		ops = append(ops, clientv3.OpPut(e.store.Key("deadletter", "events", url.PathEscape(id)), string(b)))
	}
	if cmp, op, ok, err := e.statsWrite(ctx, out); err != nil {
		return err
	} else if ok {
		cmps, ops = append(cmps, cmp), append(ops, op)
	}
	if len(ops) > maxOps || len(cmps) > maxOps {
		if len(entries)+len(timers) == 1 {
			return fmt.Errorf("one item produces %d writes, more than one transaction holds", len(ops))
		}
		return errTooManyOps
	}
	tctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	defer cancel()
	resp, err := e.store.Client().Txn(tctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("committing %d events and %d timers: %w", len(entries), len(timers), err)
	}
	if !resp.Succeeded {
		if claim != nil && !e.stillOwned(ctx, claim) {
			return errFenced
		}
		return fmt.Errorf("committing %d events and %d timers: the log, a timer or a customer changed underneath; re-reading", len(entries), len(timers))
	}
	metrics.RecordPass(out.stats)
	e.logger.Debug("pass committed", "events", len(entries), "timers", len(timers), "messages", len(out.messages), "dead", len(out.dead))
	return nil
}
