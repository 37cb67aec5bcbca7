package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware rather than a recorder.
type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// BenchmarkInstrumentIngest measures what InstrumentIngest adds to a
// delivery answered 202, against the same handler bare.
func BenchmarkInstrumentIngest(b *testing.B) {
	accepted := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"accepted":1,"event_ids":["01JD0000000000000000000000"]}`+"\n")
	})
	known := func(name string) bool { return name == "bench" }
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", accepted},
		{"instrumented", metrics.InstrumentIngest(accepted, known)},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/bench", nil)
			w := discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
