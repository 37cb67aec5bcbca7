package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// onboardingProgress is the customer.updated event an app sends as the
// customer sets up their account.
func onboardingProgress(id string, traits map[string]any) sdk.Event {
	return sdk.Event{Type: "customer.updated", Customer: person(id), Traits: traits}
}

func TestOnboardingDrip(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("a customer who never sets up gets every step, then the team hears", func(t *testing.T) {
		s := journey(t, "onboarding_drip.hcl")
		s.send("account.signed_up", "c-1", nil)
		s.expect("+0 c-1 onboarding_drip/getting_started email sent")
		s.advanceTo(day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+1d c-1 onboarding_drip/setup_nudge email sent")
		s.advanceTo(3*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+3d c-1 onboarding_drip/feature_tips email sent")
		s.advanceTo(5*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+5d c-1 onboarding_drip/invite_team email sent")
		s.advanceTo(7*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+7d c-1 onboarding_drip/stuck_alert slack sent")
		s.advance(60 * day)
		s.expect()
	})
	t.Run("steps already done are skipped", func(t *testing.T) {
		s := journey(t, "onboarding_drip.hcl")
		s.send("account.signed_up", "c-1", nil)
		s.advanceTo(12 * time.Hour)
		s.sendEvent(onboardingProgress("c-1", map[string]any{"setup_completed": true, "teammates_invited": 2}))
		s.advanceTo(30 * day)
		s.expect(
			"+0 c-1 onboarding_drip/getting_started email sent",
			"+3d c-1 onboarding_drip/feature_tips email sent",
		)
	})
	t.Run("setup finished after the nudge: no alert, the invite still goes", func(t *testing.T) {
		s := journey(t, "onboarding_drip.hcl")
		s.send("account.signed_up", "c-1", nil)
		s.advanceTo(2 * day)
		s.sendEvent(onboardingProgress("c-1", map[string]any{"setup_completed": true}))
		s.advanceTo(30 * day)
		s.expect(
			"+0 c-1 onboarding_drip/getting_started email sent",
			"+1d c-1 onboarding_drip/setup_nudge email sent",
			"+3d c-1 onboarding_drip/feature_tips email sent",
			"+5d c-1 onboarding_drip/invite_team email sent",
		)
	})
	t.Run("subscribing ends the drip and tells the team", func(t *testing.T) {
		s := journey(t, "onboarding_drip.hcl")
		s.send("account.signed_up", "c-1", nil)
		s.advanceTo(4 * day)
		s.send("subscription.created", "c-1", map[string]any{"subscription_id": "sub_1", "plan": "team"})
		s.advance(30 * day)
		s.expect(
			"+0 c-1 onboarding_drip/getting_started email sent",
			"+1d c-1 onboarding_drip/setup_nudge email sent",
			"+3d c-1 onboarding_drip/feature_tips email sent",
			"+4d c-1 onboarding_drip/subscribed slack sent",
		)
		// A second subscription (another plan) is no second conversion.
		s.send("subscription.created", "c-1", map[string]any{"subscription_id": "sub_2"})
		s.expect()
	})
	t.Run("deleting the account ends the drip", func(t *testing.T) {
		s := journey(t, "onboarding_drip.hcl")
		s.send("account.signed_up", "c-1", nil)
		s.advanceTo(2 * day)
		s.send("customer.deleted", "c-1", nil)
		s.advance(30 * day)
		s.expect(
			"+0 c-1 onboarding_drip/getting_started email sent",
			"+1d c-1 onboarding_drip/setup_nudge email sent",
		)
	})
	t.Run("an email over the policy's cap is held back; the Slack note is not an email", func(t *testing.T) {
		s := journey(t, "onboarding_drip.hcl", withPolicy(`
policy {
  frequency_cap "email" {
    max = 3
    per = "7d"
  }
}
`))
		s.send("account.signed_up", "c-1", nil)
		s.advanceTo(30 * day)
		s.expect(
			"+0 c-1 onboarding_drip/getting_started email sent",
			"+1d c-1 onboarding_drip/setup_nudge email sent",
			"+3d c-1 onboarding_drip/feature_tips email sent",
			"+5d c-1 onboarding_drip/invite_team email suppressed (frequency_cap)",
			"+7d c-1 onboarding_drip/stuck_alert slack sent",
		)
	})
	t.Run("templates render from what the events carry", func(t *testing.T) {
		s := journey(t, "onboarding_drip.hcl")
		s.send("account.signed_up", "c-1", nil)
		profile := s.customer("c-1").Profile
		fire := map[string]any{"instance": 1.0, "step_index": 0.0, "entered_at": "2026-01-05T09:00:00Z"}
		timer := sdk.Event{Type: sdk.TimerFired, Customer: profile.Customer}
		for _, step := range []string{"getting_started", "setup_nudge", "feature_tips", "invite_team"} {
			c := renderTemplate(t, "onboarding_drip.hcl", "onboarding_drip_"+step,
				&render.Data{Customer: profile, Event: timer, Fire: fire, Trigger: "onboarding_drip", Step: step})
			if c.Subject == "" || !strings.HasPrefix(c.Text, "Hi there,") {
				t.Errorf("%s: subject %q, text starts %q", step, c.Subject, seriesFirstLine(c.Text))
			}
		}
		c := renderTemplate(t, "onboarding_drip.hcl", "onboarding_drip_stuck_alert",
			&render.Data{Customer: profile, Event: timer, Fire: fire, Trigger: "onboarding_drip", Step: "stuck_alert"})
		if want := "c-1@example.com signed up a week ago (2026-01-05T09:00:00Z)"; !strings.Contains(c.Text, want) {
			t.Errorf("stuck_alert: %q does not contain %q", c.Text, want)
		}
		goal := map[string]any{"instance": 1.0, "entered_at": "2026-01-05T09:00:00Z", "goal": "subscription.created"}
		c = renderTemplate(t, "onboarding_drip.hcl", "onboarding_drip_subscribed",
			&render.Data{Customer: profile, Event: sdk.Event{Type: "subscription.created", Customer: profile.Customer},
				Fire: goal, Trigger: "onboarding_drip", Step: "subscribed"})
		if want := "c-1@example.com subscribed during onboarding"; !strings.Contains(c.Text, want) {
			t.Errorf("subscribed: %q does not contain %q", c.Text, want)
		}
	})
}
