package stripe_test

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
	"github.com/triggergate/triggergate/gateway/internal/source/stripe"
	"github.com/triggergate/triggergate/sdk"
)

// fixtureWant is what one vendor fixture must become, written out from
// reading the fixture.
type fixtureWant struct {
	typ        string
	deliveryID string
	occurred   int64
	email      string
	stripeID   string
	// props and traits are compared key by key, after the event log's
	// JSON round trip (numbers are float64).
	props  map[string]any
	traits map[string]any
}

// fixtureWants covers every file in fixtures/webhooks/stripe; the test
// fails if a fixture is missing from this table or vice versa.
var fixtureWants = map[string]fixtureWant{
	"checkout.session.completed__stripe-ruby-mock.json": {
		typ: "order.placed", deliveryID: "evt_000000000000000000000000", occurred: 1648319959,
		email: "stripe@example.com", stripeID: "cus_00000000000000",
		props: map[string]any{
			"order_id":         "cs_test_0000000000000000000000000000000000000000000000000000000000",
			"checkout_id":      "cs_test_0000000000000000000000000000000000000000000000000000000000",
			"value":            30.0,
			"subtotal":         30.0,
			"tax":              0.0,
			"shipping":         0.0,
			"discount":         0.0,
			"currency":         "USD",
			"financial_status": "paid",
			"status":           "complete",
			"mode":             "payment",
			"payment_id":       "pi_000000000000000000000000",
			"livemode":         false,
		},
	},
	"checkout.session.completed__supabase-stripe-sync-engine.json": {
		typ: "order.placed", deliveryID: "evt_T8nSaZqtPudigUMqnnbY4D4v", occurred: 1619697430,
		email: "billz@supabase.io", stripeID: "cus_IhGfebO16cMIGN",
		props: map[string]any{
			"order_id":         "cs_live_9RBjcHiy2i5p99Tf1MYM90c3SHK1grU0E6Ae6pKWR2KPA4ZiuKiB2X1Y3X",
			"value":            9.99,
			"subtotal":         9.99,
			"tax":              0.65,
			"currency":         "EUR",
			"financial_status": "paid",
			"payment_id":       "pi_1IqxJOJDPojXS6LN9uOebAea",
			"invoice_id":       "in_1KJqKBJDPojXS6LNJbvLUgEy",
			"livemode":         true,
		},
		traits: map[string]any{"name": "Copple", "first_name": "Copple"},
	},
	"customer.created__segment-functions-library.json": {
		typ: "customer.created", deliveryID: "evt_00000000000000", occurred: 1326853478,
		stripeID: "cus_00000000000000",
		props:    map[string]any{"livemode": false},
		traits:   map[string]any{"created_at": unix(1561487054)},
	},
	"customer.created__stripe-ruby-mock.json": {
		typ: "customer.created", deliveryID: "evt_000000000000000000000000", occurred: 1648320107,
		stripeID: "cus_00000000000000",
		traits:   map[string]any{"created_at": unix(1648320107)},
	},
	"customer.subscription.trial_will_end__segment-functions-library.json": {
		typ: "subscription.trial_ending", deliveryID: "evt_00000000000000", occurred: 1326853478,
		stripeID: "cus_00000000000000",
		props: map[string]any{
			"subscription_id":    "sub_00000000000000",
			"status":             "trialing",
			"plan":               "Team",
			"interval":           "month",
			"value":              0.01,
			"currency":           "USD",
			"trial_end":          unix(1561745950),
			"current_period_end": unix(1466874758),
		},
	},
	"customer.subscription.trial_will_end__stripe-ruby-mock.json": {
		typ: "subscription.trial_ending", deliveryID: "evt_00000000000000", occurred: 1326853478,
		stripeID: "cus_00000000000000",
		props: map[string]any{
			"subscription_id":      "su_00000000000000",
			"status":               "trialing",
			"plan":                 "fkx0AFo_00000000000000",
			"interval":             "month",
			"value":                1.0, // the EUR item is not added to a USD total
			"currency":             "USD",
			"trial_end":            unix(1381280730),
			"current_period_end":   unix(1383759023),
			"cancel_at_period_end": false,
		},
	},
	"customer.subscription.updated__stripe-ruby-mock.json": {
		typ: "subscription.updated", deliveryID: "evt_000000000000000000000000", occurred: 1648320106,
		stripeID: "cus_00000000000000",
		props: map[string]any{
			"subscription_id":    "sub_000000000000000000000000",
			"status":             "active",
			"plan":               "price_000000000000000000000000",
			"value":              15.0,
			"currency":           "USD",
			"current_period_end": unix(1650998505),
			"changed":            []any{"schedule"},
		},
	},
	"customer.subscription.updated__supabase-stripe-sync-engine.json": {
		typ: "subscription.updated", deliveryID: "evt_1IlavxJDPojXS6LNGNOrPWFQ", occurred: 1619706820,
		stripeID: "cus_IhGfebO16cMIGN",
		props: map[string]any{
			"subscription_id": "sub_JLEPMp81LApOJl",
			"value":           0.0,
			"currency":        "USD",
			"changed":         []any{"metadata"},
			"metadata": map[string]any{
				"project_id": "205", "project_ref": "bfsfqqxvuglpyllejiwe", "project_name": "copple-local",
				"organization_id": "35", "organization_slug": "visible-emerald-fly", "test": "1",
			},
		},
	},
	"invoice.paid__stripe-ruby-mock.json": {
		typ: "order.paid", deliveryID: "evt_000000000000000000000000", occurred: 1648320015,
		stripeID: "cus_00000000000000",
		props: map[string]any{
			"order_id":       "in_000000000000000000000000",
			"invoice_id":     "in_000000000000000000000000",
			"order_number":   "EE1DF78D-0001",
			"value":          20.0,
			"subtotal":       20.0,
			"currency":       "USD",
			"billing_reason": "manual",
			"payment_id":     "pi_000000000000000000000000",
			"items": []any{map[string]any{
				"product_id": "prod_00000000000000", "variant_id": "price_000000000000000000000000",
				"name": "(created by Stripe CLI)", "price": 20.0, "quantity": 1.0,
			}},
		},
	},
	"invoice.paid__supabase-stripe-sync-engine.json": {
		typ: "subscription.renewed", deliveryID: "evt_1KJrGtJDPojXS6LN15fcthM3", occurred: 1642649111,
		stripeID: "cus_JsuO3bmrj0QlAw",
		props: map[string]any{
			"invoice_id":         "in_1KJqKBJDPojXS6LNJbvLUgEy",
			"subscription_id":    "sub_JsuPyCPhXWfZar",
			"value":              0.0,
			"currency":           "USD",
			"billing_reason":     "subscription_cycle",
			"plan":               "price_1IDQm5JDPojXS6LNM31hxKzp",
			"interval":           "month",
			"current_period_end": unix(1645323680),
		},
	},
	"invoice.payment_failed__stripe-ruby-mock.json": {
		typ: "payment.failed", deliveryID: "evt_000000000000000000000000", occurred: 1648320009,
		stripeID: "cus_00000000000000",
		props: map[string]any{
			"invoice_id":    "in_000000000000000000000000",
			"value":         20.0,
			"currency":      "USD",
			"status":        "open",
			"attempt_count": 1.0,
			"invoice_url":   "https://invoice.stripe.com/i/acct_0000000000000000/test_00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
		},
	},
}

// TestFixturesThroughTheGateway signs every Stripe fixture, posts it
// through the real ingest handler into the event log, and checks the
// committed event; a resend is a duplicate and commits nothing. Each
// fixture gets its own gateway: several fixtures share an event id.
func TestFixturesThroughTheGateway(t *testing.T) {
	t.Parallel()
	fixtures := sourcetest.Fixtures(t, "stripe")
	seen := map[string]bool{}
	for _, fx := range fixtures {
		seen[fx.Name] = true
		want, ok := fixtureWants[fx.Name]
		if !ok {
			t.Errorf("fixture %s has no expectations in fixtureWants", fx.Name)
			continue
		}
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			g := sourcetest.NewGateway(t, config, stripe.Build)
			h := headers(testSecret, time.Now(), fx.Body)
			r := g.Post(t, "", h, fx.Body)
			if r.Status != http.StatusAccepted {
				t.Fatalf("POST: %d %s", r.Status, r.Body)
			}
			r = g.Post(t, "", h, fx.Body)
			if r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"duplicate":true`)) {
				t.Fatalf("resend: %d %s", r.Status, r.Body)
			}
			evs := g.Events(t)
			if len(evs) != 1 {
				t.Fatalf("committed %d events, want 1", len(evs))
			}
			checkEvent(t, evs[0], want)
		})
	}
	for name := range fixtureWants {
		if !seen[name] {
			t.Errorf("fixtureWants lists %s, which is not a fixture", name)
		}
	}
}

func checkEvent(t *testing.T, ev sdk.Event, want fixtureWant) {
	t.Helper()
	if ev.Type != want.typ {
		t.Errorf("type = %q, want %q", ev.Type, want.typ)
	}
	if ev.DeliveryID != want.deliveryID {
		t.Errorf("delivery id = %q, want %q", ev.DeliveryID, want.deliveryID)
	}
	if ev.SourceKind != "stripe" || ev.Source != "billing" {
		t.Errorf("source = %q/%q", ev.Source, ev.SourceKind)
	}
	if !ev.OccurredAt.Equal(time.Unix(want.occurred, 0)) {
		t.Errorf("occurred_at = %s, want %s", ev.OccurredAt, time.Unix(want.occurred, 0).UTC())
	}
	if ev.Customer.Email != want.email {
		t.Errorf("email = %q, want %q", ev.Customer.Email, want.email)
	}
	if got := ev.Customer.ExternalIDs["stripe"]; got != want.stripeID {
		t.Errorf("external id = %q, want %q", got, want.stripeID)
	}
	if ev.Customer.ID != "" {
		t.Errorf("customer id = %q, want none without user_id_metadata", ev.Customer.ID)
	}
	compareSubset(t, "properties", ev.Properties, want.props)
	compareSubset(t, "traits", ev.Traits, want.traits)
}

// compareSubset checks that got has every key of want with an equal value.
func compareSubset(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s.%s missing, want %v (have %v)", what, k, w, got)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s.%s = %#v, want %#v", what, k, g, w)
		}
	}
}

// hexSignature finds a hex HMAC-SHA256 in an error message.
var hexSignature = regexp.MustCompile(`[0-9a-f]{64}`)

// TestDeliveryChecks covers refusals and acceptances through the gateway:
// every refusal has the status and code the ingest contract names, and
// only accepted deliveries commit events.
func TestDeliveryChecks(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, rotatingConfig, stripe.Build)
	now := time.Now()
	body := func(id string) []byte {
		return []byte(`{"id":"` + id + `","object":"event","type":"customer.created","created":1648320107,` +
			`"data":{"object":{"id":"cus_A1","object":"customer","email":"Jane@Example.com"}}}`)
	}
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		h.Set(k, v)
		return h
	}
	good := body("evt_ok")
	tampered := bytes.Replace(good, []byte("Jane@"), []byte("Mallory@"), 1)
	sigWith := func(secrets ...string) string {
		var parts []string
		for _, s := range secrets {
			parts = append(parts, sign(s, now, good))
		}
		// Stripe's form while a secret is rolled: one t, several v1.
		out := parts[0]
		for _, p := range parts[1:] {
			out += "," + p[strings.Index(p, "v1="):]
		}
		return out + ",v0=" + strings.Repeat("0", 64)
	}

	tests := []struct {
		name   string
		header http.Header
		body   []byte
		status int
		// code is the error code, or "" for a success.
		code string
		// msg is a part of the error message that tells the sender what
		// is wrong.
		msg string
	}{
		{"tampered body", headers(testSecret, now, good), tampered, 401, "bad_signature", "no v1 signature"},
		{"wrong secret", headers("whsec_wrong", now, good), good, 401, "bad_signature", "signing secret"},
		{"stale timestamp", headers(testSecret, now.Add(-10*time.Minute), good), good, 401, "bad_signature", "old"},
		{"future timestamp", headers(testSecret, now.Add(10*time.Minute), good), good, 401, "bad_signature", "future"},
		{"missing signature", with(headers(testSecret, now, good), "Stripe-Signature", ""), good, 401, "bad_signature", "missing Stripe-Signature"},
		{"v0 only", with(headers(testSecret, now, good), "Stripe-Signature", "t=1,v0="+strings.Repeat("a", 64)), good, 401, "bad_signature", "no v1="},
		{"garbage signature", with(headers(testSecret, now, good), "Stripe-Signature", "nonsense"), good, 401, "bad_signature", "no t="},
		{"wrong content type", with(headers(testSecret, now, good), "Content-Type", "text/plain"), good, 415, "unsupported_media_type", "text/plain"},
		{"malformed json", headers(testSecret, now, []byte(`{"id":`)), []byte(`{"id":`), 400, "bad_payload", "not valid JSON"},
		{"no data.object", headers(testSecret, now, []byte(`{"id":"evt_x","type":"customer.created"}`)),
			[]byte(`{"id":"evt_x","type":"customer.created"}`), 400, "bad_payload", "no data.object"},
		{"rotated: signed with the previous secret", headers(oldSecret, now, body("evt_old")), body("evt_old"), 202, "", ""},
		{"rolling: two v1 of which one matches", with(headers(testSecret, now, good), "Stripe-Signature", sigWith("whsec_unknown", testSecret)), good, 202, "", ""},
	}
	for _, tt := range tests {
		r := g.Post(t, "", tt.header, tt.body)
		if r.Status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, r.Status, tt.status, r.Body)
			continue
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
		if hexSignature.MatchString(e.Error.Message) {
			t.Errorf("%s: message %q echoes a signature", tt.name, e.Error.Message)
		}
	}
	evs := g.Events(t)
	ids := map[string]bool{}
	for _, ev := range evs {
		ids[ev.DeliveryID] = true
	}
	if len(evs) != 2 || !ids["evt_ok"] || !ids["evt_old"] {
		t.Fatalf("committed %+v, want evt_ok and evt_old only", evs)
	}
}
