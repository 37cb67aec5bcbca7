package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
)

// FuzzSourceOf: any request path gives either no source or one plain
// path segment.
func FuzzSourceOf(f *testing.F) {
	for _, s := range []string{"/v1/webhooks/shop", "/v1/webhooks/", "/v1/webhooks/a/b", "/healthz", "/v1/webhooks//x", "", "/v1/webhooks/%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		name, ok := metrics.SourceOf(path)
		if ok && (name == "" || strings.Contains(name, "/") || !strings.HasSuffix(path, name)) {
			t.Fatalf("SourceOf(%q) = %q", path, name)
		}
		if !ok && name != "" {
			t.Fatalf("SourceOf(%q) = %q, false", path, name)
		}
	})
}

// FuzzInstrumentIngest: whatever a handler answers, counting it never
// panics, and names come only from known.
func FuzzInstrumentIngest(f *testing.F) {
	f.Add("/v1/webhooks/fz", 202, `{"accepted":2,"event_ids":["a","b"]}`)
	f.Add("/v1/webhooks/fz", 202, `{"event_ids":["a"],"accepted":1}`)
	f.Add("/v1/webhooks/fz", 202, `{"accepted":-1}`)
	f.Add("/v1/webhooks/fz", 202, `{"accepted":1e400}`)
	f.Add("/v1/webhooks/fz", 202, `{"accepted":`)
	f.Add("/v1/webhooks/zz", 200, `not json`)
	f.Add("/v1/webhooks/fz", 599, ``)
	f.Fuzz(func(t *testing.T, path string, status int, body string) {
		if status < 200 || status > 599 {
			return // net/http refuses such codes itself
		}
		h := metrics.InstrumentIngest(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}), func(name string) bool { return name == "fz" })
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.URL.Path = path
		h.ServeHTTP(httptest.NewRecorder(), req)
	})
}
