package jsonkind

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

const (
	canonicalConfig = `source "app" { kind = "json" }`

	signedConfig = `
source "app" {
  kind   = "json"
  secret = "s3cret"
}`

	rotatedConfig = `
source "app" {
  kind    = "json"
  secrets = ["new-secret", "old-secret"]
}`

	customHeaderConfig = `
source "app" {
  kind             = "json"
  secret           = "s3cret"
  signature_header = upper("x-hub-signature")
}`

	mappedConfig = `
source "app" {
  kind = "json"
  event {
    type         = "${body.object}.${lower(body.action)}"
    delivery_id  = headers["x-request-id"]
    occurred_at  = try(body.ts, null)
    customer_id  = try(body.user.id, null)
    email        = try(body.user.email, null)
    phone        = try(body.user.phone, null)
    external_ids = { crm = try(body.crm_id, null) }
    properties   = { value = try(body.total, 0), currency = upper(try(body.currency, "usd")) }
    traits       = try(body.user.traits, null)
  }
}`

	strictConfig = `
source "app" {
  kind = "json"
  event {
    type        = body.event
    customer_id = body.uid
  }
}`
)

func TestJSONParse(t *testing.T) {
	t.Parallel()
	adapters := make(map[string]source.Adapter, len(jsonParseConfigs))
	for name, src := range jsonParseConfigs {
		adapters[name] = buildHCL(t, src)
	}

	for _, tt := range jsonParseCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseEvents(adapters[tt.config], tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error = %q, want it to contain %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("events differ\n got: %s\nwant: %s", mustJSON(t, got), mustJSON(t, tt.want))
			}
			// What the ingest will store must encode.
			mustJSON(t, got)
		})
	}
}

// nest returns n empty arrays nested in each other.
func nest(n int) any {
	if n == 1 {
		return []any{}
	}
	return []any{nest(n - 1)}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding events: %v", err)
	}
	return string(b)
}

func TestJSONParseConcurrent(t *testing.T) {
	t.Parallel()
	a := buildHCL(t, mappedConfig)
	done := make(chan error)
	for i := range 8 {
		go func() {
			body := `{"object":"o","action":"a","user":{"id":"` + string(rune('a'+i)) + `"}}`
			evs, err := parseEvents(a, jsonRequest(body, "X-Request-Id", "r"))
			if err == nil && evs[0].Customer.ID != string(rune('a'+i)) {
				err = errors.New("events crossed between goroutines")
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// jsonParseCase is one case of TestJSONParse: a request to the adapter
// built from config (a key of jsonParseConfigs) and the events or error
// wanted.
type jsonParseCase struct {
	name    string
	config  string
	req     *source.Request
	want    []sdk.Event
	wantErr error
	errHas  string
}

// jsonParseConfigs are the configs jsonParseCases use, by name.
var jsonParseConfigs = map[string]string{
	"canonical": canonicalConfig,
	"signed":    signedConfig,
	"rotated":   rotatedConfig,
	"custom":    customHeaderConfig,
	"mapped":    mappedConfig,
	"strict":    strictConfig,
}

// jsonParseCases are TestJSONParse's cases; TestFastPathMatchesHCL and
// FuzzFastPathMatchesHCL reuse their bodies.
func jsonParseCases() []jsonParseCase {
	const signedBody = `{"type":"order.placed","customer":{"id":"c1"}}`
	signedEvent := sdk.Event{Type: "order.placed", Customer: sdk.Customer{ID: "c1"}}

	return []jsonParseCase{
		{
			name:   "canonical event",
			config: "canonical",
			req: jsonRequest(`{
				"id": "d-1", "type": "checkout.updated", "occurred_at": "2026-11-22T11:00:00+01:00",
				"customer": {"id": "c1", "email": "  Jane@Example.COM ", "phone": "+15551234567",
				             "external_ids": {"shopify": 115310627314723954}, "anonymous_id": "anon-1"},
				"properties": {"value": 199.0, "currency": "USD", "items": [{"sku": "A", "quantity": 2}], "gift": false, "note": null},
				"traits": {"first_name": "Jane"}
			}`),
			want: []sdk.Event{{
				Type:       "checkout.updated",
				DeliveryID: "d-1",
				OccurredAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
				Customer: sdk.Customer{
					ID: "c1", Email: "jane@example.com", Phone: "+15551234567",
					ExternalIDs: map[string]string{"shopify": "115310627314723954"}, AnonymousID: "anon-1",
				},
				Properties: map[string]any{
					"value": 199.0, "currency": "USD", "gift": false, "note": nil,
					"items": []any{map[string]any{"sku": "A", "quantity": 2.0}},
				},
				Traits: map[string]any{"first_name": "Jane"},
			}},
		},
		{
			name:   "minimal event: no id, no time, no properties",
			config: "canonical",
			req:    jsonRequest(`{"type":"page.viewed","customer":{"anonymous_id":"a-9"}}`),
			want:   []sdk.Event{{Type: "page.viewed", Customer: sdk.Customer{AnonymousID: "a-9"}}},
		},
		{
			name:   "big integer ids keep every digit",
			config: "canonical",
			req:    jsonRequest(`{"id":9007199254740993,"type":"order.paid","customer":{"id":115310627314723954}}`),
			want: []sdk.Event{{
				Type: "order.paid", DeliveryID: "9007199254740993",
				Customer: sdk.Customer{ID: "115310627314723954"},
			}},
		},
		{
			name:   "custom types pass through unchanged",
			config: "canonical",
			req:    jsonRequest(`{"type":"Acme:Loyalty.Points-Earned","customer":{"email":"a@b.c"}}`),
			want:   []sdk.Event{{Type: "Acme:Loyalty.Points-Earned", Customer: sdk.Customer{Email: "a@b.c"}}},
		},
		{
			name:   "email only identity is lower-cased and trimmed",
			config: "canonical",
			req:    jsonRequest(`{"type":"account.signed_up","customer":{"email":"\tMIXED@Case.Org\n"}}`),
			want:   []sdk.Event{{Type: "account.signed_up", Customer: sdk.Customer{Email: "mixed@case.org"}}},
		},
		{
			name:   "phone only identity",
			config: "canonical",
			req:    jsonRequest(`{"type":"sms.delivered","customer":{"phone":"+33612345678"}}`),
			want:   []sdk.Event{{Type: "sms.delivered", Customer: sdk.Customer{Phone: "+33612345678"}}},
		},
		{
			name:   "external id only identity",
			config: "canonical",
			req:    jsonRequest(`{"type":"deal.updated","customer":{"external_ids":{"hubspot":"42","empty":""}}}`),
			want: []sdk.Event{{Type: "deal.updated", Customer: sdk.Customer{
				ExternalIDs: map[string]string{"hubspot": "42"},
			}}},
		},
		{
			name:   "occurred_at as unix seconds",
			config: "canonical",
			req:    jsonRequest(`{"type":"x","occurred_at":1795255200,"customer":{"id":"c"}}`),
			want: []sdk.Event{{Type: "x", OccurredAt: time.Unix(1795255200, 0).UTC(),
				Customer: sdk.Customer{ID: "c"}}},
		},
		{
			name:   "occurred_at as fractional unix seconds",
			config: "canonical",
			req:    jsonRequest(`{"type":"x","occurred_at":1795255200.5,"customer":{"id":"c"}}`),
			want: []sdk.Event{{Type: "x", OccurredAt: time.Unix(1795255200, 5e8).UTC(),
				Customer: sdk.Customer{ID: "c"}}},
		},
		{
			name:   "occurred_at as unix milliseconds",
			config: "canonical",
			req:    jsonRequest(`{"type":"x","occurred_at":1795255200123,"customer":{"id":"c"}}`),
			want: []sdk.Event{{Type: "x", OccurredAt: time.UnixMilli(1795255200123).UTC(),
				Customer: sdk.Customer{ID: "c"}}},
		},
		{
			name:   "occurred_at with nanoseconds",
			config: "canonical",
			req:    jsonRequest(`{"type":"x","occurred_at":"2026-11-22T10:00:00.123456789Z","customer":{"id":"c"}}`),
			want: []sdk.Event{{Type: "x", OccurredAt: time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.UTC),
				Customer: sdk.Customer{ID: "c"}}},
		},
		{
			name:   "charset and +json content types",
			config: "canonical",
			req: jsonRequest(`{"type":"x","customer":{"id":"c"}}`,
				"Content-Type", "application/vnd.acme.event+json; charset=utf-8"),
			want: []sdk.Event{{Type: "x", Customer: sdk.Customer{ID: "c"}}},
		},
		{
			name:   "mapped payload with headers and functions",
			config: "mapped",
			req: jsonRequest(`{"object":"order","action":"PLACED","ts":1795255200,"crm_id":77,
				"total":42.5,"currency":"eur","user":{"id":"u1","email":"U1@X.IO","traits":{"vip":true}}}`,
				"X-Request-Id", "req-123"),
			want: []sdk.Event{{
				Type: "order.placed", DeliveryID: "req-123", OccurredAt: time.Unix(1795255200, 0).UTC(),
				Customer:   sdk.Customer{ID: "u1", Email: "u1@x.io", ExternalIDs: map[string]string{"crm": "77"}},
				Properties: map[string]any{"value": 42.5, "currency": "EUR"},
				Traits:     map[string]any{"vip": true},
			}},
		},
		{
			name:   "array body: unique ids stay, one event per item",
			config: "canonical",
			req: jsonRequest(`[{"id":"a","type":"x","customer":{"id":"1"}},
				{"id":"b","type":"y","customer":{"id":"2"}}]`),
			want: []sdk.Event{
				{Type: "x", DeliveryID: "a", Customer: sdk.Customer{ID: "1"}},
				{Type: "y", DeliveryID: "b", Customer: sdk.Customer{ID: "2"}},
			},
		},
		{
			name:   "array body: shared header id gets #index",
			config: "mapped",
			req: jsonRequest(`[{"object":"cart","action":"updated","user":{"id":"1"}},
				{"object":"cart","action":"updated","user":{"id":"2"}}]`, "X-Request-Id", "req-9"),
			want: []sdk.Event{
				{Type: "cart.updated", DeliveryID: "req-9#0", Customer: sdk.Customer{ID: "1"},
					Properties: map[string]any{"value": 0.0, "currency": "USD"}},
				{Type: "cart.updated", DeliveryID: "req-9#1", Customer: sdk.Customer{ID: "2"},
					Properties: map[string]any{"value": 0.0, "currency": "USD"}},
			},
		},

		// Content type.
		{name: "missing content type", config: "canonical",
			req:     jsonRequest(`{}`, "Content-Type", ""),
			wantErr: source.ErrUnsupportedType, errHas: "missing Content-Type"},
		{name: "form content type", config: "canonical",
			req:     jsonRequest(`{}`, "Content-Type", "application/x-www-form-urlencoded"),
			wantErr: source.ErrUnsupportedType, errHas: "application/x-www-form-urlencoded"},
		{name: "text/json is not accepted", config: "canonical",
			req:     jsonRequest(`{}`, "Content-Type", "text/json"),
			wantErr: source.ErrUnsupportedType},
		{name: "content type checked before signature", config: "signed",
			req:     jsonRequest(signedBody, "Content-Type", "text/plain"),
			wantErr: source.ErrUnsupportedType},

		// Signatures.
		{name: "signature good", config: "signed",
			req:  jsonRequest(signedBody, "X-Signature-256", sign("s3cret", []byte(signedBody))),
			want: []sdk.Event{signedEvent}},
		{name: "signature with sha256= prefix", config: "signed",
			req:  jsonRequest(signedBody, "X-Signature-256", "sha256="+sign("s3cret", []byte(signedBody))),
			want: []sdk.Event{signedEvent}},
		{name: "signature in upper-case hex", config: "signed",
			req:  jsonRequest(signedBody, "X-Signature-256", strings.ToUpper(sign("s3cret", []byte(signedBody)))),
			want: []sdk.Event{signedEvent}},
		{name: "signature missing names the header", config: "signed",
			req:     jsonRequest(signedBody),
			wantErr: source.ErrBadSignature, errHas: "missing X-Signature-256 header"},
		{name: "signature with wrong secret", config: "signed",
			req:     jsonRequest(signedBody, "X-Signature-256", sign("other", []byte(signedBody))),
			wantErr: source.ErrBadSignature, errHas: "does not match"},
		{name: "signature of another body", config: "signed",
			req:     jsonRequest(signedBody, "X-Signature-256", sign("s3cret", []byte(signedBody+" "))),
			wantErr: source.ErrBadSignature},
		{name: "signature not hex", config: "signed",
			req:     jsonRequest(signedBody, "X-Signature-256", "zz"+sign("s3cret", []byte(signedBody))[2:]),
			wantErr: source.ErrBadSignature, errHas: "not a hex HMAC-SHA256"},
		{name: "signature checked before payload", config: "signed",
			req:     jsonRequest(`not json`, "X-Signature-256", sign("other", []byte(`not json`))),
			wantErr: source.ErrBadSignature},
		{name: "rotation: current secret", config: "rotated",
			req:  jsonRequest(signedBody, "X-Signature-256", sign("new-secret", []byte(signedBody))),
			want: []sdk.Event{signedEvent}},
		{name: "rotation: previous secret", config: "rotated",
			req:  jsonRequest(signedBody, "X-Signature-256", sign("old-secret", []byte(signedBody))),
			want: []sdk.Event{signedEvent}},
		{name: "rotation: neither secret", config: "rotated",
			req:     jsonRequest(signedBody, "X-Signature-256", sign("s3cret", []byte(signedBody))),
			wantErr: source.ErrBadSignature},
		{name: "custom signature header", config: "custom",
			req:  jsonRequest(signedBody, "X-Hub-Signature", sign("s3cret", []byte(signedBody))),
			want: []sdk.Event{signedEvent}},
		{name: "custom signature header missing", config: "custom",
			req:     jsonRequest(signedBody, "X-Signature-256", sign("s3cret", []byte(signedBody))),
			wantErr: source.ErrBadSignature, errHas: "X-Hub-Signature"},

		// Bodies.
		{name: "empty body", config: "canonical", req: jsonRequest(``),
			wantErr: source.ErrBadPayload, errHas: "empty"},
		{name: "invalid json", config: "canonical", req: jsonRequest(`{"type":`),
			wantErr: source.ErrBadPayload, errHas: "not valid JSON"},
		{name: "trailing data", config: "canonical", req: jsonRequest(`{"type":"x","customer":{"id":"c"}} {}`),
			wantErr: source.ErrBadPayload, errHas: "after the JSON value"},
		{name: "invalid utf-8", config: "canonical", req: jsonRequest("{\"type\":\"x\xff\"}"),
			wantErr: source.ErrBadPayload, errHas: "UTF-8"},
		{name: "top-level string", config: "canonical", req: jsonRequest(`"hello"`),
			wantErr: source.ErrBadPayload, errHas: "body is a JSON string"},
		{name: "top-level null", config: "canonical", req: jsonRequest(`null`),
			wantErr: source.ErrBadPayload, errHas: "body is a JSON null"},
		{name: "too deep", config: "canonical",
			req:     jsonRequest(`{"type":"x","customer":{"id":"c"},"p":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`),
			wantErr: source.ErrBadPayload, errHas: "deeper than 64"},
		{name: "depth of exactly 64", config: "canonical",
			req: jsonRequest(`{"type":"x","customer":{"id":"c"},"properties":{"p":` + strings.Repeat("[", 62) + strings.Repeat("]", 62) + `}}`),
			want: []sdk.Event{{Type: "x", Customer: sdk.Customer{ID: "c"},
				Properties: map[string]any{"p": nest(62)}}}},
		{name: "brackets inside strings do not count as depth", config: "canonical",
			req:  jsonRequest(`{"type":"x","customer":{"id":"` + strings.Repeat(`[{\"`, 100) + `"}}`),
			want: []sdk.Event{{Type: "x", Customer: sdk.Customer{ID: strings.Repeat(`[{"`, 100)}}}},
		{name: "empty array", config: "canonical", req: jsonRequest(`[]`),
			wantErr: source.ErrBadPayload, errHas: "empty array"},
		{name: "array with a non-object", config: "canonical",
			req:     jsonRequest(`[{"type":"x","customer":{"id":"c"}}, 3]`),
			wantErr: source.ErrBadPayload, errHas: "item 1 is a JSON number"},
		{name: "array item without identity", config: "canonical",
			req:     jsonRequest(`[{"type":"x","customer":{"id":"c"}}, {"type":"x"}]`),
			wantErr: source.ErrBadPayload, errHas: "item 1: event has no customer identity"},

		// Types.
		{name: "type missing", config: "canonical", req: jsonRequest(`{"customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: `type: want a string such as "checkout.updated", got null (mapped by default body.type)`},
		{name: "type empty", config: "canonical", req: jsonRequest(`{"type":"","customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: "type: must not be empty"},
		{name: "type not a string", config: "canonical", req: jsonRequest(`{"type":7,"customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: "got number"},
		{name: "type with a space", config: "canonical", req: jsonRequest(`{"type":"order placed","customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: `"order placed" is not valid`},
		{name: "type with an empty word", config: "canonical", req: jsonRequest(`{"type":"order..placed","customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: "is not valid"},
		{name: "type too long", config: "canonical",
			req:     jsonRequest(`{"type":"` + strings.Repeat("a", 129) + `","customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: "longer than 128 characters"},
		{name: "type of exactly 128 characters", config: "canonical",
			req:  jsonRequest(`{"type":"` + strings.Repeat("a", 128) + `","customer":{"id":"c"}}`),
			want: []sdk.Event{{Type: strings.Repeat("a", 128), Customer: sdk.Customer{ID: "c"}}}},

		// Identity.
		{name: "no customer at all", config: "canonical", req: jsonRequest(`{"type":"x"}`),
			wantErr: source.ErrBadPayload, errHas: noIdentityMessage},
		{name: "blank identities do not count", config: "canonical",
			req:     jsonRequest(`{"type":"x","customer":{"id":" ","email":"","external_ids":{"crm":null}}}`),
			wantErr: source.ErrBadPayload, errHas: noIdentityMessage},
		{name: "customer id as a boolean", config: "canonical",
			req:     jsonRequest(`{"type":"x","customer":{"id":true}}`),
			wantErr: source.ErrBadPayload, errHas: "customer_id: want a string or number, got boolean (mapped by default body.customer.id)"},
		{name: "external ids not an object", config: "canonical",
			req:     jsonRequest(`{"type":"x","customer":{"id":"c","external_ids":["a"]}}`),
			wantErr: source.ErrBadPayload, errHas: "want an object of system name"},
		{name: "numeric id out of range", config: "canonical",
			req:     jsonRequest(`{"type":"x","customer":{"id":1e300}}`),
			wantErr: source.ErrBadPayload, errHas: "out of range for an id"},

		// Occurred at.
		{name: "occurred_at not RFC 3339", config: "canonical",
			req:     jsonRequest(`{"type":"x","occurred_at":"22/11/2026","customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: "not an RFC 3339 time"},
		{name: "occurred_at negative", config: "canonical",
			req:     jsonRequest(`{"type":"x","occurred_at":-1,"customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: "not a unix time"},
		{name: "occurred_at in microseconds", config: "canonical",
			req:     jsonRequest(`{"type":"x","occurred_at":1795255200123456,"customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: "not a unix time"},
		{name: "occurred_at a boolean", config: "canonical",
			req:     jsonRequest(`{"type":"x","occurred_at":true,"customer":{"id":"c"}}`),
			wantErr: source.ErrBadPayload, errHas: "want an RFC 3339 string"},

		// Properties and traits.
		{name: "properties not an object", config: "canonical",
			req:     jsonRequest(`{"type":"x","customer":{"id":"c"},"properties":[1,2]}`),
			wantErr: source.ErrBadPayload, errHas: "properties: want an object, got array (mapped by default body.properties)"},
		{name: "traits not an object", config: "canonical",
			req:     jsonRequest(`{"type":"x","customer":{"id":"c"},"traits":"vip"}`),
			wantErr: source.ErrBadPayload, errHas: "traits: want an object, got string (mapped by default body.traits)"},
		{name: "property number beyond float64", config: "canonical",
			req:     jsonRequest(`{"type":"x","customer":{"id":"c"},"properties":{"n":1e400}}`),
			wantErr: source.ErrBadPayload, errHas: "properties.n: number is out of range (mapped by default body.properties)"},

		// Evaluation errors.
		{name: "missing attribute without try names the config line", config: "strict",
			req:     jsonRequest(`{"uid":"c"}`),
			wantErr: source.ErrBadPayload, errHas: `type: Unsupported attribute: This object does not have an attribute named "event". (mapped by app.hcl:5)`},
		{name: "strict mapping succeeds when fields exist", config: "strict",
			req:  jsonRequest(`{"event":"x.y","uid":12}`),
			want: []sdk.Event{{Type: "x.y", Customer: sdk.Customer{ID: "12"}}}},
		{name: "missing header without try", config: "mapped",
			req:     jsonRequest(`{"object":"a","action":"b","user":{"id":"1"}}`),
			wantErr: source.ErrBadPayload, errHas: "delivery_id: Invalid index: The given key does not identify an element in this collection value. (mapped by app.hcl:6)"},
	}
}
