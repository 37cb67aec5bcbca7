package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/ulid/v2"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

// newLog starts embedded etcd and returns a Log over it.
func newLog(t testing.TB, opts ...eventlog.Option) (*eventlog.Log, *store.Store) {
	t.Helper()
	s := storetest.Start(t)
	return eventlog.New(s, hclog.NewNullLogger(), opts...), s
}

// event returns a checkout event for the customer with the given email.
func event(email string) sdk.Event {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return sdk.Event{
		ID:         ulid.Make().String(),
		Type:       "checkout.updated",
		Source:     "shop",
		SourceKind: "shopify",
		OccurredAt: at,
		ReceivedAt: at.Add(time.Second),
		Customer:   sdk.Customer{Email: email},
		Properties: map[string]any{"value": 199.0, "currency": "USD"},
	}
}

// ctxT returns a context for one test's etcd calls.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// countKeys counts the keys under the store prefix + sub.
func countKeys(t testing.TB, s *store.Store, sub string) int64 {
	t.Helper()
	resp, err := s.Client().Get(ctxT(t), s.Key(sub)+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatalf("counting %s keys: %v", sub, err)
	}
	return resp.Count
}

func TestAppendThenPending(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)
	events := []sdk.Event{event("a@example.com"), event("b@example.com"), event("c@example.com")}

	res, err := l.Append(ctx, "shop", "delivery-1", events)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	wantIDs := []string{events[0].ID, events[1].ID, events[2].ID}
	if res.Duplicate || !reflect.DeepEqual(res.EventIDs, wantIDs) {
		t.Fatalf("Append = %+v, want ids %v and not duplicate", res, wantIDs)
	}

	entries, rev, err := l.Pending(ctx, -1, 0)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if rev <= 0 {
		t.Errorf("Pending revision = %d, want > 0", rev)
	}
	if len(entries) != len(events) {
		t.Fatalf("Pending returned %d entries, want %d", len(entries), len(events))
	}
	byID := map[string]eventlog.Entry{}
	for _, e := range entries {
		byID[e.Event.ID] = e
	}
	for _, want := range events {
		e, ok := byID[want.ID]
		if !ok {
			t.Fatalf("event %s missing from Pending", want.ID)
		}
		p := l.Partition(want.Customer.Key())
		if e.DecodeErr != nil || e.Partition != p || e.ModRevision <= 0 {
			t.Errorf("entry %+v, want partition %d, a revision and no decode error", e, p)
		}
		if wantKey := s.Key("log", fmt.Sprintf("%03d", p), want.ID); e.Key != wantKey {
			t.Errorf("entry key = %q, want %q", e.Key, wantKey)
		}
		if !reflect.DeepEqual(e.Event, want) {
			t.Errorf("entry event = %+v, want %+v", e.Event, want)
		}

		one, _, err := l.Pending(ctx, p, 10)
		if err != nil {
			t.Fatalf("Pending(%d): %v", p, err)
		}
		for _, o := range one {
			if o.Partition != p {
				t.Errorf("Pending(%d) returned an entry of partition %d", p, o.Partition)
			}
		}
	}

	if _, _, err := l.Pending(ctx, l.Partitions(), 10); err == nil {
		t.Errorf("Pending(%d) succeeded, want out of range", l.Partitions())
	}
}

// TestPendingCommitOrder checks that a customer's events come back in the
// order they were committed even when their ids sort the other way.
func TestPendingCommitOrder(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t, eventlog.WithPartitions(1))
	ctx := ctxT(t)
	var ids []string
	for _, id := range []string{"05ZZZZZZZZZZZZZZZZZZZZZZZZ", "01AAAAAAAAAAAAAAAAAAAAAAAA", "03MMMMMMMMMMMMMMMMMMMMMMMM"} {
		ev := event("jane@example.com")
		ev.ID = id
		if _, err := l.Append(ctx, "shop", "", []sdk.Event{ev}); err != nil {
			t.Fatalf("Append: %v", err)
		}
		ids = append(ids, id)
	}
	entries, _, err := l.Pending(ctx, 0, 2)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Event.ID)
	}
	if !reflect.DeepEqual(got, ids[:2]) {
		t.Fatalf("Pending order = %v, want commit order %v", got, ids[:2])
	}
}

func TestAppendDuplicateDelivery(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)
	first := []sdk.Event{event("a@example.com"), event("b@example.com")}
	res1, err := l.Append(ctx, "shop", "d-1", first)
	if err != nil {
		t.Fatalf("first Append: %v", err)
	}

	tests := []struct {
		name          string
		source        string
		delivery      string
		wantDuplicate bool
	}{
		{"same source and delivery", "shop", "d-1", true},
		{"same delivery from another source", "crm", "d-1", false},
		{"another delivery", "shop", "d-2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countKeys(t, s, "log")
			// Adapters make ids deterministic per delivery, but dedupe must
			// not depend on it: send fresh ids.
			retry := []sdk.Event{event("a@example.com"), event("b@example.com")}
			res, err := l.Append(ctx, tt.source, tt.delivery, retry)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if res.Duplicate != tt.wantDuplicate {
				t.Fatalf("Duplicate = %v, want %v", res.Duplicate, tt.wantDuplicate)
			}
			after := countKeys(t, s, "log")
			if tt.wantDuplicate {
				if !reflect.DeepEqual(res.EventIDs, res1.EventIDs) {
					t.Errorf("duplicate ids = %v, want the first delivery's %v", res.EventIDs, res1.EventIDs)
				}
				if after != before {
					t.Errorf("duplicate wrote log keys: %d before, %d after", before, after)
				}
			} else if after != before+2 {
				t.Errorf("log keys %d before, %d after, want 2 more", before, after)
			}
		})
	}
}

// TestAppendRetryUnknownOutcome replays appends whose first attempt did
// commit, as a client does after a timeout.
func TestAppendRetryUnknownOutcome(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)

	tests := []struct {
		name     string
		delivery string
		// dropDedupe deletes the dedupe records before the retry, as if
		// they had expired while the events still wait in the log.
		dropDedupe bool
	}{
		{"without delivery id", "", false},
		{"with delivery id", "d-retry", false},
		{"dedupe record gone", "d-expired", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := []sdk.Event{event("x@example.com")}
			if _, err := l.Append(ctx, "shop", tt.delivery, events); err != nil {
				t.Fatalf("Append: %v", err)
			}
			if tt.dropDedupe {
				if _, err := s.Client().Delete(ctx, s.Key("dedupe")+"/", clientv3.WithPrefix()); err != nil {
					t.Fatal(err)
				}
			}
			before := countKeys(t, s, "log")
			res, err := l.Append(ctx, "shop", tt.delivery, events)
			if err != nil {
				t.Fatalf("retried Append: %v", err)
			}
			if !res.Duplicate || !reflect.DeepEqual(res.EventIDs, []string{events[0].ID}) {
				t.Errorf("retried Append = %+v, want duplicate of %s", res, events[0].ID)
			}
			if after := countKeys(t, s, "log"); after != before {
				t.Errorf("retry wrote log keys: %d before, %d after", before, after)
			}
		})
	}
}

func TestAppendConcurrentSameDelivery(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)
	const n = 20
	var (
		wg      sync.WaitGroup
		winners atomic.Int32
		mu      sync.Mutex
		results = make([]eventlog.AppendResult, n)
		errs    = make([]error, n)
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := l.Append(ctx, "shop", "same-delivery", []sdk.Event{event("c@example.com")})
			mu.Lock()
			results[i], errs[i] = res, err
			mu.Unlock()
			if err == nil && !res.Duplicate {
				winners.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()

	var winner []string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Append %d: %v", i, errs[i])
		}
		if !results[i].Duplicate {
			winner = results[i].EventIDs
		}
	}
	if got := winners.Load(); got != 1 {
		t.Fatalf("%d appends were not duplicates, want exactly 1", got)
	}
	for i, r := range results {
		if !reflect.DeepEqual(r.EventIDs, winner) {
			t.Errorf("Append %d ids = %v, want the winner's %v", i, r.EventIDs, winner)
		}
	}
	if c := countKeys(t, s, "log"); c != 1 {
		t.Errorf("%d log keys, want 1", c)
	}
}

func TestDedupeLeasesShared(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	window := 2 * time.Hour
	l, s := newLog(t, eventlog.WithClock(clock), eventlog.WithDedupeWindow(window))
	ctx := ctxT(t)

	countLeases := func() int {
		t.Helper()
		resp, err := s.Client().Leases(ctx)
		if err != nil {
			t.Fatalf("listing leases: %v", err)
		}
		return len(resp.Leases)
	}
	dedupeLease := func() clientv3.LeaseID {
		t.Helper()
		resp, err := s.Client().Get(ctx, s.Key("dedupe")+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend), clientv3.WithLimit(1))
		if err != nil || len(resp.Kvs) == 0 {
			t.Fatalf("reading newest dedupe key: %v (%d keys)", err, len(resp.Kvs))
		}
		return clientv3.LeaseID(resp.Kvs[0].Lease)
	}

	for i := range 50 {
		now.Add(30) // 25 minutes in all, inside one bucket
		if _, err := l.Append(ctx, "shop", fmt.Sprintf("d-%d", i), []sdk.Event{event("l@example.com")}); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	if got := countLeases(); got > 2 {
		t.Fatalf("%d leases for 50 deliveries, want at most 2", got)
	}
	lease := dedupeLease()
	if lease == 0 {
		t.Fatal("dedupe key has no lease")
	}
	ttl, err := s.Client().TimeToLive(ctx, lease)
	if err != nil {
		t.Fatal(err)
	}
	if min, max := int64(window/time.Second), int64((window+time.Hour)/time.Second); ttl.GrantedTTL < min || ttl.GrantedTTL > max {
		t.Errorf("lease TTL %ds, want between %d and %d", ttl.GrantedTTL, min, max)
	}

	// A lease that disappeared (revoked, or expired while cached) is
	// replaced, and the append still succeeds.
	if _, err := s.Client().Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "shop", "after-revoke", []sdk.Event{event("l@example.com")}); err != nil {
		t.Fatalf("Append after revoke: %v", err)
	}
	if got := dedupeLease(); got == 0 || got == lease {
		t.Errorf("dedupe key after revoke has lease %x, want a new one", got)
	}

	// The next hour gets its own lease.
	before := countLeases()
	now.Add(int64(time.Hour / time.Second))
	for i := range 5 {
		if _, err := l.Append(ctx, "shop", fmt.Sprintf("next-%d", i), []sdk.Event{event("l@example.com")}); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if got := countLeases(); got != before+1 {
		t.Errorf("%d leases after an hour, want %d", got, before+1)
	}
}

func TestAppendTooLarge(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)
	many := func(n int) []sdk.Event {
		evs := make([]sdk.Event, n)
		for i := range evs {
			evs[i] = event(fmt.Sprintf("u%d@example.com", i))
		}
		return evs
	}
	huge := event("big@example.com")
	huge.Properties["blob"] = strings.Repeat("x", 1<<20)

	tests := []struct {
		name     string
		delivery string
		events   []sdk.Event
		wantErr  bool
	}{
		{"120 events without delivery id fit", "", many(120), false},
		{"119 events with delivery id fit", "fits", many(119), false},
		{"121 events", "", many(121), true},
		{"120 events and a dedupe record", "too-many", many(120), true},
		{"one event over 1 MiB", "huge", []sdk.Event{huge}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countKeys(t, s, "log")
			_, err := l.Append(ctx, "shop", tt.delivery, tt.events)
			if tt.wantErr != errors.Is(err, eventlog.ErrTooLarge) {
				t.Fatalf("Append error = %v, want ErrTooLarge: %v", err, tt.wantErr)
			}
			wantAdded := int64(len(tt.events))
			if tt.wantErr {
				wantAdded = 0
			}
			if after := countKeys(t, s, "log"); after-before != wantAdded {
				t.Errorf("%d log keys added, want %d", after-before, wantAdded)
			}
		})
	}
}

func TestAppendInvalidEvent(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)
	noID := event("a@example.com")
	noID.ID = ""
	slash := event("a@example.com")
	slash.ID = "a/b"
	anonymous := event("")
	repeated := event("a@example.com")

	tests := []struct {
		name   string
		events []sdk.Event
	}{
		{"no id", []sdk.Event{noID}},
		{"slash in id", []sdk.Event{slash}},
		{"no customer identity", []sdk.Event{anonymous}},
		{"repeated id", []sdk.Event{repeated, repeated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(ctx, "shop", "d", tt.events); !errors.Is(err, eventlog.ErrInvalidEvent) {
				t.Fatalf("Append error = %v, want ErrInvalidEvent", err)
			}
		})
	}
	if c := countKeys(t, s, "log") + countKeys(t, s, "dedupe"); c != 0 {
		t.Errorf("invalid appends wrote %d keys", c)
	}
}

func TestAppendNoSpace(t *testing.T) {
	t.Parallel()
	s := storetest.StartWith(t, store.Config{QuotaBytes: 1 << 20})
	l := eventlog.New(s, hclog.NewNullLogger())
	ctx := ctxT(t)
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		ev := event("full@example.com")
		ev.Properties["blob"] = strings.Repeat("x", 200<<10)
		_, err = l.Append(ctx, "shop", fmt.Sprintf("d-%d", i), []sdk.Event{ev})
	}
	if !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("filling etcd ended with %v, want ErrNoSpace", err)
	}
}

func TestPartition(t *testing.T) {
	t.Parallel()
	s := storetest.Start(t)
	tests := []struct {
		partitions int
		want       int // partitions actually used after clamping
	}{
		{0, 1},
		{1, 1},
		{7, 7},
		{64, 64},
		{1000, 1000},
		{5000, eventlog.MaxPartitions},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.partitions), func(t *testing.T) {
			a := eventlog.New(s, nil, eventlog.WithPartitions(tt.partitions))
			b := eventlog.New(s, nil, eventlog.WithPartitions(tt.partitions))
			if a.Partitions() != tt.want {
				t.Fatalf("Partitions() = %d, want %d", a.Partitions(), tt.want)
			}
			used := map[int]bool{}
			for i := range 20000 {
				key := fmt.Sprintf("email:user%d@example.com", i)
				p := a.Partition(key)
				if p < 0 || p >= tt.want {
					t.Fatalf("Partition(%q) = %d, out of [0, %d)", key, p, tt.want)
				}
				if q := b.Partition(key); q != p || a.Partition(key) != p {
					t.Fatalf("Partition(%q) unstable: %d then %d", key, p, q)
				}
				used[p] = true
			}
			if len(used) != tt.want {
				t.Errorf("20000 customers used %d of %d partitions", len(used), tt.want)
			}
		})
	}

	// Pinned values: changing the hash would move every customer to
	// another partition in a running cluster.
	l := eventlog.New(s, nil)
	pinned := []struct {
		key  string
		want int
	}{
		{"id:42", 20},
		{"email:jane@example.com", 10},
		{"ext:shopify:115310627314723954", 54},
		{"anon:abc", 49},
	}
	for _, p := range pinned {
		if got := l.Partition(p.key); got != p.want {
			t.Errorf("Partition(%q) = %d, want %d (the hash changed)", p.key, got, p.want)
		}
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	l, _ := newLog(t)
	ctx := ctxT(t)

	_, rev, err := l.Pending(ctx, -1, 1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- l.Wait(ctx, rev) }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v before anything was appended", err)
	default:
	}
	if _, err := l.Append(ctx, "shop", "", []sdk.Event{event("w@example.com")}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Wait returned after %s, want soon after the append", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after an append")
	}

	// An append that happened after rev but before Wait is not missed.
	start = time.Now()
	if err := l.Wait(ctx, rev); err != nil {
		t.Fatalf("Wait on an old revision: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Wait on an old revision took %s, want immediate", d)
	}

	// A done context ends Wait with its error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Wait(cctx, rev+100); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}
}

// TestPendingUndecodable checks that a corrupt entry is handed back for
// dead-lettering rather than failing the read, and that ConsumeOps removes
// entries.
func TestPendingUndecodable(t *testing.T) {
	t.Parallel()
	l, s := newLog(t, eventlog.WithPartitions(8))
	ctx := ctxT(t)
	if _, err := s.Client().Put(ctx, s.Key("log", "003", "garbage"), "{not json"); err != nil {
		t.Fatal(err)
	}
	good := event("g@example.com")
	if _, err := l.Append(ctx, "shop", "", []sdk.Event{good}); err != nil {
		t.Fatal(err)
	}
	entries, _, err := l.Pending(ctx, -1, 10)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if len(entries) != 2 {
		t.Fatalf("Pending returned %d entries, want 2", len(entries))
	}
	bad, ok := entries[0], entries[1]
	if bad.DecodeErr == nil || bad.Partition != 3 || !reflect.DeepEqual(bad.Event, sdk.Event{}) {
		t.Errorf("corrupt entry = %+v, want DecodeErr, partition 3 and a zero event", bad)
	}
	if ok.DecodeErr != nil || ok.Event.ID != good.ID {
		t.Errorf("good entry = %+v", ok)
	}

	txn, err := s.Client().Txn(ctx).Then(l.ConsumeOps(entries)...).Commit()
	if err != nil || !txn.Succeeded {
		t.Fatalf("consuming: %v", err)
	}
	if left, _, err := l.Pending(ctx, -1, 10); err != nil || len(left) != 0 {
		t.Fatalf("after consuming, Pending = %d entries, %v; want none", len(left), err)
	}
}

// BenchmarkAppend measures one single-event delivery per transaction, the
// ingest path before group commit.
func BenchmarkAppend(b *testing.B) {
	l, _ := newLog(b)
	ctx := b.Context()
	for i := 0; b.Loop(); i++ {
		if _, err := l.Append(ctx, "shop", fmt.Sprintf("bench-%d", i), []sdk.Event{event("bench@example.com")}); err != nil {
			b.Fatal(err)
		}
	}
}
