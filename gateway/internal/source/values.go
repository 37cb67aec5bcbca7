package source

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// This file holds the accessors kinds use to read vendor payloads decoded
// as generic JSON (by DecodeJSON, so numbers are json.Number). Payloads are
// read this way rather than into typed structs because vendors' fields
// drift between API versions, plugins and relays (an id or a price may be a
// number in one delivery and a string in the next): every accessor takes
// whatever shape comes and yields the zero value for anything else, so no
// payload can panic.

// Object is a decoded JSON object.
type Object = map[string]any

// Obj returns m[key] when it is an object, else nil.
func Obj(m Object, key string) Object {
	o, _ := m[key].(map[string]any)
	return o
}

// List returns m[key] when it is an array, else nil.
func List(m Object, key string) []any {
	l, _ := m[key].([]any)
	return l
}

// Str returns m[key] as text, as [Text] reads it.
func Str(m Object, key string) string {
	return Text(m[key])
}

// IDOf returns m[key] as an id, as [ID] reads it; 0 and "0" mean none
// and yield "".
func IDOf(m Object, key string) string {
	s := ID(m[key])
	if s == "0" {
		return ""
	}
	return s
}

// Money returns m[key] as an amount in major units, as [Amount] reads it
// (a number or a decimal string); ok is false when the field is absent,
// null, not a number or beyond ±MaxAmount.
func Money(m Object, key string) (amount float64, ok bool) {
	v, present := m[key]
	if !present || v == nil {
		return 0, false
	}
	f, err := Amount(v)
	if err != nil {
		return 0, false
	}
	return f, true
}

// SetMoney copies m[key] into props[name] when [Money] reads an amount
// there.
func SetMoney(props map[string]any, name string, m Object, key string) {
	if f, ok := Money(m, key); ok {
		props[name] = f
	}
}

// SetStr sets props[name] to value when value is not "". Unlike [SetText]
// it takes the string as it is, without trimming.
func SetStr(props map[string]any, name, value string) {
	if value != "" {
		props[name] = value
	}
}

// Bool returns m[key] when it is a JSON boolean; ok is false otherwise.
func Bool(m Object, key string) (value, ok bool) {
	b, ok := m[key].(bool)
	return b, ok
}

// Text reads a decoded JSON value as text: a string trimmed of spaces, a
// number in its exact decimal form (ids, codes), anything else "".
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	}
	return ""
}

// FirstText is the [Text] of the first of vs whose text is not "", or "".
func FirstText(vs ...any) string {
	for _, v := range vs {
		if s := Text(v); s != "" {
			return s
		}
	}
	return ""
}

// SetText sets props[name] to the [Text] of v when that is not "".
func SetText(props map[string]any, name string, v any) {
	if s := Text(v); s != "" {
		props[name] = s
	}
}

// TextList reads a JSON array as the [Text] of its elements, leaving out
// those whose text is "". Anything but an array yields nil, as does an
// array with no text in it.
func TextList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s := Text(e); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// First returns the first of vs that is not the zero value of its type
// (the first non-empty string, the first known time), or the zero value.
func First[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return zero
}

// FormatTime formats a known time for a property or trait: RFC 3339 in
// UTC, whole seconds. The zero time (unknown) yields "".
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// RoundAmount rounds a computed amount (a sum of decimal amounts, a total
// divided by a quantity) to a millionth, so 0.1 + 0.2 surfaces as 0.3
// rather than 0.30000000000000004; no currency has more than three
// decimals.
func RoundAmount(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// Plain converts a decoded JSON value for an event's properties or
// traits, recursively: a json.Number becomes float64 (or keeps its decimal
// text when it does not fit one), so events encode and read back the same
// however their values were decoded. Objects and arrays are copied; other
// values are returned as they are.
func Plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		// A JSON number literal that parses is always finite (an overflow
		// is an error); the check keeps a json.Number made from other text,
		// such as "NaN" or "Inf", from becoming a value JSON cannot encode.
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return x.String()
		}
		return f
	case map[string]any:
		return PlainMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	}
	return v
}

// PlainMap applies [Plain] to every value of m, into a new map (an empty,
// non-nil one when m is nil).
func PlainMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = Plain(v)
	}
	return out
}

// JSONType names a decoded JSON value's type for an error message: "null",
// "a string", "a number", "a boolean", "an array", "an object"; any other
// Go value by its Go type.
func JSONType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
