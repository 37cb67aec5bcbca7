// Package ingest is the gateway's front door: POST /v1/webhooks/{source}
// plus the health endpoints. It reads a delivery under the source's size
// limit, lets the source adapter verify and map it, gives the events their
// ids, and answers 202 only once the event log has committed them. The
// same path (Decode, then the event log) replays archived deliveries: see
// Replayer.
package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/oklog/ulid/v2"

	"github.com/triggergate/triggergate/gateway/internal/archive"
	"github.com/triggergate/triggergate/gateway/internal/backlog"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/requestid"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// Source is a configured source ready to take deliveries.
type Source struct {
	Name    string
	Kind    string
	Adapter source.Adapter
	// MaxBodyBytes limits the body as sent; a gzip body may decompress to
	// at most DecompressionRatio times as much.
	MaxBodyBytes int64
	// DedupeWindow is how long the source's delivery ids are remembered
	// (the event log's default when zero).
	DedupeWindow time.Duration
}

// DecompressionRatio bounds how much a gzip-encoded body may grow, so a
// small "zip bomb" cannot make the gateway allocate without limit.
const DecompressionRatio = 10

// Appender commits events durably; *eventlog.Log implements it.
type Appender interface {
	Append(ctx context.Context, source string, events []sdk.Event, window time.Duration) (eventlog.AppendResult, error)
}

// Handler serves the ingest endpoints.
type Handler struct {
	sources       map[string]Source
	log           Appender
	ready         func(context.Context) error
	logger        hclog.Logger
	now           func() time.Time
	appendTimeout time.Duration
	admit         func([]sdk.Event) error
	inflight      chan struct{} // a slot per request being handled; nil = unbounded
	archive       func(*archive.Record)
	router        *mux.Router
	routes        []func(*mux.Router)
}

// Option configures a Handler.
type Option func(*Handler)

// WithClock injects the clock used for received_at and replay windows.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithReadiness sets the check behind /readyz (default: always ready).
func WithReadiness(f func(context.Context) error) Option { return func(h *Handler) { h.ready = f } }

// WithAdmission sets a check every delivery's events must pass before
// they are committed (the backlog monitor's Check). A *backlog.Refusal
// answers 429 (processing behind) or 503 (store slow) with Retry-After.
func WithAdmission(check func([]sdk.Event) error) Option {
	return func(h *Handler) { h.admit = check }
}

// WithRoutes lets other parts of the gateway serve their own endpoints on
// the public listener (email tracking's /t/...).
func WithRoutes(register func(*mux.Router)) Option {
	return func(h *Handler) { h.routes = append(h.routes, register) }
}

// WithArchive makes the handler hand every accepted, non-duplicate
// delivery to fn after the event log committed it (a failure of fn is
// logged, never fails the request): fn logs its own failures, as
// (*archive.Writer).Sink does. A delivery whose every event was seen
// before, one refused, and a ping with no events are not handed over.
func WithArchive(fn func(*archive.Record)) Option {
	return func(h *Handler) { h.archive = fn }
}

// WithMaxInFlight bounds the deliveries handled at once; past it the
// ingest answers 503 at once rather than buffering without bound.
func WithMaxInFlight(n int) Option {
	return func(h *Handler) {
		if n > 0 {
			h.inflight = make(chan struct{}, n)
		}
	}
}

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
	for _, register := range h.routes {
		register(r)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this endpoint")
	})
	h.router = r
	return h
}

// Source returns the configured source named name, for the replay
// handler, which takes its sources from the ingest it stands beside.
func (h *Handler) Source(name string) (Source, bool) {
	s, ok := h.sources[name]
	return s, ok
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
	if h.inflight != nil {
		select {
		case h.inflight <- struct{}{}:
			defer func() { <-h.inflight }()
		default:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "overloaded", "too many deliveries in flight; retry shortly")
			return
		}
	}
	log := requestid.Logger(r.Context(), h.logger).With("source", name)
	body, status, code, err := readBody(w, r, src.MaxBodyBytes)
	if err != nil {
		writeError(w, status, code, err.Error())
		return
	}
	now := h.now().UTC()
	req := &source.Request{
		Method: r.Method, URL: r.URL, Host: r.Host, TLS: r.TLS != nil, Header: r.Header, Body: body, Now: now,
	}
	d, err := Decode(src, req)
	if err != nil {
		status, code := classify(err)
		log.Debug("delivery refused", "status", status, "error", err)
		writeError(w, status, code, err.Error())
		return
	}
	if len(d.Events) == 0 {
		// A vendor's ping (WooCommerce's webhook_id=N on creation): accepted,
		// nothing to commit.
		h.reply(w, d, http.StatusOK, acceptedBody{Accepted: 0, EventIDs: []string{}})
		return
	}
	if h.admit != nil {
		if err := h.admit(d.Events); err != nil {
			var ref *backlog.Refusal
			status, code, wait := http.StatusServiceUnavailable, "overloaded", 5*time.Second
			if errors.As(err, &ref) {
				wait = ref.RetryAfter
				if errors.Is(err, backlog.ErrBacklog) {
					status, code = http.StatusTooManyRequests, "backlog"
				} else {
					code = "store_slow"
				}
			}
			log.Warn("delivery refused: the gateway is behind", "status", status, "reason", err)
			w.Header().Set("Retry-After", strconv.Itoa(max(int(wait.Round(time.Second)/time.Second), 1)))
			writeError(w, status, code, err.Error())
			return
		}
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.appendTimeout)
	defer cancel()
	res, err := h.log.Append(ctx, src.Name, d.Events, src.DedupeWindow)
	switch {
	case errors.Is(err, eventlog.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
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
		log.Debug("duplicate delivery", "events", len(d.Events))
		h.reply(w, d, http.StatusOK, duplicateBody{Duplicate: true, EventIDs: res.EventIDs})
		return
	}
	metrics.AcceptedEvents(r.Context(), res.New)
	log.Debug("delivery accepted", "events", len(d.Events), "new", res.New, "event_ids", res.EventIDs)
	if h.archive != nil {
		h.archive(record(name, req))
	}
	h.reply(w, d, http.StatusAccepted, acceptedBody{Accepted: res.New, EventIDs: res.EventIDs})
}

// ErrReservedType is wrapped by Decode's error for a delivery that maps
// to an event type only the gateway may make (timer.fired, ...).
var ErrReservedType = errors.New("reserved event type")

// Decode verifies and maps one delivery with a source's adapter, refuses
// reserved event types, and stamps the events (ids, source, received_at =
// req.Now): what the webhook endpoint does before committing, and what
// replay and simulate do with archived deliveries. Errors wrap the
// adapter's sentinels (source.ErrBadSignature, ...) or ErrReservedType.
func Decode(src Source, req *source.Request) (*source.Delivery, error) {
	if src.Adapter == nil {
		return nil, fmt.Errorf("source %q has no adapter", src.Name)
	}
	d, err := src.Adapter.Parse(req)
	if err != nil {
		return nil, err
	}
	for _, ev := range d.Events {
		if sdk.ReservedType(ev.Type) {
			return nil, fmt.Errorf("%w: event type %q is reserved for events the gateway makes itself", ErrReservedType, ev.Type)
		}
	}
	stampEvents(d.Events, src, req.Now.UTC())
	return d, nil
}

// record is an accepted delivery as the archive keeps it. The body is the
// one the adapter verified, so the headers that described its encoding on
// the wire are left out.
func record(source string, req *source.Request) *archive.Record {
	h := req.Header.Clone()
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	return &archive.Record{
		Source: source, ReceivedAt: req.Now, Method: req.Method, URL: req.URL.RequestURI(),
		Host: req.Host, TLS: req.TLS, Header: h, Body: req.Body,
	}
}

// reply answers an accepted delivery: with the vendor's expected reply if
// the adapter gave one, else with the JSON contract's body.
func (h *Handler) reply(w http.ResponseWriter, d *source.Delivery, status int, body any) {
	if d.Reply == nil {
		writeJSON(w, status, body)
		return
	}
	if d.Reply.ContentType != "" {
		w.Header().Set("Content-Type", d.Reply.ContentType)
	}
	w.WriteHeader(d.Reply.Status)
	_, _ = w.Write(d.Reply.Body)
}

// readBody reads the body under the source's limit, decompressing gzip
// under DecompressionRatio times that limit. On failure it returns the
// status and error code to answer with.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, int, string, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Errorf("the body exceeds this source's limit of %d bytes", limit)
		}
		return nil, http.StatusBadRequest, "unreadable_body", fmt.Errorf("reading the body failed: %w", err)
	}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return raw, 0, "", nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, http.StatusBadRequest, "unreadable_body", fmt.Errorf("the gzip body is corrupt: %w", err)
		}
		max := limit * DecompressionRatio
		body, err := io.ReadAll(io.LimitReader(zr, max+1))
		if err != nil {
			return nil, http.StatusBadRequest, "unreadable_body", fmt.Errorf("the gzip body is corrupt: %w", err)
		}
		if int64(len(body)) > max {
			return nil, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Errorf("the gzip body decompresses to more than %d bytes", max)
		}
		return body, 0, "", nil
	default:
		return nil, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Errorf("Content-Encoding %q is not supported; send the body plain or gzip-compressed", truncate(enc, 32))
	}
}

// stampEvents fills in what the gateway owns: ids, source, receipt time.
func stampEvents(events []sdk.Event, src Source, now time.Time) {
	for i := range events {
		ev := &events[i]
		ev.Source, ev.SourceKind, ev.ReceivedAt = src.Name, src.Kind, now
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = now
		}
		ev.OccurredAt = ev.OccurredAt.UTC()
		ev.ID = EventID(src.Name, ev.DeliveryID, ev.OccurredAt)
	}
}

// EventID returns an event's ULID. With a vendor delivery id it is
// deterministic: the same vendor event always maps to the same id (the
// time part is when it occurred). Without one it is random.
func EventID(source, deliveryID string, occurred time.Time) string {
	if deliveryID == "" {
		return ulid.Make().String()
	}
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(deliveryID))
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
	case errors.Is(err, ErrReservedType):
		return http.StatusBadRequest, "reserved_type"
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
func quote(s string) string { return strconv.Quote(truncate(s, 64)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
