package admin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/sdk"
)

func TestDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Three messages from the engine (channel hook), due now.
	f.send(t,
		sdk.Event{ID: "e1", Type: "page.viewed", Customer: sdk.Customer{ID: "c-1"}},
		sdk.Event{ID: "e2", Type: "page.viewed", Customer: sdk.Customer{ID: "c-2"}},
		sdk.Event{ID: "e3", Type: "page.viewed", Customer: sdk.Customer{ID: "c-3"}},
	)
	// Two sms messages written as the delivery worker leaves them: one
	// retrying, one deferred to later.
	for i, e := range []outbox.Entry{
		{Message: sdk.Message{ID: "msg_retry", Trigger: "promo", Step: "default", Text: "rendered body"}, Partition: 3,
			Channel: "sms", Customer: "id:c-9", Attempts: 2, NextAttemptAt: t0.Add(-time.Hour), LastError: "provider answered 503"},
		{Message: sdk.Message{ID: "msg_later", Trigger: "promo", Step: "default"}, Partition: 4,
			Channel: "sms", Customer: "id:c-9", NextAttemptAt: t0.Add(time.Hour)},
	} {
		v, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		f.put(t, v, outbox.KeyParts(3+i, e.Message.ID)...)
	}
	f.put(t, "not json", outbox.KeyParts(5, "msg_broken")...)

	var d admin.Deliveries
	body := f.get(t, "/v1/deliveries", http.StatusOK, &d)
	if d.Total != 6 || !d.Complete || len(d.Pending) != 5 || d.Channels["hook"] != 3 || d.Channels["sms"] != 2 || len(d.Channels) != 2 ||
		len(d.Undecodable) != 1 || d.Undecodable[0] != "outbox/005/msg_broken" {
		t.Fatalf("deliveries: %s", body)
	}
	// Next attempt first: the retrying one (an hour ago), then those due
	// now, then the deferred one.
	if first, last := d.Pending[0], d.Pending[4]; first.ID != "msg_retry" || first.Status != "retrying" || first.Attempts != 2 ||
		first.LastError != "provider answered 503" || last.ID != "msg_later" || last.Status != "scheduled" {
		t.Fatalf("order: %s", body)
	}
	if strings.Contains(body, "rendered body") {
		t.Fatalf("a message's body in the answer:\n%s", body)
	}
	f.get(t, "/v1/deliveries?channel=sms&limit=1", http.StatusOK, &d)
	if len(d.Pending) != 1 || d.Pending[0].ID != "msg_retry" || d.Channels["hook"] != 3 || d.Total != 6 {
		t.Fatalf("sms, limit 1: %+v", d)
	}
	f.get(t, "/v1/deliveries?channel=hook&limit=5000", http.StatusOK, &d)
	if len(d.Pending) != 3 {
		t.Fatalf("hook: %+v", d)
	}
	for _, s := range d.Pending {
		if s.Status != "due" || s.Rule != "cart" || s.Template != "reminder" || s.Customer == "" {
			t.Fatalf("engine's message: %+v", s)
		}
	}
	for _, q := range []string{"limit=x", "limit=0", "limit=1.5", "channel=a/b", "channel=%00", fmt.Sprintf("channel=%s", strings.Repeat("c", 129))} {
		if code, body := f.call(t, http.MethodGet, "/v1/deliveries?"+q, ""); code != http.StatusBadRequest || errorCode(body) == "" {
			t.Errorf("GET /v1/deliveries?%s: %d %s, want 400", q, code, body)
		}
	}
}

// TestDeliveriesBounded fills the outbox past one page of the scan: the
// answer holds limit messages, counts all.
func TestDeliveriesBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 1200
	var ops []clientv3.Op
	for i := range n {
		e := outbox.Entry{Message: sdk.Message{ID: fmt.Sprintf("msg_%05d", i), Trigger: "t", Step: "default"},
			Partition: i % 7, Channel: "email", NextAttemptAt: t0.Add(time.Duration(n-i) * time.Second)}
		v, _ := e.Encode()
		ops = append(ops, clientv3.OpPut(f.st.Key(outbox.KeyParts(i%7, e.Message.ID)...), v))
		if len(ops) == 100 {
			if _, err := f.st.Client().Txn(t.Context()).Then(ops...).Commit(); err != nil {
				t.Fatal(err)
			}
			ops = nil
		}
	}
	var d admin.Deliveries
	f.get(t, "/v1/deliveries", http.StatusOK, &d)
	if len(d.Pending) != 100 || d.Channels["email"] != n || d.Total != n || !d.Complete {
		t.Fatalf("%d pending, channels %v, total %d", len(d.Pending), d.Channels, d.Total)
	}
	// The earliest next attempt is the last one written.
	if d.Pending[0].ID != fmt.Sprintf("msg_%05d", n-1) || d.Pending[99].ID != fmt.Sprintf("msg_%05d", n-100) {
		t.Fatalf("first %s, last %s", d.Pending[0].ID, d.Pending[99].ID)
	}
	f.get(t, "/v1/deliveries?limit=1000", http.StatusOK, &d)
	if len(d.Pending) != 1000 {
		t.Fatalf("limit 1000: %d", len(d.Pending))
	}
}
