package shopify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/shopify"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// fuzzTopics are the topics a fuzz input picks from by index, so every
// mapping is reached.
var fuzzTopics = []string{
	"orders/create", "orders/paid", "orders/fulfilled", "orders/partially_fulfilled", "orders/cancelled",
	"orders/updated", "refunds/create", "checkouts/create", "checkouts/update", "carts/create", "carts/update",
	"customers/create", "customers/update", "customers/delete", "customers_email_marketing_consent/update",
	"customers_marketing_consent/update", "fulfillments/create", "fulfillments/update", "app/uninstalled", "",
}

// FuzzShopifyParse feeds arbitrary bodies and topics to Parse, signed
// correctly (so the mapping runs) or with a fuzzed signature. Parse must
// not panic, must fail only with a source sentinel, and every event it
// accepts must have a type and an identity and encode as JSON.
func FuzzShopifyParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "shopify") {
		for i, topic := range fuzzTopics {
			if topic == fx.Topic || i == 0 {
				f.Add(fx.Body, uint8(i), true, "")
			}
		}
		f.Add(fx.Body, uint8(0), false, "AAAA")
	}
	f.Add([]byte(`{"id":1,"refunds":[{"id":2,"created_at":"2024-01-01T00:00:00Z"}],"updated_at":"2024-01-01T00:00:00Z","email":"a@b"}`), uint8(5), true, "")
	f.Add([]byte(`{"id":"x","line_items":[null,1,{"price":"NaN","quantity":"1e999"}]}`), uint8(10), true, "")
	f.Add([]byte(`{"id":1e999,"customer":{"id":-0}}`), uint8(13), true, "")
	f.Add([]byte(`[]`), uint8(0), true, "")

	a, _ := sourcetest.Build(f, testConfig, shopify.Build)
	f.Fuzz(func(t *testing.T, body []byte, topicIdx uint8, signed bool, sig string) {
		topic := fuzzTopics[int(topicIdx)%len(fuzzTopics)]
		h := headers(topic, "wh", testSecret, body)
		if !signed {
			h.Set("X-Shopify-Hmac-Sha256", sig)
		}
		d, err := a.Parse(request(h, body))
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if !signed && !bytes.Equal(source.DecodeBase64(sig), source.HMAC(sha256.New, []byte(testSecret), body)) {
			t.Fatalf("accepted with signature %q", sig)
		}
		for _, ev := range d.Events {
			if ev.Type == "" || ev.Customer.Key() == "" {
				t.Fatalf("event without type or identity: %+v", ev)
			}
		}
		if _, err := json.Marshal(d.Events); err != nil {
			t.Fatalf("events do not encode: %v", err)
		}
	})
}

// BenchmarkShopifyParse measures verify + parse + map of a real orders/create
// delivery (3.9 KB).
func BenchmarkShopifyParse(b *testing.B) {
	var body []byte
	for _, fx := range sourcetest.Fixtures(b, "shopify") {
		if fx.Name == "orders.create__rudder-transformer.json" {
			body = fx.Body
		}
	}
	a, _ := sourcetest.Build(b, testConfig, shopify.Build)
	req := request(headers("orders/create", "wh", testSecret, body), body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := a.Parse(req)
		if err != nil || len(d.Events) != 1 {
			b.Fatal(d, err)
		}
	}
}
