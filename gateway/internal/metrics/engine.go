package metrics

import (
	"github.com/triggergate/triggergate/gateway/internal/stats"
)

// RecordPass adds a committed pass's counters to engine_fires_total
// (Queued, by trigger, step and channel) and engine_suppressed_total (by
// trigger and reason). Call it only after the pass's transaction has
// committed: a pass that is retried is counted once, by its last run.
// Variants are left out to keep the series few; the KPIs have them.
func RecordPass(day stats.Day) {
	for ks, c := range day {
		if c == nil || (c.Queued == 0 && len(c.Suppressed) == 0) {
			continue
		}
		k := stats.ParseKey(ks)
		if c.Queued > 0 {
			engineFires.WithLabelValues(k.Trigger, k.Step, k.Channel).Add(float64(c.Queued))
		}
		for reason, n := range c.Suppressed {
			if n > 0 {
				engineSuppressed.WithLabelValues(k.Trigger, reason).Add(float64(n))
			}
		}
	}
}
