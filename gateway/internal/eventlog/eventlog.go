// Package eventlog is the durable queue between ingest and processing: the
// log/<partition>/<event-id> keys in etcd (DESIGN.md §4). Ingest appends a
// delivery's events, each in the same transaction as its own dedupe record,
// and answers 202 only after the commit; the partition owner reads pending
// entries and deletes them in the same transaction that writes their
// effects.
//
// This version commits each delivery on its own (in chunks of up to 60
// events); group commit of concurrent deliveries comes later behind the
// same Append.
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
	"time"

	"github.com/hashicorp/go-hclog"
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

	leaseMu sync.Mutex
	leases  map[leaseKey]clientv3.LeaseID
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
// Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(l *Log) {
		if now != nil {
			l.now = now
		}
	}
}

// New returns a Log over s.
func New(s *store.Store, log hclog.Logger, opts ...Option) *Log {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	l := &Log{
		client:     s.Client(),
		log:        log,
		partitions: DefaultPartitions,
		window:     DefaultDedupeWindow,
		now:        time.Now,
		logPrefix:  s.Key("log") + "/",
		dedupe:     s.Key("dedupe") + "/",
		leases:     make(map[leaseKey]clientv3.LeaseID),
	}
	for _, o := range opts {
		o(l)
	}
	return l
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

// pendingEvent is one event on its way into the log.
type pendingEvent struct {
	index    int
	logKey   string
	data     []byte
	dedupe   string // "" when the event has no delivery id
	original string // the id of an earlier delivery of the same event
}

// maxChunkEvents keeps a transaction's compares (a log key and a dedupe
// key per event) and writes within maxTxnOps.
const maxChunkEvents = maxTxnOps / 2

// Append durably commits events before returning. Each event must carry an
// ID (no "/") and a Customer with a non-empty Key.
//
// An event with a DeliveryID (the vendor's id for that event: a batch's
// items each have their own) gets a dedupe record (source, DeliveryID) in
// the same transaction as its log entry, kept for window (the Log's
// default when zero). An event whose record exists is not written again:
// its result id is the one first committed. Every key is created only if
// absent, so retrying an Append whose outcome was unknown (an etcd timeout)
// never duplicates an event.
//
// Large deliveries are committed in chunks of up to 60 events. If a later
// chunk fails the error is returned; the sender's retry finds the earlier
// chunks' events deduplicated, which is why chunking is safe.
func (l *Log) Append(ctx context.Context, source string, events []sdk.Event, window time.Duration) (AppendResult, error) {
	if window <= 0 {
		window = l.window
	}
	res := AppendResult{EventIDs: make([]string, len(events))}
	pending := make([]*pendingEvent, 0, len(events))
	seenID := make(map[string]bool, len(events))
	seenDelivery := make(map[string]int, len(events))
	for i, ev := range events {
		if ev.ID == "" || strings.Contains(ev.ID, "/") {
			return AppendResult{}, fmt.Errorf("event %d of %q: id %q: %w", i, source, ev.ID, ErrInvalidEvent)
		}
		if first, ok := seenDelivery[ev.DeliveryID]; ok && ev.DeliveryID != "" {
			// The same vendor event twice in one delivery is one event
			// (and, with ids derived from delivery ids, has the same id).
			res.EventIDs[i] = res.EventIDs[first]
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
		res.EventIDs[i] = ev.ID
		if ev.DeliveryID != "" {
			seenDelivery[ev.DeliveryID] = i
		}
		data, err := json.Marshal(ev)
		if err != nil {
			// Not a store problem: retrying cannot help (a non-finite
			// number, say), so it is the sender's bad event.
			return AppendResult{}, fmt.Errorf("encoding event %s: %v: %w", ev.ID, err, ErrInvalidEvent)
		}
		p := &pendingEvent{index: i, logKey: l.Prefix(l.Partition(ck)) + ev.ID, data: data}
		if ev.DeliveryID != "" {
			if source == "" || strings.Contains(source, "/") {
				return AppendResult{}, fmt.Errorf("source name %q cannot hold a dedupe record", source)
			}
			sum := sha256.Sum256([]byte(ev.DeliveryID))
			p.dedupe = l.dedupe + source + "/" + hex.EncodeToString(sum[:])
		}
		if size := 2*len(p.logKey) + len(data) + 3*len(p.dedupe) + len(ev.ID); size >= maxTxnBytes {
			return AppendResult{}, fmt.Errorf("event %s is %d bytes (limit %d): %w", ev.ID, size, maxTxnBytes, ErrTooLarge)
		}
		pending = append(pending, p)
	}

	for len(pending) > 0 {
		n, size := 0, 0
		for n < len(pending) && n < maxChunkEvents {
			p := pending[n]
			size += 2*len(p.logKey) + len(p.data) + 3*len(p.dedupe)
			if size >= maxTxnBytes && n > 0 {
				break
			}
			n++
		}
		if err := l.commitChunk(ctx, source, pending[:n], window); err != nil {
			return AppendResult{}, err
		}
		for _, p := range pending[:n] {
			if p.original != "" {
				res.EventIDs[p.index] = p.original
			} else {
				res.New++
			}
		}
		pending = pending[n:]
	}
	// Events repeated within the delivery point at their first copy, which
	// may itself have turned out to be a duplicate.
	for i, ev := range events {
		if first, ok := seenDelivery[ev.DeliveryID]; ok && ev.DeliveryID != "" && first != i {
			res.EventIDs[i] = res.EventIDs[first]
		}
	}
	res.Duplicate = res.New == 0 && len(events) > 0
	return res, nil
}

// commitChunk writes the chunk's events that are not in the log yet. An
// event found already committed (its dedupe record or its log key exists)
// gets original set and is not written. The transaction is retried with the
// remaining events until it commits.
func (l *Log) commitChunk(ctx context.Context, source string, chunk []*pendingEvent, window time.Duration) error {
	leaseRetried := false
	for {
		var todo []*pendingEvent
		for _, p := range chunk {
			if p.original == "" {
				todo = append(todo, p)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		var cmps []clientv3.Cmp
		var puts, gets []clientv3.Op
		var lease clientv3.LeaseID
		for _, p := range todo {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(p.logKey), "=", 0))
			puts = append(puts, clientv3.OpPut(p.logKey, string(p.data)))
			gets = append(gets, clientv3.OpGet(p.logKey, clientv3.WithKeysOnly()))
			if p.dedupe == "" {
				continue
			}
			if lease == 0 {
				var err error
				if lease, err = l.lease(ctx, window); err != nil {
					return err
				}
			}
			id := p.logKey[strings.LastIndexByte(p.logKey, '/')+1:]
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(p.dedupe), "=", 0))
			puts = append(puts, clientv3.OpPut(p.dedupe, id, clientv3.WithLease(lease)))
			gets = append(gets, clientv3.OpGet(p.dedupe))
		}
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
			return classify(fmt.Sprintf("committing %d events of %q", len(todo), source), err)
		}
		if resp.Succeeded {
			return nil
		}
		// Some event was there before: mark every such event with the id
		// first committed, and try again with the rest.
		r, marked := 0, 0
		for _, p := range todo {
			logKVs := resp.Responses[r].GetResponseRange().GetKvs()
			r++
			if len(logKVs) > 0 {
				// No dedupe record, but the event is in the log: a retry
				// of an append that did commit, or a record that expired
				// while the event still waits.
				p.original = p.logKey[strings.LastIndexByte(p.logKey, '/')+1:]
			}
			if p.dedupe != "" {
				if kvs := resp.Responses[r].GetResponseRange().GetKvs(); len(kvs) > 0 {
					p.original = string(kvs[0].Value)
					if p.original == "" {
						// A record holding no id (edited by hand): the
						// event was seen; report it under its own id.
						p.original = p.logKey[strings.LastIndexByte(p.logKey, '/')+1:]
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
			return fmt.Errorf("committing %d events of %q: the transaction failed but no event was found committed", len(todo), source)
		}
		l.log.Debug("events seen before", "source", source)
	}
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
	if partition >= l.partitions {
		return nil, 0, fmt.Errorf("partition %d out of range [0, %d)", partition, l.partitions)
	}
	if limit <= 0 {
		limit = DefaultPendingLimit
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := l.client.Get(rctx, l.Prefix(partition),
		clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend),
		clientv3.WithLimit(int64(limit)))
	if err != nil {
		return nil, 0, classify(fmt.Sprintf("reading log partition %d", partition), err)
	}
	entries := make([]Entry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
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
	return entries, resp.Header.Revision, nil
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
