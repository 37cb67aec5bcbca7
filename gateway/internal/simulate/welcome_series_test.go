package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// welcomeSignUp is an account.signed_up event for id, with traits (nil: none).
func welcomeSignUp(id string, traits map[string]any) sdk.Event {
	return sdk.Event{Type: "account.signed_up", Customer: person(id), Traits: traits}
}

func TestWelcomeSeries(t *testing.T) {
	t.Run("four emails over the first week, each on time", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.sendEvent(welcomeSignUp("c-1", nil))
		s.advance(14 * time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+15m c-1 welcome_series/welcome email sent")
		s.advanceTo(2*24*time.Hour + 14*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+2d15m c-1 welcome_series/story email sent")
		s.advanceTo(5*24*time.Hour + 14*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+5d15m c-1 welcome_series/bestsellers email sent")
		s.advanceTo(7*24*time.Hour + 15*time.Minute)
		s.expect("+7d15m c-1 welcome_series/code_reminder email sent")
		s.advance(30 * 24 * time.Hour)
		s.expect()
	})
	t.Run("the first order ends the series", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.sendEvent(welcomeSignUp("c-1", nil))
		s.advanceTo(3 * 24 * time.Hour)
		s.send("order.placed", "c-1", map[string]any{"order_id": "o-1", "value": 30.0})
		s.advance(30 * 24 * time.Hour)
		s.expect(
			"+15m c-1 welcome_series/welcome email sent",
			"+2d15m c-1 welcome_series/story email sent",
		)
	})
	t.Run("once per customer: a later sign-up event does not start it again", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.sendEvent(welcomeSignUp("c-1", nil))
		s.advanceTo(10 * 24 * time.Hour)
		s.expect(
			"+15m c-1 welcome_series/welcome email sent",
			"+2d15m c-1 welcome_series/story email sent",
			"+5d15m c-1 welcome_series/bestsellers email sent",
			"+7d15m c-1 welcome_series/code_reminder email sent",
		)
		s.send("customer.created", "c-1", nil)
		s.advance(30 * 24 * time.Hour)
		s.expect()
	})
	t.Run("a customer created by a checkout orders before the welcome", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.send("customer.created", "c-1", nil)
		s.advance(time.Minute)
		s.send("order.placed", "c-1", map[string]any{"order_id": "o-1", "value": 30.0})
		s.advance(30 * 24 * time.Hour)
		s.expect()
	})
	t.Run("a customer who ordered before signing up never enters", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.send("order.placed", "c-1", map[string]any{"order_id": "o-1", "value": 30.0})
		s.advance(time.Hour)
		s.sendEvent(welcomeSignUp("c-1", nil))
		s.advance(30 * 24 * time.Hour)
		s.expect()
	})
	t.Run("no customer email, no series", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.sendEvent(sdk.Event{Type: "account.signed_up", Customer: sdk.Customer{ID: "c-1"}})
		s.advance(30 * 24 * time.Hour)
		s.expect()
	})
	t.Run("unsubscribing ends the series", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.sendEvent(welcomeSignUp("c-1", nil))
		s.advanceTo(24 * time.Hour)
		s.send("email.unsubscribed", "c-1", nil)
		s.advance(30 * 24 * time.Hour)
		s.expect("+15m c-1 welcome_series/welcome email sent")
	})
	t.Run("a sign-up at 22:00 in New York is welcomed at 08:00 New York time", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.advanceTo(18 * time.Hour) // Tuesday 03:00 UTC, Monday 22:00 in New York
		s.sendEvent(welcomeSignUp("c-1", map[string]any{"timezone": "America/New_York"}))
		s.advance(15 * time.Minute)
		// 08:00 EST is 13:00 UTC.
		s.expect("+18h15m c-1 welcome_series/welcome email deferred (quiet_hours) until +1d4h")
		s.advanceTo(2*24*time.Hour + 18*time.Hour + 15*time.Minute)
		s.expect("+2d18h15m c-1 welcome_series/story email deferred (quiet_hours) until +3d4h")
	})
	t.Run("templates render with or without a first name", func(t *testing.T) {
		s := journey(t, "welcome_series.hcl")
		s.sendEvent(welcomeSignUp("c-1", nil))
		s.sendEvent(welcomeSignUp("c-2", map[string]any{"first_name": "Jane"}))
		for id, hi := range map[string]string{"c-1": "Hi there,", "c-2": "Hi Jane,"} {
			profile := s.customer(id).Profile
			for i, step := range []string{"welcome", "story", "bestsellers", "code_reminder"} {
				c := renderTemplate(t, "welcome_series.hcl", "welcome_series_"+step, &render.Data{
					Customer: profile, Trigger: "welcome_series", Step: step,
					Event: sdk.Event{Type: sdk.TimerFired, Customer: profile.Customer},
					Fire:  map[string]any{"instance": 1.0, "step_index": float64(i), "entered_at": "2026-01-05T09:00:00Z"},
				})
				if c.Subject == "" || !strings.HasPrefix(c.Text, hi) {
					t.Errorf("%s for %s: subject %q, text starts %q, want %q", step, id, c.Subject, seriesFirstLine(c.Text), hi)
				}
			}
		}
	})
}

// seriesFirstLine is s up to its first line break.
func seriesFirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
