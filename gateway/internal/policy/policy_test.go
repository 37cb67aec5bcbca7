package policy

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/sdk"
)

var noon = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// noAddressID marks a test record that input leaves without addresses.
const noAddressID = "no-address"

// input is a decision for rec on the email channel. A record without
// addresses gets an email and a phone, so that cases test one policy at
// a time; noAddress marks a record that must stay without.
func input(rec *customer.Record) Input {
	if rec.Profile.Email == "" && rec.Profile.Phone == "" && rec.Profile.ID != noAddressID {
		rec.Profile.Email, rec.Profile.Phone = "c1@example.com", "+15550100"
	}
	return Input{
		Rule:        &Rule{Name: "promo"},
		Channel:     Channel{Name: "email", Kind: "email"},
		CustomerKey: "id:c1",
		Record:      rec,
		MessageID:   "msg_1",
		Now:         noon,
	}
}

func TestOrderAndOutcomes(t *testing.T) {
	t.Parallel()
	paris, _ := time.LoadLocation("Europe/Paris")
	quiet := &QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour, Action: "defer"}
	sent := func(rule string, ago time.Duration, kind string, transactional bool) customer.Send {
		return customer.Send{At: noon.Add(-ago), Rule: rule, Channel: kind, Kind: kind, Transactional: transactional}
	}
	cases := []struct {
		name    string
		global  Global
		rule    Rule
		rec     customer.Record
		kind    string
		at      time.Time
		outcome string
		reason  string
		sendAt  time.Time
	}{
		{name: "nothing against it", outcome: Sent},
		{name: "no email address", rec: customer.Record{Profile: sdk.Profile{Customer: sdk.Customer{ID: noAddressID, Phone: "+1"}}},
			rule: Rule{Transactional: true}, outcome: Suppressed, reason: ReasonNoAddress},
		{name: "no phone number", rec: customer.Record{Profile: sdk.Profile{Customer: sdk.Customer{ID: noAddressID, Email: "a@b"}}},
			kind: "sms", outcome: Suppressed, reason: ReasonNoAddress},
		{name: "webhook needs no address", rec: customer.Record{Profile: sdk.Profile{Customer: sdk.Customer{ID: noAddressID}}},
			kind: "webhook", outcome: Sent},
		{name: "hard bounce stops marketing", rec: customer.Record{Suppressed: map[string]customer.Suppression{"email": {Reason: "hard bounce"}}},
			outcome: Suppressed, reason: ReasonSuppressed},
		{name: "hard bounce stops transactional too", rule: Rule{Transactional: true},
			rec:     customer.Record{Suppressed: map[string]customer.Suppression{"email": {Reason: "hard bounce"}}},
			outcome: Suppressed, reason: ReasonSuppressed},
		{name: "unsubscribed", rec: customer.Record{Profile: sdk.Profile{Consent: map[string]bool{"email": false}}},
			outcome: Suppressed, reason: ReasonConsent},
		{name: "unsubscribed still gets transactional", rule: Rule{Transactional: true},
			rec: customer.Record{Profile: sdk.Profile{Consent: map[string]bool{"email": false}}}, outcome: Sent},
		{name: "marketing purpose overrides kind", rec: customer.Record{Profile: sdk.Profile{Consent: map[string]bool{"email": true, "email:marketing": false}}},
			outcome: Suppressed, reason: ReasonConsent},
		{name: "sms needs opt-in", global: Global{RequireOptIn: []string{"sms"}}, kind: "sms",
			outcome: Suppressed, reason: ReasonConsent},
		{name: "sms with opt-in", global: Global{RequireOptIn: []string{"sms"}}, kind: "sms",
			rec: customer.Record{Profile: sdk.Profile{Consent: map[string]bool{"sms": true}}}, outcome: Sent},
		{name: "duplicate", rec: customer.Record{Fired: []string{"msg_0", "msg_1"}}, outcome: Suppressed, reason: ReasonDuplicate},
		{name: "duplicate transactional", rule: Rule{Transactional: true}, rec: customer.Record{Fired: []string{"msg_1"}},
			outcome: Suppressed, reason: ReasonDuplicate},
		{name: "everyone in a 100% holdout", rule: Rule{Holdout: math.Nextafter(1, 0)}, outcome: Suppressed, reason: ReasonHoldout},
		{name: "trigger cap reached", rule: Rule{Cap: Cap{Max: 1, Per: 24 * time.Hour}},
			rec: customer.Record{Sends: []customer.Send{sent("promo", 23*time.Hour, "email", false)}}, outcome: Suppressed, reason: ReasonFrequencyCap},
		{name: "trigger cap window passed", rule: Rule{Cap: Cap{Max: 1, Per: 24 * time.Hour}},
			rec: customer.Record{Sends: []customer.Send{sent("promo", 24*time.Hour, "email", false)}}, outcome: Sent},
		{name: "channel cap counts other triggers", global: Global{Caps: []Cap{{Channel: "email", Max: 2, Per: 7 * 24 * time.Hour}}},
			rec:     customer.Record{Sends: []customer.Send{sent("a", time.Hour, "email", false), sent("b", 6*24*time.Hour, "email", false)}},
			outcome: Suppressed, reason: ReasonFrequencyCap},
		{name: "channel cap ignores transactional and other kinds", global: Global{Caps: []Cap{{Channel: "email", Max: 2, Per: 7 * 24 * time.Hour}}},
			rec:     customer.Record{Sends: []customer.Send{sent("a", time.Hour, "email", true), sent("b", time.Hour, "sms", false), sent("c", time.Hour, "email", false)}},
			outcome: Sent},
		{name: "transactional exempt from caps", rule: Rule{Transactional: true}, global: Global{Caps: []Cap{{Channel: "email", Max: 1, Per: time.Hour}}},
			rec: customer.Record{Sends: []customer.Send{sent("a", time.Minute, "email", false)}}, outcome: Sent},
		{name: "quiet hours defer to 08:00 local", global: Global{Quiet: quiet},
			rec: customer.Record{Profile: sdk.Profile{Timezone: "Europe/Paris"}}, at: time.Date(2026, 11, 22, 22, 0, 0, 0, time.UTC),
			outcome: Deferred, reason: ReasonQuietHours, sendAt: time.Date(2026, 11, 23, 8, 0, 0, 0, paris)},
		{name: "quiet hours morning part", global: Global{Quiet: quiet},
			rec: customer.Record{Profile: sdk.Profile{Timezone: "Europe/Paris"}}, at: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC),
			outcome: Deferred, reason: ReasonQuietHours, sendAt: time.Date(2026, 11, 22, 8, 0, 0, 0, paris)},
		{name: "08:00 local is outside", global: Global{Quiet: quiet},
			rec: customer.Record{Profile: sdk.Profile{Timezone: "Europe/Paris"}}, at: time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC), outcome: Sent},
		{name: "quiet hours drop", global: Global{Quiet: &QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour, Action: "drop"}},
			at: time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC), outcome: Dropped, reason: ReasonQuietHours},
		{name: "quiet hours only for listed kinds", global: Global{Quiet: &QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour, Kinds: []string{"sms"}}},
			at: time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC), outcome: Sent},
		{name: "transactional ignores quiet hours", rule: Rule{Transactional: true}, global: Global{Quiet: quiet},
			at: time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC), outcome: Sent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := input(&c.rec)
			c.rule.Name = "promo"
			in.Rule = &c.rule
			if c.kind != "" {
				in.Channel = Channel{Name: c.kind, Kind: c.kind}
			}
			if !c.at.IsZero() {
				in.Now = c.at
			}
			d := c.global.Decide(in)
			if d.Outcome != c.outcome || d.Reason != c.reason {
				t.Fatalf("decision = %+v, want %s/%s", d, c.outcome, c.reason)
			}
			if d.Outcome != Sent && d.Detail == "" {
				t.Error("a held message has no detail")
			}
			if !c.sendAt.IsZero() && !d.SendAt.Equal(c.sendAt) {
				t.Errorf("send at %v, want %v", d.SendAt, c.sendAt)
			}
			if d.Outcome == Sent && !d.SendAt.Equal(in.Now) {
				t.Errorf("sent now, but SendAt = %v", d.SendAt)
			}
		})
	}
}

func TestQuietHoursFallback(t *testing.T) {
	t.Parallel()
	g := Global{Quiet: &QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour, Action: "fallback", Fallback: "push"}}
	in := input(&customer.Record{})
	in.Now = time.Date(2026, 11, 22, 22, 30, 0, 0, time.UTC)
	d := g.Decide(in)
	if d.Outcome != Fallback || d.Channel != "push" || !d.SendAt.Equal(in.Now) {
		t.Fatalf("decision = %+v", d)
	}
}

// The holdout share and variants are deterministic per customer and close
// to the configured proportions over many customers.
func TestHoldoutAndVariantsAreDeterministicAndProportional(t *testing.T) {
	t.Parallel()
	g := Global{}
	rule := &Rule{Name: "promo", Holdout: 0.1}
	variants := []Variant{{Name: "a", Template: "ta", Weight: 3}, {Name: "b", Template: "tb", Weight: 1}}
	held, counts := 0, map[string]int{}
	const n = 20000
	for i := range n {
		in := input(&customer.Record{})
		in.Rule, in.Variants, in.CustomerKey = rule, variants, fmt.Sprintf("id:c%d", i)
		d := g.Decide(in)
		again := g.Decide(in)
		if d.Outcome != again.Outcome || (d.Variant != nil) != (again.Variant != nil) ||
			(d.Variant != nil && d.Variant.Name != again.Variant.Name) {
			t.Fatalf("customer %d: %+v then %+v", i, d, again)
		}
		if d.Outcome == Suppressed {
			held++
			continue
		}
		counts[d.Variant.Name]++
	}
	if share := float64(held) / n; share < 0.09 || share > 0.11 {
		t.Errorf("holdout share %.3f, want ~0.10", share)
	}
	if r := float64(counts["a"]) / float64(counts["a"]+counts["b"]); r < 0.73 || r > 0.77 {
		t.Errorf("variant a share %.3f, want ~0.75 (counts %v)", r, counts)
	}
}

// DST: 08:00 local the morning after a change is still 08:00 local.
func TestQuietHoursAcrossDST(t *testing.T) {
	t.Parallel()
	ny, _ := time.LoadLocation("America/New_York")
	g := Global{Quiet: &QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour}}
	in := input(&customer.Record{Profile: sdk.Profile{Timezone: "America/New_York"}})
	in.Now = time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC) // 22:00 EDT on Oct 31; clocks go back that night
	d := g.Decide(in)
	if want := time.Date(2026, 11, 1, 8, 0, 0, 0, ny); d.Outcome != Deferred || !d.SendAt.Equal(want) {
		t.Fatalf("decision = %+v, want deferred to %v", d, want)
	}
	if !strings.Contains(d.Detail, "08:00") {
		t.Errorf("detail %q does not say 08:00", d.Detail)
	}
}
