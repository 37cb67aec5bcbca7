package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

const token = "s3cret-admin-token"

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func server(t *testing.T) (*store.Store, *httptest.Server) {
	t.Helper()
	st := storetest.Start(t)
	h, err := admin.New(st, token, hclog.NewNullLogger(), admin.WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return st, srv
}

func deadLetter(t *testing.T, st *store.Store, id, channel string) {
	t.Helper()
	b, err := json.Marshal(outbox.DeadLetter{
		Entry:  outbox.Entry{Message: sdk.Message{ID: id, Trigger: "t", Step: "default"}, Partition: 1, Channel: channel},
		Reason: "provider answered 400 Bad Request", At: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Client().Put(t.Context(), st.Key("dlq", id), string(b)); err != nil {
		t.Fatal(err)
	}
}

func call(t *testing.T, srv *httptest.Server, method, path, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTokenRequired(t *testing.T) {
	t.Parallel()
	st, srv := server(t)
	deadLetter(t, st, "m1", "email")
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic " + token, "Bearer " + token + "x", token} {
		code, body := call(t, srv, http.MethodGet, "/v1/dlq", auth, "")
		if code != http.StatusUnauthorized || strings.Contains(body, "m1") {
			t.Errorf("Authorization %q: %d %s, want 401 and nothing listed", auth, code, body)
		}
	}
	// Unknown paths are not revealed to the unauthenticated either.
	if code, _ := call(t, srv, http.MethodGet, "/v1/nope", "", ""); code != http.StatusUnauthorized {
		t.Errorf("unknown path without a token: %d, want 401", code)
	}
	if code, body := call(t, srv, http.MethodGet, "/v1/dlq", "bearer "+token, ""); code != http.StatusOK || !strings.Contains(body, "m1") {
		t.Errorf("with the token: %d %s", code, body)
	}
}

func TestDLQ(t *testing.T) {
	t.Parallel()
	st, srv := server(t)
	deadLetter(t, st, "m1", "email")
	deadLetter(t, st, "m2", "email")
	deadLetter(t, st, "m3", "sms")
	auth := "Bearer " + token

	code, body := call(t, srv, http.MethodGet, "/v1/dlq?channel=email&limit=1", auth, "")
	var list admin.DLQList
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != http.StatusOK {
		t.Fatalf("list: %d %s %v", code, body, err)
	}
	if len(list.Letters) != 1 || list.Letters[0].ID != "m1" || list.Total != 3 || list.Letters[0].Reason == "" {
		t.Fatalf("list = %+v", list)
	}

	code, body = call(t, srv, http.MethodPost, "/v1/dlq/retry", auth, `{"ids":["m1","missing"]}`)
	if code != http.StatusOK || !strings.Contains(body, `"id": "m1"`) || !strings.Contains(body, "no such dead-lettered message") {
		t.Fatalf("retry: %d %s", code, body)
	}
	resp, err := st.Client().Get(t.Context(), st.Key(outbox.KeyParts(1, "m1")...))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("m1 not back in the outbox: %v", err)
	}
	if e, err := outbox.Decode(resp.Kvs[0].Value); err != nil || !e.NextAttemptAt.Equal(t0) {
		t.Fatalf("requeued entry: %+v, %v", e, err)
	}

	code, body = call(t, srv, http.MethodPost, "/v1/dlq/drop", auth, `{"all":true,"channel":"sms"}`)
	if code != http.StatusOK || !strings.Contains(body, `"id": "m3"`) || strings.Contains(body, "m2") {
		t.Fatalf("drop all sms: %d %s", code, body)
	}
	_, body = call(t, srv, http.MethodGet, "/v1/dlq", auth, "")
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Letters) != 1 || list.Letters[0].ID != "m2" {
		t.Fatalf("left: %s", body)
	}

	for _, bad := range []string{``, `{`, `{"ids":[]}`, `{"all":true,"ids":["m2"]}`, `{"ids":["m2"],"channel":"email"}`, `{"id":"m2"}`} {
		if code, body := call(t, srv, http.MethodPost, "/v1/dlq/retry", auth, bad); code != http.StatusBadRequest || !strings.Contains(body, "invalid_body") {
			t.Errorf("body %q: %d %s, want 400", bad, code, body)
		}
	}
	if code, _ := call(t, srv, http.MethodGet, "/v1/dlq?limit=x", auth, ""); code != http.StatusBadRequest {
		t.Errorf("bad limit: %d", code)
	}
	big := `{"ids":["` + strings.Repeat("a", 2<<20) + `"]}`
	if code, _ := call(t, srv, http.MethodPost, "/v1/dlq/drop", auth, big); code != http.StatusBadRequest {
		t.Errorf("2 MiB body: %d, want 400", code)
	}
}
