package sdk

import (
	"context"
	"time"
)

// Trigger is implemented by trigger plugins. Implementations must be safe
// for concurrent use: the host may evaluate several batches at once.
type Trigger interface {
	Describer
	// Evaluate decides, for every item, what changes. It returns exactly one
	// result per item, in order. A problem with one item belongs in that
	// item's Result.Err; a returned error fails the whole batch, which the
	// host retries.
	Evaluate(ctx context.Context, req *EvaluateRequest) (*EvaluateResponse, error)
}

// EvaluateRequest is a batch of events to evaluate against configured rules.
type EvaluateRequest struct {
	// Rules holds the configuration of every rule the items name, by rule
	// name. Decode one with DecodeConfig.
	Rules map[string]RawConfig
	Items []EvaluateItem
}

// EvaluateItem is one event for one rule.
type EvaluateItem struct {
	// Rule is the name of the trigger block being evaluated.
	Rule string
	// Event is the event being processed. For a timer the host fires, its
	// Type is "timer.fired" and Timer is set.
	Event Event
	// Timer is the timer that came due, when Event.Type is "timer.fired".
	Timer *Timer
	// Profile is the customer the event is about, as the host knows them
	// now: the event's identity, traits and consent already merged in. For
	// a timer.fired item it is the customer's current profile.
	Profile Profile
	// State is what this rule returned for this customer last time; nil the
	// first time. Its encoding is the plugin's own business.
	State []byte
	// Now is the host's clock. Plugins must use it rather than time.Now so
	// that simulations and tests run on a virtual clock.
	Now time.Time
}

// EvaluateResponse carries one Result per request item, in order.
type EvaluateResponse struct {
	Results []Result
}

// Result is what one item changes.
type Result struct {
	// State replaces the rule's state for this customer. Nil or empty
	// deletes it.
	State []byte
	// SetTimers are timers to create or replace (by ID).
	SetTimers []Timer
	// CancelTimers are IDs of timers to delete.
	CancelTimers []string
	// Fires are journey steps that are due now.
	Fires []Fire
	// Err reports that this item could not be evaluated. The host keeps
	// the event, with this error, in its dead-letter records for the rule
	// (to inspect and replay); the other items stand.
	Err string
}

// Timer asks the host to call back at a given time with a "timer.fired"
// event. Timers are per rule and customer; setting an existing ID replaces it.
type Timer struct {
	ID   string         `json:"id"`
	At   time.Time      `json:"at"`
	Data map[string]any `json:"data,omitempty"`
}

// Fire says that a step of a rule is due for the customer.
type Fire struct {
	// Step names the step ("default", "reminder_2", ...).
	Step string `json:"step"`
	// Data is made available to templates and channels.
	Data map[string]any `json:"data,omitempty"`
	// Key tells apart fires of the same rule and step for one customer (for
	// example a checkout id). Two fires with the same rule, step, customer
	// and key are the same message: the host sends it at most once.
	Key string `json:"key,omitempty"`
}
