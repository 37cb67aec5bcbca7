package metrics

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// gathered returns the value of each of c's metrics, by name.
func gathered(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		out[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
	}
	return out
}

func TestStoreCollectorCachesThenRefreshes(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	clock := &fakeClock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	c := &storeCollector{st: st, now: clock.Now}
	put := func(id string) {
		t.Helper()
		if _, err := st.Client().Put(t.Context(), st.Key("dlq", id), `{}`); err != nil {
			t.Fatal(err)
		}
	}
	put("a")
	if got := gathered(t, c)["triggergate_dlq_messages"]; got != 1 {
		t.Fatalf("dlq_messages = %v, want 1", got)
	}
	put("b")
	clock.Add(storeCacheFor - time.Millisecond)
	if got := gathered(t, c)["triggergate_dlq_messages"]; got != 1 {
		t.Fatalf("dlq_messages = %v within the cache period, want the cached 1", got)
	}
	clock.Add(time.Millisecond)
	if got := gathered(t, c)["triggergate_dlq_messages"]; got != 2 {
		t.Fatalf("dlq_messages = %v after the cache period, want 2", got)
	}

	// etcd gone: down, and no DLQ size rather than a stale one; the
	// scrape stays within its bound.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	clock.Add(storeCacheFor)
	start := time.Now()
	got := gathered(t, c)
	if took := time.Since(start); took > storeScrapeTimeout+time.Second {
		t.Errorf("a scrape with etcd gone took %v, want at most about %v", took, storeScrapeTimeout)
	}
	if got["triggergate_etcd_up"] != 0 {
		t.Errorf("etcd_up = %v with etcd closed, want 0", got["triggergate_etcd_up"])
	}
	if v, ok := got["triggergate_dlq_messages"]; ok {
		t.Errorf("dlq_messages = %v with etcd closed, want it left out", v)
	}
	if n := len(got); n != 2 {
		t.Errorf("%d metrics with etcd closed, want etcd_up and etcd_health_seconds", n)
	}
}
