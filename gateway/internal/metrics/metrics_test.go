package metrics_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/stats"
)

func TestHandlerServesRuntimeCollectors(t *testing.T) {
	t.Parallel()
	s := get(t)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "triggergate_config_version"} {
		if s[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
}

func TestSetConfigVersion(t *testing.T) {
	t.Parallel()
	metrics.SetConfigVersion(42)
	if got := get(t).value("triggergate_config_version"); got != 42 {
		t.Fatalf("config_version = %v, want 42", got)
	}
}

// broken is a collector that cannot be registered.
type broken struct{}

func (broken) Describe(ch chan<- *prometheus.Desc) {
	ch <- prometheus.NewInvalidDesc(errors.New("broken on purpose"))
}
func (broken) Collect(chan<- prometheus.Metric) {}

func TestHandlerSurvivesABrokenExtraCollector(t *testing.T) {
	t.Parallel()
	h := metrics.Handler(broken{})
	before := get(t).value("promhttp_metric_handler_errors_total", "cause", "gathering")
	s := scrapeOf(t, h) // fails the test unless it answers 200 with metrics
	if s["triggergate_config_version"] == nil {
		t.Fatal("a broken extra collector hid the package's metrics")
	}
	// The error is counted once the failed scrape is over.
	if after := get(t).value("promhttp_metric_handler_errors_total", "cause", "gathering"); after <= before {
		t.Fatalf("gathering errors %v -> %v: the broken collector went unreported", before, after)
	}
	// Many handlers in one process (several gateways in a test) neither
	// panic nor disturb each other.
	for range 3 {
		scrapeOf(t, metrics.Handler(broken{}))
	}
}

func TestRecordPass(t *testing.T) {
	t.Parallel()
	day := stats.Day{}
	// Names with the characters stats.Key escapes come out as configured.
	odd := stats.Key{Trigger: "rp|cart", Step: "a/b", Variant: "v%1", Channel: "email"}
	plain := stats.Key{Trigger: "rp-welcome", Step: "default", Channel: "sms"}
	day.Count(odd, func(c *stats.Counts) { c.Queued = 2; c.Sent = 7 })
	day.Count(plain, func(c *stats.Counts) {
		c.Queued = 1
		c.Suppressed = map[string]int64{"consent": 1, "frequency_cap": 3}
	})
	// A pass's suppressed fires have no channel.
	day.Count(stats.Key{Trigger: "rp-welcome", Step: "default"}, func(c *stats.Counts) {
		c.Suppressed = map[string]int64{"consent": 2}
	})
	before := get(t)
	metrics.RecordPass(day)
	metrics.RecordPass(day) // a second committed pass adds up

	s := get(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"triggergate_engine_fires_total", []string{"trigger", "rp|cart", "step", "a/b", "channel", "email"}, 4},
		{"triggergate_engine_fires_total", []string{"trigger", "rp-welcome", "step", "default", "channel", "sms"}, 2},
		{"triggergate_engine_suppressed_total", []string{"trigger", "rp-welcome", "reason", "consent"}, 6},
		{"triggergate_engine_suppressed_total", []string{"trigger", "rp-welcome", "reason", "frequency_cap"}, 6},
	} {
		if got := s.value(c.name, c.labels...) - before.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if m := s.series("triggergate_engine_fires_total", "trigger", "rp-welcome", "channel", ""); m != nil {
		t.Errorf("suppressed fires counted as fires: %v", m)
	}
}
