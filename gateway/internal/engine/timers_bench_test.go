package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var (
	benchPending = flag.Int("timers.pending", 1_000_000, "BenchmarkMillionTimers: pending timers in all, the due set included")
	benchDue     = flag.Int("timers.due", 10_000, "BenchmarkMillionTimers: timers of the due set (one per customer)")
	benchWindow  = flag.Duration("timers.window", 10*time.Second, "BenchmarkMillionTimers: the due set's due times spread evenly over this window")
	benchLead    = flag.Duration("timers.lead", 10*time.Second, "BenchmarkMillionTimers: the window starts this long after the due set is written")
	benchProfile = flag.String("timers.cpuprofile", "", "BenchmarkMillionTimers: write a CPU profile of the firing (engine start to the last fire) of the largest run to this file")
)

// benchRules are the rules each customer has one pending timer of: four
// timers per customer, as a shop with an abandoned-checkout, a win-back,
// a birthday and a post-purchase trigger has.
var benchRules = []struct{ name, timer string }{
	{"abandoned_checkout", "clock:co-1"},
	{"win_back", "inactivity"},
	{"birthday", "date"},
	{"post_purchase", "journey.step"},
}

// BenchmarkMillionTimers loads pending timers into embedded etcd, with the
// customer records that list them, then runs the engine as the gateway
// does (a cluster node owning all partitions, real clock) and measures how
// late a known due set fires: for each timer of the set, the time its
// key's deletion (committed with the evaluation that fired it) reached a
// watch, minus its due time. pending=0 is the same due set alone;
// pending=N has N pending timers in all (-timers.pending), four per
// customer, all but the due set due 30 to 365 days away. The trigger is
// in-process (sdk/plugintest over go-plugin gRPC) and fires one step per
// timer, so each fire also queues an outbox message.
//
// Run it alone, once: go test -run '^$' -bench MillionTimers -benchtime 1x
// ./gateway/internal/engine/ (a few minutes; -timers.pending=100000 for a
// quick look).
func BenchmarkMillionTimers(b *testing.B) {
	if testing.Short() {
		b.Skip("loads a million keys into etcd")
	}
	b.Run("pending=0", func(b *testing.B) { runMillionTimers(b, 0) })
	b.Run(fmt.Sprintf("pending=%d", *benchPending), func(b *testing.B) { runMillionTimers(b, *benchPending) })
}

func runMillionTimers(b *testing.B, pending int) {
	due := *benchDue
	perCustomer := len(benchRules)
	customers := due // pending=0: the due set alone, one timer each
	if pending > 0 {
		if pending < due*perCustomer {
			b.Fatalf("-timers.pending=%d is fewer than the due set's customers hold (%d)", pending, due*perCustomer)
		}
		customers = pending / perCustomer
	}
	st := storetest.Start(b)
	ctx := b.Context()
	lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(cluster.DefaultPartitions))
	defer lg.Close()
	trig := &dueTrigger{}
	tr := plugintest.Trigger(b, trig)
	rules := make([]engine.Rule, len(benchRules))
	for i, r := range benchRules {
		rules[i] = engine.Rule{Name: r.name, Trigger: tr, Config: sdk.RawConfig(`{}`),
			Actions: []engine.Action{{Channel: "email", Template: r.name}}}
	}
	warn := &lineCounter{}
	eng := engine.New(st, lg, rules, hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: warn}))

	dbBefore := dbSize(b, st)
	loadStart := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	far := func() time.Time {
		return loadStart.Add(30*24*time.Hour + time.Duration(rng.Int64N(int64(335*24*time.Hour)))).Truncate(time.Millisecond)
	}
	w := newBulkWriter(ctx, st)
	var recordBytes atomic.Int64
	// The customers without a due timer first, then the due set, whose
	// window is set from the time it is written.
	for i := range customers - due {
		timers := make([]time.Time, perCustomer)
		for j := range timers {
			timers[j] = far()
		}
		recordBytes.Add(int64(writeCustomer(b, w, eng, i, timers)))
	}
	windowStart := time.Now().Add(*benchLead).Truncate(time.Millisecond)
	dueAt := map[string]time.Time{} // timer key → due time
	for k := range due {
		i := customers - due + k
		at := windowStart.Add(time.Duration(int64(*benchWindow) * int64(k) / int64(due))).Truncate(time.Millisecond)
		n := 1
		if pending > 0 {
			n = perCustomer
		}
		// One timer per rule; the due one is of a rule chosen by the
		// customer's number.
		r := k % n
		timers := make([]time.Time, n)
		for j := range timers {
			timers[j] = far()
		}
		timers[r] = at
		key := benchCustomerKey(i)
		dueAt[eng.TimerKey(key, benchRules[r].name, sdk.Timer{ID: benchRules[r].timer, At: at})] = at
		recordBytes.Add(int64(writeCustomer(b, w, eng, i, timers)))
	}
	if err := w.close(); err != nil {
		b.Fatal(err)
	}
	loadTime := time.Since(loadStart)
	totalTimers := due
	if pending > 0 {
		totalTimers = customers * perCustomer
	}
	if n := countKeys(b, st, st.Key("timers")+"/"); n != int64(totalTimers) {
		b.Fatalf("%d timer keys in etcd, want %d", n, totalTimers)
	}
	dbLoaded := dbSize(b, st)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapLoaded := ms.HeapAlloc
	rssLoaded := procStatus("VmRSS")
	// Watch timer deletions from now: each is a commit that fired (or
	// dropped) a timer.
	rev := currentRevision(b, st)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	wch := st.Client().Watch(wctx, st.Key("timers")+"/", clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithFilterPut())
	lags := make([]time.Duration, 0, due)
	var otherDeletes int
	allFired := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for resp := range wch {
			now := time.Now()
			for _, ev := range resp.Events {
				at, ok := dueAt[string(ev.Kv.Key)]
				if !ok {
					otherDeletes++
					continue
				}
				lags = append(lags, now.Sub(at))
				if len(lags) == due {
					close(allFired)
				}
			}
		}
	}()

	// Start the engine as app.Run does: Run, and a cluster node handing
	// it every partition.
	runCtx, stop := context.WithCancel(ctx)
	node, err := cluster.Join(ctx, st, cluster.Config{NodeID: "bench", Address: "127.0.0.1:0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = eng.Run(runCtx) })
	wg.Go(func() { _ = node.Run(runCtx, eng) })
	lead := time.Until(windowStart)
	if lead < time.Second {
		b.Errorf("the engine was started only %s before the window: raise -timers.lead", lead)
	}

	if *benchProfile != "" && pending > 0 {
		f, err := os.Create(*benchProfile)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}

	// Sample memory while the due set fires.
	var heapMax, rssMax uint64
	sampleDone := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() {
		defer close(sampleDone)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			heapMax = max(heapMax, m.HeapInuse)
			rssMax = max(rssMax, procStatus("VmRSS"))
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	deadline := windowStart.Add(*benchWindow + 5*time.Minute)
	select {
	case <-allFired:
	case <-time.After(time.Until(deadline)):
		b.Errorf("only %d of %d due timers fired by %s after the window", trig.count(), due, 5*time.Minute)
	}
	firedBy := time.Now()
	close(stopSampling)
	<-sampleDone
	stop()
	wg.Wait()
	_ = node.Close()
	stopWatch()
	<-watchDone
	dbFired := dbSize(b, st)

	if got := trig.count(); got != due {
		b.Errorf("the trigger saw %d timer.fired items, want %d", got, due)
	}
	if otherDeletes != 0 {
		b.Errorf("%d timers outside the due set were deleted", otherDeletes)
	}
	if n := countKeys(b, st, st.Key("timers")+"/"); n != int64(totalTimers-due) {
		b.Errorf("%d timer keys left, want %d", n, totalTimers-due)
	}
	if n := countKeys(b, st, st.Key("outbox")+"/"); n != int64(due) {
		b.Errorf("%d outbox messages, want one per fired timer (%d)", n, due)
	}
	if warn.count() > 0 {
		// Passes cut short by the end of the run are expected.
		b.Logf("engine warnings: %d; first: %s", warn.count(), warn.first())
	}
	if len(lags) == 0 {
		b.Fatal("no due timer fired")
	}
	slices.Sort(lags)
	evalLags := trig.evalLags()
	pct := func(lags []time.Duration, p float64) float64 {
		if len(lags) == 0 {
			return 0
		}
		return float64(lags[min(len(lags)-1, int(p*float64(len(lags))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(totalTimers), "timers")
	b.ReportMetric(float64(recordBytes.Load())/float64(customers), "record-B")
	b.ReportMetric(loadTime.Seconds(), "load-s")
	b.ReportMetric(float64(totalTimers)/loadTime.Seconds(), "load-timers/s")
	b.ReportMetric(mb(uint64(dbBefore)), "db-MB-empty")
	b.ReportMetric(mb(uint64(dbLoaded)), "db-MB-loaded")
	b.ReportMetric(mb(uint64(dbFired)), "db-MB-fired")
	b.ReportMetric(mb(heapLoaded), "heap-MB-loaded")
	b.ReportMetric(mb(rssLoaded), "rss-MB-loaded")
	b.ReportMetric(mb(heapMax), "heap-inuse-MB-max")
	b.ReportMetric(mb(rssMax), "rss-MB-max")
	b.ReportMetric(pct(lags, 0.50), "lag-p50-ms")
	b.ReportMetric(pct(lags, 0.99), "lag-p99-ms")
	b.ReportMetric(pct(lags, 1), "lag-max-ms")
	b.ReportMetric(pct(evalLags, 0.50), "eval-lag-p50-ms")
	b.ReportMetric(pct(evalLags, 0.99), "eval-lag-p99-ms")
	b.ReportMetric(lead.Seconds(), "engine-lead-s")
	b.ReportMetric(float64(firedBy.Sub(windowStart.Add(*benchWindow)).Milliseconds()), "last-fire-after-window-ms")
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

func benchCustomerKey(i int) string { return sdk.Customer{ID: fmt.Sprintf("cust-%07d", i)}.Key() }

// writeCustomer queues customer i's record and timers (one per rule, in
// benchRules order; fewer rules when fewer timers are given) and returns
// the record's size.
func writeCustomer(b *testing.B, w *bulkWriter, eng *engine.Engine, i int, at []time.Time) int {
	key := benchCustomerKey(i)
	now := time.Now().UTC().Truncate(time.Second)
	rec := customer.Record{Profile: sdk.Profile{
		Customer: sdk.Customer{ID: fmt.Sprintf("cust-%07d", i), Email: fmt.Sprintf("cust-%07d@example.com", i)},
		Traits:   map[string]any{"first_name": "Alex", "birthday": "1990-03-14", "plan": "free", "accepts_marketing": true},
		Timezone: "Europe/Paris",
		Stats: sdk.Stats{OrdersCount: 2, LifetimeValue: 184.5, AverageOrderValue: 92.25,
			FirstSeenAt: now.Add(-90 * 24 * time.Hour), LastSeenAt: now.Add(-time.Hour), LastOrderAt: now.Add(-10 * 24 * time.Hour)},
		Consent: map[string]bool{"email": true},
	}, Trace: []customer.Decision{
		{At: now.Add(-10 * 24 * time.Hour), Rule: "post_purchase", Step: "review_request", EventID: "01HXBENCH0000000000000000A",
			Channel: "email", MessageID: "msg_0123456789abcdef01234567", Outcome: "sent"},
	}}
	rules := map[string][]byte{}
	timers := map[string]map[string]sdk.Timer{}
	ops := make([]clientv3.Op, 0, 1+len(at))
	for j, t := range at {
		r := benchRules[j]
		tm := sdk.Timer{ID: r.timer, At: t.UTC()}
		if r.name == "post_purchase" {
			tm.Data = map[string]any{"instance": 1, "seq": 3}
		}
		rules[r.name] = []byte(`{"v":1,"last":"2026-11-20T10:00:00Z","n":2,"id":"01HXBENCH0000000000000000A"}`)
		timers[r.name] = map[string]sdk.Timer{tm.ID: tm}
		v, err := engine.TimerValue(key, r.name, tm)
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops, clientv3.OpPut(eng.TimerKey(key, r.name, tm), v))
	}
	v, err := engine.CustomerRecord(key, rec, rules, timers)
	if err != nil {
		b.Fatal(err)
	}
	ops = append(ops, clientv3.OpPut(eng.CustomerKey(key), v))
	w.add(ops)
	return len(v)
}

// bulkWriter writes ops in transactions of at most 120 (etcd allows 128),
// from several goroutines so that etcd can batch them into one fsync.
type bulkWriter struct {
	ctx  context.Context
	cli  *clientv3.Client
	cur  []clientv3.Op
	work chan []clientv3.Op
	wg   sync.WaitGroup
	err  atomic.Pointer[error]
}

const bulkWriters = 8

func newBulkWriter(ctx context.Context, st *store.Store) *bulkWriter {
	w := &bulkWriter{ctx: ctx, cli: st.Client(), work: make(chan []clientv3.Op, 2*bulkWriters)}
	for range bulkWriters {
		w.wg.Go(func() {
			for ops := range w.work {
				if w.err.Load() != nil {
					continue
				}
				tctx, cancel := context.WithTimeout(w.ctx, time.Minute)
				_, err := w.cli.Txn(tctx).Then(ops...).Commit()
				cancel()
				if err != nil {
					err = fmt.Errorf("bulk txn of %d ops: %w", len(ops), err)
					w.err.Store(&err)
				}
			}
		})
	}
	return w
}

// add queues one customer's ops, which stay in one transaction.
func (w *bulkWriter) add(ops []clientv3.Op) {
	if len(w.cur)+len(ops) > 120 {
		w.work <- w.cur
		w.cur = nil
	}
	w.cur = append(w.cur, ops...)
}

func (w *bulkWriter) close() error {
	if len(w.cur) > 0 {
		w.work <- w.cur
	}
	close(w.work)
	w.wg.Wait()
	if err := w.err.Load(); err != nil {
		return *err
	}
	return nil
}

func dbSize(b *testing.B, st *store.Store) int64 {
	b.Helper()
	resp, err := st.Client().Maintenance.Status(b.Context(), st.Client().Endpoints()[0])
	if err != nil {
		b.Fatal(err)
	}
	return resp.DbSize
}

func countKeys(b *testing.B, st *store.Store, prefix string) int64 {
	b.Helper()
	resp, err := st.Client().Get(b.Context(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		b.Fatal(err)
	}
	return resp.Count
}

func currentRevision(b *testing.B, st *store.Store) int64 {
	b.Helper()
	resp, err := st.Client().Get(b.Context(), st.Key("none"))
	if err != nil {
		b.Fatal(err)
	}
	return resp.Header.Revision
}

// procStatus reads a "kB" field of /proc/self/status, in bytes; 0 where
// there is no /proc.
func procStatus(field string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field+":")); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// dueTrigger fires one step for every timer that comes due, and notes when
// it evaluated each.
type dueTrigger struct {
	mu   sync.Mutex
	lags []time.Duration // when evaluated minus when due, per timer
}

func (d *dueTrigger) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "due"}, nil
}

func (d *dueTrigger) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (d *dueTrigger) Evaluate(_ context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	now := time.Now()
	out := &sdk.EvaluateResponse{Results: make([]sdk.Result, len(req.Items))}
	for i, it := range req.Items {
		out.Results[i].State = it.State
		if it.Timer == nil {
			continue
		}
		d.mu.Lock()
		d.lags = append(d.lags, now.Sub(it.Timer.At))
		d.mu.Unlock()
		out.Results[i].Fires = []sdk.Fire{{Step: "due", Key: it.Timer.ID + "@" + it.Timer.At.Format(time.RFC3339Nano)}}
	}
	return out, nil
}

func (d *dueTrigger) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.lags)
}

// evalLags returns, sorted, when the trigger evaluated each due timer
// minus its due time: the part of the lag before the commit.
func (d *dueTrigger) evalLags() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.lags)
	slices.Sort(out)
	return out
}

// lineCounter counts log lines and keeps the first.
type lineCounter struct {
	mu   sync.Mutex
	n    int
	line string
}

func (l *lineCounter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		l.line = strings.TrimSpace(string(p))
	}
	l.n++
	return len(p), nil
}

func (l *lineCounter) count() int    { l.mu.Lock(); defer l.mu.Unlock(); return l.n }
func (l *lineCounter) first() string { l.mu.Lock(); defer l.mu.Unlock(); return l.line }
