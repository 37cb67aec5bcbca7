package simulate_test

import (
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/simulate"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	d := func(cust string, min int, outcome, reason string) simulate.Decision {
		return simulate.Decision{Customer: cust, Decision: customer.Decision{At: at.Add(time.Duration(min) * time.Minute),
			Rule: "r", Step: "default", Channel: "email", Outcome: outcome, Reason: reason,
			// Ids and details do not take part in the comparison.
			MessageID: "m-" + cust, Detail: outcome + cust}}
	}
	a := []simulate.Decision{d("id:a", 0, "sent", ""), d("id:a", 0, "sent", ""), d("id:b", 5, "sent", ""), d("id:c", 9, "sent", "")}
	b := []simulate.Decision{d("id:a", 0, "sent", ""), d("id:b", 5, "suppressed", "consent"), d("id:c", 9, "sent", ""), d("id:d", 1, "sent", "")}
	b[0].MessageID, b[0].Detail = "other", "other"
	lines, sum := simulate.Diff(a, b)
	expectLines(t, diffLines(lines), []string{
		"  2026-01-05T10:00:00Z id:a r/default email sent",
		"- 2026-01-05T10:00:00Z id:a r/default email sent", // the same decision twice in A, once in B
		"+ 2026-01-05T10:01:00Z id:d r/default email sent",
		"- 2026-01-05T10:05:00Z id:b r/default email sent",
		"+ 2026-01-05T10:05:00Z id:b r/default email suppressed (consent)",
		"  2026-01-05T10:09:00Z id:c r/default email sent",
	})
	if sum != (simulate.DiffSummary{Same: 2, OnlyA: 2, OnlyB: 2}) {
		t.Fatalf("summary %+v", sum)
	}
	if _, sum := simulate.Diff(a, a); sum != (simulate.DiffSummary{Same: 4}) {
		t.Fatalf("a run against itself: %+v", sum)
	}
}
