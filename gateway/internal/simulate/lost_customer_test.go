package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

func TestLostCustomer(t *testing.T) {
	const day = 24 * time.Hour
	order := func(id string) map[string]any { return map[string]any{"order_id": id, "value": 42.0} }
	t.Run("final attempt at 120 days, the team told at 134, then silence", func(t *testing.T) {
		s := journey(t, "lost_customer.hcl")
		s.send("order.placed", "c-1", order("o-1"))
		s.advanceTo(120*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		// No SMS opt-in recorded: the SMS is held back, the email goes.
		s.expect(
			"+120d c-1 lost_customer/final_attempt email sent",
			"+120d c-1 lost_customer/final_attempt sms suppressed (consent)",
		)
		s.advanceTo(134*day - time.Minute)
		s.expect()
		s.advance(time.Minute)
		s.expect("+134d c-1 lost_customer/marked_lost slack sent")
		s.advance(365 * day)
		s.expect()
	})
	t.Run("a customer who opted in to SMS gets the SMS too", func(t *testing.T) {
		s := journey(t, "lost_customer.hcl")
		s.send("sms.subscribed", "c-1", nil)
		s.send("order.placed", "c-1", order("o-1"))
		s.advanceTo(120 * day)
		s.expect(
			"+120d c-1 lost_customer/final_attempt email sent",
			"+120d c-1 lost_customer/final_attempt sms sent",
		)
	})
	t.Run("an order a day early starts the clock over", func(t *testing.T) {
		s := journey(t, "lost_customer.hcl")
		s.send("order.placed", "c-1", order("o-1"))
		s.advanceTo(119 * day)
		s.send("order.placed", "c-1", order("o-2"))
		s.advanceTo(239*day - time.Minute)
		s.expect()
		s.advanceTo(239 * day)
		s.expect(
			"+239d c-1 lost_customer/final_attempt email sent",
			"+239d c-1 lost_customer/final_attempt sms suppressed (consent)",
		)
	})
	t.Run("an order after the final attempt: not lost, and it starts over", func(t *testing.T) {
		s := journey(t, "lost_customer.hcl")
		s.send("order.placed", "c-1", order("o-1"))
		s.advanceTo(125 * day)
		s.send("order.placed", "c-1", order("o-2"))
		s.advanceTo(244 * day)
		s.expect(
			"+120d c-1 lost_customer/final_attempt email sent",
			"+120d c-1 lost_customer/final_attempt sms suppressed (consent)",
		)
		s.advanceTo(245 * day)
		s.expect(
			"+245d c-1 lost_customer/final_attempt email sent",
			"+245d c-1 lost_customer/final_attempt sms suppressed (consent)",
		)
	})
	t.Run("due at 22:30 in Los Angeles (summer time): email and SMS wait for 08:00", func(t *testing.T) {
		s := journey(t, "lost_customer.hcl")
		s.sendEvent(sdk.Event{Type: "sms.subscribed", Customer: person("c-1"),
			Traits: map[string]any{"timezone": "America/Los_Angeles"}})
		// Tuesday 6 January, 05:30 UTC: 21:30 on Monday in Los Angeles.
		s.advanceTo(20*time.Hour + 30*time.Minute)
		s.send("order.placed", "c-1", order("o-1"))
		// 120 days later it is 6 May, 05:30 UTC: 22:30 PDT. 08:00 PDT is
		// 15:00 UTC.
		s.advanceTo(120*day + 20*time.Hour + 30*time.Minute)
		s.expect(
			"+120d20h30m c-1 lost_customer/final_attempt email deferred (quiet_hours) until +121d6h",
			"+120d20h30m c-1 lost_customer/final_attempt sms deferred (quiet_hours) until +121d6h",
		)
	})
	t.Run("templates render from what the events carry", func(t *testing.T) {
		s := journey(t, "lost_customer.hcl")
		s.send("order.placed", "c-1", order("o-1"))
		profile := s.customer("c-1").Profile
		timer := sdk.Event{Type: sdk.TimerFired, Customer: profile.Customer}
		data := func(step string, days float64) *render.Data {
			return &render.Data{Customer: profile, Event: timer, Trigger: "lost_customer", Step: step,
				Fire: map[string]any{"step": step, "last_active_at": "2026-01-05T09:00:00Z", "inactive_days": days,
					"last_event_id": "sim_000001"}}
		}
		email := renderTemplate(t, "lost_customer.hcl", "lost_customer_final_email", data("final_attempt", 120))
		if email.Subject == "" || !strings.HasPrefix(email.Text, "Hi there,") {
			t.Errorf("email: subject %q, text starts %q", email.Subject, seriesFirstLine(email.Text))
		}
		sms := renderTemplate(t, "lost_customer.hcl", "lost_customer_final_sms", data("final_attempt", 120))
		if !strings.Contains(sms.Text, "LASTCALL25") || !strings.HasSuffix(sms.Text, "Reply STOP to opt out") {
			t.Errorf("sms: %q", sms.Text)
		}
		slack := renderTemplate(t, "lost_customer.hcl", "lost_customer_marked_lost", data("marked_lost", 134))
		if want := "c-1@example.com has not ordered for 134 days (last order 2026-01-05T09:00:00Z)"; !strings.Contains(slack.Text, want) {
			t.Errorf("slack: %q does not contain %q", slack.Text, want)
		}
	})
}
