package engine

// Identity resolution. One person reaches the gateway under several
// identifiers: an anonymous id while browsing, an email at checkout, an
// account id after signing up, a phone, a platform's customer id. Each
// identifier other than the account id has an index key,
//
//	identity/<kind>/<value> → customer key
//
// naming the record it belongs to (the account id is a key of its own and
// always wins). Before a pass groups its events by customer, it resolves
// each event's customer through the index: an event is processed under the
// record its identifiers point to, identifiers seen for the first time are
// indexed to it, and an identifier that points to a lesser record (an
// anonymous visitor, an email-only buyer) makes that record merge into
// this one.
//
// A record belongs to its partition's owner, so a merge is a hand-over
// through the event log, like every change: the pass appends a
// triggergate.merge event to the old record's partition; its owner takes
// the record out (deleting it and its timers, pointing its identifiers at
// the new record) and appends a triggergate.merged event carrying it to the
// new record's partition, whose owner folds it in (customer.Record.Absorb;
// each rule's state and timers are taken over for rules the new record has
// no state for). An event whose customer resolves to a record of another
// partition is forwarded there, in the same transaction that consumes it.
// Two different account ids never merge: an identifier already indexed to
// one account stays with it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

const (
	// MergeType asks the owner of a record's partition to hand the record
	// over to another customer key (Properties["into"]).
	MergeType = "triggergate.merge"
	// MergedType carries a handed-over record (Properties["record"], from
	// Properties["from"]) to the partition of the record it merges into.
	MergedType = "triggergate.merged"
)

// identifiers lists the identifiers of c that the index holds, strongest
// first, each in customer-key form ("email:...", "phone:...",
// "ext:<system>:...", "anon:..."). The account id is not among them.
func identifiers(c sdk.Customer) []string {
	var out []string
	if c.Email != "" {
		out = append(out, "email:"+c.Email)
	}
	if c.Phone != "" {
		out = append(out, "phone:"+c.Phone)
	}
	for _, sys := range slices.Sorted(maps.Keys(c.ExternalIDs)) {
		if v := c.ExternalIDs[sys]; v != "" && sys != "" && !strings.Contains(sys, ":") {
			out = append(out, "ext:"+sys+":"+v)
		}
	}
	if c.AnonymousID != "" {
		out = append(out, "anon:"+c.AnonymousID)
	}
	return out
}

// isAccount reports whether a customer key is an account id, which never
// merges into another record.
func isAccount(key string) bool { return strings.HasPrefix(key, "id:") }

func (e *Engine) identityKey(ident string) string { return identityKey(e.store, ident) }

// identityKey is the index key of an identifier in customer-key form.
func identityKey(st *store.Store, ident string) string {
	kind, v, _ := strings.Cut(ident, ":")
	return st.Key("identity", kind, url.PathEscape(v))
}

// addressed reports whether an item is taken as addressed to its record
// as it stands, without resolution: a timer, or an engine event that names
// the record it acts on (erase, hand-over). A merged event is resolved, as
// its target may have merged on since.
func addressed(w *work) bool {
	return w.entry == nil || w.event.Type == MergeType || w.event.Type == EraseType
}

// indexEntry is one identity index key as read, and as the pass changes it.
type indexEntry struct {
	target string // customer key; "" when absent
	rev    int64  // mod revision as read; 0 when absent
}

// internalType reports whether an event is one the gateway makes for
// itself (a merge, an erasure, a delivery record), which the engine
// applies to the record instead of showing it to the trigger rules.
func internalType(t string) bool {
	return t == MergeType || t == MergedType || t == EraseType || t == outbox.DeliveryType
}

// resolve sets each log item's customer key to the record its identifiers
// resolve to, queues the index writes and merges that follow, and takes
// out the items that belong to another partition, forwarding them there.
// It returns the items this pass processes.
func (e *Engine) resolve(ctx context.Context, partition int, items []*work, out *outcome, now time.Time) ([]*work, error) {
	idx := map[string]*indexEntry{}
	for _, w := range items {
		if addressed(w) {
			continue
		}
		for _, id := range identifiers(w.event.Customer) {
			idx[id] = nil
		}
	}
	if len(idx) == 0 {
		return items, nil
	}
	if err := e.readIndex(ctx, idx); err != nil {
		return nil, err
	}

	kept := items[:0]
	requested := map[string]bool{}
	for _, w := range items {
		if addressed(w) {
			kept = append(kept, w)
			continue
		}
		c := w.event.Customer
		if w.event.Type == MergedType {
			// Addressed to a record that may itself have merged on since.
			c, _ = sdk.ParseCustomerKey(w.key)
		}
		ids := identifiers(c)
		target, via := "", ""
		if c.ID != "" {
			target = "id:" + c.ID
		} else {
			for _, id := range ids {
				if t := idx[id].target; t != "" {
					target, via = t, id
					break
				}
			}
			if target == "" {
				target = c.Key()
			}
		}
		if via != "" {
			// Routed by the index: the commit holds only if that entry
			// has not moved on meanwhile (a concurrent merge).
			out.compare(e.identityKey(via), idx[via].rev)
		}
		if w.event.Type != MergedType {
			for _, id := range ids {
				en := idx[id]
				switch {
				case en.target == target:
					continue
				case en.target == "":
				case isAccount(en.target):
					e.logger.Warn("identifier belongs to another account; not merging", "identifier", id,
						"account", en.target, "customer", target, "event_id", w.event.ID)
					continue
				default:
					if !requested[en.target] {
						requested[en.target] = true
						e.requestMerge(en.target, target, out, now)
					}
				}
				out.compare(e.identityKey(id), en.rev)
				out.writes.put(e.identityKey(id), target)
				en.target = target
			}
		}
		w.key = target
		if p := e.log.Partition(target); p != partition {
			if err := e.forward(p, w.event, out); err != nil {
				return nil, err
			}
			continue
		}
		kept = append(kept, w)
	}
	return kept, nil
}

// readIndex reads the index entries named by idx's keys, in one round trip
// per maxOps of them.
func (e *Engine) readIndex(ctx context.Context, idx map[string]*indexEntry) error {
	ids := slices.Sorted(maps.Keys(idx))
	for start := 0; start < len(ids); start += maxOps {
		chunk := ids[start:min(start+maxOps, len(ids))]
		ops := make([]clientv3.Op, len(chunk))
		for i, id := range chunk {
			ops[i] = clientv3.OpGet(e.identityKey(id))
		}
		rctx, cancel := context.WithTimeout(ctx, e.opTimeout)
		resp, err := e.store.Client().Txn(rctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("reading the identity index: %w", err)
		}
		for i, r := range resp.Responses {
			en := &indexEntry{}
			if kvs := r.GetResponseRange().Kvs; len(kvs) == 1 {
				en.target, en.rev = string(kvs[0].Value), kvs[0].ModRevision
			}
			idx[chunk[i]] = en
		}
	}
	return nil
}

// forward appends ev to another partition's log, in the pass's commit.
func (e *Engine) forward(partition int, ev sdk.Event, out *outcome) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding event %s to forward it: %w", ev.ID, err)
	}
	out.writes.put(e.log.Prefix(partition)+ev.ID, string(b))
	return nil
}

// internalEvent makes an engine event addressed to a customer key, with an
// id derived from what it is about, so that re-running a pass that was
// not committed makes the same one.
func (e *Engine) internalEvent(typ, key string, props map[string]any, now time.Time, about ...string) sdk.Event {
	c, _ := sdk.ParseCustomerKey(key)
	h := sha256.Sum256([]byte(typ + "\x00" + key + "\x00" + strings.Join(about, "\x00")))
	return sdk.Event{
		ID: strings.ReplaceAll(typ, ".", "_") + "_" + hex.EncodeToString(h[:12]), Type: typ,
		Source: "internal", SourceKind: "internal", OccurredAt: now, ReceivedAt: now,
		Customer: c, Properties: props,
	}
}

// requestMerge asks the owner of from's partition to hand from's record
// over to into.
func (e *Engine) requestMerge(from, into string, out *outcome, now time.Time) {
	ev := e.internalEvent(MergeType, from, map[string]any{"into": into}, now, into)
	if err := e.forward(e.log.Partition(from), ev, out); err != nil {
		e.logger.Error("requesting a merge", "from", from, "into", into, "error", err)
		return
	}
	e.logger.Info("customer merge requested", "from", from, "into", into)
}

// handOver applies a merge event to the record it names: the record, its
// timers and its identifiers leave for the record named by "into".
// Messages already queued for it stay queued.
func (e *Engine) handOver(w *work, c *customerRecord, out *outcome, now time.Time) error {
	into, _ := w.event.Properties["into"].(string)
	if _, err := sdk.ParseCustomerKey(into); err != nil || into == w.key {
		e.logger.Error("merge event with no valid target; ignored", "event_id", w.event.ID, "into", into)
		return nil
	}
	if c.modRevision == 0 && !c.dirty {
		return nil // nothing recorded under this key (any more)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding customer %s to merge it: %w", w.key, err)
	}
	partition := e.log.Partition(w.key)
	for rule, ts := range c.Timers {
		for _, t := range ts {
			out.writes.del(e.timerKey(partition, w.key, rule, t))
		}
	}
	for _, id := range append(identifiers(c.Profile.Customer), w.key) {
		if !isAccount(id) {
			out.writes.put(e.identityKey(id), into)
		}
	}
	ev := e.internalEvent(MergedType, into, map[string]any{"from": w.key, "record": string(payload)}, now, w.event.ID)
	if err := e.forward(e.log.Partition(into), ev, out); err != nil {
		return err
	}
	*c = customerRecord{Key: c.Key, modRevision: c.modRevision, dirty: true, erased: true}
	e.logger.Info("customer handed over for merge", "from", w.key, "into", into)
	return nil
}

// absorb applies a merged event: the record it carries joins c.
func (e *Engine) absorb(w *work, c *customerRecord, out *outcome) {
	from, _ := w.event.Properties["from"].(string)
	raw, _ := w.event.Properties["record"].(string)
	var o customerRecord
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		e.logger.Error("merged record does not decode; dropped", "from", from, "into", w.key, "error", err)
		return
	}
	c.erased = false
	c.Absorb(o.Record)
	partition := e.log.Partition(w.key)
	rules := slices.Collect(maps.Keys(o.Rules))
	for rule := range o.Timers {
		if _, ok := o.Rules[rule]; !ok {
			rules = append(rules, rule)
		}
	}
	for _, rule := range rules {
		_, hasState := c.Rules[rule]
		if hasState || len(c.Timers[rule]) > 0 {
			continue // this record's own state for the rule wins
		}
		if state, ok := o.Rules[rule]; ok {
			if c.Rules == nil {
				c.Rules = map[string][]byte{}
			}
			c.Rules[rule] = state
		}
		for id, t := range o.Timers[rule] {
			if err := e.putTimer(partition, w.key, rule, t, out); err != nil {
				e.logger.Error("merged timer does not encode; dropped", "rule", rule, "timer", id, "error", err)
				continue
			}
			if c.Timers == nil {
				c.Timers = map[string]map[string]sdk.Timer{}
			}
			if c.Timers[rule] == nil {
				c.Timers[rule] = map[string]sdk.Timer{}
			}
			c.Timers[rule][id] = t
		}
	}
	c.dirty = true
	e.logger.Info("customers merged", "from", from, "into", w.key)
}

// forgetIdentity deletes the index entries that point to an erased
// record.
func (e *Engine) forgetIdentity(ctx context.Context, key string, c *customerRecord, out *outcome) error {
	idx := map[string]*indexEntry{}
	for _, id := range append(identifiers(c.Profile.Customer), key) {
		if !isAccount(id) {
			idx[id] = nil
		}
	}
	if err := e.readIndex(ctx, idx); err != nil {
		return err
	}
	for id, en := range idx {
		if en.target == key {
			out.writes.del(e.identityKey(id))
		}
	}
	return nil
}

// internal applies an engine event to its record.
func (e *Engine) internal(ctx context.Context, w *work, c *customerRecord, out *outcome, now time.Time) error {
	switch w.event.Type {
	case EraseType:
		if err := e.forgetIdentity(ctx, w.key, c, out); err != nil {
			return err
		}
		return e.erase(ctx, w, c, out)
	case MergeType:
		return e.handOver(w, c, out, now)
	case MergedType:
		e.absorb(w, c, out)
	case outbox.DeliveryType:
		e.recordDelivery(w, c, out)
	}
	return nil
}
