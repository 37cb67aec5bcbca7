// Package delivery sends outbox messages through channel plugins.
//
// A worker reads due entries from the outbox, renders their template,
// hands them to the channel plugin in batches, and records each outcome in
// etcd: delivered messages are removed, retryable failures are rescheduled
// with exponential backoff and jitter (or the provider's Retry-After), and
// permanent failures or messages out of attempts move to the dead-letter
// queue. Every write is guarded by the entry's revision, so two workers can
// never both settle one message.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// Channel is a configured channel block bound to its plugin.
type Channel struct {
	Name   string
	Plugin sdk.Channel
	Config sdk.RawConfig
}

// Policy says how failures are retried.
type Policy struct {
	// MaxAttempts before a message is dead-lettered (default 10).
	MaxAttempts int
	// BaseDelay is the first retry's delay; each retry doubles it, up to
	// MaxDelay, with ±50% jitter (defaults 1s and 15m).
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// Delay returns the wait before retry number attempt (1-based).
func (p Policy) Delay(attempt int, retryAfter time.Duration) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	d = time.Duration(float64(d) * (0.5 + rand.Float64()))
	return max(d, retryAfter)
}

// Worker delivers the outbox.
type Worker struct {
	store     *store.Store
	channels  map[string]Channel
	templates map[string]*render.Template
	policy    Policy
	logger    hclog.Logger
	now       func() time.Time
	batch     int
	opTimeout time.Duration
	idleWait  time.Duration
	owns      func(partition int) bool
}

// Option configures a Worker.
type Option func(*Worker)

// WithPolicy sets the retry policy.
func WithPolicy(p Policy) Option { return func(w *Worker) { w.policy = p } }

// WithOwnership restricts the worker to the messages of partitions owns
// reports true for: the partitions its node owns, so that two nodes never
// send the same message. Without it the worker sends every message.
func WithOwnership(owns func(partition int) bool) Option { return func(w *Worker) { w.owns = owns } }

// WithClock injects the clock.
func WithClock(now func() time.Time) Option { return func(w *Worker) { w.now = now } }

// New returns a worker for the given channels and templates.
func New(st *store.Store, channels map[string]Channel, templates map[string]*render.Template, logger hclog.Logger, opts ...Option) *Worker {
	w := &Worker{
		store: st, channels: channels, templates: templates, logger: logger, now: time.Now,
		policy: Policy{MaxAttempts: 10, BaseDelay: time.Second, MaxDelay: 15 * time.Minute},
		batch:  50, opTimeout: 10 * time.Second, idleWait: 5 * time.Second,
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Run delivers until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	for {
		next, rev, err := w.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.logger.Warn("delivery pass failed; retrying", "error", err)
			next = w.now().Add(time.Second)
		}
		w.wait(ctx, rev, next)
	}
}

// wait returns when the outbox changes after rev, when next comes, or when
// idleWait passes (watches are hints: a re-read is always safe).
func (w *Worker) wait(ctx context.Context, rev int64, next time.Time) {
	d := w.idleWait
	if !next.IsZero() {
		d = min(d, max(next.Sub(w.now()), 0))
	}
	if d == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	wch := w.store.Client().Watch(clientv3.WithRequireLeader(wctx), w.store.Key("outbox")+"/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	for resp := range wch {
		if resp.Err() != nil {
			return
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypePut {
				return
			}
		}
	}
}

// RunOnce sends every message that is due now, once, and returns when the
// next one not yet due will be (zero if none).
func (w *Worker) RunOnce(ctx context.Context) (time.Time, error) {
	next, _, err := w.pass(ctx)
	return next, err
}

type pending struct {
	key   string
	rev   int64
	entry *outbox.Entry
}

// pass sends every due message once. It returns when the earliest
// not-yet-due message is due (zero if none) and the revision it read at.
func (w *Worker) pass(ctx context.Context) (time.Time, int64, error) {
	rctx, cancel := context.WithTimeout(ctx, w.opTimeout)
	resp, err := w.store.Client().Get(rctx, w.store.Key("outbox")+"/", clientv3.WithPrefix(), clientv3.WithLimit(1000))
	cancel()
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("reading the outbox: %w", err)
	}
	now := w.now()
	var next time.Time
	byChannel := map[string][]pending{}
	var order []string
	for _, kv := range resp.Kvs {
		e, err := outbox.Decode(kv.Value)
		if err != nil {
			w.logger.Error("outbox entry does not decode; moving it aside", "key", string(kv.Key), "error", err)
			w.settleRaw(ctx, string(kv.Key), kv.ModRevision, kv.Value, err.Error())
			continue
		}
		if w.owns != nil && !w.owns(e.Partition) {
			continue
		}
		if e.NextAttemptAt.After(now) {
			next = earliest(next, e.NextAttemptAt)
			continue
		}
		if _, ok := byChannel[e.Channel]; !ok {
			order = append(order, e.Channel)
		}
		byChannel[e.Channel] = append(byChannel[e.Channel], pending{key: string(kv.Key), rev: kv.ModRevision, entry: e})
	}
	if resp.More {
		next = now // more than one page is due: come straight back
	}
	for _, name := range order {
		ps := byChannel[name]
		for start := 0; start < len(ps); start += w.batch {
			next = earliest(next, w.sendBatch(ctx, name, ps[start:min(start+w.batch, len(ps))]))
		}
	}
	return next, resp.Header.Revision, nil
}

// earliest returns the earlier of two times, a zero time meaning "none".
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// sendBatch sends one channel's batch and settles every message; it
// returns the earliest time a message of the batch was rescheduled for.
func (w *Worker) sendBatch(ctx context.Context, name string, ps []pending) time.Time {
	ch, ok := w.channels[name]
	if !ok {
		for _, p := range ps {
			w.deadLetter(ctx, p, "channel "+name+" is not configured")
		}
		return time.Time{}
	}
	req := &sdk.SendRequest{Channel: name, Config: ch.Config}
	var sent []pending
	for _, p := range ps {
		msg := p.entry.Message
		msg.Attempt = p.entry.Attempts + 1
		if p.entry.Template != "" {
			t, ok := w.templates[p.entry.Template]
			if !ok {
				w.deadLetter(ctx, p, "template "+p.entry.Template+" is not configured")
				continue
			}
			c, err := t.Render(&render.Data{Customer: msg.Profile, Event: msg.Event, Fire: msg.Fire, Trigger: msg.Trigger, Step: msg.Step})
			if err != nil {
				w.deadLetter(ctx, p, err.Error())
				continue
			}
			msg.Subject, msg.Text, msg.HTML = c.Subject, c.Text, c.HTML
		}
		req.Messages = append(req.Messages, msg)
		sent = append(sent, p)
	}
	var next time.Time
	if len(sent) == 0 {
		return next
	}
	resp, err := ch.Plugin.Send(ctx, req)
	if err != nil {
		// The whole batch's outcome is unknown: retry every message. They
		// carry idempotency keys, so a provider that did get one drops it.
		for _, p := range sent {
			next = earliest(next, w.retry(ctx, p, err.Error(), 0))
		}
		return next
	}
	var delivered []pending
	var providerIDs []string
	for i, r := range resp.Results {
		p := sent[i]
		switch r.Status {
		case sdk.StatusOK:
			delivered = append(delivered, p)
			providerIDs = append(providerIDs, r.ProviderID)
		case sdk.StatusPermanent:
			w.deadLetter(ctx, p, r.Error)
		default:
			next = earliest(next, w.retry(ctx, p, r.Error, r.RetryAfter))
		}
	}
	w.deliveredAll(ctx, delivered, providerIDs)
	return next
}

// deliveredAll removes the delivered messages of a batch in one
// transaction: one etcd write (and one disk sync) for the batch rather
// than one per message. If any entry changed meanwhile, each is settled on
// its own so that the others still are.
func (w *Worker) deliveredAll(ctx context.Context, ps []pending, providerIDs []string) {
	if len(ps) == 0 {
		return
	}
	if len(ps) > 1 {
		cmps := make([]clientv3.Cmp, len(ps))
		ops := make([]clientv3.Op, len(ps))
		for i, p := range ps {
			cmps[i] = clientv3.Compare(clientv3.ModRevision(p.key), "=", p.rev)
			ops[i] = clientv3.OpDelete(p.key)
		}
		tctx, cancel := context.WithTimeout(ctx, w.opTimeout)
		resp, err := w.store.Client().Txn(tctx).If(cmps...).Then(ops...).Commit()
		cancel()
		if err == nil && resp.Succeeded {
			for i, p := range ps {
				w.logDelivered(p, providerIDs[i])
			}
			return
		}
	}
	for i, p := range ps {
		w.delivered(ctx, p, providerIDs[i])
	}
}

func (w *Worker) delivered(ctx context.Context, p pending, providerID string) {
	if w.guarded(ctx, p, clientv3.OpDelete(p.key)) {
		w.logDelivered(p, providerID)
	}
}

func (w *Worker) logDelivered(p pending, providerID string) {
	w.logger.Info("message delivered", "message_id", p.entry.Message.ID, "channel", p.entry.Channel,
		"trigger", p.entry.Message.Trigger, "step", p.entry.Message.Step, "attempt", p.entry.Attempts+1,
		"provider_id", providerID)
}

// retry reschedules a message after a retryable failure, or dead-letters
// it when it is out of attempts. It returns when the message is due again
// (zero if it was not rescheduled).
func (w *Worker) retry(ctx context.Context, p pending, reason string, retryAfter time.Duration) time.Time {
	e := *p.entry
	e.Attempts++
	e.LastError = reason
	if e.Attempts >= w.policy.MaxAttempts {
		w.deadLetter(ctx, pending{key: p.key, rev: p.rev, entry: &e}, fmt.Sprintf("gave up after %d attempts: %s", e.Attempts, reason))
		return time.Time{}
	}
	delay := w.policy.Delay(e.Attempts, retryAfter)
	e.NextAttemptAt = w.now().Add(delay)
	v, err := e.Encode()
	if err != nil {
		w.logger.Error("cannot reschedule message", "message_id", e.Message.ID, "error", err)
		return time.Time{}
	}
	if !w.guarded(ctx, p, clientv3.OpPut(p.key, v)) {
		return time.Time{}
	}
	w.logger.Warn("delivery failed; will retry", "message_id", e.Message.ID, "channel", e.Channel,
		"attempt", e.Attempts, "retry_in", delay.Round(time.Millisecond), "error", reason)
	return e.NextAttemptAt
}

func (w *Worker) deadLetter(ctx context.Context, p pending, reason string) {
	d := outbox.DeadLetter{Entry: *p.entry, Reason: reason, At: w.now().UTC()}
	b, err := json.Marshal(d)
	if err != nil {
		w.logger.Error("cannot encode dead letter", "message_id", p.entry.Message.ID, "error", err)
		return
	}
	if w.guarded(ctx, p, clientv3.OpDelete(p.key), clientv3.OpPut(w.store.Key("dlq", p.entry.Message.ID), string(b))) {
		w.logger.Error("message dead-lettered", "message_id", p.entry.Message.ID, "channel", p.entry.Channel, "reason", reason)
	}
}

// settleRaw moves an undecodable outbox value to the DLQ as it is.
func (w *Worker) settleRaw(ctx context.Context, key string, rev int64, value []byte, reason string) {
	b, _ := json.Marshal(map[string]any{"key": key, "raw": string(value), "reason": reason, "at": w.now().UTC()})
	w.guarded(ctx, pending{key: key, rev: rev}, clientv3.OpDelete(key),
		clientv3.OpPut(w.store.Key("dlq", "undecodable", fmt.Sprint(rev)), string(b)))
}

// guarded applies ops if the entry is unchanged since it was read.
func (w *Worker) guarded(ctx context.Context, p pending, ops ...clientv3.Op) bool {
	tctx, cancel := context.WithTimeout(ctx, w.opTimeout)
	defer cancel()
	resp, err := w.store.Client().Txn(tctx).
		If(clientv3.Compare(clientv3.ModRevision(p.key), "=", p.rev)).Then(ops...).Commit()
	switch {
	case err != nil:
		if !errors.Is(err, context.Canceled) {
			w.logger.Error("recording delivery outcome failed; the message will be retried", "key", p.key, "error", err)
		}
		return false
	case !resp.Succeeded:
		w.logger.Debug("outbox entry changed underneath; skipping", "key", p.key)
		return false
	}
	return true
}
