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
	"sync"
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

// Worker delivers the outbox. Its partitions are split into shards, each
// a loop that reads its partitions' due messages, sends them and records
// the outcomes; the shards run side by side, so one slow batch does not
// hold the others back, while within a shard a message is only ever in one
// batch at a time.
type Worker struct {
	store      *store.Store
	channels   map[string]Channel
	templates  map[string]*render.Template
	policy     Policy
	logger     hclog.Logger
	now        func() time.Time
	batch      int
	opTimeout  time.Duration
	idleWait   time.Duration
	owns       func(partition int) bool
	shards     int
	partitions int
	prefix     string // <store prefix>outbox/
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

// WithIdleWait sets how often a shard re-reads its outbox with nothing due
// and no wake-up from the watch (default 5s): watches are hints.
func WithIdleWait(d time.Duration) Option {
	return func(w *Worker) {
		if d > 0 {
			w.idleWait = d
		}
	}
}

// WithShards splits the cluster's partitions into n shards of consecutive
// partitions, each delivered by its own loop (n is capped at partitions).
// Without it one loop delivers everything.
func WithShards(n, partitions int) Option {
	return func(w *Worker) {
		if partitions >= 1 {
			w.partitions = partitions
			w.shards = min(max(n, 1), partitions)
		}
	}
}

// DefaultShards is the shard count the gateway runs: enough batches in
// flight to keep a channel plugin's connections busy while others are
// being read and settled.
const DefaultShards = 4

// New returns a worker for the given channels and templates.
func New(st *store.Store, channels map[string]Channel, templates map[string]*render.Template, logger hclog.Logger, opts ...Option) *Worker {
	w := &Worker{
		store: st, channels: channels, templates: templates, logger: logger, now: time.Now,
		policy: Policy{MaxAttempts: 10, BaseDelay: time.Second, MaxDelay: 15 * time.Minute},
		batch:  50, opTimeout: 10 * time.Second, idleWait: 5 * time.Second,
		shards: 1, prefix: st.Key("outbox") + "/",
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

// shard is one delivery loop's share of the outbox: the keys in
// [start, end).
type shard struct {
	start, end string
	wake       chan struct{}
}

// shardRanges returns the shards' key ranges.
func (w *Worker) shardRanges() []*shard {
	end := clientv3.GetPrefixRangeEnd(w.prefix)
	if w.shards <= 1 {
		return []*shard{{start: w.prefix, end: end, wake: make(chan struct{}, 1)}}
	}
	out := make([]*shard, w.shards)
	for i := range out {
		lo, hi := i*w.partitions/w.shards, (i+1)*w.partitions/w.shards
		sh := &shard{start: w.partitionKey(lo), end: end, wake: make(chan struct{}, 1)}
		if hi < w.partitions {
			sh.end = w.partitionKey(hi)
		}
		out[i] = sh
	}
	return out
}

func (w *Worker) partitionKey(p int) string { return fmt.Sprintf("%s%03d/", w.prefix, p) }

// shardOf returns the shard holding an outbox key.
func (w *Worker) shardOf(shards []*shard, key string) *shard {
	for _, sh := range shards {
		if key >= sh.start && key < sh.end {
			return sh
		}
	}
	return nil
}

// Run delivers until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	shards := w.shardRanges()
	var wg sync.WaitGroup
	for _, sh := range shards {
		wg.Go(func() { w.runShard(ctx, sh) })
	}
	w.watch(ctx, shards)
	wg.Wait()
	return nil
}

// runShard is one shard's loop: a pass, then a wait for new messages or
// the next one due.
func (w *Worker) runShard(ctx context.Context, sh *shard) {
	for {
		next, err := w.pass(ctx, sh.start, sh.end)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.logger.Warn("delivery pass failed; retrying", "error", err)
			next = w.now().Add(time.Second)
		}
		d := w.idleWait // watches are hints: re-read now and then
		if !next.IsZero() {
			d = min(d, max(next.Sub(w.now()), 0))
		}
		if d == 0 {
			continue
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-sh.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// watch wakes a shard whenever a message is written to its range, until
// ctx is done. One watch serves every shard and lives as long as the
// worker; after it breaks every shard re-reads, so nothing written in
// between is missed.
func (w *Worker) watch(ctx context.Context, shards []*shard) {
	for ctx.Err() == nil {
		for _, sh := range shards {
			wakeShard(sh)
		}
		wctx, cancel := context.WithCancel(ctx)
		wch := w.store.Client().Watch(clientv3.WithRequireLeader(wctx), w.prefix, clientv3.WithPrefix(),
			clientv3.WithFilterDelete())
		for resp := range wch {
			if resp.Err() != nil {
				w.logger.Debug("outbox watch broke; re-reading", "error", resp.Err())
				break
			}
			for _, ev := range resp.Events {
				if sh := w.shardOf(shards, string(ev.Kv.Key)); sh != nil {
					wakeShard(sh)
				}
			}
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func wakeShard(sh *shard) {
	select {
	case sh.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// RunOnce sends every message that is due now, once, and returns when the
// next one not yet due will be (zero if none).
func (w *Worker) RunOnce(ctx context.Context) (time.Time, error) {
	return w.pass(ctx, w.prefix, clientv3.GetPrefixRangeEnd(w.prefix))
}

type pending struct {
	key   string
	rev   int64
	entry *outbox.Entry
}

// pass sends every due message in the keys [start, end) once. It returns
// when the earliest not-yet-due message is due (zero if none).
func (w *Worker) pass(ctx context.Context, start, end string) (time.Time, error) {
	rctx, cancel := context.WithTimeout(ctx, w.opTimeout)
	resp, err := w.store.Client().Get(rctx, start, clientv3.WithRange(end), clientv3.WithLimit(passLimit))
	cancel()
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the outbox: %w", err)
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
		for i := 0; i < len(ps); i += w.batch {
			next = earliest(next, w.sendBatch(ctx, name, ps[i:min(i+w.batch, len(ps))]))
		}
	}
	return next, nil
}

// passLimit is the most outbox entries one pass reads.
const passLimit = 1000

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
