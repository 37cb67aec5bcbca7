package eventlog_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/sdk"
)

// benchClients is the concurrency of the ingest target (issue 4: 64
// concurrent senders).
const benchClients = 64

// event2K returns a single-event delivery whose JSON form is about 2 KB,
// the size the ingest target is stated for.
func event2K(n int64) sdk.Event {
	ev := delivered(fmt.Sprintf("user%d@example.com", n%5000), fmt.Sprintf("bench-%d", n))
	ev.Properties = map[string]any{
		"checkout_id":  fmt.Sprintf("chk-%d", n),
		"value":        199.0,
		"currency":     "USD",
		"recovery_url": "https://shop.example.com/checkouts/recover?token=" + strings.Repeat("a", 64),
		"note":         strings.Repeat("x", 1600),
	}
	return ev
}

// runClients runs benchClients goroutines calling do until b.N calls are
// made, and reports events/s and the p50 and p99 latency of a call.
func runClients(b *testing.B, do func(n int64) error) {
	b.Helper()
	// RunParallel starts parallelism × GOMAXPROCS goroutines.
	b.SetParallelism(max(1, (benchClients+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	var (
		next atomic.Int64
		mu   sync.Mutex
		lats []time.Duration
	)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		own := make([]time.Duration, 0, 1024)
		for pb.Next() {
			start := time.Now()
			if err := do(next.Add(1)); err != nil {
				b.Error(err)
				return
			}
			own = append(own, time.Since(start))
		}
		mu.Lock()
		lats = append(lats, own...)
		mu.Unlock()
	})
	b.StopTimer()
	reportLatency(b, lats)
}

// reportLatency reports events/s (one event per call) and latency
// percentiles in milliseconds.
func reportLatency(b *testing.B, lats []time.Duration) {
	b.Helper()
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	pct := func(p int) float64 {
		return float64(lats[min(len(lats)-1, len(lats)*p/100)].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(lats))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(pct(50), "p50_ms")
	b.ReportMetric(pct(99), "p99_ms")
}

// reportStats reports etcd transactions per event and deliveries per
// shared transaction.
func reportStats(b *testing.B, st eventlog.Stats) {
	b.Helper()
	if st.Events > 0 {
		b.ReportMetric(float64(st.Txns)/float64(st.Events), "txns/event")
	}
	if st.Batches > 0 {
		b.ReportMetric(float64(st.Appends)/float64(st.Batches), "appends/batch")
	}
}

// BenchmarkAppendConcurrent measures group commit: 64 concurrent callers,
// each appending one 2 KB event with its own delivery id per call.
func BenchmarkAppendConcurrent(b *testing.B) {
	benchAppendConcurrent(b)
}

// BenchmarkAppendConcurrentTuning runs BenchmarkAppendConcurrent's load
// under other group commit settings, for comparison with the defaults.
func BenchmarkAppendConcurrentTuning(b *testing.B) {
	settings := []struct {
		window     time.Duration
		committers int
		batch      int
	}{
		{0, 1, eventlog.MaxBatchEvents},
		{0, 4, eventlog.MaxBatchEvents},
		{time.Millisecond, 4, eventlog.MaxBatchEvents},
		{2 * time.Millisecond, 1, eventlog.MaxBatchEvents},
		{2 * time.Millisecond, 8, eventlog.MaxBatchEvents},
		{5 * time.Millisecond, 4, eventlog.MaxBatchEvents},
		{2 * time.Millisecond, 4, 16},
		{2 * time.Millisecond, 4, 32},
	}
	for _, s := range settings {
		b.Run(fmt.Sprintf("window=%s/committers=%d/batch=%d", s.window, s.committers, s.batch), func(b *testing.B) {
			benchAppendConcurrent(b, eventlog.WithCommitWindow(s.window), eventlog.WithCommitters(s.committers), eventlog.WithMaxBatch(s.batch))
		})
	}
}

func benchAppendConcurrent(b *testing.B, opts ...eventlog.Option) {
	l, _ := newLog(b, opts...)
	defer l.Close()
	ctx := b.Context()
	runClients(b, func(n int64) error {
		res, err := l.Append(ctx, "shop", []sdk.Event{event2K(n)}, 0)
		if err == nil && res.New != 1 {
			err = fmt.Errorf("Append = %+v, want 1 new event", res)
		}
		return err
	})
	reportStats(b, l.Stats())
}
