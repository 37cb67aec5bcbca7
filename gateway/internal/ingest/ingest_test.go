package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/backlog"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/jsonkind"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// memLog is an in-memory Appender with the event log's per-event dedupe
// contract.
type memLog struct {
	mu     sync.Mutex
	seen   map[string]string // source/delivery id → event id
	events []sdk.Event
	err    error
}

func (m *memLog) Append(_ context.Context, src string, events []sdk.Event, _ time.Duration) (eventlog.AppendResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return eventlog.AppendResult{}, m.err
	}
	res := eventlog.AppendResult{}
	for _, ev := range events {
		if id, ok := m.seen[src+"/"+ev.DeliveryID]; ok && ev.DeliveryID != "" {
			res.EventIDs = append(res.EventIDs, id)
			continue
		}
		m.seen[src+"/"+ev.DeliveryID] = ev.ID
		m.events = append(m.events, ev)
		res.EventIDs = append(res.EventIDs, ev.ID)
		res.New++
	}
	res.Duplicate = res.New == 0
	return res, nil
}

func newHandler(t testing.TB, lg ingest.Appender) *ingest.Handler {
	t.Helper()
	adapter, diags := jsonkind.Build(source.Spec{Name: "app", Kind: "json", Body: hcl.EmptyBody()})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return newHandlerWith(lg, adapter)
}

func newHandlerWith(lg ingest.Appender, adapter source.Adapter) *ingest.Handler {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return ingest.New([]ingest.Source{{Name: "app", Kind: "json", Adapter: adapter, MaxBodyBytes: 4096}},
		lg, hclog.NewNullLogger(), ingest.WithClock(func() time.Time { return now }))
}

func post(h http.Handler, path, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

const good = `{"id":"d-1","type":"order.placed","occurred_at":"2026-11-22T09:59:00Z","customer":{"email":"Jane@Example.com"}}`

func TestAcceptStampsEvents(t *testing.T) {
	t.Parallel()
	lg := &memLog{seen: map[string]string{}}
	h := newHandler(t, lg)

	rec := post(h, "/v1/webhooks/app", "application/json", good)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var ans struct {
		Accepted int      `json:"accepted"`
		EventIDs []string `json:"event_ids"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		t.Fatal(err)
	}
	ev := lg.events[0]
	if ans.Accepted != 1 || ans.EventIDs[0] != ev.ID {
		t.Fatalf("answer %+v for event %s", ans, ev.ID)
	}
	if ev.Source != "app" || ev.SourceKind != "json" || ev.DeliveryID != "d-1" ||
		!ev.ReceivedAt.Equal(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)) ||
		!ev.OccurredAt.Equal(time.Date(2026, 11, 22, 9, 59, 0, 0, time.UTC)) {
		t.Fatalf("event not stamped: %+v", ev)
	}
	if want := ingest.EventID("app", "d-1", ev.OccurredAt); ev.ID != want {
		t.Fatalf("event id %s, want the deterministic %s", ev.ID, want)
	}

	dup := post(h, "/v1/webhooks/app", "application/json", good)
	if dup.Code != http.StatusOK || !strings.Contains(dup.Body.String(), `"duplicate":true`) ||
		!strings.Contains(dup.Body.String(), ev.ID) {
		t.Fatalf("repeat: %d %s", dup.Code, dup.Body)
	}
	if len(lg.events) != 1 {
		t.Fatalf("log holds %d events after a repeat, want 1", len(lg.events))
	}
}

func TestEventID(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	a := ingest.EventID("shop", "d-1", at)
	if a != ingest.EventID("shop", "d-1", at) {
		t.Fatal("same delivery, different ids")
	}
	for _, other := range []string{ingest.EventID("shop2", "d-1", at), ingest.EventID("shop", "d-2", at)} {
		if other == a {
			t.Fatalf("distinct deliveries share id %s", a)
		}
	}
	if r1, r2 := ingest.EventID("shop", "", at), ingest.EventID("shop", "", at); r1 == r2 {
		t.Fatal("ids without a delivery id must be random")
	}
	if len(a) != 26 {
		t.Fatalf("id %q is not a ULID", a)
	}
}

func TestStoreFailures(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{errors.New("etcd timed out"), http.StatusServiceUnavailable, "store_unavailable"},
		{store.ErrNoSpace, http.StatusServiceUnavailable, "store_full"},
		{eventlog.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	} {
		h := newHandler(t, &memLog{seen: map[string]string{}, err: c.err})
		rec := post(h, "/v1/webhooks/app", "application/json", good)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), `"code":"`+c.code+`"`) {
			t.Fatalf("%v: %d %s, want %d %s", c.err, rec.Code, rec.Body, c.status, c.code)
		}
		if c.status == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Fatalf("%v: 503 without Retry-After", c.err)
		}
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	h := newHandler(t, &memLog{seen: map[string]string{}})
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/healthz", 200},
		{http.MethodGet, "/readyz", 200},
		{http.MethodGet, "/v1/webhooks/app", 405},
		{http.MethodPost, "/nope", 404},
		{http.MethodPost, "/v1/webhooks/other", 404},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(good))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s %s = %d (%s), want %d JSON", c.method, c.path, rec.Code, rec.Header().Get("Content-Type"), c.status)
		}
	}
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestContentEncoding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, encoding, body string
		status               int
		code                 string
	}{
		{"gzip", "gzip", gzipped(t, good), http.StatusAccepted, ""},
		// 40 KiB of zeros compress to well under the 4 KiB limit but grow
		// past 10x it.
		{"gzip bomb", "gzip", gzipped(t, `{"type":"a","pad":"`+strings.Repeat("0", 40<<10)+`"}`), http.StatusRequestEntityTooLarge, "body_too_large"},
		{"corrupt gzip", "gzip", "not gzip at all", http.StatusBadRequest, "unreadable_body"},
		{"brotli", "br", good, http.StatusUnsupportedMediaType, "unsupported_media_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHandler(t, &memLog{seen: map[string]string{}})
			req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/app", strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", c.encoding)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status || (c.code != "" && !strings.Contains(rec.Body.String(), `"code":"`+c.code+`"`)) {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body, c.status, c.code)
			}
		})
	}
}

func TestVendorReplyAndPing(t *testing.T) {
	t.Parallel()
	ack := &source.Reply{Status: http.StatusOK, ContentType: "text/xml", Body: []byte("<Ack>true</Ack>")}
	lg := &memLog{seen: map[string]string{}}
	h := newHandlerWith(lg, source.AdapterFunc(func(req *source.Request) (*source.Delivery, error) {
		if strings.Contains(string(req.Body), "ping") {
			return &source.Delivery{}, nil
		}
		return &source.Delivery{Reply: ack, Events: []sdk.Event{
			{Type: "a", DeliveryID: "x-1", Customer: sdk.Customer{ID: "1"}},
			{Type: "a", DeliveryID: "x-2", Customer: sdk.Customer{ID: "2"}},
		}}, nil
	}))
	for range 2 { // a duplicate gets the same vendor reply
		rec := post(h, "/v1/webhooks/app", "text/xml", "<notifications/>")
		if rec.Code != http.StatusOK || rec.Body.String() != "<Ack>true</Ack>" || rec.Header().Get("Content-Type") != "text/xml" {
			t.Fatalf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
	if len(lg.events) != 2 {
		t.Fatalf("committed %d events, want 2", len(lg.events))
	}
	rec := post(h, "/v1/webhooks/app", "text/plain", "ping")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"accepted":0`) {
		t.Fatalf("ping: %d %s", rec.Code, rec.Body)
	}
}

func TestAdmissionAndInFlight(t *testing.T) {
	t.Parallel()
	adapter, _ := jsonkind.Build(source.Spec{Name: "app", Kind: "json", Body: hcl.EmptyBody()})
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{&backlog.Refusal{Err: backlog.ErrBacklog, RetryAfter: 7 * time.Second, Detail: "partition 3 has 10000 events waiting"}, 429, "backlog"},
		{&backlog.Refusal{Err: backlog.ErrSlowStore, RetryAfter: 2 * time.Second, Detail: "etcd took 3s"}, 503, "store_slow"},
	} {
		lg := &memLog{seen: map[string]string{}}
		h := ingest.New([]ingest.Source{{Name: "app", Kind: "json", Adapter: adapter, MaxBodyBytes: 4096}},
			lg, hclog.NewNullLogger(), ingest.WithAdmission(func([]sdk.Event) error { return c.err }))
		rec := post(h, "/v1/webhooks/app", "application/json", good)
		want := strconv.Itoa(int(c.err.(*backlog.Refusal).RetryAfter / time.Second))
		if rec.Code != c.status || rec.Header().Get("Retry-After") != want || !strings.Contains(rec.Body.String(), c.code) {
			t.Fatalf("%v: %d %q %s", c.err, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
		if len(lg.events) != 0 {
			t.Fatal("a refused delivery was committed")
		}
	}

	// With every in-flight slot taken, a delivery is refused at once.
	block := make(chan struct{})
	entered := make(chan struct{})
	slow := source.AdapterFunc(func(*source.Request) (*source.Delivery, error) {
		entered <- struct{}{}
		<-block
		return &source.Delivery{}, nil
	})
	h := ingest.New([]ingest.Source{{Name: "app", Kind: "json", Adapter: slow, MaxBodyBytes: 4096}},
		&memLog{seen: map[string]string{}}, hclog.NewNullLogger(), ingest.WithMaxInFlight(1))
	done := make(chan int)
	go func() { done <- post(h, "/v1/webhooks/app", "application/json", good).Code }()
	<-entered
	if rec := post(h, "/v1/webhooks/app", "application/json", good); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("second delivery while the slot is held: %d", rec.Code)
	}
	close(block)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("first delivery: %d", code)
	}
}

// FuzzWebhook throws arbitrary bodies and content types at the front door:
// it must never panic, must answer one of the contract's codes with a JSON
// body, and must never send a 2xx for an event the log did not take.
func FuzzWebhook(f *testing.F) {
	f.Add("application/json", good)
	f.Add("application/json", `[{"type":"a","customer":{"id":"1"}},{"type":"b","customer":{"id":"2"}}]`)
	f.Add("application/json", `{"type":"x"}`)
	f.Add("text/plain", "hello")
	f.Add("application/json", strings.Repeat("[", 100))
	f.Fuzz(func(t *testing.T, contentType, body string) {
		lg := &memLog{seen: map[string]string{}}
		rec := post(newHandler(t, lg), "/v1/webhooks/app", contentType, body)
		switch rec.Code {
		case 200, 202:
			var ans struct {
				EventIDs []string `json:"event_ids"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
				t.Fatalf("2xx body %q: %v", rec.Body, err)
			}
			if len(ans.EventIDs) < len(lg.events) {
				t.Fatalf("answered %d ids for %d committed events", len(ans.EventIDs), len(lg.events))
			}
		case 400, 413, 415:
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("error body is not JSON: %q", rec.Body)
			}
		default:
			t.Fatalf("unexpected status %d: %s", rec.Code, rec.Body)
		}
	})
}

// Events the gateway makes itself cannot come in from outside: a forged
// timer.fired would reach every rule as if a timer had come due.
func TestReservedTypesRefused(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"timer.fired", "triggergate.erase"} {
		lg := &memLog{seen: map[string]string{}}
		h := newHandler(t, lg)
		body := `{"id":"d-1","type":"` + typ + `","customer":{"id":"c1"}}`
		req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/app", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"code":"reserved_type"`) {
			t.Fatalf("%s: got %d %s, want 400 reserved_type", typ, rec.Code, rec.Body)
		}
		if len(lg.events) != 0 {
			t.Fatalf("%s: the event reached the log", typ)
		}
	}
}
