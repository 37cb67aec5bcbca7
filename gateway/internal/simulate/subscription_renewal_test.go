package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// renewalEvent sends a subscription event for customer id whose period
// ends at end (Stripe's current_period_end, Unix seconds); a zero end
// sends none.
func renewalEvent(s *scenario, typ, id string, end time.Time, traits map[string]any) {
	s.t.Helper()
	props := map[string]any{"subscription_id": "sub_1", "plan": "pro", "interval": "month", "value": 29.0}
	if !end.IsZero() {
		props["current_period_end"] = float64(end.Unix())
	}
	s.sendEvent(sdk.Event{Type: typ, Customer: person(id), Properties: props, Traits: traits})
}

func TestSubscriptionRenewal(t *testing.T) {
	newYork := map[string]any{"first_name": "Sam", "timezone": "America/New_York"}
	feb5 := time.Date(2026, 2, 5, 9, 0, 0, 0, time.UTC)
	mar5 := time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)

	t.Run("a week before each renewal, 10:00 in New York", func(t *testing.T) {
		s := journey(t, "subscription_renewal.hcl")
		renewalEvent(s, "subscription.created", "c-1", feb5, newYork)
		// 2026-01-29 10:00 in New York is 15:00 UTC.
		s.advanceTo(24*24*time.Hour + 5*time.Hour + 59*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+24d6h c-1 subscription_renewal/reminder email sent")

		c := renderTemplate(t, "subscription_renewal.hcl", "subscription_renewal_reminder", &render.Data{
			Customer: s.customer("c-1").Profile, Event: lifecycleTimerEvent("subscription_renewal"),
			Trigger: "subscription_renewal", Step: "reminder",
			Fire: map[string]any{"date": "2026-02-05", "occurs_on": "2026-02-05"},
		})
		if c.Subject != "Your subscription renews on 2026-02-05" || !strings.HasPrefix(c.Text, "Hi Sam,") {
			t.Errorf("rendered %q / %q", c.Subject, c.Text)
		}

		s.advanceTo(31 * 24 * time.Hour) // renewal day: the next period ends 5 March
		renewalEvent(s, "subscription.renewed", "c-1", mar5, nil)
		s.advanceTo(52*24*time.Hour + 5*time.Hour + 59*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+52d6h c-1 subscription_renewal/reminder email sent")
		s.advance(60 * 24 * time.Hour) // no renewal event: no reminder
		s.expect()
	})

	for _, typ := range []string{"subscription.cancelled", "subscription.expiring"} {
		t.Run(typ+" stops the reminder", func(t *testing.T) {
			s := journey(t, "subscription_renewal.hcl")
			renewalEvent(s, "subscription.created", "c-1", feb5, newYork)
			s.advance(10 * 24 * time.Hour)
			renewalEvent(s, typ, "c-1", feb5, nil)
			s.advance(60 * 24 * time.Hour)
			s.expect()
		})
	}

	t.Run("a plan change moving the period end moves the reminder", func(t *testing.T) {
		s := journey(t, "subscription_renewal.hcl")
		renewalEvent(s, "subscription.created", "c-1", feb5, nil)
		s.advance(2 * 24 * time.Hour)
		renewalEvent(s, "subscription.updated", "c-1", mar5, nil)
		// 2026-02-26 10:00 UTC, not 2026-01-29.
		s.advanceTo(52*24*time.Hour + time.Hour)
		s.expect("+52d1h c-1 subscription_renewal/reminder email sent")
	})

	t.Run("transactional: sent despite an unsubscribe, not past a hard bounce", func(t *testing.T) {
		s := journey(t, "subscription_renewal.hcl")
		renewalEvent(s, "subscription.created", "c-1", feb5, newYork)
		renewalEvent(s, "subscription.created", "c-2", feb5, newYork)
		s.advance(24 * time.Hour)
		s.send("email.unsubscribed", "c-1", nil)
		s.send("email.bounced", "c-2", map[string]any{"bounce_type": "hard"})
		s.advanceTo(24*24*time.Hour + 6*time.Hour)
		s.expect(
			"+24d6h c-1 subscription_renewal/reminder email sent",
			"+24d6h c-2 subscription_renewal/reminder email suppressed (suppressed)",
		)
	})
}
