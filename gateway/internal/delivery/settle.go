package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
)

// deliveredAll removes the delivered messages of a batch, with their
// delivery records, in one transaction: one etcd write (and one disk sync)
// for the batch rather than one per message. If any entry changed
// meanwhile, each is settled on its own so that the others still are.
func (w *Worker) deliveredAll(ctx context.Context, ps []pending, providerIDs []string) {
	if len(ps) == 0 {
		return
	}
	if len(ps) > 1 {
		cmps := make([]clientv3.Cmp, len(ps))
		var ops []clientv3.Op
		for i, p := range ps {
			cmps[i] = clientv3.Compare(clientv3.ModRevision(p.key), "=", p.rev)
			ops = append(ops, clientv3.OpDelete(p.key))
			ops = append(ops, w.record(p.entry, outbox.Delivered, providerIDs[i], "", p.entry.Attempts+1)...)
		}
		tctx, cancel := context.WithTimeout(ctx, w.opTimeout)
		resp, err := w.store.Client().Txn(tctx).If(cmps...).Then(ops...).Commit()
		cancel()
		if err == nil && resp.Succeeded {
			for i, p := range ps {
				w.logDelivered(p, providerIDs[i])
			}
			return
		}
	}
	for i, p := range ps {
		w.delivered(ctx, p, providerIDs[i])
	}
}

func (w *Worker) delivered(ctx context.Context, p pending, providerID string) {
	ops := append([]clientv3.Op{clientv3.OpDelete(p.key)}, w.record(p.entry, outbox.Delivered, providerID, "", p.entry.Attempts+1)...)
	if w.guarded(ctx, p, ops...) {
		w.logDelivered(p, providerID)
	}
}

// record returns the write that appends a message's delivery record to
// its customer's partition log (none without WithRecords, or for an entry
// without a customer).
func (w *Worker) record(e *outbox.Entry, outcome, providerID, reason string, attempts int) []clientv3.Op {
	if w.records == nil {
		return nil
	}
	ev, ok := outbox.DeliveryEvent(e, outcome, providerID, reason, attempts, w.now())
	if !ok {
		return nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		w.logger.Error("cannot encode delivery record", "message_id", e.Message.ID, "error", err)
		return nil
	}
	return []clientv3.Op{clientv3.OpPut(w.records.Prefix(e.Partition)+ev.ID, string(b))}
}

// countSettled counts a settled attempt in deliveries_total, under the
// channel's name if it is configured: an outbox entry left by an older
// configuration must not create series.
func (w *Worker) countSettled(channel, outcome string) {
	if _, ok := w.lanes[channel]; !ok {
		channel = metrics.Unknown
	}
	metrics.Delivery(channel, outcome)
}

// logDelivered logs and counts a message whose delivery was recorded.
func (w *Worker) logDelivered(p pending, providerID string) {
	w.countSettled(p.entry.Channel, metrics.Delivered)
	w.logger.Info("message delivered", "message_id", p.entry.Message.ID, "channel", p.entry.Channel,
		"trigger", p.entry.Message.Trigger, "step", p.entry.Message.Step, "attempt", p.entry.Attempts+1,
		"provider_id", providerID)
}

// retry reschedules a message after a retryable failure, or dead-letters
// it when it is out of attempts or past its age.
func (w *Worker) retry(ctx context.Context, policy Policy, p pending, reason string, retryAfter time.Duration) {
	e := *p.entry
	e.Attempts++
	e.LastError = reason
	now := w.now()
	if e.Attempts >= policy.MaxAttempts {
		w.deadLetter(ctx, pending{key: p.key, rev: p.rev, entry: &e}, fmt.Sprintf("gave up after %d attempts: %s", e.Attempts, reason))
		return
	}
	deadline := e.Message.CreatedAt.Add(policy.MaxAge)
	if policy.MaxAge > 0 && !now.Before(deadline) {
		w.deadLetter(ctx, pending{key: p.key, rev: p.rev, entry: &e},
			fmt.Sprintf("gave up after %d attempts over %s: %s", e.Attempts, policy.MaxAge, reason))
		return
	}
	delay := policy.Delay(e.Attempts, retryAfter)
	e.NextAttemptAt = now.Add(delay)
	if policy.MaxAge > 0 && e.NextAttemptAt.After(deadline) {
		e.NextAttemptAt = deadline // one last try at the deadline
	}
	v, err := e.Encode()
	if err != nil {
		w.logger.Error("cannot reschedule message", "message_id", e.Message.ID, "error", err)
		return
	}
	if !w.guarded(ctx, p, clientv3.OpPut(p.key, v)) {
		return
	}
	w.countSettled(e.Channel, metrics.Retry)
	w.logger.Warn("delivery failed; will retry", "message_id", e.Message.ID, "channel", e.Channel,
		"attempt", e.Attempts, "retry_in", e.NextAttemptAt.Sub(now).Round(time.Millisecond), "error", reason)
}

func (w *Worker) deadLetter(ctx context.Context, p pending, reason string) {
	d := outbox.DeadLetter{Entry: *p.entry, Reason: reason, At: w.now().UTC()}
	b, err := json.Marshal(d)
	if err != nil {
		w.logger.Error("cannot encode dead letter", "message_id", p.entry.Message.ID, "error", err)
		return
	}
	ops := []clientv3.Op{clientv3.OpDelete(p.key), clientv3.OpPut(w.store.Key("dlq", p.entry.Message.ID), string(b))}
	ops = append(ops, w.record(p.entry, outbox.Failed, "", reason, p.entry.Attempts)...)
	if w.guarded(ctx, p, ops...) {
		w.countSettled(p.entry.Channel, metrics.DeadLettered)
		w.logger.Error("message dead-lettered", "message_id", p.entry.Message.ID, "channel", p.entry.Channel, "reason", reason)
	}
}

// settleRaw moves an undecodable outbox value to the DLQ as it is.
func (w *Worker) settleRaw(ctx context.Context, key string, rev int64, value []byte, reason string) {
	b, _ := json.Marshal(map[string]any{"key": key, "raw": string(value), "reason": reason, "at": w.now().UTC()})
	if w.guarded(ctx, pending{key: key, rev: rev}, clientv3.OpDelete(key),
		clientv3.OpPut(w.store.Key("dlq", "undecodable", fmt.Sprint(rev)), string(b))) {
		metrics.Delivery(metrics.Unknown, metrics.DeadLettered)
	}
}

// guarded applies ops if the entry is unchanged since it was read.
func (w *Worker) guarded(ctx context.Context, p pending, ops ...clientv3.Op) bool {
	tctx, cancel := context.WithTimeout(ctx, w.opTimeout)
	defer cancel()
	resp, err := w.store.Client().Txn(tctx).
		If(clientv3.Compare(clientv3.ModRevision(p.key), "=", p.rev)).Then(ops...).Commit()
	switch {
	case err != nil:
		if !errors.Is(err, context.Canceled) {
			w.logger.Error("recording delivery outcome failed; the message will be retried", "key", p.key, "error", err)
		}
		return false
	case !resp.Succeeded:
		w.logger.Debug("outbox entry changed underneath; skipping", "key", p.key)
		return false
	}
	return true
}
