package segment_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/segment"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/sdk"
)

const testSecret = "shared-secret-1"

const gatewayConfig = `
source "cdp" {
  kind   = "segment"
  secret = "shared-secret-1"
}`

// sign is Segment's X-Signature: hex HMAC-SHA1 of the body.
func sign(secret string, body []byte) string {
	return hex.EncodeToString(source.HMAC(sha1.New, []byte(secret), body))
}

func headers(secret string, body []byte) http.Header {
	return http.Header{
		"Content-Type": {"application/json"},
		"User-Agent":   {"Segment.io/1.0"},
		"X-Signature":  {sign(secret, body)},
	}
}

// want is the expected mapping of one call. A deliveryID of "sha256:"
// means the call has no messageId and the id is a hash of the call.
type want struct {
	deliveryID  string
	typ         string
	id, anon    string
	email       string
	occurredAt  string // RFC 3339; "" when the call has no timestamp
	props       map[string]any
	traits      map[string]any
	deliveryLen int
}

// TestFixtures posts every Segment fixture, signed, each to its own
// gateway (Segment's doc samples share messageIds), and checks the
// committed events.
func TestFixtures(t *testing.T) {
	t.Parallel()
	cases := map[string]want{
		"batch.track__segment-analytics-go.json": {
			deliveryID: "I'm unique", typ: "segment.download", id: "123456", occurredAt: "2009-11-10T23:00:00Z",
			props: map[string]any{"event": "Download", "application": "Segment Desktop", "platform": "osx", "version": "1.1.0"},
		},
		"identify__segment-docs-spec.json": {
			deliveryID: "022bb90c-bbac-11e4-8dfc-aa07a5b093db", typ: "customer.updated", id: "97980cfea0067",
			anon: "507f191e810c19729de860ea", email: "peter@example.com", occurredAt: "2015-02-23T22:28:55.111Z",
			traits: map[string]any{
				"name": "Peter Gibbons", "plan": "premium", "logins": 5, "street": "6th St", "city": "San Francisco",
				"state": "CA", "postal_code": "94103", "country": "USA",
			},
		},
		"identify__segment-docs-webhooks-destination.json": {
			deliveryID: "sha256:", typ: "customer.updated", id: "019mr8mf4r", email: "achilles@segment.com",
			occurredAt: "2012-12-02T00:30:08.276Z",
			traits:     map[string]any{"name": "Achilles", "subscription_plan": "Premium", "friend_count": 29},
		},
		"page__segment-docs-spec.json": {
			deliveryID: "022bb90c-bbac-11e4-8dfc-aa07a5b093db", typ: "page.viewed", id: "97980cfea0067",
			anon: "507f191e810c19729de860ea", occurredAt: "2015-02-23T22:28:55.111Z",
			props: map[string]any{"name": "Home", "title": "Welcome | Initech", "url": "http://www.example.com"},
		},
		"page__segment-docs-webhooks-destination.json": {
			deliveryID: "sha256:", typ: "page.viewed", id: "019mr8mf4r", occurredAt: "2012-12-02T00:30:08.276Z",
			props: map[string]any{"path": "/pricing", "referrer": "https://segment.com", "title": "Segment Pricing", "url": "https://segment.com/pricing"},
		},
		"track.added-product.ecommerce-v1__segment-docs-spec.json": {
			deliveryID: "sha256:", typ: "cart.updated", id: "019mr8mf4r",
			props: map[string]any{
				"event": "Added Product", "product_id": "507f1f77bcf86cd799439011", "sku": "45790-32",
				"name": "Monopoly: 3rd Edition", "price": 18.99, "quantity": 3, "category": "Games",
			},
		},
		"track.course-clicked__segment-docs-spec.json": {
			deliveryID: "ajs-f8ca1e4de5024d9430b3928bd8ac6b96", typ: "segment.course_clicked", id: "AiUGstSDIg",
			anon: "23adfd82-aa0f-45a7-a756-24f2a7a4c895", occurredAt: "2015-12-12T19:11:01.249Z",
			props: map[string]any{"event": "Course Clicked", "title": "Intro to Analytics"},
		},
		"track.order-completed.ecommerce-v1__segment-docs-spec.json": {
			deliveryID: "sha256:", typ: "order.placed", id: "019mr8mf4r",
			props: map[string]any{
				"event": "Order Completed", "order_id": "50314b8e9bcf000000000000", "value": 25, "revenue": 25,
				"shipping": 3, "tax": 2, "discount": 2.5, "coupon": "hasbros", "currency": "USD",
				"items": []any{
					map[string]any{"product_id": "507f1f77bcf86cd799439011", "sku": "45790-32", "name": "Monopoly: 3rd Edition", "price": 19, "quantity": 1, "category": "Games"},
					map[string]any{"product_id": "505bd76785ebb509fc183733", "sku": "46493-32", "name": "Uno Card Game", "price": 3, "quantity": 2, "category": "Games"},
				},
			},
		},
		"track.order-completed__segment-docs-friendbuy.json": {
			deliveryID: "sha256:", typ: "order.placed", id: "customer-12345", email: "joe.customer@example.com",
			props: map[string]any{
				"event": "Order Completed", "order_id": "82f250a3-32eb-40be-95fc-77e685ed8448", "email": "joe.customer@example.com",
				"value": 54.82, "currency": "USD", "friendbuy_attributes": map[string]any{"orderNumber": "3", "promotion": "black friday"},
			},
		},
		"track.viewed-product.ecommerce-v1__segment-docs-spec.json": {
			deliveryID: "sha256:", typ: "product.viewed", id: "019mr8mf4r",
			props: map[string]any{
				"event": "Viewed Product", "product_id": "507f1f77bcf86cd799439011", "sku": "G-32",
				"name": "Monopoly: 3rd Edition", "price": 18.99, "category": "Games",
			},
		},
		"track__segment-docs-webhooks-destination.json": {
			deliveryID: "sha256:", typ: "segment.purchased_an_item", id: "019mr8mf4r", occurredAt: "2012-12-02T00:30:08.276Z",
			props: map[string]any{"event": "Purchased an Item", "value": 39.95, "revenue": 39.95, "shipping_method": "2-day"},
		},
	}
	fixtures := sourcetest.Fixtures(t, "segment")
	if len(fixtures) != len(cases) {
		t.Fatalf("%d fixtures, %d expectations: add the new fixture's expected event", len(fixtures), len(cases))
	}
	for _, fx := range fixtures {
		w, ok := cases[fx.Name]
		if !ok {
			t.Fatalf("no expectation for fixture %s", fx.Name)
		}
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			g := sourcetest.NewGateway(t, gatewayConfig, segment.Build)
			if r := g.Post(t, "", headers(testSecret, fx.Body), fx.Body); r.Status != http.StatusAccepted {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			if r := g.Post(t, "", headers(testSecret, fx.Body), fx.Body); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"duplicate":true`) {
				t.Fatalf("resent: %d %s", r.Status, r.Body)
			}
			evs := g.Events(t)
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1: %+v", len(evs), evs)
			}
			checkEvent(t, evs[0], w)
		})
	}
}

func checkEvent(t *testing.T, ev sdk.Event, w want) {
	t.Helper()
	if w.deliveryID == "sha256:" {
		if !strings.HasPrefix(ev.DeliveryID, "sha256:") || len(ev.DeliveryID) != len("sha256:")+32 {
			t.Errorf("delivery id %q, want a sha256: hash", ev.DeliveryID)
		}
	} else if ev.DeliveryID != w.deliveryID {
		t.Errorf("delivery id %q, want %q", ev.DeliveryID, w.deliveryID)
	}
	if ev.Type != w.typ || ev.SourceKind != "segment" {
		t.Errorf("type %q kind %q, want %q segment", ev.Type, ev.SourceKind, w.typ)
	}
	c := ev.Customer
	if c.ID != w.id || c.AnonymousID != w.anon || c.Email != w.email || c.Phone != "" || len(c.ExternalIDs) != 0 {
		t.Errorf("customer %+v, want id %q anonymous %q email %q", c, w.id, w.anon, w.email)
	}
	if w.occurredAt != "" && ev.OccurredAt.Format(time.RFC3339Nano) != w.occurredAt {
		t.Errorf("occurred at %s, want %s", ev.OccurredAt.Format(time.RFC3339Nano), w.occurredAt)
	}
	if !jsonEqual(ev.Properties, w.props) {
		t.Errorf("properties\n got %s\nwant %s", mustJSON(ev.Properties), mustJSON(w.props))
	}
	if !jsonEqual(ev.Traits, w.traits) {
		t.Errorf("traits\n got %s\nwant %s", mustJSON(ev.Traits), mustJSON(w.traits))
	}
}

// TestGatewayContract covers signature, rotation, batch dedupe and errors.
func TestGatewayContract(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, `
source "cdp" {
  kind    = "segment"
  secrets = ["shared-secret-2", "shared-secret-1"]
}`, segment.Build)
	batch := []byte(`{"batch":[
  {"type":"track","event":"Checkout Started","messageId":"m1","userId":"u1","timestamp":"2026-11-22T10:00:00Z",
   "properties":{"checkout_id":"c1","value":30,"currency":"eur","products":[{"product_id":"p1","price":15,"quantity":2,"image_url":"https://x/i.png","url":"https://x/p1"}]}},
  {"type":"identify","messageId":"m2","anonymousId":"a1","traits":{"email":"A@B.io","firstName":"Ann","phone":"+44 20 7946 0958"}}
],"context":{"library":{"name":"analytics-go"}}}`)
	steps := []struct {
		name   string
		header http.Header
		body   []byte
		status int
		substr string
	}{
		{"rotated (previous) secret accepted", headers("shared-secret-1", batch), batch, http.StatusAccepted, `"accepted":2`},
		{"same batch again is a duplicate", headers("shared-secret-2", batch), batch, http.StatusOK, `"duplicate":true`},
		{"tampered body", headers("shared-secret-2", batch), []byte(strings.Replace(string(batch), "30", "99", 1)), http.StatusUnauthorized, "bad_signature"},
		{"wrong secret", headers("nope", batch), batch, http.StatusUnauthorized, "HMAC-SHA1"},
		{"malformed JSON", headers(testSecret, []byte(`{"type":`)), []byte(`{"type":`), http.StatusBadRequest, "not valid JSON"},
		{"no type", headers(testSecret, []byte(`{"userId":"u"}`)), []byte(`{"userId":"u"}`), http.StatusBadRequest, "no type"},
		{"no identity", headers(testSecret, []byte(`{"type":"track","event":"x","messageId":"m9"}`)), []byte(`{"type":"track","event":"x","messageId":"m9"}`),
			http.StatusBadRequest, "no userId, anonymousId"},
		{"batch item not an object", headers(testSecret, []byte(`{"batch":[1]}`)), []byte(`{"batch":[1]}`), http.StatusBadRequest, "call 0"},
	}
	for _, s := range steps {
		r := g.Post(t, "", s.header, s.body)
		if r.Status != s.status || !strings.Contains(string(r.Body), s.substr) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, r.Status, r.Body, s.status, s.substr)
		}
	}
	h := headers(testSecret, batch)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := g.Post(t, "", h, batch); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("wrong content type: %d %s", r.Status, r.Body)
	}
	h = headers(testSecret, batch)
	h.Del("X-Signature")
	if r := g.Post(t, "", h, batch); r.Status != http.StatusUnauthorized {
		t.Errorf("unsigned: %d %s", r.Status, r.Body)
	}
	// A top-level array (Webhooks (Actions) batching): the known call is a
	// duplicate, the new one is accepted.
	arr := []byte(`[{"type":"identify","messageId":"m2","anonymousId":"a1"},{"type":"track","event":"Signed Up","messageId":"m3","userId":"u1"}]`)
	if r := g.Post(t, "", headers(testSecret, arr), arr); r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"accepted":1`) {
		t.Errorf("array batch: %d %s", r.Status, r.Body)
	}

	byID := map[string]sdk.Event{}
	for _, ev := range g.Events(t) {
		byID[ev.DeliveryID] = ev
	}
	if len(byID) != 3 {
		t.Fatalf("committed %d events, want 3: %v", len(byID), byID)
	}
	checkEvent(t, byID["m1"], want{
		deliveryID: "m1", typ: "checkout.started", id: "u1", occurredAt: "2026-11-22T10:00:00Z",
		props: map[string]any{
			"event": "Checkout Started", "checkout_id": "c1", "value": 30, "currency": "EUR",
			"items": []any{map[string]any{"product_id": "p1", "price": 15, "quantity": 2, "image_url": "https://x/i.png", "url": "https://x/p1"}},
		},
	})
	identify := byID["m2"]
	if identify.Type != "customer.updated" || identify.Customer.Email != "a@b.io" || identify.Customer.Phone != "+442079460958" ||
		identify.Customer.AnonymousID != "a1" || !jsonEqual(identify.Traits, map[string]any{"first_name": "Ann", "phone": "+442079460958"}) {
		t.Errorf("identify = %+v", identify)
	}
	if byID["m3"].Type != "account.signed_up" {
		t.Errorf("Signed Up = %+v", byID["m3"])
	}
}

// TestMapping covers calls and spec events without a fixture.
func TestMapping(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, gatewayConfig, segment.Build)
	tests := []struct {
		call  string
		typ   string
		props map[string]any
	}{
		{`{"type":"track","event":"Products Searched","properties":{"query":"blue hotpants"}}`, "search.performed", map[string]any{"query": "blue hotpants"}},
		{`{"type":"track","event":"Product Removed","properties":{"id":"p9","cart_id":"c9"}}`, "cart.updated", map[string]any{"product_id": "p9", "cart_id": "c9"}},
		{`{"type":"track","event":"Cart Viewed","properties":{"cart_id":"c9","products":[{"id":"p9"}]}}`, "cart.updated",
			map[string]any{"cart_id": "c9", "items": []any{map[string]any{"product_id": "p9"}}}},
		{`{"type":"track","event":"Checkout Step Completed","properties":{"checkout_id":"c1","step":2}}`, "checkout.updated", map[string]any{"checkout_id": "c1", "step": 2.0}},
		{`{"type":"track","event":"Payment Info Entered","properties":{"checkout_id":"c1"}}`, "checkout.updated", nil},
		{`{"type":"track","event":"Order Refunded","properties":{"order_id":"o1","total":12.5,"currency":"JPY"}}`, "order.refunded",
			map[string]any{"order_id": "o1", "value": 12.5, "currency": "JPY"}},
		{`{"type":"track","event":"Order Cancelled","properties":{"order_id":"o1"}}`, "order.cancelled", nil},
		{`{"type":"track","event":"Order Updated","properties":{"order_id":"o1"}}`, "segment.order_updated", nil},
		{`{"type":"track","event":"videoPlaybackStarted"}`, "segment.video_playback_started", nil},
		{`{"type":"page","name":"Docs","context":{"page":{"url":"https://x/docs","path":"/docs","referrer":"https://r"}}}`, "page.viewed",
			map[string]any{"name": "Docs", "url": "https://x/docs", "path": "/docs", "referrer": "https://r"}},
		{`{"type":"screen","name":"Home","properties":{"variation":"blue"}}`, "segment.screen", map[string]any{"name": "Home", "variation": "blue"}},
		{`{"type":"group","groupId":"g1","traits":{"name":"Initech","email":"billing@initech.com"}}`, "segment.group",
			map[string]any{"group_id": "g1", "group_traits": map[string]any{"name": "Initech", "email": "billing@initech.com"}}},
		{`{"type":"alias","previousId":"anon-1"}`, "segment.alias", map[string]any{"previous_id": "anon-1"}},
		{`{"type":"Track","event":"Signed Up"}`, "account.signed_up", nil},
		{`{"type":"unknown-call"}`, "segment.unknown-call", nil},
	}
	for _, tt := range tests {
		body := []byte(strings.Replace(tt.call, "{", `{"userId":"u1",`, 1))
		d, err := a.Parse(&source.Request{Method: http.MethodPost, Header: headers(testSecret, body), Body: body, Now: time.Now()})
		if err != nil {
			t.Errorf("%s: %v", tt.call, err)
			continue
		}
		ev := d.Events[0]
		if ev.Type != tt.typ || ev.Customer.ID != "u1" || ev.Customer.Email != "" {
			t.Errorf("%s: type %q customer %+v; want %q, u1 and no email", tt.call, ev.Type, ev.Customer, tt.typ)
		}
		for k, v := range tt.props {
			if mustJSON(ev.Properties[k]) != mustJSON(v) {
				t.Errorf("%s: property %s = %s, want %s", tt.call, k, mustJSON(ev.Properties[k]), mustJSON(v))
			}
		}
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
