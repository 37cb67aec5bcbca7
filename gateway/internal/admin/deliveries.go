package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
)

// Bounds on the scans behind the deliveries endpoints: the outbox may
// hold far more than an answer should, and each entry is read whole.
const (
	scanPage = 500
	maxScan  = 20000
)

// Delivery is a message as operators see it: where it stands, never what
// it says (no rendered body, no profile, no fire data, no plugin config).
type Delivery struct {
	ID string `json:"id"`
	// Status is "due" (waiting for its first attempt), "scheduled" (its
	// first attempt is later: quiet hours, a delay), "retrying" (failed
	// at least once), "dead_lettered", or "undecodable" (an entry that
	// does not decode; its ID is its key).
	Status        string    `json:"status"`
	Customer      string    `json:"customer,omitempty"`
	Channel       string    `json:"channel,omitempty"`
	Template      string    `json:"template,omitempty"`
	Rule          string    `json:"rule,omitempty"`
	Step          string    `json:"step,omitempty"`
	Variant       string    `json:"variant,omitempty"`
	EventID       string    `json:"event_id,omitempty"`
	Transactional bool      `json:"transactional,omitempty"`
	Partition     int       `json:"partition"`
	Attempts      int       `json:"attempts"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	// Reason and DeadLetteredAt are set for a dead letter.
	Reason         string    `json:"reason,omitempty"`
	DeadLetteredAt time.Time `json:"dead_lettered_at,omitzero"`
}

func deliveryOf(e *outbox.Entry) Delivery {
	m := &e.Message
	return Delivery{ID: m.ID, Customer: e.Customer, Channel: e.Channel, Template: e.Template,
		Rule: m.Trigger, Step: m.Step, Variant: m.Variant, EventID: m.Event.ID, Transactional: e.Transactional,
		Partition: e.Partition, Attempts: e.Attempts, CreatedAt: m.CreatedAt, NextAttemptAt: e.NextAttemptAt, LastError: e.LastError}
}

func pendingDelivery(e *outbox.Entry, now time.Time) Delivery {
	d := deliveryOf(e)
	switch {
	case e.Attempts > 0:
		d.Status = "retrying"
	case e.NextAttemptAt.After(now):
		d.Status = "scheduled"
	default:
		d.Status = "due"
	}
	return d
}

// Deliveries is the answer to GET /v1/deliveries.
type Deliveries struct {
	// Pending are the waiting messages (of the channel asked for), next
	// attempt first, at most limit.
	Pending []Delivery `json:"pending"`
	// Channels counts the waiting messages per channel, all channels.
	Channels map[string]int64 `json:"channels"`
	// Total is how many messages the outbox holds.
	Total int64 `json:"total"`
	// Undecodable are the keys (below the store's prefix) of entries that
	// do not decode, which no worker can deliver, at most limit.
	Undecodable []string `json:"undecodable,omitempty"`
	// Complete is false when the outbox held more than one request scans
	// (20,000): Pending and Channels cover the first ones by key.
	Complete bool `json:"complete"`
}

func (s *Server) deliveries(w http.ResponseWriter, r *http.Request) {
	channel := r.URL.Query().Get("channel")
	if channel != "" && !validName(channel) {
		s.fail(w, r, http.StatusBadRequest, "invalid_channel", "channel must be a channel block's name (letters, digits, '_' and '-')")
		return
	}
	limit, ok := s.limit(w, r, defaultLimit)
	if !ok {
		return
	}
	out := Deliveries{Pending: []Delivery{}, Channels: map[string]int64{}}
	prefix := s.st.Key("outbox") + "/"
	complete, err := s.scanOutbox(r.Context(), prefix, func(d Delivery) {
		if d.Status == "undecodable" {
			if len(out.Undecodable) < limit {
				out.Undecodable = append(out.Undecodable, d.ID)
			}
			return
		}
		out.Channels[d.Channel]++
		if channel != "" && d.Channel != channel {
			return
		}
		out.Pending = append(out.Pending, d)
		if len(out.Pending) > 2*limit {
			sortByNextAttempt(out.Pending)
			out.Pending = out.Pending[:limit]
		}
	}, s.now())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	sortByNextAttempt(out.Pending)
	if len(out.Pending) > limit {
		out.Pending = out.Pending[:limit]
	}
	resp, err := s.st.Client().Get(r.Context(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out.Total, out.Complete = resp.Count, complete
	s.reply(w, r, http.StatusOK, out)
}

func sortByNextAttempt(ds []Delivery) {
	slices.SortStableFunc(ds, func(a, b Delivery) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// outboxPrefix is the key prefix of partition p's waiting messages.
func (s *Server) outboxPrefix(p int) string { return s.st.Key(outbox.KeyParts(p, "")...) }

// scanOutbox calls fn with every waiting message under prefix, up to
// maxScan of them; complete is false when there were more.
func (s *Server) scanOutbox(ctx context.Context, prefix string, fn func(Delivery), now time.Time) (complete bool, err error) {
	return s.scan(ctx, prefix, func(key string, value []byte) {
		e, err := outbox.Decode(value)
		if err != nil {
			fn(Delivery{ID: strings.TrimPrefix(key, s.st.Key()), Status: "undecodable", LastError: err.Error()})
			return
		}
		fn(pendingDelivery(e, now))
	})
}

// scanDLQ calls fn with every dead-lettered message, up to maxScan.
func (s *Server) scanDLQ(ctx context.Context, fn func(Delivery)) (complete bool, err error) {
	return s.scan(ctx, s.st.Key("dlq")+"/", func(key string, value []byte) {
		var dl outbox.DeadLetter
		if err := json.Unmarshal(value, &dl); err != nil || dl.Message.ID == "" {
			return // listed, and droppable, by GET /v1/dlq
		}
		d := deliveryOf(&dl.Entry)
		d.Status, d.Reason, d.DeadLetteredAt = "dead_lettered", dl.Reason, dl.At
		fn(d)
	})
}

// scan reads the keys under prefix page by page, up to maxScan.
func (s *Server) scan(ctx context.Context, prefix string, fn func(key string, value []byte)) (complete bool, err error) {
	key, end, n := prefix, clientv3.GetPrefixRangeEnd(prefix), 0
	for {
		resp, err := s.st.Client().Get(ctx, key, clientv3.WithRange(end), clientv3.WithLimit(scanPage))
		if err != nil {
			return false, fmt.Errorf("reading %s: %w", prefix, err)
		}
		for _, kv := range resp.Kvs {
			fn(string(kv.Key), kv.Value)
		}
		n += len(resp.Kvs)
		if !resp.More || len(resp.Kvs) == 0 {
			return true, nil
		}
		if n >= maxScan {
			return false, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// partitioner returns the event log that maps customers to partitions:
// the gateway's, or one with the cluster's recorded partition count; nil
// when no node has ever joined (so nothing is partitioned yet).
func (s *Server) partitioner(ctx context.Context) (*eventlog.Log, error) {
	if s.log != nil {
		return s.log, nil
	}
	st, err := cluster.ReadStatus(ctx, s.st)
	if err != nil {
		return nil, err
	}
	if st.Partitions == 0 {
		return nil, nil
	}
	// A Log that is never appended to holds no goroutine: no Close needed.
	return eventlog.New(s.st, s.logger, eventlog.WithPartitions(st.Partitions)), nil
}

// validName accepts an HCL block label as used for channels: letters,
// digits, '_' and '-', at most 128 bytes.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
