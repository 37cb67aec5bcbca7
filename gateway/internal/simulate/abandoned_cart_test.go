package simulate_test

import (
	"testing"
	"time"
)

func cart(id string, value float64) map[string]any {
	return map[string]any{"checkout_id": id, "value": value, "recovery_url": "https://shop.example/r/" + id,
		"items": []any{map[string]any{"name": "Mug", "quantity": 1, "price": value}}}
}

func TestAbandonedCart(t *testing.T) {
	t.Run("reminder after an hour, incentive a day later", func(t *testing.T) {
		s := journey(t, "abandoned_cart.hcl")
		s.send("checkout.updated", "c-1", cart("k1", 40))
		s.advance(59 * time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+1h c-1 abandoned_cart/reminder email sent")
		s.advanceTo(26 * time.Hour)
		s.expect("+1d1h c-1 abandoned_cart/incentive email sent")
		s.advance(7 * 24 * time.Hour)
		s.expect()
	})
	t.Run("an order at 59 minutes sends nothing", func(t *testing.T) {
		s := journey(t, "abandoned_cart.hcl")
		s.send("checkout.updated", "c-1", cart("k1", 40))
		s.advance(59 * time.Minute)
		s.send("order.placed", "c-1", map[string]any{"checkout_id": "k1", "value": 40})
		s.advance(3 * 24 * time.Hour)
		s.expect()
	})
	t.Run("no third email within the cap", func(t *testing.T) {
		s := journey(t, "abandoned_cart.hcl")
		s.send("checkout.updated", "c-1", cart("k1", 40))
		s.advanceTo(26 * time.Hour)
		s.send("checkout.updated", "c-1", cart("k2", 15))
		s.advanceTo(27 * time.Hour)
		s.expect(
			"+1h c-1 abandoned_cart/reminder email sent",
			"+1d1h c-1 abandoned_cart/incentive email sent",
			"+1d3h c-1 abandoned_cart/reminder email suppressed (frequency_cap)",
		)
	})
	t.Run("due at 23:00 local, deferred to 08:00", func(t *testing.T) {
		s := journey(t, "abandoned_cart.hcl")
		s.advanceTo(13 * time.Hour) // 22:00 UTC
		s.send("checkout.updated", "c-1", cart("k1", 40))
		s.advance(time.Hour)
		s.expect("+14h c-1 abandoned_cart/reminder email deferred (quiet_hours) until +23h")
	})
}
