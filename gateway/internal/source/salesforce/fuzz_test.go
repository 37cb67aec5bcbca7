package salesforce_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/salesforce"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// FuzzSalesforceParse feeds arbitrary bodies with the right token (so the
// XML parser runs) or a fuzzed one. Parse must not panic, must fail only
// with a source sentinel, and must return events that have a type, an
// identity and a delivery id, encode as JSON, and come with the Ack.
func FuzzSalesforceParse(f *testing.F) {
	for _, fx := range sourcetest.Fixtures(f, "salesforce") {
		f.Add(fx.Body, testToken)
		f.Add(fx.Body, "wrong")
	}
	f.Add(message(org18, "04l000000000001AAA", `xsi:type="sf:Contact"><sf:Id>003</sf:Id><sf:Email>a@b.c</sf:Email>`), testToken)
	f.Add(message(org18, "n", `xsi:type="Case"><Id>x</Id><ContactId/><sf:X xsi:nil="1">y</sf:X>`), testToken)
	for _, s := range []string{``, `<a/>`, `<!DOCTYPE a><a/>`, `<?xml version="1.0" encoding="latin1"?><a/>`, "\xef\xbb\xbf", `&x;`} {
		f.Add([]byte(s), testToken)
	}
	a, _ := sourcetest.Build(f, `
source "sf" {
  kind            = "salesforce"
  organization_id = "00D5e000000KQ2e"
  secret          = "om-token-1"
}`, salesforce.Build)
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		req := &source.Request{
			Method: http.MethodPost, URL: &url.URL{Path: "/v1/webhooks/sf", RawQuery: url.Values{"token": {token}}.Encode()},
			Header: xmlHeader(), Body: body, Now: time.Now(),
		}
		d, err := a.Parse(req)
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if d.Reply == nil || d.Reply.Status != http.StatusOK || len(d.Events) == 0 {
			t.Fatalf("accepted delivery without the Ack or events: %+v", d)
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

// BenchmarkSalesforceParse measures authenticate + parse + map of the
// two-Contact outbound message.
func BenchmarkSalesforceParse(b *testing.B) {
	var body []byte
	for _, fx := range sourcetest.Fixtures(b, "salesforce") {
		if fx.Name == "outbound-message.contact-x2__aspnetcore-webhooks.xml" {
			body = fx.Body
		}
	}
	a, _ := sourcetest.Build(b, config("012345678901234"), salesforce.Build)
	req := &source.Request{
		Method: http.MethodPost, URL: &url.URL{Path: "/v1/webhooks/sf", RawQuery: "token=" + testToken},
		Header: xmlHeader(), Body: body, Now: time.Now(),
	}
	b.ReportAllocs()
	for b.Loop() {
		d, err := a.Parse(req)
		if err != nil || len(d.Events) != 2 {
			b.Fatalf("Parse: %v", err)
		}
	}
}
