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
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// Rule is one configured trigger block.
type Rule struct {
	Name    string
	Trigger sdk.Trigger
	Config  sdk.RawConfig
	Actions []Action
}

// Action sends a rule's fires through a channel, optionally rendered with
// a template.
type Action struct {
	Channel  string
	Template string
}

// Engine processes the event log.
type Engine struct {
	store  *store.Store
	log    *eventlog.Log
	rules  []Rule
	logger hclog.Logger
	now    func() time.Time

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

// WithBatchSize bounds the log entries taken per pass (default 64).
func WithBatchSize(n int) Option { return func(e *Engine) { e.batch = n } }

// New returns an engine over the given rules.
func New(st *store.Store, lg *eventlog.Log, rules []Rule, logger hclog.Logger, opts ...Option) *Engine {
	e := &Engine{
		store: st, log: lg, rules: rules, logger: logger, now: time.Now,
		batch: 64, opTimeout: 10 * time.Second,
		minBackoff: 100 * time.Millisecond, maxBackoff: 30 * time.Second, maxAttempts: 10,
		running: make(chan struct{}), loops: map[int]*partitionLoop{}, stopping: map[int]*partitionLoop{},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Drain processes every partition until the log is empty and returns the
// number of events consumed, without fencing. It does not wait for new
// events: tests and tools use it to process what is there
// deterministically, on a store no other node processes.
func (e *Engine) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, _, err := e.pass(ctx, -1, nil, e.batch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
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

// pass processes up to limit pending entries of one partition (-1: all)
// and returns how many it consumed and the revision it read at. With a
// claim, the commit is fenced by it. A failure of the trigger plugins comes
// back as a *processError, so the caller can isolate a poison event.
func (e *Engine) pass(ctx context.Context, partition int, claim *cluster.Claim, limit int) (int, int64, error) {
	rctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	entries, rev, err := e.log.Pending(rctx, partition, limit)
	cancel()
	if err != nil {
		return 0, 0, fmt.Errorf("reading the event log: %w", err)
	}
	if len(entries) == 0 {
		return 0, rev, nil
	}
	for {
		out, err := e.process(ctx, entries)
		if err != nil {
			return 0, rev, &processError{entries: entries, err: err}
		}
		err = e.commit(ctx, entries, out, claim)
		if errors.Is(err, errTooManyOps) && len(entries) > 1 {
			entries = entries[:len(entries)/2]
			continue
		}
		if err != nil {
			return 0, rev, err
		}
		return len(entries), rev, nil
	}
}

// processError is a pass that failed in the trigger plugins, not in etcd.
type processError struct {
	entries []eventlog.Entry
	err     error
}

func (e *processError) Error() string { return e.err.Error() }
func (e *processError) Unwrap() error { return e.err }

// outcome is what a pass will commit.
type outcome struct {
	customers map[string]*customerRecord // by customer key
	messages  []outbox.Entry
	dead      []deadEvent
}

type deadEvent struct {
	Event    sdk.Event `json:"event"`
	Rule     string    `json:"rule,omitempty"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts,omitempty"`
	At       time.Time `json:"at"`
}

// customerRecord is the one etcd key kept per customer: the profile and
// each rule's state.
type customerRecord struct {
	Key     string                          `json:"key"`
	Profile sdk.Profile                     `json:"profile"`
	Rules   map[string][]byte               `json:"rules,omitempty"`
	Timers  map[string]map[string]sdk.Timer `json:"timers,omitempty"`

	modRevision int64
	dirty       bool
}

func (e *Engine) customerKey(key string) string {
	return e.store.Key("customers", url.PathEscape(key))
}

func (e *Engine) process(ctx context.Context, entries []eventlog.Entry) (*outcome, error) {
	out := &outcome{customers: map[string]*customerRecord{}}
	now := e.now().UTC()

	// Split into rounds of at most one event per customer, in log order.
	var rounds [][]*eventlog.Entry
	seen := map[string]int{}
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
		r := seen[key]
		seen[key]++
		if r == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[r] = append(rounds[r], en)
	}
	if err := e.loadCustomers(ctx, seen, out.customers); err != nil {
		return nil, err
	}

	for _, round := range rounds {
		for _, en := range round {
			c := out.customers[en.Event.Customer.Key()]
			c.Profile = mergeProfile(c.Profile, &en.Event)
			c.dirty = true
		}
		if err := e.evaluateRound(ctx, round, out, now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// evaluateRound sends one batch per plugin holding every (rule, event)
// pair of the round, and applies the results.
func (e *Engine) evaluateRound(ctx context.Context, round []*eventlog.Entry, out *outcome, now time.Time) error {
	type ref struct {
		rule  *Rule
		entry *eventlog.Entry
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
		b.req.Rules[rule.Name] = rule.Config
		for _, en := range round {
			c := out.customers[en.Event.Customer.Key()]
			b.req.Items = append(b.req.Items, sdk.EvaluateItem{
				Rule: rule.Name, Event: en.Event, Profile: c.Profile, State: c.Rules[rule.Name], Now: now,
			})
			b.refs = append(b.refs, ref{rule: rule, entry: en})
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
		for i, res := range resp.Results {
			r := b.refs[i]
			e.apply(r.rule, r.entry, res, out, now)
		}
	}
	return nil
}

func (e *Engine) apply(rule *Rule, en *eventlog.Entry, res sdk.Result, out *outcome, now time.Time) {
	key := en.Event.Customer.Key()
	if res.Err != "" {
		// The plugin could not evaluate this event for this rule. The other
		// rules' results stand; the event is kept in the dead-letter records
		// so it can be inspected and replayed.
		e.logger.Warn("rule failed for event", "rule", rule.Name, "event_id", en.Event.ID, "error", res.Err)
		out.dead = append(out.dead, deadEvent{Event: en.Event, Rule: rule.Name, Error: res.Err, At: now})
		return
	}
	c := out.customers[key]
	if c.Rules == nil {
		c.Rules = map[string][]byte{}
	}
	if res.State == nil {
		delete(c.Rules, rule.Name)
	} else {
		c.Rules[rule.Name] = res.State
	}
	// Timers are recorded with the customer; firing them is the scheduler's
	// job (a later issue).
	for _, id := range res.CancelTimers {
		delete(c.Timers[rule.Name], id)
	}
	for _, t := range res.SetTimers {
		if c.Timers == nil {
			c.Timers = map[string]map[string]sdk.Timer{}
		}
		if c.Timers[rule.Name] == nil {
			c.Timers[rule.Name] = map[string]sdk.Timer{}
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
			msg := sdk.Message{
				ID:      outbox.MessageID(rule.Name, step, key, f.Key, ai),
				Trigger: rule.Name, Step: step, Profile: c.Profile, Event: en.Event, Fire: f.Data,
				CreatedAt: now,
			}
			out.messages = append(out.messages, outbox.Entry{
				Message: msg, Partition: e.log.Partition(key), Channel: a.Channel, Template: a.Template, NextAttemptAt: now,
			})
			e.logger.Debug("rule fired", "rule", rule.Name, "step", step, "customer", key,
				"event_id", en.Event.ID, "channel", a.Channel, "message_id", msg.ID)
		}
	}
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

// commit writes a pass's outcome if every consumed entry and every
// customer record is still as read.
func (e *Engine) commit(ctx context.Context, entries []eventlog.Entry, out *outcome, claim *cluster.Claim) error {
	var cmps []clientv3.Cmp
	if claim != nil {
		cmps = append(cmps, claim.Fence())
	}
	for _, en := range entries {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(en.Key), "=", en.ModRevision))
	}
	ops := e.log.ConsumeOps(entries)
	for key, c := range out.customers {
		if !c.dirty {
			continue
		}
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encoding customer %q: %w", key, err)
		}
		k := e.customerKey(key)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", c.modRevision))
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
	if len(ops) > maxOps || len(cmps) > maxOps {
		if len(entries) == 1 {
			return fmt.Errorf("event %s produces %d writes, more than one transaction holds", entries[0].Event.ID, len(ops))
		}
		return errTooManyOps
	}
	tctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	defer cancel()
	resp, err := e.store.Client().Txn(tctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("committing %d events: %w", len(entries), err)
	}
	if !resp.Succeeded {
		if claim != nil && !e.stillOwned(ctx, claim) {
			return errFenced
		}
		return fmt.Errorf("committing %d events: the log or a customer changed underneath; re-reading", len(entries))
	}
	e.logger.Debug("pass committed", "events", len(entries), "messages", len(out.messages), "dead", len(out.dead))
	return nil
}

// mergeProfile folds an event's identity and traits into the profile.
func mergeProfile(p sdk.Profile, ev *sdk.Event) sdk.Profile {
	c := ev.Customer
	if c.ID != "" {
		p.ID = c.ID
	}
	if c.Email != "" {
		p.Email = c.Email
	}
	if c.Phone != "" {
		p.Phone = c.Phone
	}
	if c.AnonymousID != "" {
		p.AnonymousID = c.AnonymousID
	}
	for k, v := range c.ExternalIDs {
		if p.ExternalIDs == nil {
			p.ExternalIDs = map[string]string{}
		}
		p.ExternalIDs[k] = v
	}
	for k, v := range ev.Traits {
		if p.Traits == nil {
			p.Traits = map[string]any{}
		}
		p.Traits[k] = v
	}
	if tz, ok := ev.Traits["timezone"].(string); ok {
		if _, err := time.LoadLocation(tz); err == nil {
			p.Timezone = tz
		}
	}
	return p
}
