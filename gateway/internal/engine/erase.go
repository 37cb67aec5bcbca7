package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// EraseType is the internal event that erases a customer (GDPR): it goes
// through the event log like any event, so the partition's owner applies
// it in order with the customer's other events, fenced like every commit.
const EraseType = "triggergate.erase"

// Erase asks for a customer to be erased: their record (profile, consent,
// rule state, decision trace), their timers and their messages still
// waiting in the outbox. Events accepted after it start a new record. It
// returns the id of the erase event, once committed to the log.
func Erase(ctx context.Context, lg *eventlog.Log, customerKey string, now time.Time) (string, error) {
	c, err := sdk.ParseCustomerKey(customerKey)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(customerKey + "\x00" + now.UTC().Format(time.RFC3339Nano)))
	ev := sdk.Event{
		ID: "erase_" + hex.EncodeToString(h[:12]), Type: EraseType, Source: "admin", SourceKind: "internal",
		OccurredAt: now.UTC(), ReceivedAt: now.UTC(), Customer: c,
	}
	res, err := lg.Append(ctx, "admin", []sdk.Event{ev}, 0)
	if err != nil {
		return "", fmt.Errorf("queueing the erasure of %s: %w", customerKey, err)
	}
	return res.EventIDs[0], nil
}

// erase applies an erase event: the record goes, with its timers, the
// customer's waiting messages and their dead-lettered ones.
func (e *Engine) erase(ctx context.Context, w *work, c *customerRecord, out *outcome) error {
	partition := e.log.Partition(w.key)
	for rule, ts := range c.Timers {
		for _, t := range ts {
			out.writes.del(e.timerKey(partition, w.key, rule, t))
		}
	}
	prefix := e.store.Key(outbox.KeyParts(partition, "")...)
	rctx, cancel := context.WithTimeout(ctx, e.opTimeout)
	resp, err := e.store.Client().Get(rctx, prefix, clientv3.WithPrefix())
	cancel()
	if err != nil {
		return fmt.Errorf("reading the outbox to erase %s: %w", w.key, err)
	}
	// Dead-lettered messages hold the customer's data too: they go as
	// well (the queue is small, and erasures are rare).
	rctx, cancel = context.WithTimeout(ctx, e.opTimeout)
	dead, err := e.store.Client().Get(rctx, e.store.Key("dlq")+"/", clientv3.WithPrefix())
	cancel()
	if err != nil {
		return fmt.Errorf("reading the dead-letter queue to erase %s: %w", w.key, err)
	}
	dropped := 0
	for _, kv := range append(resp.Kvs, dead.Kvs...) {
		var m struct {
			Customer string `json:"customer"`
		}
		if json.Unmarshal(kv.Value, &m) == nil && m.Customer == w.key {
			out.writes.del(string(kv.Key))
			dropped++
		}
	}
	// Messages this pass queued for the customer before the erasure.
	kept := out.messages[:0]
	for _, m := range out.messages {
		if m.Customer != w.key {
			kept = append(kept, m)
		}
	}
	out.messages = kept
	*c = customerRecord{Key: c.Key, modRevision: c.modRevision, dirty: true, erased: true}
	e.logger.Info("customer erased", "customer", w.key, "event_id", w.event.ID, "pending_messages_dropped", dropped)
	return nil
}

// CustomerView is a customer's record as stored, for operators: the
// profile, consent, suppressions, recent sends, the decision trace, each
// rule's state (as the plugin encoded it) and pending timers.
type CustomerView struct {
	Key string `json:"key"`
	customer.Record
	Rules  map[string]string               `json:"rules,omitempty"`
	Timers map[string]map[string]sdk.Timer `json:"timers,omitempty"`
}

// ErrNoCustomer means no record exists under the key.
var ErrNoCustomer = errors.New("no such customer")

// ReadCustomer returns the stored record of a customer. A key with no
// record of its own is looked up in the identity index, so any identifier
// of a customer finds their record ("email:jane@example.com" finds the
// account it merged into); the view's Key is the record's.
func ReadCustomer(ctx context.Context, st *store.Store, customerKey string) (*CustomerView, error) {
	resp, err := st.Client().Get(ctx, st.Key("customers", url.PathEscape(customerKey)))
	if err != nil {
		return nil, fmt.Errorf("reading customer %s: %w", customerKey, err)
	}
	if len(resp.Kvs) == 0 && !isAccount(customerKey) {
		idx, err := st.Client().Get(ctx, identityKey(st, customerKey))
		if err != nil {
			return nil, fmt.Errorf("reading the identity index for %s: %w", customerKey, err)
		}
		if len(idx.Kvs) == 1 && string(idx.Kvs[0].Value) != customerKey {
			customerKey = string(idx.Kvs[0].Value)
			if resp, err = st.Client().Get(ctx, st.Key("customers", url.PathEscape(customerKey))); err != nil {
				return nil, fmt.Errorf("reading customer %s: %w", customerKey, err)
			}
		}
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("customer %s: %w", customerKey, ErrNoCustomer)
	}
	var rec customerRecord
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		return nil, fmt.Errorf("customer %s: the record does not decode: %w", customerKey, err)
	}
	v := &CustomerView{Key: customerKey, Record: rec.Record, Timers: rec.Timers}
	for rule, state := range rec.Rules {
		if v.Rules == nil {
			v.Rules = map[string]string{}
		}
		v.Rules[rule] = string(state)
	}
	return v, nil
}
