package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// vipOrder sends an order.placed of value for customer id, with traits
// (may be nil).
func vipOrder(s *scenario, id string, value float64, traits map[string]any) {
	s.t.Helper()
	s.sendEvent(sdk.Event{Type: "order.placed", Customer: person(id), Traits: traits,
		Properties: map[string]any{"order_id": "o-" + id, "value": value, "currency": "EUR"}})
}

func TestVIPEnrolment(t *testing.T) {
	t.Run("enrolled by the order that reaches 1000, once", func(t *testing.T) {
		s := journey(t, "vip_enrolment.hcl")
		vipOrder(s, "c-1", 400, map[string]any{"first_name": "Noor"})
		s.advance(10 * 24 * time.Hour)
		vipOrder(s, "c-1", 500, nil)
		s.advance(10 * 24 * time.Hour)
		s.expect()
		vipOrder(s, "c-1", 200, nil)
		vipOrder(s, "c-2", 1000, nil) // exactly the threshold
		s.expect(
			"+20d c-1 vip_enrolment/welcome email sent",
			"+20d c-1 vip_enrolment_team/notify_team slack sent",
			"+20d c-2 vip_enrolment/welcome email sent",
			"+20d c-2 vip_enrolment_team/notify_team slack sent",
		)

		profile := s.customer("c-1").Profile
		c := renderTemplate(t, "vip_enrolment.hcl", "vip_enrolment_welcome", &render.Data{
			Customer: profile, Event: sdk.Event{Type: "order.placed", Customer: person("c-1"), Properties: map[string]any{"value": 200.0}},
			Trigger: "vip_enrolment", Step: "welcome",
			Fire: map[string]any{"condition": "customer.lifetime_value >= 1000", "entered_at": "2026-01-25T09:00:00Z", "entry": 1.0},
		})
		if c.Subject != "Welcome to VIP, Noor" || !strings.Contains(c.Text, "add\nup to 1100.00") {
			t.Errorf("rendered %q / %q", c.Subject, c.Text)
		}
		c = renderTemplate(t, "vip_enrolment.hcl", "vip_enrolment_team_notice", &render.Data{
			Customer: profile, Trigger: "vip_enrolment_team", Step: "notify_team",
			Fire: map[string]any{"condition": "customer.lifetime_value >= 1000", "entered_at": "2026-01-25T09:00:00Z", "entry": 1.0},
		})
		if want := "New VIP: c-1@example.com (c-1), lifetime spend 1100.00 over 3 orders. Enrolled 2026-01-25T09:00:00Z."; c.Text != want {
			t.Errorf("rendered %q, want %q", c.Text, want)
		}

		// A VIP stays one: later orders send nothing more.
		s.advance(24 * time.Hour)
		vipOrder(s, "c-1", 300, nil)
		s.advance(400 * 24 * time.Hour)
		vipOrder(s, "c-1", 300, nil)
		s.expect()
	})

	t.Run("an order at 23:30 in Berlin: welcome at 08:00, Slack at once", func(t *testing.T) {
		s := journey(t, "vip_enrolment.hcl")
		s.advanceTo(13*time.Hour + 30*time.Minute) // 22:30 UTC
		vipOrder(s, "c-1", 1200, map[string]any{"timezone": "Europe/Berlin"})
		s.expect(
			"+13h30m c-1 vip_enrolment/welcome email deferred (quiet_hours) until +22h",
			"+13h30m c-1 vip_enrolment_team/notify_team slack sent",
		)
	})

	t.Run("unsubscribed: no email, the team still hears", func(t *testing.T) {
		s := journey(t, "vip_enrolment.hcl")
		vipOrder(s, "c-1", 600, nil)
		s.send("email.unsubscribed", "c-1", nil)
		s.advance(24 * time.Hour)
		vipOrder(s, "c-1", 600, nil)
		s.expect(
			"+1d c-1 vip_enrolment/welcome email suppressed (consent)",
			"+1d c-1 vip_enrolment_team/notify_team slack sent",
		)
	})
}
