package ingest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/jsonkind"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// The load of issue 4's target: 64 concurrent senders posting a 2 KB JSON
// body each, one event per delivery, every delivery id new.
const (
	benchSenders  = 64
	benchBodySize = 2048
)

// benchBody returns delivery n's body: a canonical event (the json kind's
// default mapping) padded to benchBodySize bytes.
func benchBody(n int64) []byte {
	head := fmt.Sprintf(`{"id":"bench-%d","type":"checkout.updated","occurred_at":"2026-11-22T10:00:00Z",`+
		`"customer":{"email":"user%d@example.com","external_ids":{"shop":"%d"}},"traits":{"first_name":"Jane"},`+
		`"properties":{"checkout_id":"chk-%d","value":199.0,"currency":"USD",`+
		`"items":[{"product_id":"p-1","sku":"SKU-1","name":"Shoe","price":99.5,"quantity":2}],"note":"`, n, n%5000, n%5000, n)
	tail := `"}}`
	pad := max(0, benchBodySize-len(head)-len(tail))
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// benchLoad posts benchSenders concurrent deliveries to url until b.N are
// made, checks each answer's status, and reports events/s and the p50 and
// p99 latency of a request.
func benchLoad(b *testing.B, url string, wantStatus int) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * benchSenders,
		MaxIdleConnsPerHost: 2 * benchSenders,
		IdleConnTimeout:     time.Minute,
	}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	b.SetParallelism(max(1, (benchSenders+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	var (
		next atomic.Int64
		mu   sync.Mutex
		lats []time.Duration
	)
	b.SetBytes(benchBodySize)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		own := make([]time.Duration, 0, 1024)
		for pb.Next() {
			body := benchBody(next.Add(1))
			start := time.Now()
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			answer, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != wantStatus {
				b.Errorf("POST answered %d %s (%v), want %d", resp.StatusCode, answer, err, wantStatus)
				return
			}
			own = append(own, time.Since(start))
		}
		mu.Lock()
		lats = append(lats, own...)
		mu.Unlock()
	})
	b.StopTimer()
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

// BenchmarkIngest measures durable ingest: the real handler with a json
// source (no secret) over the event log on embedded etcd, every 202 sent
// after the event's commit.
func BenchmarkIngest(b *testing.B) {
	benchIngest(b)
}

// BenchmarkIngestTuning runs BenchmarkIngest's load under other group
// commit settings, for comparison with the defaults.
func BenchmarkIngestTuning(b *testing.B) {
	settings := []struct {
		window     time.Duration
		committers int
		batch      int
	}{
		{0, 1, eventlog.MaxBatchEvents},
		{0, 4, eventlog.MaxBatchEvents},
		{time.Millisecond, 4, eventlog.MaxBatchEvents},
		{2 * time.Millisecond, 1, eventlog.MaxBatchEvents},
		{2 * time.Millisecond, 4, eventlog.MaxBatchEvents},
		{2 * time.Millisecond, 8, eventlog.MaxBatchEvents},
		{5 * time.Millisecond, 4, eventlog.MaxBatchEvents},
		{2 * time.Millisecond, 4, 16},
		{2 * time.Millisecond, 4, 32},
	}
	for _, s := range settings {
		b.Run(fmt.Sprintf("window=%s/committers=%d/batch=%d", s.window, s.committers, s.batch), func(b *testing.B) {
			benchIngest(b, eventlog.WithCommitWindow(s.window), eventlog.WithCommitters(s.committers), eventlog.WithMaxBatch(s.batch))
		})
	}
}

func benchIngest(b *testing.B, opts ...eventlog.Option) {
	st := storetest.Start(b)
	lg := eventlog.New(st, hclog.NewNullLogger(), opts...)
	defer lg.Close()
	adapter, diags := jsonkind.Build(source.Spec{Name: "app", Kind: "json", Body: hcl.EmptyBody()})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	h := ingest.New([]ingest.Source{{Name: "app", Kind: "json", Adapter: adapter, MaxBodyBytes: 64 << 10}},
		lg, hclog.NewNullLogger())
	srv := httptest.NewServer(h)
	defer srv.Close()

	benchLoad(b, srv.URL+"/v1/webhooks/app", http.StatusAccepted)

	stats := lg.Stats()
	if stats.Events > 0 {
		b.ReportMetric(float64(stats.Txns)/float64(stats.Events), "txns/event")
	}
	if stats.Batches > 0 {
		b.ReportMetric(float64(stats.Appends)/float64(stats.Batches), "appends/batch")
	}
}

// BenchmarkBareHandler is the ceiling for BenchmarkIngest: the same load
// against a net/http handler that reads the body and answers 202.
func BenchmarkBareHandler(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"accepted":1,"event_ids":["01JD0000000000000000000000"]}`+"\n")
	}))
	defer srv.Close()
	benchLoad(b, srv.URL+"/v1/webhooks/app", http.StatusAccepted)
}
