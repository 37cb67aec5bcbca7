package hubspot_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/hubspot"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// FuzzHubSpotParse feeds arbitrary bodies, signed correctly (so the body
// parser runs) or with a fuzzed signature and timestamp. Parse must not
// panic, must fail only with a source sentinel, and must return events
// that have a type and an identity and encode as JSON.
func FuzzHubSpotParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "hubspot") {
		f.Add(fx.Body, true, "", "")
		f.Add(fx.Body, false, "c2lnbmF0dXJl", "1462216307945")
	}
	for _, s := range []string{``, `[]`, `[null]`, `[{}]`, `{"eventId":1}`, `[{"eventId":1e999,"objectId":-0,"subscriptionType":"."}]`,
		`[{"eventId":"x","objectId":"y","subscriptionType":"deal.propertyChange","propertyName":"amount","propertyValue":"1e400"}]`,
		`[{"eventId":1,"objectId":2,"subscriptionType":"contact.propertyChange","propertyName":"email","propertyValue":{"a":1}}]`} {
		f.Add([]byte(s), true, "", "")
	}
	a, _ := sourcetest.Build(f, gatewayConfig, hubspot.Build)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, signed bool, sig, ts string) {
		h := http.Header{"Content-Type": {"application/json"}}
		if signed {
			ts = strconv.FormatInt(now.UnixMilli(), 10)
			sig = sign(testSecret, http.MethodPost, "https://hooks.example.com/v1/webhooks/hs", body, ts)
		}
		h.Set("X-HubSpot-Signature-v3", sig)
		h.Set("X-HubSpot-Request-Timestamp", ts)
		d, err := a.Parse(&source.Request{
			Method: http.MethodPost, URL: &url.URL{Path: "/v1/webhooks/hs"}, Host: "hooks.example.com", TLS: true,
			Header: h, Body: body, Now: now,
		})
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

// BenchmarkHubSpotParse measures verify + parse + map of HubSpot's
// documented two-event batch.
func BenchmarkHubSpotParse(b *testing.B) {
	var body []byte
	for _, fx := range sourcetest.Fixtures(b, "hubspot") {
		if fx.Topic == "batch.contact.propertyChange+contact.creation" {
			body = fx.Body
		}
	}
	a, _ := sourcetest.Build(b, gatewayConfig, hubspot.Build)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	req := &source.Request{
		Method: http.MethodPost, URL: &url.URL{Path: "/v1/webhooks/hs"}, Host: "hooks.example.com", TLS: true,
		Header: headers(testSecret, "https://hooks.example.com/v1/webhooks/hs", body, now), Body: body, Now: now,
	}
	b.ReportAllocs()
	for b.Loop() {
		d, err := a.Parse(req)
		if err != nil || len(d.Events) != 2 {
			b.Fatalf("Parse: %v", err)
		}
	}
}
