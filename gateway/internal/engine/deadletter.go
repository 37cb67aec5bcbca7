package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// DeadLetter is a dead-lettered event as stored, with its key's id.
type DeadLetter struct {
	// ID names the record: the event id, with ".<rule>" when only one
	// rule failed on the event.
	ID string `json:"id"`
	DeadEvent
}

// ErrPartlyProcessed refuses to requeue an event that only one rule failed
// on: the other rules processed it already, and would again.
var ErrPartlyProcessed = errors.New("other rules processed this event already; requeueing it would process it twice for them")

func deadLetterPrefix(st *store.Store) string { return st.Key("deadletter", "events") + "/" }

// ListDeadLetters returns every dead-lettered event, oldest key first.
func ListDeadLetters(ctx context.Context, st *store.Store) ([]DeadLetter, error) {
	resp, err := st.Client().Get(ctx, deadLetterPrefix(st), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		id, _ := url.PathUnescape(strings.TrimPrefix(string(kv.Key), deadLetterPrefix(st)))
		d := DeadLetter{ID: id}
		if err := json.Unmarshal(kv.Value, &d.DeadEvent); err != nil {
			d.Error = "record does not decode: " + err.Error()
		}
		out = append(out, d)
	}
	return out, nil
}

// Requeue puts a dead-lettered event back into the event log, where its
// partition's owner processes it again, and removes the record, in one
// transaction. The event keeps its id; its delivery's dedupe record is not
// consulted, since the delivery was accepted before. With force, an event
// that only one rule failed on is requeued too (see ErrPartlyProcessed).
func Requeue(ctx context.Context, st *store.Store, lg *eventlog.Log, id string, force bool) error {
	recKey := deadLetterPrefix(st) + url.PathEscape(id)
	resp, err := st.Client().Get(ctx, recKey)
	if err != nil {
		return fmt.Errorf("reading dead letter %s: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("no dead letter %q", id)
	}
	var d DeadEvent
	if err := json.Unmarshal(resp.Kvs[0].Value, &d); err != nil {
		return fmt.Errorf("dead letter %s does not decode: %w", id, err)
	}
	if d.Rule != "" && !force {
		return fmt.Errorf("dead letter %s (rule %q): %w", id, d.Rule, ErrPartlyProcessed)
	}
	ck := d.Event.Customer.Key()
	if d.Event.ID == "" || ck == "" {
		return fmt.Errorf("dead letter %s holds no processable event (%s)", id, d.Error)
	}
	data, err := json.Marshal(d.Event)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", d.Event.ID, err)
	}
	logKey := lg.Prefix(lg.Partition(ck)) + d.Event.ID
	txn, err := st.Client().Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(recKey), "=", resp.Kvs[0].ModRevision),
		clientv3.Compare(clientv3.CreateRevision(logKey), "=", 0),
	).Then(clientv3.OpPut(logKey, string(data)), clientv3.OpDelete(recKey)).Commit()
	if err != nil {
		return fmt.Errorf("requeueing %s: %w", id, err)
	}
	if !txn.Succeeded {
		return fmt.Errorf("requeueing %s: the record changed or the event is already in the log", id)
	}
	return nil
}
