package woocommerce_test

import (
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/woocommerce"
	"github.com/triggergate/triggergate/sdk"
)

// fixtureCase is what one shared fixture must become.
type fixtureCase struct {
	file     string
	topic    string // X-WC-Webhook-Topic
	typ      string
	email    string
	phone    string
	wcID     string // Customer.ExternalIDs["woocommerce"]
	occurred time.Time
	props    map[string]any // each must equal the event's property
	traits   map[string]any // each must equal the event's trait
	items    int            // number of items; -1 not checked
	item     map[string]any // each must equal the last item's field
}

func wooCases() []fixtureCase {
	return []fixtureCase{
		{
			file: "customer.created__woocommerce-rest-api-docs.json", topic: "customer.created",
			typ: "customer.created", email: "john.doe@example.com", phone: "5555555555", wcID: "25",
			occurred: time.Date(2017, 3, 21, 19, 9, 30, 0, time.UTC),
			props:    map[string]any{"customer_id": "25", "role": "customer", "is_paying_customer": false},
			traits: map[string]any{"first_name": "John", "last_name": "Doe", "phone": "5555555555", "city": "San Francisco",
				"country": "US", "username": "john.doe", "created_at": "2017-03-21T19:09:28Z"},
			items: -1,
		},
		{
			file: "customer.updated__woocommerce-rest-api-docs.json", topic: "customer.updated",
			typ: "customer.updated", email: "john.doe@example.com", phone: "5555555555", wcID: "25",
			occurred: time.Date(2017, 3, 21, 19, 12, 28, 0, time.UTC),
			props:    map[string]any{"customer_id": "25"},
			traits:   map[string]any{"first_name": "James", "last_name": "Doe"},
			items:    -1,
		},
		{
			// A real on-hold order from a WooCommerce 5.8 store (cash on
			// delivery); its customer is registered (customer_id 1).
			file: "order.created__frappe-ecommerce_integrations.json", topic: "order.created",
			typ: "order.placed", email: "strange@erpnext.com", phone: "1234567890", wcID: "1",
			occurred: time.Date(2021, 11, 30, 7, 32, 11, 0, time.UTC),
			props: map[string]any{
				"order_id": "205", "order_number": "205", "status": "on-hold", "value": 17.7, "currency": "INR",
				"subtotal": 15.0, "tax": 2.7, "shipping": 0.0, "discount": 0.0, "payment_method": "cod", "created_via": "checkout",
			},
			traits: map[string]any{"first_name": "doctor", "last_name": "strange"},
			items:  1,
			item:   map[string]any{"product_id": "30", "sku": "woo-album", "name": "Album", "price": 15.0, "quantity": 1.0},
		},
		{
			// A guest order (customer_id 0): no external id.
			file: "order.created__woocommerce-rest-api-docs.json", topic: "order.created",
			typ: "order.placed", email: "john.doe@example.com", phone: "5555555555",
			occurred: time.Date(2017, 3, 22, 19, 28, 8, 0, time.UTC),
			props: map[string]any{
				"order_id": "727", "order_number": "727", "status": "processing", "value": 29.35, "currency": "USD",
				"subtotal": 18.0, "tax": 1.35, "shipping": 10.0, "paid_at": "2017-03-22T19:28:08Z",
			},
			items: 2,
			item: map[string]any{"product_id": "22", "variant_id": "23", "sku": "Bar3", "price": 12.0, "quantity": 1.0,
				"name": "Ship Your Idea – Color: Black, Size: M Test"},
		},
		{
			file: "order.updated__woocommerce-rest-api-docs.json", topic: "order.updated",
			typ: "order.fulfilled", email: "john.doe@example.com", phone: "5555555555",
			occurred: time.Date(2017, 3, 22, 19, 30, 35, 0, time.UTC),
			props: map[string]any{
				"order_id": "727", "status": "completed", "value": 29.35, "currency": "USD",
				"completed_at": "2017-03-22T19:30:35Z", "paid_at": "2017-03-22T19:28:08Z",
			},
			traits: map[string]any{"first_name": "John", "last_name": "Doe"},
			items:  2,
		},
	}
}

// TestFixturesThroughTheGateway signs every shared WooCommerce fixture,
// posts it through the real ingest into the event log, and checks the
// event.
func TestFixturesThroughTheGateway(t *testing.T) {
	t.Parallel()
	cases := map[string]fixtureCase{}
	for _, c := range wooCases() {
		cases[c.file] = c
	}
	g := sourcetest.NewGateway(t, testConfig, woocommerce.Build)
	for _, f := range sourcetest.Fixtures(t, "woocommerce") {
		c, ok := cases[f.Name]
		if !ok {
			t.Errorf("fixture %s has no test case: add one to wooCases", f.Name)
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			wcDelivery := "d-" + f.Name
			r := g.Post(t, "", headers(c.topic, wcDelivery, testSecret, f.Body), f.Body)
			if r.Status != http.StatusAccepted {
				t.Fatalf("POST: %d %s", r.Status, r.Body)
			}
			ev := findEvent(t, g, wcDelivery+"/"+bodyDigest(f.Body))
			if ev.Type != c.typ {
				t.Errorf("type = %q, want %q", ev.Type, c.typ)
			}
			if ev.Source != "store" || ev.SourceKind != "woocommerce" {
				t.Errorf("source = %q/%q", ev.Source, ev.SourceKind)
			}
			if !ev.OccurredAt.Equal(c.occurred) {
				t.Errorf("occurred_at = %s, want %s", ev.OccurredAt, c.occurred)
			}
			checkCustomer(t, ev.Customer, c.email, c.phone, c.wcID)
			checkSubset(t, "properties", ev.Properties, c.props)
			checkSubset(t, "traits", ev.Traits, c.traits)
			if c.items >= 0 {
				items, _ := ev.Properties["items"].([]any)
				if len(items) != c.items {
					t.Fatalf("items = %v, want %d", ev.Properties["items"], c.items)
				}
				if c.item != nil {
					last, _ := items[len(items)-1].(map[string]any)
					checkSubset(t, "last item", last, c.item)
				}
			}
		})
	}
}

func findEvent(t *testing.T, g *sourcetest.Gateway, deliveryID string) sdk.Event {
	t.Helper()
	for _, ev := range g.Events(t) {
		if ev.DeliveryID == deliveryID {
			return ev
		}
	}
	t.Fatalf("no committed event with delivery id %q", deliveryID)
	return sdk.Event{}
}

func checkCustomer(t *testing.T, c sdk.Customer, email, phone, wcID string) {
	t.Helper()
	if c.Email != email || c.Phone != phone || c.ExternalIDs["woocommerce"] != wcID || c.AnonymousID != "" || c.ID != "" {
		t.Errorf("customer = %+v, want email %q phone %q woocommerce id %q", c, email, phone, wcID)
	}
	if c.Key() == "" {
		t.Error("customer has no identity")
	}
}

func checkSubset(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s[%q] = %#v, want %#v", what, k, g, w)
		}
	}
}

// TestVerificationAndDedupe covers what the gateway answers for forged,
// rotated, repeated, malformed and mistyped deliveries, and the ping.
func TestVerificationAndDedupe(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, testConfig, woocommerce.Build)
	body := []byte(`{"id":727,"status":"processing","currency":"usd","total":"29.35","customer_id":5,"billing":{"email":"John.Doe@Example.com"}}`)
	const topic = "order.updated"

	tampered := bytes.Replace(body, []byte("29.35"), []byte("2.35"), 1)
	if r := g.Post(t, "", headers(topic, "d-t", testSecret, body), tampered); r.Status != http.StatusUnauthorized ||
		!strings.Contains(string(r.Body), "bad_signature") {
		t.Errorf("tampered body: %d %s", r.Status, r.Body)
	}
	if r := g.Post(t, "", headers(topic, "d-w", "not-the-secret", body), body); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d %s", r.Status, r.Body)
	}
	h := headers(topic, "d-u", testSecret, body)
	h.Del("X-WC-Webhook-Signature")
	if r := g.Post(t, "", h, body); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "missing X-WC-Webhook-Signature") {
		t.Errorf("unsigned: %d %s", r.Status, r.Body)
	}

	// The previous secret still verifies during a rotation.
	if r := g.Post(t, "", headers(topic, "d-1", oldSecret, body), body); r.Status != http.StatusAccepted {
		t.Fatalf("rotated secret: %d %s", r.Status, r.Body)
	}
	// The same delivery again is a duplicate.
	if r := g.Post(t, "", headers(topic, "d-1", testSecret, body), body); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), `"duplicate":true`) {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	// WooCommerce's delivery id only has one-second resolution: another
	// order in the same second shares it, and must not be lost.
	other := bytes.Replace(body, []byte(`"id":727`), []byte(`"id":728`), 1)
	if r := g.Post(t, "", headers(topic, "d-1", testSecret, other), other); r.Status != http.StatusAccepted {
		t.Fatalf("same delivery id, other order: %d %s", r.Status, r.Body)
	}

	// The ping sent when a webhook is saved: unsigned, form-encoded.
	ping := []byte("webhook_id=12")
	for _, ct := range []string{"application/x-www-form-urlencoded; charset=UTF-8", ""} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		if r := g.Post(t, "", h, ping); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"accepted":0`) {
			t.Errorf("ping with Content-Type %q: %d %s", ct, r.Status, r.Body)
		}
	}
	// Only that exact shape is exempt from the signature.
	for _, b := range []string{"webhook_id=12&x=1", "webhook_id=", "webhook_id=abc", `{"webhook_id":12}`} {
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		if strings.HasPrefix(b, "{") {
			h.Set("Content-Type", "application/json")
		}
		if r := g.Post(t, "", h, []byte(b)); r.Status != http.StatusUnsupportedMediaType && r.Status != http.StatusUnauthorized {
			t.Errorf("ping look-alike %q: %d %s", b, r.Status, r.Body)
		}
	}

	bad := []byte(`{"id":1,"billing":`)
	if r := g.Post(t, "", headers(topic, "d-bad", testSecret, bad), bad); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "not valid JSON") {
		t.Errorf("malformed JSON: %d %s", r.Status, r.Body)
	}
	h = headers(topic, "d-xml", testSecret, body)
	h.Set("Content-Type", "text/xml")
	if r := g.Post(t, "", h, body); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("xml content type: %d %s", r.Status, r.Body)
	}

	evs := g.Events(t)
	if len(evs) != 2 {
		t.Fatalf("committed %d events, want 2: %+v", len(evs), evs)
	}
	ev := evs[0]
	if ev.Type != "order.paid" || ev.DeliveryID != "d-1/"+bodyDigest(body) || ev.Customer.Email != "john.doe@example.com" ||
		ev.Customer.ExternalIDs["woocommerce"] != "5" || ev.Properties["value"] != 29.35 || ev.Properties["currency"] != "USD" {
		t.Errorf("event = %+v", ev)
	}
	if evs[1].Properties["order_id"] != "728" {
		t.Errorf("second event = %+v", evs[1])
	}
}
