// Package metrics holds the gateway's Prometheus metrics and serves them
// at /metrics in the text format.
//
// Metrics that count or time what the gateway does (ingest, commits,
// plugin calls, fires, deliveries) are package-level collectors on one
// registry of this package, not Prometheus' global one, with the Go and
// process collectors beside them. The packages that do the work update
// them through the small functions below, which keep label names in one
// place. Several gateways in one process (tests) simply add up.
//
// Metrics that read state when scraped (the DLQ size, etcd's health)
// belong to one gateway and are built per handler: see Handler and
// StoreCollector.
//
// Label values come only from configuration names (source, trigger,
// channel and plugin names, policy reasons, partitions), never from
// request paths or payloads, so that no sender can create series.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// namespace prefixes every metric name.
const namespace = "triggergate"

// Unknown is the label value of a source or channel name that is not
// configured: senders cannot choose label values.
const Unknown = "unknown"

// Delivery outcomes, the values of deliveries_total's outcome label.
const (
	// Delivered: the provider accepted the message.
	Delivered = "delivered"
	// Retry: the send failed and the message was rescheduled.
	Retry = "retry"
	// DeadLettered: the message moved to the dead-letter queue.
	DeadLettered = "dead_lettered"
)

// registry holds the package-level collectors. It is filled once, at
// package initialisation, so registration can never happen twice.
var registry = prometheus.NewRegistry()

var (
	ingestRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "ingest_requests_total",
		Help: "Webhook deliveries received, by source and HTTP status answered.",
	}, []string{"source", "status"})
	ingestEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "ingest_events_total",
		Help: "Events accepted (committed new) from webhook deliveries, by source.",
	}, []string{"source"})
	commitBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "eventlog_commit_batch_size",
		Help: "Events per event-log commit transaction (group commit), failed commits included.",
		// Up to MaxBatchEvents (64) events share a transaction.
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})
	commitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: "eventlog_commit_seconds",
		Help: "Time to commit one event-log batch to etcd, retries and failed commits included.",
		// etcd commits take a few milliseconds; 0.5ms to ~4s.
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	backlogEvents = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "backlog_events",
		Help: "Events accepted but not yet processed, by partition, as last counted.",
	}, []string{"partition"})
	pluginCallSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "plugin_call_seconds",
		Help: "Duration of calls to plugin processes, by plugin and method, failed calls included.",
		// 0.25ms to ~16s: local gRPC is fast, a channel's provider is not.
		Buckets: prometheus.ExponentialBuckets(0.00025, 4, 9),
	}, []string{"plugin", "method"})
	pluginRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "plugin_restarts_total",
		Help: "Plugin processes found dead and restarted, by plugin.",
	}, []string{"plugin"})
	engineFires = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "engine_fires_total",
		Help: "Fires that passed every policy and were queued for delivery, by trigger, step and channel.",
	}, []string{"trigger", "step", "channel"})
	engineSuppressed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "engine_suppressed_total",
		Help: "Fires held back by a policy, by trigger and reason.",
	}, []string{"trigger", "reason"})
	deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "deliveries_total",
		Help: "Delivery attempts settled, by channel and outcome (delivered, retry, dead_lettered).",
	}, []string{"channel", "outcome"})
	configVersion = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "config_version",
		Help: "Version of the configuration this gateway serves.",
	})
)

func init() {
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		ingestRequests, ingestEvents, commitBatchSize, commitSeconds, backlogEvents,
		pluginCallSeconds, pluginRestarts, engineFires, engineSuppressed, deliveries, configVersion,
	)
}

// Handler serves the package's metrics plus extra (per-gateway collectors
// such as StoreCollector) in the Prometheus text format. Each call builds
// its own registry for extra, so two gateways in one process can each have
// a handler. A collector that cannot be registered, or fails when scraped,
// does not take the others down: the scrape serves what it can and counts
// the error in promhttp_metric_handler_errors_total.
func Handler(extra ...prometheus.Collector) http.Handler {
	gatherers := prometheus.Gatherers{registry}
	for _, c := range extra {
		reg := prometheus.NewRegistry()
		if err := reg.Register(c); err != nil {
			gatherers = append(gatherers, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return nil, err }))
			continue
		}
		gatherers = append(gatherers, reg)
	}
	return promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		// The handler's error counter lives in the package registry;
		// promhttp reuses it when it is registered already.
		Registry: registry,
	})
}

// SetConfigVersion records the configuration version now served.
func SetConfigVersion(id int64) { configVersion.Set(float64(id)) }

// ObserveCommit records one event-log commit of events that took took.
func ObserveCommit(events int, took time.Duration) {
	commitBatchSize.Observe(float64(events))
	commitSeconds.Observe(took.Seconds())
}

// SetBacklog records the pending events last counted in a partition.
func SetBacklog(partition int, pending int64) {
	backlogEvents.WithLabelValues(strconv.Itoa(partition)).Set(float64(pending))
}

// ObservePluginCall records one call to a plugin process.
func ObservePluginCall(plugin, method string, took time.Duration) {
	pluginCallSeconds.WithLabelValues(plugin, method).Observe(took.Seconds())
}

// PluginRestarted counts a plugin process found dead and restarted.
func PluginRestarted(plugin string) { pluginRestarts.WithLabelValues(plugin).Inc() }

// Delivery counts a settled delivery attempt. channel must be a configured
// channel's name (Unknown otherwise); outcome is Delivered, Retry or
// DeadLettered.
func Delivery(channel, outcome string) { deliveries.WithLabelValues(channel, outcome).Inc() }
