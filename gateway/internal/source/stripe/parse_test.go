package stripe_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/stripe"
)

// event wraps a data.object (and previous attributes) in a Stripe event.
func event(typ, obj, prev string) string {
	data := `"object":` + obj
	if prev != "" {
		data += `,"previous_attributes":` + prev
	}
	return `{"id":"evt_1","object":"event","type":"` + typ + `","created":1795255200,"livemode":true,"data":{` + data + `}}`
}

// TestMapping checks the mapping decisions the README documents, on
// synthetic events shaped like Stripe's.
func TestMapping(t *testing.T) {
	t.Parallel()
	a := build(t, config)
	tests := []struct {
		name  string
		body  string
		typ   string
		email string
		props map[string]any
	}{
		{
			name: "scheduled cancellation is expiring",
			body: event("customer.subscription.updated",
				`{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active","cancel_at_period_end":true,"cancel_at":1797933600,"cancellation_details":{"reason":"cancellation_requested"}}`,
				`{"cancel_at_period_end":false,"cancel_at":null}`),
			typ:   "subscription.expiring",
			props: map[string]any{"cancel_at": unix(1797933600), "reason": "cancellation_requested", "changed": []any{"cancel_at", "cancel_at_period_end"}},
		},
		{
			name: "cancel_at set is expiring",
			body: event("customer.subscription.updated",
				`{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active","cancel_at":1797933600}`,
				`{"cancel_at":null}`),
			typ: "subscription.expiring",
		},
		{
			name: "status changed to canceled is cancelled",
			body: event("customer.subscription.updated",
				`{"id":"sub_1","object":"subscription","customer":"cus_1","status":"canceled"}`, `{"status":"active"}`),
			typ:   "subscription.cancelled",
			props: map[string]any{"status": "canceled"},
		},
		{
			name: "other update stays an update",
			body: event("customer.subscription.updated",
				`{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active","cancel_at_period_end":true}`, `{"metadata":{}}`),
			typ: "subscription.updated",
		},
		{
			name: "deleted subscription is cancelled",
			body: event("customer.subscription.deleted", `{"id":"sub_1","object":"subscription","customer":"cus_1","status":"canceled"}`, ""),
			typ:  "subscription.cancelled",
		},
		{
			name: "first subscription invoice is a paid order",
			body: event("invoice.paid", `{"id":"in_1","object":"invoice","customer":"cus_1","customer_email":"a@b.co","billing_reason":"subscription_create","status":"paid","amount_paid":1999,"amount_due":1999,"currency":"usd"}`, ""),
			typ:  "order.paid", email: "a@b.co",
			props: map[string]any{"value": 19.99, "currency": "USD", "order_id": "in_1"},
		},
		{
			name: "refund in a zero-decimal currency is not divided",
			body: event("charge.refunded", `{"id":"ch_1","object":"charge","customer":null,"amount":5000,"amount_refunded":2000,"refunded":false,"currency":"jpy","payment_intent":"pi_1","billing_details":{"email":"Yuki@Example.JP"},"refunds":{"data":[{"reason":"requested_by_customer"}]}}`, ""),
			typ:  "order.refunded", email: "yuki@example.jp",
			props: map[string]any{"value": 2000.0, "charge_amount": 5000.0, "currency": "JPY", "fully_refunded": false, "payment_id": "pi_1", "reason": "requested_by_customer"},
		},
		{
			name: "failed payment intent in a three-decimal currency",
			body: event("payment_intent.payment_failed", `{"id":"pi_1","object":"payment_intent","amount":12340,"currency":"kwd","receipt_email":null,"last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","payment_method":{"billing_details":{"email":"k@example.com"}}}}`, ""),
			typ:  "payment.failed", email: "k@example.com",
			props: map[string]any{"value": 12.34, "currency": "KWD", "payment_id": "pi_1", "reason": "Your card has insufficient funds.", "error_code": "insufficient_funds"},
		},
		{
			name:  "ISK is two-decimal in Stripe's API",
			body:  event("charge.succeeded", `{"id":"ch_1","object":"charge","customer":"cus_1","amount":50000,"currency":"isk"}`, ""),
			typ:   "stripe.charge.succeeded",
			props: map[string]any{"value": 500.0, "currency": "ISK"},
		},
		{
			name:  "MGA is zero-decimal in Stripe's API",
			body:  event("charge.succeeded", `{"id":"ch_1","object":"charge","customer":"cus_1","amount":5000,"currency":"mga"}`, ""),
			typ:   "stripe.charge.succeeded",
			props: map[string]any{"value": 5000.0, "currency": "MGA"},
		},
		{
			name: "expired checkout carries the recovery link",
			body: event("checkout.session.expired", `{"id":"cs_1","object":"checkout.session","customer":null,"customer_details":{"email":"x@y.zz"},"status":"expired","amount_total":1000,"currency":"eur","after_expiration":{"recovery":{"enabled":true,"url":"https://buy.stripe.com/r/live_abc"}}}`, ""),
			typ:  "checkout.updated", email: "x@y.zz",
			props: map[string]any{"checkout_id": "cs_1", "status": "expired", "value": 10.0, "recovery_url": "https://buy.stripe.com/r/live_abc", "livemode": true},
		},
		{
			name:  "unknown event about a customer keeps the object",
			body:  event("customer.source.created", `{"id":"card_1","object":"card","customer":"cus_1","status":null}`, ""),
			typ:   "stripe.customer.source.created",
			props: map[string]any{"object": "card", "object_id": "card_1"},
		},
		{
			name: "customer attributes are traits",
			body: event("customer.updated", `{"id":"cus_1","object":"customer","email":"Jane@Example.com","name":"Jane van Dyke","phone":"+1 (415) 555-0100","address":{"city":"Oakland","country":"US"},"created":1795255200}`, `{"name":"Jane"}`),
			typ:  "customer.updated", email: "jane@example.com",
			props: map[string]any{"changed": []any{"name"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := parseOne(t, a, tt.body)
			if ev.Type != tt.typ || ev.Customer.Email != tt.email {
				t.Errorf("type %q email %q, want %q %q", ev.Type, ev.Customer.Email, tt.typ, tt.email)
			}
			if ev.DeliveryID != "evt_1" || !ev.OccurredAt.Equal(time.Unix(1795255200, 0)) {
				t.Errorf("delivery id %q occurred %s", ev.DeliveryID, ev.OccurredAt)
			}
			compareSubset(t, "properties", ev.Properties, tt.props)
		})
	}

	ev := parseOne(t, a, tests[len(tests)-1].body)
	wantTraits := map[string]any{"name": "Jane van Dyke", "first_name": "Jane", "last_name": "van Dyke",
		"phone": "+14155550100", "city": "Oakland", "country": "US", "created_at": unix(1795255200)}
	if !reflect.DeepEqual(ev.Traits, wantTraits) || ev.Customer.ExternalIDs["stripe"] != "cus_1" {
		t.Errorf("traits %v, external ids %v", ev.Traits, ev.Customer.ExternalIDs)
	}
}

// TestPersonless checks the rule for events about nobody: acknowledged,
// with no event, rather than refused (Stripe would retry for days).
func TestPersonless(t *testing.T) {
	t.Parallel()
	a := build(t, config)
	for _, body := range []string{
		event("product.created", `{"id":"prod_1","object":"product","name":"Hat"}`, ""),
		event("checkout.session.expired", `{"id":"cs_1","object":"checkout.session","customer":null,"customer_details":null,"customer_email":null}`, ""),
	} {
		d, err := a.Parse(request([]byte(body)))
		if err != nil || len(d.Events) != 0 {
			t.Errorf("Parse(%s) = %+v, %v; want no events and no error", body, d, err)
		}
	}
}

// TestUserIDMetadata checks that the configured metadata key becomes the
// customer id.
func TestUserIDMetadata(t *testing.T) {
	t.Parallel()
	a := build(t, `
source "billing" {
  kind             = "stripe"
  secret           = "`+testSecret+`"
  user_id_metadata = "app_user"
}`)
	ev := parseOne(t, a, event("customer.subscription.created",
		`{"id":"sub_1","object":"subscription","customer":"cus_1","metadata":{"app_user":"u-42"}}`, ""))
	if ev.Customer.ID != "u-42" || ev.Customer.ExternalIDs["stripe"] != "cus_1" || ev.Type != "subscription.created" {
		t.Fatalf("event = %+v", ev)
	}
}

// TestBadPayloads checks that bodies Stripe would never send are refused
// as bad payloads that say what is wrong.
func TestBadPayloads(t *testing.T) {
	t.Parallel()
	a := build(t, config)
	tests := []struct{ name, body, msg string }{
		{"array", `[]`, "Stripe sends an event object"},
		{"no id", `{"type":"x","data":{"object":{}}}`, "no id"},
		{"no type", `{"id":"evt_1","data":{"object":{}}}`, "no type"},
		{"id not a string", `{"id":1,"type":"x"}`, "event.id must be a string"},
		{"thin event", `{"id":"evt_1","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":"2026-11-22T10:00:00Z","related_object":{"id":"mtr_1"}}`, "thin event"},
		{"amount not an integer", event("checkout.session.completed", `{"id":"cs_1","object":"checkout.session","customer":"cus_1","amount_total":"10.00"}`, ""), "data.object.amount_total must be an integer"},
		{"customer not an id", event("invoice.paid", `{"id":"in_1","object":"invoice","customer":7}`, ""), "data.object.customer must be a string"},
		{"created not a time", `{"id":"evt_1","type":"x","created":"yesterday","data":{"object":{"customer":"cus_1"}}}`, "event.created"},
		{"trailing data", `{"id":"evt_1"} {}`, "after the JSON value"},
	}
	for _, tt := range tests {
		_, err := a.Parse(request([]byte(tt.body)))
		if !errors.Is(err, source.ErrBadPayload) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want a bad payload saying %q", tt.name, err, tt.msg)
		}
	}
}

// TestSignatureHeaderForms checks the header forms a forger might try.
func TestSignatureHeaderForms(t *testing.T) {
	t.Parallel()
	a := build(t, config)
	body := []byte(event("customer.created", `{"id":"cus_1","object":"customer"}`, ""))
	good := sign(testSecret, testNow, body)
	tests := []struct {
		name, header string
		ok           bool
	}{
		{"as signed", good, true},
		{"spaces after commas", strings.ReplaceAll(good, ",", ", "), true},
		{"upper-case hex", strings.Replace(good, good[strings.Index(good, "v1=")+3:], strings.ToUpper(good[strings.Index(good, "v1=")+3:]), 1), true},
		{"two timestamps", good + ",t=1", false},
		{"signature as v0", strings.Replace(good, "v1=", "v0=", 1), false},
		{"truncated signature", good[:len(good)-2], false},
		{"millisecond timestamp", strings.Replace(good, "t=", "t=1", 1), false},
	}
	for _, tt := range tests {
		req := request(body)
		req.Header.Set("Stripe-Signature", tt.header)
		_, err := a.Parse(req)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, source.ErrBadSignature)) {
			t.Errorf("%s (%s): err = %v, want ok=%v", tt.name, tt.header, err, tt.ok)
		}
	}
}

// TestReplayWindow checks that replay_window is honoured at its edges.
func TestReplayWindow(t *testing.T) {
	t.Parallel()
	a := build(t, `
source "billing" {
  kind          = "stripe"
  secret        = "`+testSecret+`"
  replay_window = "1m"
}`)
	body := []byte(event("customer.created", `{"id":"cus_1","object":"customer"}`, ""))
	for _, tt := range []struct {
		age time.Duration
		ok  bool
	}{{59 * time.Second, true}, {-59 * time.Second, true}, {61 * time.Second, false}, {-61 * time.Second, false}} {
		req := request(body)
		req.Header = headers(testSecret, testNow.Add(-tt.age), body)
		if _, err := a.Parse(req); tt.ok != (err == nil) {
			t.Errorf("signed %s ago: err = %v", tt.age, err)
		}
	}
}

// TestBuild checks the configuration errors and warnings, with file:line.
func TestBuild(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		// want is part of the diagnostics; errs says whether they are errors.
		want string
		errs bool
	}{
		{"no secret", "source \"s\" {\n  kind = \"stripe\"\n}", "Missing secret", true},
		{"api key", "source \"s\" {\n  kind = \"stripe\"\n  secret = \"sk_live_abc\"\n}", "API key", true},
		{"unknown attribute", "source \"s\" {\n  kind = \"stripe\"\n  secret = \"whsec_x\"\n  tolerance = 5\n}", "source.hcl:4", true},
		{"bad user_id_metadata", "source \"s\" {\n  kind = \"stripe\"\n  secret = \"whsec_x\"\n  user_id_metadata = \"\"\n}", "source.hcl:4", true},
		{"not whsec_", "source \"s\" {\n  kind = \"stripe\"\n  secret = \"hunter2\"\n}", "does not start with whsec_", false},
	}
	for _, tt := range tests {
		spec, _ := sourcetest.Spec(t, tt.src)
		a, diags := stripe.Build(spec)
		if diags.HasErrors() != tt.errs || (a == nil) != tt.errs || !strings.Contains(diags.Error(), tt.want) {
			t.Errorf("%s: adapter %v, diagnostics %q; want errors=%v containing %q", tt.name, a, diags.Error(), tt.errs, tt.want)
		}
	}
}

// TestConcurrentParse runs one adapter from many goroutines (run with
// -race).
func TestConcurrentParse(t *testing.T) {
	t.Parallel()
	a := build(t, config)
	fixtures := sourcetest.Fixtures(t, "stripe")
	done := make(chan error, len(fixtures))
	for _, fx := range fixtures {
		go func() {
			_, err := a.Parse(&source.Request{Method: http.MethodPost, Header: headers(testSecret, testNow, fx.Body), Body: fx.Body, Now: testNow})
			done <- err
		}()
	}
	for range fixtures {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
