package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// commerceContains fails unless s holds every one of want.
func commerceContains(t *testing.T, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("missing %q in:\n%s", w, s)
		}
	}
}

func commerceOrder(id string, value float64) map[string]any {
	return map[string]any{"order_id": id, "order_number": 1000 + len(id), "value": value, "currency": "EUR",
		"status_url": "https://shop.example/orders/" + id,
		"items":      []any{map[string]any{"name": "Mug", "quantity": 2, "price": value / 2}}}
}

func TestOrderConfirmation(t *testing.T) {
	t.Run("sent the moment each order is placed", func(t *testing.T) {
		s := journey(t, "order_confirmation.hcl")
		s.send("order.placed", "c-1", commerceOrder("o1", 40))
		s.expect("+0 c-1 order_confirmation/confirmation email sent")
		s.advance(3 * time.Hour)
		s.send("order.placed", "c-1", commerceOrder("o2", 15))
		s.advance(7 * 24 * time.Hour)
		s.expect("+3h c-1 order_confirmation/confirmation email sent")
	})
	t.Run("a redelivered webhook sends once", func(t *testing.T) {
		s := journey(t, "order_confirmation.hcl")
		ev := sdk.Event{ID: "evt_o1", Type: "order.placed", Customer: person("c-1"), Properties: commerceOrder("o1", 40)}
		s.sendEvent(ev)
		s.advance(time.Minute)
		s.sendEvent(ev)
		s.expect(
			"+0 c-1 order_confirmation/confirmation email sent",
			"+1m c-1 order_confirmation/confirmation email suppressed (duplicate)",
		)
	})
	t.Run("other order events send nothing", func(t *testing.T) {
		s := journey(t, "order_confirmation.hcl")
		for _, typ := range []string{"order.paid", "order.fulfilled", "order.cancelled", "checkout.started"} {
			s.send(typ, "c-1", commerceOrder("o1", 40))
		}
		s.expect()
	})
	t.Run("a guest with no email gets nothing, and nothing fails", func(t *testing.T) {
		s := journey(t, "order_confirmation.hcl")
		s.sendEvent(sdk.Event{Type: "order.placed", Customer: sdk.Customer{Phone: "+15550100999"}, Properties: commerceOrder("o1", 40)})
		s.expect()
	})
	t.Run("transactional: at 03:00 local, unsubscribed, sent at once", func(t *testing.T) {
		s := journey(t, "order_confirmation.hcl")
		s.sendEvent(sdk.Event{Type: "email.unsubscribed", Customer: person("c-1"),
			Traits: map[string]any{"timezone": "America/New_York"}})
		s.advanceTo(17 * time.Hour) // 02:00 UTC = 21:00 New York: quiet hours there
		s.send("order.placed", "c-1", commerceOrder("o1", 40))
		s.advanceTo(22 * time.Hour) // 03:00 New York
		s.send("order.placed", "c-1", commerceOrder("o2", 40))
		s.expect(
			"+17h c-1 order_confirmation/confirmation email sent",
			"+22h c-1 order_confirmation/confirmation email sent",
		)
	})
	t.Run("transactional: not held back by the marketing email cap", func(t *testing.T) {
		s := journey(t, "order_confirmation.hcl")
		var want []string
		for i := range 6 { // the policy allows 5 marketing emails a week
			s.advanceTo(time.Duration(i) * time.Hour)
			s.send("order.placed", "c-1", commerceOrder("o"+string(rune('a'+i)), 10))
			want = append(want, s.offset(s.sim.Now())+" c-1 order_confirmation/confirmation email sent")
		}
		s.expect(want...)
	})
	t.Run("a hard-bounced address is suppressed", func(t *testing.T) {
		s := journey(t, "order_confirmation.hcl")
		s.send("email.bounced", "c-1", map[string]any{"bounce_type": "hard"})
		s.send("order.placed", "c-1", commerceOrder("o1", 40))
		s.expect("+0 c-1 order_confirmation/confirmation email suppressed (suppressed)")
	})
	t.Run("the template renders with and without the optional data", func(t *testing.T) {
		at := scenarioStart
		full := renderTemplate(t, "order_confirmation.hcl", "order_confirmation", &render.Data{
			Customer: sdk.Profile{Customer: person("c-1"), Traits: map[string]any{"first_name": "Jane"}},
			Event: sdk.Event{Type: "order.placed", OccurredAt: at, Properties: map[string]any{
				"order_id": "o1", "order_number": 1001.0, "value": 40.0, "currency": "EUR",
				"status_url": "https://shop.example/orders/o1",
				"items":      []any{map[string]any{"name": "Mug", "quantity": 2.0, "price": 20.0}}}},
		})
		commerceContains(t, full.Subject, "Thanks for your order #1001")
		commerceContains(t, full.Text, "Hi Jane,", "Order: #1001", "Mug × 2 at 20.00", "Total: 40.00 EUR",
			"https://shop.example/orders/o1", "5 January 2026, 09:00 UTC")
		// Stripe: no number, items or status page; no first name.
		bare := renderTemplate(t, "order_confirmation.hcl", "order_confirmation", &render.Data{
			Customer: sdk.Profile{Customer: person("c-1")},
			Event: sdk.Event{Type: "order.placed", OccurredAt: at,
				Properties: map[string]any{"order_id": "cs_test_1", "value": 19.5}},
		})
		commerceContains(t, bare.Subject, "Thanks for your order")
		commerceContains(t, bare.Text, "Hi there,", "Order: cs_test_1", "Total: 19.50\n")
		if strings.Contains(bare.Text, "no value") || strings.Contains(bare.Text, "What you ordered") {
			t.Errorf("bare order rendered placeholders:\n%s", bare.Text)
		}
	})
}
