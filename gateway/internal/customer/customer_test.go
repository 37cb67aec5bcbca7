package customer

import (
	"fmt"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestApplyIdentityTraitsAndStats(t *testing.T) {
	t.Parallel()
	var r Record
	r.Apply(&sdk.Event{ID: "e1", Type: "customer.created", OccurredAt: t0.Add(-time.Hour),
		Customer: sdk.Customer{ID: "c1", AnonymousID: "a1"},
		Traits:   map[string]any{"first_name": "Jane", "timezone": "Europe/Paris"}}, t0)
	r.Apply(&sdk.Event{ID: "e2", Type: "order.placed", OccurredAt: t0,
		Customer:   sdk.Customer{ID: "c1", Email: "jane@example.com", ExternalIDs: map[string]string{"shopify": "9"}},
		Properties: map[string]any{"value": 120.0}}, t0)
	r.Apply(&sdk.Event{ID: "e3", Type: "order.placed", OccurredAt: t0.Add(48 * time.Hour), // in the future: counts as now
		Customer: sdk.Customer{ID: "c1"}, Properties: map[string]any{"value": 30.0}}, t0.Add(time.Minute))
	r.Apply(&sdk.Event{ID: "e4", Type: "order.placed", Customer: sdk.Customer{ID: "c1"},
		Properties: map[string]any{"value": "lots"}}, t0.Add(2*time.Minute)) // counted, no value

	p := r.Profile
	if p.ID != "c1" || p.Email != "jane@example.com" || p.AnonymousID != "a1" || p.ExternalIDs["shopify"] != "9" {
		t.Errorf("identity = %+v", p.Customer)
	}
	if p.Traits["first_name"] != "Jane" || p.Timezone != "Europe/Paris" {
		t.Errorf("traits %v, timezone %q", p.Traits, p.Timezone)
	}
	st := p.Stats
	if st.OrdersCount != 3 || st.LifetimeValue != 150 || st.AverageOrderValue != 50 {
		t.Errorf("stats = %+v", st)
	}
	if !st.FirstSeenAt.Equal(t0.Add(-time.Hour)) || !st.LastSeenAt.Equal(t0.Add(2*time.Minute)) || !st.LastOrderAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("times = %+v", st)
	}
}

func TestApplyIgnoresBadTimezoneAndBoundsTraits(t *testing.T) {
	t.Parallel()
	r := Record{Profile: sdk.Profile{Timezone: "Asia/Tokyo"}}
	r.Apply(&sdk.Event{Type: "x", Traits: map[string]any{"timezone": "Mars/Olympus"}}, t0)
	if r.Profile.Timezone != "Asia/Tokyo" {
		t.Errorf("timezone = %q, want the previous valid one", r.Profile.Timezone)
	}
	traits := map[string]any{}
	for i := range MaxTraits + 50 {
		traits[fmt.Sprintf("t%03d", i)] = i
	}
	r.Apply(&sdk.Event{Type: "x", Traits: traits}, t0)
	if n := len(r.Profile.Traits); n != MaxTraits {
		t.Errorf("%d traits kept, want %d", n, MaxTraits)
	}
}

func TestConsentAndSuppressions(t *testing.T) {
	t.Parallel()
	var r Record
	apply := func(typ string, props, traits map[string]any) {
		r.Apply(&sdk.Event{ID: typ, Type: typ, Customer: sdk.Customer{ID: "c1"}, Properties: props, Traits: traits}, t0)
	}
	apply("email.unsubscribed", nil, nil)
	if v, ok := r.Profile.Consent["email"]; !ok || v {
		t.Fatalf("after unsubscribe consent = %v", r.Profile.Consent)
	}
	apply("email.resubscribed", nil, nil)
	if !r.Profile.Consent["email"] {
		t.Fatalf("after resubscribe consent = %v", r.Profile.Consent)
	}
	apply("email.bounced", map[string]any{"bounce_type": "soft"}, nil)
	if _, ok := r.Suppressed["email"]; ok {
		t.Fatal("a soft bounce suppressed email")
	}
	apply("email.bounced", map[string]any{"bounce_type": "hard"}, nil)
	if s := r.Suppressed["email"]; s.Reason != "hard bounce" || s.EventID != "email.bounced" {
		t.Fatalf("after hard bounce suppressed = %v", r.Suppressed)
	}
	apply("sms.unsubscribed", nil, nil)
	if _, ok := r.Suppressed["sms"]; !ok || r.Profile.Consent["sms"] {
		t.Fatalf("after STOP: %v %v", r.Suppressed, r.Profile.Consent)
	}
	apply("sms.subscribed", nil, nil)
	if _, ok := r.Suppressed["sms"]; ok || !r.Profile.Consent["sms"] {
		t.Fatalf("after START: %v %v", r.Suppressed, r.Profile.Consent)
	}
	apply("consent.updated", map[string]any{"channel": "Push", "purpose": "marketing", "granted": false}, nil)
	if v, ok := r.Profile.Consent["push:marketing"]; !ok || v {
		t.Fatalf("consent.updated: %v", r.Profile.Consent)
	}
	apply("consent.updated", map[string]any{"channel": "push"}, nil) // no granted: ignored
	if _, ok := r.Profile.Consent["push"]; ok {
		t.Fatal("consent.updated without granted changed consent")
	}
	apply("customer.updated", nil, map[string]any{"accepts_marketing": false, "accepts_sms_marketing": true})
	if r.Profile.Consent["email"] || !r.Profile.Consent["sms"] {
		t.Fatalf("Shopify consent traits: %v", r.Profile.Consent)
	}
	if _, ok := r.Suppressed["email"]; !ok {
		t.Fatal("a consent change lifted a hard bounce")
	}
}

func TestBoundedHistory(t *testing.T) {
	t.Parallel()
	var r Record
	for i := range MaxFired + 10 {
		r.RecordSend(Send{At: t0, Rule: "r"}, fmt.Sprintf("m%d", i), time.Hour)
		r.Decide(Decision{At: t0, Rule: "r", Outcome: "sent", MessageID: fmt.Sprintf("m%d", i)})
	}
	if len(r.Trace) != MaxTrace || len(r.Sends) != MaxSends || len(r.Fired) != MaxFired {
		t.Fatalf("kept %d decisions, %d sends, %d ids", len(r.Trace), len(r.Sends), len(r.Fired))
	}
	if r.WasFired("m0") || !r.WasFired(fmt.Sprintf("m%d", MaxFired+9)) {
		t.Error("the oldest id should be forgotten and the newest kept")
	}
	if r.Trace[len(r.Trace)-1].MessageID != fmt.Sprintf("m%d", MaxFired+9) {
		t.Error("the newest decision is not last")
	}
}

func TestSendsOlderThanTheHorizonAreForgotten(t *testing.T) {
	t.Parallel()
	var r Record
	r.RecordSend(Send{At: t0, Rule: "a"}, "m1", 24*time.Hour)
	r.RecordSend(Send{At: t0.Add(23 * time.Hour), Rule: "b"}, "m2", 24*time.Hour)
	r.RecordSend(Send{At: t0.Add(25 * time.Hour), Rule: "c"}, "m3", 24*time.Hour)
	if len(r.Sends) != 2 || r.Sends[0].Rule != "b" || r.Sends[1].Rule != "c" {
		t.Fatalf("sends = %+v, want b and c", r.Sends)
	}
	var none Record
	none.RecordSend(Send{At: t0}, "m1", 0)
	if none.Sends != nil || !none.WasFired("m1") {
		t.Fatalf("without caps: sends %+v, fired %v", none.Sends, none.Fired)
	}
}

func TestRecentEventsBoundedAndMerged(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var a, b Record
	for i := range MaxEvents + 5 {
		a.Apply(&sdk.Event{ID: fmt.Sprintf("a%02d", i), Type: "page.viewed", Source: "app",
			ReceivedAt: t0.Add(time.Duration(i) * time.Minute)}, t0)
	}
	if len(a.Events) != MaxEvents || a.Events[0].ID != "a05" || a.Events[MaxEvents-1].ID != "a24" {
		t.Fatalf("events = %d, first %s, last %s; want the newest %d", len(a.Events), a.Events[0].ID, a.Events[len(a.Events)-1].ID, MaxEvents)
	}
	b.Apply(&sdk.Event{ID: "b1", Type: "order.placed", Source: "shop", ReceivedAt: t0.Add(time.Hour)}, t0)
	a.Absorb(b)
	last := a.Events[len(a.Events)-1]
	if len(a.Events) != MaxEvents || last.ID != "b1" || last.Source != "shop" || last.Type != "order.placed" {
		t.Fatalf("after merge: %d events, last %+v", len(a.Events), last)
	}
}
