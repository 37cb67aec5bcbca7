package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// visit is a page view by customer id, with traits (nil: none).
func visit(id string, traits map[string]any) sdk.Event {
	return sdk.Event{Type: "page.viewed", Customer: person(id), Traits: traits,
		Properties: map[string]any{"url": "https://shop.example/"}}
}

func TestWelcomeBack(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("back after 75 days: welcomed once, nothing while away", func(t *testing.T) {
		s := journey(t, "welcome_back.hcl")
		s.sendEvent(visit("c-1", nil))
		s.advanceTo(75 * day)
		s.expect()
		s.sendEvent(visit("c-1", nil))
		s.expect("+75d c-1 welcome_back/welcome_back email sent")
		s.advance(time.Hour)
		s.send("order.placed", "c-1", map[string]any{"order_id": "o-1", "value": 25.0})
		s.advance(30 * day)
		s.expect()
	})
	t.Run("a minute short of 60 days is not away; the clock starts over", func(t *testing.T) {
		s := journey(t, "welcome_back.hcl")
		s.sendEvent(visit("c-1", nil))
		s.advanceTo(60*day - time.Minute)
		s.send("product.viewed", "c-1", map[string]any{"product_id": "p-1"})
		s.advanceTo(119 * day)
		s.sendEvent(visit("c-1", nil))
		s.expect()
		s.advanceTo(179*day + time.Minute)
		s.send("order.placed", "c-1", map[string]any{"order_id": "o-1", "value": 25.0})
		s.expect("+179d1m c-1 welcome_back/welcome_back email sent")
	})
	t.Run("our own emails' events are not a return", func(t *testing.T) {
		s := journey(t, "welcome_back.hcl")
		s.sendEvent(visit("c-1", nil))
		s.advanceTo(70 * day)
		s.send("email.opened", "c-1", nil)
		s.send("email.clicked", "c-1", map[string]any{"url": "https://shop.example/new"})
		s.send("customer.updated", "c-1", nil)
		s.expect()
		s.advanceTo(80 * day)
		s.send("search.performed", "c-1", map[string]any{"query": "mugs"})
		s.expect("+80d c-1 welcome_back/welcome_back email sent")
	})
	t.Run("at most one welcome back in 180 days", func(t *testing.T) {
		s := journey(t, "welcome_back.hcl")
		s.sendEvent(visit("c-1", nil))
		s.advanceTo(75 * day)
		s.sendEvent(visit("c-1", nil))
		s.advanceTo(140 * day)
		s.sendEvent(visit("c-1", nil))
		s.expect(
			"+75d c-1 welcome_back/welcome_back email sent",
			"+140d c-1 welcome_back/welcome_back email suppressed (frequency_cap)",
		)
	})
	t.Run("back at 23:30 in Paris: welcomed at 08:00 Paris time", func(t *testing.T) {
		s := journey(t, "welcome_back.hcl")
		s.sendEvent(visit("c-1", map[string]any{"timezone": "Europe/Paris"}))
		// 22:30 UTC on 21 March is 23:30 in Paris; 08:00 there is 07:00 UTC.
		s.advanceTo(75*day + 13*time.Hour + 30*time.Minute)
		s.sendEvent(visit("c-1", nil))
		s.expect("+75d13h30m c-1 welcome_back/welcome_back email deferred (quiet_hours) until +75d22h")
	})
	t.Run("the template renders from what the events carry", func(t *testing.T) {
		s := journey(t, "welcome_back.hcl")
		ev := visit("c-1", nil)
		s.sendEvent(ev)
		profile := s.customer("c-1").Profile
		c := renderTemplate(t, "welcome_back.hcl", "welcome_back_email", &render.Data{
			Customer: profile, Event: ev, Trigger: "welcome_back", Step: "welcome_back",
			Fire: map[string]any{"step": "welcome_back", "last_active_at": "2026-01-05T09:00:00Z",
				"inactive_days": 75.0, "steps_fired": 1.0, "last_step": "away"},
		})
		if !strings.HasPrefix(c.Text, "Hi there,") || !strings.Contains(c.Text, "it's been 75 days!") {
			t.Errorf("text:\n%s", c.Text)
		}
	})
}
