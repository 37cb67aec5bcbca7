package stripe_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// FuzzStripeParse feeds arbitrary bodies to the adapter, validly signed
// (so the mapping runs), with a fuzzed Stripe-Signature header, and signed
// but stale. Parse must never panic; errors wrap a source sentinel; every
// accepted event has a type, a delivery id and an identity, and encodes.
func FuzzStripeParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "stripe") {
		for mode := range uint8(3) {
			f.Add(fx.Body, mode, sign(testSecret, testNow, fx.Body))
		}
	}
	for _, s := range []string{
		event("charge.refunded", `{"object":"charge","customer":{"id":"cus_1"},"amount":1,"currency":"jpy","refunds":{"data":[null,1]}}`, ""),
		event("customer.subscription.updated", `{"object":"subscription","customer":"cus_1","items":{"data":[1,{"price":null}]}}`, `{"cancel_at":null}`),
		`{"id":"evt_1","type":"x","created":99999999999999,"data":{"object":{"customer":"c","amount":1e400}}}`,
		`{"id":"evt_1","object":"v2.core.event","type":"x"}`,
		`[]`, `null`, `{}`, ``, `{"id":"`,
	} {
		f.Add([]byte(s), uint8(0), "t=1,v1=00")
		f.Add([]byte(s), uint8(1), "t=1,v1=00,v1=zz,,=,t")
	}
	a := build(f, config)

	f.Fuzz(func(t *testing.T, body []byte, mode uint8, sig string) {
		req := &source.Request{
			Method: http.MethodPost,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   body,
			Now:    testNow,
		}
		switch mode % 3 {
		case 0:
			req.Header.Set("Stripe-Signature", sign(testSecret, testNow, body))
		case 1:
			req.Header.Set("Stripe-Signature", sig)
		default:
			req.Header.Set("Stripe-Signature", sign(testSecret, testNow.Add(-time.Hour), body))
		}
		d, err := a.Parse(req)
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if d != nil {
				t.Fatalf("delivery %+v returned with error %v", d, err)
			}
			return
		}
		if mode%3 == 2 {
			t.Fatal("stale signature accepted")
		}
		for _, ev := range d.Events {
			if ev.Type == "" || ev.DeliveryID == "" || ev.Customer.Key() == "" {
				t.Fatalf("incomplete event accepted: %+v", ev)
			}
		}
		if _, err := json.Marshal(d.Events); err != nil {
			t.Fatalf("accepted events do not encode: %v", err)
		}
	})
}

// BenchmarkStripeParse measures verify + parse + map of a representative
// delivery: a paid invoice with a line item (about 6 KB).
func BenchmarkStripeParse(b *testing.B) {
	a := build(b, config)
	var body []byte
	for _, fx := range sourcetest.Fixtures(b, "stripe") {
		if fx.Name == "invoice.paid__supabase-stripe-sync-engine.json" {
			body = fx.Body
		}
	}
	req := &source.Request{Method: http.MethodPost, Header: headers(testSecret, testNow, body), Body: body, Now: testNow}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := a.Parse(req)
		if err != nil || len(d.Events) != 1 {
			b.Fatal(d, err)
		}
	}
}
