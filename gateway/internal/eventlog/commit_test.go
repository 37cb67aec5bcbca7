package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

// appendAll runs one Append per input at once and returns their results.
func appendAll(ctx context.Context, l *eventlog.Log, inputs [][]sdk.Event) ([]eventlog.AppendResult, []error) {
	results := make([]eventlog.AppendResult, len(inputs))
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range inputs {
		wg.Go(func() {
			<-start
			results[i], errs[i] = l.Append(ctx, "shop", inputs[i], 0)
		})
	}
	close(start)
	wg.Wait()
	return results, errs
}

// dedupeRecords returns every dedupe record's event id by key.
func dedupeRecords(t testing.TB, s *store.Store) map[string]string {
	t.Helper()
	resp, err := s.Client().Get(ctxT(t), s.Key("dedupe")+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("reading dedupe records: %v", err)
	}
	m := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		m[string(kv.Key)] = string(kv.Value)
	}
	return m
}

// waitQueued waits until n events wait for a batch.
func waitQueued(t testing.TB, l *eventlog.Log, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.Queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d events queued, want %d", l.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommitManyCallers checks that concurrent deliveries share
// transactions, each committed exactly once, whole, under its own ids.
func TestGroupCommitManyCallers(t *testing.T) {
	t.Parallel()
	const callers, perCall = 200, 5
	l, s := newLog(t, eventlog.WithCommitWindow(20*time.Millisecond))
	inputs := make([][]sdk.Event, callers)
	var all []string
	for c := range inputs {
		inputs[c] = batch(fmt.Sprintf("call%d", c), perCall)
		all = append(all, ids(inputs[c])...)
	}

	results, errs := appendAll(ctxT(t), l, inputs)
	for c := range inputs {
		if errs[c] != nil {
			t.Fatalf("Append %d: %v", c, errs[c])
		}
		checkResult(t, fmt.Sprintf("Append %d", c), results[c], ids(inputs[c]), perCall)
	}

	logged := logEntries(t, s)
	if len(logged) != callers*perCall {
		t.Fatalf("%d log keys, want %d", len(logged), callers*perCall)
	}
	sizes := txnSizes(t, logged, all)
	for rev, n := range sizes {
		if n > eventlog.MaxBatchEvents {
			t.Errorf("revision %d committed %d events, want at most %d", rev, n, eventlog.MaxBatchEvents)
		}
	}
	// 1000 events fill at least 17 transactions of 60; batching must
	// bring 200 deliveries well below one transaction each.
	if len(sizes) > callers/4 {
		t.Errorf("%d deliveries took %d transactions, want at most %d", callers, len(sizes), callers/4)
	}
	for c, in := range inputs {
		if revs := txnSizes(t, logged, ids(in)); len(revs) != 1 {
			t.Errorf("delivery %d was split over revisions %v", c, revs)
		}
	}
	t.Logf("%d deliveries of %d events in %d transactions", callers, perCall, len(sizes))

	records := dedupeRecords(t, s)
	if len(records) != callers*perCall {
		t.Errorf("%d dedupe records, want %d", len(records), callers*perCall)
	}
	for _, in := range inputs {
		for _, ev := range in {
			if got := records[dedupeKey(s, "shop", ev.DeliveryID)]; got != ev.ID {
				t.Fatalf("dedupe record of %s holds %q, want %s", ev.DeliveryID, got, ev.ID)
			}
		}
	}

	want := eventlog.Stats{Appends: callers, Events: callers * perCall, Txns: int64(len(sizes)), Batches: int64(len(sizes))}
	if got := l.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v (one transaction per batch, none retried)", got, want)
	}
}

// TestGroupCommitFullBatch checks that a full batch is committed at once,
// whatever the window, as one transaction.
func TestGroupCommitFullBatch(t *testing.T) {
	t.Parallel()
	for _, perCall := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(perCall), func(t *testing.T) {
			t.Parallel()
			l, s := newLog(t, eventlog.WithCommitWindow(time.Hour))
			callers := eventlog.MaxBatchEvents / perCall
			inputs := make([][]sdk.Event, callers)
			for c := range inputs {
				inputs[c] = batch(fmt.Sprintf("full%d", c), perCall)
			}
			_, errs := appendAll(ctxT(t), l, inputs)
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			revs := map[int64]bool{}
			for _, rev := range logEntries(t, s) {
				revs[rev] = true
			}
			if len(revs) != 1 || l.Stats().Txns != 1 {
				t.Errorf("%d events took revisions %v and %d transactions, want one", eventlog.MaxBatchEvents, revs, l.Stats().Txns)
			}
		})
	}
}

// TestGroupCommitMaxBatch checks WithMaxBatch, clamped to what one
// transaction holds, and that a delivery larger than a batch is committed
// on its own in order.
func TestGroupCommitMaxBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		maxBatch, callers, wantPerTxn int
	}{
		{5, 10, 5},
		{1000, 2 * eventlog.MaxBatchEvents, eventlog.MaxBatchEvents},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.maxBatch), func(t *testing.T) {
			t.Parallel()
			// Only full batches commit before the window ends.
			l, s := newLog(t, eventlog.WithCommitWindow(time.Hour), eventlog.WithMaxBatch(tt.maxBatch))
			inputs := make([][]sdk.Event, tt.callers)
			var all []string
			for c := range inputs {
				inputs[c] = []sdk.Event{delivered(fmt.Sprintf("m%d@example.com", c), fmt.Sprintf("m-%d", c))}
				all = append(all, inputs[c][0].ID)
			}
			_, errs := appendAll(ctxT(t), l, inputs)
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			sizes := txnSizes(t, logEntries(t, s), all)
			for rev, n := range sizes {
				if n != tt.wantPerTxn {
					t.Errorf("revision %d committed %d events, want %d", rev, n, tt.wantPerTxn)
				}
			}
			if len(sizes) != tt.callers/tt.wantPerTxn {
				t.Errorf("%d transactions, want %d", len(sizes), tt.callers/tt.wantPerTxn)
			}
		})
	}

	t.Run("larger delivery", func(t *testing.T) {
		t.Parallel()
		l, s := newLog(t, eventlog.WithCommitWindow(time.Hour), eventlog.WithMaxBatch(5))
		evs := batch("big", 12)
		checkResult(t, "Append", appendOK(t, l, evs), ids(evs), 12)
		logged := logEntries(t, s)
		for i := 1; i < len(evs); i++ {
			if logged[evs[i].ID] < logged[evs[i-1].ID] {
				t.Fatalf("event %d committed at revision %d, before event %d at %d", i, logged[evs[i].ID], i-1, logged[evs[i-1].ID])
			}
		}
		if sizes := txnSizes(t, logged, ids(evs)); len(sizes) != 3 {
			t.Errorf("12 events in chunks of 5 took revisions %v, want 3", sizes)
		}
	})
}

// TestGroupCommitWindow checks that a lone delivery waits out the window
// for company, and that one arriving meanwhile joins its transaction.
func TestGroupCommitWindow(t *testing.T) {
	t.Parallel()
	const window = 300 * time.Millisecond
	l, s := newLog(t, eventlog.WithCommitWindow(window))
	ctx := ctxT(t)
	first, second := event("w1@example.com"), event("w2@example.com")

	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		_, err := l.Append(ctx, "shop", []sdk.Event{first}, 0)
		if err != nil {
			t.Errorf("first Append: %v", err)
		}
		done <- time.Since(start)
	}()
	waitQueued(t, l, 1)
	appendOK(t, l, []sdk.Event{second})
	if took := <-done; took < window {
		t.Errorf("the first Append returned after %s, before the window of %s", took, window)
	}
	logged := logEntries(t, s)
	if logged[first.ID] != logged[second.ID] {
		t.Errorf("events committed at revisions %d and %d, want one transaction", logged[first.ID], logged[second.ID])
	}
}

// TestGroupCommitDuplicatesAcrossCallers races deliveries that share
// vendor events, so that copies meet both in one batch and in batches in
// flight at once: each vendor event is committed once and every caller
// gets its one id.
func TestGroupCommitDuplicatesAcrossCallers(t *testing.T) {
	t.Parallel()
	for _, window := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run(window.String(), func(t *testing.T) {
			t.Parallel()
			l, s := newLog(t, eventlog.WithCommitWindow(window))
			const callers, pool = 40, 30
			shared := event("shared@example.com") // no delivery id: repeated by its id
			inputs := make([][]sdk.Event, callers)
			for c := range inputs {
				for k := range 3 {
					d := (c*7 + k*11) % pool
					inputs[c] = append(inputs[c], delivered(fmt.Sprintf("p%d@example.com", d), fmt.Sprintf("pool-%d", d)))
				}
				inputs[c] = append(inputs[c], delivered(fmt.Sprintf("own%d@example.com", c), fmt.Sprintf("own-%d", c)))
				if c%5 == 0 {
					inputs[c] = append(inputs[c], shared)
				}
			}

			results, errs := appendAll(ctxT(t), l, inputs)
			total := 0
			byDelivery := map[string]string{}
			for c, in := range inputs {
				if errs[c] != nil {
					t.Fatalf("Append %d: %v", c, errs[c])
				}
				res := results[c]
				total += res.New
				for i, ev := range in {
					id := res.EventIDs[i]
					key := ev.DeliveryID
					if key == "" {
						key = "id:" + ev.ID
					}
					if prev, ok := byDelivery[key]; ok && prev != id {
						t.Errorf("%s got ids %s and %s", key, prev, id)
					}
					byDelivery[key] = id
				}
				if own := in[3]; res.EventIDs[3] != own.ID {
					t.Errorf("Append %d: own event got %s, want %s", c, res.EventIDs[3], own.ID)
				}
			}
			if got := byDelivery["id:"+shared.ID]; got != shared.ID {
				t.Errorf("the shared event got id %s, want %s", got, shared.ID)
			}
			if want := pool + callers + 1; total != want || len(byDelivery) != want {
				t.Errorf("%d events committed, %d distinct; want %d", total, len(byDelivery), want)
			}
			logged := logEntries(t, s)
			if len(logged) != len(byDelivery) {
				t.Errorf("%d log keys, want %d", len(logged), len(byDelivery))
			}
			records := dedupeRecords(t, s)
			if len(records) != len(byDelivery)-1 {
				t.Errorf("%d dedupe records, want %d", len(records), len(byDelivery)-1)
			}
			for key, id := range byDelivery {
				if _, ok := logged[id]; !ok {
					t.Errorf("event %s of %s is not in the log", id, key)
				}
				if d, ok := strings.CutPrefix(key, "id:"); !ok {
					if got := records[dedupeKey(s, "shop", d)]; got != id {
						t.Errorf("dedupe record of %s holds %q, want %s", d, got, id)
					}
				}
			}
		})
	}
}

// TestGroupCommitSameIDOtherDelivery races one event id under two
// delivery ids: they cannot share a transaction (one key put twice), and
// whichever commits first owns the id; the other finds its log key.
func TestGroupCommitSameIDOtherDelivery(t *testing.T) {
	t.Parallel()
	l, s := newLog(t, eventlog.WithCommitWindow(100*time.Millisecond))
	a := delivered("same@example.com", "d-a")
	b := a
	b.DeliveryID = "d-b"

	results, errs := appendAll(ctxT(t), l, [][]sdk.Event{{a}, {b}})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, res := range results {
		if !slices.Equal(res.EventIDs, []string{a.ID}) {
			t.Errorf("Append %d = %+v, want id %s", i, res, a.ID)
		}
	}
	if n := results[0].New + results[1].New; n != 1 {
		t.Errorf("%d events committed, want 1", n)
	}
	if logged := logEntries(t, s); len(logged) != 1 {
		t.Errorf("log holds %v, want only %s", logged, a.ID)
	}
	records := dedupeRecords(t, s)
	if len(records) != 1 {
		t.Fatalf("dedupe records %v, want one, of the delivery committed first", records)
	}
	for _, id := range records {
		if id != a.ID {
			t.Errorf("dedupe record holds %s, want %s", id, a.ID)
		}
	}
}

// TestGroupCommitCallerContextEnds checks that a caller whose context
// ends while it waits returns at once with the context's error, and that a
// delivery not yet taken into a batch is then not committed.
func TestGroupCommitCallerContextEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ctx  func(context.Context) (context.Context, context.CancelFunc)
		want error
	}{
		{"cancelled", context.WithCancel, context.Canceled},
		{"deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 50*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The window outlasts the test: only a full batch commits.
			l, s := newLog(t, eventlog.WithCommitWindow(time.Hour))
			ctx, cancel := tt.ctx(ctxT(t))
			defer cancel()
			gone := delivered("gone@example.com", "gone")
			errc := make(chan error)
			go func() {
				_, err := l.Append(ctx, "shop", []sdk.Event{gone}, 0)
				errc <- err
			}()
			waitQueued(t, l, 1)
			start := time.Now()
			if tt.want == context.Canceled {
				cancel()
			}
			select {
			case err := <-errc:
				if !errors.Is(err, tt.want) {
					t.Fatalf("Append = %v, want %v", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Append did not return after its context ended")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Append returned %s after its context ended", d)
			}
			if n := l.Queued(); n != 0 {
				t.Errorf("%d events still queued, want the abandoned one removed", n)
			}

			// A full batch of others commits without the abandoned event.
			inputs := make([][]sdk.Event, eventlog.MaxBatchEvents)
			for c := range inputs {
				inputs[c] = []sdk.Event{delivered(fmt.Sprintf("o%d@example.com", c), fmt.Sprintf("o-%d", c))}
			}
			_, errs := appendAll(ctxT(t), l, inputs)
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			logged := logEntries(t, s)
			if _, ok := logged[gone.ID]; ok || len(logged) != len(inputs) {
				t.Errorf("log holds %d events (abandoned one: %v), want the %d others only", len(logged), ok, len(inputs))
			}
		})
	}
}

// TestClose checks that Close commits the deliveries already waiting,
// then refuses new ones.
func TestClose(t *testing.T) {
	t.Parallel()
	l, s := newLog(t, eventlog.WithCommitWindow(time.Hour))
	const waiting = 5
	inputs := make([][]sdk.Event, waiting)
	for c := range inputs {
		inputs[c] = []sdk.Event{delivered(fmt.Sprintf("c%d@example.com", c), fmt.Sprintf("c-%d", c))}
	}
	type outcome struct {
		res eventlog.AppendResult
		err error
	}
	out := make(chan outcome, waiting)
	for _, in := range inputs {
		go func() {
			res, err := l.Append(ctxT(t), "shop", in, 0)
			out <- outcome{res, err}
		}()
	}
	waitQueued(t, l, waiting)
	l.Close()
	for range waiting {
		o := <-out
		if o.err != nil || o.res.New != 1 {
			t.Errorf("Append waiting at Close = %+v, %v; want committed", o.res, o.err)
		}
	}
	if n := countKeys(t, s, "log"); n != waiting {
		t.Errorf("%d log keys, want %d", n, waiting)
	}

	for _, evs := range [][]sdk.Event{{event("late@example.com")}, batch("late", 100)} {
		if _, err := l.Append(ctxT(t), "shop", evs, 0); !errors.Is(err, eventlog.ErrClosed) {
			t.Errorf("Append of %d events after Close = %v, want ErrClosed", len(evs), err)
		}
	}
	l.Close() // a second Close is harmless
}

// TestGroupCommitStoreFails closes etcd under load: every caller gets an
// error (the ingest's 503) or a commit, and none hangs.
func TestGroupCommitStoreFails(t *testing.T) {
	t.Parallel()
	s := storetest.Start(t)
	l := eventlog.New(s, nil)
	const workers, before = 64, 300
	var (
		committed atomic.Int64
		closed    sync.WaitGroup // the store's Close, once
		wg        sync.WaitGroup
		errs      = make([]error, workers)
	)
	ctx := ctxT(t)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				ev := delivered(fmt.Sprintf("f%d@example.com", w), fmt.Sprintf("f-%d-%d", w, i))
				if _, err := l.Append(ctx, "shop", []sdk.Event{ev}, 0); err != nil {
					errs[w] = err
					return
				}
				if committed.Add(1) == before {
					closed.Go(func() {
						if err := s.Close(); err != nil {
							t.Errorf("closing the store: %v", err)
						}
					})
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("Appends still running 45s after etcd was closed:\n%s", buf[:runtime.Stack(buf, true)])
	}
	for w, err := range errs {
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("worker %d ended with %v, want the store's error", w, err)
		}
	}
	t.Logf("%d appends committed, all callers returned after %s; then: %v", committed.Load(), time.Since(start), errs[0])
	closed.Wait()

	start = time.Now()
	if _, err := l.Append(ctx, "shop", []sdk.Event{event("after@example.com")}, 0); err == nil {
		t.Error("Append after etcd was closed succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Append after etcd was closed took %s", d)
	}
	l.Close()
}
