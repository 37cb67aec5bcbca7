package shopify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/shopify"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// TestMapping covers topics and rules the fixtures do not exercise.
func TestMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, topic, body string
		wantType          string // "" means no event
		wantDelivery      string
		wantKey           string
		props             map[string]any
		traits            map[string]any
	}{
		{
			name: "refund without a person is acknowledged", topic: "refunds/create",
			body: `{"id":509562969,"order_id":450789469,"note":"damaged","transactions":[{"kind":"refund","status":"success","amount":"41.94","currency":"USD"}]}`,
		},
		{
			name: "refund naming a person is keyed by refund id", topic: "refunds/create",
			body:     `{"id":509562969,"order_id":450789469,"email":"a@b.co","note":"damaged","transactions":[{"kind":"refund","status":"failure","amount":"9"},{"kind":"refund","status":"success","amount":"41.94","currency":"usd"}]}`,
			wantType: "order.refunded", wantDelivery: "refund:509562969", wantKey: "email:a@b.co",
			props: map[string]any{"value": 41.94, "currency": "USD", "reason": "damaged", "order_id": "450789469"},
		},
		{
			name: "refund without transactions sums its lines", topic: "refunds/create",
			body:     `{"id":5,"order_id":4,"customer":{"id":9},"refund_line_items":[{"subtotal":195.66,"total_tax":3.98}]}`,
			wantType: "order.refunded", wantDelivery: "refund:5", wantKey: "ext:shopify:9",
			props: map[string]any{"value": 199.64},
		},
		{
			name: "a later edit of a refunded order is an update", topic: "orders/updated",
			body:     `{"id":1,"email":"a@b.co","updated_at":"2024-01-02T10:00:00Z","financial_status":"refunded","refunds":[{"id":7,"created_at":"2024-01-01T10:00:00Z"}]}`,
			wantType: "order.updated", wantDelivery: "wh", wantKey: "email:a@b.co",
			props: map[string]any{"financial_status": "refunded"},
		},
		{
			name: "delivered shipment", topic: "fulfillments/update",
			body:     `{"id":3,"order_id":1,"email":"a@b.co","shipment_status":"delivered","tracking_numbers":["1Z"],"tracking_urls":["https://t/1Z"]}`,
			wantType: "order.delivered", wantDelivery: "wh", wantKey: "email:a@b.co",
			props: map[string]any{"shipment_status": "delivered", "tracking_number": "1Z", "tracking_url": "https://t/1Z", "fulfillment_id": "3"},
		},
		{
			name: "fulfilled order carries tracking of its newest fulfillment", topic: "orders/fulfilled",
			body:     `{"id":1,"email":"a@b.co","total_price":"5.00","currency":"JPY","fulfillments":[{"id":1,"tracking_number":"old"},{"id":2,"tracking_number":"new","tracking_company":"UPS"}]}`,
			wantType: "order.fulfilled", wantDelivery: "wh", wantKey: "email:a@b.co",
			props: map[string]any{"tracking_number": "new", "tracking_company": "UPS", "fulfillment_id": "2", "value": 5.0, "currency": "JPY"},
		},
		{
			name: "cancelled order", topic: "orders/cancelled",
			body:     `{"id":1,"email":"a@b.co","total_price":"10.00","currency":"USD","cancel_reason":"customer","cancelled_at":"2024-01-01T05:00:00-05:00"}`,
			wantType: "order.cancelled", wantDelivery: "wh", wantKey: "email:a@b.co",
			props: map[string]any{"reason": "customer", "cancelled_at": "2024-01-01T10:00:00Z", "value": 10.0},
		},
		{
			name: "deleted customer is known by its id only", topic: "customers/delete",
			body:     `{"id":706405506930370084,"phone":null,"addresses":[]}`,
			wantType: "customer.deleted", wantDelivery: "wh", wantKey: "ext:shopify:706405506930370084",
		},
		{
			name: "email consent", topic: "customers_email_marketing_consent/update",
			body:     `{"customer_id":706405506930370084,"email_address":"A@B.co","email_marketing_consent":{"state":"subscribed","opt_in_level":"confirmed_opt_in"}}`,
			wantType: "customer.updated", wantDelivery: "wh", wantKey: "email:a@b.co",
			traits: map[string]any{"accepts_marketing": true},
			props:  map[string]any{"consent_state": "subscribed", "customer_id": "706405506930370084"},
		},
		{
			name: "sms consent", topic: "customers_marketing_consent/update",
			body:     `{"id":7,"phone":"+1 (202) 555-0101","sms_marketing_consent":{"state":"unsubscribed"}}`,
			wantType: "customer.updated", wantDelivery: "wh", wantKey: "phone:+12025550101",
			traits: map[string]any{"accepts_sms_marketing": false},
		},
		{
			name: "customer tags and consent", topic: "customers/update",
			body:     `{"id":7,"email":"a@b.co","tags":"vip, wholesale ,","email_marketing_consent":{"state":"subscribed"}}`,
			wantType: "customer.updated", wantDelivery: "wh", wantKey: "email:a@b.co",
			traits: map[string]any{"accepts_marketing": true, "tags": []any{"vip", "wholesale"}},
		},
		{
			name: "unknown topic with a person passes through", topic: "draft_orders/create",
			body:     `{"id":12,"email":"a@b.co"}`,
			wantType: "shopify.draft_orders.create", wantDelivery: "wh", wantKey: "email:a@b.co",
			props: map[string]any{"id": "12"},
		},
		{
			name: "unknown topic without a person is acknowledged", topic: "products/update",
			body: `{"id":12,"title":"Snowboard"}`,
		},
		{
			name: "anonymous checkout falls back to its own token", topic: "checkouts/update",
			body:     `{"id":1,"token":"tok?key=x","line_items":[]}`,
			wantType: "checkout.updated", wantDelivery: "wh", wantKey: "anon:tok",
		},
	}
	a, _ := sourcetest.Build(t, testConfig, shopify.Build)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			d, err := a.Parse(request(headers(tt.topic, "wh", testSecret, body), body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantType == "" {
				if len(d.Events) != 0 {
					t.Fatalf("events = %+v, want none", d.Events)
				}
				return
			}
			if len(d.Events) != 1 {
				t.Fatalf("events = %+v, want one", d.Events)
			}
			ev := d.Events[0]
			if ev.Type != tt.wantType || ev.DeliveryID != tt.wantDelivery || ev.Customer.Key() != tt.wantKey {
				t.Errorf("event = %s %s %s, want %s %s %s", ev.Type, ev.DeliveryID, ev.Customer.Key(), tt.wantType, tt.wantDelivery, tt.wantKey)
			}
			checkSubset(t, "properties", ev.Properties, tt.props)
			checkSubset(t, "traits", ev.Traits, tt.traits)
		})
	}
}

// TestRefundViaUpdateDedupes: every orders/updated a refund causes, and the
// retry of each, commits one order.refunded.
func TestRefundViaUpdateDedupes(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, testConfig, shopify.Build)
	body := []byte(`{"id":1,"email":"a@b.co","currency":"USD","updated_at":"2024-01-01T10:00:30Z","financial_status":"partially_refunded",` +
		`"refunds":[{"id":7,"created_at":"2024-01-01T10:00:00Z","transactions":[{"kind":"refund","status":"success","amount":"5.00"}]}]}`)
	for i, wh := range []string{"wh-a", "wh-a", "wh-b"} {
		r := g.Post(t, "", headers("orders/updated", wh, testSecret, body), body)
		want := 200
		if i == 0 {
			want = 202
		}
		if r.Status != want {
			t.Fatalf("POST %d (%s): %d %s", i, wh, r.Status, r.Body)
		}
	}
	evs := g.Events(t)
	if len(evs) != 1 || evs[0].Type != "order.refunded" || evs[0].DeliveryID != "refund:7" || evs[0].Properties["value"] != 5.0 {
		t.Fatalf("events = %+v", evs)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, topic, body string
		want              error
		msg               string
	}{
		{"array body", "orders/create", `[{"id":1}]`, source.ErrBadPayload, "not a JSON object"},
		{"order without id", "orders/create", `{"email":"a@b.co"}`, source.ErrBadPayload, "has no id"},
		{"trailing data", "orders/create", `{"id":1} {}`, source.ErrBadPayload, "after the JSON value"},
		{"empty body", "orders/create", ``, source.ErrBadPayload, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			_, err := parse(t, headers(tt.topic, "wh", testSecret, body), body)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestShopDomains(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, `
source "shop" {
  kind         = "shopify"
  secret       = "s"
  shop_domains = ["Triggergate-Test.myshopify.com"]
}`, shopify.Build)
	body := []byte(`{"id":1,"email":"a@b.co"}`)
	if _, err := a.Parse(request(headers("orders/create", "wh", "s", body), body)); err != nil {
		t.Fatalf("listed shop: %v", err)
	}
	h := headers("orders/create", "wh", "s", body)
	h.Set("X-Shopify-Shop-Domain", "other.myshopify.com")
	if _, err := a.Parse(request(h, body)); !errors.Is(err, source.ErrBadSignature) || !strings.Contains(err.Error(), "other.myshopify.com") {
		t.Fatalf("other shop: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, config, want string }{
		{"no secret", `source "shop" {
  kind = "shopify"
}`, "Missing secret"},
		{"unknown attribute", `source "shop" {
  kind   = "shopify"
  secret = "s"
  signature_header = "X"
}`, "source.hcl:4"},
		{"bad shop domain", `source "shop" {
  kind         = "shopify"
  secret       = "s"
  shop_domains = ["https://x.myshopify.com"]
}`, "not a host name"},
		{"shop domains not a list", `source "shop" {
  kind         = "shopify"
  secret       = "s"
  shop_domains = {a = 1}
}`, "list of shop domains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec, _ := sourcetest.Spec(t, tt.config)
			a, diags := shopify.Build(spec)
			if !diags.HasErrors() || a != nil {
				t.Fatalf("Build succeeded, want an error mentioning %q", tt.want)
			}
			if got := diags.Error(); !strings.Contains(got, tt.want) {
				t.Fatalf("diagnostics %q do not mention %q", got, tt.want)
			}
		})
	}
}
