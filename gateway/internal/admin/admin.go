// Package admin is the gateway's admin API: JSON over HTTP on the admin
// listener (loopback by default), every request authenticated with a
// bearer token compared in constant time.
//
//	GET  /v1/dlq?channel=NAME&limit=N          dead-lettered messages, oldest first
//	POST /v1/dlq/retry  {"ids": [...]}         put them back in the outbox
//	POST /v1/dlq/retry  {"all": true, "channel": "email"}
//	POST /v1/dlq/drop   {"ids": [...]}         delete them for good
//	GET  /v1/kpis?from=2026-11-01&to=2026-11-30 counters per trigger, step, variant and channel
//
// Errors are {"error": {"code": "...", "message": "..."}} with a 4xx or
// 5xx status, like the ingest API's.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/dlq"
	"github.com/triggergate/triggergate/gateway/internal/stats"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// Limits on what a request may carry.
const (
	maxBody = 1 << 20
	maxIDs  = dlq.MaxList
)

// Server is the admin API's handler.
type Server struct {
	st        *store.Store
	tokenHash [sha256.Size]byte
	logger    hclog.Logger
	now       func() time.Time
	timeout   time.Duration
	router    *mux.Router
}

// Option configures a Server.
type Option func(*Server)

// WithClock injects the clock.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New returns the admin API for st, accepting requests that carry token.
// token must not be empty.
func New(st *store.Store, token string, logger hclog.Logger, opts ...Option) (*Server, error) {
	if token == "" {
		return nil, errors.New("the admin API needs a token")
	}
	s := &Server{st: st, tokenHash: sha256.Sum256([]byte(token)), logger: logger, now: time.Now, timeout: 30 * time.Second}
	for _, o := range opts {
		o(s)
	}
	r := mux.NewRouter()
	r.HandleFunc("/v1/dlq", s.listDLQ).Methods(http.MethodGet)
	r.HandleFunc("/v1/dlq/retry", s.actDLQ(dlq.Retry)).Methods(http.MethodPost)
	r.HandleFunc("/v1/dlq/drop", s.actDLQ(func(ctx context.Context, st *store.Store, ids []string, _ time.Time) []dlq.Result {
		return dlq.Drop(ctx, st, ids)
	})).Methods(http.MethodPost)
	r.HandleFunc("/v1/kpis", s.kpis).Methods(http.MethodGet)
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

// DLQList is the answer to GET /v1/dlq.
type DLQList struct {
	Letters []dlq.Letter `json:"letters"`
	// Total is how many dead letters there are in all, beyond the filter
	// and limit.
	Total int64 `json:"total"`
}

func (s *Server) listDLQ(w http.ResponseWriter, r *http.Request) {
	f := dlq.Filter{Channel: r.URL.Query().Get("channel")}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "invalid_limit", "limit must be a positive whole number")
			return
		}
		f.Limit = n
	}
	letters, err := dlq.List(r.Context(), s.st, f)
	if err != nil {
		s.storeError(w, err)
		return
	}
	total, err := dlq.Count(r.Context(), s.st)
	if err != nil {
		s.storeError(w, err)
		return
	}
	if letters == nil {
		letters = []dlq.Letter{}
	}
	writeJSON(w, http.StatusOK, DLQList{Letters: letters, Total: total})
}

// DLQAction is the body of POST /v1/dlq/retry and /v1/dlq/drop: either
// ids, or all (optionally of one channel).
type DLQAction struct {
	IDs     []string `json:"ids,omitempty"`
	All     bool     `json:"all,omitempty"`
	Channel string   `json:"channel,omitempty"`
}

// DLQResults is the answer to a DLQ action: one result per id.
type DLQResults struct {
	Results []dlq.Result `json:"results"`
}

func (s *Server) actDLQ(act func(context.Context, *store.Store, []string, time.Time) []dlq.Result) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req DLQAction
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_body", fmt.Sprintf("the body must be JSON {\"ids\": [...]} or {\"all\": true}: %v", err))
			return
		}
		switch {
		case req.All == (len(req.IDs) > 0):
			writeError(w, http.StatusBadRequest, "invalid_body", "give either ids or all = true")
			return
		case len(req.IDs) > maxIDs:
			writeError(w, http.StatusBadRequest, "invalid_body", fmt.Sprintf("at most %d ids at once", maxIDs))
			return
		case req.Channel != "" && !req.All:
			writeError(w, http.StatusBadRequest, "invalid_body", "channel selects with all = true; with ids, leave it out")
			return
		}
		ids := req.IDs
		if req.All {
			letters, err := dlq.List(r.Context(), s.st, dlq.Filter{Channel: req.Channel})
			if err != nil {
				s.storeError(w, err)
				return
			}
			for _, l := range letters {
				ids = append(ids, l.ID)
			}
		}
		res := act(r.Context(), s.st, ids, s.now())
		if res == nil {
			res = []dlq.Result{}
		}
		writeJSON(w, http.StatusOK, DLQResults{Results: res})
	}
}

// KPIs is the answer to GET /v1/kpis: the counters of the days from..to
// (UTC, inclusive; default today), summed over the cluster.
type KPIs struct {
	From string      `json:"from"`
	To   string      `json:"to"`
	Rows []stats.Row `json:"rows"`
}

func (s *Server) kpis(w http.ResponseWriter, r *http.Request) {
	today := s.now().UTC().Format(time.DateOnly)
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if from == "" {
		from = today
	}
	if to == "" {
		to = today
	}
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || t.Before(f) || t.Sub(f) > 366*24*time.Hour {
		writeError(w, http.StatusBadRequest, "invalid_range", "from and to are dates as YYYY-MM-DD, from <= to, at most a year apart")
		return
	}
	rows, err := stats.Read(r.Context(), s.st, f, t)
	if err != nil {
		s.storeError(w, err)
		return
	}
	if rows == nil {
		rows = []stats.Row{}
	}
	writeJSON(w, http.StatusOK, KPIs{From: from, To: to, Rows: rows})
}

func (s *Server) storeError(w http.ResponseWriter, err error) {
	s.logger.Error("admin request failed", "error", err)
	writeError(w, http.StatusServiceUnavailable, "store_unavailable", "etcd did not answer; try again")
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
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
