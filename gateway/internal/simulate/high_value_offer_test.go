package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// highValueOrders sends one order.placed of each value for customer id,
// an hour apart.
func highValueOrders(s *scenario, id string, values ...float64) {
	s.t.Helper()
	for i, v := range values {
		if i > 0 {
			s.advance(time.Hour)
		}
		s.sendEvent(sdk.Event{Type: "order.placed", Customer: person(id),
			Properties: map[string]any{"order_id": "o-" + id, "value": v, "currency": "USD"}})
	}
}

func TestHighValueOffer(t *testing.T) {
	day := 24 * time.Hour

	t.Run("invited by the third order averaging 200", func(t *testing.T) {
		s := journey(t, "high_value_offer.hcl")
		s.sendEvent(sdk.Event{Type: "customer.created", Customer: person("c-1"), Traits: map[string]any{"first_name": "Ravi"}})
		highValueOrders(s, "c-1", 250)
		s.advance(5 * day)
		highValueOrders(s, "c-1", 250)
		s.advance(5 * day)
		s.expect()
		highValueOrders(s, "c-1", 100) // average 200: in
		s.expect("+10d c-1 high_value_offer/invitation email sent")
		s.advance(day)
		highValueOrders(s, "c-1", 400) // still in: nothing more
		s.expect()

		c := renderTemplate(t, "high_value_offer.hcl", "high_value_offer_invitation", &render.Data{
			Customer: s.customer("c-1").Profile, Event: sdk.Event{Type: "order.placed", Properties: map[string]any{"value": 100.0}},
			Trigger: "high_value_offer", Step: "invitation",
			Fire: map[string]any{"condition": "...", "entered_at": "2026-01-15T09:00:00Z", "entry": 1.0},
		})
		if c.Subject != "An exclusive offer for our best customers" || !strings.HasPrefix(c.Text, "Hi Ravi,") {
			t.Errorf("rendered %q / %q", c.Subject, c.Text)
		}
	})

	t.Run("back in the segment: again only after 90 days", func(t *testing.T) {
		s := journey(t, "high_value_offer.hcl")
		highValueOrders(s, "c-1", 250, 250, 250)
		s.expect("+2h c-1 high_value_offer/invitation email sent")
		s.advanceTo(2 * day)
		highValueOrders(s, "c-1", 50, 50) // average 170: out, silently
		s.advanceTo(30 * day)
		highValueOrders(s, "c-1", 400) // average 208: back in after 30 days
		s.advanceTo(40 * day)
		highValueOrders(s, "c-1", 50) // 186: out
		s.expect()
		s.advanceTo(100 * day)
		highValueOrders(s, "c-1", 400) // 212: back in after 98 days
		s.expect("+100d c-1 high_value_offer/invitation email sent")
	})

	t.Run("the holdout group never gets it", func(t *testing.T) {
		s := journey(t, "high_value_offer.hcl")
		// c-10 is in the trigger's 10% holdout (a hash of the rule and the
		// customer), c-1 is not.
		highValueOrders(s, "c-10", 300, 300, 300)
		highValueOrders(s, "c-1", 300, 300, 300)
		s.expect(
			"+2h c-10 high_value_offer/invitation email suppressed (holdout)",
			"+4h c-1 high_value_offer/invitation email sent",
		)
	})
}
