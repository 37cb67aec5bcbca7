package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/stats"
	"github.com/triggergate/triggergate/sdk"
)

// count adds to the pass's counters.
func (o *outcome) count(k stats.Key, f func(*stats.Counts)) {
	if o.stats == nil {
		o.stats = stats.Day{}
	}
	o.stats.Count(k, f)
}

// recordDelivery puts a settled message's outcome, which the delivery
// worker appended to the log, in the customer's trace and the counters.
func (e *Engine) recordDelivery(w *work, c *customerRecord, out *outcome) {
	p := w.event.Properties
	str := func(k string) string { s, _ := p[k].(string); return s }
	attempts := 0
	if n, ok := p["attempts"].(float64); ok {
		attempts = int(n)
	}
	k := stats.Key{Trigger: str("trigger"), Step: str("step"), Variant: str("variant"), Channel: str("channel")}
	d := customer.Decision{At: w.event.OccurredAt, Rule: k.Trigger, Step: k.Step, Channel: k.Channel, Variant: k.Variant,
		MessageID: str("message_id"), Outcome: str("outcome")}
	switch d.Outcome {
	case outbox.Delivered:
		d.Detail = "accepted by the provider after " + plural(attempts, "attempt")
		if id := str("provider_id"); id != "" {
			d.Detail += "; provider id " + id
		}
		out.count(k, func(c *stats.Counts) { c.Sent++ })
	case outbox.Failed:
		d.Reason = "dead_lettered"
		d.Detail = fmt.Sprintf("%s after %s", str("reason"), plural(attempts, "attempt"))
		out.count(k, func(c *stats.Counts) { c.Failed++ })
	default:
		return
	}
	c.Decide(d)
	c.dirty = true
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// countEngagement counts the opens, clicks and unsubscribes that email
// tracking reports, on the row of the message they are about.
func (e *Engine) countEngagement(ev *sdk.Event, out *outcome) {
	if ev.SourceKind != "tracking" {
		return
	}
	var f func(*stats.Counts)
	switch ev.Type {
	case "email.opened":
		f = func(c *stats.Counts) { c.Opened++ }
	case "email.clicked":
		f = func(c *stats.Counts) { c.Clicked++ }
	case "email.unsubscribed":
		f = func(c *stats.Counts) { c.Unsubscribed++ }
	default:
		return
	}
	str := func(k string) string { s, _ := ev.Properties[k].(string); return s }
	if str("trigger") == "" {
		return
	}
	out.count(stats.Key{Trigger: str("trigger"), Step: str("step"), Variant: str("variant"), Channel: str("channel")}, f)
}

// statsWrite returns the condition and write that add the pass's counters
// to its partition's key of the day, read now: the partition's owner is
// its only writer, so the condition only fails if ownership moved.
func (e *Engine) statsWrite(ctx context.Context, out *outcome) (clientv3.Cmp, clientv3.Op, bool, error) {
	if len(out.stats) == 0 {
		return clientv3.Cmp{}, clientv3.Op{}, false, nil
	}
	tctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	resp, err := e.store.Client().Get(tctx, out.statsKey)
	cancel()
	if err != nil {
		return clientv3.Cmp{}, clientv3.Op{}, false, fmt.Errorf("reading counters: %w", err)
	}
	day := stats.Day{}
	var rev int64
	if len(resp.Kvs) == 1 {
		rev = resp.Kvs[0].ModRevision
		if err := json.Unmarshal(resp.Kvs[0].Value, &day); err != nil {
			e.logger.Error("counters do not decode; starting them afresh", "key", out.statsKey, "error", err)
			day = stats.Day{}
		}
	}
	day.Merge(out.stats)
	b, err := json.Marshal(day)
	if err != nil {
		return clientv3.Cmp{}, clientv3.Op{}, false, err
	}
	return clientv3.Compare(clientv3.ModRevision(out.statsKey), "=", rev), clientv3.OpPut(out.statsKey, string(b)), true, nil
}
