package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/delivery"
)

// fastRetries keeps the tests' backoff short; only a provider's
// Retry-After can make a retry wait longer.
var fastRetries = delivery.WithPolicy(delivery.Policy{MaxAttempts: 10, MaxAge: time.Hour, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond})

// admin calls the gateway's admin API with the test token.
func (g *gateway) admin(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, g.adminURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer e2e-admin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
}

// awaitDLQ waits for the dead-letter queue to hold n messages, as the
// admin API lists them, re-reading whenever etcd reports a change to it.
func (g *gateway) awaitDLQ(t *testing.T, n int) admin.DLQList {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{g.etcdURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	changes := cli.Watch(ctx, "/triggergate/dlq/", clientv3.WithPrefix())
	for {
		var list admin.DLQList
		g.admin(t, http.MethodGet, "/v1/dlq", "", &list)
		if len(list.Letters) == n {
			return list
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("dead-letter queue holds %d messages, want %d", len(list.Letters), n)
		}
	}
}

// The provider fails twice with 500, then takes the message: it arrives
// exactly once, every attempt under the same idempotency key.
func TestProviderRecoversAfterErrors(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	g := startGateway(t, rc.URL, fastRetries)
	if status, ans := g.post(t, order("o-500", 120), ""); status != http.StatusAccepted {
		t.Fatalf("delivery: %d %v", status, ans)
	}
	first := rc.next(t)
	for i := 2; i <= 3; i++ {
		r := rc.next(t)
		if r.header.Get("webhook-id") != first.header.Get("webhook-id") {
			t.Fatalf("attempt %d has webhook-id %q, the first %q", i, r.header.Get("webhook-id"), first.header.Get("webhook-id"))
		}
	}
	// Accepted on the third attempt: nothing more is sent, nothing is
	// dead-lettered. (A fourth request would arrive within the backoff of
	// at most 100ms; give it ten times that.)
	select {
	case r := <-rc.got:
		t.Fatalf("a fourth request arrived after the provider accepted: %s", r.header.Get("webhook-id"))
	case <-time.After(time.Second):
	}
	if list := g.awaitDLQ(t, 0); list.Total != 0 {
		t.Fatalf("dead letters: %+v", list)
	}
}

// A 429 with Retry-After: 2 is honoured even though the backoff would
// retry within 100ms.
func TestRetryAfterIsHonoured(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	g := startGateway(t, rc.URL, fastRetries)
	if status, ans := g.post(t, order("o-429", 120), ""); status != http.StatusAccepted {
		t.Fatalf("delivery: %d %v", status, ans)
	}
	first := rc.next(t)
	second := rc.next(t)
	if gap := second.at.Sub(first.at); gap < 2*time.Second {
		t.Fatalf("retried %v after a 429 asking for 2s", gap)
	}
	if second.header.Get("webhook-id") != first.header.Get("webhook-id") {
		t.Fatal("the retry has another webhook-id")
	}
}

// A 400 is permanent: the message goes to the dead-letter queue after one
// attempt, and `dlq retry` once the endpoint is fixed delivers it.
func TestPermanentFailureThenDLQRetry(t *testing.T) {
	var fixed atomic.Bool
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if !fixed.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"unknown field"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	g := startGateway(t, rc.URL, fastRetries)
	if status, ans := g.post(t, order("o-400", 120), ""); status != http.StatusAccepted {
		t.Fatalf("delivery: %d %v", status, ans)
	}
	first := rc.next(t)
	list := g.awaitDLQ(t, 1)
	l := list.Letters[0]
	if l.ID != first.header.Get("webhook-id") || l.Attempts != 1 || !strings.Contains(l.Reason, "400") || !strings.Contains(l.Reason, "unknown field") {
		t.Fatalf("dead letter = %+v", l)
	}
	select {
	case <-rc.got:
		t.Fatal("a permanent failure was retried")
	case <-time.After(500 * time.Millisecond):
	}

	fixed.Store(true)
	var res admin.DLQResults
	g.admin(t, http.MethodPost, "/v1/dlq/retry", `{"ids":["`+l.ID+`"]}`, &res)
	if len(res.Results) != 1 || res.Results[0].Error != "" {
		t.Fatalf("retry: %+v", res)
	}
	again := rc.next(t)
	if again.header.Get("webhook-id") != l.ID {
		t.Fatalf("redelivered %q, want %q", again.header.Get("webhook-id"), l.ID)
	}
	verifySignature(t, again)
	g.awaitDLQ(t, 0)
}
