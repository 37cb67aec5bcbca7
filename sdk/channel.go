package sdk

import (
	"context"
	"time"
)

// Channel is implemented by channel plugins. Implementations must be safe
// for concurrent use.
type Channel interface {
	Describer
	// Send delivers every message and returns exactly one SendResult per
	// message, in order. A returned error means the whole batch failed and
	// is retried by the host.
	Send(ctx context.Context, req *SendRequest) (*SendResponse, error)
}

// SendRequest is a batch of messages for one configured channel.
type SendRequest struct {
	// Channel is the name of the channel block.
	Channel string
	// Config is the channel block's config; decode it with DecodeConfig.
	Config RawConfig
	// Messages to deliver.
	Messages []Message
}

// Message is one rendered message ready to deliver.
type Message struct {
	// ID is the idempotency key: stable across retries of the same message.
	// Pass it to providers that accept one.
	ID string `json:"id"`
	// Trigger and Step name the rule and step that fired.
	Trigger string `json:"trigger"`
	Step    string `json:"step"`
	// Variant is the A/B variant the customer was assigned, if the action
	// has variants.
	Variant string `json:"variant,omitempty"`
	// Profile is the recipient.
	Profile Profile `json:"customer"`
	// Event is the canonical event that caused the fire.
	Event Event `json:"event"`
	// Fire is the data the trigger attached to the fire.
	Fire map[string]any `json:"fire,omitempty"`
	// Subject, Text and HTML are the rendered template, when the action
	// names one.
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
	// Headers are extra headers for channels that carry them, set by the
	// host: email gets List-Unsubscribe and List-Unsubscribe-Post (RFC
	// 8058) when tracking is on. A plugin adds them as they are.
	Headers map[string]string `json:"headers,omitempty"`
	// CreatedAt is when the fire happened; stable across retries.
	CreatedAt time.Time `json:"created_at"`
	// Attempt counts deliveries of this message, starting at 1.
	Attempt int `json:"attempt"`
}

// SendResponse carries one SendResult per request message, in order.
type SendResponse struct {
	Results []SendResult
}

// SendStatus classifies the outcome of one delivery.
type SendStatus int

const (
	// StatusOK means the provider accepted the message.
	StatusOK SendStatus = iota + 1
	// StatusRetryable means a later attempt may succeed (timeouts, 5xx,
	// rate limits). The host retries with backoff.
	StatusRetryable
	// StatusPermanent means retrying cannot help (bad address, 4xx). The
	// host gives up and dead-letters the message.
	StatusPermanent
)

// String returns the status's name.
func (s SendStatus) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusRetryable:
		return "retryable"
	case StatusPermanent:
		return "permanent"
	}
	return "unknown"
}

// SendResult is the outcome of one message.
type SendResult struct {
	Status SendStatus
	// ProviderID is the provider's id for the accepted message, if any.
	ProviderID string
	// Error explains a failure.
	Error string
	// RetryAfter is the provider's requested delay (e.g. from Retry-After),
	// zero when it gave none.
	RetryAfter time.Duration
}

// Sent builds an OK result.
func Sent(providerID string) SendResult {
	return SendResult{Status: StatusOK, ProviderID: providerID}
}

// Retry builds a retryable failure.
func Retry(err error, after time.Duration) SendResult {
	return SendResult{Status: StatusRetryable, Error: err.Error(), RetryAfter: after}
}

// FailAll answers a batch of n messages with the same permanent failure,
// e.g. when the channel's config is unusable.
func FailAll(n int, err error) *SendResponse {
	out := &SendResponse{Results: make([]SendResult, n)}
	for i := range out.Results {
		out.Results[i] = Fail(err)
	}
	return out
}

// Fail builds a permanent failure.
func Fail(err error) SendResult {
	return SendResult{Status: StatusPermanent, Error: err.Error()}
}
