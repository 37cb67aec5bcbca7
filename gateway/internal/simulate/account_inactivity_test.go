package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

func TestAccountInactivity(t *testing.T) {
	day := 24 * time.Hour

	t.Run("nudge at 30 days, last call at 60, then silence", func(t *testing.T) {
		s := journey(t, "account_inactivity.hcl")
		s.sendEvent(sdk.Event{Type: "account.signed_in", Customer: person("c-1"), Traits: map[string]any{"first_name": "Ana"}})
		s.advanceTo(30*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+30d c-1 account_inactivity/nudge email sent")
		s.advanceTo(60*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+60d c-1 account_inactivity/last_call email sent")
		s.advance(200 * day)
		s.expect()

		profile := s.customer("c-1").Profile
		for _, tc := range []struct{ template, step, subject, text string }{
			{"account_inactivity_nudge", "nudge", "Ana, here's what you've missed", "It's been 30 days since"},
			{"account_inactivity_last_call", "last_call", "Should we stop writing?", "in 60 days"},
		} {
			days := 30.0
			if tc.step == "last_call" {
				days = 60
			}
			c := renderTemplate(t, "account_inactivity.hcl", tc.template, &render.Data{
				Customer: profile, Event: sdk.Event{Type: sdk.TimerFired}, Trigger: "account_inactivity", Step: tc.step,
				Fire: map[string]any{"step": tc.step, "last_active_at": "2026-01-05T09:00:00Z", "inactive_days": days, "last_event_id": "sim_000001"},
			})
			if c.Subject != tc.subject || !strings.Contains(c.Text, tc.text) {
				t.Errorf("%s rendered %q / %q", tc.template, c.Subject, c.Text)
			}
		}
	})

	t.Run("a visit restarts the clock: no last call for who came back", func(t *testing.T) {
		s := journey(t, "account_inactivity.hcl")
		s.send("account.signed_in", "c-1", nil)
		s.advanceTo(45 * day)
		s.send("page.viewed", "c-1", map[string]any{"path": "/dashboard"})
		s.advanceTo(75*day - time.Minute)
		s.expect("+30d c-1 account_inactivity/nudge email sent")
		s.advance(time.Minute)
		s.expect("+75d c-1 account_inactivity/nudge email sent")
	})

	t.Run("our own email events are not visits", func(t *testing.T) {
		s := journey(t, "account_inactivity.hcl")
		s.send("email.delivered", "c-2", nil) // never visited: never tracked
		s.send("account.signed_in", "c-1", nil)
		s.advanceTo(20 * day)
		s.send("email.opened", "c-1", nil)
		s.send("email.unsubscribed", "c-1", nil)
		s.advanceTo(100 * day)
		s.expect(
			"+30d c-1 account_inactivity/nudge email suppressed (consent)",
			"+60d c-1 account_inactivity/last_call email suppressed (consent)",
		)
	})

	t.Run("a monthly visitor gets at most two in 90 days", func(t *testing.T) {
		s := journey(t, "account_inactivity.hcl")
		s.send("account.signed_in", "c-1", nil)
		s.advanceTo(31 * day)
		s.send("account.signed_in", "c-1", nil)
		s.advanceTo(62 * day)
		s.send("account.signed_in", "c-1", nil)
		s.advanceTo(93 * day)
		s.expect(
			"+30d c-1 account_inactivity/nudge email sent",
			"+61d c-1 account_inactivity/nudge email sent",
			"+92d c-1 account_inactivity/nudge email suppressed (frequency_cap)",
		)
	})

	t.Run("due at 22:00 in Tokyo, deferred to 08:00 there", func(t *testing.T) {
		s := journey(t, "account_inactivity.hcl")
		s.advanceTo(4 * time.Hour) // 13:00 UTC, 22:00 in Tokyo
		s.sendEvent(sdk.Event{Type: "account.signed_in", Customer: person("c-1"), Traits: map[string]any{"timezone": "Asia/Tokyo"}})
		s.send("account.signed_in", "c-2", nil) // UTC: 13:00 is daytime
		s.advanceTo(31 * day)
		s.expect(
			"+30d4h c-1 account_inactivity/nudge email deferred (quiet_hours) until +30d14h",
			"+30d4h c-2 account_inactivity/nudge email sent",
		)
	})
}
