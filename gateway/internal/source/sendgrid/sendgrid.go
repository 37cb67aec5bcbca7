// Package sendgrid is the source kind for the SendGrid Event Webhook: a
// signed JSON array of email events (delivered, open, click, bounce, ...),
// one canonical event per item.
//
// SendGrid signs with a key pair rather than a shared secret: the
// X-Twilio-Email-Event-Webhook-Signature header is the base64 ASN.1 DER
// ECDSA P-256 signature of SHA-256(timestamp + raw body), where timestamp
// is the X-Twilio-Email-Event-Webhook-Timestamp header exactly as sent.
// The source is configured with the verification key(s) SendGrid shows,
// in public_keys.
package sendgrid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the kind name, also the key of the customer's external ids.
const Kind = "sendgrid"

// The headers SendGrid signs with.
const (
	SignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	TimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

// adapter verifies and maps SendGrid Event Webhook deliveries. It holds
// only immutable configuration, so it is safe for concurrent use.
type adapter struct {
	keys   []*ecdsa.PublicKey
	window time.Duration
}

var _ source.Adapter = (*adapter)(nil)

// Build makes a sendgrid adapter. The block takes one attribute of its own:
//
//	source "sendgrid" {
//	  kind        = "sendgrid"
//	  public_keys = [env("SENDGRID_WEBHOOK_KEY")] # current (and previous) verification keys
//	}
//
// public_keys (list of strings, required) are the "Verification Key"s from
// SendGrid's Mail Settings → Event Webhook → Signed Event Webhook: base64
// DER SubjectPublicKeyInfo as SendGrid shows them, or PEM. More than one
// during a key rotation. secret/secrets do not apply to this kind.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	body := spec.Body
	if body == nil {
		body = hcl.EmptyBody()
	}
	content, d := body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "public_keys"}},
	})
	diags = append(diags, d...)
	if len(spec.Secrets) > 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "SendGrid does not use a shared secret",
			Detail: fmt.Sprintf("Source %q is a sendgrid source, which SendGrid signs with a key pair: remove secret/secrets "+
				"and put the Verification Key from Mail Settings → Event Webhook → Signed Event Webhook in public_keys.", spec.Name),
			Subject: spec.BlockRange().Ptr(),
		})
	}
	a := &adapter{window: spec.Window()}
	attr, ok := content.Attributes["public_keys"]
	if !ok {
		if !d.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing public_keys",
				Detail: fmt.Sprintf("Source %q needs public_keys: enable Signed Event Webhook Requests in SendGrid "+
					"(Mail Settings → Event Webhook) and set public_keys = [\"<Verification Key>\"].", spec.Name),
				Subject: spec.BlockRange().Ptr(),
			})
		}
		return nil, diags
	}
	keys, d := publicKeys(attr, spec.EvalContext)
	diags = append(diags, d...)
	a.keys = keys
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// publicKeys evaluates public_keys: a non-empty list of P-256 keys.
func publicKeys(attr *hcl.Attribute, ctx *hcl.EvalContext) ([]*ecdsa.PublicKey, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	bad := func(detail string) hcl.Diagnostics {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid public_keys",
			Detail:   detail,
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	list, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || list.IsNull() || !list.IsWhollyKnown() {
		return nil, bad("public_keys must be a list of strings: the Verification Keys SendGrid shows, e.g. [env(\"SENDGRID_WEBHOOK_KEY\")].")
	}
	if list.LengthInt() == 0 {
		return nil, bad("public_keys is empty; add the Verification Key from SendGrid's Signed Event Webhook settings.")
	}
	var keys []*ecdsa.PublicKey
	for i, s := range list.AsValueSlice() {
		if s.IsNull() {
			return nil, bad(fmt.Sprintf("Key %d of public_keys is null.", i))
		}
		k, err := ParsePublicKey(s.AsString())
		if err != nil {
			return nil, bad(fmt.Sprintf("Key %d of public_keys: %v.", i, err))
		}
		keys = append(keys, k)
	}
	return keys, diags
}

// ParsePublicKey reads a SendGrid verification key: base64 DER
// SubjectPublicKeyInfo (as the dashboard shows it) or a PEM "PUBLIC KEY"
// block. It must be an ECDSA P-256 key.
func ParsePublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the key is empty (is the environment variable set?)")
	}
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		var err error
		if der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), "")); err != nil {
			return nil, errors.New("the key is neither base64 nor PEM; paste the Verification Key exactly as SendGrid shows it")
		}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("the key is not a DER SubjectPublicKeyInfo: %v", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("the key is not an ECDSA P-256 public key, which SendGrid signs with")
	}
	return k, nil
}

// Parse verifies the signature and replay window, then maps every item of
// the array to an event.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no request", source.ErrBadPayload)
	}
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	if err := a.verify(req); err != nil {
		return nil, err
	}
	var root any
	if err := source.DecodeJSON(req.Body, &root); err != nil {
		return nil, err
	}
	items, ok := root.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: body is not a JSON array; SendGrid sends an array of event objects", source.ErrBadPayload)
	}
	events := make([]sdk.Event, 0, len(items))
	names := make([]string, 0, len(items))
	for i, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: item %d is not a JSON object", source.ErrBadPayload, i)
		}
		ev, name, err := mapEvent(obj)
		if err != nil {
			return nil, fmt.Errorf("%w: item %d: %v", source.ErrBadPayload, i, err)
		}
		events = append(events, ev)
		names = append(names, name)
	}
	qualifySharedIDs(events, names)
	return &source.Delivery{Events: events}, nil
}

// verify checks the ECDSA signature over timestamp + body against every
// configured key, then the replay window. The timestamp is parsed first
// only to report a malformed header; the window is checked after the
// signature so a forged timestamp is reported as a bad signature.
func (a *adapter) verify(req *source.Request) error {
	sigHeader := req.Header.Get(SignatureHeader)
	ts := req.Header.Get(TimestampHeader)
	if sigHeader == "" || ts == "" {
		return fmt.Errorf("%w: missing %s or %s header; enable Signed Event Webhook Requests in SendGrid's Event Webhook settings",
			source.ErrBadSignature, SignatureHeader, TimestampHeader)
	}
	signed, err := source.ParseUnix(ts)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", source.ErrBadSignature, TimestampHeader, err)
	}
	sig := source.DecodeBase64(sigHeader)
	h := sha256.New()
	h.Write([]byte(ts))
	h.Write(req.Body)
	digest := h.Sum(nil)
	ok := false
	for _, k := range a.keys {
		if len(sig) > 0 && ecdsa.VerifyASN1(k, digest, sig) {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: %s is not a valid ECDSA P-256 signature of the timestamp and body under any of the source's public_keys",
			source.ErrBadSignature, SignatureHeader)
	}
	return source.CheckTimestamp(req.Now, signed, a.window)
}

// qualifySharedIDs keeps batch items apart that carry one sg_event_id for
// different events. Real sg_event_ids are unique per event; SendGrid's own
// documentation sample (and test payloads modelled on it) repeat a
// placeholder, which would otherwise collapse into one event. Each such
// item becomes "<sg_event_id>:<event>", stable across resends of the batch.
// Items that repeat both the id and the event are one event sent twice and
// stay as they are.
// names[i] is the SendGrid event of events[i].
func qualifySharedIDs(events []sdk.Event, names []string) {
	kinds := make(map[string]map[string]bool, len(events))
	for i, ev := range events {
		if ev.DeliveryID == "" {
			continue
		}
		if kinds[ev.DeliveryID] == nil {
			kinds[ev.DeliveryID] = map[string]bool{}
		}
		kinds[ev.DeliveryID][names[i]] = true
	}
	for i := range events {
		id := events[i].DeliveryID
		if id != "" && len(kinds[id]) > 1 {
			events[i].DeliveryID = id + ":" + names[i]
		}
	}
}

// knownFields are the SendGrid fields the mapping reads or deliberately
// drops; every other top-level field is a custom argument (unique_args /
// custom_args, which SendGrid puts at the top level of each event).
var knownFields = map[string]bool{
	"email": true, "timestamp": true, "event": true, "sg_event_id": true, "sg_message_id": true,
	"smtp-id": true, "category": true, "url": true, "url_offset": true, "reason": true, "response": true,
	"status": true, "attempt": true, "type": true, "bounce_classification": true, "useragent": true,
	"ip": true, "tls": true, "cert_err": true, "asm_group_id": true, "marketing_campaign_id": true,
	"marketing_campaign_name": true, "marketing_campaign_version": true, "marketing_campaign_split_id": true,
	"singlesend_id": true, "singlesend_name": true, "mc_stats": true, "phase_id": true, "send_at": true,
	"sg_content_type": true, "sg_template_id": true, "sg_template_name": true, "template_hash": true,
	"template_id": true, "template_version_id": true, "sg_machine_open": true, "pool": true,
	"newsletter": true, "post_type": true, "ab_variation": true, "ab_phase_id": true,
}

// mapEvent maps one item and returns its SendGrid event name. Errors are
// the item's problem; the caller says which item and wraps
// source.ErrBadPayload.
func mapEvent(item map[string]any) (sdk.Event, string, error) {
	var ev sdk.Event
	name := source.Text(item["event"])
	if name == "" {
		return ev, "", errors.New(`"event" is missing or not a string`)
	}
	ev.Customer.Email = source.Email(source.Text(item["email"]))
	if ev.Customer.Email == "" {
		return ev, "", fmt.Errorf("%s event has no valid \"email\"", source.Truncate(name, 40))
	}
	if t, ok := item["timestamp"]; ok && t != nil {
		at, err := source.ParseUnix(source.Text(t))
		if err != nil {
			return ev, "", fmt.Errorf("\"timestamp\": %v", err)
		}
		ev.OccurredAt = at
	}
	ev.DeliveryID = source.Text(item["sg_event_id"])
	if ev.DeliveryID == "" {
		// SendGrid always sends sg_event_id; without it, the message id,
		// event and time still name the event for dedupe.
		if mid := source.Text(item["sg_message_id"]); mid != "" {
			ev.DeliveryID = mid + ":" + name + ":" + source.Text(item["timestamp"])
		}
	}

	p := map[string]any{"email": ev.Customer.Email}
	source.SetText(p, "message_id", item["sg_message_id"])
	source.SetText(p, "smtp_id", item["smtp-id"])
	if tags := strList(item["category"]); len(tags) > 0 {
		p["tags"] = tags
	}
	source.SetText(p, "user_agent", item["useragent"])
	source.SetText(p, "ip", item["ip"])
	source.SetText(p, "campaign", source.FirstText(item["singlesend_name"], item["marketing_campaign_name"]))
	source.SetText(p, "campaign_id", source.FirstText(item["singlesend_id"], item["marketing_campaign_id"]))
	source.SetText(p, "template_id", source.FirstText(item["template_id"], item["sg_template_id"]))
	if v, ok := item["sg_machine_open"].(bool); ok {
		p["machine_open"] = v
	}

	switch name {
	case "delivered":
		ev.Type = "email.delivered"
		source.SetText(p, "response", item["response"])
	case "open":
		ev.Type = "email.opened"
	case "click":
		ev.Type = "email.clicked"
		source.SetText(p, "url", item["url"])
	case "bounce":
		ev.Type = "email.bounced"
		// SendGrid's bounce event has type "bounce" (the receiving server
		// rejected the address: hard) or "blocked" (it refused this message,
		// e.g. for reputation or content: soft). Older events have no type
		// and are bounces.
		p["bounce_type"] = "hard"
		if strings.EqualFold(source.Text(item["type"]), "blocked") {
			p["bounce_type"] = "soft"
		}
		source.SetText(p, "reason", source.FirstText(item["reason"], item["response"]))
		source.SetText(p, "status", item["status"])
		source.SetText(p, "bounce_classification", item["bounce_classification"])
	case "dropped":
		// Dropped messages were never sent, mostly because the address is
		// already suppressed (bounced, unsubscribed, reported spam): not a
		// new bounce, so not email.bounced.
		ev.Type = source.TopicType(Kind, name)
		source.SetText(p, "reason", item["reason"])
		source.SetText(p, "status", item["status"])
	case "deferred":
		ev.Type = source.TopicType(Kind, name)
		source.SetText(p, "reason", source.FirstText(item["response"], item["reason"]))
		source.SetText(p, "attempt", item["attempt"])
	case "spamreport":
		ev.Type = "email.complained"
	case "unsubscribe":
		ev.Type = "email.unsubscribed"
	case "group_unsubscribe":
		ev.Type = "email.unsubscribed"
		source.SetText(p, "url", item["url"])
		source.SetText(p, "asm_group_id", item["asm_group_id"])
	case "group_resubscribe":
		ev.Type = "email.resubscribed"
		source.SetText(p, "url", item["url"])
		source.SetText(p, "asm_group_id", item["asm_group_id"])
	default:
		ev.Type = source.TopicType(Kind, name)
		source.SetText(p, "reason", item["reason"])
		source.SetText(p, "url", item["url"])
	}

	var custom map[string]any
	for k, v := range item {
		if knownFields[k] {
			continue
		}
		if custom == nil {
			custom = map[string]any{}
		}
		custom[k] = source.Plain(v)
	}
	if custom != nil {
		p["custom_args"] = custom
	}
	ev.Properties = p
	return ev, name, nil
}

// strList reads SendGrid's category: a string or an array of strings.
func strList(v any) []string {
	if s, ok := v.(string); ok {
		if s = strings.TrimSpace(s); s != "" {
			return []string{s}
		}
		return nil
	}
	return source.TextList(v)
}
