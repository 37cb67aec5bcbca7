package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

func TestPostPurchase(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("review request after 10 days, cross-sell a week later", func(t *testing.T) {
		s := journey(t, "post_purchase.hcl")
		s.send("order.placed", "c-1", commerceOrder("o1", 40))
		s.advanceTo(10*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+10d c-1 post_purchase/review_request email sent")
		s.advanceTo(17*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+17d c-1 post_purchase/cross_sell email sent")
		s.advance(30 * day)
		s.expect()
	})
	t.Run("a refund or a cancellation ends it", func(t *testing.T) {
		s := journey(t, "post_purchase.hcl")
		s.send("order.placed", "c-1", commerceOrder("o1", 40))
		s.send("order.placed", "c-6", commerceOrder("o6", 40))
		s.advanceTo(5 * day)
		s.send("order.refunded", "c-1", map[string]any{"order_id": "o1", "value": 40})
		s.advanceTo(12 * day) // after c-6's review request
		s.send("order.cancelled", "c-6", map[string]any{"order_id": "o6"})
		s.advance(30 * day)
		s.expect("+10d c-6 post_purchase/review_request email sent")
	})
	t.Run("a new order starts the follow-up over", func(t *testing.T) {
		s := journey(t, "post_purchase.hcl")
		s.send("order.placed", "c-1", commerceOrder("o1", 40))
		s.advanceTo(5 * day)
		s.send("order.placed", "c-1", commerceOrder("o2", 15))
		s.advance(30 * day)
		s.expect(
			"+15d c-1 post_purchase/review_request email sent",
			"+22d c-1 post_purchase/cross_sell email sent",
		)
	})
	t.Run("test orders and customers without email do not enter", func(t *testing.T) {
		s := journey(t, "post_purchase.hcl")
		test := commerceOrder("o1", 40)
		test["test"] = true
		s.send("order.placed", "c-1", test)
		s.sendEvent(sdk.Event{Type: "order.placed", Customer: sdk.Customer{ID: "c-2", Phone: "+15550100222"},
			Properties: commerceOrder("o2", 40)})
		s.advance(30 * day)
		s.expect()
	})
	t.Run("ordered at 22:30 in Berlin: each email waits for 08:00 there", func(t *testing.T) {
		s := journey(t, "post_purchase.hcl")
		s.advanceTo(12*time.Hour + 30*time.Minute) // 21:30 UTC = 22:30 in Berlin
		s.sendEvent(sdk.Event{Type: "order.placed", Customer: person("c-1"), Properties: commerceOrder("o1", 40),
			Traits: map[string]any{"timezone": "Europe/Berlin"}})
		s.advance(30 * day)
		// 08:00 in Berlin is 07:00 UTC, 22h after the scenario's start.
		s.expect(
			"+10d12h30m c-1 post_purchase/review_request email deferred (quiet_hours) until +10d22h",
			"+17d12h30m c-1 post_purchase/cross_sell email deferred (quiet_hours) until +17d22h",
		)
	})
	t.Run("unsubscribed in between: both suppressed for consent", func(t *testing.T) {
		s := journey(t, "post_purchase.hcl")
		s.send("order.placed", "c-1", commerceOrder("o1", 40))
		s.advanceTo(2 * day)
		s.send("email.unsubscribed", "c-1", nil)
		s.advance(30 * day)
		s.expect(
			"+10d c-1 post_purchase/review_request email suppressed (consent)",
			"+17d c-1 post_purchase/cross_sell email suppressed (consent)",
		)
	})
	t.Run("the templates render from the carried order, or without it", func(t *testing.T) {
		entered := map[string]any{"instance": 1.0, "step_index": 0.0, "entered_at": "2026-01-05T09:00:00Z"}
		start := map[string]any{"order_id": "o 1", "order_name": "#1001",
			"items": []any{map[string]any{"name": "Blue Mug", "product_id": "p1"}, map[string]any{"name": "Teapot"}}}
		with := func(step string, start map[string]any) render.Data {
			fire := map[string]any{}
			for k, v := range entered {
				fire[k] = v
			}
			if start != nil {
				fire["start"] = start
			}
			return render.Data{Customer: sdk.Profile{Customer: person("c-1")}, Event: sdk.Event{Type: sdk.TimerFired},
				Fire: fire, Trigger: "post_purchase", Step: step}
		}
		d := with("review_request", start)
		d.Customer.Traits = map[string]any{"first_name": "Jane"}
		review := renderTemplate(t, "post_purchase.hcl", "post_purchase_review_request", &d)
		commerceContains(t, review.Subject, "How are you getting on with your Blue Mug?")
		commerceContains(t, review.Text, "Hi Jane,\n\nYour order #1001 should have been with you for a few days now.\nYou ordered:\n  - Blue Mug\n  - Teapot\n\nWould",
			"https://shop.example/reviews/new?order=o+1\n")
		d = with("cross_sell", start)
		cross := renderTemplate(t, "post_purchase.hcl", "post_purchase_cross_sell", &d)
		commerceContains(t, cross.Text, "Hi there,\n\nCustomers who bought Blue Mug also loved these:\nhttps://shop.example/recommendations?for=p1\n\nAs a thank-you")

		// Stripe: only an id; and an order whose items were too big to carry.
		for _, start := range []map[string]any{nil, {"order_id": "cs_1"}} {
			d := with("review_request", start)
			review := renderTemplate(t, "post_purchase.hcl", "post_purchase_review_request", &d)
			commerceContains(t, review.Subject, "How are you getting on with your order?")
			commerceContains(t, review.Text, "should have been with you for a few days now.\n\nWould")
			d = with("cross_sell", start)
			cross := renderTemplate(t, "post_purchase.hcl", "post_purchase_cross_sell", &d)
			commerceContains(t, cross.Text, "\n\nWe picked a few things we think you will like:\nhttps://shop.example/recommendations\n\nAs a")
			if strings.Contains(review.Text+cross.Text, "no value") || strings.Contains(review.Text, "You ordered") {
				t.Errorf("placeholders in:\n%s\n%s", review.Text, cross.Text)
			}
		}
	})
}
