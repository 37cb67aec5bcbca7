// Package ingest is the gateway's front door: POST /v1/webhooks/{source}
// plus the health endpoints. It reads a delivery under the source's size
// limit, lets the source adapter verify and map it, gives the events their
// ids, and answers 202 only once the event log has committed them.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/oklog/ulid/v2"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// Source is a configured source ready to take deliveries.
type Source struct {
	Name         string
	Kind         string
	Adapter      source.Adapter
	MaxBodyBytes int64
}

// Appender commits events durably; *eventlog.Log implements it.
type Appender interface {
	Append(ctx context.Context, source, deliveryID string, events []sdk.Event) (eventlog.AppendResult, error)
}

// Handler serves the ingest endpoints.
type Handler struct {
	sources       map[string]Source
	log           Appender
	ready         func(context.Context) error
	logger        hclog.Logger
	now           func() time.Time
	appendTimeout time.Duration
	router        *mux.Router
}

// Option configures a Handler.
type Option func(*Handler)

// WithClock injects the clock used for received_at and replay windows.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithReadiness sets the check behind /readyz (default: always ready).
func WithReadiness(f func(context.Context) error) Option { return func(h *Handler) { h.ready = f } }

// New returns the ingest handler for the given sources.
func New(sources []Source, log Appender, logger hclog.Logger, opts ...Option) *Handler {
	h := &Handler{
		sources: make(map[string]Source, len(sources)), log: log, logger: logger,
		now: time.Now, appendTimeout: 10 * time.Second,
		ready: func(context.Context) error { return nil },
	}
	for _, s := range sources {
		h.sources[s.Name] = s
	}
	for _, o := range opts {
		o(h)
	}
	r := mux.NewRouter()
	r.HandleFunc("/v1/webhooks/{source}", h.webhook).Methods(http.MethodPost)
	r.HandleFunc("/healthz", h.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", h.readyz).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this endpoint")
	})
	h.router = r
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }

type acceptedBody struct {
	Accepted int      `json:"accepted"`
	EventIDs []string `json:"event_ids"`
}

type duplicateBody struct {
	Duplicate bool     `json:"duplicate"`
	EventIDs  []string `json:"event_ids,omitempty"`
}

func (h *Handler) webhook(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["source"]
	src, ok := h.sources[name]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_source", "no source named "+quote(name)+" is configured")
		return
	}
	log := h.logger.With("source", name)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, src.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large",
				"the body exceeds this source's limit of "+strconv.FormatInt(src.MaxBodyBytes, 10)+" bytes")
			return
		}
		writeError(w, http.StatusBadRequest, "unreadable_body", "reading the body failed: "+err.Error())
		return
	}
	now := h.now().UTC()
	events, err := src.Adapter.Parse(&source.Request{Method: r.Method, URL: r.URL, Header: r.Header, Body: body, Now: now})
	if err != nil {
		status, code := classify(err)
		log.Debug("delivery refused", "status", status, "error", err)
		writeError(w, status, code, err.Error())
		return
	}
	if len(events) == 0 {
		writeJSON(w, http.StatusOK, acceptedBody{Accepted: 0, EventIDs: []string{}})
		return
	}
	deliveryID := stampEvents(events, src, now)

	ctx, cancel := context.WithTimeout(r.Context(), h.appendTimeout)
	defer cancel()
	res, err := h.log.Append(ctx, src.Name, deliveryID, events)
	switch {
	case errors.Is(err, eventlog.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_many_events", err.Error())
		return
	case errors.Is(err, eventlog.ErrInvalidEvent):
		// The adapter let through an event the log cannot key; retrying
		// cannot help, so this is the sender's 400, not a 503.
		writeError(w, http.StatusBadRequest, "bad_payload", err.Error())
		return
	case errors.Is(err, store.ErrNoSpace):
		log.Error("etcd is out of space (NOSPACE alarm): refusing deliveries; compact and defragment etcd", "error", err)
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusServiceUnavailable, "store_full", "the gateway's store is full; retry later")
		return
	case err != nil:
		log.Warn("committing events failed", "error", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "store_unavailable", "the events could not be committed; retry later")
		return
	}
	if res.Duplicate {
		log.Debug("duplicate delivery", "delivery_id", deliveryID)
		writeJSON(w, http.StatusOK, duplicateBody{Duplicate: true, EventIDs: res.EventIDs})
		return
	}
	log.Debug("delivery accepted", "events", len(events), "delivery_id", deliveryID)
	writeJSON(w, http.StatusAccepted, acceptedBody{Accepted: len(res.EventIDs), EventIDs: res.EventIDs})
}

// stampEvents fills in what the gateway owns (ids, source, receipt time)
// and returns the delivery's dedupe id: the vendor's delivery id, or the
// ids of all its events when each carries one, or "" (no dedupe).
func stampEvents(events []sdk.Event, src Source, now time.Time) string {
	var ids []string
	for i := range events {
		ev := &events[i]
		ev.Source, ev.SourceKind, ev.ReceivedAt = src.Name, src.Kind, now
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = now
		}
		ev.OccurredAt = ev.OccurredAt.UTC()
		ev.ID = EventID(src.Name, ev.DeliveryID, i, ev.OccurredAt)
		if ev.DeliveryID != "" {
			ids = append(ids, ev.DeliveryID)
		}
	}
	if len(ids) != len(events) {
		return ""
	}
	return strings.Join(ids, "\x00")
}

// EventID returns an event's ULID. With a vendor delivery id it is
// deterministic: the same delivery always maps to the same id. Without
// one it is random.
func EventID(source, deliveryID string, index int, occurred time.Time) string {
	if deliveryID == "" {
		return ulid.Make().String()
	}
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(deliveryID))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(index))
	h.Write(n[:])
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(occurred))
	_ = id.SetEntropy(h.Sum(nil)[:10])
	return id.String()
}

func classify(err error) (int, string) {
	switch {
	case errors.Is(err, source.ErrBadSignature):
		return http.StatusUnauthorized, "bad_signature"
	case errors.Is(err, source.ErrUnsupportedType):
		return http.StatusUnsupportedMediaType, "unsupported_media_type"
	default:
		return http.StatusBadRequest, "bad_payload"
	}
}

func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.ready(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "not_ready", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// quote quotes a client-supplied name for an error message, cut short so a
// long one cannot bloat the answer.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}
