package customer

import (
	"maps"
	"slices"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// Absorb folds the record of another identity of the same person (an
// anonymous visitor who has now identified, an email-only buyer who now
// has an account) into r. What r already knows wins where the two
// disagree: its identity, trait values, timezone and consent choices. The
// rest is combined: missing identifiers, traits and consent keys are taken
// from o; order figures are summed and seen/order times widened;
// suppressions, recent sends, fired message ids and the decision trace are
// merged in time order within their bounds.
func (r *Record) Absorb(o Record) {
	p, q := &r.Profile, &o.Profile
	p.Customer = fillCustomer(p.Customer, q.Customer)
	for k, v := range q.Traits {
		if _, ok := p.Traits[k]; ok || len(p.Traits) >= MaxTraits {
			continue
		}
		if p.Traits == nil {
			p.Traits = map[string]any{}
		}
		p.Traits[k] = v
	}
	if p.Timezone == "" {
		p.Timezone = q.Timezone
	}
	for k, v := range q.Consent {
		if _, ok := p.Consent[k]; ok {
			continue
		}
		if p.Consent == nil {
			p.Consent = map[string]bool{}
		}
		p.Consent[k] = v
	}
	absorbStats(&p.Stats, q.Stats)

	for kind, s := range o.Suppressed {
		if _, ok := r.Suppressed[kind]; ok {
			continue
		}
		if r.Suppressed == nil {
			r.Suppressed = map[string]Suppression{}
		}
		r.Suppressed[kind] = s
	}
	r.Sends = mergeByTime(r.Sends, o.Sends, func(s Send) time.Time { return s.At }, MaxSends)
	r.Trace = mergeByTime(r.Trace, o.Trace, func(d Decision) time.Time { return d.At }, MaxTrace)
	r.Events = mergeByTime(r.Events, o.Events, func(e EventRef) time.Time { return e.ReceivedAt }, MaxEvents)
	for _, id := range o.Fired {
		if !slices.Contains(r.Fired, id) {
			r.Fired = appendBounded(r.Fired, id, MaxFired)
		}
	}
}

// fillCustomer adds to c the identifiers it lacks from o.
func fillCustomer(c, o sdk.Customer) sdk.Customer {
	if c.ID == "" {
		c.ID = o.ID
	}
	if c.Email == "" {
		c.Email = o.Email
	}
	if c.Phone == "" {
		c.Phone = o.Phone
	}
	if c.AnonymousID == "" {
		c.AnonymousID = o.AnonymousID
	}
	for k, v := range o.ExternalIDs {
		if _, ok := c.ExternalIDs[k]; ok {
			continue
		}
		c.ExternalIDs = maps.Clone(c.ExternalIDs)
		if c.ExternalIDs == nil {
			c.ExternalIDs = map[string]string{}
		}
		c.ExternalIDs[k] = v
	}
	return c
}

func absorbStats(s *sdk.Stats, o sdk.Stats) {
	s.OrdersCount += o.OrdersCount
	s.LifetimeValue += o.LifetimeValue
	if s.OrdersCount > 0 {
		s.AverageOrderValue = s.LifetimeValue / float64(s.OrdersCount)
	}
	if !o.FirstSeenAt.IsZero() && (s.FirstSeenAt.IsZero() || o.FirstSeenAt.Before(s.FirstSeenAt)) {
		s.FirstSeenAt = o.FirstSeenAt
	}
	if o.LastSeenAt.After(s.LastSeenAt) {
		s.LastSeenAt = o.LastSeenAt
	}
	if o.LastOrderAt.After(s.LastOrderAt) {
		s.LastOrderAt = o.LastOrderAt
	}
}

// mergeByTime merges two oldest-first lists into one, oldest first,
// keeping the newest limit.
func mergeByTime[T any](a, b []T, at func(T) time.Time, limit int) []T {
	if len(b) == 0 {
		return a
	}
	out := append(slices.Clone(a), b...)
	slices.SortStableFunc(out, func(x, y T) int { return at(x).Compare(at(y)) })
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}
