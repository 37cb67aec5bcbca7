package jsonkind

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// jsonFuzzSeeds are FuzzJSONParse's seed bodies; FuzzFastPathMatchesHCL
// starts from them too.
var jsonFuzzSeeds = []string{
	`{"type":"order.placed","customer":{"id":"c1"}}`,
	`{"id":115310627314723954,"type":"x","occurred_at":1795255200123,"customer":{"email":"A@B.C","external_ids":{"s":1}},"properties":{"v":1.5,"a":[1,{"b":null}]}}`,
	`[{"type":"a","customer":{"id":"1"}},{"type":"b","customer":{"phone":"+1"}}]`,
	`{"type":"x","customer":{"id":1e999999999}}`,
	`{"type":"x","occurred_at":"2026-11-22T10:00:00Z","customer":{"id":"c"},"properties":{"n":-1e-999999}}`,
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
	`{"a":"\"[[["}`,
	`"str"`, `null`, `[]`, `{}`, ``,
}

// FuzzJSONParse feeds arbitrary bodies to the json kind, unsigned, signed
// correctly (so payload parsing runs behind the signature check) and with a
// fuzzed signature. Parse must never panic, must return events or one of
// the sentinel errors, and its events must encode.
func FuzzJSONParse(f *testing.F) {
	for _, s := range jsonFuzzSeeds {
		for mode := range uint8(3) {
			f.Add([]byte(s), mode, "sha256=00")
		}
	}

	unsigned := buildHCL(f, canonicalConfig)
	signed := buildHCL(f, signedConfig)
	mapped := buildHCL(f, mappedConfig)

	f.Fuzz(func(t *testing.T, body []byte, mode uint8, sig string) {
		var a source.Adapter
		req := jsonRequest(string(body), "X-Request-Id", "r1")
		switch mode % 4 {
		case 0:
			a = unsigned
		case 1:
			a = signed
			req.Header.Set("X-Signature-256", sign("s3cret", body))
		case 2:
			a = signed
			req.Header.Set("X-Signature-256", sig)
		default:
			a = mapped
		}
		evs, err := parseEvents(a, req)
		if err != nil {
			if !errors.Is(err, source.ErrBadPayload) && !errors.Is(err, source.ErrBadSignature) && !errors.Is(err, source.ErrUnsupportedType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if evs != nil {
				t.Fatalf("events %v returned with error %v", evs, err)
			}
			return
		}
		if len(evs) == 0 {
			t.Fatal("no events and no error")
		}
		for _, ev := range evs {
			if !source.ValidType(ev.Type) || len(ev.Type) > maxEventTypeLen {
				t.Fatalf("invalid type %q accepted", ev.Type)
			}
			if !hasIdentity(ev.Customer) {
				t.Fatalf("event without identity accepted: %+v", ev)
			}
		}
		if _, err := json.Marshal(evs); err != nil {
			t.Fatalf("accepted events do not encode: %v", err)
		}
	})
}
