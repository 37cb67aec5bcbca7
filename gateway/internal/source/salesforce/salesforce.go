// Package salesforce is the source kind for Salesforce Outbound Messages:
// SOAP 1.1 notifications (up to 100 per request) that Salesforce sends
// from workflow rules and flows, answered with the SOAP Ack it expects.
//
//	source "sfdc" {
//	  kind            = "salesforce"
//	  organization_id = "00D5e000000KQ2eEAG"
//	  secret          = env("SALESFORCE_OM_TOKEN") # endpoint URL ends in ?token=<secret>
//	}
//
// Salesforce signs nothing. A delivery is authenticated by the shared
// token in the URL (or HTTP basic credentials, auth = "basic") and by the
// organization id in the message. See README.md.
package salesforce

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the kind name, and the key of a Contact's or Lead's id in
// sdk.Customer.ExternalIDs.
const Kind = "salesforce"

// Authentication modes (the auth attribute).
const (
	authToken = "token"
	authBasic = "basic"
)

// nsOutbound is the namespace of the notifications element.
const nsOutbound = "http://soap.sforce.com/2005/09/outbound"

// ackBody is the notificationsResponse Salesforce waits for; without
// <Ack>true</Ack> it retries the whole message.
const ackBody = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
   <Ack>true</Ack>
  </notificationsResponse>
 </soapenv:Body>
</soapenv:Envelope>
`

// adapter verifies and maps deliveries for one salesforce source. It
// holds only immutable configuration, so it is safe for concurrent use.
type adapter struct {
	secrets []string
	auth    string
	// org is the first 15 characters of the organization id: the
	// case-sensitive form that both the 15- and 18-character ids share.
	org string
}

var _ source.Adapter = (*adapter)(nil)

// schema is the kind-specific part of a salesforce source block.
func schema() *hcl.BodySchema {
	return &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "organization_id", Required: true},
		{Name: "auth"},
	}}
}

// Build decodes a salesforce source block: organization_id is required,
// auth is "token" (default) or "basic", and at least one secret is
// required ("user:password" pairs with basic).
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	a := &adapter{secrets: slices.Clone(spec.Secrets), auth: authToken}
	var content *hcl.BodyContent
	if spec.Body != nil {
		var d hcl.Diagnostics
		content, d = spec.Body.Content(schema())
		diags = append(diags, d...)
	}
	if content == nil || content.Attributes["organization_id"] == nil {
		if spec.Body == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing organization_id",
				Detail:   fmt.Sprintf("Source %q of kind salesforce needs organization_id (Setup > Company Information > Salesforce.com Organization ID).", spec.Name),
				Subject:  spec.BlockRange().Ptr(),
			})
		}
		return nil, diags
	}
	org, d := stringAttr(content.Attributes["organization_id"], spec.EvalContext)
	diags = append(diags, d...)
	if !d.HasErrors() {
		if !validOrgID(org) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid organization_id",
				Detail:   "organization_id must be the 15- or 18-character Salesforce organization id (letters and digits), as shown in Setup > Company Information.",
				Subject:  content.Attributes["organization_id"].Expr.Range().Ptr(),
			})
		} else {
			a.org = org[:15]
		}
	}
	if attr, ok := content.Attributes["auth"]; ok {
		mode, d := stringAttr(attr, spec.EvalContext)
		diags = append(diags, d...)
		switch {
		case d.HasErrors():
		case mode == authToken || mode == authBasic:
			a.auth = mode
		default:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid auth",
				Detail:   fmt.Sprintf("auth must be %q (a ?token=<secret> in the endpoint URL) or %q (HTTP basic credentials; secrets are \"user:password\").", authToken, authBasic),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
	}
	switch {
	case len(spec.Secrets) == 0:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing secret",
			Detail: fmt.Sprintf("Source %q of kind salesforce needs secret: Salesforce signs nothing, so a shared token in the "+
				"endpoint URL (auth = \"token\", the default) or HTTP basic credentials (auth = \"basic\", secret = \"user:password\") "+
				"authenticates its deliveries, with the organization id.", spec.Name),
			Subject: spec.BlockRange().Ptr(),
		})
	case a.auth == authBasic:
		for _, s := range spec.Secrets {
			if user, _, ok := strings.Cut(s, ":"); !ok || user == "" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid basic credentials",
					Detail:   fmt.Sprintf("Source %q has auth = \"basic\", so every secret must be written \"user:password\".", spec.Name),
					Subject:  spec.BlockRange().Ptr(),
				})
				break
			}
		}
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
	return strings.TrimSpace(v.AsString()), diags
}

// validOrgID reports whether s looks like a 15- or 18-character id.
func validOrgID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Parse authenticates the request, parses the notifications, checks the
// organization id and maps one event per Notification. Accepted (and
// duplicate) deliveries are answered with the SOAP Ack.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if err := source.CheckXML(req.Header); err != nil {
		return nil, err
	}
	if err := a.authenticate(req); err != nil {
		return nil, err
	}
	n, err := parseEnvelope(req.Body)
	if err != nil {
		return nil, err
	}
	org := strings.TrimSpace(n.OrganizationID)
	if len(org) < 15 || org[:15] != a.org {
		return nil, fmt.Errorf("%w: the message's OrganizationId is not the source's organization_id", source.ErrBadSignature)
	}
	if len(n.Notifications) == 0 {
		return nil, fmt.Errorf("%w: the message holds no Notification", source.ErrBadPayload)
	}
	events := make([]sdk.Event, 0, len(n.Notifications))
	for i := range n.Notifications {
		ev, err := mapNotification(n, &n.Notifications[i])
		if err != nil {
			return nil, fmt.Errorf("%w: Notification %d: %s", source.ErrBadPayload, i, err)
		}
		events = append(events, ev)
	}
	return &source.Delivery{Events: events, Reply: &source.Reply{
		Status:      http.StatusOK,
		ContentType: "text/xml; charset=utf-8",
		Body:        []byte(ackBody),
	}}, nil
}

// authenticate checks the shared token in the URL query, or the basic
// credentials, against the source's secrets in constant time.
func (a *adapter) authenticate(req *source.Request) error {
	if a.auth == authBasic {
		return source.CheckBasicAuth(req.Header, a.secrets)
	}
	var token string
	if req.URL != nil {
		token = req.URL.Query().Get("token")
	}
	if token == "" {
		return fmt.Errorf("%w: missing token; end the endpoint URL of the outbound message with ?token=<the source's secret>",
			source.ErrBadSignature)
	}
	if !source.MatchAny(a.secrets, func(s []byte) []byte { return s }, []byte(token)) {
		return fmt.Errorf("%w: the token in the URL does not match the source's secret(s)", source.ErrBadSignature)
	}
	return nil
}

// notifications is the body of an outbound message.
type notifications struct {
	OrganizationID string         `xml:"OrganizationId"`
	ActionID       string         `xml:"ActionId"`
	EnterpriseURL  string         `xml:"EnterpriseUrl"`
	PartnerURL     string         `xml:"PartnerUrl"`
	Notifications  []notification `xml:"Notification"`
}

// notification is one record: the notification id (stable across
// Salesforce's retries) and the sObject with the fields the outbound
// message was set up to send.
type notification struct {
	ID      string  `xml:"Id"`
	SObject sobject `xml:"sObject"`
}

type sobject struct {
	// Type is the xsi:type, a QName such as "sf:Contact".
	Type   string  `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
	Fields []field `xml:",any"`
}

type field struct {
	XMLName xml.Name
	Nil     string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
	Value   string `xml:",chardata"`
}

// envelope is the SOAP envelope around the notifications.
type envelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Notifications *notifications `xml:"http://soap.sforce.com/2005/09/outbound notifications"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// errDirective reports a DOCTYPE (or other <!...> directive), which an
// outbound message never has; it is refused rather than ignored.
var errDirective = errors.New("the body has a <!DOCTYPE> or other directive, which outbound messages never contain")

// noDirectives passes raw tokens through, refusing directives. Go's XML
// decoder neither fetches external entities nor expands declared ones, so
// this is defence in depth and a clear error.
type noDirectives struct{ d *xml.Decoder }

func (n noDirectives) Token() (xml.Token, error) {
	t, err := n.d.RawToken()
	if err != nil {
		return nil, err
	}
	if _, ok := t.(xml.Directive); ok {
		return nil, errDirective
	}
	return xml.CopyToken(t), nil
}

// parseEnvelope decodes the SOAP body (UTF-8, a leading BOM allowed).
func parseEnvelope(body []byte) (*notifications, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	raw := xml.NewDecoder(bytes.NewReader(body))
	raw.Strict = true
	dec := xml.NewTokenDecoder(noDirectives{raw})
	var env envelope
	if err := dec.Decode(&env); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: body is empty; Salesforce sends a SOAP envelope", source.ErrBadPayload)
		}
		return nil, fmt.Errorf("%w: body is not a SOAP envelope: %v", source.ErrBadPayload, err)
	}
	if env.Body.Notifications == nil {
		return nil, fmt.Errorf("%w: the SOAP body has no notifications element (namespace %s)", source.ErrBadPayload, nsOutbound)
	}
	// Anything after the envelope other than whitespace is not SOAP.
	for {
		t, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: data after the SOAP envelope: %v", source.ErrBadPayload, err)
		}
		switch x := t.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(x)) == 0 {
				continue
			}
		case xml.Comment, xml.ProcInst:
			continue
		}
		return nil, fmt.Errorf("%w: data after the SOAP envelope", source.ErrBadPayload)
	}
	return env.Body.Notifications, nil
}

// personFields maps Contact and Lead fields to canonical traits. Email
// and phones also become the customer's identity.
var personFields = map[string]string{
	"FirstName":         "first_name",
	"LastName":          "last_name",
	"Phone":             "phone",
	"MobilePhone":       "mobile_phone",
	"Title":             "title",
	"Company":           "company",
	"City":              "city",
	"MailingCity":       "city",
	"Country":           "country",
	"MailingCountry":    "country",
	"State":             "state",
	"MailingState":      "state",
	"PostalCode":        "postal_code",
	"MailingPostalCode": "postal_code",
	"Street":            "street",
	"MailingStreet":     "street",
	"CreatedDate":       "created_at",
	"LeadSource":        "lead_source",
}

// mapNotification maps one notification. The error names what is missing;
// the caller wraps it with ErrBadPayload.
func mapNotification(n *notifications, nt *notification) (sdk.Event, error) {
	id := strings.TrimSpace(nt.ID)
	if id == "" {
		return sdk.Event{}, fmt.Errorf("no Id")
	}
	typ := nt.SObject.Type
	if i := strings.LastIndexByte(typ, ':'); i >= 0 {
		typ = typ[i+1:]
	}
	typ = strings.TrimSpace(typ)
	if typ == "" {
		return sdk.Event{}, fmt.Errorf("%s: sObject has no xsi:type", id)
	}
	values := make(map[string]any, len(nt.SObject.Fields))
	for _, f := range nt.SObject.Fields {
		values[f.XMLName.Local] = fieldValue(f)
	}
	objectID, _ := values["Id"].(string)
	if objectID == "" {
		return sdk.Event{}, fmt.Errorf("%s: the %s has no Id field; include Id in the outbound message's fields", id, typ)
	}

	ev := sdk.Event{
		DeliveryID: id,
		OccurredAt: firstTime(values, "LastModifiedDate", "SystemModstamp", "CreatedDate"),
		Customer:   sdk.Customer{ExternalIDs: map[string]string{}},
		Properties: map[string]any{
			"object_type":     typ,
			"object_id":       objectID,
			"organization_id": strings.TrimSpace(n.OrganizationID),
		},
	}
	if s := strings.TrimSpace(n.ActionID); s != "" {
		ev.Properties["action_id"] = s
	}
	if email, ok := values["Email"].(string); ok {
		ev.Customer.Email = source.Email(email)
	}

	person := typ == "Contact" || typ == "Lead"
	if person {
		ev.Type = "customer.updated"
		ev.Customer.ExternalIDs[Kind] = objectID
		ev.Traits = map[string]any{}
	} else {
		ev.Type = source.TopicType(Kind, typ)
		ev.Customer.ExternalIDs[Kind+"_"+snakeCase(typ)] = objectID
		// Records that point at a contact (Case, Opportunity, custom
		// objects with the standard field) join that contact's profile.
		if c, ok := values["ContactId"].(string); ok && c != "" {
			ev.Customer.ExternalIDs[Kind] = c
		}
	}
	for name, v := range values {
		switch {
		case name == "Id" || name == "Email":
			continue
		case person && name == "HasOptedOutOfEmail":
			if b, ok := v.(bool); ok {
				ev.Traits["accepts_marketing"] = !b
				continue
			}
		case person && personFields[name] != "":
			trait := personFields[name]
			if _, set := ev.Traits[trait]; set && !strings.HasPrefix(name, "Mailing") {
				continue // Mailing* wins over the plain field for Contacts
			}
			ev.Traits[trait] = v
			continue
		}
		ev.Properties[snakeCase(name)] = v
	}
	for _, name := range []string{"Phone", "MobilePhone"} {
		if s, ok := values[name].(string); ok && source.Phone(s) != "" {
			ev.Customer.Phone = source.Phone(s)
			break
		}
	}
	if person {
		if p, ok := ev.Traits["phone"].(string); ok && source.Phone(p) != "" {
			ev.Traits["phone"] = source.Phone(p)
		}
		if len(ev.Traits) == 0 {
			ev.Traits = nil
		}
	}
	return ev, nil
}

// fieldValue is a field's value: nil for xsi:nil, a bool for "true" and
// "false", else the trimmed text (numbers stay text: ids, postcodes).
func fieldValue(f field) any {
	if f.Nil == "true" || f.Nil == "1" {
		return nil
	}
	s := strings.TrimSpace(f.Value)
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	return s
}

// firstTime returns the first of the named fields that holds an RFC 3339
// time, in UTC; zero if none does.
func firstTime(values map[string]any, names ...string) time.Time {
	for _, name := range names {
		s, ok := values[name].(string)
		if !ok {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// snakeCase turns a Salesforce API name ("LastModifiedDate",
// "My_Field__c", "HTMLBody") into snake case: an underscore before each
// word that starts with an upper-case letter; existing underscores kept;
// other characters outside [A-Za-z0-9_] become "_".
func snakeCase(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			if i > 0 {
				p := s[i-1]
				nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
				if (p >= 'a' && p <= 'z') || (p >= '0' && p <= '9') || (p >= 'A' && p <= 'Z' && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
		if b.Len() > 120 {
			break
		}
	}
	return b.String()
}
