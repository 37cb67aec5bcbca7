// Package delivery sends outbox messages through channel plugins.
//
// A worker reads due entries from the outbox, renders their template,
// hands them to the channel plugin in batches, and records each outcome in
// etcd: delivered messages are removed, retryable failures are rescheduled
// with exponential backoff and jitter (or the provider's Retry-After), and
// permanent failures, messages out of attempts and messages too old move
// to the dead-letter queue. Every write is guarded by the entry's
// revision, so two workers can never both settle one message.
//
// Each channel is a lane of its own: its rate limit, its circuit breaker,
// and its sends in flight, so that a slow or failing provider holds back
// only its own messages.
package delivery

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/tracking"
	"github.com/triggergate/triggergate/sdk"
)

// Channel is a configured channel block bound to its plugin.
type Channel struct {
	Name   string
	Plugin sdk.Channel
	Config sdk.RawConfig
	// Kind is what the channel reaches ("email", "sms", ...): email gets
	// tracking when the worker has it.
	Kind string
	// Retry is the channel's retry policy; nil takes the worker's.
	Retry *Policy
	// Limits pace and protect the channel's sends.
	Limits Limits
}

// Policy says how failures are retried.
type Policy struct {
	// MaxAttempts before a message is dead-lettered (default 10).
	MaxAttempts int
	// MaxAge is how long after its fire a message is still tried; a
	// failure after that dead-letters it (0: no limit).
	MaxAge time.Duration
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
// a loop that reads its partitions' due messages and hands each channel's
// share to that channel's lane. A lane sends one batch per shard at a
// time and settles it in the background, so a slow provider holds back
// only its own channel, while within a shard a message is only ever in
// one batch at a time.
type Worker struct {
	store *store.Store
	// setupMu guards the setup (lanes, templates, links, defaultLoc): a
	// pass holds it for reading, Reconfigure for writing.
	setupMu    sync.RWMutex
	lanes      map[string]*lane
	templates  map[string]*render.Template
	logger     hclog.Logger
	now        func() time.Time
	batch      int
	opTimeout  time.Duration
	idleWait   time.Duration
	owns       func(partition int) bool
	shards     int
	partitions int
	prefix     string // <store prefix>outbox/
	policy     Policy
	inflight   sync.WaitGroup
	links      *tracking.Links                 // nil: no tracking
	records    *eventlog.Log                   // nil: no delivery records
	released   func(channel string, shard int) // test hook: a send has ended
	defaultLoc *time.Location                  // for customers without a timezone
}

// Option configures a Worker.
type Option func(*Worker)

// WithPolicy sets the retry policy of channels that have none.
func WithPolicy(p Policy) Option { return func(w *Worker) { w.policy = p } }

// WithOwnership restricts the worker to the messages of partitions owns
// reports true for: the partitions its node owns, so that two nodes never
// send the same message. Without it the worker sends every message.
func WithOwnership(owns func(partition int) bool) Option { return func(w *Worker) { w.owns = owns } }

// WithTracking decorates email (channels of kind "email") with links:
// click tracking and the open pixel in the HTML and, unless the message is
// transactional, the one-click unsubscribe link (.UnsubscribeURL) and
// headers.
func WithTracking(links *tracking.Links) Option { return func(w *Worker) { w.links = links } }

// WithRecords has the worker append each settled message's outcome to
// its customer's partition log (outbox.DeliveryEvent), in the transaction
// that settles it, for the decision trace and the counters.
func WithRecords(lg *eventlog.Log) Option { return func(w *Worker) { w.records = lg } }

// WithDefaultLocation sets the timezone templates show times in for a
// customer without one (default UTC).
func WithDefaultLocation(loc *time.Location) Option { return func(w *Worker) { w.defaultLoc = loc } }

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

// DefaultPolicy is the retry policy of a worker given none.
var DefaultPolicy = Policy{MaxAttempts: 10, MaxAge: 24 * time.Hour, BaseDelay: time.Second, MaxDelay: 15 * time.Minute}

// New returns a worker for the given channels and templates.
func New(st *store.Store, channels map[string]Channel, templates map[string]*render.Template, logger hclog.Logger, opts ...Option) *Worker {
	w := &Worker{
		store: st, templates: templates, logger: logger, now: time.Now,
		policy: DefaultPolicy, batch: 50, opTimeout: 10 * time.Second, idleWait: 5 * time.Second,
		shards: 1, prefix: st.Key("outbox") + "/",
	}
	for _, o := range opts {
		o(w)
	}
	w.lanes = make(map[string]*lane, len(channels))
	for name, ch := range channels {
		w.lanes[name] = newLane(ch, w.policy)
	}
	return w
}

// shard is one delivery loop's share of the outbox: the keys in
// [start, end).
type shard struct {
	id         int
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
		sh := &shard{id: i, start: w.partitionKey(lo), end: end, wake: make(chan struct{}, 1)}
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

// Run delivers until ctx is done, then waits for the sends in flight to
// be settled.
func (w *Worker) Run(ctx context.Context) error {
	shards := w.shardRanges()
	var wg sync.WaitGroup
	for _, sh := range shards {
		wg.Go(func() { w.runShard(ctx, sh) })
	}
	w.watch(ctx, shards)
	wg.Wait()
	w.inflight.Wait()
	return nil
}

// runShard is one shard's loop: a pass, then a wait for new messages, a
// finished send, or the next message due.
func (w *Worker) runShard(ctx context.Context, sh *shard) {
	for {
		next, err := w.pass(ctx, sh)
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

// RunOnce sends every message that is due now, once, waits for the sends
// to be settled, and returns when the next message not yet sent will be
// due (zero if none).
func (w *Worker) RunOnce(ctx context.Context) (time.Time, error) {
	sh := &shard{id: -1, start: w.prefix, end: clientv3.GetPrefixRangeEnd(w.prefix), wake: make(chan struct{}, 1)}
	next, err := w.pass(ctx, sh)
	w.inflight.Wait()
	if err != nil {
		return next, err
	}
	// The sends rescheduled some messages: when is the first of those due?
	resp, err := w.store.Client().Get(ctx, sh.start, clientv3.WithRange(sh.end), clientv3.WithLimit(passLimit))
	if err != nil {
		return next, fmt.Errorf("reading the outbox: %w", err)
	}
	now := w.now()
	for _, kv := range resp.Kvs {
		if e, err := outbox.Decode(kv.Value); err == nil && e.NextAttemptAt.After(now) && (w.owns == nil || w.owns(e.Partition)) {
			next = earliest(next, e.NextAttemptAt)
		}
	}
	return next, nil
}

type pending struct {
	key   string
	rev   int64
	entry *outbox.Entry
}

// pass reads the due messages of a shard once and starts a send for each
// channel that has some and may send now. It returns when the shard
// should look again: when the earliest message not sent is due, a rate
// limit frees up or a circuit breaker's cooldown ends (zero if never). A
// send that finishes wakes the shard too.
func (w *Worker) pass(ctx context.Context, sh *shard) (time.Time, error) {
	w.setupMu.RLock()
	defer w.setupMu.RUnlock()
	// A channel with a send of this shard in flight is left alone: what
	// is read now may be settled by that send before this pass could
	// start another, which would then send it twice. The send's end wakes
	// the shard. When every channel is busy there is nothing to read for.
	idle := make(map[string]bool, len(w.lanes))
	for name, ln := range w.lanes {
		if ln.idle(sh.id) {
			idle[name] = true
		}
	}
	if len(idle) == 0 && len(w.lanes) > 0 {
		return time.Time{}, nil
	}
	rctx, cancel := context.WithTimeout(ctx, w.opTimeout)
	resp, err := w.store.Client().Get(rctx, sh.start, clientv3.WithRange(sh.end), clientv3.WithLimit(passLimit))
	cancel()
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the outbox: %w", err)
	}
	now := w.now()
	var next time.Time
	byChannel := map[string][]pending{}
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
		byChannel[e.Channel] = append(byChannel[e.Channel], pending{key: string(kv.Key), rev: kv.ModRevision, entry: e})
	}
	if resp.More {
		next = now // more than one page is due: come straight back
	}
	share := w.share()
	names := make([]string, 0, len(byChannel))
	for name := range byChannel {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ps := byChannel[name]
		ln, ok := w.lanes[name]
		if !ok {
			for _, p := range ps {
				w.deadLetter(ctx, p, "channel "+name+" is not configured")
			}
			continue
		}
		if !idle[name] {
			continue
		}
		if closed, until := ln.closedFor(now); closed {
			next = earliest(next, until)
			continue
		}
		if ln.probing() {
			ps = ps[:1]
		}
		ln.setShare(now, share)
		n, later := ln.take(now, len(ps))
		next = earliest(next, later)
		if n == 0 {
			continue // rate-limited
		}
		ln.acquire(sh.id)
		done, err := ln.breaker.Allow()
		if err != nil {
			// Another shard's probe is in flight, or the breaker just
			// opened: look again shortly.
			w.release(ln, sh.id)
			next = earliest(next, now.Add(min(time.Second, ln.cooldown)))
			continue
		}
		w.inflight.Add(1)
		go func() {
			defer w.inflight.Done()
			defer wakeShard(sh)
			defer w.release(ln, sh.id)
			for i := 0; i < n; i += w.batch {
				if err := w.sendBatch(ctx, ln, ps[i:min(i+w.batch, n)]); err != nil {
					// The provider failed a whole batch: leave the rest of
					// this round for later rather than wait on it again.
					done(err)
					return
				}
			}
			done(nil)
		}()
	}
	return next, nil
}

// release ends a shard's send through a lane.
func (w *Worker) release(ln *lane, shard int) {
	ln.release(shard)
	if w.released != nil {
		w.released(ln.Name, shard)
	}
}

// share is the node's share of the cluster's partitions, and so of every
// channel's rate limit.
func (w *Worker) share() float64 {
	if w.owns == nil || w.partitions == 0 {
		return 1
	}
	owned := 0
	for p := range w.partitions {
		if w.owns(p) {
			owned++
		}
	}
	return float64(max(owned, 1)) / float64(w.partitions)
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

// sendBatch renders and sends one channel's batch and settles every
// message. It returns an error when the provider failed the whole batch
// (the call failed, or every message came back retryable): what the
// channel's circuit breaker counts.
func (w *Worker) sendBatch(ctx context.Context, ln *lane, ps []pending) error {
	req := &sdk.SendRequest{Channel: ln.Name, Config: ln.Config}
	var sent []pending
	for _, p := range ps {
		msg, err := w.message(ln, p.entry)
		if err != nil {
			w.deadLetter(ctx, p, err.Error())
			continue
		}
		req.Messages = append(req.Messages, msg)
		sent = append(sent, p)
	}
	if len(sent) == 0 {
		return nil
	}
	resp, err := ln.Plugin.Send(ctx, req)
	if err == nil && len(resp.Results) != len(sent) {
		err = fmt.Errorf("channel plugin answered %d results for %d messages", len(resp.Results), len(sent))
	}
	if err != nil {
		// The whole batch's outcome is unknown: retry every message. They
		// carry idempotency keys, so a provider that did get one drops it.
		for _, p := range sent {
			w.retry(ctx, ln.policy, p, err.Error(), 0)
		}
		return err
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
			e := *p.entry
			e.Attempts++
			e.LastError = r.Error
			w.deadLetter(ctx, pending{key: p.key, rev: p.rev, entry: &e}, r.Error)
		default:
			w.retry(ctx, ln.policy, p, r.Error, r.RetryAfter)
		}
	}
	w.deliveredAll(ctx, delivered, providerIDs)
	return batchError(resp.Results)
}

// message builds what the plugin receives for an entry: the message with
// its template rendered (and, for email, tracking added) and its attempt
// number.
func (w *Worker) message(ln *lane, e *outbox.Entry) (sdk.Message, error) {
	msg := e.Message
	msg.Attempt = e.Attempts + 1
	if e.Template == "" {
		return msg, nil
	}
	t, ok := w.templates[e.Template]
	if !ok {
		return msg, fmt.Errorf("template %s is not configured", e.Template)
	}
	data := render.For(&msg, w.defaultLoc)
	track := w.links != nil && ln.Kind == "email"
	claims := tracking.Claims{MessageID: msg.ID, Customer: e.Customer, Trigger: msg.Trigger, Step: msg.Step,
		Variant: msg.Variant, Channel: ln.Name, IssuedAt: msg.CreatedAt}
	if track && !e.Transactional && e.Customer != "" {
		data.UnsubscribeURL = w.links.UnsubscribeURL(claims)
		msg.Headers = maps.Clone(msg.Headers)
		if msg.Headers == nil {
			msg.Headers = map[string]string{}
		}
		maps.Copy(msg.Headers, w.links.Headers(claims))
	}
	c, err := t.Render(data)
	if err != nil {
		return msg, err
	}
	if track && c.HTML != "" && e.Customer != "" {
		if c.HTML, err = w.links.Decorate(c.HTML, claims); err != nil {
			return msg, err
		}
	}
	msg.Subject, msg.Text, msg.HTML = c.Subject, c.Text, c.HTML
	return msg, nil
}

// batchError is what the circuit breaker learns from a batch: a failure
// when every message failed with a retryable error (the provider is down
// or refusing), success when the provider took or judged any message.
func batchError(results []sdk.SendResult) error {
	for _, r := range results {
		if r.Status == sdk.StatusOK || r.Status == sdk.StatusPermanent {
			return nil
		}
	}
	if len(results) == 0 {
		return nil
	}
	return fmt.Errorf("every message failed: %s", results[0].Error)
}
