package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// lapsingOrder is an order.placed event's properties.
func lapsingOrder(id string) map[string]any {
	return map[string]any{"order_id": id, "value": 42.0, "currency": "EUR"}
}

func TestRescueCampaign(t *testing.T) {
	const day = 24 * time.Hour
	t.Run("three emails at 60, 70 and 80 days after the last order", func(t *testing.T) {
		s := journey(t, "rescue_campaign.hcl")
		s.send("order.placed", "c-1", lapsingOrder("o-1"))
		for _, next := range []struct {
			due  time.Duration
			want string
		}{
			{60 * day, "+60d c-1 rescue_campaign/we_miss_you email sent"},
			{70 * day, "+70d c-1 rescue_campaign/offer email sent"},
			{80 * day, "+80d c-1 rescue_campaign/last_chance email sent"},
		} {
			s.advanceTo(next.due - time.Minute)
			s.expect()
			s.advanceTo(next.due)
			s.expect(next.want)
		}
		s.advance(365 * day)
		s.expect()
	})
	t.Run("an order stops the series; browsing does not", func(t *testing.T) {
		s := journey(t, "rescue_campaign.hcl")
		s.send("order.placed", "c-1", lapsingOrder("o-1"))
		s.send("order.placed", "c-2", lapsingOrder("o-2"))
		s.advanceTo(65 * day)
		s.send("order.placed", "c-1", lapsingOrder("o-3"))
		s.send("page.viewed", "c-2", map[string]any{"url": "https://shop.example/new"})
		s.advanceTo(124 * day)
		s.expect(
			"+60d c-1 rescue_campaign/we_miss_you email sent",
			"+60d c-2 rescue_campaign/we_miss_you email sent",
			"+70d c-2 rescue_campaign/offer email sent",
			"+80d c-2 rescue_campaign/last_chance email sent",
		)
	})
	t.Run("rescued and lapsing again within 180 days: the third email is capped", func(t *testing.T) {
		s := journey(t, "rescue_campaign.hcl")
		s.send("order.placed", "c-1", lapsingOrder("o-1"))
		s.advanceTo(65 * day)
		s.send("order.placed", "c-1", lapsingOrder("o-2"))
		s.advanceTo(200 * day)
		s.expect(
			"+60d c-1 rescue_campaign/we_miss_you email sent",
			"+125d c-1 rescue_campaign/we_miss_you email sent",
			"+135d c-1 rescue_campaign/offer email sent",
			"+145d c-1 rescue_campaign/last_chance email suppressed (frequency_cap)",
		)
	})
	t.Run("a customer in the 10% holdout gets nothing", func(t *testing.T) {
		s := journey(t, "rescue_campaign.hcl")
		s.send("order.placed", "c-8", lapsingOrder("o-1")) // c-8 falls in the holdout
		s.advanceTo(100 * day)
		s.expect(
			"+60d c-8 rescue_campaign/we_miss_you email suppressed (holdout)",
			"+70d c-8 rescue_campaign/offer email suppressed (holdout)",
			"+80d c-8 rescue_campaign/last_chance email suppressed (holdout)",
		)
	})
	t.Run("an unsubscribed customer gets nothing", func(t *testing.T) {
		s := journey(t, "rescue_campaign.hcl")
		s.send("order.placed", "c-1", lapsingOrder("o-1"))
		s.advanceTo(10 * day)
		s.send("email.unsubscribed", "c-1", nil)
		s.advanceTo(100 * day)
		s.expect(
			"+60d c-1 rescue_campaign/we_miss_you email suppressed (consent)",
			"+70d c-1 rescue_campaign/offer email suppressed (consent)",
			"+80d c-1 rescue_campaign/last_chance email suppressed (consent)",
		)
	})
	t.Run("templates render from what the events carry", func(t *testing.T) {
		s := journey(t, "rescue_campaign.hcl")
		s.sendEvent(sdk.Event{Type: "order.placed", Customer: person("c-1"), Properties: lapsingOrder("o-1"),
			Traits: map[string]any{"first_name": "Jane"}})
		profile := s.customer("c-1").Profile
		for _, step := range []string{"we_miss_you", "offer", "last_chance"} {
			c := renderTemplate(t, "rescue_campaign.hcl", "rescue_campaign_"+step, &render.Data{
				Customer: profile, Trigger: "rescue_campaign", Step: step,
				Event: sdk.Event{Type: sdk.TimerFired, Customer: profile.Customer},
				Fire: map[string]any{"step": step, "last_active_at": "2026-01-05T09:00:00Z", "inactive_days": 60.0,
					"last_event_id": "sim_000001"},
			})
			if c.Subject == "" || !strings.HasPrefix(c.Text, "Hi Jane,") {
				t.Errorf("%s: subject %q, text starts %q", step, c.Subject, seriesFirstLine(c.Text))
			}
			if step == "we_miss_you" && !strings.Contains(c.Text, "It's been 60 days since your last order") {
				t.Errorf("we_miss_you:\n%s", c.Text)
			}
		}
	})
}
