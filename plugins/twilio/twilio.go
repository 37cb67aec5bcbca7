package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/httpchannel"
)

// Plugin identity, as reported by Describe and sent as the User-Agent.
const (
	pluginName    = "twilio"
	pluginVersion = "0.1.0"
	userAgent     = "triggergate-twilio/" + pluginVersion
)

// Sending limits.
const (
	// defaultConcurrency is how many messages of a batch are in flight;
	// Twilio limits concurrent API requests per account, so keep it low.
	defaultConcurrency = 4
	// maxIdlePerHost keeps connections to Twilio open between messages.
	maxIdlePerHost = 32
	// maxBodyLength is Twilio's limit on Body, in characters.
	maxBodyLength = 1600
	// maxErrorMessage is how much of Twilio's error message a result quotes.
	maxErrorMessage = 256
)

// Twilio error codes the plugin explains (twilio.com/docs/api/errors).
const (
	errAuthenticate     = 20003 // wrong account SID, token or API key
	errNotFound         = 20404 // no such resource: a wrong path
	errTooManyRequests  = 20429 // account concurrency exceeded
	errInvalidTo        = 21211 // the To number is not a valid phone number
	errRegionPermission = 21408 // the destination's region is not enabled
	errUnsubscribed     = 21610 // the recipient replied STOP
	errNotMobile        = 21614 // the To number cannot receive SMS
)

// hints say what to do about an error code, after Twilio's own message.
var hints = map[int]string{
	errNotFound:         "check account_sid and base_url",
	errInvalidTo:        "fix the customer's phone number",
	errRegionPermission: "enable the destination country in the Twilio Console's Messaging Geo Permissions",
	errNotMobile:        "the number is a landline or otherwise cannot receive SMS",
}

// apiError is Twilio's JSON error body.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// apiMessage is the part of Twilio's Message resource the plugin reads.
type apiMessage struct {
	SID string `json:"sid"`
}

// Option configures a Twilio.
type Option func(*Twilio)

// WithClock replaces the wall clock that Retry-After dates are read against.
func WithClock(now func() time.Time) Option { return func(t *Twilio) { t.now = now } }

// WithConcurrency sets how many messages of a batch are sent at once.
func WithConcurrency(n int) Option {
	return func(t *Twilio) { t.concurrency = max(n, 1) }
}

// Twilio is the "twilio" channel.
type Twilio struct {
	log         hclog.Logger
	now         func() time.Time
	concurrency int

	// clients are shared by every channel block with the same network
	// policy, so connections are reused across batches.
	clients *httpchannel.Clients
}

var _ sdk.Channel = (*Twilio)(nil)

// New builds the channel with the logger the SDK injects.
func New(log hclog.Logger) sdk.Channel { return NewTwilio(log) }

// NewTwilio builds the channel with options.
func NewTwilio(log hclog.Logger, opts ...Option) *Twilio {
	t := &Twilio{log: log, now: time.Now, concurrency: defaultConcurrency, clients: &httpchannel.Clients{Options: httpchannel.Options{MaxIdleConnsPerHost: maxIdlePerHost}}}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Describe reports the plugin's identity and config schema.
func (t *Twilio) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Sends each message as an SMS through Twilio's Programmable Messaging API.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one channel block's config.
func (t *Twilio) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Send creates one Twilio Message per message, a few at a time, and
// classifies each outcome.
func (t *Twilio) Send(ctx context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	cfg, check := decodeConfig(req.Config)
	if check.Diagnostics.HasErrors() {
		return sdk.FailAll(len(req.Messages), fmt.Errorf("channel %q is misconfigured: %s", req.Channel, check.Diagnostics[0].Summary)), nil
	}
	client := t.clients.Get(cfg.AllowPrivateNetworks)

	results := httpchannel.SendAll(ctx, req.Messages, t.concurrency, func(ctx context.Context, m *sdk.Message) (sdk.SendResult, bool) {
		return t.send(ctx, client, cfg, m), false
	})
	return &sdk.SendResponse{Results: results}, nil
}

// send delivers one message.
func (t *Twilio) send(ctx context.Context, client *http.Client, cfg *Config, m *sdk.Message) sdk.SendResult {
	form, err := buildForm(cfg, m)
	if err != nil {
		return sdk.Fail(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return sdk.Fail(fmt.Errorf("building request: %w", err))
	}
	req.SetBasicAuth(cfg.credentials())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)

	res, answer := httpchannel.Do(ctx, client, req, cfg.Timeout.D(), t.now())
	res = classify(cfg, res, answer)
	t.log.Debug("twilio attempted", "message_id", m.ID, "status", res.Status, "sid", res.ProviderID, "error", res.Error)
	return res
}

// buildForm renders the Create Message parameters for m, or explains why
// m cannot be sent as an SMS (a permanent failure: sending again cannot
// help).
func buildForm(cfg *Config, m *sdk.Message) (url.Values, error) {
	to, ok := normalizePhone(m.Profile.Phone)
	if !ok {
		if m.Profile.Phone == "" {
			return nil, errors.New("customer has no valid phone number: the profile has none")
		}
		return nil, fmt.Errorf("customer has no valid phone number: %q is not E.164 (\"+\" and 8 to 15 digits, e.g. \"+14155550100\")", m.Profile.Phone)
	}
	body := strings.TrimSpace(m.Text)
	if body == "" {
		body = strings.TrimSpace(m.Subject)
	}
	if body == "" {
		return nil, errors.New("message has no text: the action's template renders neither text nor subject")
	}
	if n := smsLength(body); n > maxBodyLength {
		return nil, fmt.Errorf("message text is %d characters; Twilio accepts at most %d, shorten the template", n, maxBodyLength)
	}

	form := url.Values{"To": {to}, "Body": {body}}
	if cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", cfg.MessagingServiceSID)
	} else {
		form.Set("From", cfg.From)
	}
	if cfg.StatusCallback != "" {
		form.Set("StatusCallback", cfg.StatusCallback)
	}
	return form, nil
}

// normalizePhone removes the separators people write phone numbers with
// ("+1 (415) 555-0100") and reports whether what remains is E.164.
func normalizePhone(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	return s, e164Pattern.MatchString(s)
}

// smsLength counts characters the way Twilio's 1600 limit does, in UTF-16
// code units: an emoji outside the Basic Multilingual Plane counts twice.
func smsLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// classify refines httpchannel's classification of Twilio's answer: the
// message SID becomes the provider id, and Twilio's error code and message
// replace the raw body in errors.
func classify(cfg *Config, res sdk.SendResult, answer httpchannel.Response) sdk.SendResult {
	body := answer.Body
	if res.Status == sdk.StatusOK {
		var msg apiMessage
		// A 2xx without a readable SID was still accepted: sending again
		// would send the SMS twice.
		_ = json.Unmarshal(body, &msg)
		return sdk.Sent(msg.SID)
	}
	var e apiError
	if body == nil || json.Unmarshal(body, &e) != nil || (e.Code == 0 && e.Message == "") {
		// Not Twilio's error format (a transport error, a proxy's page):
		// httpchannel's explanation stands.
		return res
	}
	detail := describe(e)
	switch {
	case res.Status == sdk.StatusRetryable, e.Code == errTooManyRequests:
		return sdk.Retry(fmt.Errorf("twilio is busy or failing (%s)", detail), res.RetryAfter)
	case e.Code == errAuthenticate || e.Status == http.StatusUnauthorized || answer.StatusCode == http.StatusUnauthorized:
		return sdk.Fail(fmt.Errorf("twilio rejected the credentials (%s): %s", detail, cfg.credentialHint()))
	case e.Code == errUnsubscribed:
		return sdk.Fail(fmt.Errorf("recipient replied STOP and has opted out of messages from this sender (%s); they must text START to receive messages again", detail))
	}
	err := fmt.Errorf("twilio refused the message (%s)", detail)
	if hint, ok := hints[e.Code]; ok {
		err = fmt.Errorf("%w: %s", err, hint)
	}
	return sdk.Fail(err)
}

// describe formats a Twilio error for a result: code, message, HTTP status
// and documentation link.
func describe(e apiError) string {
	var b strings.Builder
	if e.Code != 0 {
		fmt.Fprintf(&b, "error %d: ", e.Code)
	}
	msg := strings.TrimSpace(e.Message)
	if r := []rune(msg); len(r) > maxErrorMessage {
		msg = string(r[:maxErrorMessage]) + "…"
	}
	b.WriteString(msg)
	if e.Status != 0 {
		fmt.Fprintf(&b, "; HTTP %d", e.Status)
	}
	if e.MoreInfo != "" {
		b.WriteString("; " + e.MoreInfo)
	}
	return b.String()
}
