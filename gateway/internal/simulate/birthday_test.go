package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// lifecycleTimerEvent is what a template sees as .Event for a fire that a
// date rule's timer caused: the internal timer.fired event, with none of
// the properties of the event that set the timer.
func lifecycleTimerEvent(rule string) sdk.Event {
	return sdk.Event{Type: sdk.TimerFired, Properties: map[string]any{"rule": rule, "timer_id": "date"}}
}

// birthdayTraits sends a customer.updated carrying traits for customer id.
func birthdayTraits(s *scenario, id string, traits map[string]any) {
	s.t.Helper()
	s.sendEvent(sdk.Event{Type: "customer.updated", Customer: person(id), Traits: traits})
}

func TestBirthday(t *testing.T) {
	t.Run("09:00 in the customer's timezone, every year", func(t *testing.T) {
		s := journey(t, "birthday.hcl")
		// 09:00 in Tokyo is 00:00 UTC: inside the UTC quiet hours, but
		// both the send and quiet hours go by the customer's clock.
		birthdayTraits(s, "c-1", map[string]any{"first_name": "Aiko", "birthday": "1990-01-08", "timezone": "Asia/Tokyo"})
		s.advanceTo(2*24*time.Hour + 14*time.Hour + 59*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+2d15h c-1 birthday/greeting email sent")

		c := renderTemplate(t, "birthday.hcl", "birthday_greeting", &render.Data{
			Customer: s.customer("c-1").Profile, Event: lifecycleTimerEvent("birthday"), Trigger: "birthday", Step: "greeting",
			Fire: map[string]any{"date": "1990-01-08", "occurs_on": "2026-01-08", "years": 36},
		})
		if c.Subject != "Happy birthday, Aiko! A gift inside" || !strings.Contains(c.Text, "36 candles") {
			t.Errorf("rendered %q / %q", c.Subject, c.Text)
		}

		s.advanceTo(367*24*time.Hour + 14*time.Hour + 59*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+367d15h c-1 birthday/greeting email sent")
	})

	t.Run("a move to another timezone moves the send", func(t *testing.T) {
		s := journey(t, "birthday.hcl")
		// No year: every 6 January, and no age to mention.
		birthdayTraits(s, "c-1", map[string]any{"birthday": "01-06", "timezone": "Asia/Tokyo"})
		s.advanceTo(12 * time.Hour) // 21:00 UTC, 06:00 in Tokyo on the 6th
		birthdayTraits(s, "c-1", map[string]any{"timezone": "America/Los_Angeles"})
		// 09:00 in Tokyo (+15h) has passed without a send; 09:00 in Los
		// Angeles is 17:00 UTC.
		s.advanceTo(1*24*time.Hour + 7*time.Hour + 59*time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+1d8h c-1 birthday/greeting email sent")

		c := renderTemplate(t, "birthday.hcl", "birthday_greeting", &render.Data{
			Customer: s.customer("c-1").Profile, Event: lifecycleTimerEvent("birthday"), Trigger: "birthday", Step: "greeting",
			Fire: map[string]any{"date": "--01-06", "occurs_on": "2026-01-06"},
		})
		if c.Subject != "Happy birthday, friend! A gift inside" || strings.Contains(c.Text, "candles") {
			t.Errorf("rendered %q / %q", c.Subject, c.Text)
		}
	})

	t.Run("a birthday removed before the day sends nothing", func(t *testing.T) {
		s := journey(t, "birthday.hcl")
		birthdayTraits(s, "c-1", map[string]any{"birthday": "1985-01-07"})
		s.advance(47 * time.Hour)
		birthdayTraits(s, "c-1", map[string]any{"birthday": nil})
		s.advance(400 * 24 * time.Hour)
		s.expect()
	})

	t.Run("a birthday moved to a later day gets no second gift", func(t *testing.T) {
		s := journey(t, "birthday.hcl")
		birthdayTraits(s, "c-1", map[string]any{"birthday": "1985-01-07"})
		s.advanceTo(3 * 24 * time.Hour)
		birthdayTraits(s, "c-1", map[string]any{"birthday": "1985-01-20"})
		s.advanceTo(15*24*time.Hour + time.Minute)
		s.expect(
			"+2d c-1 birthday/greeting email sent",
			"+15d c-1 birthday/greeting email suppressed (frequency_cap)",
		)
		// Next year, only the birthday as it stands now.
		s.advanceTo(380*24*time.Hour + time.Minute)
		s.expect("+380d c-1 birthday/greeting email sent")
	})

	t.Run("unsubscribed: suppressed for consent until resubscribed", func(t *testing.T) {
		s := journey(t, "birthday.hcl")
		birthdayTraits(s, "c-1", map[string]any{"birthday": "1985-01-07"})
		s.advance(24 * time.Hour)
		s.send("email.unsubscribed", "c-1", nil)
		s.advanceTo(2*24*time.Hour + time.Minute)
		s.expect("+2d c-1 birthday/greeting email suppressed (consent)")
		s.advance(30 * 24 * time.Hour)
		s.send("email.resubscribed", "c-1", nil)
		s.advanceTo(367*24*time.Hour + time.Minute)
		s.expect("+367d c-1 birthday/greeting email sent")
	})
}
