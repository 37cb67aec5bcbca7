package simulate_test

import (
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// c-5 falls in browse_abandonment's 10% holdout; c-1, c-6 and c-7 do not.

func TestBrowseAbandonment(t *testing.T) {
	mug := map[string]any{"product_id": "p1", "name": "Mug", "url": "https://shop.example/p/mug"}
	t.Run("30 minutes after the last page view", func(t *testing.T) {
		s := journey(t, "browse_abandonment.hcl")
		s.send("page.viewed", "c-1", map[string]any{"url": "https://shop.example/", "title": "Home"})
		s.advance(10 * time.Minute)
		s.send("search.performed", "c-1", map[string]any{"query": "mug"})
		s.advance(5 * time.Minute)
		s.send("product.viewed", "c-1", mug)
		s.advanceTo(44 * time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+45m c-1 browse_abandonment/exit_intent email sent")
		s.advance(24 * time.Hour)
		s.expect()
	})
	t.Run("adding to the cart or ordering stops it", func(t *testing.T) {
		s := journey(t, "browse_abandonment.hcl")
		s.send("product.viewed", "c-1", mug)
		s.send("product.viewed", "c-6", mug)
		s.send("product.viewed", "c-7", mug)
		s.advance(20 * time.Minute)
		s.send("cart.updated", "c-1", map[string]any{"cart_id": "k1", "product_id": "p1"})
		s.send("checkout.started", "c-6", map[string]any{"checkout_id": "k6"})
		s.send("order.placed", "c-7", commerceOrder("o7", 10))
		s.advance(24 * time.Hour)
		s.expect()
	})
	t.Run("anonymous visitors are not emailed", func(t *testing.T) {
		s := journey(t, "browse_abandonment.hcl")
		s.sendEvent(sdk.Event{Type: "product.viewed", Customer: sdk.Customer{AnonymousID: "anon-1"}, Properties: mug})
		s.advance(2 * time.Hour)
		s.expect()
	})
	t.Run("leaving at 20:45 in New York: deferred to 08:00 there", func(t *testing.T) {
		s := journey(t, "browse_abandonment.hcl")
		s.advanceTo(16*time.Hour + 45*time.Minute) // 01:45 UTC = 20:45 in New York
		s.sendEvent(sdk.Event{Type: "product.viewed", Customer: person("c-1"), Properties: mug,
			Traits: map[string]any{"timezone": "America/New_York"}})
		s.advance(time.Hour)
		// 08:00 in New York is 13:00 UTC.
		s.expect("+17h15m c-1 browse_abandonment/exit_intent email deferred (quiet_hours) until +1d4h")
	})
	t.Run("at most one every 3 days", func(t *testing.T) {
		s := journey(t, "browse_abandonment.hcl")
		s.send("page.viewed", "c-1", nil)
		s.advanceTo(2 * time.Hour)
		s.send("page.viewed", "c-1", nil)
		s.advanceTo(3 * 24 * time.Hour)
		s.send("page.viewed", "c-1", nil)
		s.advance(time.Hour)
		s.expect(
			"+30m c-1 browse_abandonment/exit_intent email sent",
			"+2h30m c-1 browse_abandonment/exit_intent email suppressed (frequency_cap)",
			"+3d30m c-1 browse_abandonment/exit_intent email sent",
		)
	})
	t.Run("a holdout customer gets nothing", func(t *testing.T) {
		s := journey(t, "browse_abandonment.hcl")
		s.send("product.viewed", "c-5", mug)
		s.advance(time.Hour)
		s.expect("+30m c-5 browse_abandonment/exit_intent email suppressed (holdout)")
	})
	t.Run("unsubscribed: suppressed for consent", func(t *testing.T) {
		s := journey(t, "browse_abandonment.hcl")
		s.send("email.unsubscribed", "c-1", nil)
		s.send("product.viewed", "c-1", mug)
		s.advance(time.Hour)
		s.expect("+30m c-1 browse_abandonment/exit_intent email suppressed (consent)")
	})
	t.Run("the template follows the last page viewed", func(t *testing.T) {
		render1 := func(props map[string]any) render.Content {
			fire := map[string]any{"step": "exit_intent", "event_id": "e1",
				"started_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-05T09:10:00Z"}
			if props != nil {
				fire["properties"] = props
			}
			return renderTemplate(t, "browse_abandonment.hcl", "browse_abandonment", &render.Data{
				Customer: sdk.Profile{Customer: person("c-1")}, Fire: fire, Trigger: "browse_abandonment", Step: "exit_intent",
				Event: sdk.Event{Type: sdk.TimerFired},
			})
		}
		product := render1(map[string]any{"product_id": "p1", "name": "Blue Mug", "url": "https://shop.example/p/mug"})
		commerceContains(t, product.Subject, "Still thinking about the Blue Mug?")
		commerceContains(t, product.Text, "Hi there,\n\nYou were looking at the Blue Mug. It is still here:\nhttps://shop.example/p/mug\n\nNeed a hand")
		search := render1(map[string]any{"query": "blue mug"})
		commerceContains(t, search.Subject, "Find what you were looking for?")
		commerceContains(t, search.Text, "You searched for \"blue mug\". Here is everything we have for it:\nhttps://shop.example/search?q=blue+mug\n\nNeed")
		page := render1(map[string]any{"title": "Summer sale", "url": "https://shop.example/sale"})
		commerceContains(t, page.Text, "Thanks for stopping by to look at Summer sale. Pick up where you left off:\nhttps://shop.example/sale\n\nNeed")
		// Properties over 8 KiB are left out of the fire; a page with none.
		for _, props := range []map[string]any{nil, {}} {
			bare := render1(props)
			commerceContains(t, bare.Subject, "Find what you were looking for?")
			commerceContains(t, bare.Text, "Hi there,\n\nThanks for stopping by", "https://shop.example\n\nNeed a hand")
		}
	})
}
