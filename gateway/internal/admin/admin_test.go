package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// routes are every endpoint, with a body where one is needed.
var routes = []struct{ method, path, body string }{
	{http.MethodGet, "/v1/customers/id:c-1", ""},
	{http.MethodDelete, "/v1/customers/id:c-1", ""},
	{http.MethodGet, "/v1/customers/id:c-1/events", ""},
	{http.MethodGet, "/v1/customers/id:c-1/deliveries", ""},
	{http.MethodGet, "/v1/deliveries", ""},
	{http.MethodGet, "/v1/deadletters", ""},
	{http.MethodPost, "/v1/deadletters/requeue", `{"ids":["e1"]}`},
	{http.MethodGet, "/v1/dlq", ""},
	{http.MethodPost, "/v1/dlq/retry", `{"ids":["m1"]}`},
	{http.MethodPost, "/v1/dlq/drop", `{"ids":["m1"]}`},
	{http.MethodGet, "/v1/kpis", ""},
	{http.MethodGet, "/v1/cluster", ""},
	{http.MethodGet, "/v1/config", ""},
	{http.MethodGet, "/v1/config/versions", ""},
	{http.MethodGet, "/metrics", ""},
	{http.MethodPost, "/v1/replay", `{}`},
	{http.MethodGet, "/v1/nope", ""},
}

func TestTokenRequired(t *testing.T) {
	t.Parallel()
	var mountedCalls atomic.Int32
	mounted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mountedCalls.Add(1)
		msg := "mounted " + r.Method + " " + r.URL.Path
		if n, _ := io.Copy(io.Discard, r.Body); n > 1<<20 {
			msg += " " + strconv.FormatInt(n, 10)
		}
		_, _ = w.Write([]byte(msg))
	})
	f := newFixture(t, admin.WithHandler("/metrics", mounted), admin.WithHandler("/v1/replay", mounted))
	f.deadLetter(t, "m1", "email", "id:c-1", "provider answered 400")
	for _, rt := range routes {
		for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Basic " + token, "Token " + token,
			"Bearer " + token + "x", "Bearer " + token[:len(token)-1], token, "Bearer" + token} {
			code, body := call(t, f.srv, rt.method, rt.path, auth, rt.body)
			if code != http.StatusUnauthorized || errorCode(body) != "unauthorized" || strings.Contains(body, "m1") {
				t.Errorf("%s %s with Authorization %q: %d %s, want 401 and nothing else", rt.method, rt.path, auth, code, body)
			}
		}
	}
	if n := mountedCalls.Load(); n != 0 {
		t.Fatalf("a mounted handler ran %d times without the token", n)
	}
	// The scheme is case-insensitive; mounted handlers get the request.
	if code, body := call(t, f.srv, http.MethodGet, "/v1/dlq", "bearer "+token, ""); code != http.StatusOK || !strings.Contains(body, "m1") {
		t.Errorf("with the token: %d %s", code, body)
	}
	if code, body := f.call(t, http.MethodPost, "/v1/replay", `{}`); code != http.StatusOK || body != "mounted POST /v1/replay" {
		t.Errorf("mounted /v1/replay: %d %q", code, body)
	}
	if code, body := f.call(t, http.MethodGet, "/metrics", ""); code != http.StatusOK || body != "mounted GET /metrics" {
		t.Errorf("mounted /metrics: %d %q", code, body)
	}
	// A mounted handler owns its body limit: a replay batch is larger
	// than the API's 1 MiB.
	if code, body := f.call(t, http.MethodPost, "/v1/replay", strings.Repeat("x", 3<<20)); code != http.StatusOK || body != "mounted POST /v1/replay 3145728" {
		t.Errorf("mounted /v1/replay with 3 MiB: %d %.80q", code, body)
	}
	// Exact paths only.
	for _, p := range []string{"/metrics/", "/metricsx", "/metrics/x"} {
		if code, body := f.call(t, http.MethodGet, p, ""); code != http.StatusNotFound || errorCode(body) != "not_found" {
			t.Errorf("GET %s: %d %s, want 404", p, code, body)
		}
	}
	if code, body := f.call(t, http.MethodPut, "/v1/dlq", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /v1/dlq: %d %s", code, body)
	}
}

func TestNewNeedsToken(t *testing.T) {
	t.Parallel()
	if _, err := admin.New(storetest.Shared(t), "", hclog.NewNullLogger()); err == nil {
		t.Fatal("New accepted an empty token")
	}
}

func TestDLQ(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.deadLetter(t, "m1", "email", "id:c-1", "provider answered 400 Bad Request")
	f.deadLetter(t, "m2", "email", "id:c-1", "provider answered 400 Bad Request")
	f.deadLetter(t, "m3", "sms", "id:c-1", "provider answered 400 Bad Request")

	var list admin.DLQList
	f.get(t, "/v1/dlq?channel=email&limit=1", http.StatusOK, &list)
	if len(list.Letters) != 1 || list.Letters[0].ID != "m1" || list.Total != 3 || list.Letters[0].Reason == "" {
		t.Fatalf("list = %+v", list)
	}

	code, body := f.call(t, http.MethodPost, "/v1/dlq/retry", `{"ids":["m1","missing"]}`)
	if code != http.StatusOK || !strings.Contains(body, `"id": "m1"`) || !strings.Contains(body, "no such dead-lettered message") {
		t.Fatalf("retry: %d %s", code, body)
	}
	resp, err := f.st.Client().Get(t.Context(), f.st.Key(outbox.KeyParts(1, "m1")...))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("m1 not back in the outbox: %v", err)
	}
	if e, err := outbox.Decode(resp.Kvs[0].Value); err != nil || !e.NextAttemptAt.Equal(t0) {
		t.Fatalf("requeued entry: %+v, %v", e, err)
	}

	code, body = f.call(t, http.MethodPost, "/v1/dlq/drop", `{"all":true,"channel":"sms"}`)
	if code != http.StatusOK || !strings.Contains(body, `"id": "m3"`) || strings.Contains(body, "m2") {
		t.Fatalf("drop all sms: %d %s", code, body)
	}
	body = f.get(t, "/v1/dlq", http.StatusOK, &list)
	if len(list.Letters) != 1 || list.Letters[0].ID != "m2" {
		t.Fatalf("left: %s", body)
	}

	for _, bad := range []string{``, `{`, `{"ids":[]}`, `{"all":true,"ids":["m2"]}`, `{"ids":["m2"],"channel":"email"}`, `{"id":"m2"}`} {
		if code, body := f.call(t, http.MethodPost, "/v1/dlq/retry", bad); code != http.StatusBadRequest || errorCode(body) != "invalid_body" {
			t.Errorf("body %q: %d %s, want 400", bad, code, body)
		}
	}
	for _, q := range []string{"limit=x", "limit=0", "limit=-1", "channel=a%20b", "channel=" + strings.Repeat("a", 200)} {
		if code, _ := f.call(t, http.MethodGet, "/v1/dlq?"+q, ""); code != http.StatusBadRequest {
			t.Errorf("GET /v1/dlq?%s: %d, want 400", q, code)
		}
	}
	big := `{"ids":["` + strings.Repeat("a", 2<<20) + `"]}`
	if code, _ := f.call(t, http.MethodPost, "/v1/dlq/drop", big); code != http.StatusBadRequest {
		t.Errorf("2 MiB body: %d, want 400", code)
	}
}

func TestKPIsRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var k admin.KPIs
	f.get(t, "/v1/kpis", http.StatusOK, &k)
	if k.From != "2026-11-22" || k.To != "2026-11-22" || k.Rows == nil {
		t.Fatalf("default range: %+v", k)
	}
	for _, q := range []string{"from=yesterday", "from=2026-11-22&to=2026-11-01", "from=2020-01-01&to=2026-01-01"} {
		if code, body := f.call(t, http.MethodGet, "/v1/kpis?"+q, ""); code != http.StatusBadRequest || errorCode(body) != "invalid_range" {
			t.Errorf("kpis?%s: %d %s", q, code, body)
		}
	}
}

// decode is json.Unmarshal that fails the test.
func decode(t *testing.T, body string, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
}
