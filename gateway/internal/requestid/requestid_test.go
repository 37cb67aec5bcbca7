package requestid_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/ulid/v2"

	"github.com/triggergate/triggergate/gateway/internal/requestid"
)

// serve runs one request with incoming X-Request-Id (none when empty)
// through the middleware and returns the id the handler saw in its
// context and the one the response carries.
func serve(t *testing.T, incoming string) (seen, answered string) {
	t.Helper()
	h := requestid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = requestid.From(r.Context())
	}))
	req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/shop", nil)
	if incoming != "" {
		req.Header.Set(requestid.Header, incoming)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return seen, rec.Header().Get(requestid.Header)
}

func TestIncomingIDIsKept(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a", "abc-123_X.y", "01JD5Z6QK7V8F3N2W1R0T9Y8X7", strings.Repeat("z", requestid.MaxLen)} {
		seen, answered := serve(t, id)
		if seen != id || answered != id {
			t.Errorf("incoming %q: handler saw %q, answer carries %q; want it kept", id, seen, answered)
		}
	}
}

func TestInvalidIDIsReplaced(t *testing.T) {
	t.Parallel()
	for _, id := range []string{
		strings.Repeat("z", requestid.MaxLen+1), // too long
		"has space", "new\nline", "semi;colon", `quote"`, "ünïcode", "a/b", "",
	} {
		seen, answered := serve(t, id)
		if seen == id || seen != answered {
			t.Errorf("incoming %q: handler saw %q, answer carries %q; want a new id in both", id, seen, answered)
		}
		if _, err := ulid.ParseStrict(seen); err != nil {
			t.Errorf("incoming %q: made id %q is not a ULID: %v", id, seen, err)
		}
	}
}

func TestGeneratedIDsAreUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id, _ := serve(t, "")
		if seen[id] {
			t.Fatalf("id %s made twice", id)
		}
		seen[id] = true
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	base := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true})
	requestid.Logger(requestid.With(t.Context(), "req-42"), base).Info("delivery accepted")
	if !strings.Contains(buf.String(), `"request_id":"req-42"`) {
		t.Fatalf("log line %s has no request_id", buf.String())
	}
	if l := requestid.Logger(t.Context(), base); l != base {
		t.Fatal("without an id, Logger must return the logger as it is")
	}
	if id := requestid.From(t.Context()); id != "" {
		t.Fatalf("From(no id) = %q", id)
	}
}

func FuzzMiddleware(f *testing.F) {
	for _, s := range []string{"", "a", "abc-123_X.y", "has space", "\x00", strings.Repeat("9", 65), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, incoming string) {
		var seen string
		h := requestid.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			seen = requestid.From(r.Context())
		}))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header[requestid.Header] = []string{incoming} // as sent, unchecked by net/http's client
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !requestid.Valid(seen) || rec.Header().Get(requestid.Header) != seen {
			t.Fatalf("incoming %q: id %q (answered %q) is not a valid id", incoming, seen, rec.Header().Get(requestid.Header))
		}
		if requestid.Valid(incoming) != (seen == incoming) {
			t.Fatalf("incoming %q (valid %v) became %q", incoming, requestid.Valid(incoming), seen)
		}
	})
}
