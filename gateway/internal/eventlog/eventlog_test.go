package eventlog_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
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

// event returns a checkout event for the customer with the given email,
// without a delivery id.
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

// delivered returns event(email) carrying the vendor delivery id d.
func delivered(email, d string) sdk.Event {
	ev := event(email)
	ev.DeliveryID = d
	return ev
}

// batch returns n events of distinct customers with delivery ids
// <prefix>-0 … <prefix>-<n-1>, or without delivery ids when prefix is "".
func batch(prefix string, n int) []sdk.Event {
	evs := make([]sdk.Event, n)
	for i := range evs {
		evs[i] = event(fmt.Sprintf("u%d@example.com", i))
		if prefix != "" {
			evs[i].DeliveryID = fmt.Sprintf("%s-%d", prefix, i)
		}
	}
	return evs
}

// redelivered returns copies of events under fresh event ids, so that a
// test shows dedupe resting on delivery ids, not on the ids the gateway
// assigned.
func redelivered(events []sdk.Event) []sdk.Event {
	out := slices.Clone(events)
	for i := range out {
		out[i].ID = ulid.Make().String()
	}
	return out
}

// ids returns the events' ids in order.
func ids(events []sdk.Event) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = ev.ID
	}
	return out
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

// logEntries returns the ids of the events in the log, each with the
// revision its key was created at (one revision per transaction).
func logEntries(t testing.TB, s *store.Store) map[string]int64 {
	t.Helper()
	resp, err := s.Client().Get(ctxT(t), s.Key("log")+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatalf("reading log keys: %v", err)
	}
	m := make(map[string]int64, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		m[k[strings.LastIndexByte(k, '/')+1:]] = kv.CreateRevision
	}
	return m
}

// txnSizes returns how many of the given events each transaction wrote,
// keyed by revision.
func txnSizes(t testing.TB, entries map[string]int64, eventIDs []string) map[int64]int {
	t.Helper()
	sizes := map[int64]int{}
	for _, id := range eventIDs {
		rev, ok := entries[id]
		if !ok {
			t.Fatalf("event %s is not in the log", id)
		}
		sizes[rev]++
	}
	return sizes
}

// dedupeRecord is a stored dedupe record.
type dedupeRecord struct {
	eventID  string
	lease    clientv3.LeaseID
	revision int64 // create revision
}

// dedupeKey is where the record for (source, deliveryID) lives.
func dedupeKey(s *store.Store, source, deliveryID string) string {
	sum := sha256.Sum256([]byte(deliveryID))
	return s.Key("dedupe", source, hex.EncodeToString(sum[:]))
}

// readDedupe returns the record for (source, deliveryID); ok is false when
// there is none.
func readDedupe(t testing.TB, s *store.Store, source, deliveryID string) (rec dedupeRecord, ok bool) {
	t.Helper()
	resp, err := s.Client().Get(ctxT(t), dedupeKey(s, source, deliveryID))
	if err != nil {
		t.Fatalf("reading dedupe record: %v", err)
	}
	if len(resp.Kvs) == 0 {
		return dedupeRecord{}, false
	}
	kv := resp.Kvs[0]
	return dedupeRecord{eventID: string(kv.Value), lease: clientv3.LeaseID(kv.Lease), revision: kv.CreateRevision}, true
}

// dedupeLeases returns the distinct leases of all dedupe records.
func dedupeLeases(t testing.TB, s *store.Store) map[clientv3.LeaseID]int {
	t.Helper()
	resp, err := s.Client().Get(ctxT(t), s.Key("dedupe")+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("reading dedupe records: %v", err)
	}
	leases := map[clientv3.LeaseID]int{}
	for _, kv := range resp.Kvs {
		leases[clientv3.LeaseID(kv.Lease)]++
	}
	return leases
}

// appendOK calls l.Append for source "shop" with the Log's default window
// and fails t on error.
func appendOK(t testing.TB, l *eventlog.Log, events []sdk.Event) eventlog.AppendResult {
	t.Helper()
	res, err := l.Append(ctxT(t), "shop", events, 0)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// checkResult fails t unless res has wantIDs and wantNew, and Duplicate
// exactly when nothing was new.
func checkResult(t testing.TB, what string, res eventlog.AppendResult, wantIDs []string, wantNew int) {
	t.Helper()
	wantDup := wantNew == 0 && len(wantIDs) > 0
	if !slices.Equal(res.EventIDs, wantIDs) || res.New != wantNew || res.Duplicate != wantDup {
		t.Fatalf("%s = %+v, want ids %v, New %d, Duplicate %v", what, res, wantIDs, wantNew, wantDup)
	}
}

func TestAppendThenPending(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)
	events := []sdk.Event{
		delivered("a@example.com", "d-a"),
		delivered("b@example.com", "d-b"),
		event("c@example.com"),
	}

	res, err := l.Append(ctx, "shop", events, 0)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	checkResult(t, "Append", res, ids(events), 3)

	// Each delivery id's record holds its event id and was created in the
	// same transaction as the event's log key.
	logged := logEntries(t, s)
	for _, ev := range events[:2] {
		rec, ok := readDedupe(t, s, "shop", ev.DeliveryID)
		if !ok {
			t.Fatalf("no dedupe record for %s", ev.DeliveryID)
		}
		if rec.eventID != ev.ID || rec.lease == 0 || rec.revision != logged[ev.ID] {
			t.Errorf("dedupe record %+v, want event %s, a lease and revision %d", rec, ev.ID, logged[ev.ID])
		}
	}
	if c := countKeys(t, s, "dedupe"); c != 2 {
		t.Errorf("%d dedupe records, want 2 (the third event has no delivery id)", c)
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
		if _, err := l.Append(ctx, "shop", []sdk.Event{ev}, 0); err != nil {
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

// TestAppendBatchDedupe checks per-event dedupe across calls: a batch seen
// in full, a batch seen in part, and another source's delivery ids.
func TestAppendBatchDedupe(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)

	first := batch("d", 3)
	checkResult(t, "first Append", appendOK(t, l, first), ids(first), 3)

	// The same batch again. Adapters make ids deterministic per delivery,
	// but dedupe must not depend on it: the retry has fresh ids.
	before := countKeys(t, s, "log")
	checkResult(t, "repeated batch", appendOK(t, l, redelivered(first)), ids(first), 0)
	if after := countKeys(t, s, "log"); after != before {
		t.Errorf("repeated batch wrote log keys: %d before, %d after", before, after)
	}

	// One event of three seen before: the other two are committed, and
	// the seen one keeps the id it was first committed under.
	seen := redelivered(first[1:2])[0]
	mixed := []sdk.Event{delivered("n1@example.com", "d-new-1"), seen, delivered("n2@example.com", "d-new-2")}
	before = countKeys(t, s, "log")
	checkResult(t, "partly seen batch", appendOK(t, l, mixed), []string{mixed[0].ID, first[1].ID, mixed[2].ID}, 2)
	logged := logEntries(t, s)
	if int64(len(logged)) != before+2 {
		t.Errorf("log keys %d before, %d after, want 2 more", before, len(logged))
	}
	if _, ok := logged[seen.ID]; ok {
		t.Errorf("the seen event was logged again under its new id %s", seen.ID)
	}
	for d, want := range map[string]string{"d-1": first[1].ID, "d-new-1": mixed[0].ID, "d-new-2": mixed[2].ID} {
		if rec, ok := readDedupe(t, s, "shop", d); !ok || rec.eventID != want {
			t.Errorf("dedupe record of %s = %+v (found %v), want event %s", d, rec, ok, want)
		}
	}

	// Delivery ids are per source.
	crm := redelivered(first)
	res, err := l.Append(ctxT(t), "crm", crm, 0)
	if err != nil {
		t.Fatalf("Append from crm: %v", err)
	}
	checkResult(t, "same delivery ids from another source", res, ids(crm), 3)
}

// TestAppendRepeatedDeliveryInCall checks that one vendor event twice in a
// delivery is committed once.
func TestAppendRepeatedDeliveryInCall(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)

	t.Run("different event ids", func(t *testing.T) {
		a, b := delivered("a@example.com", "r-1"), delivered("b@example.com", "r-2")
		again := delivered("a@example.com", "r-1")
		before := logEntries(t, s)
		checkResult(t, "Append", appendOK(t, l, []sdk.Event{a, b, again}), []string{a.ID, b.ID, a.ID}, 2)
		after := logEntries(t, s)
		if len(after) != len(before)+2 {
			t.Errorf("%d log keys added, want 2", len(after)-len(before))
		}
		if _, ok := after[again.ID]; ok {
			t.Errorf("the repeated event was logged under its own id %s", again.ID)
		}
	})

	// The ingest derives an event's id from its delivery id (and the time
	// it occurred), so the usual repeat carries the same id as well.
	t.Run("same event id", func(t *testing.T) {
		a, b := delivered("a@example.com", "r-3"), delivered("b@example.com", "r-4")
		before := countKeys(t, s, "log")
		checkResult(t, "Append", appendOK(t, l, []sdk.Event{a, b, a}), []string{a.ID, b.ID, a.ID}, 2)
		if after := countKeys(t, s, "log"); after != before+2 {
			t.Errorf("%d log keys added, want 2", after-before)
		}
	})

	// The first copy may itself have been seen before: both copies then
	// get the id first committed.
	t.Run("seen before", func(t *testing.T) {
		orig := delivered("a@example.com", "r-5")
		appendOK(t, l, []sdk.Event{orig})
		x, y := delivered("a@example.com", "r-5"), delivered("a@example.com", "r-5")
		before := countKeys(t, s, "log")
		checkResult(t, "Append", appendOK(t, l, []sdk.Event{x, y}), []string{orig.ID, orig.ID}, 0)
		if after := countKeys(t, s, "log"); after != before {
			t.Errorf("%d log keys added, want none", after-before)
		}
	})
}

// TestAppendWithoutDeliveryID checks that events without a delivery id get
// no dedupe record and are told apart only by their event ids.
func TestAppendWithoutDeliveryID(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)

	evs := batch("", 2)
	checkResult(t, "Append", appendOK(t, l, evs), ids(evs), 2)

	// A retry of the same events (an Append whose outcome was unknown)
	// finds their log keys.
	checkResult(t, "retry", appendOK(t, l, evs), ids(evs), 0)

	// The same content under fresh ids is nothing to dedupe on.
	fresh := redelivered(evs)
	checkResult(t, "same content, fresh ids", appendOK(t, l, fresh), ids(fresh), 2)

	mixed := []sdk.Event{evs[0], event("z@example.com")}
	checkResult(t, "one seen, one new", appendOK(t, l, mixed), ids(mixed), 1)

	if c := countKeys(t, s, "log"); c != 5 {
		t.Errorf("%d log keys, want 5", c)
	}
	if c := countKeys(t, s, "dedupe"); c != 0 {
		t.Errorf("%d dedupe records for events without delivery ids, want 0", c)
	}
}

// TestAppendRetryUnknownOutcome replays appends whose first attempt did
// commit, as a client does after a timeout, and vendor retries that come
// after the event was processed or its dedupe record expired.
func TestAppendRetryUnknownOutcome(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)

	tests := []struct {
		name     string
		delivery string
		// dropDedupe deletes the dedupe record before the retry, as if it
		// had expired.
		dropDedupe bool
		// consume deletes the log entry before the retry, as processing
		// does.
		consume bool
		// freshID retries under a new event id; otherwise with the same.
		freshID bool
		wantNew bool
	}{
		{name: "without delivery id", delivery: ""},
		{name: "with delivery id", delivery: "d-retry"},
		{name: "with delivery id, fresh id", delivery: "d-fresh", freshID: true},
		{name: "dedupe record gone", delivery: "d-expired", dropDedupe: true},
		{name: "event consumed", delivery: "d-consumed", consume: true, freshID: true},
		{name: "event consumed, same id", delivery: "d-consumed-same", consume: true},
		{name: "record gone and event consumed", delivery: "d-gone", dropDedupe: true, consume: true, freshID: true, wantNew: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := delivered("x@example.com", tt.delivery)
			checkResult(t, "Append", appendOK(t, l, []sdk.Event{ev}), []string{ev.ID}, 1)
			if tt.dropDedupe {
				if _, err := s.Client().Delete(ctx, dedupeKey(s, "shop", tt.delivery)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.consume {
				entries, _, err := l.Pending(ctx, -1, 0)
				if err != nil {
					t.Fatal(err)
				}
				entries = slices.DeleteFunc(entries, func(e eventlog.Entry) bool { return e.Event.ID != ev.ID })
				if len(entries) != 1 {
					t.Fatalf("%d pending entries for %s, want 1", len(entries), ev.ID)
				}
				if _, err := s.Client().Txn(ctx).Then(l.ConsumeOps(entries)...).Commit(); err != nil {
					t.Fatal(err)
				}
			}
			retry := ev
			if tt.freshID {
				retry.ID = ulid.Make().String()
			}
			before := countKeys(t, s, "log")
			res := appendOK(t, l, []sdk.Event{retry})
			if tt.wantNew {
				checkResult(t, "retried Append", res, []string{retry.ID}, 1)
				return
			}
			checkResult(t, "retried Append", res, []string{ev.ID}, 0)
			if after := countKeys(t, s, "log"); after != before {
				t.Errorf("retry wrote log keys: %d before, %d after", before, after)
			}
		})
	}
}

// TestAppendChunked checks deliveries of more events than one transaction
// holds.
func TestAppendChunked(t *testing.T) {
	t.Parallel()
	const n, maxChunk = 150, 60

	checkChunks := func(t *testing.T, s *store.Store, eventIDs []string) {
		t.Helper()
		total := 0
		for rev, size := range txnSizes(t, logEntries(t, s), eventIDs) {
			if size > maxChunk {
				t.Errorf("revision %d committed %d events, want at most %d", rev, size, maxChunk)
			}
			total += size
		}
		if total != len(eventIDs) {
			t.Errorf("%d events committed, want %d", total, len(eventIDs))
		}
	}

	t.Run("all new, then all seen", func(t *testing.T) {
		t.Parallel()
		l, s := newLog(t)
		evs := batch("c", n)
		checkResult(t, "Append", appendOK(t, l, evs), ids(evs), n)
		if c := countKeys(t, s, "log"); c != n {
			t.Fatalf("%d log keys, want %d", c, n)
		}
		checkChunks(t, s, ids(evs))
		logged := logEntries(t, s)
		for _, ev := range evs {
			if rec, ok := readDedupe(t, s, "shop", ev.DeliveryID); !ok || rec.eventID != ev.ID || rec.revision != logged[ev.ID] {
				t.Fatalf("dedupe record of %s = %+v (found %v), want event %s at revision %d", ev.DeliveryID, rec, ok, ev.ID, logged[ev.ID])
			}
		}

		checkResult(t, "repeated Append", appendOK(t, l, redelivered(evs)), ids(evs), 0)
		if c := countKeys(t, s, "log"); c != n {
			t.Errorf("%d log keys after the repeat, want %d", c, n)
		}
	})

	// An earlier attempt committed its first chunks and failed: the retry
	// commits the rest and reports the first attempt's ids.
	t.Run("partial earlier commit", func(t *testing.T) {
		t.Parallel()
		l, s := newLog(t)
		const done = 70
		evs := batch("p", n)
		checkResult(t, "first 70", appendOK(t, l, evs[:done]), ids(evs[:done]), done)

		retry := redelivered(evs)
		want := append(ids(evs[:done]), ids(retry[done:])...)
		checkResult(t, "all 150", appendOK(t, l, retry), want, n-done)
		logged := logEntries(t, s)
		if len(logged) != n {
			t.Errorf("%d log keys, want %d", len(logged), n)
		}
		for _, ev := range retry[:done] {
			if _, ok := logged[ev.ID]; ok {
				t.Fatalf("seen event logged again under its new id %s", ev.ID)
			}
		}
		checkChunks(t, s, ids(retry[done:]))
	})

	t.Run("mixed with and without delivery ids", func(t *testing.T) {
		t.Parallel()
		l, s := newLog(t)
		evs := batch("m", n)
		for i := 0; i < n; i += 2 {
			evs[i].DeliveryID = ""
		}
		checkResult(t, "Append", appendOK(t, l, evs), ids(evs), n)
		checkChunks(t, s, ids(evs))
		if c := countKeys(t, s, "dedupe"); c != n/2 {
			t.Errorf("%d dedupe records, want %d", c, n/2)
		}
		checkResult(t, "retry", appendOK(t, l, evs), ids(evs), 0)
		if c := countKeys(t, s, "log"); c != n {
			t.Errorf("%d log keys after the retry, want %d", c, n)
		}
	})
}

// TestAppendChunkedBySize checks that events too big to share one
// transaction go in separate ones, and that one event just under the limit
// fits.
func TestAppendChunkedBySize(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)

	// Three events of 600 KiB: together over etcd's 1.5 MiB request limit.
	evs := batch("big", 3)
	for i := range evs {
		evs[i].Properties = map[string]any{"blob": strings.Repeat("x", 600<<10)}
	}
	checkResult(t, "Append", appendOK(t, l, evs), ids(evs), 3)
	for rev, size := range txnSizes(t, logEntries(t, s), ids(evs)) {
		if size > 1 {
			t.Errorf("revision %d committed %d events of 600 KiB, want 1", rev, size)
		}
	}

	almost := delivered("almost@example.com", "almost")
	almost.Properties = map[string]any{"blob": strings.Repeat("x", 1<<20-8<<10)}
	checkResult(t, "Append of an event just under 1 MiB", appendOK(t, l, []sdk.Event{almost}), []string{almost.ID}, 1)
}

func TestAppendTooLarge(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	huge := func(d string) sdk.Event {
		ev := delivered("big@example.com", d)
		ev.Properties = map[string]any{"blob": strings.Repeat("x", 1<<20)}
		return ev
	}
	tests := []struct {
		name   string
		events []sdk.Event
	}{
		{"one event over 1 MiB", []sdk.Event{huge("huge")}},
		{"without delivery id", []sdk.Event{huge("")}},
		// Size is checked before anything is committed.
		{"after small events", append(batch("small", 100), huge("huge-2"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(ctxT(t), "shop", tt.events, 0); !errors.Is(err, eventlog.ErrTooLarge) {
				t.Fatalf("Append error = %v, want ErrTooLarge", err)
			}
		})
	}
	if c := countKeys(t, s, "log") + countKeys(t, s, "dedupe"); c != 0 {
		t.Errorf("too large appends wrote %d keys", c)
	}
}

func TestAppendInvalidEvent(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	noID := event("a@example.com")
	noID.ID = ""
	slash := event("a@example.com")
	slash.ID = "a/b"
	anonymous := event("")
	repeated := event("a@example.com")
	otherDelivery := func(ev sdk.Event, d string) sdk.Event { ev.DeliveryID = d; return ev }

	tests := []struct {
		name   string
		events []sdk.Event
	}{
		{"no id", []sdk.Event{noID}},
		{"slash in id", []sdk.Event{slash}},
		{"no customer identity", []sdk.Event{anonymous}},
		{"repeated id", []sdk.Event{repeated, repeated}},
		{"repeated id, different delivery ids", []sdk.Event{otherDelivery(repeated, "x"), otherDelivery(repeated, "y")}},
		{"repeated id, one without delivery id", []sdk.Event{otherDelivery(repeated, "x"), repeated}},
		// Events are checked before any chunk is committed.
		{"invalid after valid ones", append(batch("v", 100), anonymous)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(ctxT(t), "shop", tt.events, 0); !errors.Is(err, eventlog.ErrInvalidEvent) {
				t.Fatalf("Append error = %v, want ErrInvalidEvent", err)
			}
		})
	}

	// A source name that cannot be part of a dedupe key is the caller's
	// bug, not an event's.
	for _, source := range []string{"", "a/b"} {
		if _, err := l.Append(ctxT(t), source, []sdk.Event{delivered("a@example.com", "d")}, 0); err == nil {
			t.Errorf("Append from source %q with a delivery id succeeded, want an error", source)
		}
	}
	if c := countKeys(t, s, "log") + countKeys(t, s, "dedupe"); c != 0 {
		t.Errorf("invalid appends wrote %d keys", c)
	}
}

// TestAppendEmpty checks that a delivery without events (a vendor's ping)
// writes nothing and is not reported a duplicate.
func TestAppendEmpty(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	for _, evs := range [][]sdk.Event{nil, {}} {
		res := appendOK(t, l, evs)
		if len(res.EventIDs) != 0 || res.New != 0 || res.Duplicate {
			t.Errorf("Append(%#v) = %+v, want nothing", evs, res)
		}
	}
	if c := countKeys(t, s, "log") + countKeys(t, s, "dedupe"); c != 0 {
		t.Errorf("empty appends wrote %d keys", c)
	}
}

// TestAppendConcurrentSameDelivery races one vendor event delivered to
// several nodes at once, each of which gave it its own id.
func TestAppendConcurrentSameDelivery(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)
	const n = 20
	var (
		wg      sync.WaitGroup
		inputs  = make([]sdk.Event, n)
		results = make([]eventlog.AppendResult, n)
		errs    = make([]error, n)
	)
	for i := range inputs {
		inputs[i] = delivered("c@example.com", "same-delivery")
	}
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = l.Append(ctx, "shop", inputs[i:i+1], 0)
		})
	}
	close(start)
	wg.Wait()

	winner := ""
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Append %d: %v", i, errs[i])
		}
		if results[i].New == 1 {
			if winner != "" {
				t.Fatalf("Append %d committed %s after %s was committed", i, inputs[i].ID, winner)
			}
			winner = inputs[i].ID
			checkResult(t, fmt.Sprintf("winning Append %d", i), results[i], []string{winner}, 1)
		}
	}
	if winner == "" {
		t.Fatalf("no Append committed: %+v", results)
	}
	for i, r := range results {
		if inputs[i].ID != winner {
			checkResult(t, fmt.Sprintf("Append %d", i), r, []string{winner}, 0)
		}
	}
	logged := logEntries(t, s)
	if _, ok := logged[winner]; !ok || len(logged) != 1 {
		t.Errorf("log holds %v, want only %s", logged, winner)
	}
	if rec, ok := readDedupe(t, s, "shop", "same-delivery"); !ok || rec.eventID != winner {
		t.Errorf("dedupe record %+v (found %v), want event %s", rec, ok, winner)
	}
}

// TestAppendConcurrentOverlappingBatches races batches that share most of
// their events, each committing them in a different order, so that
// transactions fail on some events and are retried with the rest.
func TestAppendConcurrentOverlappingBatches(t *testing.T) {
	t.Parallel()
	l, s := newLog(t)
	ctx := ctxT(t)
	const workers, shared = 6, 12
	base := batch("shared", shared)
	inputs := make([][]sdk.Event, workers)
	for w := range inputs {
		evs := redelivered(base)
		k := w * 2 % shared
		inputs[w] = append(slices.Concat(evs[k:], evs[:k]),
			delivered(fmt.Sprintf("own%d@example.com", w), fmt.Sprintf("own-%d", w)))
	}
	results := make([]eventlog.AppendResult, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			results[w], errs[w] = l.Append(ctx, "shop", inputs[w], 0)
		})
	}
	close(start)
	wg.Wait()

	total := 0
	byDelivery := map[string]string{}
	for w := range workers {
		if errs[w] != nil {
			t.Fatalf("Append %d: %v", w, errs[w])
		}
		res := results[w]
		if len(res.EventIDs) != len(inputs[w]) || res.Duplicate {
			t.Fatalf("Append %d = %+v, want %d ids and not a duplicate", w, res, len(inputs[w]))
		}
		total += res.New
		for i, ev := range inputs[w] {
			id := res.EventIDs[i]
			if prev, ok := byDelivery[ev.DeliveryID]; ok && prev != id {
				t.Errorf("delivery %s got ids %s and %s", ev.DeliveryID, prev, id)
			}
			byDelivery[ev.DeliveryID] = id
		}
		if own := inputs[w][shared]; res.EventIDs[shared] != own.ID {
			t.Errorf("Append %d: own event got id %s, want %s", w, res.EventIDs[shared], own.ID)
		}
	}
	if total != shared+workers {
		t.Errorf("%d events committed in all, want %d", total, shared+workers)
	}
	logged := logEntries(t, s)
	if len(logged) != shared+workers {
		t.Errorf("%d log keys, want %d", len(logged), shared+workers)
	}
	for d, id := range byDelivery {
		if _, ok := logged[id]; !ok {
			t.Errorf("event %s of delivery %s is not in the log", id, d)
		}
		if rec, ok := readDedupe(t, s, "shop", d); !ok || rec.eventID != id {
			t.Errorf("dedupe record of %s = %+v (found %v), want event %s", d, rec, ok, id)
		}
	}
}

// checkLeaseTTL fails t unless lease was granted for window and the hour
// bucket: keys written at the end of the bucket must live a full window,
// those written at its start no more than an hour longer.
func checkLeaseTTL(t testing.TB, s *store.Store, lease clientv3.LeaseID, window time.Duration) {
	t.Helper()
	ttl, err := s.Client().TimeToLive(ctxT(t), lease)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64((window + time.Hour) / time.Second); ttl.GrantedTTL != want {
		t.Errorf("lease %x TTL %ds, want %ds (window %s + 1h)", lease, ttl.GrantedTTL, want, window)
	}
}

// testClock returns a settable clock starting at 10:00 on a whole hour.
func testClock() (now func() time.Time, advance func(time.Duration)) {
	var mu sync.Mutex
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return at
		}, func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			at = at.Add(d)
		}
}

func TestDedupeLeaseShared(t *testing.T) {
	t.Parallel()
	clock, advance := testClock()
	window := 2 * time.Hour
	l, s := newLog(t, eventlog.WithClock(clock), eventlog.WithDedupeWindow(window))
	ctx := ctxT(t)

	for i := range 50 {
		advance(30 * time.Second) // 25 minutes in all, inside one bucket
		if _, err := l.Append(ctx, "shop", []sdk.Event{delivered("l@example.com", fmt.Sprintf("d-%d", i))}, 0); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	// Window 0 is the Log's default: giving it explicitly is the same.
	if _, err := l.Append(ctx, "shop", []sdk.Event{delivered("l@example.com", "explicit")}, window); err != nil {
		t.Fatalf("Append: %v", err)
	}
	leases := dedupeLeases(t, s)
	if len(leases) != 1 {
		t.Fatalf("dedupe records of 51 appends in one bucket have leases %v, want one", leases)
	}
	for lease := range leases {
		if lease == 0 {
			t.Fatal("dedupe records have no lease")
		}
		checkLeaseTTL(t, s, lease, window)
	}
}

func TestDedupeLeasePerWindow(t *testing.T) {
	t.Parallel()
	clock, _ := testClock()
	l, s := newLog(t, eventlog.WithClock(clock))
	ctx := ctxT(t)

	windows := []time.Duration{time.Hour, 2 * time.Hour, time.Hour}
	for i, w := range windows {
		if _, err := l.Append(ctx, "shop", []sdk.Event{delivered("w@example.com", fmt.Sprintf("w-%d", i))}, w); err != nil {
			t.Fatalf("Append with window %s: %v", w, err)
		}
	}
	recs := make([]dedupeRecord, len(windows))
	for i := range windows {
		var ok bool
		if recs[i], ok = readDedupe(t, s, "shop", fmt.Sprintf("w-%d", i)); !ok || recs[i].lease == 0 {
			t.Fatalf("dedupe record %d = %+v (found %v), want one with a lease", i, recs[i], ok)
		}
		checkLeaseTTL(t, s, recs[i].lease, windows[i])
	}
	if recs[0].lease == recs[1].lease {
		t.Errorf("windows 1h and 2h share lease %x, want one each", recs[0].lease)
	}
	if recs[0].lease != recs[2].lease {
		t.Errorf("two appends with window 1h got leases %x and %x, want one", recs[0].lease, recs[2].lease)
	}
	if n := len(dedupeLeases(t, s)); n != 2 {
		t.Errorf("%d leases for two windows, want 2", n)
	}
}

func TestDedupeLeaseRenewal(t *testing.T) {
	t.Parallel()
	clock, advance := testClock()
	l, s := newLog(t, eventlog.WithClock(clock))
	ctx := ctxT(t)

	countLeases := func() int {
		t.Helper()
		resp, err := s.Client().Leases(ctx)
		if err != nil {
			t.Fatalf("listing leases: %v", err)
		}
		return len(resp.Leases)
	}
	appendOne := func(d string) clientv3.LeaseID {
		t.Helper()
		if _, err := l.Append(ctx, "shop", []sdk.Event{delivered("l@example.com", d)}, 0); err != nil {
			t.Fatalf("Append %s: %v", d, err)
		}
		rec, ok := readDedupe(t, s, "shop", d)
		if !ok || rec.lease == 0 {
			t.Fatalf("dedupe record of %s = %+v (found %v), want one with a lease", d, rec, ok)
		}
		return rec.lease
	}

	lease := appendOne("first")
	// A lease that disappeared (revoked, or expired while cached) is
	// replaced, and the append still succeeds.
	if _, err := s.Client().Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	renewed := appendOne("after-revoke")
	if renewed == lease {
		t.Errorf("dedupe record after revoke has the revoked lease %x", lease)
	}
	checkLeaseTTL(t, s, renewed, eventlog.DefaultDedupeWindow)

	// The next hour gets its own lease, shared by that hour's records.
	before := countLeases()
	advance(time.Hour)
	next := appendOne("next-0")
	for i := 1; i < 5; i++ {
		if got := appendOne(fmt.Sprintf("next-%d", i)); got != next {
			t.Errorf("record next-%d has lease %x, want the hour's %x", i, got, next)
		}
	}
	if next == renewed {
		t.Errorf("the next hour reuses lease %x", next)
	}
	if got := countLeases(); got != before+1 {
		t.Errorf("%d leases after an hour, want %d", got, before+1)
	}
}

func TestAppendNoSpace(t *testing.T) {
	t.Parallel()
	s := storetest.StartWith(t, store.Config{QuotaBytes: 1 << 20})
	l := eventlog.New(s, hclog.NewNullLogger())
	ctx := ctxT(t)
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		ev := delivered("full@example.com", fmt.Sprintf("d-%d", i))
		ev.Properties["blob"] = strings.Repeat("x", 200<<10)
		_, err = l.Append(ctx, "shop", []sdk.Event{ev}, 0)
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
	// Not synchronisation: Wait is correct whenever its watch starts,
	// since it watches from rev+1. This only gives a Wait that wrongly
	// returns at once the chance to show it.
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v before anything was appended", err)
	default:
	}
	if _, err := l.Append(ctx, "shop", []sdk.Event{event("w@example.com")}, 0); err != nil {
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
	if _, err := l.Append(ctx, "shop", []sdk.Event{good}, 0); err != nil {
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

// BenchmarkAppend measures one single-event delivery per call, each with
// its own delivery id: one dedupe record and one log key per transaction.
func BenchmarkAppend(b *testing.B) {
	l, _ := newLog(b)
	ctx := b.Context()
	for i := 0; b.Loop(); i++ {
		ev := delivered("bench@example.com", fmt.Sprintf("bench-%d", i))
		res, err := l.Append(ctx, "shop", []sdk.Event{ev}, 0)
		if err != nil {
			b.Fatal(err)
		}
		if res.New != 1 {
			b.Fatalf("Append = %+v, want 1 new event", res)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendBatch50 measures deliveries of 50 events, each with its
// own delivery id, committed in one transaction.
func BenchmarkAppendBatch50(b *testing.B) {
	const size = 50
	l, _ := newLog(b)
	ctx := b.Context()
	for i := 0; b.Loop(); i++ {
		evs := batch(fmt.Sprintf("bench-%d", i), size)
		res, err := l.Append(ctx, "shop", evs, 0)
		if err != nil {
			b.Fatal(err)
		}
		if res.New != size {
			b.Fatalf("Append = %+v, want %d new events", res, size)
		}
	}
	b.ReportMetric(float64(size*b.N)/b.Elapsed().Seconds(), "events/s")
}

func TestAppendUnencodableEventIsInvalid(t *testing.T) {
	t.Parallel()
	l := eventlog.New(storetest.Start(t), nil)
	ev := event("nan@example.com")
	ev.Properties = map[string]any{"value": math.NaN()}
	if _, err := l.Append(t.Context(), "shop", []sdk.Event{ev}, 0); !errors.Is(err, eventlog.ErrInvalidEvent) {
		t.Fatalf("Append of a NaN property: err = %v, want ErrInvalidEvent (a 400, not a retry)", err)
	}
}
