package twilio_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/twilio"
)

// FuzzTwilioParse feeds arbitrary form bodies, validly signed (so the
// mapping runs) or with a fuzzed signature. Parse must not panic, must
// fail only with a source sentinel, and what it accepts must have a type
// and an identity and encode as JSON.
func FuzzTwilioParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "twilio") {
		f.Add(fx.Body, true, "")
		f.Add(fx.Body, false, "AAAA")
	}
	for _, b := range [][]byte{inbound("SM1", "+14155550100", "STOP"), inbound("SM2", "whatsapp:+1", "x", "OptOutType", "help"), []byte("a=%zz;b")} {
		f.Add(b, true, "")
	}
	a, _ := sourcetest.Build(f, config, twilio.Build)
	const signedURL = "https://gw.example.com/v1/webhooks/tw?x=1"
	u, _ := url.Parse("/v1/webhooks/tw?x=1")

	f.Fuzz(func(t *testing.T, body []byte, signed bool, sig string) {
		if signed {
			if _, err := url.ParseQuery(string(body)); err == nil {
				sig = sign(t, authToken, signedURL, body)
			}
		}
		req := &source.Request{Method: http.MethodPost, URL: u, Host: "gw.example.com", TLS: true,
			Header: headers(sig), Body: body, Now: time.Now()}
		d, err := a.Parse(req)
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if !signed {
			t.Fatalf("fuzzed signature %q accepted", sig)
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

// BenchmarkTwilioParse measures verify (HMAC-SHA1 over URL + sorted
// params, two URL forms) + parse + map of the status callback fixture.
func BenchmarkTwilioParse(b *testing.B) {
	a, _ := sourcetest.Build(b, config, twilio.Build)
	body := sourcetest.Fixtures(b, "twilio")[0].Body
	u, _ := url.Parse("/v1/webhooks/tw")
	req := &source.Request{Method: http.MethodPost, URL: u, Host: "gw.example.com", TLS: true,
		Header: headers(sign(b, authToken, "https://gw.example.com/v1/webhooks/tw", body)), Body: body, Now: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}
