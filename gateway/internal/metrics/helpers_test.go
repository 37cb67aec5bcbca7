package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pluginhosttest.Cleanup()
	storetest.CloseShared()
	os.Exit(code)
}

// scrape is what one GET /metrics served, parsed.
type scrape map[string]*dto.MetricFamily

// scrapeOf GETs /metrics from h and parses the text format.
func scrapeOf(t testing.TB, h http.Handler) scrape {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics answered %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics Content-Type = %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// get scrapes the package's metrics.
func get(t testing.TB) scrape { t.Helper(); return scrapeOf(t, metrics.Handler()) }

// series returns the series of family name whose labels include labels,
// or nil.
func (s scrape) series(name string, labels ...string) *dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	for _, m := range f.Metric {
		if hasLabels(m, labels) {
			return m
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.Label {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// value returns a counter's or gauge's value (0 when the series is
// absent), or a histogram's sample count.
func (s scrape) value(name string, labels ...string) float64 {
	m := s.series(name, labels...)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return m.Untyped.GetValue()
}

// sum returns a histogram's sample sum (0 when absent).
func (s scrape) sum(name string, labels ...string) float64 {
	m := s.series(name, labels...)
	if m == nil || m.Histogram == nil {
		return 0
	}
	return m.Histogram.GetSampleSum()
}
