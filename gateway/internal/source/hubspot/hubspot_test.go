package hubspot_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/hubspot"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/sdk"
)

const testSecret = "client-secret-1"

const gatewayConfig = `
source "hs" {
  kind   = "hubspot"
  secret = "client-secret-1"
}`

// sign is HubSpot's signature v3: base64 HMAC-SHA256 of method + URI +
// body + timestamp.
func sign(secret, method, uri string, body []byte, ts string) string {
	mac := source.HMAC(sha256.New, []byte(secret), []byte(method), []byte(uri), body, []byte(ts))
	return base64.StdEncoding.EncodeToString(mac)
}

// headers are what HubSpot sends, signed for a POST of body to uri at t.
func headers(secret, uri string, body []byte, t time.Time) http.Header {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	return http.Header{
		"Content-Type":                {"application/json"},
		"X-Hubspot-Signature-Version": {"v1"},
		"X-Hubspot-Signature-V3":      {sign(secret, http.MethodPost, uri, body, ts)},
		"X-Hubspot-Request-Timestamp": {ts},
	}
}

// want is the expected mapping of one batch item.
type want struct {
	deliveryID string
	typ        string
	extKey     string
	extID      string
	occurredAt time.Time
	props      map[string]any
	traits     map[string]any
}

// TestFixtures posts every HubSpot fixture, signed, through the gateway
// and checks each committed event.
func TestFixtures(t *testing.T) {
	t.Parallel()
	cases := map[string][]want{
		"batch.contact.propertyChange+contact.creation__hubspot-docs.json": {
			{
				deliveryID: "33:25:3816279340", typ: "customer.updated", extKey: "hubspot", extID: "1246965",
				occurredAt: time.UnixMilli(1462216307945).UTC(),
				props: map[string]any{
					"subscription_type": "contact.propertyChange", "object_id": "1246965", "portal_id": "33",
					"change_source": "ACADEMY", "property": "lifecyclestage", "property_value": "subscriber",
				},
				traits: map[string]any{"lifecyclestage": "subscriber"},
			},
			{
				deliveryID: "33:22:3816279480", typ: "customer.created", extKey: "hubspot", extID: "1246978",
				occurredAt: time.UnixMilli(1462216307945).UTC(),
				props: map[string]any{
					"subscription_type": "contact.creation", "object_id": "1246978", "portal_id": "33", "change_source": "IMPORT",
				},
			},
		},
		"contact.creation__snowplow-enrich.json": {
			{
				deliveryID: "4737818:25458:1", typ: "customer.created", extKey: "hubspot", extID: "123",
				occurredAt: time.UnixMilli(1539145399845).UTC(),
				props: map[string]any{
					"subscription_type": "contact.creation", "object_id": "123", "portal_id": "4737818", "change_source": "CRM",
				},
			},
		},
		"deal.propertyChange.closedwon__dj-hubspot.json": {
			{
				deliveryID: "5799819:92894:1228532628", typ: "deal.updated", extKey: "hubspot_deal", extID: "697680835",
				occurredAt: time.UnixMilli(1556105815815).UTC(),
				props: map[string]any{
					"subscription_type": "deal.propertyChange", "object_id": "697680835", "portal_id": "5799819",
					"change_source": "AUTOMATION_PLATFORM", "property": "dealstage", "property_value": "closedwon",
					"deal_id": "697680835", "action": "propertyChange", "stage": "closedwon", "won": true,
				},
			},
		},
		"deal.propertyChange.dealstage-id__dj-hubspot.json": {
			{
				deliveryID: "5799819:92894:4168025182", typ: "deal.updated", extKey: "hubspot_deal", extID: "741141656",
				occurredAt: time.UnixMilli(1557224426153).UTC(),
				props: map[string]any{
					"subscription_type": "deal.propertyChange", "object_id": "741141656", "portal_id": "5799819",
					"change_source": "CRM_UI", "property": "dealstage", "property_value": "1f4f1ec1-8174-49f3-a112-4eaa4748e38e",
					"deal_id": "741141656", "action": "propertyChange", "stage": "1f4f1ec1-8174-49f3-a112-4eaa4748e38e", "won": false,
				},
			},
		},
	}
	g := sourcetest.NewGateway(t, gatewayConfig, hubspot.Build)
	fixtures := sourcetest.Fixtures(t, "hubspot")
	if len(fixtures) != len(cases) {
		t.Fatalf("%d fixtures, %d expectations: add the new fixture's expected events", len(fixtures), len(cases))
	}
	for _, fx := range fixtures {
		wants, ok := cases[fx.Name]
		if !ok {
			t.Fatalf("no expectation for fixture %s", fx.Name)
		}
		r := g.Post(t, "", headers(testSecret, g.URL, fx.Body, time.Now()), fx.Body)
		if r.Status != http.StatusAccepted {
			t.Fatalf("%s: status %d %s", fx.Name, r.Status, r.Body)
		}
		byID := eventsByDelivery(t, g)
		for _, w := range wants {
			ev, ok := byID[w.deliveryID]
			if !ok {
				t.Fatalf("%s: no event with delivery id %s (have %v)", fx.Name, w.deliveryID, keys(byID))
			}
			checkEvent(t, fx.Name, ev, w)
		}
	}
}

func checkEvent(t *testing.T, name string, ev sdk.Event, w want) {
	t.Helper()
	if ev.Type != w.typ || ev.SourceKind != "hubspot" || !ev.OccurredAt.Equal(w.occurredAt) {
		t.Errorf("%s %s: type %q kind %q occurred %v; want %q hubspot %v", name, w.deliveryID, ev.Type, ev.SourceKind, ev.OccurredAt, w.typ, w.occurredAt)
	}
	if len(ev.Customer.ExternalIDs) != 1 || ev.Customer.ExternalIDs[w.extKey] != w.extID {
		t.Errorf("%s %s: external ids %v, want %s=%s", name, w.deliveryID, ev.Customer.ExternalIDs, w.extKey, w.extID)
	}
	if !jsonEqual(ev.Properties, w.props) {
		t.Errorf("%s %s: properties\n got %s\nwant %s", name, w.deliveryID, mustJSON(ev.Properties), mustJSON(w.props))
	}
	if !jsonEqual(ev.Traits, w.traits) {
		t.Errorf("%s %s: traits %s, want %s", name, w.deliveryID, mustJSON(ev.Traits), mustJSON(w.traits))
	}
}

// TestGatewayContract covers the ingest contract for a hubspot source:
// signature, replay window, rotation, dedupe, errors.
func TestGatewayContract(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, `
source "hs" {
  kind    = "hubspot"
  secrets = ["client-secret-2", "client-secret-1"]
}`, hubspot.Build)
	batch := []byte(`[{"eventId":11,"subscriptionId":5,"portalId":9,"occurredAt":1462216307945,"subscriptionType":"contact.propertyChange","objectId":42,"propertyName":"email","propertyValue":"Jane@Example.COM"},` +
		`{"eventId":12,"subscriptionId":5,"portalId":9,"occurredAt":1462216307945,"subscriptionType":"contact.propertyChange","objectId":42,"propertyName":"firstname","propertyValue":"Jane"}]`)
	now := time.Now()

	steps := []struct {
		name   string
		header http.Header
		body   []byte
		status int
		substr string
	}{
		{"rotated (previous) secret accepted", headers("client-secret-1", g.URL, batch, now), batch, http.StatusAccepted, `"accepted":2`},
		{"same batch again is a duplicate", headers("client-secret-2", g.URL, batch, now), batch, http.StatusOK, `"duplicate":true`},
		{"tampered body", headers("client-secret-2", g.URL, batch, now), []byte(strings.Replace(string(batch), "Jane@", "Eve@", 1)), http.StatusUnauthorized, "bad_signature"},
		{"wrong secret", headers("not-the-secret", g.URL, batch, now), batch, http.StatusUnauthorized, "HMAC-SHA256"},
		{"signed for another URL", headers("client-secret-2", g.URL+"x", batch, now), batch, http.StatusUnauthorized, "bad_signature"},
		{"stale timestamp", headers("client-secret-2", g.URL, batch, now.Add(-6*time.Minute)), batch, http.StatusUnauthorized, "old"},
		{"future timestamp", headers("client-secret-2", g.URL, batch, now.Add(6*time.Minute)), batch, http.StatusUnauthorized, "future"},
		{"malformed JSON", headers("client-secret-2", g.URL, []byte(`[{"eventId":`), now), []byte(`[{"eventId":`), http.StatusBadRequest, "not valid JSON"},
		{"object instead of array", headers("client-secret-2", g.URL, []byte(`{"eventId":1}`), now), []byte(`{"eventId":1}`), http.StatusBadRequest, "JSON array"},
		{"item without objectId", headers("client-secret-2", g.URL, []byte(`[{"eventId":1,"subscriptionType":"contact.creation"}]`), now),
			[]byte(`[{"eventId":1,"subscriptionType":"contact.creation"}]`), http.StatusBadRequest, "event 0"},
	}
	for _, s := range steps {
		r := g.Post(t, "", s.header, s.body)
		if r.Status != s.status || !strings.Contains(string(r.Body), s.substr) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, r.Status, r.Body, s.status, s.substr)
		}
	}
	h := headers("client-secret-2", g.URL, batch, now)
	h.Set("Content-Type", "text/plain")
	if r := g.Post(t, "", h, batch); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("wrong content type: %d %s", r.Status, r.Body)
	}
	h = headers("client-secret-2", g.URL, batch, now)
	h.Del("X-Hubspot-Signature-V3")
	if r := g.Post(t, "", h, batch); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "missing X-HubSpot-Signature-v3") {
		t.Errorf("unsigned: %d %s", r.Status, r.Body)
	}

	// One item of the batch resent on its own is a duplicate; a new item
	// next to a known one is accepted alone.
	one := []byte(`[{"eventId":12,"subscriptionId":5,"portalId":9,"occurredAt":1462216307945,"subscriptionType":"contact.propertyChange","objectId":42,"propertyName":"firstname","propertyValue":"Jane"}]`)
	if r := g.Post(t, "", headers(testSecret, g.URL, one, now), one); r.Status != http.StatusOK {
		t.Errorf("resent item: %d %s", r.Status, r.Body)
	}
	mixed := []byte(`[{"eventId":12,"subscriptionId":5,"portalId":9,"subscriptionType":"contact.propertyChange","objectId":42,"propertyName":"firstname","propertyValue":"Jane"},` +
		`{"eventId":13,"subscriptionId":5,"portalId":9,"subscriptionType":"contact.deletion","objectId":42}]`)
	if r := g.Post(t, "", headers(testSecret, g.URL, mixed, now), mixed); r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"accepted":1`) {
		t.Errorf("mixed batch: %d %s", r.Status, r.Body)
	}

	byID := eventsByDelivery(t, g)
	if len(byID) != 3 {
		t.Fatalf("committed %d events, want 3: %v", len(byID), keys(byID))
	}
	email := byID["9:5:11"]
	if email.Type != "customer.updated" || email.Customer.Email != "jane@example.com" || email.Customer.ExternalIDs["hubspot"] != "42" ||
		email.Traits["email"] != "Jane@Example.COM" {
		t.Errorf("email change = %+v", email)
	}
	if first := byID["9:5:12"]; first.Traits["first_name"] != "Jane" || first.Customer.Email != "" {
		t.Errorf("firstname change = %+v", first)
	}
	if del := byID["9:5:13"]; del.Type != "customer.deleted" {
		t.Errorf("deletion = %+v", del)
	}
}

// TestForwardedURL checks that the signed URL is rebuilt from the proxy's
// X-Forwarded-Proto and X-Forwarded-Host.
func TestForwardedURL(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, gatewayConfig, hubspot.Build)
	body := []byte(`[{"eventId":1,"subscriptionId":2,"portalId":3,"subscriptionType":"company.creation","objectId":77}]`)
	h := headers(testSecret, "https://hooks.example.com/v1/webhooks/hs?tenant=a:b", body, time.Now())
	h.Set("X-Forwarded-Proto", "https")
	h.Set("X-Forwarded-Host", "hooks.example.com")
	r := g.Post(t, "?tenant=a%3Ab", h, body)
	if r.Status != http.StatusAccepted {
		t.Fatalf("forwarded: %d %s", r.Status, r.Body)
	}
	evs := g.Events(t)
	if len(evs) != 1 || evs[0].Type != "hubspot.company.creation" || evs[0].Customer.ExternalIDs["hubspot_company"] != "77" {
		t.Fatalf("events = %+v", evs)
	}
}

// TestSignedURI covers public_url and the percent-encodings HubSpot
// decodes before signing.
func TestSignedURI(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, `
source "hs" {
  kind       = "hubspot"
  secret     = "client-secret-1"
  public_url = "https://hooks.example.com/hubspot%2Fin?x=%3A%40%21%24%27%28%29%2a%2C%3B%3F&y=%20%2B"
}`, hubspot.Build)
	body := []byte(`[{"eventId":1,"subscriptionType":"contact.creation","objectId":5}]`)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	// HubSpot decodes : / ? @ ! $ ' ( ) * , ; and nothing else.
	signedURI := "https://hooks.example.com/hubspot/in?x=:@!$'()*,;?&y=%20%2B"
	req := &source.Request{
		Method: http.MethodPost,
		URL:    &url.URL{Path: "/v1/webhooks/hs"},
		Host:   "internal:8080",
		Header: http.Header{
			"Content-Type":                {"application/json; charset=utf-8"},
			"X-Hubspot-Signature-V3":      {sign(testSecret, http.MethodPost, signedURI, body, ts)},
			"X-Hubspot-Request-Timestamp": {ts},
		},
		Body: body,
		Now:  now.Add(4 * time.Minute),
	}
	d, err := a.Parse(req)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(d.Events) != 1 || d.Events[0].Type != "customer.created" || d.Events[0].DeliveryID != "::1" {
		t.Fatalf("events = %+v", d.Events)
	}
	req.Header.Set("X-Hubspot-Signature-V3", sign(testSecret, http.MethodPost, "https://hooks.example.com/hubspot%2Fin?x=%3A", body, ts))
	if _, err := a.Parse(req); err == nil || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("undecoded URI accepted: %v", err)
	}
}

// TestMapping covers subscription types without a fixture.
func TestMapping(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, gatewayConfig, hubspot.Build)
	tests := []struct {
		item   string
		typ    string
		ext    string
		props  map[string]any
		traits map[string]any
		phone  string
	}{
		{`{"subscriptionType":"contact.privacyDeletion","objectId":1}`, "customer.deleted", "hubspot", map[string]any{"reason": "privacy_deletion"}, nil, ""},
		{`{"subscriptionType":"contact.merge","objectId":1}`, "hubspot.contact.merge", "hubspot", nil, nil, ""},
		{`{"subscriptionType":"contact.propertyChange","objectId":1,"propertyName":"phone","propertyValue":"+1 (415) 555-0100"}`,
			"customer.updated", "hubspot", nil, map[string]any{"phone": "+14155550100"}, "+14155550100"},
		{`{"subscriptionType":"contact.propertyChange","objectId":1,"propertyName":"lastname","propertyValue":"Doe"}`,
			"customer.updated", "hubspot", nil, map[string]any{"last_name": "Doe"}, ""},
		{`{"subscriptionType":"deal.creation","objectId":1}`, "deal.updated", "hubspot_deal", map[string]any{"action": "creation"}, nil, ""},
		{`{"subscriptionType":"deal.propertyChange","objectId":1,"propertyName":"amount","propertyValue":"1500.50"}`,
			"deal.updated", "hubspot_deal", map[string]any{"value": 1500.5}, nil, ""},
		{`{"subscriptionType":"deal.propertyChange","objectId":1,"propertyName":"pipeline","propertyValue":"default"}`,
			"deal.updated", "hubspot_deal", map[string]any{"pipeline": "default"}, nil, ""},
		{`{"subscriptionType":"object.creation","objectTypeId":"0-1","objectId":1}`, "customer.created", "hubspot", nil, nil, ""},
		{`{"subscriptionType":"object.propertyChange","objectTypeId":"2-123","objectId":1}`, "hubspot.object.propertychange", "hubspot_object", nil, nil, ""},
		{`{"eventType":"ticket.creation","objectId":1}`, "hubspot.ticket.creation", "hubspot_ticket", nil, nil, ""},
	}
	for _, tt := range tests {
		item := strings.Replace(tt.item, "{", `{"eventId":7,`, 1)
		evs, err := parse(a, "["+item+"]")
		if err != nil {
			t.Errorf("%s: %v", tt.item, err)
			continue
		}
		ev := evs[0]
		if ev.Type != tt.typ || ev.Customer.ExternalIDs[tt.ext] != "1" || ev.Customer.Phone != tt.phone {
			t.Errorf("%s: type %q ids %v phone %q; want %q %s=1 %q", tt.item, ev.Type, ev.Customer.ExternalIDs, ev.Customer.Phone, tt.typ, tt.ext, tt.phone)
		}
		for k, v := range tt.props {
			if ev.Properties[k] != v {
				t.Errorf("%s: property %s = %v, want %v", tt.item, k, ev.Properties[k], v)
			}
		}
		if !jsonEqual(ev.Traits, tt.traits) {
			t.Errorf("%s: traits %v, want %v", tt.item, ev.Traits, tt.traits)
		}
	}
}

// parse signs body for the adapter and parses it.
func parse(a source.Adapter, body string) ([]sdk.Event, error) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	uri := "https://hooks.example.com/v1/webhooks/hs"
	h := headers(testSecret, uri, []byte(body), now)
	d, err := a.Parse(&source.Request{
		Method: http.MethodPost, URL: &url.URL{Path: "/v1/webhooks/hs"}, Host: "hooks.example.com", TLS: true,
		Header: h, Body: []byte(body), Now: now,
	})
	if err != nil {
		return nil, err
	}
	return d.Events, nil
}

func eventsByDelivery(t *testing.T, g *sourcetest.Gateway) map[string]sdk.Event {
	t.Helper()
	out := map[string]sdk.Event{}
	for _, ev := range g.Events(t) {
		if _, dup := out[ev.DeliveryID]; dup {
			t.Fatalf("delivery id %s committed twice", ev.DeliveryID)
		}
		out[ev.DeliveryID] = ev
	}
	return out
}

func keys(m map[string]sdk.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// jsonEqual compares two values by their JSON encoding (nil and empty
// maps are equal), as events come back from the log decoded from JSON.
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
