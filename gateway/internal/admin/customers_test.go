package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/sdk"
)

// oddID is a customer id with every character that needs care in a path.
const oddID = "a:b@c+d/e f%"

func customerPath(key string, rest ...string) string {
	return "/v1/customers/" + url.PathEscape(key) + strings.Join(rest, "")
}

func TestCustomer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	odd := sdk.Customer{ID: oddID, Email: "jane+news@example.com"}
	f.send(t,
		sdk.Event{ID: "e1", Type: "cart.updated", Customer: odd, Traits: map[string]any{"first_name": "Jane"}},
		sdk.Event{ID: "e2", Type: "page.viewed", Customer: odd},
		sdk.Event{ID: "e3", Type: "order.placed", Customer: sdk.Customer{ExternalIDs: map[string]string{"shopify": "123"}}},
	)

	var v engine.CustomerView
	f.get(t, customerPath("id:"+oddID), http.StatusOK, &v)
	if v.Key != "id:"+oddID || v.Profile.Traits["first_name"] != "Jane" || v.Rules["cart"] != "2" {
		t.Fatalf("customer = %+v", v)
	}
	if tm, ok := v.Timers["cart"]["remind"]; !ok || !tm.At.Equal(t0.Add(time.Hour)) {
		t.Fatalf("timers = %+v", v.Timers)
	}
	if len(v.Trace) != 2 || v.Trace[0].Rule != "cart" || v.Trace[0].Outcome != "sent" || v.Trace[0].EventID != "e1" {
		t.Fatalf("trace = %+v", v.Trace)
	}
	// Any identifier finds the record; keys with ':' in the value too.
	f.get(t, customerPath("email:jane+news@example.com"), http.StatusOK, &v)
	if v.Key != "id:"+oddID {
		t.Fatalf("by email: record %q", v.Key)
	}
	f.get(t, customerPath("ext:shopify:123"), http.StatusOK, &v)
	if v.Key != "ext:shopify:123" || len(v.Trace) != 1 {
		t.Fatalf("ext key: %+v", v)
	}
	// ':' and '@' escaped or not are the same key.
	f.get(t, "/v1/customers/ext%3Ashopify%3A123", http.StatusOK, &v)

	if code, body := f.call(t, http.MethodGet, customerPath("id:nobody"), ""); code != http.StatusNotFound || errorCode(body) != "no_such_customer" {
		t.Fatalf("unknown customer: %d %s", code, body)
	}
	for _, p := range []string{customerPath("nobody"), customerPath("id:"), customerPath("bogus:1"), customerPath("ext:shopify"),
		customerPath("id:a\x00b"), customerPath("id:a\nb"), customerPath("id:" + strings.Repeat("x", 600)),
		customerPath(" id:c-1"), customerPath("email:Jane@example.com ")} {
		if code, body := f.call(t, http.MethodGet, p, ""); code != http.StatusBadRequest || errorCode(body) != "invalid_customer_key" {
			t.Errorf("GET %s: %d %s, want 400 invalid_customer_key", p, code, body)
		}
	}
	// An unescaped '/' splits the key: no such endpoint, not another customer.
	if code, body := f.call(t, http.MethodGet, "/v1/customers/id:a/b", ""); code != http.StatusNotFound || errorCode(body) == "" {
		t.Fatalf("unescaped slash: %d %s", code, body)
	}
}

func TestCustomerEventsAndDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := sdk.Customer{ID: "c-1"}
	f.send(t,
		sdk.Event{ID: "e1", Type: "cart.updated", Customer: c, Traits: map[string]any{"first_name": "Janet"}},
		sdk.Event{ID: "e2", Type: "page.viewed", Customer: c},
		sdk.Event{ID: "e3", Type: "page.viewed", Customer: sdk.Customer{ID: "c-2"}},
	)

	var evs admin.CustomerEvents
	f.get(t, customerPath("id:c-1", "/events"), http.StatusOK, &evs)
	if evs.Customer != "id:c-1" || len(evs.Events) != 2 || evs.Events[0].ID != "e2" || evs.Events[1].ID != "e1" ||
		evs.Events[1].Type != "cart.updated" || evs.Events[1].Source != "test" || !strings.Contains(evs.Note, "raw archive") {
		t.Fatalf("events = %+v", evs)
	}

	// Settle e1's message as the delivery worker does: remove it from the
	// outbox and append its outcome to the log.
	lg := f.log
	p := lg.Partition("id:c-1")
	msgID := outbox.MessageID("cart", "default", "id:c-1", "e1", 0)
	key := f.st.Key(outbox.KeyParts(p, msgID)...)
	resp, err := f.st.Client().Get(t.Context(), key)
	if err != nil || len(resp.Kvs) != 1 {
		all, _ := f.st.Client().Get(t.Context(), f.st.Key("outbox")+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		b, _ := f.st.Client().Get(t.Context(), f.st.Key("customers")+"/", clientv3.WithPrefix())
		t.Fatalf("e1's message %s not in the outbox: %v %v %s", key, err, all.Kvs, b.Kvs)
	}
	entry, err := outbox.Decode(resp.Kvs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Client().Delete(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	ev, _ := outbox.DeliveryEvent(entry, outbox.Delivered, "prov-42", "", 1, t0)
	f.send(t, ev)
	f.deadLetter(t, "msg_dead", "email", "id:c-1", "provider answered 550 mailbox unavailable")
	f.deadLetter(t, "msg_other", "email", "id:c-2", "not c-1's")

	var d admin.CustomerDeliveries
	body := f.get(t, customerPath("id:c-1", "/deliveries"), http.StatusOK, &d)
	if d.Customer != "id:c-1" || !d.Complete || len(d.Pending) != 1 || len(d.DeadLettered) != 1 || len(d.Settled) != 1 {
		t.Fatalf("deliveries: %s", body)
	}
	pd := d.Pending[0]
	if pd.ID != outbox.MessageID("cart", "default", "id:c-1", "e2", 0) || pd.Status != "due" || pd.Channel != "hook" ||
		pd.Rule != "cart" || pd.Step != "default" || pd.Template != "reminder" || pd.EventID != "e2" || pd.Partition != p {
		t.Fatalf("pending = %+v", pd)
	}
	if dl := d.DeadLettered[0]; dl.ID != "msg_dead" || dl.Status != "dead_lettered" || !strings.Contains(dl.Reason, "550") {
		t.Fatalf("dead lettered = %+v", dl)
	}
	if s := d.Settled[0]; s.Outcome != "delivered" || s.MessageID != msgID || !strings.Contains(s.Detail, "prov-42") {
		t.Fatalf("settled = %+v", s)
	}
	// What a message says stays out: no body, no profile, no fire data.
	for _, leak := range []string{"rendered body", "Janet", `"fire"`, `"customer": {`, `"html"`, `"text"`} {
		if strings.Contains(body, leak) {
			t.Errorf("deliveries answer holds %s:\n%s", leak, body)
		}
	}
	if code, _ := f.call(t, http.MethodGet, customerPath("id:nobody", "/deliveries"), ""); code != http.StatusNotFound {
		t.Errorf("unknown customer's deliveries: %d", code)
	}
	if code, _ := f.call(t, http.MethodGet, customerPath("nobody", "/events"), ""); code != http.StatusBadRequest {
		t.Errorf("bad key's events: %d", code)
	}
}

func TestErase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := sdk.Customer{ID: "c/1", Email: "erase-me@example.com"}
	f.send(t, sdk.Event{ID: "e1", Type: "cart.updated", Customer: c})

	// Through an identity: the record's key is what gets erased.
	code, body := f.call(t, http.MethodDelete, customerPath("email:erase-me@example.com"), "")
	var er admin.Erasure
	decode(t, body, &er)
	if code != http.StatusAccepted || er.Customer != "id:c/1" || !er.Found || !strings.HasPrefix(er.EventID, "erase_") {
		t.Fatalf("erase: %d %s", code, body)
	}
	resp, err := f.st.Client().Get(t.Context(), f.log.Prefix(f.log.Partition("id:c/1"))+er.EventID, clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("erase event not in the customer's partition: %v", err)
	}
	f.drain(t)
	if code, _ := f.call(t, http.MethodGet, customerPath("id:c/1"), ""); code != http.StatusNotFound {
		t.Fatalf("customer still there after the erasure: %d", code)
	}
	// No record: queued all the same, for events still in the log.
	code, body = f.call(t, http.MethodDelete, customerPath("id:unknown"), "")
	decode(t, body, &er)
	if code != http.StatusAccepted || er.Found || er.Customer != "id:unknown" {
		t.Fatalf("erase unknown: %d %s", code, body)
	}
	if code, body := f.call(t, http.MethodDelete, customerPath("unknown"), ""); code != http.StatusBadRequest {
		t.Fatalf("erase bad key: %d %s", code, body)
	}

	// Without the event log there is nothing to append the erasure to.
	srv := startAPI(t, f.st)
	if code, body := call(t, srv, http.MethodDelete, customerPath("id:c-2"), "Bearer "+token, ""); code != http.StatusServiceUnavailable ||
		errorCode(body) != "erase_unavailable" {
		t.Fatalf("erase without the event log: %d %s", code, body)
	}
}
