// Package backlog watches how far processing lags behind ingest, so that
// the ingest can push back (429 with Retry-After) instead of queueing
// without bound when consumers fall behind, and answer 503 when etcd
// itself is too slow to take more.
//
// A Monitor counts each partition's pending log entries every interval
// (one count-only range per partition: cheap for etcd) and times those
// reads as a measure of etcd's latency. Check is called by the ingest on
// every delivery and only reads the last counts: it costs nothing.
package backlog

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// Errors returned by Check; each says how long the sender should wait.
var (
	// ErrBacklog means a partition the delivery goes to holds more pending
	// events than the limit (429).
	ErrBacklog = errors.New("processing is behind")
	// ErrSlowStore means etcd answers more slowly than the limit (503).
	ErrSlowStore = errors.New("the store is slow")
)

// Refusal is a Check error with the wait to advise.
type Refusal struct {
	Err        error
	RetryAfter time.Duration
	Detail     string
}

func (r *Refusal) Error() string { return r.Err.Error() + ": " + r.Detail }
func (r *Refusal) Unwrap() error { return r.Err }

// Monitor tracks the backlog of every partition and etcd's latency.
type Monitor struct {
	store      *store.Store
	log        *eventlog.Log
	logger     hclog.Logger
	limit      int64
	slow       time.Duration
	interval   time.Duration
	retryAfter time.Duration

	counts  []atomic.Int64
	latency atomic.Int64 // nanoseconds of the last count sweep's slowest read
	total   atomic.Int64
}

// Option configures a Monitor.
type Option func(*Monitor)

// WithLimit sets the pending events per partition above which deliveries
// to it are refused (default 10,000; 0 disables the check).
func WithLimit(n int64) Option { return func(m *Monitor) { m.limit = n } }

// WithSlowStore sets the etcd read latency above which deliveries are
// refused with 503 (default 2s; 0 disables the check).
func WithSlowStore(d time.Duration) Option { return func(m *Monitor) { m.slow = d } }

// WithInterval sets how often the backlog is counted (default 500ms).
func WithInterval(d time.Duration) Option { return func(m *Monitor) { m.interval = d } }

// New returns a monitor; Run must run for its counts to be current.
func New(st *store.Store, lg *eventlog.Log, logger hclog.Logger, opts ...Option) *Monitor {
	m := &Monitor{
		store: st, log: lg, logger: logger,
		limit: 10000, slow: 2 * time.Second, interval: 500 * time.Millisecond, retryAfter: 5 * time.Second,
		counts: make([]atomic.Int64, lg.Partitions()),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Run counts the backlog every interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		if err := m.sweep(ctx); err != nil && ctx.Err() == nil {
			m.logger.Warn("counting the backlog failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sweep counts every partition's pending entries.
func (m *Monitor) sweep(ctx context.Context) error {
	var total int64
	var slowest time.Duration
	for p := range m.counts {
		start := time.Now()
		tctx, cancel := context.WithTimeout(ctx, max(m.slow*2, 5*time.Second))
		resp, err := m.store.Client().Get(tctx, m.log.Prefix(p), clientv3.WithPrefix(), clientv3.WithCountOnly())
		cancel()
		took := time.Since(start)
		slowest = max(slowest, took)
		if err != nil {
			m.latency.Store(int64(max(slowest, m.slow+1))) // an unanswered read counts as slow
			return fmt.Errorf("counting partition %d: %w", p, err)
		}
		m.counts[p].Store(resp.Count)
		metrics.SetBacklog(p, resp.Count)
		total += resp.Count
	}
	m.latency.Store(int64(slowest))
	m.total.Store(total)
	return nil
}

// Check says whether a delivery's events may be accepted now.
func (m *Monitor) Check(events []sdk.Event) error {
	if m.slow > 0 {
		if lat := time.Duration(m.latency.Load()); lat > m.slow {
			return &Refusal{Err: ErrSlowStore, RetryAfter: m.retryAfter,
				Detail: fmt.Sprintf("etcd took %s to answer a read (limit %s)", lat.Round(time.Millisecond), m.slow)}
		}
	}
	if m.limit <= 0 {
		return nil
	}
	for _, ev := range events {
		p := m.log.Partition(ev.Customer.Key())
		if n := m.counts[p].Load(); n >= m.limit {
			return &Refusal{Err: ErrBacklog, RetryAfter: m.retryAfter,
				Detail: fmt.Sprintf("partition %d has %d events waiting (limit %d)", p, n, m.limit)}
		}
	}
	return nil
}

// Pending returns the last counted backlog of partition p.
func (m *Monitor) Pending(p int) int64 {
	if p < 0 || p >= len(m.counts) {
		return 0
	}
	return m.counts[p].Load()
}

// Total returns the last counted backlog of all partitions.
func (m *Monitor) Total() int64 { return m.total.Load() }
