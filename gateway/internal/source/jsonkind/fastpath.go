package jsonkind

// The fast path for the default mapping.
//
// Why it exists: a source without an event block maps every attribute with
// its default expression (try(body.type, null), try(body.customer.id, null),
// ...; see jsonDefaults). Evaluating those through HCL converts the whole
// body to cty (every number a 512-bit big.Float, every string
// NFC-normalized), evaluates ten expressions, and converts properties and
// traits back: the largest single cost of ingesting a json event. The
// fast path reads the decoded JSON directly instead.
//
// It MUST give what the HCL path gives for the defaults, for every body:
// the same events, or an error wrapping the same sentinel (the messages are
// the same too). So it mirrors cty's view of the JSON:
//   - a body holding a number cty cannot parse is refused, wherever the
//     number is (goToCty converts the whole body);
//   - strings and object keys are NFC-normalized as cty.StringVal and
//     cty.ObjectVal do, and of several keys that normalize alike the one
//     ctyKeys picks wins, as in goToCty;
//   - try(body.a.b, null) is null when a step is missing or is not an
//     object;
//   - numbers in properties, traits and occurred_at are cty's 512-bit value
//     rounded to float64 (floatOf), ids keep every digit (numberText);
//   - the checks run in the order of jsonAdapter.event, with the errors of
//     json.go, so the first problem found is the same.
//
// TestFastPathMatchesHCL and FuzzFastPathMatchesHCL run both paths over the
// same bodies. Changing a default, goToCty or a check in json.go means
// changing this file to match.

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// parseDefaults maps a body with the default mapping: one event for an
// object, one per item for an array of objects.
func (a *jsonAdapter) parseDefaults(b []byte) ([]sdk.Event, error) {
	root, err := decodeBody(b)
	if err != nil {
		return nil, err
	}
	if err := checkNumbers(root); err != nil {
		return nil, err
	}
	switch root := root.(type) {
	case map[string]any:
		ev, err := a.defaultEvent(root)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", source.ErrBadPayload, err)
		}
		return []sdk.Event{ev}, nil
	case []any:
		if len(root) == 0 {
			return nil, emptyArrayError()
		}
		events := make([]sdk.Event, 0, len(root))
		for i, item := range root {
			obj, ok := item.(map[string]any)
			if !ok {
				return nil, itemKindError(i, kindOf(item))
			}
			ev, err := a.defaultEvent(obj)
			if err != nil {
				return nil, fmt.Errorf("%w: item %d: %v", source.ErrBadPayload, i, err)
			}
			events = append(events, ev)
		}
		suffixSharedIDs(events)
		return events, nil
	default:
		return nil, bodyKindError(kindOf(root))
	}
}

// defaultEvent maps one object as jsonAdapter.event does with every
// attribute at its default. It may convert numbers and strings of body in
// place. The caller wraps source.ErrBadPayload.
func (a *jsonAdapter) defaultEvent(body map[string]any) (sdk.Event, error) {
	var ev sdk.Event
	var err error
	body = ctyObject(body)
	// try(body.customer.x, null) is null when customer is not an object.
	customer, _ := body["customer"].(map[string]any)
	if customer != nil {
		customer = ctyObject(customer)
	}

	if ev.Type, err = typeOf(body["type"]); err != nil {
		return ev, a.typ.fail(err)
	}

	var ids [5]string
	for i, id := range [...]struct {
		m *mapping
		v any
	}{
		{&a.deliveryID, body["id"]},
		{&a.customerID, customer["id"]},
		{&a.email, customer["email"]},
		{&a.phone, customer["phone"]},
		{&a.anonymousID, customer["anonymous_id"]},
	} {
		if ids[i], err = idOf(id.v, id.m.name); err != nil {
			return ev, id.m.fail(err)
		}
	}
	ev.DeliveryID = ids[0]
	ev.Customer = sdk.Customer{ID: ids[1], Email: strings.ToLower(ids[2]), Phone: ids[3], AnonymousID: ids[4]}

	if ev.OccurredAt, err = timeOf(body["occurred_at"], a.occurredAt.name); err != nil {
		return ev, a.occurredAt.fail(err)
	}
	if ev.Customer.ExternalIDs, err = externalIDsOf(customer["external_ids"], a.extIDs.name); err != nil {
		return ev, a.extIDs.fail(err)
	}
	if ev.Properties, err = objectOf(body["properties"], a.properties.name); err != nil {
		return ev, a.properties.fail(err)
	}
	if ev.Traits, err = objectOf(body["traits"], a.traits.name); err != nil {
		return ev, a.traits.fail(err)
	}

	if !hasIdentity(ev.Customer) {
		return ev, fmt.Errorf("%s", noIdentityMessage)
	}
	return ev, nil
}

// kindOf names a decoded value's JSON type as typeName names its cty type.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// ctyString is s as cty.StringVal keeps it: NFC-normalized.
func ctyString(s string) string {
	if isASCII(s) {
		return s
	}
	return cty.NormalizeString(s)
}

// ctyObject is m with the attribute names cty.ObjectVal gives it (see
// goToCty): m itself when every key is ASCII.
func ctyObject(m map[string]any) map[string]any {
	if asciiKeys(m) {
		return m
	}
	kept := ctyKeys(m)
	out := make(map[string]any, len(kept))
	for name, k := range kept {
		out[name] = m[k]
	}
	return out
}

// checkNumbers refuses, as goToCty does, a body holding a number that
// cty.ParseNumberVal cannot parse.
func checkNumbers(v any) error {
	switch v := v.(type) {
	case json.Number:
		if !numberParses(string(v)) {
			return numberRangeError(v)
		}
	case []any:
		for _, e := range v {
			if err := checkNumbers(e); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range v {
			if err := checkNumbers(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// numberParses reports whether cty.ParseNumberVal accepts the JSON number
// s. big.Float only fails on a decimal exponent beyond int64 or a binary
// exponent beyond int32; with at most 8 exponent digits and fewer than 1e8
// characters neither can happen, so only longer exponents are tried.
func numberParses(s string) bool {
	e := strings.IndexAny(s, "eE")
	if len(s) < 1e8 && (e < 0 || len(strings.TrimLeft(s[e+1:], "+-")) <= 8) {
		return true
	}
	_, err := cty.ParseNumberVal(s)
	return err == nil
}

// typeOf reads try(body.type, null) as eventType does.
func typeOf(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", notATypeError(kindOf(v))
	}
	return checkType(ctyString(s))
}

// idOf converts an identifier as ctyToID does: null is "", strings are
// trimmed, numbers keep every digit.
func idOf(v any, path string) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(ctyString(v)), nil
	case json.Number:
		s := string(v)
		if plainInt(s) {
			if s == "-0" {
				return "0", nil
			}
			return s, nil
		}
		f, err := ctyFloat(s)
		if err != nil {
			return "", err
		}
		return numberText(f, path)
	default:
		return "", notAnIDError(path, kindOf(v))
	}
}

// plainInt reports whether s is an integer without fraction or exponent
// of at most 38 digits. Below 10^38 < 2^127 it is exact in 512 bits and
// within maxIDBits, so numberText gives its own digits back ("-0" aside).
func plainInt(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 38 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ctyFloat is the big.Float cty holds for the JSON number s.
func ctyFloat(s string) (*big.Float, error) {
	n, err := cty.ParseNumberVal(s)
	if err != nil {
		return nil, numberRangeError(json.Number(s))
	}
	return n.AsBigFloat(), nil
}

// floatOf is the float64 the HCL path makes of the JSON number s: s rounded
// to cty's 512 bits, then to float64.
//
// When s has at most 40 digits and a decimal exponent (after moving the
// point to the end of the digits) within ±100, strconv's single correct
// rounding gives the same float64, so it answers: s = N·10^e is then
// exactly a float64 midpoint, which 512 bits hold exactly, or at least
// 2^-54·10^-40·5^-100 > 2^-420 (relative) from every midpoint, while
// big.Float's rounding of such an s moves it by less than 2^-511. Other
// numbers go through cty itself.
func floatOf(s string) float64 {
	if simpleDecimal(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	}
	f, err := ctyFloat(s)
	if err != nil {
		return math.Inf(1) // not reached: checkNumbers refused s
	}
	g, _ := f.Float64()
	return g
}

// simpleDecimal reports whether the JSON number s has at most 40 digits and
// an exponent, counted from the last digit, within ±100.
func simpleDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits, frac := 0, 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && isDigit(s[i]); i++ {
			digits++
			frac++
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		neg := i < len(s) && s[i] == '-'
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		start := i
		for ; i < len(s) && isDigit(s[i]); i++ {
			if exp > 1000 {
				return false
			}
			exp = exp*10 + int(s[i]-'0')
		}
		if i == start {
			return false
		}
		if neg {
			exp = -exp
		}
	}
	exp -= frac
	return i == len(s) && digits > 0 && digits <= 40 && exp >= -100 && exp <= 100
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// timeOf reads occurred_at as timestamp does.
func timeOf(v any, path string) (time.Time, error) {
	switch v := v.(type) {
	case nil:
		return time.Time{}, nil
	case string:
		return stringTime(ctyString(v), path)
	case json.Number:
		return unixTime(floatOf(string(v)), path)
	default:
		return time.Time{}, notATimeError(path, kindOf(v))
	}
}

// externalIDsOf reads external ids as externalIDs does, in its order (cty
// iterates an object's attributes sorted by name).
func externalIDsOf(v any, path string) (map[string]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		obj := ctyObject(v)
		var out map[string]string
		add := func(name string) error {
			key := ctyString(name)
			id, err := idOf(obj[name], path)
			if err != nil {
				// The error names the system; only then is its path built.
				_, err = idOf(obj[name], path+"."+key)
				return err
			}
			if id == "" {
				return nil
			}
			if strings.TrimSpace(key) == "" {
				return emptySystemError(path, id)
			}
			if out == nil {
				out = make(map[string]string, len(obj))
			}
			out[key] = id
			return nil
		}
		if len(obj) == 1 {
			for name := range obj {
				if err := add(name); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		for _, name := range sortedKeys(obj) {
			if err := add(name); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return nil, notExternalIDsError(path, kindOf(v))
	}
}

// objectOf reads properties or traits as ctyToObject does: null or an empty
// object is nil. It converts v in place.
func objectOf(v any, path string) (map[string]any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		g, ok := plainValue(v)
		if !ok {
			p, _ := badNumber(v, path)
			return nil, floatRangeError(p)
		}
		m := g.(map[string]any)
		if len(m) == 0 {
			return nil, nil
		}
		return m, nil
	default:
		return nil, notAnObjectError(path, kindOf(v))
	}
}

// plainValue converts a decoded value to what ctyToGo gives for its cty
// form: numbers float64, strings and keys normalized. It converts v's maps
// and slices in place where it can, and returns v itself when nothing
// changes (so as not to box it again). It reports false for a number
// beyond float64.
func plainValue(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		if isASCII(x) {
			return v, true
		}
		return cty.NormalizeString(x), true
	case json.Number:
		f := floatOf(string(x))
		return f, !math.IsInf(f, 0)
	case []any:
		for i, e := range x {
			g, ok := plainValue(e)
			if !ok {
				return nil, false
			}
			x[i] = g
		}
		return v, true
	case map[string]any:
		if asciiKeys(x) {
			for k, e := range x {
				g, ok := plainValue(e)
				if !ok {
					return nil, false
				}
				x[k] = g
			}
			return v, true
		}
		// As ctyToGo: attributes in sorted order, each key normalized
		// again by the iterator's cty.StringVal.
		obj := ctyObject(x)
		out := make(map[string]any, len(obj))
		for _, name := range sortedKeys(obj) {
			g, ok := plainValue(obj[name])
			if !ok {
				return nil, false
			}
			out[ctyString(name)] = g
		}
		return out, true
	default: // nil, bool
		return v, true
	}
}

// badNumber finds the path ctyToGo names for the first number beyond
// float64 in v, visiting objects' attributes in sorted order. v may be
// partly converted by plainValue.
func badNumber(v any, path string) (string, bool) {
	switch v := v.(type) {
	case json.Number:
		return path, math.IsInf(floatOf(string(v)), 0)
	case []any:
		for i, e := range v {
			if p, ok := badNumber(e, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case map[string]any:
		obj := ctyObject(v)
		for _, name := range sortedKeys(obj) {
			if p, ok := badNumber(obj[name], path+"."+ctyString(name)); ok {
				return p, true
			}
		}
	}
	return path, false
}
