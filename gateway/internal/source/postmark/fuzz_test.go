package postmark_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/postmark"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// FuzzPostmarkParse feeds arbitrary bodies with the right basic
// credentials, and with fuzzed header credentials. Parse must not panic,
// must fail only with a source sentinel, and what it accepts must have a
// type and an identity and encode as JSON.
func FuzzPostmarkParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "postmark") {
		f.Add(fx.Body, true, "")
		f.Add(fx.Body, false, "tok-guess")
	}
	f.Add([]byte(`{"RecordType":"Bounce","Type":"","Email":"a@b.c","BouncedAt":"99999-01-01T00:00:00Z"}`), true, "")
	f.Add([]byte(`{"RecordType":"Open","Recipient":"a@b.c","Metadata":{"n":1e999}}`), true, "")
	basicAdapter, _ := sourcetest.Build(f, basicConfig, postmark.Build)
	headerAdapter, _ := sourcetest.Build(f, headerConfig, postmark.Build)

	f.Fuzz(func(t *testing.T, body []byte, authorised bool, token string) {
		a, h := basicAdapter, basic("postmark", "s3cret")
		if !authorised {
			a, h = headerAdapter, http.Header{"Content-Type": {"application/json"}, "X-Webhook-Token": {token}}
		}
		d, err := a.Parse(&source.Request{Method: http.MethodPost, Header: h, Body: body, Now: time.Now()})
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if !authorised && token != "tok-current" && token != "tok-previous" {
			t.Fatalf("token %q accepted", token)
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

// BenchmarkPostmarkParse measures authenticate (basic) + parse + map of
// the Click fixture, Postmark's largest record.
func BenchmarkPostmarkParse(b *testing.B) {
	a, _ := sourcetest.Build(b, basicConfig, postmark.Build)
	var body []byte
	for _, fx := range sourcetest.Fixtures(b, "postmark") {
		if fx.Name == "Click__symfony-postmark-mailer.json" {
			body = fx.Body
		}
	}
	req := &source.Request{Method: http.MethodPost, Header: basic("postmark", "s3cret"), Body: body, Now: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Parse(req); err != nil {
			b.Fatal(err)
		}
	}
}
