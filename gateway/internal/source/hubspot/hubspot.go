// Package hubspot is the source kind for HubSpot webhook subscriptions
// (the Webhooks API of a HubSpot app): batches of CRM object events,
// signed with signature v3.
//
//	source "crm" {
//	  kind       = "hubspot"
//	  secret     = env("HUBSPOT_CLIENT_SECRET")
//	  public_url = "https://hooks.example.com/hubspot" # only behind a path-rewriting proxy
//	}
//
// See README.md for the signature scheme and the mapping table.
package hubspot

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the kind name, and the key of the contact's id in
// sdk.Customer.ExternalIDs.
const Kind = "hubspot"

// Header names HubSpot sends with signature v3.
const (
	headerSignature = "X-HubSpot-Signature-v3"
	headerTimestamp = "X-HubSpot-Request-Timestamp"
)

// adapter verifies and maps deliveries for one hubspot source. It holds
// only immutable configuration, so it is safe for concurrent use.
type adapter struct {
	secrets []string
	window  time.Duration
	// publicURL, when set, is the URL HubSpot was told to post to; it
	// replaces the URL rebuilt from the request in the signed string.
	publicURL string
}

var _ source.Adapter = (*adapter)(nil)

// schema is the kind-specific part of a hubspot source block.
func schema() *hcl.BodySchema {
	return &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "public_url"}}}
}

// Build decodes a hubspot source block. A secret is required: HubSpot
// signs every request with the app's client secret, so there is no reason
// to accept unsigned ones.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	a := &adapter{secrets: slices.Clone(spec.Secrets), window: spec.Window()}
	diags = append(diags, spec.RequireSecrets(fmt.Sprintf("Source %q of kind hubspot needs secret: the client secret of your HubSpot app "+
		"(developer account > Apps > your app > Auth > Client secret), which HubSpot signs every request with.", spec.Name))...)
	if spec.Body != nil {
		content, d := spec.Body.Content(schema())
		diags = append(diags, d...)
		if attr, ok := content.Attributes["public_url"]; ok {
			u, d := publicURL(attr, spec.EvalContext)
			diags = append(diags, d...)
			a.publicURL = u
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// publicURL evaluates public_url: an absolute http(s) URL.
func publicURL(attr *hcl.Attribute, ctx *hcl.EvalContext) (string, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return "", diags
	}
	bad := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid public_url",
		Detail: "public_url must be the absolute URL set as the target URL in your HubSpot app's webhook settings, " +
			"such as \"https://hooks.example.com/v1/webhooks/crm\".",
		Subject: attr.Expr.Range().Ptr(),
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", append(diags, bad)
	}
	s := strings.TrimSpace(v.AsString())
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", append(diags, bad)
	}
	return s, diags
}

// Parse verifies the v3 signature and timestamp, then maps each event of
// the batch.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	if err := a.verify(req); err != nil {
		return nil, err
	}
	events, err := parseBody(req.Body)
	if err != nil {
		return nil, err
	}
	return &source.Delivery{Events: events}, nil
}

// verify checks X-HubSpot-Signature-v3: base64 HMAC-SHA256, keyed with the
// app's client secret, of method + URI + body + timestamp, where timestamp
// is the X-HubSpot-Request-Timestamp header as sent (Unix milliseconds).
func (a *adapter) verify(req *source.Request) error {
	sig := req.Header.Get(headerSignature)
	if sig == "" {
		return fmt.Errorf("%w: missing %s header; HubSpot sends it with every webhook request (signature v3)",
			source.ErrBadSignature, headerSignature)
	}
	ts := strings.TrimSpace(req.Header.Get(headerTimestamp))
	if ts == "" {
		return fmt.Errorf("%w: missing %s header, which signature v3 signs", source.ErrBadSignature, headerTimestamp)
	}
	signed, err := source.ParseUnix(ts)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", source.ErrBadSignature, headerTimestamp, err)
	}
	if err := source.CheckTimestamp(req.Now, signed, a.window); err != nil {
		return err
	}
	uri := a.publicURL
	if uri == "" {
		uri = req.ExternalURL()
	}
	uri = decodeURI(uri)
	method := []byte(req.Method)
	want := func(secret []byte) []byte {
		return source.HMAC(sha256.New, secret, method, []byte(uri), req.Body, []byte(ts))
	}
	if !source.MatchAny(a.secrets, want, source.DecodeBase64(sig)) {
		return fmt.Errorf("%w: %s is not the base64 HMAC-SHA256 of method + URI + body + timestamp under the source's "+
			"client secret(s); signed URI was %q (set public_url if a proxy changes the URL HubSpot posts to)",
			source.ErrBadSignature, headerSignature, uri)
	}
	return nil
}

// uriDecodes are the percent-encodings HubSpot decodes in the request URI
// before signing (its "Validate the v3 request signature" table); any
// other escape stays as sent.
var uriDecodes = map[string]byte{
	"3A": ':', "2F": '/', "3F": '?', "40": '@', "21": '!', "24": '$',
	"27": '\'', "28": '(', "29": ')', "2A": '*', "2C": ',', "3B": ';',
}

// decodeURI applies uriDecodes, matching hex digits in either case.
func decodeURI(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, ok := uriDecodes[strings.ToUpper(s[i+1:i+3])]; ok {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// event is one item of a HubSpot webhook batch. Ids are numbers on the
// wire; they are read as json.Number (or strings) so 64-bit ids survive.
type event struct {
	EventID          any    `json:"eventId"`
	SubscriptionID   any    `json:"subscriptionId"`
	PortalID         any    `json:"portalId"`
	AppID            any    `json:"appId"`
	OccurredAt       any    `json:"occurredAt"`
	SubscriptionType string `json:"subscriptionType"`
	// EventType is the name older HubSpot documentation used for
	// subscriptionType.
	EventType     string `json:"eventType"`
	AttemptNumber any    `json:"attemptNumber"`
	ObjectID      any    `json:"objectId"`
	// ObjectTypeID is set by generic "object.*" subscriptions ("0-1" is
	// contacts, "0-2" companies, "0-3" deals).
	ObjectTypeID  string `json:"objectTypeId"`
	PropertyName  string `json:"propertyName"`
	PropertyValue any    `json:"propertyValue"`
	ChangeSource  string `json:"changeSource"`
	ChangeFlag    string `json:"changeFlag"`
}

// parseBody reads the JSON array HubSpot sends and maps every item.
func parseBody(body []byte) ([]sdk.Event, error) {
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '[' {
		return nil, fmt.Errorf("%w: HubSpot sends a JSON array of events; the body is not an array", source.ErrBadPayload)
	}
	var items []event
	if err := source.DecodeJSON(body, &items); err != nil {
		return nil, err
	}
	events := make([]sdk.Event, 0, len(items))
	for i := range items {
		ev, err := mapEvent(&items[i])
		if err != nil {
			return nil, fmt.Errorf("%w: event %d: %s", source.ErrBadPayload, i, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// objectTypes maps the objectTypeId of generic "object.*" subscriptions
// to the object name of the classic subscription types.
var objectTypes = map[string]string{"0-1": "contact", "0-2": "company", "0-3": "deal", "0-5": "ticket"}

// traitNames renames HubSpot contact properties to the canonical trait
// names; other properties keep their HubSpot internal name (already
// lower-case snake case, e.g. lifecyclestage, hs_lead_status).
var traitNames = map[string]string{
	"firstname":   "first_name",
	"lastname":    "last_name",
	"mobilephone": "mobile_phone",
	"jobtitle":    "job_title",
	"zip":         "postal_code",
	"createdate":  "created_at",
}

// mapEvent maps one item. The error says what is missing; the caller
// wraps it with ErrBadPayload and the item's index.
func mapEvent(it *event) (sdk.Event, error) {
	topic := strings.TrimSpace(it.SubscriptionType)
	if topic == "" {
		topic = strings.TrimSpace(it.EventType)
	}
	if topic == "" {
		return sdk.Event{}, fmt.Errorf("no subscriptionType")
	}
	eventID := source.ID(it.EventID)
	if eventID == "" {
		return sdk.Event{}, fmt.Errorf("%s has no eventId", topic)
	}
	objectID := source.ID(it.ObjectID)
	if objectID == "" {
		return sdk.Event{}, fmt.Errorf("%s (eventId %s) has no objectId, so it names nobody", topic, eventID)
	}
	object, action, _ := strings.Cut(topic, ".")
	if object == "object" {
		if name, ok := objectTypes[it.ObjectTypeID]; ok {
			object = name
		}
	}
	portal := source.ID(it.PortalID)
	ev := sdk.Event{
		// HubSpot documents eventId as not guaranteed unique, and one app's
		// source receives every portal that installed it; a retry repeats
		// all three parts.
		DeliveryID: portal + ":" + source.ID(it.SubscriptionID) + ":" + eventID,
		OccurredAt: occurredAt(it.OccurredAt),
		Properties: map[string]any{
			"subscription_type": topic,
			"object_id":         objectID,
		},
	}
	if portal != "" {
		ev.Properties["portal_id"] = portal
	}
	if it.ChangeSource != "" {
		ev.Properties["change_source"] = it.ChangeSource
	}
	if it.ObjectTypeID != "" {
		ev.Properties["object_type_id"] = it.ObjectTypeID
	}
	value, hasValue := propertyValue(it.PropertyValue)
	if it.PropertyName != "" {
		ev.Properties["property"] = it.PropertyName
		if hasValue {
			ev.Properties["property_value"] = value
		}
	}

	switch object {
	case "contact":
		ev.Customer.ExternalIDs = map[string]string{Kind: objectID}
		switch action {
		case "creation":
			ev.Type = "customer.created"
		case "propertyChange":
			ev.Type = "customer.updated"
			contactChange(&ev, it.PropertyName, value, hasValue)
		case "deletion":
			ev.Type = "customer.deleted"
		case "privacyDeletion":
			ev.Type = "customer.deleted"
			ev.Properties["reason"] = "privacy_deletion"
		default:
			ev.Type = source.TopicType(Kind, topic)
		}
	case "deal":
		// A deal event names no contact: the deal itself is the identity,
		// under its own key, so it never merges into a person's profile.
		ev.Customer.ExternalIDs = map[string]string{Kind + "_deal": objectID}
		ev.Type = "deal.updated"
		ev.Properties["deal_id"] = objectID
		ev.Properties["action"] = action
		dealChange(&ev, it.PropertyName, value, hasValue)
	default:
		ev.Customer.ExternalIDs = map[string]string{Kind + "_" + identityName(object): objectID}
		ev.Type = source.TopicType(Kind, topic)
	}
	return ev, nil
}

// contactChange records a changed contact property as a trait, and as
// identity when it is the email or phone.
func contactChange(ev *sdk.Event, name, value string, hasValue bool) {
	if name == "" || !hasValue {
		return
	}
	trait := strings.ToLower(name)
	if t, ok := traitNames[trait]; ok {
		trait = t
	}
	switch trait {
	case "email":
		ev.Customer.Email = source.Email(value)
	case "phone":
		if p := source.Phone(value); p != "" {
			ev.Customer.Phone = p
			value = p
		}
	}
	ev.Traits = map[string]any{trait: value}
}

// dealChange names the deal fields a rule matches on.
func dealChange(ev *sdk.Event, name, value string, hasValue bool) {
	if !hasValue {
		return
	}
	switch name {
	case "dealstage":
		ev.Properties["stage"] = value
		ev.Properties["won"] = value == "closedwon"
	case "pipeline":
		ev.Properties["pipeline"] = value
	case "amount":
		// The currency is the deal's deal_currency_code property, which
		// this event does not carry.
		if f, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			ev.Properties["value"] = f
		}
	}
}

// propertyValue returns a propertyValue as text (HubSpot sends strings;
// numbers and booleans are tolerated). Absent or null is not a value.
func propertyValue(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	}
	if s := source.ID(v); s != "" {
		return s, true
	}
	return "", false
}

// occurredAt reads occurredAt (Unix milliseconds); anything else is
// unknown (zero).
func occurredAt(v any) time.Time {
	s := source.ID(v)
	if s == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// identityName makes an object name ("company", "line_item", "object")
// safe as part of an external-id key.
func identityName(object string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(object) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	if b.Len() == 0 {
		return "object"
	}
	return b.String()
}
