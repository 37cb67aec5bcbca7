package eventlog

// Group commit. Append hands its events to the Log's committer and waits;
// the committer gathers the events of concurrent Appends into batches and
// commits each batch in one etcd transaction:
//
//	Append ──▶ queue ──▶ run loop: wait for the first event, then until
//	                     the batch is full or the commit window has passed
//	                     since that event; take a batch once a committer
//	                     slot is free
//	                 ──▶ up to `committers` batches in flight, each one
//	                     transaction (retried with the events not seen
//	                     before) ──▶ every Append in it returns
//
// A delivery is never split between batches, so its events commit together
// and in order, and each Append waits for exactly one batch. The run loop
// only exists while events are queued, so an idle Log holds no goroutine.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
)

// pendingEvent is one event on its way into the log.
type pendingEvent struct {
	index  int    // in the Append call's events
	id     string // the event's id, the last element of logKey
	logKey string
	data   []byte
	dedupe string // "" when the event has no delivery id
	window time.Duration
	size   int // bytes it adds to a transaction, roughly

	// original is the id an earlier delivery of the same event was
	// committed under, set when the event is found committed before.
	original string
	// copyOf is the event of another Append in the same batch that this
	// one repeats (same delivery, or same log key without a delivery
	// id). This one is not written; it gets copyOf's outcome.
	copyOf *pendingEvent
}

// outcome returns the id p ended up under and whether this Append
// committed it. Valid once p's transaction has committed.
func (p *pendingEvent) outcome() (id string, isNew bool) {
	if p.copyOf != nil {
		id, _ := p.copyOf.outcome()
		return id, false
	}
	if p.original != "" {
		return p.original, false
	}
	return p.id, true
}

// call is one Append waiting for its batch.
type call struct {
	ctx    context.Context
	events []*pendingEvent
	size   int
	queued time.Time
	done   chan struct{} // closed when err is set and events are resolved
	err    error
}

// committer forms and commits the batches.
type committer struct {
	l         *Log
	window    time.Duration
	maxEvents int
	// slots holds one token per batch in flight.
	slots chan struct{}
	// ctx is the lifetime of the etcd calls batches make: a batch serves
	// many callers, so none of their contexts can bound it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	queue   []*call
	queued  int  // events in queue
	running bool // the run loop is alive
	closed  bool
	// wake tells a run loop waiting out the window that a batch is full
	// or Close was called.
	wake chan struct{}
	// busy counts the run loop and the batches in flight, for Close.
	busy sync.WaitGroup
}

func newCommitter(l *Log) *committer {
	// The committer's lifetime is the Log's; Close ends it.
	ctx, cancel := context.WithCancel(context.Background())
	return &committer{
		l:         l,
		window:    l.commitWindow,
		maxEvents: l.maxBatch,
		slots:     make(chan struct{}, l.committers),
		ctx:       ctx,
		cancel:    cancel,
		wake:      make(chan struct{}, 1),
	}
}

// commit queues a delivery's events (at most maxEvents, under
// maxTxnBytes) and waits until their batch has committed or ctx ends.
func (c *committer) commit(ctx context.Context, events []*pendingEvent, size int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cl := &call{ctx: ctx, events: events, size: size, queued: time.Now(), done: make(chan struct{})}
	if err := c.enqueue(cl); err != nil {
		return err
	}
	select {
	case <-cl.done:
		return cl.err
	case <-ctx.Done():
		if c.dequeue(cl) {
			return fmt.Errorf("waiting for %d events to commit (not committed): %w", len(events), ctx.Err())
		}
		select {
		case <-cl.done: // committed meanwhile: a known outcome beats an unknown one
			return cl.err
		default:
		}
		return fmt.Errorf("waiting for %d events to commit (they may commit or not): %w", len(events), ctx.Err())
	}
}

// dequeue removes cl from the queue if no batch has taken it yet.
func (c *committer) dequeue(cl *call) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.queue, cl)
	if i < 0 {
		return false
	}
	c.queue = slices.Delete(c.queue, i, i+1)
	c.queued -= len(cl.events)
	return true
}

func (c *committer) enqueue(cl *call) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.queue = append(c.queue, cl)
	c.queued += len(cl.events)
	switch {
	case !c.running:
		c.running = true
		c.busy.Add(1)
		go c.run()
	case c.queued >= c.maxEvents:
		c.signal()
	}
	return nil
}

// signal wakes the run loop if it waits out the window; c.mu is held.
func (c *committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// run forms batches while events are queued, then exits.
func (c *committer) run() {
	defer c.busy.Done()
	timer := time.NewTimer(c.window)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		wait := c.window - time.Since(c.queue[0].queued)
		if c.queued >= c.maxEvents || c.closed {
			wait = 0
		}
		c.mu.Unlock()

		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-c.wake:
			}
			continue
		}
		// Take the batch only once it can go: while every slot is busy
		// the queue keeps filling, and the batch is formed from all of it.
		c.slots <- struct{}{}
		b := c.take()
		if len(b.calls) == 0 {
			<-c.slots
			continue
		}
		c.busy.Add(1)
		go func() {
			defer c.busy.Done()
			defer func() { <-c.slots }()
			c.commitBatch(b)
		}()
	}
}

// take removes the next batch from the queue: whole calls, in order, until
// the next one does not fit.
func (c *committer) take() *batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := newBatch()
	n := 0
	for n < len(c.queue) && b.add(c.queue[n], c.maxEvents) {
		c.queued -= len(c.queue[n].events)
		n++
	}
	c.queue = slices.Delete(c.queue, 0, n)
	return b
}

// commitBatch writes the batch and releases its callers.
func (c *committer) commitBatch(b *batch) {
	c.l.stats.batches.Add(1)
	err := c.l.write(c.ctx, b.writes)
	if errors.Is(err, ErrTooLarge) && len(b.calls) > 1 {
		// etcd refused the shared transaction although each delivery fits
		// our limits (its own limits can be set lower). Commit the
		// deliveries one by one, so that only one too large by itself
		// is refused: a 413 is never retried by the sender.
		c.l.log.Warn("etcd refused a batch as too large; committing its deliveries one by one (are etcd's --max-txn-ops or --max-request-bytes below the defaults?)", "error", err)
		for _, cl := range b.calls {
			one := newBatch()
			one.add(cl, len(cl.events))
			cl.err = c.l.write(c.ctx, one.writes)
			close(cl.done)
		}
		return
	}
	for _, cl := range b.calls {
		cl.err = err
		close(cl.done)
	}
}

// isClosed reports whether Close was called.
func (c *committer) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// close stops taking calls, lets the run loop commit those queued, and
// waits for every batch in flight.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.signal()
	c.mu.Unlock()
	c.busy.Wait()
	c.cancel()
}

// batch is the calls committed in one transaction.
type batch struct {
	calls  []*call
	writes []*pendingEvent // the events to create: one per log key and per dedupe record
	size   int
	// byLog and byDedupe index writes, to find events that repeat one of
	// them: etcd refuses a transaction that puts one key twice.
	byLog, byDedupe map[string]*pendingEvent
}

func newBatch() *batch {
	return &batch{byLog: map[string]*pendingEvent{}, byDedupe: map[string]*pendingEvent{}}
}

// add adds cl to b if its events fit within maxEvents and the size limit
// and none of them collides with an event of b in a way that needs the
// store's answer first; an empty batch takes any call.
func (b *batch) add(cl *call, maxEvents int) bool {
	if len(b.calls) > 0 {
		if len(b.writes)+len(cl.events) > maxEvents || b.size+cl.size >= maxTxnBytes {
			return false
		}
		for _, p := range cl.events {
			if b.repeated(p) == nil && b.byLog[p.logKey] != nil {
				// The same event id with another delivery id (or one
				// with, one without): which one the log key answers for
				// depends on how the first commits, so wait for that.
				return false
			}
		}
	}
	for _, p := range cl.events {
		if p.copyOf = b.repeated(p); p.copyOf != nil {
			continue
		}
		b.writes = append(b.writes, p)
		b.byLog[p.logKey] = p
		if p.dedupe != "" {
			b.byDedupe[p.dedupe] = p
		}
	}
	b.size += cl.size
	b.calls = append(b.calls, cl)
	return true
}

// repeated returns the event of b that p repeats: the same delivery (same
// dedupe record), or the same log key when neither has a delivery id.
// Committed one after the other, p would find that event's key and get
// its id; in one batch it gets its outcome.
func (b *batch) repeated(p *pendingEvent) *pendingEvent {
	if p.dedupe != "" {
		return b.byDedupe[p.dedupe]
	}
	if q := b.byLog[p.logKey]; q != nil && q.dedupe == "" {
		return q
	}
	return nil
}

// write creates the events' log keys and dedupe records in one
// transaction, each only if absent. An event found already committed (its
// dedupe record or its log key exists) gets original set and is not
// written; the transaction is retried with the remaining events until it
// commits. Every call counts in the commit metrics, failed or not.
func (l *Log) write(ctx context.Context, events []*pendingEvent) error {
	start := time.Now()
	defer func() { metrics.ObserveCommit(len(events), time.Since(start)) }()
	leaseRetried := false
	for {
		var todo []*pendingEvent
		for _, p := range events {
			if p.original == "" {
				todo = append(todo, p)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		cmps := make([]clientv3.Cmp, 0, 2*len(todo))
		puts := make([]clientv3.Op, 0, 2*len(todo))
		gets := make([]clientv3.Op, 0, 2*len(todo))
		leases := map[time.Duration]clientv3.LeaseID{}
		for _, p := range todo {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(p.logKey), "=", 0))
			puts = append(puts, clientv3.OpPut(p.logKey, string(p.data)))
			gets = append(gets, clientv3.OpGet(p.logKey, clientv3.WithKeysOnly()))
			if p.dedupe == "" {
				continue
			}
			lease, ok := leases[p.window]
			if !ok {
				var err error
				if lease, err = l.lease(ctx, p.window); err != nil {
					return err
				}
				leases[p.window] = lease
			}
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(p.dedupe), "=", 0))
			puts = append(puts, clientv3.OpPut(p.dedupe, p.id, clientv3.WithLease(lease)))
			gets = append(gets, clientv3.OpGet(p.dedupe))
		}
		l.stats.txns.Add(1)
		tctx, cancel := context.WithTimeout(ctx, requestTimeout)
		resp, err := l.client.Txn(tctx).If(cmps...).Then(puts...).Else(gets...).Commit()
		cancel()
		if err != nil {
			// A cached lease can vanish (expired, or revoked by an
			// operator); a fresh one is tried once.
			if !leaseRetried && errors.Is(err, rpctypes.ErrLeaseNotFound) {
				leaseRetried = true
				l.forgetLeases()
				continue
			}
			return classify(fmt.Sprintf("committing %d events", len(todo)), err)
		}
		if resp.Succeeded {
			return nil
		}
		// Some event was there before: mark every such event with the id
		// first committed, and try again with the rest.
		r, marked := 0, 0
		for _, p := range todo {
			if len(resp.Responses[r].GetResponseRange().GetKvs()) > 0 {
				// No dedupe record, but the event is in the log: a retry
				// of an append that did commit, or a record that expired
				// while the event still waits.
				p.original = p.id
			}
			r++
			if p.dedupe != "" {
				if kvs := resp.Responses[r].GetResponseRange().GetKvs(); len(kvs) > 0 {
					p.original = string(kvs[0].Value)
					if p.original == "" {
						// A record holding no id (edited by hand): the
						// event was seen; report it under its own id.
						p.original = p.id
					}
				}
				r++
			}
			if p.original != "" {
				marked++
			}
		}
		if marked == 0 {
			// Cannot happen with a consistent read; never spin on it.
			return fmt.Errorf("committing %d events: the transaction failed but no event was found committed", len(todo))
		}
		l.log.Debug("events seen before", "events", marked)
	}
}
