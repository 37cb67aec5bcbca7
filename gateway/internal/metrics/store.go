package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/triggergate/triggergate/gateway/internal/dlq"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// Bounds on the reads a scrape makes of etcd.
const (
	// storeScrapeTimeout bounds one refresh: a scrape must not hang on a
	// sick etcd, and Prometheus' default scrape timeout is 10s.
	storeScrapeTimeout = 2 * time.Second
	// storeCacheFor is how long a refresh serves later scrapes, so that a
	// storm of scrapes reads etcd at most once per period.
	storeCacheFor = 5 * time.Second
)

var (
	dlqMessagesDesc = prometheus.NewDesc(namespace+"_dlq_messages",
		"Messages in the dead-letter queue.", nil, nil)
	etcdUpDesc = prometheus.NewDesc(namespace+"_etcd_up",
		"1 when etcd serves linearizable reads and raises no alarm, else 0.", nil, nil)
	etcdHealthSecondsDesc = prometheus.NewDesc(namespace+"_etcd_health_seconds",
		"Duration of the last etcd health check (a linearizable read and an alarm list).", nil, nil)
)

// storeCollector reads the DLQ size and etcd's health when scraped.
type storeCollector struct {
	st  *store.Store
	now func() time.Time

	// mu is held across a refresh, so that concurrent scrapes wait for
	// it and share its result rather than each reading etcd.
	mu      sync.Mutex
	at      time.Time // of the last refresh; zero before the first
	up      bool
	health  time.Duration
	dlq     int64
	dlqRead bool // the last refresh counted the DLQ
}

var _ prometheus.Collector = (*storeCollector)(nil)

// StoreCollector returns the collector of one gateway's store:
// dlq_messages, etcd_up and etcd_health_seconds. Each scrape is bounded by
// 2s and its result is reused for 5s. Pass it to Handler.
func StoreCollector(st *store.Store) prometheus.Collector {
	return &storeCollector{st: st, now: time.Now}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dlqMessagesDesc
	ch <- etcdUpDesc
	ch <- etcdHealthSecondsDesc
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || c.now().Sub(c.at) >= storeCacheFor {
		c.refresh()
	}
	up := 0.0
	if c.up {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(etcdUpDesc, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(etcdHealthSecondsDesc, prometheus.GaugeValue, c.health.Seconds())
	if c.dlqRead {
		// Left out when it could not be counted, rather than reported as
		// a stale or zero value.
		ch <- prometheus.MustNewConstMetric(dlqMessagesDesc, prometheus.GaugeValue, float64(c.dlq))
	}
}

// refresh reads etcd's health and the DLQ size; c.mu is held.
func (c *storeCollector) refresh() {
	// prometheus.Collector's Collect takes no context, so the scrape's
	// bound starts here.
	ctx, cancel := context.WithTimeout(context.Background(), storeScrapeTimeout)
	defer cancel()
	start := time.Now()
	err := c.st.Ready(ctx)
	c.health = time.Since(start)
	c.up = err == nil
	c.dlqRead = false
	if n, err := dlq.Count(ctx, c.st); err == nil {
		c.dlq, c.dlqRead = n, true
	}
	c.at = c.now()
}
