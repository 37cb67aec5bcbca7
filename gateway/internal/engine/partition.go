package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/sdk"
)

var _ cluster.Owner = (*Engine)(nil)

// partitionLoop processes one claimed partition.
type partitionLoop struct {
	claim cluster.Claim
	wake  chan struct{} // new events in the partition (a hint)
	stop  chan struct{} // closed by Stop: finish the batch in hand, then return
	done  chan struct{} // closed when the loop has returned
}

// Run watches the event log and wakes the partition loops when their
// partition gets events, until ctx ends; then it stops every loop. The
// cluster starts and stops loops (Start, Stop) as the node gains and loses
// partitions; Run must be running for them to make progress.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	e.runCtx = ctx
	close(e.running)
	e.mu.Unlock()

	prefix := e.log.Prefix(-1)
	for ctx.Err() == nil {
		e.wakeAll() // after a (re)started watch, everyone re-reads by range
		wctx, cancel := context.WithCancel(ctx)
		wch := e.store.Client().Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix(),
			clientv3.WithFilterDelete())
		for resp := range wch {
			if resp.Err() != nil {
				e.logger.Debug("log watch broke; re-reading", "error", resp.Err())
				break
			}
			for _, ev := range resp.Events {
				if p, ok := partitionOfKey(string(ev.Kv.Key), prefix); ok {
					e.wake(p)
				}
			}
		}
		cancel()
		if !sleep(ctx, e.minBackoff) {
			break
		}
	}
	for _, p := range e.ownedPartitions() {
		e.Stop(p)
	}
	return nil
}

// partitionOfKey reads the partition from a log key: <prefix><ppp>/<id>.
func partitionOfKey(key, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, false
	}
	p, err := strconv.Atoi(digits)
	return p, err == nil
}

func (e *Engine) wake(p int) {
	e.mu.Lock()
	l := e.loops[p]
	e.mu.Unlock()
	if l != nil {
		select {
		case l.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

func (e *Engine) wakeAll() {
	for _, p := range e.ownedPartitions() {
		e.wake(p)
	}
}

func (e *Engine) ownedPartitions() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]int, 0, len(e.loops))
	for p := range e.loops {
		out = append(out, p)
	}
	return out
}

// Start implements cluster.Owner: it begins processing a claimed partition.
func (e *Engine) Start(c cluster.Claim) {
	<-e.running
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.loops[c.Partition]; ok {
		if old.claim == c {
			return
		}
		// A new claim on a partition whose old loop is still listed: the
		// old one is fenced off anyway; replace it.
		close(old.stop)
	}
	l := &partitionLoop{claim: c, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	l.wake <- struct{}{}
	e.loops[c.Partition] = l
	go func() {
		defer close(l.done)
		e.runPartition(e.runCtx, l)
	}()
	e.logger.Debug("partition started", "partition", c.Partition, "fence", c.Revision)
}

// Stop implements cluster.Owner: the partition's loop finishes the batch in
// hand and returns; Stop returns after it has.
// Two callers may stop the same partition (the cluster handing it over,
// and Run ending); both return only once the loop has.
func (e *Engine) Stop(p int) {
	e.mu.Lock()
	l, ok := e.loops[p]
	if ok {
		delete(e.loops, p)
		e.stopping[p] = l
		close(l.stop)
	} else {
		l, ok = e.stopping[p]
	}
	e.mu.Unlock()
	if !ok {
		return
	}
	<-l.done
	e.mu.Lock()
	if e.stopping[p] == l {
		delete(e.stopping, p)
	}
	e.mu.Unlock()
	e.logger.Debug("partition stopped", "partition", p)
}

// Owns reports whether this engine is processing partition p: the
// delivery worker sends only the messages of partitions its node owns.
func (e *Engine) Owns(p int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.loops[p]
	return ok
}

// runPartition is one partition's loop. A failing pass is retried with
// backoff. When the trigger plugins fail on a batch, the loop narrows to
// one event at a time, so that an event that fails alone maxAttempts times
// (a poison event) is dead-lettered and the partition moves on.
func (e *Engine) runPartition(ctx context.Context, l *partitionLoop) {
	p := l.claim.Partition
	size, wait := e.batch, e.minBackoff
	failures := map[string]int{} // event id → failures alone
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		n, _, err := e.pass(ctx, p, &l.claim, size)
		var perr *processError
		switch {
		case err == nil:
			wait = e.minBackoff
			if size == 1 {
				clear(failures)
				size = e.batch
			}
			if n > 0 {
				continue
			}
			// The partition is empty: wait for a hint, or its next timer.
			idle := 5 * time.Second // watches are hints; re-read now and then
			if at, ok := e.nextTimer(ctx, p, e.now().Add(idle)); ok {
				idle = min(idle, max(at.Sub(e.now()), time.Millisecond))
			}
			t := time.NewTimer(idle)
			select {
			case <-l.wake:
			case <-l.stop:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			t.Stop()
			continue
		case errors.Is(err, errFenced):
			e.logger.Warn("partition taken by another node; stopping its loop", "partition", p)
			return
		case errors.As(err, &perr) && perr.items() > 1:
			// Which item is bad? Look at them one at a time.
			size = 1
			continue
		case errors.As(err, &perr):
			key, id := "", ""
			var dead func() error
			if len(perr.timers) == 1 {
				tm := perr.timers[0]
				key, id = tm.key, "timer "+tm.Timer.ID+" of rule "+tm.Rule
				dead = func() error { return e.deadLetterTimer(ctx, &l.claim, tm, failures[key], perr.err) }
			} else {
				en := perr.entries[0]
				key, id = en.Key, en.Event.ID
				dead = func() error { return e.deadLetterEntry(ctx, &l.claim, en, failures[key], perr.err) }
			}
			failures[key]++
			if failures[key] >= e.maxAttempts {
				if derr := dead(); derr != nil {
					e.logger.Error("dead-lettering a failing item failed", "partition", p, "key", key, "error", derr)
				} else {
					delete(failures, key)
					size, wait = e.batch, e.minBackoff
					continue
				}
			}
			e.logger.Warn("item failed in the trigger plugins; retrying", "partition", p, "item", id,
				"failures", failures[key], "retry_in", wait, "error", perr.err)
		default:
			e.logger.Warn("processing pass failed; retrying", "partition", p, "error", err, "retry_in", wait)
		}
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, e.maxBackoff)
	}
}

// deadLetterTimer moves a timer whose evaluation keeps failing out of the
// timers into a dead-letter record (as its timer.fired event), fenced like
// any commit. The customer record still lists it, so the record's next
// write by the rule replaces or forgets it.
func (e *Engine) deadLetterTimer(ctx context.Context, c *cluster.Claim, tm dueTimer, attempts int, cause error) error {
	ev := timerEvent(&tm, sdk.Profile{}, e.now().UTC())
	d := deadEvent{Event: ev, Rule: tm.Rule, Error: cause.Error(), Attempts: attempts, At: e.now().UTC()}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encoding dead-letter record: %w", err)
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(tm.key), "=", tm.modRevision)}
	if c != nil {
		cmps = append(cmps, c.Fence())
	}
	tctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	defer cancel()
	resp, err := e.store.Client().Txn(tctx).If(cmps...).Then(
		clientv3.OpDelete(tm.key),
		clientv3.OpPut(e.store.Key("deadletter", "events", url.PathEscape(ev.ID+"."+tm.Rule)), string(b)),
	).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return errors.New("the timer or the partition's ownership changed")
	}
	e.logger.Error("timer dead-lettered after repeated failures", "rule", tm.Rule, "timer", tm.Timer.ID, "customer", tm.Customer,
		"attempts", attempts, "error", cause)
	return nil
}

// stillOwned reports whether the claim's ownership key is unchanged.
func (e *Engine) stillOwned(ctx context.Context, c *cluster.Claim) bool {
	tctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	defer cancel()
	resp, err := e.store.Client().Get(tctx, c.Key)
	if err != nil {
		return true // unknown: let the caller retry
	}
	return len(resp.Kvs) == 1 && resp.Kvs[0].ModRevision == c.Revision
}

// DeadEvent is an event the engine gave up on, kept with its error so it
// can be inspected and re-queued.
type DeadEvent = deadEvent

// deadLetterEntry moves a poison event out of the log into its dead-letter
// record, fenced like any commit.
func (e *Engine) deadLetterEntry(ctx context.Context, c *cluster.Claim, en eventlog.Entry, attempts int, cause error) error {
	d := deadEvent{Event: en.Event, Error: cause.Error(), Attempts: attempts, At: e.now().UTC()}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encoding dead-letter record: %w", err)
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(en.Key), "=", en.ModRevision)}
	if c != nil {
		cmps = append(cmps, c.Fence())
	}
	tctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	defer cancel()
	resp, err := e.store.Client().Txn(tctx).If(cmps...).Then(
		clientv3.OpDelete(en.Key),
		clientv3.OpPut(e.store.Key("deadletter", "events", url.PathEscape(en.Event.ID)), string(b)),
	).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return errors.New("the event or the partition's ownership changed")
	}
	e.logger.Error("event dead-lettered after repeated failures", "event_id", en.Event.ID, "attempts", attempts, "error", cause)
	return nil
}
