package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// anniversaryOrder sends an order.placed for customer id that occurred at
// the given time (zero: now), with traits (may be nil).
func anniversaryOrder(s *scenario, id, orderID string, occurred time.Time, traits map[string]any) {
	s.t.Helper()
	s.sendEvent(sdk.Event{Type: "order.placed", Customer: person(id), OccurredAt: occurred, Traits: traits,
		Properties: map[string]any{"order_id": orderID, "value": 80.0, "currency": "AUD"}})
}

func TestPurchaseAnniversary(t *testing.T) {
	t.Run("first order's anniversary at 10:00 in Sydney, every year", func(t *testing.T) {
		s := journey(t, "purchase_anniversary.hcl")
		// 2026-01-05 20:00 in Sydney (UTC+11 in January).
		anniversaryOrder(s, "c-1", "o-1", time.Time{}, map[string]any{"first_name": "Mia", "timezone": "Australia/Sydney"})
		s.advance(30 * 24 * time.Hour)
		anniversaryOrder(s, "c-1", "o-2", time.Time{}, nil) // a later order does not move it
		// 2027-01-05 10:00 in Sydney is 2027-01-04 23:00 UTC.
		s.advanceTo(364*24*time.Hour + 13*time.Hour + 59*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+364d14h c-1 purchase_anniversary/anniversary email sent")

		c := renderTemplate(t, "purchase_anniversary.hcl", "purchase_anniversary_thanks", &render.Data{
			Customer: s.customer("c-1").Profile, Event: lifecycleTimerEvent("purchase_anniversary"),
			Trigger: "purchase_anniversary", Step: "anniversary",
			Fire: map[string]any{"date": "2026-01-05", "occurs_on": "2027-01-05", "years": 1.0},
		})
		if c.Subject != "Happy anniversary, Mia - thank you!" || !strings.Contains(c.Text, "On 2026-01-05 you placed your first order with us,\n1 year(s) ago today.") {
			t.Errorf("rendered %q / %q", c.Subject, c.Text)
		}

		s.advanceTo(729*24*time.Hour + 14*time.Hour)
		s.expect("+729d14h c-1 purchase_anniversary/anniversary email sent")
	})

	t.Run("an order at midnight UTC counts on the customer's local date", func(t *testing.T) {
		s := journey(t, "purchase_anniversary.hcl")
		s.advanceTo(15 * time.Hour)
		// 2026-01-06 00:00 UTC is 2026-01-05 16:00 in Los Angeles: the
		// anniversary is on 5 January, 10:00 there (18:00 UTC).
		anniversaryOrder(s, "c-1", "o-1", time.Time{}, map[string]any{"timezone": "America/Los_Angeles"})
		s.advanceTo(365*24*time.Hour + 9*time.Hour)
		s.expect("+365d9h c-1 purchase_anniversary/anniversary email sent")
	})

	t.Run("an earlier order that arrives late takes the first place", func(t *testing.T) {
		s := journey(t, "purchase_anniversary.hcl")
		s.advanceTo(10 * 24 * time.Hour)
		anniversaryOrder(s, "c-1", "o-2", time.Time{}, nil)
		s.advance(time.Hour)
		anniversaryOrder(s, "c-1", "o-1", scenarioStart, nil) // placed on day 0, imported late
		s.advanceTo(365*24*time.Hour + time.Hour)
		s.expect("+365d1h c-1 purchase_anniversary/anniversary email sent")
		s.advanceTo(375*24*time.Hour + 2*time.Hour)
		s.expect()
	})

	t.Run("a deleted customer gets no anniversary", func(t *testing.T) {
		s := journey(t, "purchase_anniversary.hcl")
		anniversaryOrder(s, "c-1", "o-1", time.Time{}, nil)
		s.advance(200 * 24 * time.Hour)
		s.send("customer.deleted", "c-1", nil)
		s.advance(400 * 24 * time.Hour)
		s.expect()
	})

	t.Run("unsubscribed: suppressed for consent", func(t *testing.T) {
		s := journey(t, "purchase_anniversary.hcl")
		anniversaryOrder(s, "c-1", "o-1", time.Time{}, nil)
		s.advance(100 * 24 * time.Hour)
		s.send("email.unsubscribed", "c-1", nil)
		s.advanceTo(365*24*time.Hour + time.Hour)
		s.expect("+365d1h c-1 purchase_anniversary/anniversary email suppressed (consent)")
	})
}
