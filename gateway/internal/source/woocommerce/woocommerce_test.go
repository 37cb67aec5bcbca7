package woocommerce_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/woocommerce"
)

// TestMapping covers topics and statuses the fixtures do not exercise.
func TestMapping(t *testing.T) {
	t.Parallel()
	order := func(status string) string {
		return `{"id":9,"status":"` + status + `","currency":"EUR","total":"20.00","customer_id":0,"billing":{"email":"a@b.co","phone":"+49 30 1234567"},` +
			`"refunds":[{"id":11,"reason":"broken","total":"-5.00"},{"id":10,"reason":"","total":"-15.00"}],"line_items":[{"product_id":1,"quantity":2,"total":"20.00","subtotal":"20.00"}]}`
	}
	tests := []struct {
		name, topic, body string
		wantType          string // "" means no event
		wantKey           string
		props             map[string]any
	}{
		{"processing is paid", "order.updated", order("processing"), "order.paid", "email:a@b.co",
			map[string]any{"refunded": 20.0, "reason": "broken", "value": 20.0}},
		{"cancelled", "order.updated", order("cancelled"), "order.cancelled", "email:a@b.co", map[string]any{"status": "cancelled"}},
		{"refunded is valued by its refunds", "order.updated", order("refunded"), "order.refunded", "email:a@b.co",
			map[string]any{"value": 20.0, "currency": "EUR", "reason": "broken"}},
		{"failed payment", "order.updated", order("failed"), "payment.failed", "email:a@b.co", map[string]any{"order_id": "9"}},
		{"other statuses are updates", "order.updated", order("on-hold"), "order.updated", "email:a@b.co", nil},
		{"price from total when missing", "order.created", order("pending"), "order.placed", "email:a@b.co", nil},
		{"restored order passes through", "order.restored", order("processing"), "woocommerce.order.restored", "email:a@b.co",
			map[string]any{"order_id": "9"}},
		{"deleted order names nobody", "order.deleted", `{"id":9}`, "", "", nil},
		{"deleted customer by id", "customer.deleted", `{"id":25}`, "customer.deleted", "ext:woocommerce:25", map[string]any{"customer_id": "25"}},
		{"product names nobody", "product.updated", `{"id":3,"name":"Album"}`, "", "", nil},
		{"action topic with an email", "action.woocommerce_add_to_cart", `{"action":"woocommerce_add_to_cart","arg":"x","email":"a@b.co"}`,
			"woocommerce.action.woocommerce_add_to_cart", "email:a@b.co", nil},
	}
	a, _ := sourcetest.Build(t, testConfig, woocommerce.Build)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			d, err := a.Parse(request(headers(tt.topic, "d", testSecret, body), body))
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
			if ev.Type != tt.wantType || ev.Customer.Key() != tt.wantKey || ev.DeliveryID != "d/"+bodyDigest(body) {
				t.Errorf("event = %s %s %s, want %s %s", ev.Type, ev.Customer.Key(), ev.DeliveryID, tt.wantType, tt.wantKey)
			}
			checkSubset(t, "properties", ev.Properties, tt.props)
			if tt.topic == "order.created" {
				items, _ := ev.Properties["items"].([]any)
				if it, _ := items[0].(map[string]any); it["price"] != 10.0 || ev.Customer.Phone != "+49301234567" {
					t.Errorf("items = %v, phone %q", items, ev.Customer.Phone)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, testConfig, woocommerce.Build)
	tests := []struct {
		name, topic, body string
		want              error
		msg               string
	}{
		{"array body", "order.created", `[{"id":1}]`, source.ErrBadPayload, "not a JSON object"},
		{"order without id", "order.created", `{"billing":{"email":"a@b.co"}}`, source.ErrBadPayload, "has no id"},
		{"no topic", "", `{"id":1}`, source.ErrBadPayload, "X-WC-Webhook-Topic"},
		{"hex signature", "order.created", `{"id":1}`, source.ErrBadSignature, "not a base64 HMAC-SHA256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := []byte(tt.body)
			h := headers(tt.topic, "d", testSecret, body)
			if tt.topic == "" {
				h.Del("X-WC-Webhook-Topic")
				h.Del("X-WC-Webhook-Resource")
			}
			if strings.HasPrefix(tt.name, "hex") {
				h.Set("X-WC-Webhook-Signature", strings.Repeat("0f", 32))
			}
			_, err := a.Parse(request(h, body))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
}

// TestTopicFromResourceAndEvent: without X-WC-Webhook-Topic the topic is
// X-WC-Webhook-Resource "." X-WC-Webhook-Event.
func TestTopicFromResourceAndEvent(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, testConfig, woocommerce.Build)
	body := []byte(`{"id":25,"email":"a@b.co"}`)
	h := headers("customer.created", "", testSecret, body)
	h.Del("X-WC-Webhook-Topic")
	h.Del("X-WC-Webhook-Delivery-ID")
	d, err := a.Parse(request(h, body))
	if err != nil || len(d.Events) != 1 || d.Events[0].Type != "customer.created" || d.Events[0].DeliveryID != "sha256/"+bodyDigest(body) {
		t.Fatalf("delivery = %+v, %v", d, err)
	}
}

// TestEntityEncodedSecret: WooCommerce signs with the secret's HTML
// entities decoded, so a secret configured in its encoded form verifies.
func TestEntityEncodedSecret(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, `
source "store" {
  kind   = "woocommerce"
  secret = "a&amp;b&#039;c"
}`, woocommerce.Build)
	body := []byte(`{"id":25,"email":"a@b.co"}`)
	if _, err := a.Parse(request(headers("customer.created", "d", "a&b'c", body), body)); err != nil {
		t.Fatalf("decoded secret: %v", err)
	}
	if _, err := a.Parse(request(headers("customer.created", "d", "a&amp;b&#039;c", body), body)); err != nil {
		t.Fatalf("secret as configured: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, config, want string }{
		{"no secret", `source "store" {
  kind = "woocommerce"
}`, "Missing secret"},
		{"unknown attribute", `source "store" {
  kind   = "woocommerce"
  secret = "s"
  insecure_skip_verify = true
}`, "source.hcl:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec, _ := sourcetest.Spec(t, tt.config)
			a, diags := woocommerce.Build(spec)
			if !diags.HasErrors() || a != nil {
				t.Fatalf("Build succeeded, want an error mentioning %q", tt.want)
			}
			if got := diags.Error(); !strings.Contains(got, tt.want) {
				t.Fatalf("diagnostics %q do not mention %q", got, tt.want)
			}
		})
	}
}
