package salesforce_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/salesforce"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/sdk"
)

const testToken = "om-token-1"

// config is a token-authenticated source for org.
func config(org string) string {
	return `
source "sf" {
  kind            = "salesforce"
  organization_id = "` + org + `"
  secret          = "om-token-1"
}`
}

// xmlHeader is what Salesforce sends.
func xmlHeader() http.Header {
	return http.Header{
		"Content-Type": {"text/xml; charset=utf-8"},
		"Soapaction":   {`""`},
		"User-Agent":   {"Jakarta Commons-HttpClient/3.1"},
	}
}

// want is the expected mapping of one notification.
type want struct {
	deliveryID string
	typ        string
	ext        map[string]string
	email      string
	occurredAt time.Time
	props      map[string]any
	traits     map[string]any
}

func leadProps(typ, id, org string) map[string]any {
	return map[string]any{
		"object_type": typ, "object_id": id, "organization_id": org, "action_id": "05h370200108OsUAAU",
		"clean_status": "Pending", "created_by_id": "1123456789ABCDEAAW",
		"description": "Some notes...", "industry": "Technology", "is_converted": false, "is_deleted": false,
		"is_unread_by_owner": false, "last_modified_by_id": "1123456789ABCDEAAW", "last_modified_date": "2015-08-14T18:27:02.000Z",
		"last_referenced_date": "2015-08-14T18:27:02.000Z", "last_viewed_date": "2015-08-14T18:27:02.000Z",
		"owner_id": "1123456789ABCDEAAW", "photo_url": "/services/images/photo/0123456789ABCDEEAE", "salutation": "Mr.",
		"status": "Open - Not Contacted", "system_modstamp": "2015-08-14T18:27:02.000Z",
	}
}

// leadFields are the Lead fields the lead fixture sends, as traits for a
// Lead or as properties for any other object type.
func leadFields(first string) (traits, props map[string]any) {
	traits = map[string]any{
		"city": "Redmond", "company": "Microsoft", "country": "USA", "created_at": "2015-08-14T18:27:02.000Z",
		"first_name": first, "last_name": "Nielsen", "lead_source": "Web", "postal_code": "98052", "state": "WA",
		"street": "One Microsoft Way", "title": "Architect",
	}
	props = map[string]any{
		"city": "Redmond", "company": "Microsoft", "country": "USA", "first_name": first, "last_name": "Nielsen",
		"lead_source": "Web", "postal_code": "98052", "state": "WA", "street": "One Microsoft Way", "title": "Architect",
		"created_date": "2015-08-14T18:27:02.000Z",
	}
	return traits, props
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestFixtures posts every Salesforce fixture through the gateway, with
// the organization id of its message and the token in the URL, and checks
// the SOAP Ack and the committed events. The lead fixture (whose
// anonymised xsi:types are Lead1..Lead3) is also posted with the real
// type sf:Lead.
func TestFixtures(t *testing.T) {
	t.Parallel()
	const leadOrg = "0123456789ABCDENNN"
	occurredLead := time.Date(2015, 8, 14, 18, 27, 2, 0, time.UTC)
	leadCase := func(realType bool) []want {
		var out []want
		for i, n := range []struct{ nid, id, first string }{
			{"04l37000000L0E5AAK", "0123456789ABCDEEAE", "Henrik"},
			{"14l37000123L0E5AAK", "1123456789ABCDEEAE", "Benjamin"},
			{"24l37123450L0E5AAK", "2123456789ABCDEEAE", "Nora"},
		} {
			traits, fieldProps := leadFields(n.first)
			typ := "Lead" + string(rune('1'+i))
			w := want{deliveryID: n.nid, occurredAt: occurredLead}
			if realType {
				typ = "Lead"
				w.typ, w.ext, w.traits = "customer.updated", map[string]string{"salesforce": n.id}, traits
				w.props = leadProps(typ, n.id, leadOrg)
			} else {
				w.typ, w.ext = "salesforce.lead"+string(rune('1'+i)), map[string]string{"salesforce_lead" + string(rune('1'+i)): n.id}
				w.props = merge(leadProps(typ, n.id, leadOrg), fieldProps)
			}
			out = append(out, w)
		}
		return out
	}
	contactProps := func(id string) map[string]any {
		return map[string]any{"object_type": "Contact", "object_id": id, "organization_id": "012345678901234", "action_id": "04k1I000000bmsHQAQ"}
	}
	cases := []struct {
		fixture string
		org     string
		edit    func(string) string
		wants   []want
	}{
		{
			fixture: "outbound-message.contact-x2__aspnetcore-webhooks.xml", org: "012345678901234",
			wants: []want{
				{
					deliveryID: "04l1I000000fztEQAQ", typ: "customer.updated", ext: map[string]string{"salesforce": "0031I0000081tbPQAQ"},
					occurredAt: time.Date(2017, 12, 11, 21, 49, 24, 0, time.UTC), props: contactProps("0031I0000081tbPQAQ"),
					traits: map[string]any{"first_name": "Jeraldine", "last_name": "Black", "title": "White", "created_at": "2017-12-11T21:49:24.000Z"},
				},
				{
					deliveryID: "04l1I000000fzt9QAA", typ: "customer.updated", ext: map[string]string{"salesforce": "0031I0000081tb0QAA"},
					email: "drb24@cornell.edu", occurredAt: time.Date(2017, 12, 11, 21, 44, 55, 0, time.UTC), props: contactProps("0031I0000081tb0QAA"),
					traits: map[string]any{"first_name": "Doug", "last_name": "Bunting", "title": "Supreme Being", "created_at": "2017-12-11T21:44:55.000Z"},
				},
			},
		},
		{fixture: "outbound-message.lead-x3__aspnet-webhooks.xml", org: "0123456789ABCDE", wants: leadCase(false)},
		{
			fixture: "outbound-message.lead-x3__aspnet-webhooks.xml", org: leadOrg, wants: leadCase(true),
			edit: func(s string) string {
				for _, n := range []string{"1", "2", "3"} {
					s = strings.Replace(s, `xsi:type="sf:Lead`+n+`"`, `xsi:type="sf:Lead"`, 1)
				}
				return s
			},
		},
	}
	fixtures := map[string][]byte{}
	for _, fx := range sourcetest.Fixtures(t, "salesforce") {
		fixtures[fx.Name] = fx.Body
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.fixture] = true
	}
	if len(covered) != len(fixtures) {
		t.Fatalf("%d fixtures, %d with expectations: add the new fixture's expected events", len(fixtures), len(covered))
	}
	for _, tc := range cases {
		name := tc.fixture
		if tc.edit != nil {
			name += "/sf:Lead"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, ok := fixtures[tc.fixture]
			if !ok {
				t.Fatalf("fixture %s is missing", tc.fixture)
			}
			if tc.edit != nil {
				body = []byte(tc.edit(string(body)))
			}
			g := sourcetest.NewGateway(t, config(tc.org), salesforce.Build)
			for i, wantStatus := range []int{http.StatusOK, http.StatusOK} { // new, then Salesforce's retry
				r := g.Post(t, "?token="+testToken, xmlHeader(), body)
				if r.Status != wantStatus || !isAck(r) {
					t.Fatalf("post %d: %d %s %s, want %d and the SOAP Ack", i, r.Status, r.Header.Get("Content-Type"), r.Body, wantStatus)
				}
			}
			byID := map[string]sdk.Event{}
			for _, ev := range g.Events(t) {
				byID[ev.DeliveryID] = ev
			}
			if len(byID) != len(tc.wants) {
				t.Fatalf("%d events committed, want %d", len(byID), len(tc.wants))
			}
			for _, w := range tc.wants {
				ev, ok := byID[w.deliveryID]
				if !ok {
					t.Fatalf("no event with delivery id %s", w.deliveryID)
				}
				checkEvent(t, ev, w)
			}
		})
	}
}

// isAck reports whether r is the notificationsResponse Salesforce expects.
func isAck(r sourcetest.Response) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") &&
		strings.Contains(string(r.Body), `<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">`) &&
		strings.Contains(string(r.Body), `<Ack>true</Ack>`) &&
		strings.Contains(string(r.Body), `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">`)
}

func checkEvent(t *testing.T, ev sdk.Event, w want) {
	t.Helper()
	if ev.Type != w.typ || ev.SourceKind != "salesforce" || !ev.OccurredAt.Equal(w.occurredAt) {
		t.Errorf("%s: type %q kind %q occurred %v; want %q salesforce %v", w.deliveryID, ev.Type, ev.SourceKind, ev.OccurredAt, w.typ, w.occurredAt)
	}
	if ev.Customer.Email != w.email || mustJSON(ev.Customer.ExternalIDs) != mustJSON(w.ext) || ev.Customer.ID != "" {
		t.Errorf("%s: customer %+v, want email %q external ids %v", w.deliveryID, ev.Customer, w.email, w.ext)
	}
	if !jsonEqual(ev.Properties, w.props) {
		t.Errorf("%s: properties\n got %s\nwant %s", w.deliveryID, mustJSON(ev.Properties), mustJSON(w.props))
	}
	if !jsonEqual(ev.Traits, w.traits) {
		t.Errorf("%s: traits\n got %s\nwant %s", w.deliveryID, mustJSON(ev.Traits), mustJSON(w.traits))
	}
}

// message builds an outbound message for org with notifications given as
// (notification id, sObject xml) pairs.
func message(org string, notes ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>` + org + `</OrganizationId>
   <ActionId>04k000000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/60.0/00D</EnterpriseUrl>
   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/60.0/00D</PartnerUrl>`)
	for i := 0; i+1 < len(notes); i += 2 {
		b.WriteString(`
   <Notification>
    <Id>` + notes[i] + `</Id>
    <sObject xmlns:sf="urn:sobject.enterprise.soap.sforce.com" ` + notes[i+1] + `</sObject>
   </Notification>`)
	}
	b.WriteString(`
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`)
	return []byte(b.String())
}

const org18 = "00D5e000000KQ2eEAG"

// TestGatewayContract covers token and basic authentication, the
// organization check, per-notification dedupe and the error answers.
func TestGatewayContract(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, `
source "sf" {
  kind            = "salesforce"
  organization_id = "00D5e000000KQ2e"
  secrets         = ["om-token-2", "om-token-1"]
}`, salesforce.Build)
	contact := `xsi:type="sf:Contact"><sf:Id>003000000000001AAA</sf:Id><sf:Email>Ann@Example.com</sf:Email><sf:MobilePhone>+1 415 555 0100</sf:MobilePhone><sf:HasOptedOutOfEmail>true</sf:HasOptedOutOfEmail><sf:MailingCity>Oslo</sf:MailingCity><sf:City xsi:nil="true"/>`
	body := message(org18, "04l000000000001AAA", contact)
	steps := []struct {
		name   string
		query  string
		header http.Header
		body   []byte
		status int
		substr string
	}{
		{"previous token accepted", "?token=om-token-1", xmlHeader(), body, http.StatusOK, "<Ack>true</Ack>"},
		{"retry acknowledged", "?token=om-token-2", xmlHeader(), body, http.StatusOK, "<Ack>true</Ack>"},
		{"wrong token", "?token=om-token-9", xmlHeader(), body, http.StatusUnauthorized, "does not match"},
		{"no token", "", xmlHeader(), body, http.StatusUnauthorized, "missing token"},
		{"other organization", "?token=" + testToken, xmlHeader(), message("00D5e000000KQ2fEAG", "04l000000000002AAA", contact), http.StatusUnauthorized, "OrganizationId"},
		{"organization id case differs", "?token=" + testToken, xmlHeader(), message("00d5e000000kq2eEAG", "04l000000000002AAA", contact), http.StatusUnauthorized, "OrganizationId"},
		{"malformed XML", "?token=" + testToken, xmlHeader(), body[:len(body)/2], http.StatusBadRequest, "not a SOAP envelope"},
		{"DOCTYPE", "?token=" + testToken, xmlHeader(), []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + string(body[strings.Index(string(body), "<soapenv:Envelope"):])),
			http.StatusBadRequest, "DOCTYPE"},
		{"not SOAP", "?token=" + testToken, xmlHeader(), []byte(`<notifications/>`), http.StatusBadRequest, "SOAP envelope"},
		{"notification without Id", "?token=" + testToken, xmlHeader(), message(org18, "", contact), http.StatusBadRequest, "Notification 0"},
		{"sObject without Id", "?token=" + testToken, xmlHeader(), message(org18, "04l000000000003AAA", `xsi:type="sf:Contact"><sf:Email>a@b.c</sf:Email>`), http.StatusBadRequest, "no Id field"},
		{"no notifications", "?token=" + testToken, xmlHeader(), message(org18), http.StatusBadRequest, "no Notification"},
		{"JSON content type", "?token=" + testToken, http.Header{"Content-Type": {"application/json"}}, body, http.StatusUnsupportedMediaType, "text/xml"},
	}
	for _, s := range steps {
		r := g.Post(t, s.query, s.header, s.body)
		if r.Status != s.status || !strings.Contains(string(r.Body), s.substr) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, r.Status, r.Body, s.status, s.substr)
		}
	}
	// Two notifications, one already seen: the new one is committed and
	// both are acknowledged.
	opp := `xsi:type="sf:Opportunity"><sf:Id>006000000000001AAA</sf:Id><sf:StageName>Closed Won</sf:StageName><sf:ContactId>003000000000001AAA</sf:ContactId><sf:Amount>1200.00</sf:Amount>`
	two := message(org18, "04l000000000001AAA", contact, "04l000000000009AAA", opp)
	if r := g.Post(t, "?token="+testToken, xmlHeader(), two); r.Status != http.StatusOK || !isAck(r) {
		t.Errorf("mixed: %d %s", r.Status, r.Body)
	}
	byID := map[string]sdk.Event{}
	for _, ev := range g.Events(t) {
		byID[ev.DeliveryID] = ev
	}
	if len(byID) != 2 {
		t.Fatalf("committed %d events, want 2", len(byID))
	}
	c := byID["04l000000000001AAA"]
	if c.Type != "customer.updated" || c.Customer.Email != "ann@example.com" || c.Customer.Phone != "+14155550100" ||
		c.Customer.ExternalIDs["salesforce"] != "003000000000001AAA" ||
		!jsonEqual(c.Traits, map[string]any{"accepts_marketing": false, "city": "Oslo", "mobile_phone": "+1 415 555 0100"}) {
		t.Errorf("contact = %+v", c)
	}
	o := byID["04l000000000009AAA"]
	if o.Type != "salesforce.opportunity" || o.Customer.ExternalIDs["salesforce"] != "003000000000001AAA" ||
		o.Customer.ExternalIDs["salesforce_opportunity"] != "006000000000001AAA" || o.Properties["stage_name"] != "Closed Won" ||
		o.Properties["amount"] != "1200.00" || o.Traits != nil {
		t.Errorf("opportunity = %+v", o)
	}
}

// TestBasicAuth covers auth = "basic".
func TestBasicAuth(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, `
source "sf" {
  kind            = "salesforce"
  organization_id = "00D5e000000KQ2eEAG"
  auth            = "basic"
  secrets         = ["sfdc:new-password", "sfdc:old-password"]
}`, salesforce.Build)
	body := message(org18, "04l000000000001AAA", `xsi:type="sf:Lead"><sf:Id>00Q000000000001AAA</sf:Id><sf:Email>x@y.z</sf:Email>`)
	for _, tt := range []struct {
		user, pass, query string
		ok                bool
	}{
		{"sfdc", "old-password", "", true},
		{"sfdc", "new-password", "", true},
		{"sfdc", "wrong", "", false},
		{"", "", "?token=sfdc:new-password", false}, // the token is not accepted in basic mode
	} {
		req := &source.Request{Method: http.MethodPost, URL: &url.URL{Path: "/v1/webhooks/sf"}, Header: xmlHeader(), Body: body, Now: time.Now()}
		if tt.query != "" {
			req.URL.RawQuery = strings.TrimPrefix(tt.query, "?")
		} else {
			r, _ := http.NewRequest(http.MethodPost, "http://x", nil)
			r.SetBasicAuth(tt.user, tt.pass)
			req.Header.Set("Authorization", r.Header.Get("Authorization"))
		}
		d, err := a.Parse(req)
		if tt.ok != (err == nil) {
			t.Errorf("%s:%s %s: err = %v, want ok %v", tt.user, tt.pass, tt.query, err, tt.ok)
			continue
		}
		if err == nil && (len(d.Events) != 1 || d.Reply == nil || d.Reply.Status != http.StatusOK) {
			t.Errorf("delivery = %+v", d)
		}
	}
}

// TestBuildDiagnostics checks the settings errors, with their lines.
func TestBuildDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, summary, detail string
		line                       int
	}{
		{"no organization_id", `source "sf" {
  kind   = "salesforce"
  secret = "t"
}`, "Missing required argument", "organization_id", 1},
		{"bad organization_id", `source "sf" {
  kind            = "salesforce"
  secret          = "t"
  organization_id = "00D5e"
}`, "Invalid organization_id", "15- or 18-character", 4},
		{"no secret", `source "sf" {
  kind            = "salesforce"
  organization_id = "00D5e000000KQ2e"
}`, "Missing secret", "token", 1},
		{"bad auth", `source "sf" {
  kind            = "salesforce"
  organization_id = "00D5e000000KQ2e"
  secret          = "t"
  auth            = "oauth"
}`, "Invalid auth", `"basic"`, 5},
		{"basic secret without user", `source "sf" {
  kind            = "salesforce"
  organization_id = "00D5e000000KQ2e"
  secret          = "password-only"
  auth            = "basic"
}`, "Invalid basic credentials", "user:password", 1},
		{"unknown attribute", `source "sf" {
  kind            = "salesforce"
  organization_id = "00D5e000000KQ2e"
  secret          = "t"
  token_param     = "t"
}`, "Unsupported argument", "token_param", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec, _ := sourcetest.Spec(t, tt.src)
			a, diags := salesforce.Build(spec)
			if a != nil || len(diags) != 1 {
				t.Fatalf("adapter %v, diagnostics %v: want one error and no adapter", a, diags)
			}
			d := diags[0]
			if d.Summary != tt.summary || !strings.Contains(d.Detail, tt.detail) || d.Subject == nil || d.Subject.Start.Line != tt.line {
				t.Fatalf("diagnostic %q %q at %v; want %q containing %q on line %d", d.Summary, d.Detail, d.Subject, tt.summary, tt.detail, tt.line)
			}
		})
	}
}

func jsonEqual(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return mustJSON(a) == mustJSON(b)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
