package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

func TestPasswordReset(t *testing.T) {
	t.Run("every reset sends its own notice at once", func(t *testing.T) {
		s := journey(t, "password_reset.hcl")
		s.send("account.password_reset", "c-1", nil)
		s.expect("+0 c-1 password_reset/confirmation email sent")
		s.advance(10 * time.Minute)
		s.send("account.password_reset", "c-1", map[string]any{"ip": "203.0.113.7"})
		s.advance(24 * time.Hour)
		s.expect("+10m c-1 password_reset/confirmation email sent")
	})
	t.Run("a redelivered event is a duplicate", func(t *testing.T) {
		s := journey(t, "password_reset.hcl")
		ev := sdk.Event{ID: "evt_pw1", Type: "account.password_reset", Customer: person("c-1")}
		s.sendEvent(ev)
		s.advance(time.Second)
		s.sendEvent(ev)
		s.expect(
			"+0 c-1 password_reset/confirmation email sent",
			"+1s c-1 password_reset/confirmation email suppressed (duplicate)",
		)
	})
	t.Run("other account events send nothing, nor does a phone-only account", func(t *testing.T) {
		s := journey(t, "password_reset.hcl")
		s.send("account.signed_up", "c-1", nil)
		s.send("customer.updated", "c-1", nil)
		s.sendEvent(sdk.Event{Type: "account.password_reset", Customer: sdk.Customer{ID: "c-2", Phone: "+15550100222"}})
		s.expect()
	})
	t.Run("transactional: at 03:00 Tokyo time, after an unsubscribe, sent at once", func(t *testing.T) {
		s := journey(t, "password_reset.hcl")
		s.sendEvent(sdk.Event{Type: "email.unsubscribed", Customer: person("c-1"),
			Traits: map[string]any{"timezone": "Asia/Tokyo"}})
		s.advanceTo(9 * time.Hour) // 18:00 UTC = 03:00 in Tokyo
		s.send("account.password_reset", "c-1", nil)
		s.expect("+9h c-1 password_reset/confirmation email sent")
	})
	t.Run("transactional: a sixth email in a week still goes out", func(t *testing.T) {
		s := journey(t, "password_reset.hcl")
		var want []string
		for i := range 6 { // the policy allows 5 marketing emails a week
			s.advanceTo(time.Duration(i) * 24 * time.Hour)
			s.send("account.password_reset", "c-1", nil)
			want = append(want, s.offset(s.sim.Now())+" c-1 password_reset/confirmation email sent")
		}
		s.expect(want...)
	})
	t.Run("a spam complaint suppresses even the security notice", func(t *testing.T) {
		s := journey(t, "password_reset.hcl")
		s.send("email.complained", "c-1", nil)
		s.send("account.password_reset", "c-1", nil)
		s.expect("+0 c-1 password_reset/confirmation email suppressed (suppressed)")
	})
	t.Run("the template renders with and without the optional data", func(t *testing.T) {
		at := scenarioStart.Add(90 * time.Minute)
		full := renderTemplate(t, "password_reset.hcl", "password_reset", &render.Data{
			Customer: sdk.Profile{Customer: person("c-1"), Traits: map[string]any{"first_name": "Jane"}},
			Event: sdk.Event{Type: "account.password_reset", OccurredAt: at, Properties: map[string]any{
				"ip": "203.0.113.7", "device": "Firefox on Windows", "location": "Lyon, France"}},
		})
		commerceContains(t, full.Subject, "Your password was changed")
		commerceContains(t, full.Text, "Hi Jane,", "account c-1@example.com was changed on\n5 January 2026 at 10:30 UTC.",
			"Device: Firefox on Windows\nLocation: Lyon, France\nIP address: 203.0.113.7\n",
			"https://shop.example/account/password/forgot")
		bare := renderTemplate(t, "password_reset.hcl", "password_reset", &render.Data{
			Customer: sdk.Profile{Customer: person("c-1")},
			Event:    sdk.Event{Type: "account.password_reset", OccurredAt: at},
		})
		commerceContains(t, bare.Text, "Hi there,", "10:30 UTC.\n\nIf this was you")
		for _, bad := range []string{"Device", "IP address", "no value"} {
			if strings.Contains(bare.Text, bad) {
				t.Errorf("bare notice shows %q:\n%s", bad, bare.Text)
			}
		}
	})
}
