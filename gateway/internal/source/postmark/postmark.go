// Package postmark is the source kind for Postmark webhooks (Delivery,
// Bounce, SpamComplaint, Open, Click and SubscriptionChange): one JSON
// object per delivery, the event named by RecordType.
//
// Postmark does not sign webhooks. It offers two ways to authenticate
// them, and the kind supports both: HTTP basic credentials in the webhook
// URL (https://user:password@host/v1/webhooks/<name>), and custom HTTP
// headers configured on the webhook. Either way the credential is compared
// in constant time with every configured secret.
package postmark

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the kind name.
const Kind = "postmark"

// Authentication modes (the auth attribute).
const (
	AuthBasic  = "basic"
	AuthHeader = "header"
)

// adapter authenticates and maps Postmark deliveries. It holds only
// immutable configuration, so it is safe for concurrent use.
type adapter struct {
	auth       string
	headerName string
	secrets    []string
	// secretSums are SHA-256 sums of secrets, compared with the sum of
	// the header value so the comparison takes the same time whatever the
	// lengths.
	secretSums [][32]byte
}

var _ source.Adapter = (*adapter)(nil)

// Build makes a postmark adapter.
//
//	source "postmark" {
//	  kind   = "postmark"
//	  auth   = "basic"                       # default; or "header"
//	  secret = env("POSTMARK_WEBHOOK_AUTH")  # "user:password" for basic
//	}
//
//	source "postmark" {
//	  kind        = "postmark"
//	  auth        = "header"
//	  header_name = "X-Webhook-Token"
//	  secrets     = [env("POSTMARK_TOKEN"), env("POSTMARK_TOKEN_OLD")]
//	}
//
// Attributes:
//   - auth (string, default "basic"): "basic" checks the HTTP basic
//     credentials Postmark sends from the webhook URL; each secret is
//     "user:password". "header" checks that header_name equals a secret.
//   - header_name (string, required with auth = "header"): the custom
//     header set in the webhook's settings in Postmark.
//
// A secret is required: without one anybody could post events.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	body := spec.Body
	if body == nil {
		body = hcl.EmptyBody()
	}
	content, d := body.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "auth"}, {Name: "header_name"}},
	})
	diags = append(diags, d...)
	a := &adapter{auth: AuthBasic, secrets: append([]string(nil), spec.Secrets...)}

	if attr, ok := content.Attributes["auth"]; ok {
		s, d := stringAttr(attr, spec.EvalContext)
		diags = append(diags, d...)
		switch s {
		case AuthBasic, AuthHeader:
			a.auth = s
		default:
			if !d.HasErrors() {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid auth",
					Detail:   fmt.Sprintf("auth must be %q (credentials in the webhook URL) or %q (a custom header); got %q.", AuthBasic, AuthHeader, s),
					Subject:  attr.Expr.Range().Ptr(),
				})
			}
		}
	}
	headerAttr, hasHeader := content.Attributes["header_name"]
	switch {
	case a.auth == AuthHeader && !hasHeader:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing header_name",
			Detail:   fmt.Sprintf("Source %q has auth = %q: set header_name to the custom header configured on the Postmark webhook.", spec.Name, AuthHeader),
			Subject:  content.Attributes["auth"].Expr.Range().Ptr(),
		})
	case hasHeader && a.auth != AuthHeader:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "header_name without auth = \"header\"",
			Detail:   "header_name only applies with auth = \"header\"; set that, or remove header_name to use basic credentials.",
			Subject:  headerAttr.NameRange.Ptr(),
		})
	case hasHeader:
		s, d := stringAttr(headerAttr, spec.EvalContext)
		diags = append(diags, d...)
		if !d.HasErrors() && !isToken(s) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid header_name",
				Detail:   fmt.Sprintf("header_name must be an HTTP header name such as \"X-Webhook-Token\"; got %q.", s),
				Subject:  headerAttr.Expr.Range().Ptr(),
			})
		}
		a.headerName = http.CanonicalHeaderKey(s)
	}

	if len(spec.Secrets) == 0 {
		how := "secret = \"user:password\" (the credentials in the webhook URL you gave Postmark)"
		if a.auth == AuthHeader {
			how = "secret to the value of the custom header"
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing secret",
			Detail:   fmt.Sprintf("Source %q needs a secret: Postmark does not sign webhooks, so the credential is all that keeps others out. Set %s.", spec.Name, how),
			Subject:  spec.BlockRange().Ptr(),
		})
	}
	for i, s := range spec.Secrets {
		if a.auth == AuthBasic && !strings.Contains(s, ":") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid basic credentials",
				Detail:   fmt.Sprintf("Secret %d of source %q must be \"user:password\", as in the webhook URL https://user:password@host/...", i, spec.Name),
				Subject:  spec.BlockRange().Ptr(),
			})
		}
		a.secretSums = append(a.secretSums, sha256.Sum256([]byte(s)))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// stringAttr evaluates a static string attribute.
func stringAttr(attr *hcl.Attribute, ctx *hcl.EvalContext) (string, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return "", diags
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + attr.Name,
			Detail:   attr.Name + " must be a string.",
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return v.AsString(), diags
}

// isToken reports whether s is an HTTP header name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// Parse authenticates the delivery and maps its record.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no request", source.ErrBadPayload)
	}
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	if err := a.authenticate(req.Header); err != nil {
		return nil, err
	}
	var root any
	if err := source.DecodeJSON(req.Body, &root); err != nil {
		return nil, err
	}
	rec, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: body is not a JSON object; Postmark sends one record object per webhook", source.ErrBadPayload)
	}
	ev, err := mapRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", source.ErrBadPayload, err)
	}
	return &source.Delivery{Events: []sdk.Event{ev}}, nil
}

func (a *adapter) authenticate(h http.Header) error {
	if a.auth == AuthBasic {
		if err := source.CheckBasicAuth(h, a.secrets); err != nil {
			return fmt.Errorf("%w; put the source's user:password in the Postmark webhook URL (https://user:password@host/...)", err)
		}
		return nil
	}
	vals := h.Values(a.headerName)
	if len(vals) == 0 {
		return fmt.Errorf("%w: missing %s header; add it as a custom header on the Postmark webhook", source.ErrBadSignature, a.headerName)
	}
	got := sha256.Sum256([]byte(vals[0]))
	matched := 0
	for _, sum := range a.secretSums {
		matched |= subtle.ConstantTimeCompare(sum[:], got[:])
	}
	if matched != 1 {
		return fmt.Errorf("%w: the %s header does not match the source's secret", source.ErrBadSignature, a.headerName)
	}
	return nil
}

// Postmark bounce Types (Bounce records' Type) by what they mean for the
// address. Types in neither set are not delivery failures of the
// recipient's address (auto-replies, challenge mails, sender-side errors)
// and become postmark.bounce.<type> events.
var (
	hardBounces = map[string]bool{"HardBounce": true, "BadEmailAddress": true, "ManuallyDeactivated": true}
	softBounces = map[string]bool{
		"SoftBounce": true, "Transient": true, "DnsError": true, "Blocked": true, "InboxFull": true,
		"DMARCPolicy": true, "SpamNotification": true, "Unknown": true,
	}
)

// mapRecord maps one Postmark record.
func mapRecord(rec map[string]any) (sdk.Event, error) {
	var ev sdk.Event
	typ := source.Text(rec["RecordType"])
	if typ == "" {
		return ev, errors.New(`"RecordType" is missing or not a string; this kind reads Postmark's outbound webhooks (Delivery, Bounce, SpamComplaint, Open, Click, SubscriptionChange)`)
	}
	addr := source.FirstText(rec["Recipient"], rec["Email"])
	ev.Customer.Email = source.Email(addr)
	if ev.Customer.Email == "" {
		return ev, fmt.Errorf("%s record has no valid Recipient or Email", source.Truncate(typ, 40))
	}
	timeField := map[string]string{
		"Delivery": "DeliveredAt", "Bounce": "BouncedAt", "SpamComplaint": "BouncedAt",
		"Open": "ReceivedAt", "Click": "ReceivedAt", "SubscriptionChange": "ChangedAt",
	}[typ]
	var when string
	for _, f := range []string{timeField, "ReceivedAt", "BouncedAt", "DeliveredAt", "ChangedAt"} {
		if when = source.Text(rec[f]); f != "" && when != "" {
			break
		}
	}
	if when != "" {
		at, err := parseTime(when)
		if err != nil {
			return ev, err
		}
		ev.OccurredAt = at
	}
	msgID := source.Text(rec["MessageID"])
	if msgID != "" {
		// One message has one delivery but may be opened or clicked many
		// times: the record's own time tells those apart, and is the same
		// when Postmark retries the record.
		ev.DeliveryID = typ + ":" + msgID
		if when != "" {
			ev.DeliveryID += ":" + when
		}
	}

	p := map[string]any{"email": ev.Customer.Email}
	source.SetText(p, "message_id", msgID)
	if tag := source.Text(rec["Tag"]); tag != "" {
		p["tags"] = []string{tag}
	}
	source.SetText(p, "message_stream", rec["MessageStream"])
	if md, ok := rec["Metadata"].(map[string]any); ok && len(md) > 0 {
		p["metadata"] = source.Plain(md)
	}
	source.SetText(p, "subject", rec["Subject"])
	geo, _ := rec["Geo"].(map[string]any)

	switch typ {
	case "Delivery":
		ev.Type = "email.delivered"
		source.SetText(p, "details", rec["Details"])
	case "Bounce":
		bt := source.Text(rec["Type"])
		source.SetText(p, "postmark_bounce_type", bt)
		source.SetText(p, "reason", source.FirstText(rec["Details"], rec["Description"]))
		source.SetText(p, "bounce_id", rec["ID"])
		if v, ok := rec["Inactive"].(bool); ok {
			p["inactive"] = v
		}
		switch {
		case hardBounces[bt]:
			ev.Type = "email.bounced"
			p["bounce_type"] = "hard"
		case softBounces[bt]:
			ev.Type = "email.bounced"
			p["bounce_type"] = "soft"
		case bt == "SpamComplaint":
			ev.Type = "email.complained"
		case bt == "Unsubscribe":
			// The recipient replied asking to be removed.
			ev.Type = "email.unsubscribed"
		default:
			ev.Type = source.TopicType(Kind, "bounce."+bt)
		}
	case "SpamComplaint":
		ev.Type = "email.complained"
		source.SetText(p, "reason", source.FirstText(rec["Details"], rec["Description"]))
	case "Open":
		ev.Type = "email.opened"
		source.SetText(p, "user_agent", rec["UserAgent"])
		source.SetText(p, "ip", geo["IP"])
		source.SetText(p, "platform", rec["Platform"])
		if v, ok := rec["FirstOpen"].(bool); ok {
			p["first_open"] = v
		}
		source.SetText(p, "read_seconds", rec["ReadSeconds"])
	case "Click":
		ev.Type = "email.clicked"
		source.SetText(p, "url", rec["OriginalLink"])
		source.SetText(p, "click_location", rec["ClickLocation"])
		source.SetText(p, "user_agent", rec["UserAgent"])
		source.SetText(p, "ip", geo["IP"])
		source.SetText(p, "platform", rec["Platform"])
	case "SubscriptionChange":
		suppress, ok := rec["SuppressSending"].(bool)
		if !ok {
			return ev, errors.New(`SubscriptionChange record has no boolean "SuppressSending"`)
		}
		p["suppress_sending"] = suppress
		if suppress {
			ev.Type = "email.unsubscribed"
		} else {
			ev.Type = "email.resubscribed"
		}
		source.SetText(p, "reason", rec["SuppressionReason"])
		source.SetText(p, "origin", rec["Origin"])
	default:
		ev.Type = source.TopicType(Kind, typ)
	}
	ev.Properties = p
	return ev, nil
}

// maxTime is the last instant whose JSON form has a four-digit year.
var maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// parseTime reads Postmark's ISO 8601 times: RFC 3339 with up to seven
// fractional digits, or (in older records) without a zone, meaning UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
	}
	if err != nil || t.Year() < 1 || t.UTC().After(maxTime) {
		return time.Time{}, fmt.Errorf("time %q is not an ISO 8601 time such as \"2026-11-22T10:00:00Z\"", source.Truncate(s, 40))
	}
	return t.UTC(), nil
}
