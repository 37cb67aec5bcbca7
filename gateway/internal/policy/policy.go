// Package policy decides, for every message a trigger fires, whether it is
// sent now, later, on another channel, or not at all (DESIGN.md §6). The
// checks run in a fixed order and the first that says no decides:
//
//  1. consent and suppression: a suppressed channel (hard bounce, spam
//     complaint, SMS STOP) stops every message; a marketing message also
//     needs the customer's consent for the channel;
//  2. dedupe: a message already queued for the customer is not queued
//     again;
//  3. holdout: a deterministic share of customers never gets the
//     trigger's messages, to measure lift;
//  4. A/B variant: a deterministic, weighted choice per customer;
//  5. frequency caps: per trigger, and per channel across triggers;
//  6. quiet hours in the customer's timezone: defer to the window's end,
//     drop, or fall back to another channel.
//
// Transactional messages (order confirmation, password reset) skip
// consent, holdout, caps and quiet hours; only suppressions and dedupe
// hold them back. The package does no I/O: the engine records each
// decision in the customer's trace.
package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/sdk"
)

// Outcomes of a decision.
const (
	Sent       = "sent"
	Deferred   = "deferred"
	Suppressed = "suppressed"
	Dropped    = "dropped"
	Fallback   = "fallback"
)

// Reasons a message was held back or moved.
const (
	ReasonSuppressed   = "suppressed"
	ReasonConsent      = "consent"
	ReasonDuplicate    = "duplicate"
	ReasonHoldout      = "holdout"
	ReasonFrequencyCap = "frequency_cap"
	ReasonQuietHours   = "quiet_hours"
	// ReasonNoAddress: the customer has no address on the channel's kind
	// (an email message for a customer known by phone only).
	ReasonNoAddress = "no_address"
)

// Global is the configuration's policy block: what holds for every
// trigger.
type Global struct {
	// Caps limit the marketing messages one customer gets per channel
	// kind (or channel name), across triggers.
	Caps []Cap
	// Quiet is the quiet-hours window; nil for none.
	Quiet *QuietHours
	// RequireOptIn lists channel kinds on which a marketing message needs
	// recorded consent; on other kinds, no recorded choice means yes.
	RequireOptIn []string
	// DefaultTimezone is used for customers without a timezone; nil means
	// UTC.
	DefaultTimezone *time.Location
}

// Cap is a frequency cap: at most Max messages per Per.
type Cap struct {
	// Channel is a channel kind ("email") or channel name the cap counts;
	// empty on a trigger's own cap.
	Channel string
	Max     int
	Per     time.Duration
}

// QuietHours is a daily window, in the customer's local time, in which
// marketing messages are not sent. Start after End wraps midnight
// (21:00 to 08:00).
type QuietHours struct {
	Start, End time.Duration // since local midnight
	// Action is "defer" (send at the window's end), "drop", or
	// "fallback" (send through Fallback instead).
	Action   string
	Fallback string
	// Kinds limits the window to these channel kinds; empty means all.
	Kinds []string
}

// Rule is one trigger's policy settings.
type Rule struct {
	Name          string
	Transactional bool
	// Holdout is the share of customers, in [0, 1), that never get the
	// trigger's messages.
	Holdout float64
	// Cap limits the trigger's messages per customer; zero Max for none.
	Cap Cap
}

// Variant is one A/B variant of an action.
type Variant struct {
	Name     string
	Template string
	Weight   int
}

// Channel is the channel an action sends through.
type Channel struct {
	Name string
	// Kind is what the channel reaches: "email", "sms", "slack",
	// "webhook", ...; consent and suppressions are per kind.
	Kind string
}

// Input is one message to decide on.
type Input struct {
	Rule        *Rule
	Channel     Channel
	Variants    []Variant
	CustomerKey string
	Record      *customer.Record
	MessageID   string
	Now         time.Time
}

// Decision is the outcome for one message.
type Decision struct {
	Outcome string
	Reason  string
	Detail  string
	// Variant is the chosen variant, when the action has variants.
	Variant *Variant
	// SendAt is when to send: Now, or the end of the quiet window.
	SendAt time.Time
	// Channel is where to send: the action's channel, or the fallback.
	Channel string
}

// Decide runs the checks in order for one message.
func (g *Global) Decide(in Input) Decision {
	d := Decision{Outcome: Sent, SendAt: in.Now, Channel: in.Channel.Name}
	rec, kind := in.Record, in.Channel.Kind

	if s, ok := rec.Suppressed[kind]; ok {
		return held(Suppressed, ReasonSuppressed, fmt.Sprintf("%s is suppressed for this customer: %s", kind, s.Reason))
	}
	if why := noAddress(rec.Profile.Customer, kind); why != "" {
		return held(Suppressed, ReasonNoAddress, why)
	}
	if !in.Rule.Transactional {
		if ok, why := g.consents(rec, kind); !ok {
			return held(Suppressed, ReasonConsent, why)
		}
	}
	if rec.WasFired(in.MessageID) {
		return held(Suppressed, ReasonDuplicate, "this message was already queued for the customer")
	}
	if !in.Rule.Transactional && in.Rule.Holdout > 0 && share(in.Rule.Name, "holdout", in.CustomerKey) < in.Rule.Holdout {
		return held(Suppressed, ReasonHoldout, fmt.Sprintf("customer is in the trigger's %.0f%% holdout group", in.Rule.Holdout*100))
	}
	if len(in.Variants) > 0 {
		d.Variant = pick(in.Variants, share(in.Rule.Name, "variant", in.CustomerKey))
	}
	if !in.Rule.Transactional {
		if c := in.Rule.Cap; c.Max > 0 {
			if n := count(rec.Sends, in.Now.Add(-c.Per), func(s customer.Send) bool { return s.Rule == in.Rule.Name }); n >= c.Max {
				return held(Suppressed, ReasonFrequencyCap, fmt.Sprintf("trigger cap: %d of %d messages in %s already", n, c.Max, c.Per))
			}
		}
		for _, c := range g.Caps {
			if c.Channel != kind && c.Channel != in.Channel.Name {
				continue
			}
			n := count(rec.Sends, in.Now.Add(-c.Per), func(s customer.Send) bool {
				return !s.Transactional && (s.Kind == c.Channel || s.Channel == c.Channel)
			})
			if n >= c.Max {
				return held(Suppressed, ReasonFrequencyCap, fmt.Sprintf("%s cap: %d of %d marketing messages in %s already", c.Channel, n, c.Max, c.Per))
			}
		}
		if q := g.Quiet; q != nil && (len(q.Kinds) == 0 || slices.Contains(q.Kinds, kind)) {
			loc := g.location(rec.Profile.Timezone)
			if end, quiet := q.window(in.Now, loc); quiet {
				switch q.Action {
				case "drop":
					return held(Dropped, ReasonQuietHours, "due within quiet hours")
				case "fallback":
					d.Outcome, d.Reason, d.Channel = Fallback, ReasonQuietHours, q.Fallback
					d.Detail = "due within quiet hours; sent through " + q.Fallback
				default:
					d.Outcome, d.Reason, d.SendAt = Deferred, ReasonQuietHours, end
					d.Detail = "due within quiet hours; deferred to " + end.In(loc).Format("2006-01-02 15:04 MST")
				}
			}
		}
	}
	return d
}

// Horizon is how far back the caps of g and of rules look: how long a
// customer's sends must be remembered.
func (g *Global) Horizon(rules []*Rule) time.Duration {
	var h time.Duration
	for _, c := range g.Caps {
		h = max(h, c.Per)
	}
	for _, r := range rules {
		h = max(h, r.Cap.Per)
	}
	return h
}

func held(outcome, reason, detail string) Decision {
	return Decision{Outcome: outcome, Reason: reason, Detail: detail}
}

// consents reports whether a marketing message may go to kind.
func (g *Global) consents(rec *customer.Record, kind string) (bool, string) {
	c := rec.Profile.Consent
	if v, ok := c[kind+":marketing"]; ok {
		if !v {
			return false, "customer declined " + kind + " marketing"
		}
		return true, ""
	}
	if v, ok := c[kind]; ok {
		if !v {
			return false, "customer declined " + kind
		}
		return true, ""
	}
	if slices.Contains(g.RequireOptIn, kind) {
		return false, "no recorded opt-in for " + kind + ", which requires one"
	}
	return true, ""
}

func (g *Global) location(tz string) *time.Location {
	if tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	if g.DefaultTimezone != nil {
		return g.DefaultTimezone
	}
	return time.UTC
}

// window reports whether now falls in the quiet window in loc, and if so
// when the window ends.
func (q *QuietHours) window(now time.Time, loc *time.Location) (time.Time, bool) {
	local := now.In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	since := local.Sub(midnight)
	at := func(day time.Time, d time.Duration) time.Time {
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
	}
	switch {
	case q.Start == q.End:
		return time.Time{}, false
	case q.Start < q.End: // e.g. 12:00–14:00
		if since >= q.Start && since < q.End {
			return at(midnight, q.End), true
		}
	case since >= q.Start: // e.g. 21:00–08:00, evening part
		return at(midnight.AddDate(0, 0, 1), q.End), true
	case since < q.End: // morning part
		return at(midnight, q.End), true
	}
	return time.Time{}, false
}

func count(sends []customer.Send, since time.Time, match func(customer.Send) bool) int {
	n := 0
	for _, s := range sends {
		if s.At.After(since) && match(s) {
			n++
		}
	}
	return n
}

// share maps (rule, purpose, customer) to a number in [0, 1), the same on
// every node and every run.
func share(rule, purpose, customerKey string) float64 {
	h := sha256.Sum256([]byte(rule + "\x00" + purpose + "\x00" + customerKey))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

// pick chooses a variant by weight from a share in [0, 1).
func pick(vs []Variant, x float64) *Variant {
	total := 0
	for _, v := range vs {
		total += max(v.Weight, 0)
	}
	if total == 0 {
		return &vs[int(x*float64(len(vs)))]
	}
	target := int(x * float64(total))
	for i := range vs {
		target -= max(vs[i].Weight, 0)
		if target < 0 {
			return &vs[i]
		}
	}
	return &vs[len(vs)-1]
}

// noAddress says why a message of a channel kind cannot reach c, if it
// cannot: email needs an email address and sms a phone number. Other kinds
// (webhook, slack, push) address someone else or carry their own target.
func noAddress(c sdk.Customer, kind string) string {
	switch {
	case kind == "email" && c.Email == "":
		return "the customer has no email address"
	case kind == "sms" && c.Phone == "":
		return "the customer has no phone number"
	}
	return ""
}
