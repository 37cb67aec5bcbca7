// Package mailgun is the source kind for Mailgun webhooks (the JSON
// webhooks of the v3 API): one email event per delivery, signed inside the
// body.
//
// The body is {"signature": {"timestamp", "token", "signature"},
// "event-data": {...}}. signature is the hex HMAC-SHA256 of timestamp +
// token (concatenated, as sent) under the domain's HTTP webhook signing
// key; events of a subaccount also carry parent-signature, the same HMAC
// under the primary account's key. Either may match any configured secret.
//
// Mailgun's signature does not cover event-data. A captured delivery's
// signature could be replayed with other event-data within the replay
// window, so the adapter also remembers, for the replay window, which body
// each token was first seen with and refuses a token reused for a
// different body (a retry of the same body passes, and is then a
// duplicate). That memory is per process.
package mailgun

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the kind name.
const Kind = "mailgun"

// maxTokens bounds the token memory. Only validly signed deliveries are
// remembered, so it fills only as fast as Mailgun sends; past the bound
// new tokens are not remembered (the signature and window still apply).
const maxTokens = 200_000

// adapter verifies and maps Mailgun deliveries. Safe for concurrent use:
// the token memory has its own lock.
type adapter struct {
	secrets []string
	window  time.Duration
	tokens  *tokenMemory
}

var _ source.Adapter = (*adapter)(nil)

// Build makes a mailgun adapter. The kind has no attributes of its own:
//
//	source "mailgun" {
//	  kind    = "mailgun"
//	  secret  = env("MAILGUN_WEBHOOK_SIGNING_KEY") # Sending → Webhooks → HTTP webhook signing key
//	  secrets = [env("MAILGUN_PREVIOUS_KEY")]      # optional, during a rotation
//	}
//
// A secret is required: Mailgun always signs.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	body := spec.Body
	if body == nil {
		body = hcl.EmptyBody()
	}
	_, d := body.Content(&hcl.BodySchema{})
	diags = append(diags, d...)
	diags = append(diags, spec.RequireSecrets(fmt.Sprintf("Source %q needs secret: Mailgun signs every webhook with the HTTP webhook signing key "+
		"(Mailgun dashboard → Sending → Webhooks). Set secret = env(\"MAILGUN_WEBHOOK_SIGNING_KEY\").", spec.Name))...)
	if diags.HasErrors() {
		return nil, diags
	}
	return &adapter{
		secrets: append([]string(nil), spec.Secrets...),
		window:  spec.Window(),
		tokens:  newTokenMemory(maxTokens),
	}, diags
}

// payload is a Mailgun webhook body.
type payload struct {
	Signature *struct {
		Timestamp       any    `json:"timestamp"`
		Token           string `json:"token"`
		Signature       string `json:"signature"`
		ParentSignature string `json:"parent-signature"`
	} `json:"signature"`
	EventData any `json:"event-data"`
}

// Parse verifies the in-body signature and replay window, then maps
// event-data.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no request", source.ErrBadPayload)
	}
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	var p payload
	if err := source.DecodeJSON(req.Body, &p); err != nil {
		return nil, err
	}
	if err := a.verify(&p, req); err != nil {
		return nil, err
	}
	data, ok := p.EventData.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: \"event-data\" is missing or not an object", source.ErrBadPayload)
	}
	ev, err := mapEvent(data, p.Signature.Token)
	if err != nil {
		return nil, fmt.Errorf("%w: event-data: %v", source.ErrBadPayload, err)
	}
	return &source.Delivery{Events: []sdk.Event{ev}}, nil
}

// verify checks the signature over timestamp + token, the replay window
// and that the token was not seen with another body.
func (a *adapter) verify(p *payload, req *source.Request) error {
	s := p.Signature
	if s == nil || s.Token == "" || s.Signature == "" {
		return fmt.Errorf("%w: the body has no \"signature\" object with timestamp, token and signature; "+
			"configure the webhook in Mailgun (v3 JSON webhooks) so it signs deliveries", source.ErrBadSignature)
	}
	ts := source.Text(s.Timestamp)
	signed, err := source.ParseUnix(ts)
	if err != nil {
		return fmt.Errorf("%w: signature.timestamp: %v", source.ErrBadSignature, err)
	}
	candidates := [][]byte{decodeHex(s.Signature)}
	if s.ParentSignature != "" {
		candidates = append(candidates, decodeHex(s.ParentSignature))
	}
	expected := func(key []byte) []byte {
		return source.HMAC(sha256.New, key, []byte(ts), []byte(s.Token))
	}
	if !source.MatchAny(a.secrets, expected, candidates...) {
		return fmt.Errorf("%w: signature.signature is not the hex HMAC-SHA256 of timestamp+token under the source's webhook signing key",
			source.ErrBadSignature)
	}
	if err := source.CheckTimestamp(req.Now, signed, a.window); err != nil {
		return err
	}
	if !a.tokens.claim(s.Token, sha256.Sum256(req.Body), signed, req.Now, a.window) {
		return fmt.Errorf("%w: signature.token was already used for a different delivery; Mailgun makes a new token per delivery",
			source.ErrBadSignature)
	}
	return nil
}

func decodeHex(s string) []byte {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil
	}
	return b
}

// mapEvent maps event-data. token is the dedupe id when the event has no id.
func mapEvent(data map[string]any, token string) (sdk.Event, error) {
	var ev sdk.Event
	name := source.Text(data["event"])
	if name == "" {
		return ev, errors.New(`"event" is missing or not a string`)
	}
	ev.Customer.Email = source.Email(source.Text(data["recipient"]))
	if ev.Customer.Email == "" {
		return ev, fmt.Errorf("%s event has no valid \"recipient\"", source.Truncate(name, 40))
	}
	ev.DeliveryID = source.Text(data["id"])
	if ev.DeliveryID == "" {
		ev.DeliveryID = token
	}
	if t, ok := data["timestamp"]; ok && t != nil {
		at, err := floatTime(t)
		if err != nil {
			return ev, fmt.Errorf("\"timestamp\": %v", err)
		}
		ev.OccurredAt = at
	}

	msg, _ := data["message"].(map[string]any)
	headers, _ := msg["headers"].(map[string]any)
	status, _ := data["delivery-status"].(map[string]any)
	client, _ := data["client-info"].(map[string]any)

	p := map[string]any{"email": ev.Customer.Email}
	source.SetText(p, "message_id", headers["message-id"])
	source.SetText(p, "subject", headers["subject"])
	if tags := source.TextList(data["tags"]); len(tags) > 0 {
		p["tags"] = tags
	}
	if c, ok := data["campaigns"].([]any); ok && len(c) > 0 {
		p["campaigns"] = source.Plain(c)
	}
	if uv, ok := data["user-variables"].(map[string]any); ok && len(uv) > 0 {
		p["user_variables"] = source.Plain(uv)
	}
	source.SetText(p, "ip", data["ip"])
	source.SetText(p, "user_agent", client["user-agent"])
	source.SetText(p, "smtp_code", status["code"])

	severity := source.Text(data["severity"])
	reason := source.FirstText(status["message"], status["description"], data["reason"])
	switch name {
	case "delivered":
		ev.Type = "email.delivered"
	case "opened":
		ev.Type = "email.opened"
	case "clicked":
		ev.Type = "email.clicked"
		source.SetText(p, "url", data["url"])
	case "complained":
		ev.Type = "email.complained"
	case "unsubscribed":
		ev.Type = "email.unsubscribed"
	case "failed":
		source.SetText(p, "reason", reason)
		source.SetText(p, "severity", severity)
		source.SetText(p, "mailgun_reason", data["reason"])
		mgReason := source.Text(data["reason"])
		switch {
		case severity == "permanent" && strings.HasPrefix(mgReason, "suppress-"):
			// Not sent at all: the address is on a suppression list
			// (bounce, unsubscribe, complaint) from an earlier event.
			ev.Type = source.TopicType(Kind, "failed.suppressed")
		case severity == "permanent":
			ev.Type = "email.bounced"
			p["bounce_type"] = "hard"
		case severity == "temporary":
			// Mailgun retries; if it gives up, a permanent failure follows.
			ev.Type = source.TopicType(Kind, "failed.temporary")
			source.SetText(p, "retry_seconds", status["retry-seconds"])
		default:
			ev.Type = source.TopicType(Kind, "failed."+severity)
		}
	default:
		ev.Type = source.TopicType(Kind, name)
		source.SetText(p, "reason", reason)
		source.SetText(p, "url", data["url"])
	}
	ev.Properties = p
	return ev, nil
}

// tokenMemory remembers which body each signature token was first
// accepted with, until its signed timestamp leaves the replay window.
type tokenMemory struct {
	mu        sync.Mutex
	seen      map[string]tokenUse
	max       int
	nextPrune int
}

type tokenUse struct {
	body   [32]byte
	signed time.Time
}

func newTokenMemory(max int) *tokenMemory {
	return &tokenMemory{seen: map[string]tokenUse{}, max: max, nextPrune: 1024}
}

// claim records token for body and reports whether that is consistent:
// a new token, or a known one with the same body.
func (m *tokenMemory) claim(token string, body [32]byte, signed, now time.Time, window time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.seen[token]; ok && now.Sub(u.signed) <= window {
		return u.body == body
	}
	if len(m.seen) >= m.nextPrune {
		for k, u := range m.seen {
			if now.Sub(u.signed) > window {
				delete(m.seen, k)
			}
		}
		m.nextPrune = max(1024, 2*len(m.seen))
	}
	if len(m.seen) < m.max {
		m.seen[token] = tokenUse{body: body, signed: signed}
	}
	return true
}

// maxTime is the last instant whose JSON form has a four-digit year.
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// floatTime reads event-data.timestamp: Unix seconds with a fraction.
func floatTime(v any) (time.Time, error) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return time.Time{}, fmt.Errorf("%q is not a number", source.Truncate(x.String(), 32))
		}
	default:
		return time.Time{}, errors.New("not a number of Unix seconds")
	}
	if math.IsNaN(f) || f < 0 || f > float64(maxTime.Unix()) {
		return time.Time{}, fmt.Errorf("%v is not a Unix time between 1970 and 9999", f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
}
