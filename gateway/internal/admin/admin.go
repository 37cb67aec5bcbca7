// Package admin is the gateway's admin API: JSON over HTTP on the admin
// listener (loopback by default), every request authenticated with a
// bearer token compared in constant time.
//
//	GET    /v1/customers/{key}                 profile, consent, suppressions, rule state, timers, decision trace
//	DELETE /v1/customers/{key}                 erase the customer (GDPR); 202 with the erase event's id
//	GET    /v1/customers/{key}/events          the customer's recent events (references, not payloads)
//	GET    /v1/customers/{key}/deliveries      the customer's pending, dead-lettered and settled messages
//	GET    /v1/deliveries?channel=&limit=      pending messages across partitions, and counts per channel
//	GET    /v1/deadletters?limit=N             events the engine gave up on
//	POST   /v1/deadletters/requeue {"ids": [...], "force": false}
//	GET    /v1/dlq?channel=NAME&limit=N        dead-lettered messages, oldest first
//	POST   /v1/dlq/retry  {"ids": [...]}       put them back in the outbox
//	POST   /v1/dlq/retry  {"all": true, "channel": "email"}
//	POST   /v1/dlq/drop   {"ids": [...]}       delete them for good
//	GET    /v1/kpis?from=2026-11-01&to=2026-11-30 counters per trigger, step, variant and channel
//	GET    /v1/cluster                         nodes, partitions, backlog, each node's configuration state
//	GET    /v1/config                          the current configuration version (no file contents)
//	GET    /v1/config/versions?limit=N         the kept versions, newest first
//
// A customer key goes in the path URL-escaped (url.PathEscape): a "/" in
// it must be sent as %2F.
//
// Errors are {"error": {"code": "...", "message": "..."}} with a 4xx or
// 5xx status, like the ingest API's. Every answer of the API's own
// endpoints passes through a redactor that replaces known secrets (the
// literal values of secret attributes in the stored configuration
// versions, the values given with WithSecrets, the token itself) with
// "[redacted]", so that a provider's error quoting a webhook URL or a
// refused version's diagnostics never hand a secret out.
package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/dlq"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// Limits on what a request may carry and an answer may hold.
const (
	maxBody = 1 << 20
	maxIDs  = dlq.MaxList
	// defaultLimit and maxLimit bound every list an endpoint returns.
	defaultLimit = 100
	maxLimit     = 1000
)

// Server is the admin API's handler.
type Server struct {
	st        *store.Store
	tokenHash [sha256.Size]byte
	logger    hclog.Logger
	now       func() time.Time
	timeout   time.Duration
	router    *mux.Router
	log       *eventlog.Log
	configs   *configstore.Store
	mounted   map[string]http.Handler
	secrets   func() []string
	redact    *redactor
}

// Option configures a Server.
type Option func(*Server)

// WithClock injects the clock.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithEventLog gives the server the gateway's event log, which erasing a
// customer appends to (without it, DELETE /v1/customers/{key} answers
// 503) and whose partition count maps customers to partitions.
func WithEventLog(lg *eventlog.Log) Option { return func(s *Server) { s.log = lg } }

// WithHandler mounts h at exactly path pattern (no variables, no
// prefixes), behind the same bearer token as the API's own endpoints. h
// owns its methods, body limit, timeouts and answers: none of the API's
// apply (a replay batch is larger than the API's 1 MiB, and takes longer
// than its 30s), and its answers do not pass through the redactor. A
// mounted path shadows an endpoint of the API.
func WithHandler(pattern string, h http.Handler) Option {
	return func(s *Server) {
		if s.mounted == nil {
			s.mounted = map[string]http.Handler{}
		}
		s.mounted[pattern] = h
	}
}

// WithSecrets gives values that must never appear in an answer, such as
// the secrets this node resolved with env(); fn is called on every
// request, so it may return the current configuration's.
func WithSecrets(fn func() []string) Option { return func(s *Server) { s.secrets = fn } }

// New returns the admin API for st, accepting requests that carry token.
// token must not be empty.
func New(st *store.Store, token string, logger hclog.Logger, opts ...Option) (*Server, error) {
	if token == "" {
		return nil, errors.New("the admin API needs a token")
	}
	s := &Server{st: st, tokenHash: sha256.Sum256([]byte(token)), logger: logger, now: time.Now, timeout: 30 * time.Second,
		configs: configstore.New(st)}
	for _, o := range opts {
		o(s)
	}
	s.redact = newRedactor(s.configs, token, s.secrets, logger)
	r := mux.NewRouter()
	// Customer keys may hold "/", sent as %2F: route on the escaped path.
	r.UseEncodedPath()
	r.HandleFunc("/v1/customers/{key}", s.getCustomer).Methods(http.MethodGet)
	r.HandleFunc("/v1/customers/{key}", s.eraseCustomer).Methods(http.MethodDelete)
	r.HandleFunc("/v1/customers/{key}/events", s.customerEvents).Methods(http.MethodGet)
	r.HandleFunc("/v1/customers/{key}/deliveries", s.customerDeliveries).Methods(http.MethodGet)
	r.HandleFunc("/v1/deliveries", s.deliveries).Methods(http.MethodGet)
	r.HandleFunc("/v1/deadletters", s.listDeadLetters).Methods(http.MethodGet)
	r.HandleFunc("/v1/deadletters/requeue", s.requeueDeadLetters).Methods(http.MethodPost)
	r.HandleFunc("/v1/dlq", s.listDLQ).Methods(http.MethodGet)
	r.HandleFunc("/v1/dlq/retry", s.actDLQ(dlq.Retry)).Methods(http.MethodPost)
	r.HandleFunc("/v1/dlq/drop", s.actDLQ(func(ctx context.Context, st *store.Store, ids []string, _ time.Time) []dlq.Result {
		return dlq.Drop(ctx, st, ids)
	})).Methods(http.MethodPost)
	r.HandleFunc("/v1/kpis", s.kpis).Methods(http.MethodGet)
	r.HandleFunc("/v1/cluster", s.cluster).Methods(http.MethodGet)
	r.HandleFunc("/v1/config", s.config).Methods(http.MethodGet)
	r.HandleFunc("/v1/config/versions", s.configVersions).Methods(http.MethodGet)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this endpoint")
	})
	s.router = r
	return s, nil
}

// ServeHTTP authenticates the request, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="triggergate"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token")
		return
	}
	if h, ok := s.mounted[r.URL.Path]; ok {
		h.ServeHTTP(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	s.router.ServeHTTP(w, r.WithContext(ctx))
}

// authorized compares the bearer token in constant time: hashing both
// sides first keeps even the length from leaking.
func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// limit reads the limit query parameter: def when absent, at most
// maxLimit; ok is false (and the 400 written) when it is not a positive
// whole number.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, def int) (n int, ok bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		s.fail(w, r, http.StatusBadRequest, "invalid_limit", "limit must be a positive whole number (at most 1000)")
		return 0, false
	}
	return min(n, maxLimit), true
}

func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.Error("admin request failed", "path", r.URL.Path, "error", err)
	s.fail(w, r, http.StatusServiceUnavailable, "store_unavailable", "etcd did not answer; try again")
}

// reply writes v as JSON, with every known secret redacted.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.logger.Error("encoding an admin answer", "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "the answer could not be encoded")
		return
	}
	b := s.redact.apply(r.Context(), buf.Bytes())
	setHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// fail writes an error answer, redacted like any other.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	s.reply(w, r, status, b)
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers without the redactor, for fixed messages (401, 404
// of the router) that hold nothing from the store.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	setHeaders(w)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(b)
}

func setHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
}
