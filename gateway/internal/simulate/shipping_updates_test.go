package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// commerceShipment is a Shopify-style fulfillment of an order.
func commerceShipment(orderID, status string) map[string]any {
	p := map[string]any{"order_id": orderID, "fulfillment_id": "f-" + orderID,
		"tracking_number": "1Z999", "tracking_url": "https://track.example/1Z999", "tracking_company": "UPS"}
	if status != "" {
		p["shipment_status"] = status
	}
	return p
}

func TestShippingUpdates(t *testing.T) {
	t.Run("shipped, then delivered, one email each however many scans", func(t *testing.T) {
		s := journey(t, "shipping_updates.hcl")
		s.send("order.placed", "c-1", commerceOrder("o1", 40))
		s.advanceTo(26 * time.Hour)
		s.send("order.fulfilled", "c-1", commerceShipment("o1", ""))
		s.expect("+1d2h c-1 shipping_updates_shipped/shipped email sent")
		// Carrier scans arrive as further order.fulfilled events.
		for _, status := range []string{"confirmed", "in_transit", "out_for_delivery"} {
			s.advance(12 * time.Hour)
			s.send("order.fulfilled", "c-1", commerceShipment("o1", status))
		}
		s.expect()
		s.advanceTo(3*24*time.Hour + 5*time.Hour)
		s.send("order.delivered", "c-1", commerceShipment("o1", "delivered"))
		s.advance(time.Hour)
		s.send("order.delivered", "c-1", commerceShipment("o1", "delivered")) // replayed with a new id
		s.expect("+3d5h c-1 shipping_updates_delivered/delivered email sent")
	})
	t.Run("orders/fulfilled and fulfillments/create for one order: one email", func(t *testing.T) {
		s := journey(t, "shipping_updates.hcl")
		s.send("order.fulfilled", "c-1", map[string]any{"order_id": "o1", "order_number": 1001})
		s.send("order.fulfilled", "c-1", commerceShipment("o1", ""))
		s.expect("+0 c-1 shipping_updates_shipped/shipped email sent")
	})
	t.Run("each order gets its own emails", func(t *testing.T) {
		s := journey(t, "shipping_updates.hcl")
		s.send("order.fulfilled", "c-1", commerceShipment("o1", ""))
		s.advance(time.Minute)
		s.send("order.fulfilled", "c-1", commerceShipment("o2", ""))
		s.send("order.delivered", "c-1", commerceShipment("o1", "delivered"))
		s.expect(
			"+0 c-1 shipping_updates_shipped/shipped email sent",
			"+1m c-1 shipping_updates_shipped/shipped email sent",
			"+1m c-1 shipping_updates_delivered/delivered email sent",
		)
	})
	t.Run("the same order fulfilled again 30 days later emails again", func(t *testing.T) {
		s := journey(t, "shipping_updates.hcl")
		s.send("order.fulfilled", "c-1", commerceShipment("o1", ""))
		s.advanceTo(30*24*time.Hour - time.Minute)
		s.send("order.fulfilled", "c-1", commerceShipment("o1", "in_transit"))
		s.advanceTo(30 * 24 * time.Hour)
		s.send("order.fulfilled", "c-1", commerceShipment("o1", "in_transit"))
		s.expect(
			"+0 c-1 shipping_updates_shipped/shipped email sent",
			"+30d c-1 shipping_updates_shipped/shipped email sent",
		)
	})
	t.Run("events without an order id or an email send nothing", func(t *testing.T) {
		s := journey(t, "shipping_updates.hcl")
		s.send("order.fulfilled", "c-1", map[string]any{"tracking_number": "1Z999"})
		s.sendEvent(sdk.Event{Type: "order.fulfilled", Customer: sdk.Customer{ID: "c-2", Phone: "+15550100222"},
			Properties: commerceShipment("o2", "")})
		s.expect()
	})
	t.Run("transactional: at 23:30 Paris time, after an unsubscribe, sent at once", func(t *testing.T) {
		s := journey(t, "shipping_updates.hcl")
		s.sendEvent(sdk.Event{Type: "email.unsubscribed", Customer: person("c-1"),
			Traits: map[string]any{"timezone": "Europe/Paris"}})
		s.advanceTo(13*time.Hour + 30*time.Minute) // 22:30 UTC = 23:30 in Paris
		s.send("order.fulfilled", "c-1", commerceShipment("o1", ""))
		s.expect("+13h30m c-1 shipping_updates_shipped/shipped email sent")
	})
	t.Run("a hard-bounced address is suppressed", func(t *testing.T) {
		s := journey(t, "shipping_updates.hcl")
		s.send("email.bounced", "c-1", map[string]any{"bounce_type": "hard"})
		s.send("order.fulfilled", "c-1", commerceShipment("o1", ""))
		s.send("order.delivered", "c-1", commerceShipment("o1", "delivered"))
		s.expect(
			"+0 c-1 shipping_updates_shipped/shipped email suppressed (suppressed)",
			"+0 c-1 shipping_updates_delivered/delivered email suppressed (suppressed)",
		)
	})
	t.Run("the templates render with and without the optional data", func(t *testing.T) {
		at := scenarioStart.Add(2 * 24 * time.Hour)
		jane := sdk.Profile{Customer: person("c-1"), Traits: map[string]any{"first_name": "Jane"}}
		shopify := commerceShipment("o1", "")
		shopify["items"] = []any{map[string]any{"name": "Mug", "quantity": 2.0}}
		shopify["fulfillment_name"] = "#1001.1"
		full := renderTemplate(t, "shipping_updates.hcl", "shipping_updates_shipped", &render.Data{
			Customer: jane, Event: sdk.Event{Type: "order.fulfilled", OccurredAt: at, Properties: shopify},
			Fire: map[string]any{"count": 1.0, "key": "o1", "window": "720h0m0s"},
		})
		commerceContains(t, full.Subject, "Your order is on its way")
		commerceContains(t, full.Text, "Hi Jane,\n\nGood news: your order #1001.1 has shipped.\n", "Mug × 2",
			"Track your parcel: https://track.example/1Z999\nTracking number: 1Z999 (UPS)\n\nWe will email you")
		// WooCommerce "completed": a number, no tracking.
		woo := renderTemplate(t, "shipping_updates.hcl", "shipping_updates_shipped", &render.Data{
			Customer: sdk.Profile{Customer: person("c-1")},
			Event: sdk.Event{Type: "order.fulfilled", OccurredAt: at,
				Properties: map[string]any{"order_id": "57", "order_number": "57"}},
		})
		commerceContains(t, woo.Text, "Hi there,\n\nGood news: your order #57 has shipped.\n\nWe will email you")
		if strings.Contains(woo.Text, "Track") || strings.Contains(woo.Text, "no value") {
			t.Errorf("untracked shipment shows tracking:\n%s", woo.Text)
		}
		partial := renderTemplate(t, "shipping_updates.hcl", "shipping_updates_shipped", &render.Data{
			Event: sdk.Event{Type: "order.fulfilled", OccurredAt: at,
				Properties: map[string]any{"order_id": "450789469", "order_name": "#1001", "order_number": 1001.0, "partial": true}},
		})
		commerceContains(t, partial.Subject, "Part of your order is on its way")
		commerceContains(t, partial.Text, "\nPart of your order #1001 has shipped; we will let you know when the rest follows.\n")

		delivered := renderTemplate(t, "shipping_updates.hcl", "shipping_updates_delivered", &render.Data{
			Customer: jane, Event: sdk.Event{Type: "order.delivered", OccurredAt: at, Properties: commerceShipment("o1", "delivered")},
		})
		commerceContains(t, delivered.Text, "Hi Jane,", "The carrier (UPS) reports that your order o1 was delivered on Wednesday 7 January.")
		bare := renderTemplate(t, "shipping_updates.hcl", "shipping_updates_delivered", &render.Data{
			Event: sdk.Event{Type: "order.delivered", OccurredAt: at, Properties: map[string]any{"order_id": "o1"}},
		})
		commerceContains(t, bare.Text, "Hi there,", "The carrier reports that your order o1 was delivered")
	})
}
