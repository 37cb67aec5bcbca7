package standard_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/standard"
	"github.com/triggergate/triggergate/sdk"
)

// fixtureWant is what one testdata payload must become: an event, or a
// 400 whose message contains reason.
type fixtureWant struct {
	typ      string
	occurred time.Time
	customer sdk.Customer
	props    map[string]any
	traits   map[string]any
	reason   string
}

var specTime = time.Date(2022, 11, 3, 20, 26, 10, 344522000, time.UTC)

// fixtureWants covers every file in testdata, written out from reading it.
var fixtureWants = map[string]fixtureWant{
	// The specification's own examples name nobody, so they cannot be
	// attributed to a profile.
	"example.event__spec.json":        {reason: "names no customer"},
	"contact.created__spec-full.json": {reason: "names no customer"},
	"contact.created__spec-full-with-customer.json": {
		typ: "contact.created", occurred: specTime,
		customer: sdk.Customer{ID: "1f81eb52-5198-4599-803e-771906343485", Email: "john.smith@example.com", Phone: "+12813322575"},
		props:    map[string]any{"id": "1f81eb52-5198-4599-803e-771906343485", "type": "contact", "birthday": "1980-04-19", "occupation": "Engineer, ACME", "address": "800 W NASA Pkwy, Webster, TX 77598, USA"},
		traits:   map[string]any{"first_name": "John", "last_name": "Smith"},
	},
	"user.created__spec-minified.json": {
		typ: "user.created", occurred: specTime,
		customer: sdk.Customer{ID: "1f81eb52-5198-4599-803e-771906343485", Email: "john.smith@example.com"},
		props:    map[string]any{"user_id": "1f81eb52-5198-4599-803e-771906343485", "email": "John.Smith@Example.com", "fullName": "John Smith"},
	},
	"invoice.paid__spec-squashed.json": {
		typ: "invoice.paid", occurred: specTime,
		customer: sdk.Customer{ID: "4242424242424242424"},
		props:    map[string]any{"invoice_id": "in_1f81eb52", "value": 19.99, "currency": "USD", "customer_id": 4242424242424242424.0},
	},
	"abandoned_cart.reminder_1__triggergate-webhook.json": {
		typ: "abandoned_cart.reminder_1", occurred: time.Date(2026, 11, 22, 11, 0, 5, 0, time.UTC),
		customer: sdk.Customer{ID: "c1", Email: "jane@example.com", Phone: "+14155550100", ExternalIDs: map[string]string{"shopify": "115310627314723954"}},
		props: map[string]any{
			"trigger": "abandoned_cart", "step": "reminder_1", "message_id": "msg_01JD8Z7A2B3C4D5E6F7G8H9J0K",
			"fire": map[string]any{"checkout_id": "35173049188462"},
		},
		traits: map[string]any{"first_name": "Jane", "accepts_marketing": true},
	},
}

// TestFixturesThroughTheGateway signs every testdata payload (HMAC),
// posts it through the real ingest handler into the event log and checks
// the answer and the committed event; a resend is a duplicate.
func TestFixturesThroughTheGateway(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, config(t), standard.Build)
	fxs := fixtures(t)
	var wantIDs []string
	for _, fx := range fxs {
		want, ok := fixtureWants[fx.name]
		if !ok {
			t.Errorf("fixture %s has no expectations in fixtureWants", fx.name)
			continue
		}
		id := "msg_" + strings.TrimSuffix(fx.name, ".json")
		now := time.Now()
		h := headers(id, now, signV1(testSecret, id, now, fx.body))
		r := g.Post(t, "", h, fx.body)
		if want.reason != "" {
			if r.Status != http.StatusBadRequest || !bytes.Contains(r.Body, []byte(want.reason)) {
				t.Errorf("%s: %d %s, want 400 saying %q", fx.name, r.Status, r.Body, want.reason)
			}
			continue
		}
		if r.Status != http.StatusAccepted {
			t.Errorf("%s: %d %s, want 202", fx.name, r.Status, r.Body)
			continue
		}
		if r = g.Post(t, "", h, fx.body); r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"duplicate":true`)) {
			t.Errorf("%s resent: %d %s, want a duplicate", fx.name, r.Status, r.Body)
		}
		wantIDs = append(wantIDs, id)
	}
	if len(fixtureWants) != len(fxs) {
		t.Errorf("fixtureWants has %d entries for %d fixtures", len(fixtureWants), len(fxs))
	}

	evs := g.Events(t)
	if len(evs) != len(wantIDs) {
		t.Fatalf("committed %d events, want %d", len(evs), len(wantIDs))
	}
	for _, ev := range evs {
		name := strings.TrimPrefix(ev.DeliveryID, "msg_") + ".json"
		want := fixtureWants[name]
		if ev.Type != want.typ || !ev.OccurredAt.Equal(want.occurred) || ev.SourceKind != "standard" {
			t.Errorf("%s: type %q occurred %s kind %q, want %q %s", name, ev.Type, ev.OccurredAt, ev.SourceKind, want.typ, want.occurred)
		}
		if !reflect.DeepEqual(ev.Customer, want.customer) {
			t.Errorf("%s: customer %+v, want %+v", name, ev.Customer, want.customer)
		}
		compareSubset(t, name+" properties", ev.Properties, want.props)
		if _, has := ev.Properties["customer"]; has {
			t.Errorf("%s: the customer object was left in properties", name)
		}
		if !reflect.DeepEqual(ev.Traits, want.traits) {
			t.Errorf("%s: traits %v, want %v", name, ev.Traits, want.traits)
		}
	}
}

// compareSubset checks that got has every key of want with an equal value.
func compareSubset(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s.%s = %#v, want %#v", what, k, g, w)
		}
	}
}

// b64Signature finds a base64 HMAC-SHA256 in an error message.
var b64Signature = regexp.MustCompile(`[A-Za-z0-9+/]{43}=`)

// TestDeliveryChecks covers refusals and acceptances through the gateway.
func TestDeliveryChecks(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, config(t), standard.Build)
	now := time.Now()
	key := signingKey(t)
	body := func(n string) []byte {
		return []byte(`{"type":"user.created","timestamp":"2026-11-22T10:00:00Z","data":{"customer":{"email":"u` + n + `@example.com"}}}`)
	}
	good := body("1")
	v1 := signV1(testSecret, "msg_ok", now, good)
	bogus := "v1," + strings.Repeat("A", 43) + "="
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		h.Set(k, v)
		return h
	}

	tests := []struct {
		name   string
		header http.Header
		body   []byte
		status int
		code   string
		msg    string
	}{
		{"tampered body", headers("msg_ok", now, v1), body("2"), 401, "bad_signature", "no signature in webhook-signature verifies"},
		{"other webhook-id", headers("msg_other", now, v1), good, 401, "bad_signature", "verifies"},
		{"wrong secret", headers("msg_ok", now, signV1("whsec_"+strings.Repeat("QUFB", 8), "msg_ok", now, good)), good, 401, "bad_signature", "verifies"},
		{"stale timestamp", headers("msg_ok", now.Add(-6*time.Minute), signV1(testSecret, "msg_ok", now.Add(-6*time.Minute), good)), good, 401, "bad_signature", "old"},
		{"future timestamp", headers("msg_ok", now.Add(6*time.Minute), signV1(testSecret, "msg_ok", now.Add(6*time.Minute), good)), good, 401, "bad_signature", "future"},
		{"missing webhook-id", with(headers("msg_ok", now, v1), "Webhook-Id", ""), good, 401, "bad_signature", "missing webhook-id"},
		{"missing signature", with(headers("msg_ok", now, v1), "Webhook-Signature", ""), good, 401, "bad_signature", "missing webhook-signature"},
		{"unknown versions only", headers("msg_ok", now, "v2,"+v1[3:]), good, 401, "bad_signature", "no v1"},
		{"millisecond timestamp", with(headers("msg_ok", now, v1), "Webhook-Timestamp", "1795255200000"), good, 401, "bad_signature", ""},
		{"too many signatures", headers("msg_ok", now, strings.Repeat(bogus+" ", 16)+v1), good, 401, "bad_signature", "at most 16"},
		{"wrong content type", with(headers("msg_ok", now, v1), "Content-Type", "text/plain"), good, 415, "unsupported_media_type", "text/plain"},
		{"malformed json", headers("msg_bad", now, signV1(testSecret, "msg_bad", now, []byte(`{"type":`))), []byte(`{"type":`), 400, "bad_payload", "not valid JSON"},
		{"invalid type", headers("msg_bad", now, signV1(testSecret, "msg_bad", now, []byte(`{"type":"a..b","data":{"email":"a@b.c"}}`))), []byte(`{"type":"a..b","data":{"email":"a@b.c"}}`), 400, "bad_payload", "full-stop delimited"},
		{"accepted: v1", headers("msg_ok", now, v1), good, 202, "", ""},
		{"duplicate", headers("msg_ok", now, v1), good, 200, "", ""},
		{"rotated: previous secret among bogus ones", headers("msg_old", now, bogus+" "+signV1(oldSecret, "msg_old", now, body("3"))), body("3"), 202, "", ""},
		{"asymmetric: v1a", headers("msg_ed", now, signV1a(key, "msg_ed", now, body("4"))), body("4"), 202, "", ""},
		{"both schemes, HMAC bogus", headers("msg_both", now, bogus+" "+signV1a(key, "msg_both", now, body("5"))), body("5"), 202, "", ""},
	}
	for _, tt := range tests {
		r := g.Post(t, "", tt.header, tt.body)
		if r.Status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, r.Status, tt.status, r.Body)
			continue
		}
		if tt.name == "duplicate" && !bytes.Contains(r.Body, []byte(`"duplicate":true`)) {
			t.Errorf("duplicate: %s", r.Body)
		}
		if tt.code == "" {
			continue
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.msg) {
			t.Errorf("%s: answer %s, want code %s and a message containing %q", tt.name, r.Body, tt.code, tt.msg)
		}
		if b64Signature.MatchString(e.Error.Message) {
			t.Errorf("%s: message %q echoes a signature", tt.name, e.Error.Message)
		}
	}
	got := map[string]string{}
	for _, ev := range g.Events(t) {
		got[ev.DeliveryID] = ev.Customer.Email
	}
	want := map[string]string{"msg_ok": "u1@example.com", "msg_old": "u3@example.com", "msg_ed": "u4@example.com", "msg_both": "u5@example.com"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("committed %v, want %v", got, want)
	}
}
