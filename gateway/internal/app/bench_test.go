package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// The end-to-end load of issue 4's target: 64 concurrent senders, each
// posting one ~1 KB canonical event per request, customers spread over
// 1,000 ids so that every partition and the engine's batching are used.
const (
	e2eSenders   = 64
	e2eCustomers = 1000
	e2eBodySize  = 1024
	// e2eDeliveryDeadline bounds the wait, after the last 202, for every
	// accepted event to reach the receiver.
	e2eDeliveryDeadline = 5 * time.Minute
	// e2eMaxRetryWait caps how long a sender honours a Retry-After before
	// re-posting a refused (429/503) delivery.
	e2eMaxRetryWait = time.Second
)

// e2eRate paces BenchmarkEndToEnd's senders to a fixed offered load, to see
// the latency below saturation; 0 (the default) posts as fast as the 64
// senders can (each waits for its 202 before the next POST).
var e2eRate = flag.Int("e2e.rate", 0, "BenchmarkEndToEnd: offered events/s (0: as fast as the senders go)")

// e2ePartitions sets the gateway's partition count for BenchmarkEndToEnd.
var e2ePartitions = flag.Int("e2e.partitions", 64, "BenchmarkEndToEnd: the gateway's partitions")

// BenchmarkEndToEnd measures the whole pipeline in one process: app.Run
// with embedded etcd and real plugin binaries, a json source without a
// secret, an `event` trigger on page.viewed with no condition, and a
// `webhook` channel (signed with a Standard Webhooks secret; the receiver
// does not verify it) to a local httptest receiver. It posts b.N events
// from e2eSenders concurrent clients, each carrying its send time, waits
// for every accepted event to be delivered, and reports:
//
//   - ingest_events/s: 202s per second, first send to last 202;
//   - delivered_events/s: unique messages received per second, first send
//     to last delivery (the sustained end-to-end rate);
//   - p50_ms, p99_ms, max_ms: event-to-delivery latency, from the start of
//     the event's first POST to the receiver reading its message;
//   - post_p99_ms: the p99 of one POST (the 202 latency);
//   - dups: messages the receiver saw again under a webhook-id it already
//     had (must be 0); refused: 429/503 answers that were retried.
//
// ns/op is the wall time per event, first send to last delivery. Run it
// with a fixed count, e.g.
//
//	go test -run '^$' -bench BenchmarkEndToEnd -benchtime 20000x ./gateway/internal/app/
//
// Unpaced, the senders offer more than the pipeline delivers once ingest
// outruns delivery, so latency then measures the backlog; add
// -args -e2e.rate=N to offer N events/s instead (a send time is then the
// event's scheduled time, so a sender falling behind counts against the
// latency).
func BenchmarkEndToEnd(b *testing.B) {
	rc := newE2EReceiver(b)
	url, logs := startBenchGateway(b, rc.URL)
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * e2eSenders,
		MaxIdleConnsPerHost: 2 * e2eSenders,
		IdleConnTimeout:     time.Minute,
	}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	// Warm up: one event per sender, delivered, so that partitions are
	// claimed, plugins are running and connections are open before the
	// clock starts. The receiver ignores warm-up events.
	warm := newE2ELoad(b, client, url, "warm")
	warm.run(e2eSenders, e2eSenders)
	if warm.accepted.Load() != e2eSenders {
		b.Fatalf("warm-up: %d of %d events accepted", warm.accepted.Load(), e2eSenders)
	}
	if !rc.waitWarm(e2eSenders, time.Minute) {
		b.Fatalf("warm-up: %d of %d events delivered within a minute", rc.warm.Load(), e2eSenders)
	}

	load := newE2ELoad(b, client, url, "load")
	load.rate = *e2eRate
	b.ResetTimer()
	load.run(b.N, e2eSenders)
	accepted := int(load.accepted.Load())
	delivered := rc.waitDelivered(accepted, e2eDeliveryDeadline)
	b.StopTimer()

	// Late duplicates would come from a retried send: give them a moment.
	time.Sleep(500 * time.Millisecond)
	res := rc.results()
	if load.failed.Load() > 0 {
		b.Errorf("%d of %d events were refused for good or failed to post", load.failed.Load(), b.N)
	}
	if delivered < accepted {
		b.Errorf("only %d of %d accepted events were delivered within %s", delivered, accepted, e2eDeliveryDeadline)
	}
	if res.dups > 0 {
		b.Errorf("the receiver saw %d duplicate webhook-ids", res.dups)
	}
	if n := logs.count.Load(); n > 0 {
		b.Logf("the gateway logged %d warnings or errors; first ones:\n%s", n, logs.first())
	}

	start := load.start
	if d := load.lastAccept().Sub(start); accepted > 0 && d > 0 {
		b.ReportMetric(float64(accepted)/d.Seconds(), "ingest_events/s")
	}
	if d := res.last.Sub(start); len(res.lats) > 0 && d > 0 {
		b.ReportMetric(float64(len(res.lats))/d.Seconds(), "delivered_events/s")
	}
	b.ReportMetric(percentileMS(res.lats, 50), "p50_ms")
	b.ReportMetric(percentileMS(res.lats, 99), "p99_ms")
	b.ReportMetric(percentileMS(res.lats, 100), "max_ms")
	b.ReportMetric(percentileMS(load.latencies(), 99), "post_p99_ms")
	b.ReportMetric(float64(res.dups), "dups")
	b.ReportMetric(float64(load.refused.Load()), "refused")
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

// startBenchGateway runs app.Run for the benchmark's pipeline and returns
// the ingest URL of its json source, and the sink of its warnings.
func startBenchGateway(b *testing.B, hookURL string) (string, *logSink) {
	b.Helper()
	pluginDir := pluginhosttest.Build(b, "plugins/event", "plugins/webhook")
	hcl := fmt.Sprintf(`
gateway {
  listen           = "127.0.0.1:0"
  admin_listen     = "127.0.0.1:0"
  data_dir         = %q
  plugin_dir       = %q
  shutdown_timeout = "10s"
  log_level        = "warn"
  partitions       = %d
}
store {
  embedded   = true
  client_url = "http://127.0.0.1:%d"
  peer_url   = "http://127.0.0.1:%d"
}
source "app" {
  kind = "json"
}
channel "hook" {
  plugin = "webhook"
  config {
    url                    = %q
    secret                 = "whsec_%s"
    timeout                = "30s"
    allow_private_networks = true
  }
}
trigger "page_views" {
  plugin = "event"
  config {
    on = ["page.viewed"]
  }
  action {
    channel = "hook"
  }
}
`, b.TempDir(), pluginDir, *e2ePartitions, storetest.FreePort(b), storetest.FreePort(b), hookURL,
		base64.StdEncoding.EncodeToString([]byte(hookKey)))
	cfg, diags := config.LoadFiles(map[string][]byte{"gateway.hcl": []byte(hcl)}, b.TempDir())
	if diags.HasErrors() {
		b.Fatalf("config: %s", diags.Error())
	}

	// Warnings and errors only, counted and mostly discarded, so that
	// logging does not weigh on the measurement.
	logs := &logSink{}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.Options{
			Logger: hclog.New(&hclog.LoggerOptions{Name: "gw", Level: hclog.Warn, Output: logs}),
			Ready:  func(a net.Addr) { addr <- a },
		})
	}()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("gateway stopped with: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a.String() + "/v1/webhooks/app", logs
	case err := <-done:
		b.Fatalf("gateway did not start: %v", err)
	case <-time.After(60 * time.Second):
		b.Fatal("gateway did not start within 60s")
	}
	return "", nil
}

// logSink counts the gateway's log lines and keeps the first few.
type logSink struct {
	count atomic.Int64
	mu    sync.Mutex
	kept  []string
}

func (s *logSink) Write(p []byte) (int, error) {
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

func (s *logSink) first() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.kept, "\n")
}

// e2eLoad posts events from concurrent senders and records the outcome.
type e2eLoad struct {
	b      *testing.B
	client *http.Client
	url    string
	phase  string // "warm" or "load": the receiver counts only "load"
	rate   int    // offered events/s; 0: unpaced
	start  time.Time

	next      atomic.Int64
	accepted  atomic.Int64
	refused   atomic.Int64 // 429/503 answers, retried
	failed    atomic.Int64
	lastAccNs atomic.Int64 // UnixNano of the latest 202
	mu        sync.Mutex
	postLats  []time.Duration
	pad       string
	padOnce   sync.Once
}

func newE2ELoad(b *testing.B, client *http.Client, url, phase string) *e2eLoad {
	return &e2eLoad{b: b, client: client, url: url, phase: phase}
}

// body returns event n's canonical JSON, padded to about e2eBodySize.
func (l *e2eLoad) body(n int64, sent time.Time) []byte {
	head := fmt.Sprintf(`{"id":"%s-%d","type":"page.viewed","customer":{"id":"c-%d","email":"user%d@example.com"},`+
		`"traits":{"first_name":"Jane","plan":"pro"},"properties":{"phase":%q,"sent_ns":"%d","url":"https://shop.example.com/products/%d",`+
		`"referrer":"https://www.example.org/search?q=shoes","title":"Product page","note":"`,
		l.phase, n, n%e2eCustomers, n%e2eCustomers, l.phase, sent.UnixNano(), n)
	const tail = `"}}`
	l.padOnce.Do(func() { l.pad = strings.Repeat("x", max(0, e2eBodySize-len(head)-len(tail))) })
	return []byte(head + l.pad + tail)
}

// run posts total events from senders goroutines and returns when each has
// been answered 202 (or has failed for good).
func (l *e2eLoad) run(total, senders int) {
	l.start = time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			own := make([]time.Duration, 0, total/senders+1)
			for {
				n := l.next.Add(1)
				if n > int64(total) {
					break
				}
				if d, ok := l.post(n); ok {
					own = append(own, d)
				}
			}
			l.mu.Lock()
			l.postLats = append(l.postLats, own...)
			l.mu.Unlock()
		})
	}
	wg.Wait()
}

// post sends event n until it is accepted, honouring Retry-After (capped)
// on 429 and 503; it returns the latency of the accepted POST. Paced, it
// first waits for the event's scheduled time, which is its send time.
func (l *e2eLoad) post(n int64) (time.Duration, bool) {
	sent := time.Now()
	if l.rate > 0 {
		sent = l.start.Add(time.Duration(n-1) * time.Second / time.Duration(l.rate))
		time.Sleep(time.Until(sent))
	}
	body := l.body(n, sent)
	for {
		start := time.Now()
		resp, err := l.client.Post(l.url, "application/json", bytes.NewReader(body))
		if err != nil {
			l.b.Errorf("event %d: %v", n, err)
			l.failed.Add(1)
			return 0, false
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
			now := time.Now()
			l.accepted.Add(1)
			for {
				last := l.lastAccNs.Load()
				if now.UnixNano() <= last || l.lastAccNs.CompareAndSwap(last, now.UnixNano()) {
					break
				}
			}
			return now.Sub(start), true
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			l.refused.Add(1)
			wait := e2eMaxRetryWait
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
				wait = min(wait, time.Duration(s)*time.Second)
			}
			time.Sleep(wait)
		default:
			l.b.Errorf("event %d: answered %d %s", n, resp.StatusCode, answer)
			l.failed.Add(1)
			return 0, false
		}
	}
}

func (l *e2eLoad) lastAccept() time.Time { return time.Unix(0, l.lastAccNs.Load()) }

func (l *e2eLoad) latencies() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.postLats)
}

// e2eReceiver stands in for the customer's endpoint: it records, per
// message, the time since its event was first posted, and counts repeated
// webhook-ids.
type e2eReceiver struct {
	*httptest.Server
	warm      atomic.Int64
	delivered atomic.Int64

	mu   sync.Mutex
	seen map[string]struct{}
	lats []time.Duration
	dups int
	last time.Time
}

// e2eHook is the part of the webhook plugin's body the receiver reads.
type e2eHook struct {
	Data struct {
		Event struct {
			Properties struct {
				Phase  string `json:"phase"`
				SentNS string `json:"sent_ns"`
			} `json:"properties"`
		} `json:"event"`
	} `json:"data"`
}

func newE2EReceiver(b *testing.B) *e2eReceiver {
	b.Helper()
	rc := &e2eReceiver{seen: map[string]struct{}{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		now := time.Now()
		var h e2eHook
		if err == nil {
			err = json.Unmarshal(raw, &h)
		}
		sent, perr := strconv.ParseInt(h.Data.Event.Properties.SentNS, 10, 64)
		id := r.Header.Get("webhook-id")
		if err != nil || perr != nil || id == "" {
			// A permanent failure: the message is dead-lettered and the
			// benchmark reports it missing.
			http.Error(w, "unreadable message", http.StatusBadRequest)
			return
		}
		if h.Data.Event.Properties.Phase != "load" {
			rc.warm.Add(1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		rc.mu.Lock()
		if _, ok := rc.seen[id]; ok {
			rc.dups++
		} else {
			rc.seen[id] = struct{}{}
			rc.lats = append(rc.lats, now.Sub(time.Unix(0, sent)))
			rc.last = now
			rc.delivered.Add(1)
		}
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rc.Close)
	return rc
}

// waitWarm waits until n warm-up messages have arrived.
func (rc *e2eReceiver) waitWarm(n int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for rc.warm.Load() < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// waitDelivered waits until n unique load messages have arrived or timeout
// passes, and returns how many have.
func (rc *e2eReceiver) waitDelivered(n int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		got := int(rc.delivered.Load())
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type e2eResults struct {
	lats []time.Duration
	dups int
	last time.Time
}

func (rc *e2eReceiver) results() e2eResults {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return e2eResults{lats: slices.Clone(rc.lats), dups: rc.dups, last: rc.last}
}
