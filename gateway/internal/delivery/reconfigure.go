package delivery

import (
	"reflect"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/tracking"
)

// Setup is what a configuration gives the worker: its channels, templates,
// email tracking and the timezone for customers without one.
type Setup struct {
	Channels        map[string]Channel
	Templates       map[string]*render.Template
	Links           *tracking.Links // nil: no tracking
	DefaultLocation *time.Location
}

// Reconfigure switches the worker to a new setup. It waits for the passes
// and sends under way to end, so that once it returns nothing uses the old
// channels' plugins (their host may be closed). A channel that keeps its
// name and its limits keeps its rate limiter and circuit breaker; a
// channel that is gone leaves its queued messages to be dead-lettered
// ("not configured"), from where `dlq retry` sends them once it is back.
func (w *Worker) Reconfigure(s Setup) {
	w.setupMu.Lock()
	defer w.setupMu.Unlock()
	// Passes are held off; sends started by earlier passes run without the
	// lock and are waited for here.
	w.inflight.Wait()
	lanes := make(map[string]*lane, len(s.Channels))
	for name, ch := range s.Channels {
		if old, ok := w.lanes[name]; ok && sameLimits(old.Channel, ch) {
			old.Channel = ch
			lanes[name] = old
			continue
		}
		lanes[name] = newLane(ch, w.policy)
	}
	w.lanes, w.templates, w.links, w.defaultLoc = lanes, s.Templates, s.Links, s.DefaultLocation
}

// sameLimits reports whether a channel's pacing and retry settings are
// unchanged, so that its lane's state (tokens, breaker) carries over.
func sameLimits(a, b Channel) bool {
	return a.Limits == b.Limits && reflect.DeepEqual(a.Retry, b.Retry)
}
