// Package outbox defines the messages waiting for delivery in etcd. The
// engine writes an Entry in the same transaction as the rule state that
// produced the fire; delivery workers read, send and remove it. Keeping the
// two in one transaction is what makes a fire neither lost nor sent twice.
package outbox

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// Entry is one message waiting for its channel.
type Entry struct {
	// Message is what the channel plugin receives; Message.ID is the
	// idempotency key and the entry's key in etcd.
	Message sdk.Message `json:"message"`
	// Partition is the customer's partition: only the node that owns it
	// delivers the message.
	Partition int `json:"partition"`
	// Customer is the customer's key (sdk.Customer.Key), so that erasing
	// a customer finds their pending messages.
	Customer string `json:"customer,omitempty"`
	// Channel and Template name the action's channel and template blocks.
	Channel  string `json:"channel"`
	Template string `json:"template,omitempty"`
	// Transactional marks a message of a transactional trigger: it gets
	// no unsubscribe link or List-Unsubscribe header.
	Transactional bool `json:"transactional,omitempty"`
	// Attempts counts failed deliveries so far.
	Attempts int `json:"attempts"`
	// NextAttemptAt is when the message may be sent (again).
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// LastError is the most recent failure, for the DLQ and operators.
	LastError string `json:"last_error,omitempty"`
}

// DeadLetter is a message that will not be retried automatically.
type DeadLetter struct {
	Entry
	// Reason says why it was given up on.
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// MessageID derives the idempotency key of a fire's message. The same rule,
// step, customer, fire key and action always give the same id, so a fire
// that is evaluated twice (after a crash) yields one message, and providers
// that accept idempotency keys drop a resend.
func MessageID(rule, step, customerKey, fireKey string, action int) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d", rule, step, customerKey, fireKey, action)
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil)[:16]))
}

// KeyParts are the parts of an entry's key below the store prefix:
// outbox/<partition>/<message id>.
func KeyParts(partition int, id string) []string {
	return []string{"outbox", fmt.Sprintf("%03d", partition), id}
}

// Encode marshals an entry for etcd.
func (e *Entry) Encode() (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encoding outbox entry %s: %w", e.Message.ID, err)
	}
	return string(b), nil
}

// Decode unmarshals an entry read from etcd.
func Decode(b []byte) (*Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("decoding outbox entry: %w", err)
	}
	if e.Message.ID == "" || e.Channel == "" {
		return nil, fmt.Errorf("decoding outbox entry: missing message id or channel")
	}
	return &e, nil
}

// DeliveryType is the event the delivery worker appends to the customer's
// partition log in the transaction that settles a message, so that the
// partition's owner, the only writer of the customer's record, puts the
// outcome in the decision trace and the counters.
const DeliveryType = "triggergate.delivery"

// Delivery outcomes, as recorded.
const (
	// Delivered: the provider accepted the message.
	Delivered = "delivered"
	// Failed: the message was dead-lettered (refused for good, out of
	// attempts or age, or its template failed).
	Failed = "failed"
)

// DeliveryEvent is the record of a settled message: outcome, the
// provider's id, attempts and, for a failure, the reason. ok is false when
// the entry names no customer (nothing to record it on).
func DeliveryEvent(e *Entry, outcome, providerID, reason string, attempts int, at time.Time) (ev sdk.Event, ok bool) {
	c, err := sdk.ParseCustomerKey(e.Customer)
	if err != nil {
		return sdk.Event{}, false
	}
	h := sha256.Sum256([]byte(e.Message.ID + "\x00" + outcome))
	props := map[string]any{
		"message_id": e.Message.ID, "trigger": e.Message.Trigger, "step": e.Message.Step, "channel": e.Channel,
		"outcome": outcome, "attempts": attempts,
	}
	if e.Message.Variant != "" {
		props["variant"] = e.Message.Variant
	}
	if providerID != "" {
		props["provider_id"] = providerID
	}
	if reason != "" {
		props["reason"] = reason
	}
	at = at.UTC()
	return sdk.Event{
		ID:   "triggergate_delivery_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:15])),
		Type: DeliveryType, Source: "delivery", SourceKind: "internal", Customer: c,
		OccurredAt: at, ReceivedAt: at, Properties: props,
	}, true
}
