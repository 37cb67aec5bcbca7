package delivery_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

// The delivery benchmarks' settings. The defaults keep each benchmark
// under about two minutes on two cores with -benchtime 1x.
var (
	benchMessages = flag.Int("delivery.messages", 10000,
		"delivery benchmarks: messages of the throughput phase, per b.N")
	benchRate = flag.Int("delivery.rate", 0,
		"delivery benchmarks: messages/s of the latency phase (0: half the measured throughput)")
	benchSteady = flag.Duration("delivery.steady", 15*time.Second,
		"delivery benchmarks: how long the latency phase writes")
)

const (
	// benchPartitions is the gateway's default partition count.
	benchPartitions = 64
	// benchTxnPuts is the most outbox entries one write transaction holds,
	// as the engine's group commit writes them.
	benchTxnPuts = 100
	// benchWriters write the throughput phase's transactions concurrently,
	// as the engine's partition loops do.
	benchWriters = 4
	// benchTick is the latency phase's write interval.
	benchTick = 10 * time.Millisecond
	// benchDrainTimeout bounds the wait for a phase's last message.
	benchDrainTimeout = 3 * time.Minute
)

// TestMain removes the plugin binaries the benchmarks built.
func TestMain(m *testing.M) {
	code := m.Run()
	pluginhosttest.Cleanup()
	os.Exit(code)
}

// rig is one channel's delivery pipeline as the gateway runs it: embedded
// etcd, the real plugin binary behind pluginhost, and a worker with the
// gateway's shards and no ownership filter. Providers record arrivals.
type rig struct {
	b        *testing.B
	st       *store.Store
	channel  string
	template string
	entry    func(id string, seq int) outbox.Entry // the entry of a message, CreatedAt unset
	arrivals *arrivals
	logs     *warnSink
	seq      atomic.Int64

	mu      sync.Mutex
	created map[string]time.Time // message id → CreatedAt, the fire
}

// rigConfig says what a rig delivers through.
type rigConfig struct {
	plugin    string // folder under plugins/
	channel   string // channel block name
	kind      string // channel kind
	config    string // the channel's config as JSON
	templates map[string]*render.Template
	template  string
	entry     func(id string, seq int) outbox.Entry
	arrivals  *arrivals
}

// newRig builds the plugin, starts etcd and the worker, and checks the
// channel's config with the plugin. Everything stops at b.Cleanup.
func newRig(b *testing.B, rc rigConfig) *rig {
	b.Helper()
	dir := pluginhosttest.Build(b, "plugins/"+rc.plugin)
	st := storetest.StartWith(b, store.Config{QuotaBytes: 4 << 30})
	logs := &warnSink{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "bench", Level: hclog.Warn, Output: logs})

	host := pluginhost.New(logger.Named("plugin"), pluginhost.WithDir(dir))
	b.Cleanup(host.Close)
	handle, err := host.Channel(rc.plugin)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	// Validating starts the process outside the timing, as the gateway
	// does at startup.
	vr, err := handle.ValidateConfig(ctx, &sdk.ValidateConfigRequest{Config: sdk.RawConfig(rc.config)})
	if err != nil {
		b.Fatal(err)
	}
	if vr.Diagnostics.HasErrors() {
		b.Fatalf("channel config: %+v", vr.Diagnostics)
	}

	w := delivery.New(st,
		map[string]delivery.Channel{rc.channel: {Name: rc.channel, Plugin: handle, Config: sdk.RawConfig(rc.config), Kind: rc.kind}},
		rc.templates, logger.Named("delivery"),
		delivery.WithShards(delivery.DefaultShards, benchPartitions))
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("worker: %v", err)
		}
	})
	return &rig{b: b, st: st, channel: rc.channel, template: rc.template, entry: rc.entry,
		arrivals: rc.arrivals, logs: logs, created: map[string]time.Time{}}
}

// write commits n new messages in one transaction, spread over the
// partitions, with CreatedAt the time of the write: the fire, since the
// engine writes the outbox in the transaction that fires. It returns their
// ids.
func (r *rig) write(ctx context.Context, phase string, n int) ([]string, error) {
	ids := make([]string, n)
	ops := make([]clientv3.Op, n)
	now := time.Now()
	for i := range n {
		seq := int(r.seq.Add(1))
		id := fmt.Sprintf("msg_%s_%07d", phase, seq)
		e := r.entry(id, seq)
		e.Message.ID = id
		e.Message.CreatedAt = now
		e.NextAttemptAt = now
		e.Partition = seq % benchPartitions
		e.Channel, e.Template = r.channel, r.template
		v, err := e.Encode()
		if err != nil {
			return nil, err
		}
		ids[i] = id
		ops[i] = clientv3.OpPut(r.st.Key(outbox.KeyParts(e.Partition, id)...), v)
	}
	r.mu.Lock()
	for _, id := range ids {
		r.created[id] = now
	}
	r.mu.Unlock()
	if _, err := r.st.Client().Txn(ctx).Then(ops...).Commit(); err != nil {
		return nil, fmt.Errorf("writing the outbox: %w", err)
	}
	return ids, nil
}

// throughput writes n messages as fast as benchWriters concurrent writers
// can, and returns when every one has arrived: messages per second from
// the first write to the last arrival, and per second of writing.
func (r *rig) throughput(ctx context.Context, n int) (delivered, written float64) {
	all := r.arrivals.expect(n)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, benchWriters)
	for i := range benchWriters {
		wg.Go(func() {
			for {
				hi := int(next.Add(benchTxnPuts))
				lo := hi - benchTxnPuts
				if lo >= n {
					return
				}
				if _, errs[i] = r.write(ctx, "tput", min(hi, n)-lo); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	wrote := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		r.b.Fatal(err)
	}
	r.await(all, n)
	last := r.arrivals.last()
	return float64(n) / last.Sub(start).Seconds(), float64(n) / wrote.Seconds()
}

// steady writes rate messages per second, one transaction per benchTick,
// for d, waits for every one to arrive, and returns their fire-to-arrival
// latencies and the rate achieved.
func (r *rig) steady(ctx context.Context, rate int, d time.Duration) ([]time.Duration, float64) {
	perTick := max(1, rate*int(benchTick)/int(time.Second))
	ticks := int(d / benchTick)
	all := r.arrivals.expect(perTick * ticks)
	var ids []string
	start := time.Now()
	t := time.NewTicker(benchTick)
	defer t.Stop()
	for k := range ticks {
		if k > 0 {
			<-t.C // a tick missed while a write was slow is dropped, not bunched
		}
		written, err := r.write(ctx, "steady", perTick)
		if err != nil {
			r.b.Fatal(err)
		}
		ids = append(ids, written...)
	}
	wrote := time.Since(start)
	r.await(all, len(ids))
	lats := make([]time.Duration, len(ids))
	r.mu.Lock()
	for i, id := range ids {
		lats[i] = r.arrivals.at(id).Sub(r.created[id])
	}
	r.mu.Unlock()
	return lats, float64(len(ids)) / wrote.Seconds()
}

// await waits for a phase's messages, then for the outbox to be empty: a
// message is settled (removed) after it arrived.
func (r *rig) await(all <-chan struct{}, n int) {
	r.b.Helper()
	select {
	case <-all:
	case <-time.After(benchDrainTimeout):
		r.b.Fatalf("only %d of %d messages arrived within %s; warnings: %d\n%s",
			r.arrivals.count(), n, benchDrainTimeout, r.logs.count.Load(), r.logs.first())
	}
	ctx, cancel := context.WithTimeout(r.b.Context(), benchDrainTimeout)
	defer cancel()
	prefix := r.st.Key("outbox") + "/"
	for {
		resp, err := r.st.Client().Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			r.b.Fatalf("the outbox never emptied: %v", err)
		}
		if resp.Count == 0 {
			return
		}
		// Wait for the next change to the outbox, then count again.
		for wr := range r.st.Client().Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
			if len(wr.Events) > 0 || wr.Err() != nil {
				break
			}
		}
	}
}

// check fails the benchmark unless every message written arrived exactly
// once, nothing was dead-lettered, and nothing else arrived.
func (r *rig) check() {
	r.b.Helper()
	r.mu.Lock()
	written := len(r.created)
	r.mu.Unlock()
	if got, dups, strays := r.arrivals.count(), r.arrivals.duplicates(), r.arrivals.strays(); got != written || dups != 0 || len(strays) != 0 {
		r.b.Errorf("%d messages written, %d arrived, %d duplicates, unknown or malformed: %v", written, got, dups, strays)
	}
	resp, err := r.st.Client().Get(r.b.Context(), r.st.Key("dlq")+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		r.b.Fatal(err)
	}
	if resp.Count != 0 {
		r.b.Errorf("%d messages dead-lettered", resp.Count)
	}
	if n := r.logs.count.Load(); n > 0 {
		r.b.Logf("the worker and plugin logged %d warnings or errors; first ones:\n%s", n, r.logs.first())
	}
}

// run measures both phases and reports them.
func (r *rig) run() {
	b := r.b
	ctx := b.Context()
	b.ResetTimer()
	n := *benchMessages * b.N
	tput, wput := r.throughput(ctx, n)
	b.ReportMetric(tput, "msgs/s")
	b.ReportMetric(wput, "write-msgs/s")

	rate := *benchRate
	if rate <= 0 {
		rate = max(100, int(tput/2)/100*100) // whole messages per 10ms tick
	}
	lats, achieved := r.steady(ctx, rate, *benchSteady)
	b.StopTimer()
	p50, p99, pmax := percentileMS(lats, 50), percentileMS(lats, 99), percentileMS(lats, 100)
	b.ReportMetric(achieved, "steady-msgs/s")
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(pmax, "max-ms")
	b.ReportMetric(float64(r.arrivals.duplicates()), "dups")
	// Logged too, since a failed benchmark prints no metrics.
	b.Logf("%s: %d msgs: %.0f msgs/s (written at %.0f/s); steady %.0f msgs/s: p50 %.1fms p99 %.1fms max %.1fms; %d duplicates",
		r.channel, n, tput, wput, achieved, p50, p99, pmax, r.arrivals.duplicates())
	r.check()
}

// arrivals records when each message reached the provider.
type arrivals struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	dups   int
	stray  []string
	latest time.Time
	want   int
	wake   chan struct{}
}

func newArrivals() *arrivals { return &arrivals{seen: map[string]time.Time{}} }

// record notes that message id arrived at t; an empty or malformed id is
// a stray, reported with why.
func (a *arrivals) record(id string, t time.Time, problem string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case problem != "" || !strings.HasPrefix(id, "msg_"):
		if len(a.stray) < 10 {
			a.stray = append(a.stray, fmt.Sprintf("%q: %s", id, problem))
		}
		return
	case !a.seen[id].IsZero():
		a.dups++
		return
	}
	a.seen[id] = t
	if t.After(a.latest) {
		a.latest = t
	}
	if a.wake != nil && len(a.seen) >= a.want {
		close(a.wake)
		a.wake = nil
	}
}

// expect returns a channel closed once n more unique messages than so far
// have arrived.
func (a *arrivals) expect(n int) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan struct{})
	a.want = len(a.seen) + n
	if n <= 0 {
		close(ch)
		return ch
	}
	a.wake = ch
	return ch
}

func (a *arrivals) at(id string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[id]
}

func (a *arrivals) last() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.latest
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

func (a *arrivals) duplicates() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dups
}

func (a *arrivals) strays() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.stray)
}

// percentileMS returns the p-th percentile of ds in milliseconds (p = 100:
// the maximum), sorting ds in place.
func percentileMS(ds []time.Duration, p int) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, len(ds)*p/100)].Microseconds()) / 1000
}

// warnSink counts warnings and errors and keeps the first few, so that
// logging does not weigh on the measurement.
type warnSink struct {
	count atomic.Int64
	mu    sync.Mutex
	kept  []string
}

func (s *warnSink) Write(p []byte) (int, error) {
	s.count.Add(1)
	s.mu.Lock()
	if len(s.kept) < 10 {
		line := strings.TrimRight(string(p), "\n")
		if len(line) > 300 {
			line = line[:300] + "..."
		}
		s.kept = append(s.kept, line)
	}
	s.mu.Unlock()
	return len(p), nil
}

func (s *warnSink) first() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.kept, "\n")
}
