package mailgun_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/mailgun"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// FuzzMailgunParse feeds arbitrary event-data, validly signed, and
// arbitrary whole bodies (with whatever signature they carry). Parse must
// not panic, must fail only with a source sentinel, and what it accepts
// must have a type and an identity and encode as JSON.
func FuzzMailgunParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "mailgun") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(fx.Body, &m); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(m["event-data"]), true)
		f.Add(fx.Body, false)
	}
	f.Add([]byte(`{"event":"failed","severity":"permanent","recipient":"a@b.c","timestamp":-1}`), true)
	f.Add([]byte(`{"event":"x","recipient":"a@b.c","user-variables":{"n":1e999},"campaigns":[1e400]}`), true)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	a, _ := sourcetest.Build(f, config, mailgun.Build)

	f.Fuzz(func(t *testing.T, data []byte, signed bool) {
		body := data
		if signed {
			// A token per input, as Mailgun makes one per delivery, so the
			// token memory does not refuse one input for another's body.
			sum := sha256.Sum256(data)
			raw, _ := json.Marshal(signature(testKey, hex.EncodeToString(sum[:]), now))
			body = append(append(append([]byte(`{"signature":`), raw...), `,"event-data":`...), data...)
			body = append(body, '}')
		}
		d, err := a.Parse(&source.Request{Method: http.MethodPost, Header: jsonHeader, Body: body, Now: now})
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

// BenchmarkMailgunParse measures verify (HMAC-SHA256, token memory) +
// parse + map of the delivered fixture.
func BenchmarkMailgunParse(b *testing.B) {
	a, _ := sourcetest.Build(b, config, mailgun.Build)
	var body []byte
	for _, fx := range sourcetest.Fixtures(b, "mailgun") {
		if fx.Topic == "delivered" {
			body = fx.Body
		}
	}
	now := time.Now()
	req := &source.Request{Method: http.MethodPost, Header: jsonHeader, Body: resign(b, body, signature(testKey, "bench-token", now)), Now: now}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}
