package standard_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/standard"
	"github.com/triggergate/triggergate/sdk"
)

// TestReferenceVectors checks the signatures published with the Standard
// Webhooks reference libraries (libraries/go/webhook_test.go and
// webhook_asymmetric_test.go). Their payload has no type, so a verified
// delivery fails later, as a bad payload: that it is not a bad signature
// proves the signature verified.
func TestReferenceVectors(t *testing.T) {
	t.Parallel()
	a := build(t, config(t))
	const (
		id   = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		body = `{"test": 2432232314}`
	)
	ts := time.Unix(1614265330, 0)
	for _, sig := range []string{
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		"v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==",
	} {
		req := &source.Request{Method: http.MethodPost, Header: headers(id, ts, sig), Body: []byte(body), Now: ts.Add(time.Second)}
		if _, err := a.Parse(req); !errors.Is(err, source.ErrBadPayload) || !strings.Contains(err.Error(), "has no type") {
			t.Errorf("%s: err = %v, want the signature to verify and the payload to lack a type", sig[:3], err)
		}
		req.Body = []byte(`{"test": 2432232315}`)
		if _, err := a.Parse(req); !errors.Is(err, source.ErrBadSignature) {
			t.Errorf("%s on a changed body: err = %v, want a bad signature", sig[:3], err)
		}
	}
}

// webhookPayload mirrors the body plugins/webhook sends (its Payload type,
// in package main, cannot be imported): built from the SDK's own types, so
// a change to their JSON shows up here.
type webhookPayload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		Trigger   string         `json:"trigger"`
		Step      string         `json:"step"`
		Customer  sdk.Profile    `json:"customer"`
		Event     sdk.Event      `json:"event"`
		Fire      map[string]any `json:"fire"`
		MessageID string         `json:"message_id"`
	} `json:"data"`
}

// TestTriggergateWebhookChannel receives what another triggergate's
// webhook channel sends: the type is "<trigger>.<step>", the customer is
// the profile (identity and traits), and the rest is properties.
func TestTriggergateWebhookChannel(t *testing.T) {
	t.Parallel()
	a := build(t, config(t))
	var p webhookPayload
	p.Type = "win_back.email_2"
	p.Timestamp = "2026-11-22T11:00:05Z"
	p.Data.Trigger, p.Data.Step, p.Data.MessageID = "win_back", "email_2", "msg_01JD"
	p.Data.Customer = sdk.Profile{
		Customer: sdk.Customer{ID: "c1", Email: "jane@example.com", Phone: "+14155550100",
			ExternalIDs: map[string]string{"stripe": "cus_1"}, AnonymousID: "anon-1"},
		Traits: map[string]any{"first_name": "Jane", "orders": 3},
		// The sender's own figures and consent are not this gateway's.
		Stats:   sdk.Stats{OrdersCount: 7, LifetimeValue: 300},
		Consent: map[string]bool{"email": true},
	}
	p.Data.Event = sdk.Event{ID: "01JD", Type: "subscription.cancelled", Source: "billing", SourceKind: "stripe",
		Customer: sdk.Customer{ExternalIDs: map[string]string{"stripe": "cus_1"}}, Properties: map[string]any{"plan": "pro"}}
	p.Data.Fire = map[string]any{}
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	ev := parseOne(t, a, string(body))
	if ev.Type != "win_back.email_2" || ev.DeliveryID != "msg_1" || !ev.OccurredAt.Equal(time.Date(2026, 11, 22, 11, 0, 5, 0, time.UTC)) {
		t.Errorf("type %q delivery %q occurred %s", ev.Type, ev.DeliveryID, ev.OccurredAt)
	}
	if !reflect.DeepEqual(ev.Customer, p.Data.Customer.Customer) {
		t.Errorf("customer %+v, want the sender's profile identity %+v", ev.Customer, p.Data.Customer.Customer)
	}
	if !reflect.DeepEqual(ev.Traits, map[string]any{"first_name": "Jane", "orders": 3.0}) {
		t.Errorf("traits %v", ev.Traits)
	}
	origin, _ := ev.Properties["event"].(map[string]any)
	if ev.Properties["trigger"] != "win_back" || ev.Properties["step"] != "email_2" || origin["type"] != "subscription.cancelled" {
		t.Errorf("properties %v", ev.Properties)
	}
}

// TestCustomerRule checks the documented identity rule field by field.
func TestCustomerRule(t *testing.T) {
	t.Parallel()
	a := build(t, config(t))
	named := build(t, `
source "peer" {
  kind               = "standard"
  secret             = "`+testSecret+`"
  external_id_system = "billing"
}`)
	tests := []struct {
		name    string
		adapter source.Adapter
		data    string
		want    sdk.Customer
		traits  map[string]any
	}{
		{"customer object", a, `{"customer":{"id":"u1","email":" A@B.co ","phone":"0044 20 7946 0958","anonymous_id":"an1","external_ids":{"crm":42,"empty":""}}}`,
			sdk.Customer{ID: "u1", Email: "a@b.co", Phone: "+442079460958", AnonymousID: "an1", ExternalIDs: map[string]string{"crm": "42"}}, nil},
		{"customer id as a string", a, `{"customer":"u2"}`, sdk.Customer{ID: "u2"}, nil},
		{"customer id as a number keeps every digit", a, `{"customer":115310627314723954}`, sdk.Customer{ID: "115310627314723954"}, nil},
		{"customer_id before user_id", a, `{"customer_id":"c","user_id":"u"}`, sdk.Customer{ID: "c"}, nil},
		{"user_id", a, `{"user_id":7}`, sdk.Customer{ID: "7"}, nil},
		{"top-level fields fill what the customer object lacks", a, `{"customer":{"id":"u3","first_name":"Al"},"email":"al@example.com","user_id":"ignored"}`,
			sdk.Customer{ID: "u3", Email: "al@example.com"}, map[string]any{"first_name": "Al"}},
		{"traits object merged over other members", a, `{"customer":{"email":"t@example.com","name":"T","traits":{"name":"Tee","vip":true}}}`,
			sdk.Customer{Email: "t@example.com"}, map[string]any{"name": "Tee", "vip": true}},
		{"invalid email is not an identity", a, `{"customer":{"email":"nobody","anonymous_id":"an2"}}`, sdk.Customer{AnonymousID: "an2"}, nil},
		{"external_id_system files the id", named, `{"customer_id":"c9","email":"x@y.zz"}`,
			sdk.Customer{Email: "x@y.zz", ExternalIDs: map[string]string{"billing": "c9"}}, nil},
	}
	for _, tt := range tests {
		ev := parseOne(t, tt.adapter, `{"type":"t.x","data":`+tt.data+`}`)
		if !reflect.DeepEqual(ev.Customer, tt.want) || !reflect.DeepEqual(ev.Traits, tt.traits) {
			t.Errorf("%s: customer %+v traits %v, want %+v %v", tt.name, ev.Customer, ev.Traits, tt.want, tt.traits)
		}
	}
}

// TestBadPayloads checks refusals that say what is wrong.
func TestBadPayloads(t *testing.T) {
	t.Parallel()
	a := build(t, config(t))
	tests := []struct{ name, body, msg string }{
		{"array", `[]`, "send an object"},
		{"no type", `{"data":{"email":"a@b.co"}}`, "has no type"},
		{"type not a string", `{"type":1,"data":{"email":"a@b.co"}}`, "type must be a string"},
		{"type with spaces", `{"type":"user created","data":{"email":"a@b.co"}}`, "full-stop delimited"},
		{"type too long", `{"type":"` + strings.Repeat("a", 129) + `","data":{"email":"a@b.co"}}`, "longer than 128"},
		{"bad timestamp", `{"type":"a","timestamp":"yesterday","data":{"email":"a@b.co"}}`, "RFC 3339"},
		{"data not an object", `{"type":"a","data":[1]}`, "data must be an object"},
		{"customer an array", `{"type":"a","data":{"customer":[]}}`, "data.customer must be an object"},
		{"email a number", `{"type":"a","data":{"customer":{"email":{}}}}`, "data.customer.email must be a string"},
		{"external ids a list", `{"type":"a","data":{"customer":{"external_ids":["x"]}}}`, "external_ids must be an object"},
		{"traits a string", `{"type":"a","data":{"customer":{"id":"1","traits":"vip"}}}`, "traits must be an object"},
		{"nobody", `{"type":"a","data":{"amount":1}}`, "names no customer"},
	}
	for _, tt := range tests {
		_, err := a.Parse(request("msg_1", []byte(tt.body)))
		if !errors.Is(err, source.ErrBadPayload) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want a bad payload saying %q", tt.name, err, tt.msg)
		}
	}
}

// TestKeysConfigured checks which schemes a source accepts.
func TestKeysConfigured(t *testing.T) {
	t.Parallel()
	hmacOnly := build(t, "source \"s\" {\n  kind = \"standard\"\n  secret = \""+testSecret+"\"\n}")
	edOnly := build(t, "source \"s\" {\n  kind = \"standard\"\n  public_keys = [\""+publicKey(t)+"\"]\n}")
	body := []byte(`{"type":"a","data":{"email":"a@b.co"}}`)
	v1 := signV1(testSecret, "msg_1", testNow, body)
	v1a := signV1a(signingKey(t), "msg_1", testNow, body)
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	tests := []struct {
		name string
		a    source.Adapter
		sig  string
		ok   bool
		msg  string
	}{
		{"hmac source, v1", hmacOnly, v1, true, ""},
		{"hmac source, v1a only", hmacOnly, v1a, false, "has no public_keys"},
		{"ed25519 source, v1a", edOnly, v1a, true, ""},
		{"ed25519 source, v1 only", edOnly, v1, false, "has no secret"},
		{"ed25519 source, v1a of another key", edOnly, signV1a(otherKey, "msg_1", testNow, body), false, "verifies"},
	}
	for _, tt := range tests {
		req := &source.Request{Method: http.MethodPost, Header: headers("msg_1", testNow, tt.sig), Body: body, Now: testNow}
		_, err := tt.a.Parse(req)
		if tt.ok != (err == nil) || (err != nil && (!errors.Is(err, source.ErrBadSignature) || !strings.Contains(err.Error(), tt.msg))) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

// TestBuild checks the configuration errors and warnings, with file:line.
func TestBuild(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
		errs             bool
	}{
		{"no keys", ``, "Missing secret or public key", true},
		{"secret not base64", `secret = "whsec_not base64!"`, "not base64", true},
		{"short secret", `secret = "whsec_c2hvcnQ="`, "5 bytes once decoded", false},
		{"secret without prefix", `secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`, "", false},
		{"public key wrong size", `public_keys = ["whpk_c2hvcnQ="]`, "source.hcl:3", true},
		{"public keys not a list", `public_keys = { a = 1 }`, "source.hcl:3", true},
		{"public keys empty", `public_keys = []`, "is empty", true},
		{"unknown attribute", `tolerance = 5`, "source.hcl:3", true},
		{"bad external_id_system", "secret = \"" + testSecret + "\"\n  external_id_system = \"\"", "source.hcl:4", true},
	}
	for _, tt := range tests {
		spec, _ := sourcetest.Spec(t, "source \"s\" {\n  kind = \"standard\"\n  "+tt.body+"\n}")
		a, diags := standard.Build(spec)
		if diags.HasErrors() != tt.errs || (a == nil) != tt.errs || !strings.Contains(diags.Error(), tt.want) {
			t.Errorf("%s: adapter %v, diagnostics %q; want errors=%v containing %q", tt.name, a, diags.Error(), tt.errs, tt.want)
		}
	}
}

// TestConcurrentParse runs one adapter from many goroutines (run with
// -race).
func TestConcurrentParse(t *testing.T) {
	t.Parallel()
	a := build(t, config(t))
	body := []byte(`{"type":"a","data":{"customer":{"id":"1","traits":{"x":1}},"n":[1,2]}}`)
	done := make(chan error, 16)
	for range 16 {
		go func() {
			_, err := a.Parse(request("msg_1", body))
			done <- err
		}()
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
