// Package twilio is the source kind for Twilio Programmable Messaging
// webhooks: SMS status callbacks (queued, sent, delivered, undelivered,
// failed, ...) and incoming messages, where the opt-out and opt-in
// keywords (STOP, START, ...) become consent events.
//
// Twilio signs every request with X-Twilio-Signature: the base64
// HMAC-SHA1, keyed with the account's Auth Token, of the full URL Twilio
// requested (scheme, host, path and query) followed by every POST
// parameter, sorted by name, as name + value with no separators. As in
// Twilio's own validators, the URL is tried with and without the scheme's
// default port, since Twilio may sign either form.
package twilio

import (
	"crypto/sha1"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the kind name.
const Kind = "twilio"

// SignatureHeader carries Twilio's request signature.
const SignatureHeader = "X-Twilio-Signature"

// emptyTwiML answers an incoming message: Twilio expects TwiML, and an
// empty Response sends no reply (Twilio answers STOP/START/HELP itself).
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// adapter verifies and maps Twilio deliveries. It holds only immutable
// configuration, so it is safe for concurrent use.
type adapter struct {
	secrets []string
	// publicURL, when set, replaces the URL the request arrived at
	// (scheme, host and path; and the query when it has one).
	publicURL *url.URL
}

var _ source.Adapter = (*adapter)(nil)

// Build makes a twilio adapter.
//
//	source "twilio" {
//	  kind       = "twilio"
//	  secret     = env("TWILIO_AUTH_TOKEN")   # Console → Account → API keys & tokens → Auth Token
//	  public_url = "https://hooks.example.com/v1/webhooks/twilio" # optional, behind a rewriting proxy
//	}
//
// public_url (string, optional): the URL as configured in Twilio, when a
// proxy changes the path or the gateway cannot see the original scheme and
// host (X-Forwarded-Proto and X-Forwarded-Host are honoured without it).
// Without a query string of its own, the query the request arrived with is
// appended, so per-message StatusCallback URLs with parameters still
// verify.
//
// A secret (the Auth Token; secrets for the secondary token during a
// rotation) is required: Twilio signs every request.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	body := spec.Body
	if body == nil {
		body = hcl.EmptyBody()
	}
	content, d := body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "public_url"}}})
	diags = append(diags, d...)
	a := &adapter{secrets: append([]string(nil), spec.Secrets...)}
	diags = append(diags, spec.RequireSecrets(fmt.Sprintf("Source %q needs secret: Twilio signs every webhook with the account's Auth Token "+
		"(Twilio Console → Account → API keys & tokens). Set secret = env(\"TWILIO_AUTH_TOKEN\").", spec.Name))...)
	if attr, ok := content.Attributes["public_url"]; ok {
		u, d := publicURL(attr, spec.EvalContext)
		diags = append(diags, d...)
		a.publicURL = u
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// publicURL evaluates public_url: an absolute http(s) URL.
func publicURL(attr *hcl.Attribute, ctx *hcl.EvalContext) (*url.URL, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	var u *url.URL
	if !v.IsNull() && v.IsKnown() && v.Type() == cty.String {
		u, _ = url.Parse(v.AsString())
	}
	if u == nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid public_url",
			Detail:   "public_url must be the absolute http(s) URL configured in Twilio, such as \"https://hooks.example.com/v1/webhooks/twilio\", without credentials or a #fragment.",
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return u, diags
}

// Parse verifies the signature over the URL and form parameters, then
// maps the status callback or incoming message.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if req == nil || req.URL == nil {
		return nil, fmt.Errorf("%w: no request", source.ErrBadPayload)
	}
	if err := source.CheckForm(req.Header); err != nil {
		return nil, err
	}
	sig := req.Header.Get(SignatureHeader)
	if sig == "" {
		return nil, fmt.Errorf("%w: missing %s header", source.ErrBadSignature, SignatureHeader)
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return nil, fmt.Errorf("%w: body is not form-encoded: %v", source.ErrBadPayload, err)
	}
	if !a.verify(a.signedURL(req), form, source.DecodeBase64(sig)) {
		return nil, fmt.Errorf("%w: %s is not the base64 HMAC-SHA1 of the webhook URL and sorted parameters under the source's Auth Token; "+
			"if a proxy changes the URL, set public_url to the URL configured in Twilio", source.ErrBadSignature, SignatureHeader)
	}
	ev, inbound, err := mapForm(form)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", source.ErrBadPayload, err)
	}
	d := &source.Delivery{Events: []sdk.Event{ev}}
	if inbound {
		d.Reply = &source.Reply{Status: 200, ContentType: "text/xml", Body: []byte(emptyTwiML)}
	}
	return d, nil
}

// signedURL is the URL Twilio requested, as far as the gateway can tell.
func (a *adapter) signedURL(req *source.Request) string {
	if a.publicURL == nil {
		return req.ExternalURL()
	}
	u := *a.publicURL
	if u.RawQuery == "" && !u.ForceQuery {
		u.RawQuery = req.URL.RawQuery
	}
	return u.String()
}

// verify reports whether sig signs rawURL (in either port form) and the
// form under any secret. Every combination is computed, whatever matches.
func (a *adapter) verify(rawURL string, form url.Values, sig []byte) bool {
	var params strings.Builder
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			params.WriteString(k)
			params.WriteString(v)
		}
	}
	p := []byte(params.String())
	ok := false
	for _, u := range urlForms(rawURL) {
		expected := func(key []byte) []byte { return source.HMAC(sha1.New, key, []byte(u), p) }
		if source.MatchAny(a.secrets, expected, sig) {
			ok = true
		}
	}
	return ok
}

// urlForms is rawURL as is and with the scheme's default port added or
// removed.
func urlForms(rawURL string) []string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return []string{rawURL}
	}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return []string{rawURL}
	}
	alt := *u
	switch host, port, err := net.SplitHostPort(u.Host); {
	case err != nil: // no port
		alt.Host = net.JoinHostPort(u.Hostname(), def)
	case port == def:
		alt.Host = host
		if strings.Contains(host, ":") {
			alt.Host = "[" + host + "]"
		}
	default:
		return []string{rawURL}
	}
	return []string{rawURL, alt.String()}
}

// Opt-out, opt-in and help keywords Twilio acts on by default for long
// codes (a message that is only the keyword, any case). With Advanced
// Opt-Out, Twilio reports the keyword type it matched in OptOutType, which
// takes precedence (and covers custom keywords).
var (
	optOutKeywords = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true,
		"END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true}
	optInKeywords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
	helpKeywords  = map[string]bool{"HELP": true, "INFO": true}
)

// mapForm maps a status callback or an incoming message; inbound says
// which it was.
func mapForm(form url.Values) (ev sdk.Event, inbound bool, err error) {
	get := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	sid := source.First(get("MessageSid"), get("SmsSid"), get("SmsMessageSid"))
	if sid == "" {
		return ev, false, fmt.Errorf("no MessageSid; this kind reads Twilio Messaging status callbacks and incoming messages")
	}
	status := strings.ToLower(source.First(get("MessageStatus"), get("SmsStatus")))
	p := map[string]any{"message_sid": sid}
	for prop, param := range map[string]string{
		"to": "To", "from": "From", "messaging_service_sid": "MessagingServiceSid", "account_sid": "AccountSid",
	} {
		if v := get(param); v != "" {
			p[prop] = v
		}
	}

	_, hasBody := form["Body"]
	if status == "received" || (status == "" && hasBody) {
		phone, channel := address(get("From"))
		if phone == "" {
			return ev, true, fmt.Errorf("incoming message: From %q is not a phone number", source.Truncate(get("From"), 40))
		}
		ev.Customer.Phone = phone
		if channel != "" {
			p["channel"] = channel
		}
		ev.DeliveryID = sid
		text := form.Get("Body")
		p["body"] = text
		if n := get("NumMedia"); n != "" && n != "0" {
			p["num_media"] = n
		}
		word := strings.ToUpper(strings.TrimSpace(text))
		optType := strings.ToUpper(get("OptOutType"))
		switch {
		case optType == "STOP" || (optType == "" && optOutKeywords[word]):
			ev.Type = "sms.unsubscribed"
		case optType == "START" || (optType == "" && optInKeywords[word]):
			ev.Type = "sms.subscribed"
		case optType == "HELP" || (optType == "" && helpKeywords[word]):
			ev.Type = source.TopicType(Kind, "help")
		default:
			ev.Type = "sms.received"
		}
		if ev.Type != "sms.received" {
			p["keyword"] = word
		}
		if optType != "" {
			p["opt_out_type"] = optType
		}
		ev.Properties = p
		return ev, true, nil
	}

	if status == "" {
		return ev, false, fmt.Errorf("message %s has neither MessageStatus (a status callback) nor Body (an incoming message)", source.Truncate(sid, 40))
	}
	phone, channel := address(get("To"))
	if phone == "" {
		return ev, false, fmt.Errorf("status callback: To %q is not a phone number", source.Truncate(get("To"), 40))
	}
	ev.Customer.Phone = phone
	if channel != "" {
		p["channel"] = channel
	}
	ev.DeliveryID = sid + ":" + status
	p["status"] = status
	if v := get("ErrorCode"); v != "" {
		p["error_code"] = v
	}
	if v := get("ErrorMessage"); v != "" {
		p["reason"] = v
	}
	switch status {
	case "delivered":
		ev.Type = "sms.delivered"
	case "failed", "undelivered":
		ev.Type = "sms.failed"
	default:
		ev.Type = source.TopicType(Kind, status)
	}
	ev.Properties = p
	return ev, false, nil
}

// address reads a Twilio address: a phone number, possibly with a channel
// prefix such as "whatsapp:+14155550100". It returns the phone in E.164
// where it can be, and the channel.
func address(s string) (phone, channel string) {
	if c, rest, ok := strings.Cut(s, ":"); ok && c != "" && !strings.ContainsAny(c, "+0123456789") {
		channel, s = strings.ToLower(c), rest
	}
	return source.Phone(s), channel
}
