package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// interests is a preference centre's customer.updated event setting the
// customer's interests (and any other traits).
func interests(id string, names []any, traits map[string]any) sdk.Event {
	t := map[string]any{"interests": names}
	for k, v := range traits {
		t[k] = v
	}
	return sdk.Event{Type: "customer.updated", Customer: person(id), Traits: t}
}

func TestInterestGroup(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("joining sends the welcome once; staying in sends nothing", func(t *testing.T) {
		s := journey(t, "interest_group.hcl")
		s.sendEvent(interests("c-1", []any{"pour-over"}, nil))
		s.expect()
		s.advance(time.Hour)
		s.sendEvent(interests("c-1", []any{"pour-over", "espresso"}, nil))
		s.expect("+1h c-1 interest_group/welcome email sent")
		s.advance(time.Hour)
		s.send("page.viewed", "c-1", map[string]any{"url": "https://shop.example/espresso"})
		s.sendEvent(interests("c-1", []any{"espresso"}, nil))
		s.advance(30 * day)
		s.expect()
	})
	t.Run("customers without interests are not members", func(t *testing.T) {
		s := journey(t, "interest_group.hcl")
		s.send("account.signed_up", "c-1", nil)
		s.sendEvent(interests("c-2", []any{}, nil))
		s.expect()
	})
	t.Run("rejoining within 90 days sends nothing, after 90 days welcomes again", func(t *testing.T) {
		s := journey(t, "interest_group.hcl")
		s.sendEvent(interests("c-1", []any{"espresso"}, nil))
		s.expect("+0 c-1 interest_group/welcome email sent")
		s.advanceTo(10 * day)
		s.sendEvent(interests("c-1", []any{}, nil))
		s.advanceTo(90*day - time.Minute)
		s.sendEvent(interests("c-1", []any{"espresso"}, nil))
		s.expect()
		s.advanceTo(100 * day)
		s.sendEvent(interests("c-1", []any{}, nil))
		s.advanceTo(190 * day)
		s.sendEvent(interests("c-1", []any{"espresso"}, nil))
		s.expect("+190d c-1 interest_group/welcome email sent")
	})
	t.Run("an unsubscribed customer is not welcomed", func(t *testing.T) {
		s := journey(t, "interest_group.hcl")
		s.send("email.unsubscribed", "c-1", nil)
		s.advance(time.Hour)
		s.sendEvent(interests("c-1", []any{"espresso"}, nil))
		s.expect("+1h c-1 interest_group/welcome email suppressed (consent)")
	})
	t.Run("joined at 23:30 in Sydney: welcomed at 08:00 Sydney time", func(t *testing.T) {
		// 12:30 UTC is 23:30 in Sydney (UTC+11 in January); 08:00 there is
		// 21:00 UTC.
		s := journey(t, "interest_group.hcl")
		s.advanceTo(3*time.Hour + 30*time.Minute)
		s.sendEvent(interests("c-1", []any{"espresso"}, map[string]any{"timezone": "Australia/Sydney"}))
		s.expect("+3h30m c-1 interest_group/welcome email deferred (quiet_hours) until +12h")
	})
	t.Run("the template renders from what the events carry", func(t *testing.T) {
		s := journey(t, "interest_group.hcl")
		ev := interests("c-1", []any{"espresso"}, nil)
		s.sendEvent(ev)
		profile := s.customer("c-1").Profile
		c := renderTemplate(t, "interest_group.hcl", "interest_group_welcome", &render.Data{
			Customer: profile, Event: ev, Trigger: "interest_group", Step: "welcome",
			Fire: map[string]any{"condition": `contains(try(customer.traits.interests, []), "espresso")`,
				"entered_at": "2026-01-05T09:00:00Z", "entry": 1.0},
		})
		if c.Subject != "Welcome to the Espresso Club" || !strings.HasPrefix(c.Text, "Hi there,") {
			t.Errorf("subject %q, text starts %q", c.Subject, seriesFirstLine(c.Text))
		}
	})
}
