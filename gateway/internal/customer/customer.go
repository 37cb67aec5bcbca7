// Package customer is what the gateway keeps about one customer, besides
// the trigger rules' own state: the profile (identity, traits, timezone,
// figures computed from events, consent), channel suppressions, the
// messages recently sent (for frequency caps and dedupe), and a bounded
// trace of every decision taken for the customer.
//
// A Record is one etcd key per customer, written only by the owner of the
// customer's partition, in the same transaction as the events that changed
// it. This package holds no I/O: it folds events into a Record.
package customer

import (
	"math"
	"strings"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// Bounds on what a Record keeps, so that one busy customer cannot grow a
// key without limit.
const (
	// MaxTrace is how many decisions the trace keeps (newest kept).
	MaxTrace = 50
	// MaxSends is how many sent messages are remembered for frequency
	// caps (newest kept); caps over more messages than this count only
	// these.
	MaxSends = 100
	// MaxFired is how many message ids are remembered for dedupe once
	// their message has left the outbox.
	MaxFired = 200
	// MaxTraits bounds the traits kept; an event that would add more is
	// applied for the traits already known only.
	MaxTraits = 200
	// MaxEvents is how many of the customer's recent events the record
	// lists (newest kept), for the admin API.
	MaxEvents = 20
)

// Record is everything the gateway keeps about a customer outside rule
// state.
type Record struct {
	Profile sdk.Profile `json:"profile"`
	// Suppressed maps a channel kind ("email", "sms") to why nothing at all
	// may be sent on it, transactional messages included: a hard bounce
	// (the address does not exist), a spam complaint, an SMS STOP.
	Suppressed map[string]Suppression `json:"suppressed,omitempty"`
	// Sends are the messages recently queued for the customer, oldest
	// first, for frequency caps.
	Sends []Send `json:"sends,omitempty"`
	// Fired are the ids of messages recently queued, oldest first: a fire
	// that yields one of them again is a duplicate.
	Fired []string `json:"fired,omitempty"`
	// Trace is the bounded decision trace, oldest first.
	Trace []Decision `json:"trace,omitempty"`
	// Events are the customer's most recent events, oldest first: a
	// reference to each, not its payload (the raw archive keeps those).
	Events []EventRef `json:"events,omitempty"`
}

// EventRef identifies one event the customer's record took in.
type EventRef struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	Source     string    `json:"source"`
	OccurredAt time.Time `json:"occurred_at,omitzero"`
	ReceivedAt time.Time `json:"received_at,omitzero"`
}

// Suppression says why a channel kind is closed for the customer.
type Suppression struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// EventID is the event that caused it.
	EventID string `json:"event_id,omitempty"`
}

// Send is one message queued for the customer.
type Send struct {
	At            time.Time `json:"at"`
	Rule          string    `json:"rule"`
	Channel       string    `json:"channel"`
	Kind          string    `json:"kind"`
	Transactional bool      `json:"transactional,omitempty"`
}

// Decision is one entry of the trace: what happened to a fire (or a
// timer), and why.
type Decision struct {
	At        time.Time `json:"at"`
	Rule      string    `json:"rule"`
	Step      string    `json:"step,omitempty"`
	EventID   string    `json:"event_id,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	// Outcome is "sent", "deferred", "suppressed", "fallback" or
	// "dropped".
	Outcome string `json:"outcome"`
	// Reason names the policy that decided, e.g. "consent",
	// "frequency_cap", "quiet_hours", "holdout", "duplicate".
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Variant is the A/B variant chosen, if the action has variants.
	Variant string `json:"variant,omitempty"`
	// Until is when a deferred message will be sent.
	Until time.Time `json:"until,omitzero"`
}

// Decide appends a decision to the trace, dropping the oldest beyond
// MaxTrace.
func (r *Record) Decide(d Decision) {
	r.Trace = appendBounded(r.Trace, d, MaxTrace)
}

// RecordSend remembers a queued message for dedupe and, when caps look
// back over horizon (the longest cap window; 0 when there are no caps),
// for caps. Sends older than horizon are forgotten: the record is
// rewritten with every event, so it stays small.
func (r *Record) RecordSend(s Send, messageID string, horizon time.Duration) {
	r.Fired = appendBounded(r.Fired, messageID, MaxFired)
	keep := r.Sends[:0]
	for _, old := range r.Sends {
		if old.At.After(s.At.Add(-horizon)) {
			keep = append(keep, old)
		}
	}
	r.Sends = keep
	if horizon > 0 {
		r.Sends = appendBounded(r.Sends, s, MaxSends)
	}
	if len(r.Sends) == 0 {
		r.Sends = nil
	}
}

// WasFired reports whether a message id was queued recently.
func (r *Record) WasFired(messageID string) bool {
	for _, id := range r.Fired {
		if id == messageID {
			return true
		}
	}
	return false
}

func appendBounded[T any](s []T, v T, limit int) []T {
	s = append(s, v)
	if over := len(s) - limit; over > 0 {
		s = append(s[:0:0], s[over:]...)
	}
	return s
}

// Apply folds an event into the record: the identity it carries, its
// traits, the timezone trait, the figures (first and last seen, orders
// and their value) and consent or suppression changes. now is the host's
// clock, which bounds times in the future.
func (r *Record) Apply(ev *sdk.Event, now time.Time) {
	r.Events = appendBounded(r.Events, EventRef{ID: ev.ID, Type: ev.Type, Source: ev.Source,
		OccurredAt: ev.OccurredAt, ReceivedAt: ev.ReceivedAt}, MaxEvents)
	p := &r.Profile
	p.Customer = p.Customer.Merge(ev.Customer)
	for k, v := range ev.Traits {
		if _, ok := p.Traits[k]; !ok && len(p.Traits) >= MaxTraits {
			continue
		}
		if p.Traits == nil {
			p.Traits = map[string]any{}
		}
		p.Traits[k] = v
	}
	if tz, ok := ev.Traits["timezone"].(string); ok {
		if _, err := time.LoadLocation(tz); err == nil && tz != "" && tz != "Local" {
			p.Timezone = tz
		}
	}

	at := ev.OccurredAt
	if at.IsZero() || at.After(now) {
		at = now
	}
	at = at.UTC()
	st := &p.Stats
	if st.FirstSeenAt.IsZero() || at.Before(st.FirstSeenAt) {
		st.FirstSeenAt = at
	}
	if at.After(st.LastSeenAt) {
		st.LastSeenAt = at
	}
	if ev.Type == "order.placed" {
		st.OrdersCount++
		if v, ok := number(ev.Properties["value"]); ok && v >= 0 {
			st.LifetimeValue += v
		}
		st.AverageOrderValue = st.LifetimeValue / float64(st.OrdersCount)
		if at.After(st.LastOrderAt) {
			st.LastOrderAt = at
		}
	}
	r.applyConsent(ev, now)
}

// applyConsent updates consent and suppressions from the events that
// carry them (configs/README.md lists them).
func (r *Record) applyConsent(ev *sdk.Event, now time.Time) {
	p := &r.Profile
	set := func(key string, granted bool) {
		if p.Consent == nil {
			p.Consent = map[string]bool{}
		}
		p.Consent[key] = granted
	}
	suppress := func(kind, reason string) {
		if r.Suppressed == nil {
			r.Suppressed = map[string]Suppression{}
		}
		r.Suppressed[kind] = Suppression{Reason: reason, At: now.UTC(), EventID: ev.ID}
	}
	switch ev.Type {
	case "email.unsubscribed":
		set("email", false)
	case "email.resubscribed":
		set("email", true)
	case "email.complained":
		set("email", false)
		suppress("email", "spam complaint")
	case "email.bounced":
		if bt, _ := ev.Properties["bounce_type"].(string); bt == "hard" {
			suppress("email", "hard bounce")
		}
	case "sms.unsubscribed":
		set("sms", false)
		suppress("sms", "SMS opt-out (STOP)")
	case "sms.subscribed":
		set("sms", true)
		delete(r.Suppressed, "sms")
	case "consent.updated":
		ch, _ := ev.Properties["channel"].(string)
		granted, ok := ev.Properties["granted"].(bool)
		ch = strings.ToLower(strings.TrimSpace(ch))
		if ch == "" || !ok || len(ch) > 64 {
			return
		}
		key := ch
		if purpose, _ := ev.Properties["purpose"].(string); purpose != "" && len(purpose) <= 64 {
			key += ":" + strings.ToLower(strings.TrimSpace(purpose))
		}
		set(key, granted)
		if granted && key == ch {
			// Opting in again lifts an opt-out, not a bounce.
			if s, ok := r.Suppressed[ch]; ok && s.Reason == "SMS opt-out (STOP)" {
				delete(r.Suppressed, ch)
			}
		}
	}
	// Marketing consent as platforms report it in traits (Shopify).
	if v, ok := ev.Traits["accepts_marketing"].(bool); ok {
		set("email", v)
	}
	if v, ok := ev.Traits["accepts_sms_marketing"].(bool); ok {
		set("sms", v)
	}
}

// number reads a JSON number property.
func number(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return 0, false
	}
	return f, true
}
