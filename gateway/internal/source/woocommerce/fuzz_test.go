package woocommerce_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/woocommerce"
)

// fuzzTopics are the topics a fuzz input picks from by index.
var fuzzTopics = []string{
	"order.created", "order.updated", "order.deleted", "order.restored",
	"customer.created", "customer.updated", "customer.deleted", "product.updated", "action.x", "",
}

// FuzzWooCommerceParse feeds arbitrary bodies and topics to Parse, signed
// correctly (so the mapping runs), with a fuzzed signature, or as a
// form-encoded ping look-alike. Parse must not panic, must fail only with
// a source sentinel, and every event it accepts must have a type and an
// identity and encode as JSON.
func FuzzWooCommerceParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "woocommerce") {
		for i, topic := range fuzzTopics {
			if topic == fx.Topic {
				f.Add(fx.Body, uint8(i), uint8(0), "")
			}
		}
		f.Add(fx.Body, uint8(1), uint8(1), "AAAA")
	}
	f.Add([]byte("webhook_id=12"), uint8(0), uint8(2), "")
	f.Add([]byte("webhook_id=12345678901234567890"), uint8(0), uint8(2), "")
	f.Add([]byte(`{"id":1,"status":"refunded","refunds":[{"total":"-1e308"},{"total":"-1e308"}],"billing":{"email":"a@b"}}`), uint8(1), uint8(0), "")
	f.Add([]byte(`{"id":1,"line_items":[{"quantity":0,"total":"1"},null,"x"]}`), uint8(0), uint8(0), "")

	a, _ := sourcetest.Build(f, testConfig, woocommerce.Build)
	f.Fuzz(func(t *testing.T, body []byte, topicIdx, mode uint8, sig string) {
		topic := fuzzTopics[int(topicIdx)%len(fuzzTopics)]
		h := headers(topic, "d", testSecret, body)
		switch mode % 3 {
		case 1:
			h.Set("X-WC-Webhook-Signature", sig)
		case 2:
			h.Del("X-WC-Webhook-Signature")
			h.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		d, err := a.Parse(request(h, body))
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		signed := mode%3 == 0 || bytes.Equal(source.DecodeBase64(sig), source.HMAC(sha256.New, []byte(testSecret), body))
		if !signed && len(d.Events) > 0 {
			t.Fatalf("unsigned delivery produced events: %+v", d.Events)
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

// BenchmarkWooCommerceParse measures verify + parse + map of a real
// order.created delivery (3.3 KB).
func BenchmarkWooCommerceParse(b *testing.B) {
	var body []byte
	for _, fx := range sourcetest.Fixtures(b, "woocommerce") {
		if fx.Name == "order.created__frappe-ecommerce_integrations.json" {
			body = fx.Body
		}
	}
	a, _ := sourcetest.Build(b, testConfig, woocommerce.Build)
	req := request(headers("order.created", "d", testSecret, body), body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := a.Parse(req)
		if err != nil || len(d.Events) != 1 {
			b.Fatal(d, err)
		}
	}
}
