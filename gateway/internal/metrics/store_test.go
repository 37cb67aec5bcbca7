package metrics_test

import (
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

func TestStoreCollector(t *testing.T) {
	t.Parallel()
	st := storetest.Shared(t)
	if _, err := st.Client().Put(t.Context(), st.Key("dlq", "m-1"), `{}`); err != nil {
		t.Fatal(err)
	}
	h := metrics.Handler(metrics.StoreCollector(st))
	s := scrapeOf(t, h)
	if got := s.value("triggergate_dlq_messages"); got != 1 {
		t.Errorf("dlq_messages = %v, want 1", got)
	}
	if got := s.value("triggergate_etcd_up"); got != 1 {
		t.Errorf("etcd_up = %v, want 1", got)
	}
	if m := s.series("triggergate_etcd_health_seconds"); m == nil || m.GetGauge().GetValue() <= 0 {
		t.Errorf("etcd_health_seconds = %v, want a duration", m)
	}
	// The package's metrics are served beside the store's.
	if s["triggergate_config_version"] == nil {
		t.Error("the package's metrics are missing")
	}

	// A second scrape within the cache period does not read etcd again.
	if _, err := st.Client().Put(t.Context(), st.Key("dlq", "m-2"), `{}`); err != nil {
		t.Fatal(err)
	}
	if got := scrapeOf(t, h).value("triggergate_dlq_messages"); got != 1 {
		t.Errorf("dlq_messages = %v right after a scrape, want the cached 1", got)
	}
	// Another gateway's handler has its own collector and reads afresh.
	if got := scrapeOf(t, metrics.Handler(metrics.StoreCollector(st))).value("triggergate_dlq_messages"); got != 2 {
		t.Errorf("dlq_messages = %v from a new collector, want 2", got)
	}
}
