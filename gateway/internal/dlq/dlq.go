// Package dlq manages the dead-letter queue of messages: those a channel
// refused for good, that ran out of attempts or age, or whose template
// failed to render. An operator lists them, fixes the cause (a channel's
// endpoint or credentials, a template, a customer's address), and retries
// them, which puts them back in the outbox as new; or drops them.
//
// Each dead letter is one key, dlq/<message id>, holding an
// outbox.DeadLetter. Retry and Drop are guarded by the key's revision, so
// two operators acting at once never duplicate a message.
package dlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// ErrNotFound is returned for an id with no dead letter.
var ErrNotFound = errors.New("no such dead-lettered message")

// Filter selects dead letters.
type Filter struct {
	// Channel keeps only this channel's messages; empty keeps all.
	Channel string
	// Limit is the most returned (default and maximum 1000).
	Limit int
}

// MaxList is the most dead letters one List returns.
const MaxList = 1000

// Letter is one dead-lettered message as listed.
type Letter struct {
	outbox.DeadLetter
	// Raw is set instead, for a value that no longer decodes (kept as it
	// was found so that nothing is lost); such letters can only be dropped.
	Raw string `json:"raw,omitempty"`
	// ID is the message id (or, for a raw letter, its key below dlq/).
	ID string `json:"id"`
}

// List returns the dead letters matching f, oldest first.
func List(ctx context.Context, st *store.Store, f Filter) ([]Letter, error) {
	limit := f.Limit
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	prefix := st.Key("dlq") + "/"
	var out []Letter
	key := prefix
	end := clientv3.GetPrefixRangeEnd(prefix)
	for {
		resp, err := st.Client().Get(ctx, key, clientv3.WithRange(end), clientv3.WithLimit(500))
		if err != nil {
			return nil, fmt.Errorf("reading the dead-letter queue: %w", err)
		}
		for _, kv := range resp.Kvs {
			l := decode(strings.TrimPrefix(string(kv.Key), prefix), kv.Value)
			if f.Channel == "" || l.Channel == f.Channel {
				out = append(out, l)
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Count returns how many dead letters there are.
func Count(ctx context.Context, st *store.Store) (int64, error) {
	resp, err := st.Client().Get(ctx, st.Key("dlq")+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("counting the dead-letter queue: %w", err)
	}
	return resp.Count, nil
}

func decode(id string, v []byte) Letter {
	var d outbox.DeadLetter
	if err := json.Unmarshal(v, &d); err != nil || d.Message.ID == "" || d.Channel == "" {
		return Letter{ID: id, Raw: string(v)}
	}
	return Letter{DeadLetter: d, ID: id}
}

// Result is what happened to one id.
type Result struct {
	ID string `json:"id"`
	// Error is empty on success.
	Error string `json:"error,omitempty"`
}

// Retry puts dead letters back in the outbox, due at now, with their
// attempts reset; the message keeps its id, so a provider that did get an
// earlier attempt drops the repeat. A message with the same id already
// waiting in the outbox is left alone.
func Retry(ctx context.Context, st *store.Store, ids []string, now time.Time) []Result {
	return each(ids, func(id string) error {
		key := st.Key("dlq", id)
		resp, err := st.Client().Get(ctx, key)
		if err != nil {
			return fmt.Errorf("reading %s: %w", id, err)
		}
		if len(resp.Kvs) == 0 {
			return ErrNotFound
		}
		kv := resp.Kvs[0]
		l := decode(id, kv.Value)
		if l.Raw != "" {
			return errors.New("the stored value does not decode as a message; it can only be dropped")
		}
		e := l.Entry
		e.Attempts, e.NextAttemptAt = 0, now.UTC()
		v, err := e.Encode()
		if err != nil {
			return err
		}
		ob := st.Key(outbox.KeyParts(e.Partition, e.Message.ID)...)
		tx, err := st.Client().Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision), clientv3.Compare(clientv3.CreateRevision(ob), "=", 0)).
			Then(clientv3.OpDelete(key), clientv3.OpPut(ob, v)).Commit()
		switch {
		case err != nil:
			return fmt.Errorf("requeueing %s: %w", id, err)
		case !tx.Succeeded:
			return errors.New("changed meanwhile (retried or dropped by someone else, or already in the outbox)")
		}
		return nil
	})
}

// Drop deletes dead letters for good.
func Drop(ctx context.Context, st *store.Store, ids []string) []Result {
	return each(ids, func(id string) error {
		resp, err := st.Client().Delete(ctx, st.Key("dlq", id))
		if err != nil {
			return fmt.Errorf("dropping %s: %w", id, err)
		}
		if resp.Deleted == 0 {
			return ErrNotFound
		}
		return nil
	})
}

func each(ids []string, f func(id string) error) []Result {
	out := make([]Result, 0, len(ids))
	for _, id := range ids {
		r := Result{ID: id}
		if !validID(id) {
			r.Error = "invalid id"
		} else if err := f(id); err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
	}
	return out
}

// validID accepts what List returns: a message id, or "undecodable/<rev>".
func validID(id string) bool {
	if id == "" || len(id) > 200 || strings.Contains(id, "..") || strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/") {
		return false
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}
