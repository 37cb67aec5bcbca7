package sendgrid_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sendgrid"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// FuzzSendGridParse feeds arbitrary bodies to the adapter, validly signed
// (so the mapping runs) or with a fuzzed signature and timestamp. Parse
// must not panic, must fail only with a source sentinel, and what it
// accepts must have a type and an identity and encode as JSON.
func FuzzSendGridParse(f *testing.F) {
	key := newKey(f)
	a, _ := sourcetest.Build(f, config(key.pub), sendgrid.Build)
	for _, fx := range sourcetest.Fixtures(f, "sendgrid") {
		f.Add(fx.Body, true, "", "")
		f.Add(fx.Body, false, "MEUCIQ==", "1513299569")
	}
	f.Add([]byte(`[{"event":"open","email":"a@b.c","timestamp":1e999}]`), true, "", "")
	f.Add([]byte(`[{"event":"bounce","email":"a@b.c","category":[1,{"x":null}],"type":"blocked"}]`), true, "", "")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	f.Fuzz(func(t *testing.T, body []byte, signed bool, sig, ts string) {
		h := http.Header{"Content-Type": {"application/json"}}
		if signed {
			h = key.headers(t, now, body)
		} else {
			h.Set(sendgrid.SignatureHeader, sig)
			h.Set(sendgrid.TimestampHeader, ts)
		}
		d, err := a.Parse(&source.Request{Method: http.MethodPost, Header: h, Body: body, Now: now})
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if !signed {
			// Only a valid signature of this exact body may pass.
			t.Fatalf("fuzzed signature %q (timestamp %q) accepted", sig, ts)
		}
		for _, ev := range d.Events {
			if ev.Type == "" || ev.Customer.Key() == "" {
				t.Fatalf("accepted event without type or identity: %+v", ev)
			}
		}
		if _, err := json.Marshal(d.Events); err != nil {
			t.Fatalf("accepted events do not encode: %v", err)
		}
	})
}

// BenchmarkSendGridParse measures verify (ECDSA P-256) + parse + map of
// one event and of the eleven-event documentation batch.
func BenchmarkSendGridParse(b *testing.B) {
	key := newKey(b)
	a, _ := sourcetest.Build(b, config(key.pub), sendgrid.Build)
	fixtures := map[string]string{"single": "delivered__sendgrid-docs.json", "batch11": "batch.all-event-types__sendgrid-docs.json"}
	all := sourcetest.Fixtures(b, "sendgrid")
	for name, file := range fixtures {
		var body []byte
		for _, fx := range all {
			if fx.Name == file {
				body = fx.Body
			}
		}
		b.Run(name, func(b *testing.B) {
			now := time.Now()
			req := &source.Request{Method: http.MethodPost, Header: key.headers(b, now, body), Body: body, Now: now}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Parse(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
