package stripe

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// fields reads typed values out of a decoded Stripe object. A field of the
// wrong type is remembered as the first error (reported as a bad payload
// naming the field) and read as absent, so the mapping code stays linear.
type fields struct {
	err error
}

// object returns v as a JSON object, or nil.
func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// dig follows keys through nested objects; nil when any step is missing.
func dig(o map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		if o = object(o[k]); o == nil {
			return nil
		}
	}
	return o
}

// fail records the first type error.
func (f *fields) fail(path, want string, v any) {
	if f.err == nil {
		f.err = fmt.Errorf("%w: %s must be %s, got %s", source.ErrBadPayload, path, want, source.JSONType(v))
	}
}

// str reads a string field; null and missing are "".
func (f *fields) str(o map[string]any, path, key string) string {
	switch v := o[key].(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	default:
		f.fail(path+"."+key, "a string", v)
		return ""
	}
}

// ref reads a field holding another Stripe object's id: the id string, or
// the object itself when the field was expanded.
func (f *fields) ref(o map[string]any, path, key string) string {
	if m := object(o[key]); m != nil {
		return f.str(m, path+"."+key, "id")
	}
	return f.str(o, path, key)
}

// integer reads an integer field (Stripe amounts, counts and unix times).
func (f *fields) integer(o map[string]any, path, key string) (int64, bool) {
	switch v := o[key].(type) {
	case nil:
		return 0, false
	case json.Number:
		n, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			f.fail(path+"."+key, "an integer", v)
			return 0, false
		}
		return n, true
	default:
		f.fail(path+"."+key, "an integer", v)
		return 0, false
	}
}

// boolean reads a boolean field.
func (f *fields) boolean(o map[string]any, path, key string) (bool, bool) {
	switch v := o[key].(type) {
	case nil:
		return false, false
	case bool:
		return v, true
	default:
		f.fail(path+"."+key, "true or false", v)
		return false, false
	}
}

// unixTime reads a unix-seconds field as RFC 3339 (UTC); "" when absent.
func (f *fields) unixTime(o map[string]any, path, key string) string {
	n, ok := f.integer(o, path, key)
	if !ok || n <= 0 || n >= maxUnix {
		return ""
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}

// maxUnix is 10000-01-01T00:00:00Z: a larger time has no RFC 3339 form.
const maxUnix = 253402300800

// props accumulates an event's properties, leaving out empty values.
type props map[string]any

func (p props) str(name, v string) {
	if v != "" {
		p[name] = v
	}
}

func (p props) money(name string, minor int64, ok bool, currency string) {
	if ok {
		p[name] = majorUnits(minor, currency)
	}
}

func (p props) integer(name string, v int64, ok bool) {
	if ok {
		p[name] = float64(v)
	}
}

func (p props) boolean(name string, v, ok bool) {
	if ok {
		p[name] = v
	}
}

// majorUnits converts a Stripe amount to major units. Stripe follows ISO
// 4217 except for two currencies: it keeps ISK two-decimal in the API (100
// is one króna) and treats MGA as zero-decimal.
func majorUnits(minor int64, currency string) float64 {
	switch currency {
	case "ISK":
		return float64(minor) / 100
	case "MGA":
		return float64(minor)
	}
	return source.MajorUnits(minor, currency)
}

// metadata copies an object's metadata (Stripe allows only string values)
// for rules to match on; nil when empty.
func metadata(o map[string]any) map[string]any {
	md := object(o["metadata"])
	if len(md) == 0 {
		return nil
	}
	out := make(map[string]any, len(md))
	for k, v := range md {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// changedFields lists the attributes an *.updated event says changed
// (data.previous_attributes), sorted; nil when none.
func changedFields(prev map[string]any) []any {
	if len(prev) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(prev))
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

// splitName splits a full name into first and last name at the first
// space: "Jane van Dyke" → "Jane", "van Dyke". A single word is a first
// name only.
func splitName(name string) (first, last string) {
	first, last, _ = strings.Cut(strings.Join(strings.Fields(name), " "), " ")
	return first, last
}
