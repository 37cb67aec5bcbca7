package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// courseSignUp is the content.engaged event a course sign-up form sends.
func courseSignUp(id, contentID string, traits map[string]any) sdk.Event {
	return sdk.Event{Type: "content.engaged", Customer: person(id), Traits: traits,
		Properties: map[string]any{"content_id": contentID, "content_type": "course"}}
}

func TestEducationalSeries(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("four lessons two days apart, then the graduation offer", func(t *testing.T) {
		s := journey(t, "educational_series.hcl")
		s.sendEvent(courseSignUp("c-1", "brewing-course", nil))
		s.expect("+0 c-1 educational_series/lesson_1 email sent")
		for _, next := range []struct {
			due  time.Duration
			want string
		}{
			{2 * day, "+2d c-1 educational_series/lesson_2 email sent"},
			{4 * day, "+4d c-1 educational_series/lesson_3 email sent"},
			{6 * day, "+6d c-1 educational_series/lesson_4 email sent"},
			{8 * day, "+8d c-1 educational_series/graduation_offer email sent"},
		} {
			s.advanceTo(next.due - time.Minute)
			s.expect()
			s.advanceTo(next.due)
			s.expect(next.want)
		}
		s.advance(60 * day)
		s.expect()
	})
	t.Run("an order does not stop the lessons; it changes the last email", func(t *testing.T) {
		s := journey(t, "educational_series.hcl")
		s.sendEvent(courseSignUp("c-1", "brewing-course", nil))
		s.advanceTo(3 * day)
		s.send("order.placed", "c-1", map[string]any{"order_id": "o-1", "value": 89.0})
		s.advanceTo(30 * day)
		s.expect(
			"+0 c-1 educational_series/lesson_1 email sent",
			"+2d c-1 educational_series/lesson_2 email sent",
			"+4d c-1 educational_series/lesson_3 email sent",
			"+6d c-1 educational_series/lesson_4 email sent",
			"+8d c-1 educational_series/graduation email sent",
		)
	})
	t.Run("other content does not enrol", func(t *testing.T) {
		s := journey(t, "educational_series.hcl")
		s.sendEvent(courseSignUp("c-1", "espresso-guide", nil))
		s.send("content.engaged", "c-2", nil)
		s.advance(30 * day)
		s.expect()
	})
	t.Run("unsubscribing ends the course for good", func(t *testing.T) {
		s := journey(t, "educational_series.hcl")
		s.sendEvent(courseSignUp("c-1", "brewing-course", nil))
		s.advanceTo(3 * day)
		s.send("email.unsubscribed", "c-1", nil)
		s.advanceTo(20 * day)
		s.send("email.resubscribed", "c-1", nil)
		s.sendEvent(courseSignUp("c-1", "brewing-course", nil))
		s.advance(30 * day)
		s.expect(
			"+0 c-1 educational_series/lesson_1 email sent",
			"+2d c-1 educational_series/lesson_2 email sent",
		)
	})
	t.Run("enrolled at 22:30 in Berlin: every lesson at 08:00 Berlin time", func(t *testing.T) {
		s := journey(t, "educational_series.hcl")
		s.advanceTo(12*time.Hour + 30*time.Minute) // 21:30 UTC, 22:30 in Berlin
		s.sendEvent(courseSignUp("c-1", "brewing-course", map[string]any{"timezone": "Europe/Berlin"}))
		s.advanceTo(2*day + 12*time.Hour + 30*time.Minute)
		// 08:00 in Berlin is 07:00 UTC.
		s.expect(
			"+12h30m c-1 educational_series/lesson_1 email deferred (quiet_hours) until +22h",
			"+2d12h30m c-1 educational_series/lesson_2 email deferred (quiet_hours) until +2d22h",
		)
	})
	t.Run("templates render from what the events carry", func(t *testing.T) {
		s := journey(t, "educational_series.hcl")
		s.sendEvent(courseSignUp("c-1", "brewing-course", nil))
		profile := s.customer("c-1").Profile
		steps := []string{"lesson_1", "lesson_2", "lesson_3", "lesson_4", "graduation_offer", "graduation"}
		for i, step := range steps {
			c := renderTemplate(t, "educational_series.hcl", "educational_series_"+step, &render.Data{
				Customer: profile, Trigger: "educational_series", Step: step,
				Event: sdk.Event{Type: sdk.TimerFired, Customer: profile.Customer},
				Fire:  map[string]any{"instance": 1.0, "step_index": float64(i), "entered_at": "2026-01-05T09:00:00Z"},
			})
			if c.Subject == "" || !strings.HasPrefix(c.Text, "Hi there,") {
				t.Errorf("%s: subject %q, text starts %q", step, c.Subject, seriesFirstLine(c.Text))
			}
		}
	})
}
