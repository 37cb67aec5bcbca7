package segment

import (
	"encoding/json"
	"math"
	"strings"
	"unicode/utf8"
)

// snakeCase turns a Segment name ("Course Clicked", "subscriptionPlan",
// "postalCode", "HTMLVersion") into snake_case ASCII: a word boundary
// (space, punctuation, a change to upper case, the end of an acronym)
// becomes one "_"; characters outside [A-Za-z0-9] are boundaries.
func snakeCase(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	sep := false
	var prev rune
	for i, r := range s {
		upper := r >= 'A' && r <= 'Z'
		lowerOrDigit := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !upper && !lowerOrDigit {
			sep = b.Len() > 0
			prev = r
			continue
		}
		if upper && b.Len() > 0 {
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			switch {
			case (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9'):
				sep = true // subscriptionPlan
			case prev >= 'A' && prev <= 'Z' && next >= 'a' && next <= 'z':
				sep = true // HTMLVersion
			}
		}
		if sep {
			b.WriteByte('_')
			sep = false
		}
		prev = r
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
		if b.Len() > 120 {
			break
		}
	}
	return b.String()
}

// plain converts a decoded JSON value for an event's properties or
// traits: json.Number becomes float64 (or its text when it does not fit),
// so events always encode and read back the same.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return x.String()
		}
		return f
	case map[string]any:
		return plainMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// plainMap applies plain to every value of a map, into a new map.
func plainMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = plain(v)
	}
	return out
}
