// Package eventlog is the durable queue between ingest and processing: the
// log/<partition>/<event-id> keys in etcd (DESIGN.md §4). Ingest appends a
// delivery's events, each in the same transaction as its own dedupe record,
// and answers 202 only after the commit; the partition owner reads pending
// entries and deletes them in the same transaction that writes their
// effects.
//
// Appends of concurrent deliveries share transactions (group commit, in
// commit.go): much of etcd's cost is per transaction (a gRPC call, a raft
// round, a WAL fsync), so batching is what lets one node accept thousands
// of deliveries a second.
package eventlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// Defaults and limits.
const (
	// DefaultPartitions is the partition count unless WithPartitions says
	// otherwise. Changing it moves customers between partitions, so it is
	// fixed for the life of a cluster.
	DefaultPartitions = 64
	// MaxPartitions is the largest partition count: partitions are
	// zero-padded to three digits in keys so that they sort in order.
	MaxPartitions = 1000
	// DefaultDedupeWindow is how long a delivery id is remembered unless
	// WithDedupeWindow says otherwise. Vendors retry for up to 72 hours
	// (Shopify 48h, Stripe 3 days).
	DefaultDedupeWindow = 72 * time.Hour
	// DefaultPendingLimit is what Pending reads when given limit <= 0.
	DefaultPendingLimit = 1000
	// DefaultCommitWindow is how long a batch waits for more events after
	// its first, unless WithCommitWindow says otherwise. It is short next
	// to an etcd commit under load (3 to 10 ms), and was the best of 0 to
	// 8 ms in BenchmarkIngest (64 concurrent senders, 2 cores).
	DefaultCommitWindow = 2 * time.Millisecond
	// DefaultCommitters is how many batches may be in flight at once
	// unless WithCommitters says otherwise. etcd handles a transaction
	// in stages (raft and WAL fsync, then apply), so a few in flight keep
	// every stage busy; more only make the batches smaller.
	DefaultCommitters = 4
	// MaxBatchEvents is the most events one transaction holds, and the
	// default of WithMaxBatch: each event takes two compares and two puts
	// (log key and dedupe record), within etcd's 128 operations.
	MaxBatchEvents = maxTxnOps / 2
)

const (
	// maxTxnOps keeps a transaction under etcd's default limit of 128
	// operations per branch, with room to spare.
	maxTxnOps = 120
	// maxTxnBytes keeps a transaction under etcd's default 1.5 MiB request
	// limit, with room for protobuf framing.
	maxTxnBytes = 1 << 20
	// requestTimeout bounds every etcd call Append and Pending make.
	requestTimeout = 5 * time.Second
	// waitHint is the longest Wait blocks: a watch can miss events
	// silently (a network partition without a leader change), so the
	// caller re-reads at least this often.
	waitHint = 5 * time.Second
	// leaseBucket is how long dedupe keys share one lease.
	leaseBucket = time.Hour
)

// Errors returned by Append. Append also returns store.ErrNoSpace (wrapped)
// when etcd is out of space.
var (
	// ErrTooLarge means the events do not fit in one etcd transaction; the
	// ingest answers 413.
	ErrTooLarge = errors.New("delivery too large to commit in one transaction")
	// ErrInvalidEvent means an event lacks an id or a customer identity;
	// source adapters must never produce one.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrClosed means Append was called after Close; the ingest answers
	// 503 and the sender retries with another node or later.
	ErrClosed = errors.New("event log is closed")
)

// Log appends events to, and reads them from, the event log in etcd. It is
// safe for concurrent use.
type Log struct {
	client     *clientv3.Client
	log        hclog.Logger
	partitions int
	window     time.Duration
	now        func() time.Time
	logPrefix  string // <prefix>log/
	dedupe     string // <prefix>dedupe/

	// Group commit settings; see the With options.
	commitWindow time.Duration
	committers   int
	maxBatch     int
	group        *committer

	leaseMu sync.Mutex
	leases  map[leaseKey]clientv3.LeaseID

	stats struct{ appends, events, txns, batches atomic.Int64 }
}

// leaseKey identifies a shared dedupe lease: one per hour bucket and
// dedupe window, so keys of sources with different windows expire apart.
type leaseKey struct {
	bucket int64
	window time.Duration
}

// Option configures a Log.
type Option func(*Log)

// WithPartitions sets the partition count, between 1 and MaxPartitions
// (values outside are clamped). Default DefaultPartitions.
func WithPartitions(n int) Option {
	return func(l *Log) { l.partitions = min(max(n, 1), MaxPartitions) }
}

// WithDedupeWindow sets how long a delivery id is remembered. Dedupe keys
// live at least this long and at most an hour longer. Default
// DefaultDedupeWindow; values below a second are ignored.
func WithDedupeWindow(d time.Duration) Option {
	return func(l *Log) {
		if d >= time.Second {
			l.window = d
		}
	}
}

// WithClock sets the clock that places dedupe keys in lease buckets.
// Default time.Now. Commit windows are always measured in real time.
func WithClock(now func() time.Time) Option {
	return func(l *Log) {
		if now != nil {
			l.now = now
		}
	}
}

// WithCommitWindow sets how long a batch waits, from its first event, for
// more events before it is committed, unless it fills up first. It is
// added to the latency of an append on a quiet node; 0 commits whatever
// is waiting as soon as a committer is free (batches still form while
// earlier ones are in flight). Default DefaultCommitWindow; negative
// values are ignored.
func WithCommitWindow(d time.Duration) Option {
	return func(l *Log) {
		if d >= 0 {
			l.commitWindow = d
		}
	}
}

// WithCommitters sets how many batches may be in flight at once, at least
// 1. Default DefaultCommitters.
func WithCommitters(n int) Option {
	return func(l *Log) { l.committers = max(n, 1) }
}

// WithMaxBatch sets the most events one shared transaction holds, between
// 1 and MaxBatchEvents (values outside are clamped). Deliveries with more
// events than this are committed on their own, in chunks of this size.
// Default MaxBatchEvents.
func WithMaxBatch(n int) Option {
	return func(l *Log) { l.maxBatch = min(max(n, 1), MaxBatchEvents) }
}

// New returns a Log over s. Call Close when shutting down.
func New(s *store.Store, log hclog.Logger, opts ...Option) *Log {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	l := &Log{
		client:       s.Client(),
		log:          log,
		partitions:   DefaultPartitions,
		window:       DefaultDedupeWindow,
		now:          time.Now,
		logPrefix:    s.Key("log") + "/",
		dedupe:       s.Key("dedupe") + "/",
		commitWindow: DefaultCommitWindow,
		committers:   DefaultCommitters,
		maxBatch:     MaxBatchEvents,
		leases:       make(map[leaseKey]clientv3.LeaseID),
	}
	for _, o := range opts {
		o(l)
	}
	l.group = newCommitter(l)
	return l
}

// Close commits the appends already waiting, waits for the batches in
// flight, and makes later Appends fail with ErrClosed. Call it once the
// ingest has stopped taking requests and before closing the store. A Log
// that is never closed holds no goroutine while no Append is waiting, so
// tests may skip it. Close may be called more than once.
func (l *Log) Close() { l.group.close() }

// Stats counts what Append did since New.
type Stats struct {
	// Appends counts Append calls that had events to commit.
	Appends int64
	// Events counts events committed new (duplicates not included).
	Events int64
	// Txns counts the transactions Append sent to etcd, retries included:
	// Txns/Events is the etcd writes per event.
	Txns int64
	// Batches counts the shared transactions group commit formed (each
	// counted once, however often it was retried); Appends/Batches is how
	// many deliveries shared one.
	Batches int64
}

// Stats returns the counts so far, for metrics and benchmarks.
func (l *Log) Stats() Stats {
	return Stats{
		Appends: l.stats.appends.Load(),
		Events:  l.stats.events.Load(),
		Txns:    l.stats.txns.Load(),
		Batches: l.stats.batches.Load(),
	}
}

// Partitions returns the partition count.
func (l *Log) Partitions() int { return l.partitions }

// Partition maps a customer key (sdk.Customer.Key) to its partition with
// 32-bit FNV-1a, so that every node agrees without coordination.
func (l *Log) Partition(customerKey string) int {
	h := fnv.New32a()
	h.Write([]byte(customerKey))
	return int(h.Sum32() % uint32(l.partitions))
}

// Prefix returns the key prefix of all log entries, or of one partition's
// entries when partition >= 0, for callers that watch or count them.
func (l *Log) Prefix(partition int) string {
	if partition < 0 {
		return l.logPrefix
	}
	return fmt.Sprintf("%s%03d/", l.logPrefix, partition)
}

// AppendResult is what Append committed, or found committed before.
type AppendResult struct {
	// EventIDs has one id per event given, in order: the id it was
	// committed under or, for an event seen before, the id its first
	// delivery committed.
	EventIDs []string
	// New counts the events this call committed.
	New int
	// Duplicate is true when every event had been seen before and nothing
	// was written.
	Duplicate bool
}

// Append durably commits events before returning. Each event must carry an
// ID (no "/") and a Customer with a non-empty Key.
//
// An event with a DeliveryID (the vendor's id for that event: a batch's
// items each have their own) gets a dedupe record (source, DeliveryID) in
// the same transaction as its log entry, kept for window (the Log's
// default when zero). An event whose record exists is not written again:
// its result id is the one first committed; the same holds between
// concurrent Appends. Every key is created only if absent, so retrying an
// Append whose outcome was unknown (an etcd timeout, or ctx ending while
// it waited) never duplicates an event.
//
// A delivery of up to WithMaxBatch events is committed in one transaction,
// usually shared with concurrent Appends (group commit); Append returns
// once that transaction has committed, with its error if it failed, or
// with ctx's error if ctx ends first (the events may or may not commit).
// Larger deliveries are committed on their own, in order, in chunks. If a
// later chunk fails the error is returned; the sender's retry finds the
// earlier chunks' events deduplicated, which is why chunking is safe.
func (l *Log) Append(ctx context.Context, source string, events []sdk.Event, window time.Duration) (AppendResult, error) {
	if window <= 0 {
		window = l.window
	}
	res := AppendResult{EventIDs: make([]string, len(events))}
	pending := make([]*pendingEvent, 0, len(events))
	size := 0
	seenID := make(map[string]bool, len(events))
	seenDelivery := make(map[string]int, len(events))
	for i, ev := range events {
		if ev.ID == "" || strings.Contains(ev.ID, "/") {
			return AppendResult{}, fmt.Errorf("event %d of %q: id %q: %w", i, source, ev.ID, ErrInvalidEvent)
		}
		if _, ok := seenDelivery[ev.DeliveryID]; ok && ev.DeliveryID != "" {
			// The same vendor event twice in one delivery is one event
			// (and, with ids derived from delivery ids, has the same id);
			// the copies get its id below.
			continue
		}
		if seenID[ev.ID] {
			return AppendResult{}, fmt.Errorf("event %d of %q: id %s repeated: %w", i, source, ev.ID, ErrInvalidEvent)
		}
		seenID[ev.ID] = true
		ck := ev.Customer.Key()
		if ck == "" {
			return AppendResult{}, fmt.Errorf("event %s of %q has no customer identity: %w", ev.ID, source, ErrInvalidEvent)
		}
		if ev.DeliveryID != "" {
			seenDelivery[ev.DeliveryID] = i
		}
		data, err := json.Marshal(ev)
		if err != nil {
			// Not a store problem: retrying cannot help (a non-finite
			// number, say), so it is the sender's bad event.
			return AppendResult{}, fmt.Errorf("encoding event %s: %v: %w", ev.ID, err, ErrInvalidEvent)
		}
		p := &pendingEvent{index: i, id: ev.ID, logKey: l.Prefix(l.Partition(ck)) + ev.ID, data: data, window: window}
		if ev.DeliveryID != "" {
			if source == "" || strings.Contains(source, "/") {
				return AppendResult{}, fmt.Errorf("source name %q cannot hold a dedupe record", source)
			}
			sum := sha256.Sum256([]byte(ev.DeliveryID))
			p.dedupe = l.dedupe + source + "/" + hex.EncodeToString(sum[:])
		}
		p.size = 2*len(p.logKey) + len(data) + 3*len(p.dedupe)
		if p.size+len(ev.ID) >= maxTxnBytes {
			return AppendResult{}, fmt.Errorf("event %s is %d bytes (limit %d): %w", ev.ID, p.size+len(ev.ID), maxTxnBytes, ErrTooLarge)
		}
		size += p.size
		pending = append(pending, p)
	}
	if len(pending) == 0 {
		return res, nil
	}
	l.stats.appends.Add(1)

	var err error
	if len(pending) <= l.maxBatch && size < maxTxnBytes {
		err = l.group.commit(ctx, pending, size)
	} else {
		err = l.writeChunks(ctx, pending)
	}
	if err != nil {
		return AppendResult{}, err
	}

	for _, p := range pending {
		id, isNew := p.outcome()
		res.EventIDs[p.index] = id
		if isNew {
			res.New++
		}
	}
	// Events repeated within the delivery get the id of their first copy,
	// which may itself have turned out to be a duplicate.
	for i, ev := range events {
		if first, ok := seenDelivery[ev.DeliveryID]; ok && ev.DeliveryID != "" && first != i {
			res.EventIDs[i] = res.EventIDs[first]
		}
	}
	res.Duplicate = res.New == 0
	l.stats.events.Add(int64(res.New))
	return res, nil
}

// writeChunks commits a delivery too large for one transaction in chunks
// of up to maxBatch events, in order, each chunk after the one before has
// committed, so that a customer's events keep their order.
func (l *Log) writeChunks(ctx context.Context, pending []*pendingEvent) error {
	if l.group.isClosed() {
		return ErrClosed
	}
	for len(pending) > 0 {
		n, size := 0, 0
		for n < len(pending) && n < l.maxBatch {
			size += pending[n].size
			if size >= maxTxnBytes && n > 0 {
				break
			}
			n++
		}
		if err := l.write(ctx, pending[:n]); err != nil {
			return err
		}
		pending = pending[n:]
	}
	return nil
}

func (l *Log) lease(ctx context.Context, window time.Duration) (clientv3.LeaseID, error) {
	key := leaseKey{bucket: l.now().Unix() / int64(leaseBucket/time.Second), window: window}
	l.leaseMu.Lock()
	defer l.leaseMu.Unlock()
	if id, ok := l.leases[key]; ok {
		return id, nil
	}
	ttl := int64((window + leaseBucket) / time.Second)
	gctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := l.client.Grant(gctx, ttl)
	if err != nil {
		return 0, classify("granting dedupe lease", err)
	}
	// Earlier buckets' leases are not needed any more: their keys expire
	// with them in etcd.
	for k := range l.leases {
		if k.bucket < key.bucket {
			delete(l.leases, k)
		}
	}
	l.leases[key] = resp.ID
	l.log.Debug("granted dedupe lease", "lease", fmt.Sprintf("%x", resp.ID), "ttl", ttl)
	return resp.ID, nil
}

// forgetLeases drops the cached leases after etcd said one is gone.
func (l *Log) forgetLeases() {
	l.leaseMu.Lock()
	defer l.leaseMu.Unlock()
	clear(l.leases)
}

// classify wraps an etcd error, marking out-of-space and too-large
// requests so that callers can answer 503 and 413.
func classify(what string, err error) error {
	switch {
	case store.IsNoSpace(err):
		return fmt.Errorf("%s: %w: %w", what, store.ErrNoSpace, err)
	case errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("%s: %w: %w", what, ErrTooLarge, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Entry is one pending event in the log.
type Entry struct {
	// Key is the entry's etcd key; ConsumeOps deletes it.
	Key string
	// Partition is the partition the entry is in.
	Partition int
	// Event is the decoded event; zero when DecodeErr is set.
	Event sdk.Event
	// ModRevision is the revision the entry was committed at (log keys
	// are written once, so it is also their create revision).
	ModRevision int64
	// DecodeErr is why the stored value could not be decoded. The caller
	// dead-letters such entries rather than retrying them forever.
	DecodeErr error
}

// Pending returns up to limit entries of one partition (partition >= 0) or
// of all partitions (partition < 0), and the store revision the read was
// made at, for Wait. Entries come in commit order, which keeps each
// customer's events in the order they were accepted; key order would not,
// since event ids need not grow with commit time. limit <= 0 means
// DefaultPendingLimit.
func (l *Log) Pending(ctx context.Context, partition int, limit int) ([]Entry, int64, error) {
	op, err := l.PendingOp(partition, limit)
	if err != nil {
		return nil, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := l.client.Do(rctx, op)
	if err != nil {
		return nil, 0, classify(fmt.Sprintf("reading log partition %d", partition), err)
	}
	return l.DecodePending(resp.Get().Kvs), resp.Get().Header.Revision, nil
}

// PendingOp is the read Pending makes, for a caller that sends it in one
// transaction with reads of its own; DecodePending decodes its result.
func (l *Log) PendingOp(partition int, limit int) (clientv3.Op, error) {
	if partition >= l.partitions {
		return clientv3.Op{}, fmt.Errorf("partition %d out of range [0, %d)", partition, l.partitions)
	}
	if limit <= 0 {
		limit = DefaultPendingLimit
	}
	return clientv3.OpGet(l.Prefix(partition),
		clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend),
		clientv3.WithLimit(int64(limit))), nil
}

// DecodePending decodes the entries a PendingOp read. An entry that does
// not decode comes back with DecodeErr set.
func (l *Log) DecodePending(kvs []*mvccpb.KeyValue) []Entry {
	entries := make([]Entry, 0, len(kvs))
	for _, kv := range kvs {
		e := Entry{Key: string(kv.Key), Partition: -1, ModRevision: kv.ModRevision}
		p, _, ok := strings.Cut(strings.TrimPrefix(e.Key, l.logPrefix), "/")
		if n, err := strconv.Atoi(p); ok && err == nil {
			e.Partition = n
		} else {
			e.DecodeErr = fmt.Errorf("log key %q has no partition", e.Key)
		}
		if e.DecodeErr == nil {
			if err := json.Unmarshal(kv.Value, &e.Event); err != nil {
				e.Event = sdk.Event{}
				e.DecodeErr = fmt.Errorf("decoding log entry %s: %w", e.Key, err)
			}
		}
		entries = append(entries, e)
	}
	return entries
}

// Wait blocks until an entry is appended after revision rev, ctx is done,
// or a few seconds pass. It is a hint: it also returns early when the watch
// breaks or rev has been compacted, and the caller always re-reads with
// Pending. It returns an error only when ctx is done.
func (l *Log) Wait(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithTimeout(ctx, waitHint)
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithFilterDelete()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev+1))
	}
	wch := l.client.Watch(clientv3.WithRequireLeader(wctx), l.logPrefix, opts...)
	for {
		select {
		case wr, ok := <-wch:
			switch {
			case !ok:
				return ctx.Err()
			case wr.CompactRevision != 0, wr.Canceled, wr.Err() != nil:
				l.log.Debug("log watch ended", "rev", rev, "compact_revision", wr.CompactRevision, "error", wr.Err())
				return ctx.Err()
			case len(wr.Events) > 0:
				return nil
			}
		case <-wctx.Done():
			return ctx.Err()
		}
	}
}

// ConsumeOps returns the operations that delete entries, for the caller's
// processing transaction; the caller's own comparisons (ownership fencing)
// guard them.
func (l *Log) ConsumeOps(entries []Entry) []clientv3.Op {
	ops := make([]clientv3.Op, len(entries))
	for i, e := range entries {
		ops[i] = clientv3.OpDelete(e.Key)
	}
	return ops
}
