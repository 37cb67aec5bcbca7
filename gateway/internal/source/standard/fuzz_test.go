package standard_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// FuzzStandardParse feeds arbitrary bodies and headers to the adapter:
// HMAC-signed (so the mapping runs), ed25519-signed, with a fuzzed
// webhook-signature, and signed but stale. Parse must never panic; errors
// wrap a source sentinel; every accepted event has a valid type, the
// webhook-id as delivery id and an identity, and encodes.
func FuzzStandardParse(f *testing.F) {
	for _, fx := range fixtures(f) {
		for mode := range uint8(4) {
			f.Add(fx.body, "msg_1", mode, signV1(testSecret, "msg_1", testNow, fx.body))
		}
	}
	for _, s := range []string{
		`{"type":"a","data":{"customer":{"id":1e400,"external_ids":{"":"x"}}}}`,
		`{"type":"a","timestamp":99999999999999999,"customer_id":"c"}`,
		`{"type":"a.b","data":{"customer":{"traits":{"n":1e400}},"user_id":"u","x":[1e400,{"y":null}]}}`,
		`{"type":"a","data":null}`, `[]`, `null`, `{}`, ``, `{"type":"`,
	} {
		f.Add([]byte(s), "msg_1", uint8(0), "")
		f.Add([]byte(s), "msg.1", uint8(2), "v1, v1a,AAAA v2,x v1,"+`!!`)
	}
	a := build(f, config(f))
	key := signingKey(f)

	f.Fuzz(func(t *testing.T, body []byte, id string, mode uint8, sig string) {
		ts := testNow
		switch mode % 4 {
		case 0:
			sig = signV1(testSecret, id, ts, body)
		case 1:
			sig = signV1a(key, id, ts, body)
		case 3:
			ts = testNow.Add(-time.Hour)
			sig = signV1(testSecret, id, ts, body)
		}
		req := &source.Request{Method: http.MethodPost, Header: headers(id, ts, sig), Body: body, Now: testNow}
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
		if mode%4 == 3 {
			t.Fatal("stale signature accepted")
		}
		if len(d.Events) != 1 {
			t.Fatalf("%d events", len(d.Events))
		}
		ev := d.Events[0]
		if ev.Type == "" || len(ev.Type) > 128 || ev.DeliveryID != req.Header.Get("webhook-id") || ev.Customer.Key() == "" {
			t.Fatalf("incomplete event accepted: %+v", ev)
		}
		if _, err := json.Marshal(d.Events); err != nil {
			t.Fatalf("accepted event does not encode: %v", err)
		}
	})
}

// BenchmarkStandardParse measures verify + parse + map of a representative
// delivery: another triggergate's webhook channel message (HMAC-signed).
func BenchmarkStandardParse(b *testing.B) {
	a := build(b, config(b))
	var body []byte
	for _, fx := range fixtures(b) {
		if fx.name == "abandoned_cart.reminder_1__triggergate-webhook.json" {
			body = fx.body
		}
	}
	for _, bc := range []struct {
		name string
		sig  string
	}{
		{"v1", signV1(testSecret, "msg_1", testNow, body)},
		{"v1a", signV1a(signingKey(b), "msg_1", testNow, body)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := &source.Request{Method: http.MethodPost, Header: headers("msg_1", testNow, bc.sig), Body: body, Now: testNow}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if d, err := a.Parse(req); err != nil || len(d.Events) != 1 {
					b.Fatal(d, err)
				}
			}
		})
	}
}
