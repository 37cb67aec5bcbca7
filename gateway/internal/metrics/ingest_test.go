package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/requestid"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/jsonkind"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

func event(id string) string {
	return fmt.Sprintf(`{"id":%q,"type":"order.placed","occurred_at":"2026-11-22T10:00:00Z",`+
		`"customer":{"email":"jane@example.com"},"properties":{"order_id":"o-1"}}`, id)
}

// TestIngestBySourceAndStatus runs the real ingest handler, wrapped as the
// gateway wraps it, over the event log on embedded etcd.
func TestIngestBySourceAndStatus(t *testing.T) {
	st := storetest.Shared(t)
	lg := eventlog.New(st, hclog.NewNullLogger())
	t.Cleanup(lg.Close)
	adapter, diags := jsonkind.Build(source.Spec{Name: "shop-m", Kind: "json", Body: hcl.EmptyBody()})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h := ingest.New([]ingest.Source{{Name: "shop-m", Kind: "json", Adapter: adapter, MaxBodyBytes: 64 << 10}},
		lg, hclog.NewNullLogger())
	known := func(name string) bool { return name == "shop-m" }
	srv := httptest.NewServer(requestid.Middleware(metrics.InstrumentIngest(h, known)))
	t.Cleanup(srv.Close)

	before := get(t)
	do := func(method, path, body string, want int) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s answered %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		if resp.Header.Get(requestid.Header) == "" {
			t.Fatalf("%s %s: no %s in the answer", method, path, requestid.Header)
		}
	}
	do(http.MethodPost, "/v1/webhooks/shop-m", event("m-1"), http.StatusAccepted)
	do(http.MethodPost, "/v1/webhooks/shop-m", event("m-2"), http.StatusAccepted)
	do(http.MethodPost, "/v1/webhooks/shop-m", event("m-1"), http.StatusOK) // a duplicate
	do(http.MethodPost, "/v1/webhooks/shop-m", `{"not json`, http.StatusBadRequest)
	do(http.MethodPost, "/v1/webhooks/attacker-made-this-up", event("m-3"), http.StatusNotFound)
	do(http.MethodPost, "/v1/webhooks/shop-m/extra", event("m-4"), http.StatusNotFound)
	do(http.MethodGet, "/healthz", "", http.StatusOK)
	do(http.MethodGet, "/readyz", "", http.StatusOK)
	after := get(t)

	delta := func(name string, labels ...string) float64 {
		return after.value(name, labels...) - before.value(name, labels...)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"triggergate_ingest_requests_total", []string{"source", "shop-m", "status", "202"}, 2},
		{"triggergate_ingest_requests_total", []string{"source", "shop-m", "status", "200"}, 1},
		{"triggergate_ingest_requests_total", []string{"source", "shop-m", "status", "400"}, 1},
		{"triggergate_ingest_requests_total", []string{"source", "unknown", "status", "404"}, 1},
		{"triggergate_ingest_events_total", []string{"source", "shop-m"}, 2}, // the duplicate added none
		{"triggergate_ingest_events_total", []string{"source", "unknown"}, 0},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v went up by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	var total float64
	for _, m := range after["triggergate_ingest_requests_total"].GetMetric() {
		total += m.GetCounter().GetValue()
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "source" && lp.GetValue() != "shop-m" && lp.GetValue() != metrics.Unknown &&
				!strings.HasPrefix(lp.GetValue(), "vendor-") {
				t.Errorf("a series for source %q: names not configured must be %q", lp.GetValue(), metrics.Unknown)
			}
		}
	}
	var totalBefore float64
	for _, m := range before["triggergate_ingest_requests_total"].GetMetric() {
		totalBefore += m.GetCounter().GetValue()
	}
	if total-totalBefore != 5 {
		t.Errorf("%v requests counted, want the 5 webhook deliveries (health checks are not counted)", total-totalBefore)
	}
}

// TestAcceptedEventsReportsVendorReplies covers sources whose success
// answer is the vendor's (TwiML, a SOAP ack), which carries no count.
func TestAcceptedEventsReportsVendorReplies(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metrics.AcceptedEvents(r.Context(), 3)
		if r.URL.Path == "/v1/webhooks/vendor-json" {
			// The handler's report wins over the answer's count.
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"accepted":5}`)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, "<Response/>")
	})
	wrapped := metrics.InstrumentIngest(h, func(string) bool { return true })
	before := get(t)
	for _, src := range []string{"vendor-xml", "vendor-json"} {
		wrapped.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/webhooks/"+src, nil))
	}
	after := get(t)
	for _, c := range []struct {
		source, status string
	}{{"vendor-xml", "200"}, {"vendor-json", "202"}} {
		if got := after.value("triggergate_ingest_requests_total", "source", c.source, "status", c.status) -
			before.value("triggergate_ingest_requests_total", "source", c.source, "status", c.status); got != 1 {
			t.Errorf("%s: requests with status %s went up by %v, want 1", c.source, c.status, got)
		}
		if got := after.value("triggergate_ingest_events_total", "source", c.source) -
			before.value("triggergate_ingest_events_total", "source", c.source); got != 3 {
			t.Errorf("%s: events went up by %v, want the 3 reported", c.source, got)
		}
	}
	// Outside InstrumentIngest AcceptedEvents does nothing.
	metrics.AcceptedEvents(t.Context(), 1)
}
