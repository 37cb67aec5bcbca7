package simulate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

// churnScore sends the customer.updated a data pipeline would, setting
// traits (churn_score among them) on customer id.
func churnScore(s *scenario, id string, traits map[string]any) {
	s.t.Helper()
	s.sendEvent(sdk.Event{Type: "customer.updated", Customer: person(id), Traits: traits})
}

func TestAtRiskReengagement(t *testing.T) {
	day := 24 * time.Hour

	t.Run("offer when the score crosses 0.7, once while at risk", func(t *testing.T) {
		s := journey(t, "at_risk_reengagement.hcl")
		churnScore(s, "c-1", map[string]any{"first_name": "Lena", "churn_score": 0.4})
		s.send("page.viewed", "c-1", nil) // no score change: nothing
		s.advance(day)
		s.expect()
		churnScore(s, "c-1", map[string]any{"churn_score": 0.82})
		s.expect("+1d c-1 at_risk_reengagement/offer email sent")
		s.advance(day)
		churnScore(s, "c-1", map[string]any{"churn_score": 0.9})
		s.send("page.viewed", "c-1", nil)
		s.expect()

		c := renderTemplate(t, "at_risk_reengagement.hcl", "at_risk_reengagement_offer", &render.Data{
			Customer: s.customer("c-1").Profile, Event: sdk.Event{Type: "customer.updated"},
			Trigger: "at_risk_reengagement", Step: "offer",
			Fire: map[string]any{"condition": "...", "entered_at": "2026-01-06T09:00:00Z", "entry": 1.0},
		})
		if c.Subject != "Lena, we'd love to keep you" || !strings.Contains(c.Text, "STAYWITHUS") {
			t.Errorf("rendered %q / %q", c.Subject, c.Text)
		}
	})

	t.Run("recovered, then at risk again: a new offer only after 60 days", func(t *testing.T) {
		s := journey(t, "at_risk_reengagement.hcl")
		churnScore(s, "c-1", map[string]any{"churn_score": 0.8})
		s.expect("+0 c-1 at_risk_reengagement/offer email sent")
		s.advanceTo(10 * day)
		churnScore(s, "c-1", map[string]any{"churn_score": 0.3}) // recovered: silent
		s.advanceTo(20 * day)
		churnScore(s, "c-1", map[string]any{"churn_score": 0.75}) // back within 60 days
		s.advanceTo(30 * day)
		churnScore(s, "c-1", map[string]any{"churn_score": 0.2})
		s.advanceTo(60*day - time.Minute)
		churnScore(s, "c-1", map[string]any{"churn_score": 0.9}) // a minute short
		s.expect()
		s.advanceTo(61 * day)
		churnScore(s, "c-1", map[string]any{"churn_score": 0.1})
		churnScore(s, "c-1", map[string]any{"churn_score": 0.9})
		s.expect("+61d c-1 at_risk_reengagement/offer email sent")
	})

	t.Run("nightly scores: deferred to 08:00 in New York, sent in Singapore", func(t *testing.T) {
		s := journey(t, "at_risk_reengagement.hcl")
		churnScore(s, "c-1", map[string]any{"timezone": "America/New_York"})
		churnScore(s, "c-2", map[string]any{"timezone": "Asia/Singapore"})
		s.advanceTo(17 * time.Hour) // 02:00 UTC: 21:00 in New York, 10:00 in Singapore
		churnScore(s, "c-1", map[string]any{"churn_score": 0.9})
		churnScore(s, "c-2", map[string]any{"churn_score": 0.9})
		s.expect(
			"+17h c-1 at_risk_reengagement/offer email deferred (quiet_hours) until +1d4h",
			"+17h c-2 at_risk_reengagement/offer email sent",
		)
	})

	t.Run("the holdout group never gets it", func(t *testing.T) {
		s := journey(t, "at_risk_reengagement.hcl")
		// c-3 is in the trigger's 10% holdout, c-1 is not.
		churnScore(s, "c-3", map[string]any{"churn_score": 0.9})
		churnScore(s, "c-1", map[string]any{"churn_score": 0.9})
		s.expect(
			"+0 c-1 at_risk_reengagement/offer email sent",
			"+0 c-3 at_risk_reengagement/offer email suppressed (holdout)",
		)
	})

	t.Run("unsubscribed: suppressed for consent", func(t *testing.T) {
		s := journey(t, "at_risk_reengagement.hcl")
		s.send("email.unsubscribed", "c-1", nil)
		churnScore(s, "c-1", map[string]any{"churn_score": 0.9})
		s.expect("+0 c-1 at_risk_reengagement/offer email suppressed (consent)")
	})
}
