package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// warrantyEvent sends a warranty event for customer id; an empty expires
// sends none.
func warrantyEvent(s *scenario, typ, id, expires string, traits map[string]any) {
	s.t.Helper()
	props := map[string]any{"warranty_id": "w-1", "product_name": "Espresso machine"}
	if expires != "" {
		props["expires_at"] = expires
	}
	s.sendEvent(sdk.Event{Type: typ, Customer: person(id), Properties: props, Traits: traits})
}

func TestWarrantyExpiry(t *testing.T) {
	chicago := map[string]any{"first_name": "Lee", "timezone": "America/Chicago"}

	t.Run("30 and 7 days before the end, 10:00 in Chicago", func(t *testing.T) {
		s := journey(t, "warranty_expiry.hcl")
		warrantyEvent(s, "warranty.registered", "c-1", "2026-03-14", chicago)
		// 2026-02-12 10:00 in Chicago (UTC-6) is 16:00 UTC.
		s.advanceTo(38*24*time.Hour + 6*time.Hour + 59*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+38d7h c-1 warranty_expiry/expiring_30d email sent")
		// 2026-03-07, 23 days later.
		s.advanceTo(61*24*time.Hour + 6*time.Hour + 59*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+61d7h c-1 warranty_expiry_final/expiring_7d email sent")
		s.advance(365 * 24 * time.Hour)
		s.expect()

		profile := s.customer("c-1").Profile
		for name, want := range map[string]string{
			"warranty_expiry_30d": "Your warranty ends on 2026-03-14: extend it now",
			"warranty_expiry_7d":  "Last week of warranty cover: it ends on 2026-03-14",
		} {
			c := renderTemplate(t, "warranty_expiry.hcl", name, &render.Data{
				Customer: profile, Event: lifecycleTimerEvent("warranty_expiry"), Trigger: "warranty_expiry",
				Fire: map[string]any{"date": "2026-03-14", "occurs_on": "2026-03-14"},
			})
			if c.Subject != want || !strings.HasPrefix(c.Text, "Hi Lee,") {
				t.Errorf("%s rendered %q / %q", name, c.Subject, c.Text)
			}
		}
	})

	t.Run("an extension after the first reminder moves the last one", func(t *testing.T) {
		s := journey(t, "warranty_expiry.hcl")
		warrantyEvent(s, "warranty.registered", "c-1", "2026-03-14", nil)
		s.advanceTo(40 * 24 * time.Hour)
		s.expect("+38d1h c-1 warranty_expiry/expiring_30d email sent")
		warrantyEvent(s, "warranty.extended", "c-1", "2027-03-14", nil)
		// Nothing about the old end of cover; the new one in a year.
		s.advanceTo(403*24*time.Hour + time.Hour - time.Minute)
		s.expect()
		s.advanceTo(426*24*time.Hour + time.Hour)
		s.expect(
			"+403d1h c-1 warranty_expiry/expiring_30d email sent",
			"+426d1h c-1 warranty_expiry_final/expiring_7d email sent",
		)
	})

	t.Run("registered with 20 days left: only the last reminder", func(t *testing.T) {
		s := journey(t, "warranty_expiry.hcl")
		warrantyEvent(s, "warranty.registered", "c-1", "2026-01-25", nil)
		s.advance(60 * 24 * time.Hour)
		s.expect("+13d1h c-1 warranty_expiry_final/expiring_7d email sent")
	})

	t.Run("a cancelled warranty sends nothing", func(t *testing.T) {
		s := journey(t, "warranty_expiry.hcl")
		warrantyEvent(s, "warranty.registered", "c-1", "2026-03-14", nil)
		s.advance(10 * 24 * time.Hour)
		warrantyEvent(s, "warranty.cancelled", "c-1", "", nil)
		s.advance(100 * 24 * time.Hour)
		s.expect()
	})

	t.Run("unsubscribed: both reminders suppressed for consent", func(t *testing.T) {
		s := journey(t, "warranty_expiry.hcl")
		warrantyEvent(s, "warranty.registered", "c-1", "2026-03-14", nil)
		s.send("email.unsubscribed", "c-1", nil)
		s.advance(100 * 24 * time.Hour)
		s.expect(
			"+38d1h c-1 warranty_expiry/expiring_30d email suppressed (consent)",
			"+61d1h c-1 warranty_expiry_final/expiring_7d email suppressed (consent)",
		)
	})
}
