package jsonkind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// hclPath returns a copy of a json adapter that maps every body through
// the HCL expressions, even when it has no event block.
func hclPath(a source.Adapter) source.Adapter {
	slow := *a.(*jsonAdapter)
	slow.defaults = false
	return &slow
}

// fastPathBodies are bodies aimed at the places where the fast path
// mirrors cty: number forms and ranges, NFC normalization of strings and
// keys (and keys that normalize alike), try()'s nulls, every field's
// wrong types, occurred_at's bounds and array bodies.
var fastPathBodies = []string{
	// Numbers in properties: zeros, rounding, range.
	`{"type":"x","customer":{"id":"c"},"properties":{"z":-0,"a":-0.0,"b":0e5,"c":-0e-5,"d":1e-400,"e":1e308,"f":4503599627370496.5,"g":9007199254740993,"h":0.1,"i":123456789012345678901234567890.123456789}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"a":2.2250738585072011e-308,"b":4.9e-324,"c":1.7976931348623157e308,"d":1.7976931348623158e308,"e":1.7976931348623159e308,"f":1e-100,"g":1e100,"h":1e-101,"i":12345678901234567890123456789012345678901}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"m":1.00000000000000011102230246251565404236316680908203125,"n":1.000000000000000111022302462515654042363166809082031250000000001,"o":1.00000000000000011102230246251565404236316680908203124999999999}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"p":1.00000000000000011102230246251565404236316680908203125` + strings.Repeat("0", 120) + `1,"q":4503599627370496.5` + strings.Repeat("0", 150) + `1}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"r":` + new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1<<53+1), 550), big.NewInt(1)).String() + `}}`,
	`{"type":"x","occurred_at":1795255200.000000059604644775390625` + strings.Repeat("0", 150) + `1,"customer":{"id":"c"}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"a":[1,{"b":1e400}],"z":2}}`,
	`{"type":"x","customer":{"id":"c"},"traits":{"n":-1e400}}`,
	`{"type":"x","customer":{"id":"c"},"other":1e3000000000}`,
	`{"type":"x","customer":{"id":"c"},"other":[0e99999999999999999999]}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"n":1e-3000000000}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"n":1e999999999}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"n":1e00000000000000000000001}}`,
	`1e99999999999999999999`, `-0`, `true`, `false`, `"x"`, ` {} `, `[null]`, `[[]]`, `[{}]`,

	// Numbers as ids.
	`{"type":"x","id":-0,"customer":{"id":1.5,"phone":1e2,"anonymous_id":1.0,"email":-12}}`,
	`{"type":"x","id":123456789012345678901234567890123456789,"customer":{"id":99999999999999999999999999999999999999}}`,
	`{"type":"x","id":340282366920938463463374607431768211455,"customer":{"id":"c"}}`,
	`{"type":"x","id":340282366920938463463374607431768211456,"customer":{"id":"c"}}`,
	`{"type":"x","id":1e-38,"customer":{"id":0.1}}`,
	`{"type":"x","id":1e-39,"customer":{"id":"c"}}`,
	`{"type":"x","id":1e38,"customer":{"id":-1.25e-3}}`,
	`{"type":"x","customer":{"id":1e400}}`,
	`{"type":"x","customer":{"id":"c","external_ids":{"a":1e400}}}`,
	`{"type":"x","customer":{"id":"c","external_ids":{"a":1,"b":"","c":null,"d":" 7 "}}}`,
	`{"type":"x","customer":{"external_ids":{" ":"1"}}}`,
	`{"type":"x","customer":{"external_ids":{"":5,"a":true}}}`,
	`{"type":"x","customer":{"external_ids":{"b":{},"a":[]}}}`,
	`{"type":"x","customer":{"external_ids":"crm"}}`,
	`{"type":"x","customer":{"external_ids":7}}`,
	`{"type":"x","customer":{"external_ids":null,"id":" \t"}}`,

	// Unicode: strings and keys are NFC-normalized; keys that normalize
	// alike collide.
	`{"type":"caf\u0065\u0301","customer":{"id":"c"}}`,
	`{"type":"x","customer":{"email":"  J\u0301ANE@X.COM ","id":"\u212b"}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"e\u0301":1,"\u00e9":2,"k":"e\u0301"}}`,
	`{"type":"x","customer":{"id":"c","external_ids":{"K":"1","\u212a":"2"}}}`,
	`{"type":"x","customer":{"id":"c","external_ids":{"\u212a":"2"}}}`,
	`{"type":"x","customer":{"id":"c"},"traits":{"\u212a":{"e\u0301":[1e400]},"K":0}}`,
	`{"type":"x","customer":{"id":"c"},"traits":{"K":{"e\u0301":[1e400]},"\u212a":0}}`,
	`{"typ\u0065":"x","customer":{"\u0069d":"c"}}`,
	`{"type":"x","\u212astomer":{"id":"c"}}`,
	`{"type":"x","customer":{"id":"\ud800"},"properties":{"\udc00":"\ud83d\ude00"}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"k":"a` + strings.Repeat(`\u0301`, 40) + `"}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"a` + strings.Repeat(`\u0301`, 40) + `":1,"a` + strings.Repeat(`\u0301`, 31) + `":2}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"a\u0327\u0301":1,"a\u0301\u0327":2}}`,

	// try(): missing steps and wrong kinds are null.
	`{"type":"x","customer":"c"}`,
	`{"type":"x","customer":[{"id":"c"}]}`,
	`{"type":"x","customer":null,"id":"d"}`,
	`{"type":"x","customer":{}}`,
	`{"type":null,"customer":{"id":"c"}}`,
	`{"type":{},"customer":{"id":"c"}}`,
	`{"type":[],"customer":{"id":"c"}}`,
	`{"type":true,"customer":{"id":"c"}}`,
	`{"type":" x","customer":{"id":"c"}}`,
	`{"type":"x","customer":{"id":"c","email":{}}}`,
	`{"type":"x","customer":{"id":"c","phone":[]}}`,
	`{"type":"x","customer":{"id":"c","anonymous_id":false}}`,
	`{"type":"x","id":{},"customer":{"id":"c"}}`,
	`{"type":"x","customer":{"id":"c"},"properties":{},"traits":{}}`,
	`{"type":"x","customer":{"id":"c"},"properties":null,"traits":null}`,
	`{"type":"x","customer":{"id":"c"},"properties":7}`,
	`{"type":"x","customer":{"id":"c"},"traits":true}`,
	`{"type":"x","customer":{"id":"c"},"properties":{"a":{},"b":[],"c":[[],{}],"d":null,"e":false}}`,
	`{"type":"x","type":"y","customer":{"id":"c"},"customer":{"email":"e"}}`,
	`{"type":"x","TYPE":"y","Customer":{"id":"c"},"customer":{"ID":"d","id":"e"}}`,

	// occurred_at.
	`{"type":"x","occurred_at":1e12,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":999999999999.9,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":253402300799.999,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":253402300800,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":253402300799999.5,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":253402300800000,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":-0,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":-0.5,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":1.5e-5,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":1e400,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":1795255200.123456789123,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":1795255200123.456789,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":"  2026-11-22T10:00:00Z  ","customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":"","customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":" ","customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":"2026-11-22T10:00:00.123+05:30","customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":"2026-11-22 10:00:00Z","customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":null,"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":[],"customer":{"id":"c"}}`,
	`{"type":"x","occurred_at":{},"customer":{"id":"c"}}`,

	// Arrays: one event per item, shared ids get "#<index>".
	`[{"id":"a","type":"x","customer":{"id":"1"}},{"id":"a","type":"x","customer":{"id":"2"}},{"id":"b","type":"x","customer":{"id":"3"}}]`,
	`[{"id":1,"type":"x","customer":{"id":"1"}},{"id":"1","type":"x","customer":{"id":"2"}},{"id":" 1 ","type":"x","customer":{"id":"3"}}]`,
	`[{"id":"","type":"x","customer":{"id":"1"}},{"type":"x","customer":{"id":"2"}}]`,
	`[{"id":"a#1","type":"x","customer":{"id":"1"}},{"id":"a","type":"x","customer":{"id":"2"}},{"id":"a","type":"x","customer":{"id":"2"}}]`,
	`[{"type":"x","customer":{"id":"1"}},null]`,
	`[{"type":"x"},7]`,
	`[{"type":"x","customer":{"id":"1"}},{"type":"x","customer":{"id":"1"},"properties":{"n":1e400}}]`,
}

// equivalenceBodies are every body of TestJSONParse, FuzzJSONParse and
// fastPathBodies.
func equivalenceBodies() []string {
	var bodies []string
	for _, tt := range jsonParseCases() {
		bodies = append(bodies, string(tt.req.Body))
	}
	bodies = append(bodies, jsonFuzzSeeds...)
	return append(bodies, fastPathBodies...)
}

// sentinel is the error class err wraps, or nil.
func sentinel(err error) error {
	for _, s := range []error{source.ErrBadPayload, source.ErrUnsupportedType, source.ErrBadSignature} {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// comparePaths parses body with the fast path and the HCL path and
// reports how they differ: events must be equal, deeply and in their
// JSON form, or both must fail with the same sentinel (and, when
// sameMessage, the same message).
func comparePaths(fast, slow source.Adapter, body []byte, sameMessage bool) error {
	want, wantErr := parseEvents(slow, jsonRequest(string(body)))
	got, gotErr := parseEvents(fast, jsonRequest(string(body)))
	switch {
	case wantErr != nil && gotErr != nil:
		if sentinel(wantErr) == nil || sentinel(wantErr) != sentinel(gotErr) {
			return fmt.Errorf("errors differ in class\nfast: %v\n hcl: %v", gotErr, wantErr)
		}
		if sameMessage && gotErr.Error() != wantErr.Error() {
			return fmt.Errorf("error messages differ\nfast: %v\n hcl: %v", gotErr, wantErr)
		}
		return nil
	case wantErr != nil || gotErr != nil:
		return fmt.Errorf("one path failed\nfast: %v %v\n hcl: %v %v", got, gotErr, want, wantErr)
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		return fmt.Errorf("encoding the HCL path's events: %v", err)
	}
	gotJSON, err := json.Marshal(got)
	if err != nil {
		return fmt.Errorf("encoding the fast path's events: %v", err)
	}
	if !bytes.Equal(gotJSON, wantJSON) || !reflect.DeepEqual(got, want) {
		return fmt.Errorf("events differ\nfast: %s\n hcl: %s", gotJSON, wantJSON)
	}
	return nil
}

// TestFastPathMatchesHCL runs both paths over every test body, unsigned
// and signed: same events or the same error, message included.
func TestFastPathMatchesHCL(t *testing.T) {
	t.Parallel()
	for _, src := range []string{canonicalConfig, signedConfig, rotatedConfig, `source "app" {
  kind = "json"
  event {}
}`} {
		if a := buildHCL(t, src).(*jsonAdapter); !a.defaults {
			t.Fatalf("no fast path for\n%s", src)
		}
	}
	for _, src := range []string{mappedConfig, strictConfig} {
		if a := buildHCL(t, src).(*jsonAdapter); a.defaults {
			t.Fatalf("fast path for a mapping:\n%s", src)
		}
	}

	fast := buildHCL(t, canonicalConfig)
	slow := hclPath(fast)
	for i, body := range equivalenceBodies() {
		if err := comparePaths(fast, slow, []byte(body), true); err != nil {
			t.Errorf("body %d %s:\n%v", i, truncate(body, 300), err)
		}
	}

	// Signature and content type come first on both paths.
	signedFast := buildHCL(t, signedConfig)
	signedSlow := hclPath(signedFast)
	for _, body := range equivalenceBodies() {
		for _, sig := range []string{sign("s3cret", []byte(body)), sign("other", []byte(body)), ""} {
			reqs := [2]*source.Request{}
			for i := range reqs {
				reqs[i] = jsonRequest(body, "X-Signature-256", sig)
			}
			got, gotErr := parseEvents(signedFast, reqs[0])
			want, wantErr := parseEvents(signedSlow, reqs[1])
			if sentinel(gotErr) != sentinel(wantErr) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
				t.Errorf("signed body %s: fast %v %v, hcl %v %v", truncate(body, 100), got, gotErr, want, wantErr)
			}
		}
	}
	for _, ct := range []string{"", "text/plain", "application/json; charset=utf-8"} {
		_, gotErr := parseEvents(fast, jsonRequest(`{"type":"x","customer":{"id":"c"}}`, "Content-Type", ct))
		_, wantErr := parseEvents(slow, jsonRequest(`{"type":"x","customer":{"id":"c"}}`, "Content-Type", ct))
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("content type %q: fast %v, hcl %v", ct, gotErr, wantErr)
		}
	}
}

// FuzzFastPathMatchesHCL checks that the fast path gives the HCL path's
// events for any body, or fails with the same sentinel.
func FuzzFastPathMatchesHCL(f *testing.F) {
	for _, body := range equivalenceBodies() {
		f.Add([]byte(body))
	}
	fast := buildHCL(f, canonicalConfig)
	slow := hclPath(fast)
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := comparePaths(fast, slow, body, false); err != nil {
			t.Fatalf("body %q:\n%v", body, err)
		}
	})
}

// TestFloatOf checks floatOf, the float64 of a JSON number, against cty's
// conversion, around the bounds of its strconv shortcut.
func TestFloatOf(t *testing.T) {
	t.Parallel()
	viaCty := func(s string) float64 {
		n, err := cty.ParseNumberVal(s)
		if err != nil {
			t.Fatalf("cty.ParseNumberVal(%q): %v", s, err)
		}
		f, _ := n.AsBigFloat().Float64()
		return f
	}
	check := func(s string) {
		t.Helper()
		got, want := floatOf(s), viaCty(s)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("floatOf(%q) = %v, cty gives %v", s, got, want)
		}
	}
	// Float64 midpoints and their neighbours, written out exactly.
	for _, f := range []float64{1, 3, 1e-5, 0.1, 1 << 53, 1e22, 1e23, 123456.789, 5e-100, 7e99} {
		next := math.Nextafter(f, math.Inf(1))
		mid := new(big.Float).SetPrec(2000).Add(new(big.Float).SetFloat64(f), new(big.Float).SetFloat64(next))
		mid.Quo(mid, big.NewFloat(2).SetPrec(2000))
		exact := mid.Text('e', -1)
		check(exact)
		check(strings.Replace(exact, "e", "1e", 1))
		check(strings.Replace(exact, "e", "0000000001e", 1))
		// Past the midpoint by less than cty's 512 bits can tell: cty
		// rounds to the midpoint, then to even.
		check(strings.Replace(exact, "e", strings.Repeat("0", 120)+"1e", 1))
		check(strconv.FormatFloat(f, 'e', -1, 64))
		check(strconv.FormatFloat(f, 'e', 39, 64))
		check(strconv.FormatFloat(next, 'e', 16, 64))
	}
	// An integer next to a midpoint, too long for 512 bits.
	mid := new(big.Int).Lsh(big.NewInt(1<<53+1), 550)
	for _, d := range []int64{-1, 0, 1} {
		n := new(big.Int).Add(mid, big.NewInt(d))
		check(n.String())
		check(n.String() + "e-100")
	}
	for _, s := range []string{
		"0", "-0", "0.0", "-0e10", "1e100", "1e-100", "1e101", "1e-101", "9.9e100",
		"1234567890123456789012345678901234567890", "12345678901234567890123456789012345678901",
		"4503599627370496.5", "4503599627370497.5", "9007199254740993", "9007199254740995",
		"2.2250738585072011e-308", "4.9e-324", "2.4703282292062327e-324", "1.7976931348623157e308",
		"1.7976931348623158e308", "1.7976931348623159e308", "1e400", "-1e400", "1e-400",
	} {
		check(s)
	}
}

// benchJSONBody is a canonical event padded to 2 KB, as in the ingest
// benchmark.
func benchJSONBody(n int) []byte {
	head := fmt.Sprintf(`{"id":"bench-%d","type":"checkout.updated","occurred_at":"2026-11-22T10:00:00Z",`+
		`"customer":{"email":"user%d@example.com","external_ids":{"shop":"%d"}},"traits":{"first_name":"Jane"},`+
		`"properties":{"checkout_id":"chk-%d","value":199.0,"currency":"USD",`+
		`"items":[{"product_id":"p-1","sku":"SKU-1","name":"Shoe","price":99.5,"quantity":2}],"note":"`, n, n%5000, n%5000, n)
	tail := `"}}`
	return []byte(head + strings.Repeat("x", max(0, 2048-len(head)-len(tail))) + tail)
}

// BenchmarkJSONParse parses a 2 KB canonical event with the default
// mapping, through the fast path and through the HCL expressions.
func BenchmarkJSONParse(b *testing.B) {
	fast := buildHCL(b, canonicalConfig)
	body := benchJSONBody(1)
	for _, bc := range []struct {
		name string
		a    source.Adapter
	}{{"fast", fast}, {"hcl", hclPath(fast)}} {
		b.Run(bc.name, func(b *testing.B) {
			req := jsonRequest(string(body))
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := bc.a.Parse(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCollidingKeys checks that keys which NFC-normalize alike ("é" written
// precomposed and decomposed, "K" and the Kelvin sign) give the same event
// every time on both paths: the greatest raw key wins. cty.ObjectVal alone
// would let map order decide.
func TestCollidingKeys(t *testing.T) {
	t.Parallel()
	fast := buildHCL(t, canonicalConfig)
	body := `{"type":"x","customer":{"id":"c","external_ids":{"K":"k","\u212a":"kelvin"}},` +
		`"properties":{"e\u0301":"decomposed","\u00e9":"precomposed"}}`
	for _, a := range []source.Adapter{fast, hclPath(fast)} {
		for range 20 {
			evs, err := parseEvents(a, jsonRequest(body))
			if err != nil {
				t.Fatal(err)
			}
			if got := evs[0].Properties["\u00e9"]; got != "precomposed" || len(evs[0].Properties) != 1 {
				t.Fatalf("properties = %v, want only é: precomposed", evs[0].Properties)
			}
			if got := evs[0].Customer.ExternalIDs; len(got) != 1 || got["K"] != "kelvin" {
				t.Fatalf("external ids = %v, want K: kelvin", got)
			}
		}
	}
}
