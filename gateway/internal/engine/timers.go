package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/sdk"
)

// Timers live in etcd under timers/<partition>/<due>/<customer>/<rule>/<id>,
// due being Unix milliseconds padded to 16 digits, so that a partition's
// timers sort by due time and the due ones are one range read. The
// customer record lists the same timers (Timers[rule][id]); both change in
// the transaction that consumes the evaluation which set them, and a fired
// timer's key is deleted in the transaction that commits its evaluation,
// fenced like every commit: a timer fires once, on whichever node owns the
// partition when it comes due.

// TimerFired is the type of the internal event a due timer produces.
const TimerFired = sdk.TimerFired

// DefaultTimerLateness is how late a timer may fire (after the gateway was
// down, say) before it is dropped instead, unless WithTimerLateness says
// otherwise.
const DefaultTimerLateness = 24 * time.Hour

// timerValue is what a timer key holds.
type timerValue struct {
	Customer string    `json:"customer"`
	Rule     string    `json:"rule"`
	Timer    sdk.Timer `json:"timer"`
}

// dueTimer is a timer read from etcd because it is due.
type dueTimer struct {
	key         string
	modRevision int64
	timerValue
}

func (e *Engine) timerPrefix(partition int) string {
	if partition < 0 {
		return e.store.Key("timers") + "/"
	}
	return fmt.Sprintf("%s/%03d/", e.store.Key("timers"), partition)
}

// timerKey is the etcd key of a customer's timer.
func (e *Engine) timerKey(partition int, customerKey, rule string, t sdk.Timer) string {
	return fmt.Sprintf("%s%016d/%s/%s/%s", e.timerPrefix(partition), max(t.At.UnixMilli(), 0),
		url.PathEscape(customerKey), url.PathEscape(rule), url.PathEscape(t.ID))
}

// dueBound is the end of the range of a partition's timers (under prefix)
// due at or before t.
func dueBound(prefix string, t time.Time) string {
	return fmt.Sprintf("%s%016d", prefix, max(t.UnixMilli(), 0)+1)
}

// putTimer writes a timer's key, in the pass's commit.
func (e *Engine) putTimer(partition int, customerKey, rule string, t sdk.Timer, out *outcome) error {
	v, err := json.Marshal(timerValue{Customer: customerKey, Rule: rule, Timer: t})
	if err != nil {
		return err
	}
	out.writes.put(e.timerKey(partition, customerKey, rule, t), string(v))
	return nil
}

// read takes what a pass works on, in one etcd round trip: up to limit
// pending log entries of a partition and up to limit of its
// timers that are due now. It returns the revision it read at.
func (e *Engine) read(ctx context.Context, partition, limit int) ([]eventlog.Entry, []dueTimer, int64, error) {
	logOp, err := e.log.PendingOp(partition, limit)
	if err != nil {
		return nil, nil, 0, err
	}
	now := e.now()
	prefix := e.timerPrefix(partition)
	end := dueBound(prefix, now)
	timerOp := clientv3.OpGet(prefix, clientv3.WithRange(end), clientv3.WithLimit(int64(limit)))
	rctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	defer cancel()
	resp, err := e.store.Client().Txn(rctx).Then(logOp, timerOp).Commit()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("reading the event log and due timers: %w", err)
	}
	entries := e.log.DecodePending(resp.Responses[0].GetResponseRange().Kvs)
	var timers []dueTimer
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		d := dueTimer{key: string(kv.Key), modRevision: kv.ModRevision}
		if err := json.Unmarshal(kv.Value, &d.timerValue); err != nil || d.Customer == "" || d.Rule == "" {
			// Not ours to interpret: drop it rather than block the
			// partition (it is logged, and deleted with the pass).
			e.logger.Error("timer record does not decode; deleting it", "key", d.key, "error", err)
			d.timerValue = timerValue{}
		}
		timers = append(timers, d)
	}
	return entries, timers, resp.Header.Revision, nil
}

// nextTimer returns when the partition's earliest timer is due, if any
// is due before until (zero: whenever). A bound matters: etcd counts every
// key of a range even under a limit, so an unbounded look at a partition
// holding many far-off timers costs a walk over all of them.
func (e *Engine) nextTimer(ctx context.Context, partition int, until time.Time) (time.Time, bool) {
	rctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	defer cancel()
	prefix := e.timerPrefix(partition)
	end := clientv3.GetPrefixRangeEnd(prefix)
	if !until.IsZero() {
		end = dueBound(prefix, until)
	}
	resp, err := e.store.Client().Get(rctx, prefix, clientv3.WithRange(end), clientv3.WithLimit(1), clientv3.WithKeysOnly())
	if err != nil || len(resp.Kvs) == 0 {
		return time.Time{}, false
	}
	due, _, _ := strings.Cut(strings.TrimPrefix(string(resp.Kvs[0].Key), prefix), "/")
	ms, err := strconv.ParseInt(due, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// timerEvent is the internal event a timer fires with.
func timerEvent(d *dueTimer, profile sdk.Profile, now time.Time) sdk.Event {
	h := sha256.Sum256([]byte(d.Customer + "\x00" + d.Rule + "\x00" + d.Timer.ID + "\x00" + d.Timer.At.UTC().Format(time.RFC3339Nano)))
	return sdk.Event{
		ID: "tmr_" + hex.EncodeToString(h[:12]), Type: TimerFired, Source: "internal", SourceKind: "internal",
		OccurredAt: d.Timer.At.UTC(), ReceivedAt: now, Customer: profile.Customer,
		Properties: map[string]any{"rule": d.Rule, "timer_id": d.Timer.ID},
	}
}

// writes collects a pass's key writes so that a key written twice (a
// timer fired and set again, set then cancelled) is one operation: etcd
// refuses a transaction that names a key twice.
type writes struct {
	order []string
	ops   map[string]clientv3.Op
}

func (w *writes) put(key, value string) { w.set(key, clientv3.OpPut(key, value)) }
func (w *writes) del(key string)        { w.set(key, clientv3.OpDelete(key)) }

func (w *writes) set(key string, op clientv3.Op) {
	if w.ops == nil {
		w.ops = map[string]clientv3.Op{}
	}
	if _, ok := w.ops[key]; !ok {
		w.order = append(w.order, key)
	}
	w.ops[key] = op
}

func (w *writes) list() []clientv3.Op {
	out := make([]clientv3.Op, 0, len(w.order))
	for _, k := range w.order {
		out = append(out, w.ops[k])
	}
	return out
}
