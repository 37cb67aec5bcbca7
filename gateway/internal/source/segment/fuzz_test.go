package segment_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/segment"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// FuzzSegmentParse feeds arbitrary bodies, signed correctly (so the body
// parser runs) or with a fuzzed signature. Parse must not panic, must fail
// only with a source sentinel, and must return events that have a type,
// an identity and a delivery id, and encode as JSON.
func FuzzSegmentParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "segment") {
		f.Add(fx.Body, true, "")
		f.Add(fx.Body, false, "00")
	}
	for _, s := range []string{``, `[]`, `{}`, `{"batch":null}`, `{"batch":{}}`, `{"batch":[null]}`, `[[]]`, `"x"`,
		`{"type":"track","event":"Order Completed","userId":1e999,"properties":{"total":"1e999","products":[1,{"price":"x"}]}}`,
		`{"type":"identify","anonymousId":"a","traits":{"address":"x","phone":7,"email":["a@b"]},"timestamp":5}`,
		`{"type":"page","userId":"u","context":{"page":"x","traits":[]}}`} {
		f.Add([]byte(s), true, "")
	}
	a, _ := sourcetest.Build(f, gatewayConfig, segment.Build)
	f.Fuzz(func(t *testing.T, body []byte, signed bool, sig string) {
		if signed {
			sig = sign(testSecret, body)
		}
		h := http.Header{"Content-Type": {"application/json"}, "X-Signature": {sig}}
		d, err := a.Parse(&source.Request{Method: http.MethodPost, Header: h, Body: body, Now: time.Now()})
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		for _, ev := range d.Events {
			if ev.Type == "" || ev.Customer.Key() == "" || ev.DeliveryID == "" {
				t.Fatalf("accepted event without type, identity or delivery id: %+v", ev)
			}
		}
		if _, err := json.Marshal(d.Events); err != nil {
			t.Fatalf("accepted events do not encode: %v", err)
		}
	})
}

// BenchmarkSegmentParse measures verify + parse + map of the v1 Order
// Completed call (two products).
func BenchmarkSegmentParse(b *testing.B) {
	var body []byte
	for _, fx := range sourcetest.Fixtures(b, "segment") {
		if fx.Name == "track.order-completed.ecommerce-v1__segment-docs-spec.json" {
			body = fx.Body
		}
	}
	a, _ := sourcetest.Build(b, gatewayConfig, segment.Build)
	req := &source.Request{Method: http.MethodPost, Header: headers(testSecret, body), Body: body, Now: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		d, err := a.Parse(req)
		if err != nil || len(d.Events) != 1 {
			b.Fatalf("Parse: %v", err)
		}
	}
}
