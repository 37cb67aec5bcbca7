package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/status"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/sdk"
)

// maxKeyLen bounds a customer key given in a path.
const maxKeyLen = 512

// customerKeyFromPath decodes the {key} path variable: a URL-escaped
// canonical customer key (id:..., email:..., phone:..., ext:<system>:...,
// anon:...).
func customerKeyFromPath(escaped string) (string, error) {
	key, err := url.PathUnescape(escaped)
	if err != nil {
		return "", fmt.Errorf("the customer key is not validly URL-escaped: %w", err)
	}
	if len(key) > maxKeyLen {
		return "", fmt.Errorf("the customer key is longer than %d bytes", maxKeyLen)
	}
	if strings.TrimSpace(key) != key {
		return "", errors.New("the customer key has surrounding spaces")
	}
	if !utf8.ValidString(key) {
		return "", errors.New("the customer key is not valid UTF-8")
	}
	for _, c := range key {
		if unicode.IsControl(c) {
			return "", errors.New("the customer key holds a control character")
		}
	}
	if _, err := sdk.ParseCustomerKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// customerKey reads and checks the request's customer key; ok is false
// (and the 400 written) when it is not one.
func (s *Server) customerKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key, err := customerKeyFromPath(mux.Vars(r)["key"])
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "invalid_customer_key", err.Error()+" (escape it with url.PathEscape: \"/\" as %2F)")
		return "", false
	}
	return key, true
}

// readCustomer answers 404 for an unknown customer, and the store's
// errors; v is nil when it has answered.
func (s *Server) readCustomer(w http.ResponseWriter, r *http.Request) *engine.CustomerView {
	key, ok := s.customerKey(w, r)
	if !ok {
		return nil
	}
	v, err := engine.ReadCustomer(r.Context(), s.st, key)
	switch {
	case errors.Is(err, engine.ErrNoCustomer):
		s.fail(w, r, http.StatusNotFound, "no_such_customer", fmt.Sprintf("no such customer: no record under %s or an identity of it", key))
		return nil
	case err != nil:
		s.failRead(w, r, err)
		return nil
	}
	return v
}

// getCustomer answers GET /v1/customers/{key} with an engine.CustomerView:
// profile, consent, suppressions, recent sends, decision trace, recent
// events, each rule's state and pending timers.
func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) {
	if v := s.readCustomer(w, r); v != nil {
		s.reply(w, r, http.StatusOK, v)
	}
}

// Erasure is the answer to DELETE /v1/customers/{key}.
type Erasure struct {
	// Customer is the key of the record erased: any identifier of a
	// customer names the record it belongs to.
	Customer string `json:"customer"`
	// EventID is the erase event's id in the event log: the partition's
	// owner applies it in order with the customer's other events.
	EventID string `json:"event_id"`
	// Found is false when no record exists yet: the erasure is queued all
	// the same, for events of the customer still waiting in the log.
	Found bool `json:"found"`
}

func (s *Server) eraseCustomer(w http.ResponseWriter, r *http.Request) {
	key, ok := s.customerKey(w, r)
	if !ok {
		return
	}
	if s.log == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "erase_unavailable", "this admin API was started without the event log; erase through a running gateway's admin API")
		return
	}
	v, err := engine.ReadCustomer(r.Context(), s.st, key)
	found := err == nil
	switch {
	case found:
		key = v.Key
	case !errors.Is(err, engine.ErrNoCustomer) && unavailable(err):
		s.storeError(w, r, err)
		return
	}
	id, err := engine.Erase(r.Context(), s.log, key, s.now())
	if err != nil {
		s.logger.Error("queueing an erasure", "customer", key, "error", err)
		s.fail(w, r, http.StatusServiceUnavailable, "erase_failed", "the erasure could not be committed to the event log; try again")
		return
	}
	s.logger.Info("customer erasure queued", "customer", key, "event_id", id, "found", found)
	s.reply(w, r, http.StatusAccepted, Erasure{Customer: key, EventID: id, Found: found})
}

// CustomerEvents is the answer to GET /v1/customers/{key}/events.
type CustomerEvents struct {
	Customer string `json:"customer"`
	// Events are references to the customer's most recent events (at
	// most customer.MaxEvents), newest first.
	Events []customer.EventRef `json:"events"`
	// Note says where the payloads are.
	Note string `json:"note"`
}

const eventsNote = "references only: payloads are kept in the raw archive on disk (if enabled), not in etcd"

func (s *Server) customerEvents(w http.ResponseWriter, r *http.Request) {
	v := s.readCustomer(w, r)
	if v == nil {
		return
	}
	evs := slices.Clone(v.Events)
	slices.Reverse(evs)
	if evs == nil {
		evs = []customer.EventRef{}
	}
	s.reply(w, r, http.StatusOK, CustomerEvents{Customer: v.Key, Events: evs, Note: eventsNote})
}

// CustomerDeliveries is the answer to GET /v1/customers/{key}/deliveries.
type CustomerDeliveries struct {
	Customer string `json:"customer"`
	// Pending are the customer's messages waiting in the outbox, next
	// attempt first.
	Pending []Delivery `json:"pending"`
	// DeadLettered are the customer's messages in the DLQ, oldest first.
	DeadLettered []Delivery `json:"dead_lettered"`
	// Settled are the delivered and failed outcomes in the decision
	// trace, newest first.
	Settled []customer.Decision `json:"settled"`
	// Complete is false when the outbox or the DLQ held more than one
	// request scans: the lists cover what was scanned.
	Complete bool `json:"complete"`
}

func (s *Server) customerDeliveries(w http.ResponseWriter, r *http.Request) {
	v := s.readCustomer(w, r)
	if v == nil {
		return
	}
	out := CustomerDeliveries{Customer: v.Key, Pending: []Delivery{}, DeadLettered: []Delivery{}, Settled: []customer.Decision{}, Complete: true}
	now := s.now()
	lg, err := s.partitioner(r.Context())
	if err != nil {
		s.failRead(w, r, err)
		return
	}
	if lg != nil {
		p := lg.Partition(v.Key)
		complete, err := s.scanOutbox(r.Context(), s.outboxPrefix(p), func(d Delivery) {
			if d.Customer == v.Key && len(out.Pending) < maxLimit {
				out.Pending = append(out.Pending, d)
			}
		}, now)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		out.Complete = complete
	}
	complete, err := s.scanDLQ(r.Context(), func(d Delivery) {
		if d.Customer == v.Key && len(out.DeadLettered) < maxLimit {
			out.DeadLettered = append(out.DeadLettered, d)
		}
	})
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out.Complete = out.Complete && complete
	sortByNextAttempt(out.Pending)
	slices.SortStableFunc(out.DeadLettered, func(a, b Delivery) int { return a.DeadLetteredAt.Compare(b.DeadLetteredAt) })
	for i := len(v.Trace) - 1; i >= 0; i-- {
		if d := v.Trace[i]; d.Outcome == "delivered" || d.Outcome == "failed" {
			out.Settled = append(out.Settled, d)
		}
	}
	s.reply(w, r, http.StatusOK, out)
}

// unavailable reports whether err comes from etcd not answering (or the
// request's deadline), rather than from what it answered.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	if _, ok := status.FromError(err); ok {
		return true
	}
	var etcdErr rpctypes.EtcdError
	return errors.As(err, &etcdErr)
}

// failRead answers an error from reading the store: 503 when etcd did
// not answer, else 500 with what was wrong (a record that does not
// decode, say).
func (s *Server) failRead(w http.ResponseWriter, r *http.Request, err error) {
	if unavailable(err) {
		s.storeError(w, r, err)
		return
	}
	s.logger.Error("admin request failed", "path", r.URL.Path, "error", err)
	s.fail(w, r, http.StatusInternalServerError, "unreadable", err.Error())
}
