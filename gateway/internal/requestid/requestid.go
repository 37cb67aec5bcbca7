// Package requestid gives every HTTP request an id, so that the log lines
// of one request (and the answer its sender got) can be found together.
//
// A request may bring its own id in X-Request-Id (a load balancer's or the
// sender's); it is kept when it is short and plain, otherwise a ULID is
// made. Either way the id is echoed in the response's X-Request-Id and put
// in the request's context, where From and Logger find it.
package requestid

import (
	"context"
	"net/http"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/ulid/v2"
)

// Header is the request and response header that carries the id.
const Header = "X-Request-Id"

// MaxLen is the longest incoming id kept.
const MaxLen = 64

// LogKey is the key of the id in log lines.
const LogKey = "request_id"

type ctxKey struct{}

// Middleware gives each request an id: the incoming X-Request-Id when
// Valid, else a new ULID. It sets the id on the response header and in
// the request's context before calling next.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(Header)
		if !Valid(id) {
			id = ulid.Make().String()
		}
		w.Header().Set(Header, id)
		next.ServeHTTP(w, r.WithContext(With(r.Context(), id)))
	})
}

// Valid reports whether an incoming id is kept: 1 to MaxLen characters of
// [A-Za-z0-9._-], so that it is safe in logs and headers and cannot bloat
// them.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// With returns ctx carrying id, for work that does not come through
// Middleware (a test, or a background job that logs under an id).
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the request id in ctx, or "" when there is none.
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Logger returns logger with the request id of ctx as "request_id", or
// logger itself when ctx carries none.
func Logger(ctx context.Context, logger hclog.Logger) hclog.Logger {
	if id := From(ctx); id != "" {
		return logger.With(LogKey, id)
	}
	return logger
}
