package sdk

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Event is the canonical event every webhook delivery is normalised into.
// Its JSON form is the one used on the wire, in the admin API and in tests.
type Event struct {
	// ID is the gateway's ULID for the event; deterministic when the vendor
	// supplied a delivery id.
	ID string `json:"id"`
	// Type is a taxonomy name such as "checkout.updated"; custom types pass
	// through unchanged.
	Type string `json:"type"`
	// Source is the name of the source block that received the event.
	Source string `json:"source"`
	// SourceKind is the adapter that parsed it ("shopify", "json", ...).
	SourceKind string `json:"source_kind"`
	// DeliveryID is the vendor's delivery or event id, used for dedupe.
	DeliveryID string `json:"delivery_id,omitempty"`
	// OccurredAt is when the vendor says the event happened (UTC).
	OccurredAt time.Time `json:"occurred_at"`
	// ReceivedAt is when the gateway accepted the delivery (UTC).
	ReceivedAt time.Time `json:"received_at"`
	// Customer identifies who the event is about.
	Customer Customer `json:"customer"`
	// Properties are the event's own data (amounts in major units).
	Properties map[string]any `json:"properties,omitempty"`
	// Traits are customer attributes the event sets on the profile.
	Traits map[string]any `json:"traits,omitempty"`
}

// TimerFired is the type of the internal event the host sends a trigger
// when one of its timers comes due.
const TimerFired = "timer.fired"

// ReservedType reports whether an event type is reserved for events the
// host makes itself (timer.fired, and every type under "triggergate."):
// sources never accept them from outside.
func ReservedType(t string) bool {
	return t == TimerFired || strings.HasPrefix(t, "triggergate.")
}

// Customer identifies a person. Emails are lower-cased.
type Customer struct {
	ID          string            `json:"id,omitempty"`
	Email       string            `json:"email,omitempty"`
	Phone       string            `json:"phone,omitempty"`
	ExternalIDs map[string]string `json:"external_ids,omitempty"`
	AnonymousID string            `json:"anonymous_id,omitempty"`
}

// Merge returns c with every identifier o carries set from o: what a
// profile learns from an event about the same person.
func (c Customer) Merge(o Customer) Customer {
	if o.ID != "" {
		c.ID = o.ID
	}
	if o.Email != "" {
		c.Email = o.Email
	}
	if o.Phone != "" {
		c.Phone = o.Phone
	}
	if o.AnonymousID != "" {
		c.AnonymousID = o.AnonymousID
	}
	if len(o.ExternalIDs) > 0 {
		ext := maps.Clone(c.ExternalIDs)
		if ext == nil {
			ext = map[string]string{}
		}
		maps.Copy(ext, o.ExternalIDs)
		c.ExternalIDs = ext
	}
	return c
}

// Key returns the identity the gateway groups a customer's events by: the
// resolved id, else the email, else the phone, else an external id, else
// the anonymous id. It is empty when the customer carries no identity.
func (c Customer) Key() string {
	switch {
	case c.ID != "":
		return "id:" + c.ID
	case c.Email != "":
		return "email:" + c.Email
	case c.Phone != "":
		return "phone:" + c.Phone
	}
	for _, k := range slices.Sorted(maps.Keys(c.ExternalIDs)) {
		if v := c.ExternalIDs[k]; v != "" {
			return "ext:" + k + ":" + v
		}
	}
	if c.AnonymousID != "" {
		return "anon:" + c.AnonymousID
	}
	return ""
}

// ParseCustomerKey inverts Key: ParseCustomerKey(k).Key() == k for every
// key Key returns, and it accepts only keys Key could return. An external
// system's name cannot contain ':' (the key could not say where it ends).
func ParseCustomerKey(key string) (Customer, error) {
	kind, v, ok := strings.Cut(key, ":")
	if !ok || v == "" {
		return Customer{}, fmt.Errorf("customer key %q: want id:..., email:..., phone:..., ext:<system>:... or anon:...", clip(key))
	}
	var c Customer
	switch kind {
	case "id":
		c.ID = v
	case "email":
		c.Email = v
	case "phone":
		c.Phone = v
	case "anon":
		c.AnonymousID = v
	case "ext":
		sys, id, ok := strings.Cut(v, ":")
		if !ok || sys == "" || id == "" {
			return Customer{}, fmt.Errorf("customer key %q: want ext:<system>:<id>", clip(key))
		}
		c.ExternalIDs = map[string]string{sys: id}
	default:
		return Customer{}, fmt.Errorf("customer key %q: unknown kind %q", clip(key), clip(kind))
	}
	if c.Key() != key {
		return Customer{}, fmt.Errorf("customer key %q is not in canonical form (%q)", clip(key), clip(c.Key()))
	}
	return c, nil
}

// clip shortens a string quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// Profile is what the host knows about a customer when it asks a trigger or
// a channel to act: identity, traits, the figures the host computes from
// the customer's events, and consent.
type Profile struct {
	Customer
	// Traits are the customer's attributes (first_name, birthday, ...).
	Traits map[string]any `json:"traits,omitempty"`
	// Timezone is an IANA zone name such as "Europe/Paris"; empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// Stats are computed by the host from the customer's events.
	Stats Stats `json:"stats,omitzero"`
	// Consent maps a channel kind, or "kind:purpose", to whether the
	// customer agreed to messages on it: {"email": true,
	// "sms:marketing": false}. A key that is absent means no recorded
	// choice; the host's consent policy decides what that allows.
	Consent map[string]bool `json:"consent,omitempty"`
}

// Stats are the figures the host keeps per customer: counts and amounts
// from order.placed events (refunds are not subtracted), and when the
// customer was first and last seen. Times are UTC; zero when unknown.
type Stats struct {
	OrdersCount       int       `json:"orders_count"`
	LifetimeValue     float64   `json:"lifetime_value"`
	AverageOrderValue float64   `json:"average_order_value"`
	FirstSeenAt       time.Time `json:"first_seen_at,omitzero"`
	LastSeenAt        time.Time `json:"last_seen_at,omitzero"`
	LastOrderAt       time.Time `json:"last_order_at,omitzero"`
}
