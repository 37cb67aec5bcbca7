package simulate_test

import (
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// commerceProduct is a product.viewed event's properties.
func commerceProduct(id, name string) map[string]any {
	return map[string]any{"product_id": id, "name": name, "price": 25.0, "currency": "EUR",
		"url": "https://shop.example/p/" + id}
}

func TestProductViewReminder(t *testing.T) {
	t.Run("a day after the first view; viewing again does not postpone it", func(t *testing.T) {
		s := journey(t, "product_view_reminder.hcl")
		s.send("product.viewed", "c-1", commerceProduct("p1", "Mug"))
		s.advanceTo(3 * time.Hour)
		s.send("product.viewed", "c-1", commerceProduct("p1", "Mug"))
		s.advanceTo(24*time.Hour - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+1d c-1 product_view_reminder/reminder email sent")
		s.advance(7 * 24 * time.Hour)
		s.expect()
	})
	t.Run("adding that product to the cart stops its reminder only", func(t *testing.T) {
		s := journey(t, "product_view_reminder.hcl")
		s.send("product.viewed", "c-1", commerceProduct("p1", "Mug"))
		s.advance(time.Minute)
		s.send("product.viewed", "c-1", commerceProduct("p2", "Teapot"))
		s.advance(5 * time.Hour)
		s.send("cart.updated", "c-1", map[string]any{"event": "Product Added", "cart_id": "k1", "product_id": "p1"})
		s.advance(2 * 24 * time.Hour)
		s.expect("+1d1m c-1 product_view_reminder/reminder email sent")
	})
	t.Run("a cart, checkout or order without a product id stops every reminder", func(t *testing.T) {
		s := journey(t, "product_view_reminder.hcl")
		for _, id := range []string{"c-1", "c-6", "c-7"} {
			s.send("product.viewed", id, commerceProduct("p1", "Mug"))
			s.send("product.viewed", id, commerceProduct("p2", "Teapot"))
		}
		s.advance(23 * time.Hour)
		s.send("cart.updated", "c-1", map[string]any{"cart_id": "k1", "items": []any{}})
		s.send("checkout.started", "c-6", map[string]any{"checkout_id": "k6"})
		s.send("order.placed", "c-7", commerceOrder("o7", 25))
		s.advance(3 * 24 * time.Hour)
		s.expect()
	})
	t.Run("three products viewed within the hour, one email in 3 days", func(t *testing.T) {
		s := journey(t, "product_view_reminder.hcl")
		for i, p := range []string{"p1", "p2", "p3"} {
			s.advanceTo(time.Duration(i) * 20 * time.Minute)
			s.send("product.viewed", "c-1", commerceProduct(p, "Product "+p))
		}
		s.advanceTo(3 * 24 * time.Hour)
		s.send("product.viewed", "c-1", commerceProduct("p4", "Vase"))
		s.advanceTo(5 * 24 * time.Hour)
		s.expect(
			"+1d c-1 product_view_reminder/reminder email sent",
			"+1d20m c-1 product_view_reminder/reminder email suppressed (frequency_cap)",
			"+1d40m c-1 product_view_reminder/reminder email suppressed (frequency_cap)",
			"+4d c-1 product_view_reminder/reminder email sent",
		)
	})
	t.Run("viewed at 22:00 in Berlin: reminded at 08:00 Berlin time", func(t *testing.T) {
		s := journey(t, "product_view_reminder.hcl")
		s.advanceTo(12 * time.Hour) // 21:00 UTC = 22:00 in Berlin
		s.sendEvent(sdk.Event{Type: "product.viewed", Customer: person("c-1"), Properties: commerceProduct("p1", "Mug"),
			Traits: map[string]any{"timezone": "Europe/Berlin"}})
		s.advance(2 * 24 * time.Hour)
		// Due at 22:00 Berlin the next day; 08:00 Berlin is 07:00 UTC.
		s.expect("+1d12h c-1 product_view_reminder/reminder email deferred (quiet_hours) until +1d22h")
	})
	t.Run("unsubscribed in between: suppressed for consent", func(t *testing.T) {
		s := journey(t, "product_view_reminder.hcl")
		s.send("product.viewed", "c-1", commerceProduct("p1", "Mug"))
		s.advance(6 * time.Hour)
		s.send("email.unsubscribed", "c-1", nil)
		s.advance(24 * time.Hour)
		s.expect("+1d c-1 product_view_reminder/reminder email suppressed (consent)")
	})
	t.Run("anonymous visitors are not emailed", func(t *testing.T) {
		s := journey(t, "product_view_reminder.hcl")
		s.sendEvent(sdk.Event{Type: "product.viewed", Customer: sdk.Customer{AnonymousID: "anon-1"},
			Properties: commerceProduct("p1", "Mug")})
		s.advance(2 * 24 * time.Hour)
		s.expect()
	})
	t.Run("the template renders with and without the optional data", func(t *testing.T) {
		fire := func(props map[string]any) map[string]any {
			f := map[string]any{"step": "reminder", "key": "p1", "event_id": "e1",
				"started_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-05T09:00:00Z"}
			if props != nil {
				f["properties"] = props
			}
			return f
		}
		full := renderTemplate(t, "product_view_reminder.hcl", "product_view_reminder", &render.Data{
			Customer: sdk.Profile{Customer: person("c-1"), Traits: map[string]any{"first_name": "Jane"}},
			Event:    sdk.Event{Type: sdk.TimerFired}, Fire: fire(commerceProduct("p1", "Blue Mug")),
		})
		commerceContains(t, full.Subject, "Still thinking about the Blue Mug?")
		commerceContains(t, full.Text, "Hi Jane,\n\nYou had a look at the Blue Mug (25.00 EUR) recently.\n",
			"\n\nTake another look: https://shop.example/p/p1\n\nQuestions")
		idOnly := renderTemplate(t, "product_view_reminder.hcl", "product_view_reminder", &render.Data{
			Customer: sdk.Profile{Customer: person("c-1")},
			Event:    sdk.Event{Type: sdk.TimerFired}, Fire: fire(map[string]any{"product_id": "p1"}),
		})
		commerceContains(t, idOnly.Subject, "Still thinking about it?")
		commerceContains(t, idOnly.Text, "Hi there,\n\nYou had a look at one of our products recently.\nIt is still available, but we cannot promise for how long.\n\nQuestions")
		// Properties over 8 KiB are left out of the fire.
		none := renderTemplate(t, "product_view_reminder.hcl", "product_view_reminder", &render.Data{
			Customer: sdk.Profile{Customer: person("c-1")}, Event: sdk.Event{Type: sdk.TimerFired}, Fire: fire(nil),
		})
		commerceContains(t, none.Text, "https://shop.example/recently-viewed\n\nQuestions")
	})
}
