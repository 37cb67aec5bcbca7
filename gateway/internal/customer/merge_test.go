package customer

import (
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

func TestAbsorb(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	acct := Record{
		Profile: sdk.Profile{
			Customer: sdk.Customer{ID: "c1", Email: "new@example.com"},
			Traits:   map[string]any{"first_name": "Jane"},
			Consent:  map[string]bool{"email": true},
			Stats:    sdk.Stats{OrdersCount: 1, LifetimeValue: 10, FirstSeenAt: t0.Add(48 * time.Hour), LastSeenAt: t0.Add(72 * time.Hour)},
		},
		Trace: []Decision{{At: t0.Add(50 * time.Hour), Rule: "b"}},
		Fired: []string{"m1"},
	}
	anon := Record{
		Profile: sdk.Profile{
			Customer: sdk.Customer{Email: "old@example.com", AnonymousID: "a1", ExternalIDs: map[string]string{"shopify": "9"}},
			Traits:   map[string]any{"first_name": "J", "city": "Lyon"},
			Timezone: "Europe/Paris",
			Consent:  map[string]bool{"email": false, "sms": true},
			Stats:    sdk.Stats{OrdersCount: 3, LifetimeValue: 50, FirstSeenAt: t0, LastSeenAt: t0.Add(time.Hour), LastOrderAt: t0.Add(time.Hour)},
		},
		Suppressed: map[string]Suppression{"email": {Reason: "hard bounce"}},
		Trace:      []Decision{{At: t0.Add(time.Hour), Rule: "a"}},
		Fired:      []string{"m1", "m2"},
	}
	acct.Absorb(anon)
	p := acct.Profile
	if p.ID != "c1" || p.Email != "new@example.com" || p.AnonymousID != "a1" || p.ExternalIDs["shopify"] != "9" {
		t.Fatalf("identity %+v: the account's own identifiers win, missing ones are added", p.Customer)
	}
	if p.Traits["first_name"] != "Jane" || p.Traits["city"] != "Lyon" || p.Timezone != "Europe/Paris" {
		t.Fatalf("traits %v tz %q", p.Traits, p.Timezone)
	}
	if !p.Consent["email"] || !p.Consent["sms"] {
		t.Fatalf("consent %v: the account's choice stands, missing ones are added", p.Consent)
	}
	if s := p.Stats; s.OrdersCount != 4 || s.LifetimeValue != 60 || s.AverageOrderValue != 15 ||
		!s.FirstSeenAt.Equal(t0) || !s.LastSeenAt.Equal(t0.Add(72*time.Hour)) || !s.LastOrderAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stats %+v", s)
	}
	if acct.Suppressed["email"].Reason != "hard bounce" {
		t.Fatalf("suppressions %v: a bounce stays a bounce", acct.Suppressed)
	}
	if len(acct.Trace) != 2 || acct.Trace[0].Rule != "a" || acct.Trace[1].Rule != "b" {
		t.Fatalf("trace %v, want both, oldest first", acct.Trace)
	}
	if len(acct.Fired) != 2 {
		t.Fatalf("fired %v, want m1 and m2 once each", acct.Fired)
	}
}
