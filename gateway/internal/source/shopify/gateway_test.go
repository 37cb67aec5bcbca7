package shopify_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source/shopify"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/sdk"
)

// fixtureCase is what one shared fixture must become.
type fixtureCase struct {
	file   string
	topic  string // X-Shopify-Topic
	unwrap string // REST-resource fixtures: the key holding the object
	// none: accepted (200) without an event, the object names no person.
	none       bool
	typ        string
	deliveryID string // "" means the X-Shopify-Webhook-Id sent
	email      string
	phone      string
	shopifyID  string // Customer.ExternalIDs["shopify"]
	anonID     string
	props      map[string]any // each must equal the event's property
	traits     map[string]any // each must equal the event's trait
	items      int            // number of items; -1 not checked
	item0      map[string]any // each must equal the first item's field
}

func shopifyCases() []fixtureCase {
	return []fixtureCase{
		{
			file: "carts.create__rudder-transformer.json", topic: "carts/create",
			typ: "cart.updated", anonID: "shopify_test3",
			props: map[string]any{"cart_id": "shopify_test3", "value": 0.0, "shop_domain": testShop},
			items: 0,
		},
		{
			file: "carts.update.empty__rudder-transformer.json", topic: "carts/update",
			typ: "cart.updated", anonID: "Z2NwLXVzLWVhc3QxOjAxSjdXRjdOQjY0NlFFNFdQVEg0MTRFM1E2",
			props: map[string]any{"cart_id": "Z2NwLXVzLWVhc3QxOjAxSjdXRjdOQjY0NlFFNFdQVEg0MTRFM1E2", "value": 0.0},
			items: 0,
		},
		{
			file: "carts.update.with-properties__shopifysharp.json", topic: "carts/update",
			typ: "cart.updated", anonID: "c1-3d906b8fc6190196853b56bd73e0591f",
			props: map[string]any{"cart_id": "c1-3d906b8fc6190196853b56bd73e0591f", "value": 600.0, "currency": "USD"},
			items: 1,
			item0: map[string]any{"product_id": "8213868020002", "variant_id": "44901482430754",
				"name": "The Collection Snowboard: Hydrogen", "price": 600.0, "quantity": 1.0},
		},
		{
			file: "carts.update__shopifysharp.json", topic: "carts/update",
			typ: "cart.updated", anonID: "c1-f880804cdbfc39c683dc9fad79ab940a",
			props: map[string]any{"value": 2249.85, "currency": "USD"},
			items: 1,
			item0: map[string]any{"product_id": "8213868347682", "sku": "test-sku", "price": 749.95, "quantity": 3.0},
		},
		{
			file: "checkout.rest-resource__shopify_python_api.json", topic: "checkouts/create", unwrap: "checkout",
			typ: "checkout.started", email: "bob.norman@hostmail.com", phone: "5556251199", shopifyID: "207119551",
			anonID: "68778783ad298f1c80c3bafcddeea02f",
			props: map[string]any{
				"checkout_id": "450789469", "checkout_token": "2a1ace52255252df566af0faaedfbfa7",
				"value": 409.94, "subtotal": 398.0, "tax": 11.94, "currency": "USD", "coupon": "TENOFF",
				"recovery_url": "https://checkout.local/orders/690933842/2a1ace52255252df566af0faaedfbfa7?recovered=1",
			},
			traits: map[string]any{"first_name": "Bob", "last_name": "Norman"},
			items:  2,
			item0:  map[string]any{"product_id": "632910392", "variant_id": "49148385", "sku": "IPOD2008RED", "price": 199.0},
		},
		{
			file: "checkouts.create__rudder-transformer.json", topic: "checkouts/create",
			typ: "checkout.started", anonID: "Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ",
			props: map[string]any{
				"checkout_id": "35550298931313", "value": 600.0, "currency": "USD",
				"cart_id":      "Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ",
				"recovery_url": "https://pixel-testing-rs.myshopify.com/59026964593/checkouts/ac/Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ/recover?key=0385163be3875d3a2117e982d9cc3517&locale=en-US",
			},
			items: 1,
			item0: map[string]any{"product_id": "7234590408817", "variant_id": "41327142600817", "price": 600.0, "quantity": 1.0},
		},
		{
			file: "checkouts.update__rudder-transformer.json", topic: "checkouts/update",
			typ: "checkout.updated", email: "testuser101@gmail.com", shopifyID: "7188389789809",
			anonID: "Z2NwLXVzLWVhc3QxOjAxSjdXRjdOQjY0NlFFNFdQVEg0MTRFM1E2",
			props: map[string]any{
				"checkout_id": "35374569160817", "value": 736.85, "subtotal": 729.95, "currency": "USD",
				"recovery_url": "https://pixel-testing-rs.myshopify.com/59026964593/checkouts/ac/Z2NwLXVzLWVhc3QxOjAxSjdXRjdOQjY0NlFFNFdQVEg0MTRFM1E2/recover?key=8195f56ee0de230b3a0469cc692f3436",
			},
			traits: map[string]any{"first_name": "testuser", "last_name": "dummy"},
			items:  1,
		},
		{
			file: "customer.rest-resource__shopify_python_api.json", topic: "customers/create", unwrap: "customer",
			typ: "customer.created", email: "bob.norman@hostmail.com", shopifyID: "207119551",
			props: map[string]any{"customer_id": "207119551", "orders_count": 1.0, "total_spent": 41.94, "state": "disabled"},
			traits: map[string]any{"first_name": "Bob", "last_name": "Norman", "accepts_marketing": false,
				"city": "Louisville", "country": "US", "created_at": "2015-05-27T22:11:24Z"},
			items: -1,
		},
		{
			file: "customers.create__rudder-transformer.json", topic: "customers/create",
			typ: "customer.created", email: "anuraj@rudderstack.com", phone: "+919876543210", shopifyID: "5747017285820",
			props: map[string]any{"customer_id": "5747017285820", "currency": "INR", "verified_email": true},
			traits: map[string]any{"first_name": "Anuraj", "last_name": "Guha", "phone": "+919876543210",
				"accepts_marketing": false, "accepts_sms_marketing": false, "city": "Kolkata", "country": "IN",
				"created_at": "2021-12-29T09:45:19Z"},
			items: -1,
		},
		{
			// The REST resource has no email (a fulfillments/create webhook
			// does): nobody to message, so accepted without an event.
			file: "fulfillment.rest-resource__shopify_python_api.json", topic: "fulfillments/create", unwrap: "fulfillment",
			none: true,
		},
		{
			file: "fulfillments.update__rudder-transformer.json", topic: "fulfillments/update",
			typ: "order.fulfilled", email: "test_person@email.com",
			props: map[string]any{
				"order_id": "4617255092480", "fulfillment_id": "4124667937024", "status": "success",
				"tracking_number": "Sample001test", "tracking_company": "Amazon Logistics UK",
				"tracking_url": "https://www.amazon.co.uk/gp/help/customer/display.html?nodeId=201910530",
			},
			items: 1,
			item0: map[string]any{"product_id": "7510929801472", "sku": "15", "price": 5000.0},
		},
		{
			file: "order.rest-resource__shopify_python_api.json", topic: "orders/create", unwrap: "order",
			typ: "order.placed", email: "bob.norman@hostmail.com", phone: "5556251199", shopifyID: "207119551",
			anonID: "68778783ad298f1c80c3bafcddeea02f",
			props: map[string]any{
				"order_id": "450789469", "order_number": "1001", "value": 409.94, "subtotal": 398.0, "tax": 11.94,
				"shipping": 0.0, "discount": 0.0, "coupon": "TENOFF", "currency": "USD", "financial_status": "authorized",
			},
			items: 3,
			item0: map[string]any{"product_id": "632910392", "variant_id": "39072856", "sku": "IPOD2008GREEN", "price": 199.0},
		},
		{
			file: "orders.create__rudder-transformer.json", topic: "orders/create",
			typ: "order.placed", email: "henry@wfls.com", shopifyID: "7358220173425",
			anonID: "Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ",
			props: map[string]any{
				"order_id": "5778367414385", "order_number": "1017", "order_name": "#1017", "value": 600.0, "currency": "USD",
				"checkout_id": "35550298931313",
				"status_url":  "https://pixel-testing-rs.myshopify.com/59026964593/orders/676613a0027fc8240e16d67fdc9f5ac8/authenticate?key=a70bbe7ec8abcc46b77e4331e4df8c60",
			},
			traits: map[string]any{"first_name": "yodi", "last_name": "waffles"},
			items:  1,
			item0:  map[string]any{"product_id": "7234590408817", "variant_id": "41327142600817", "price": 600.0, "quantity": 1.0},
		},
		{
			// RudderStack stored this line item's price as a number and its
			// product_id as a string: both still read.
			file: "orders.paid__rudder-transformer.json", topic: "orders/paid",
			typ: "order.paid", email: "henry@wfls.com", shopifyID: "7358220173425",
			anonID: "Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ",
			props:  map[string]any{"order_id": "5778367414385", "value": 600.0, "subtotal": 600.0, "currency": "USD"},
			items:  1,
			item0:  map[string]any{"product_id": "7234590408817", "price": 600.0},
		},
		{
			// Shopify's sample order: the order email (jon@) wins over the
			// customer account's (john@); the billing phone "555-555-SHIP"
			// is no phone number. The ids are as RudderStack stored them
			// (precision already lost upstream).
			file: "orders.partially_fulfilled__rudder-transformer.json", topic: "orders/partially_fulfilled",
			typ: "order.fulfilled", email: "jon@example.com", shopifyID: "115310627314723950",
			props: map[string]any{
				"order_id": "820982911946154500", "order_number": "1234", "value": 388.0, "subtotal": 388.0,
				"discount": 20.0, "shipping": 10.0, "currency": "USD", "partial": true, "test": true,
				"financial_status": "voided", "fulfillment_status": "pending",
			},
			items: 2,
		},
		{
			// The update that records a refund becomes order.refunded keyed
			// by the refund id; the value is the refund transaction.
			file: "orders.updated.refunded-fulfilled__segment-functions-library.json", topic: "orders/updated",
			typ: "order.refunded", deliveryID: "refund:64844857395",
			email: "heath.osinski@developer-tools.shopifyapps.com", shopifyID: "1208265539635",
			props: map[string]any{
				"order_id": "926679892019", "order_number": "1007", "refund_id": "64844857395",
				"value": 66.0, "currency": "USD", "financial_status": "refunded",
			},
			traits: map[string]any{"first_name": "Heath", "last_name": "Osinski"},
			items:  -1,
		},
		{
			file: "orders.updated__rudder-transformer.json", topic: "orders/updated",
			typ: "order.updated", email: "henry@wfls.com", shopifyID: "7358220173425",
			anonID: "Z2NwLXVzLWVhc3QxOjAxSkJaTUVRSjgzNUJUN1BTNjEzRFdRUFFQ",
			props:  map[string]any{"order_id": "5778367414385", "value": 600.0, "currency": "USD"},
			items:  1,
		},
	}
}

// TestFixturesThroughTheGateway signs every shared Shopify fixture, posts
// it through the real ingest into the event log, and checks the event.
func TestFixturesThroughTheGateway(t *testing.T) {
	t.Parallel()
	cases := map[string]fixtureCase{}
	for _, c := range shopifyCases() {
		cases[c.file] = c
	}
	g := sourcetest.NewGateway(t, testConfig, shopify.Build)
	wantTime := time.Date(2026, 11, 22, 9, 59, 58, 123456789, time.UTC)
	for _, f := range sourcetest.Fixtures(t, "shopify") {
		c, ok := cases[f.Name]
		if !ok {
			t.Errorf("fixture %s has no test case: add one to shopifyCases", f.Name)
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			body := fixtureBody(t, f, c.unwrap)
			webhookID := "wh-" + f.Name
			r := g.Post(t, "", headers(c.topic, webhookID, testSecret, body), body)
			if c.none {
				if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"accepted":0`) {
					t.Fatalf("POST: %d %s, want 200 with no event", r.Status, r.Body)
				}
				return
			}
			if r.Status != http.StatusAccepted {
				t.Fatalf("POST: %d %s", r.Status, r.Body)
			}
			deliveryID := c.deliveryID
			if deliveryID == "" {
				deliveryID = webhookID
			}
			ev := findEvent(t, g, deliveryID)
			if ev.Type != c.typ {
				t.Errorf("type = %q, want %q", ev.Type, c.typ)
			}
			if ev.Source != "shop" || ev.SourceKind != "shopify" {
				t.Errorf("source = %q/%q", ev.Source, ev.SourceKind)
			}
			if !ev.OccurredAt.Equal(wantTime) {
				t.Errorf("occurred_at = %s, want X-Shopify-Triggered-At %s", ev.OccurredAt, wantTime)
			}
			checkCustomer(t, ev.Customer, c.email, c.phone, c.shopifyID, c.anonID)
			checkSubset(t, "properties", ev.Properties, c.props)
			checkSubset(t, "traits", ev.Traits, c.traits)
			checkItems(t, ev.Properties, c.items, c.item0)
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

func checkCustomer(t *testing.T, c sdk.Customer, email, phone, shopifyID, anonID string) {
	t.Helper()
	if c.Email != email || c.Phone != phone || c.ExternalIDs["shopify"] != shopifyID || c.AnonymousID != anonID || c.ID != "" {
		t.Errorf("customer = %+v, want email %q phone %q shopify id %q anonymous id %q", c, email, phone, shopifyID, anonID)
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

func checkItems(t *testing.T, props map[string]any, n int, first map[string]any) {
	t.Helper()
	if n < 0 {
		return
	}
	items, _ := props["items"].([]any)
	if len(items) != n {
		t.Fatalf("items = %d %v, want %d", len(items), props["items"], n)
	}
	if first != nil {
		it, _ := items[0].(map[string]any)
		checkSubset(t, "items[0]", it, first)
	}
}

// TestVerificationAndDedupe covers what the gateway answers for forged,
// rotated, repeated, malformed and mistyped deliveries.
func TestVerificationAndDedupe(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, testConfig, shopify.Build)
	body := []byte(`{"id":5778367414385,"email":"Henry@WFLS.com","total_price":"600.00","currency":"usd","customer":{"id":7358220173425}}`)
	const topic = "orders/create"

	tampered := bytes.Replace(body, []byte("600.00"), []byte("6.00"), 1)
	if r := g.Post(t, "", headers(topic, "wh-tampered", testSecret, body), tampered); r.Status != http.StatusUnauthorized ||
		!strings.Contains(string(r.Body), "bad_signature") {
		t.Errorf("tampered body: %d %s", r.Status, r.Body)
	}
	if r := g.Post(t, "", headers(topic, "wh-wrong", "not-the-secret", body), body); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d %s", r.Status, r.Body)
	}
	h := headers(topic, "wh-unsigned", testSecret, body)
	h.Del("X-Shopify-Hmac-Sha256")
	if r := g.Post(t, "", h, body); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "missing X-Shopify-Hmac-Sha256") {
		t.Errorf("unsigned: %d %s", r.Status, r.Body)
	}
	h = headers(topic, "wh-hex", testSecret, body)
	h.Set("X-Shopify-Hmac-Sha256", strings.Repeat("ab", 32)) // hex, not base64
	if r := g.Post(t, "", h, body); r.Status != http.StatusUnauthorized {
		t.Errorf("hex signature: %d %s", r.Status, r.Body)
	}

	// The previous secret still verifies during a rotation.
	if r := g.Post(t, "", headers(topic, "wh-1", oldSecret, body), body); r.Status != http.StatusAccepted {
		t.Fatalf("rotated secret: %d %s", r.Status, r.Body)
	}
	// Shopify retries with the same X-Shopify-Webhook-Id.
	if r := g.Post(t, "", headers(topic, "wh-1", testSecret, body), body); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), `"duplicate":true`) {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}

	bad := []byte(`{"id":1,"email":"a@b.c",`)
	if r := g.Post(t, "", headers(topic, "wh-bad", testSecret, bad), bad); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "not valid JSON") {
		t.Errorf("malformed JSON: %d %s", r.Status, r.Body)
	}
	h = headers(topic, "wh-form", testSecret, body)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := g.Post(t, "", h, body); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("form content type: %d %s", r.Status, r.Body)
	}
	h = headers("", "wh-notopic", testSecret, body)
	if r := g.Post(t, "", h, body); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "X-Shopify-Topic") {
		t.Errorf("no topic: %d %s", r.Status, r.Body)
	}

	evs := g.Events(t)
	if len(evs) != 1 {
		t.Fatalf("committed %d events, want 1: %+v", len(evs), evs)
	}
	ev := evs[0]
	if ev.Type != "order.placed" || ev.DeliveryID != "wh-1" || ev.Customer.Email != "henry@wfls.com" ||
		ev.Customer.ExternalIDs["shopify"] != "7358220173425" || ev.Properties["value"] != 600.0 || ev.Properties["currency"] != "USD" {
		t.Errorf("event = %+v", ev)
	}
	if _, err := json.Marshal(ev); err != nil {
		t.Fatal(err)
	}
}
