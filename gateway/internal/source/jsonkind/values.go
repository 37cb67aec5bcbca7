package jsonkind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// maxJSONDepth bounds the nesting of a body; deeper bodies are rejected
// before any value is built, so a hostile body cannot make the recursive
// conversions below use unbounded stack.
const maxJSONDepth = 64

// maxIDBits bounds the binary exponent of a number used as an id (2^128 is
// 39 decimal digits, well past any vendor's numeric ids).
const maxIDBits = 128

// jsonDepthExceeds reports whether the nesting of arrays and objects in b
// goes beyond limit. Brackets inside strings do not count. For malformed
// input the answer is only an estimate; the decoder rejects such input.
func jsonDepthExceeds(b []byte, limit int) bool {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > limit {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// decodeJSON parses a body into a cty value, keeping numbers exact (cty
// numbers are big.Float, so a 64-bit id survives).
func decodeJSON(b []byte) (cty.Value, error) {
	v, err := decodeBody(b)
	if err != nil {
		return cty.NilVal, err
	}
	return goToCty(v)
}

// decodeBody parses a body with encoding/json, numbers as json.Number. It
// refuses invalid UTF-8, nesting deeper than maxJSONDepth, an empty body and
// data after the value. Both the HCL path and the fast path start here.
func decodeBody(b []byte) (any, error) {
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: body is not valid UTF-8", source.ErrBadPayload)
	}
	if jsonDepthExceeds(b, maxJSONDepth) {
		return nil, fmt.Errorf("%w: body nests deeper than %d levels", source.ErrBadPayload, maxJSONDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: body is empty; send a JSON object", source.ErrBadPayload)
		}
		return nil, fmt.Errorf("%w: body is not valid JSON: %v", source.ErrBadPayload, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: body has data after the JSON value", source.ErrBadPayload)
	}
	return v, nil
}

// goToCty converts a value decoded with UseNumber. Arrays become tuples,
// since JSON arrays may mix types.
func goToCty(v any) (cty.Value, error) {
	switch v := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case bool:
		return cty.BoolVal(v), nil
	case string:
		return cty.StringVal(v), nil
	case json.Number:
		n, err := cty.ParseNumberVal(string(v))
		if err != nil {
			return cty.NilVal, numberRangeError(v)
		}
		return n, nil
	case []any:
		if len(v) == 0 {
			return cty.EmptyTupleVal, nil
		}
		elems := make([]cty.Value, len(v))
		for i, e := range v {
			ev, err := goToCty(e)
			if err != nil {
				return cty.NilVal, err
			}
			elems[i] = ev
		}
		return cty.TupleVal(elems), nil
	case map[string]any:
		if len(v) == 0 {
			return cty.EmptyObjectVal, nil
		}
		attrs := make(map[string]cty.Value, len(v))
		for k, e := range v {
			ev, err := goToCty(e)
			if err != nil {
				return cty.NilVal, err
			}
			attrs[k] = ev
		}
		if !asciiKeys(v) {
			// cty.ObjectVal NFC-normalizes the keys; of several that
			// normalize alike, keep only the one ctyKeys picks, so the
			// object does not depend on map order.
			kept := ctyKeys(v)
			for k := range attrs {
				if kept[cty.NormalizeString(k)] != k {
					delete(attrs, k)
				}
			}
		}
		return cty.ObjectVal(attrs), nil
	default:
		return cty.NilVal, fmt.Errorf("%w: unexpected JSON value %T", source.ErrBadPayload, v)
	}
}

// numberRangeError refuses a body holding a number cty cannot represent
// (an exponent beyond big.Float's range).
func numberRangeError(n json.Number) error {
	return fmt.Errorf("%w: number %s is out of range", source.ErrBadPayload, truncate(string(n), 32))
}

// isASCII reports whether s is ASCII, and so already in the NFC form cty
// gives every string.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiKeys reports whether every key of m is ASCII, so that cty keeps the
// keys as they are.
func asciiKeys(m map[string]any) bool {
	for k := range m {
		if !isASCII(k) {
			return false
		}
	}
	return true
}

// ctyKeys maps each attribute name cty gives the object m (its key,
// NFC-normalized by cty.ObjectVal) to the key of m it is taken from: when
// several keys normalize alike, the greatest one.
func ctyKeys(m map[string]any) map[string]string {
	kept := make(map[string]string, len(m))
	for k := range m {
		name := cty.NormalizeString(k)
		if prev, ok := kept[name]; !ok || k > prev {
			kept[name] = k
		}
	}
	return kept
}

// headersValue is the `headers` variable: lower-cased name → first value.
// Values are made valid UTF-8 since headers are raw bytes.
func headersValue(h http.Header) cty.Value {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names) // when two spellings collide, the choice is stable
	m := make(map[string]cty.Value, len(names))
	for _, name := range names {
		key := strings.ToLower(name)
		if _, seen := m[key]; seen || len(h[name]) == 0 {
			continue
		}
		m[key] = cty.StringVal(strings.ToValidUTF8(h[name][0], "\uFFFD"))
	}
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	return cty.MapVal(m)
}

// ctyToGo converts a mapped value to the plain Go form the canonical event
// carries: string, float64, bool, nil, []any, map[string]any. path names
// the value in errors.
func ctyToGo(v cty.Value, path string) (any, error) {
	if v.IsMarked() {
		v, _ = v.Unmark()
	}
	if !v.IsKnown() {
		return nil, fmt.Errorf("%s: value is unknown", path)
	}
	if v.IsNull() {
		return nil, nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString(), nil
	case t == cty.Bool:
		return v.True(), nil
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, floatRangeError(path)
		}
		return f, nil
	case t.IsObjectType() || t.IsMapType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			key := k.AsString()
			g, err := ctyToGo(e, path+"."+key)
			if err != nil {
				return nil, err
			}
			out[key] = g
		}
		return out, nil
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		out := make([]any, 0, v.LengthInt())
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			g, err := ctyToGo(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s: cannot use a %s value", path, typeName(t))
	}
}

// ctyToObject converts a value that must be an object (properties,
// traits). Null is an absent object.
func ctyToObject(v cty.Value, path string) (map[string]any, error) {
	if v.IsMarked() {
		v, _ = v.Unmark()
	}
	if v.IsKnown() && v.IsNull() {
		return nil, nil
	}
	if t := v.Type(); !t.IsObjectType() && !t.IsMapType() {
		return nil, notAnObjectError(path, typeName(t))
	}
	g, err := ctyToGo(v, path)
	if err != nil {
		return nil, err
	}
	m, _ := g.(map[string]any)
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// ctyToID converts an identifier given as a string or a number. Numbers
// become their exact decimal form without exponent, so a 64-bit id keeps
// every digit. Null is "", and strings are trimmed.
func ctyToID(v cty.Value, path string) (string, error) {
	if v.IsMarked() {
		v, _ = v.Unmark()
	}
	if !v.IsKnown() {
		return "", fmt.Errorf("%s: value is unknown", path)
	}
	if v.IsNull() {
		return "", nil
	}
	switch v.Type() {
	case cty.String:
		return strings.TrimSpace(v.AsString()), nil
	case cty.Number:
		return numberText(v.AsBigFloat(), path)
	default:
		return "", notAnIDError(path, typeName(v.Type()))
	}
}

// floatRangeError, notAnObjectError and notAnIDError say what is wrong
// with a mapped value; the HCL path and the fast path share them.
func floatRangeError(path string) error {
	return fmt.Errorf("%s: number is out of range", path)
}

func notAnObjectError(path, got string) error {
	return fmt.Errorf("%s: want an object, got %s", path, got)
}

func notAnIDError(path, got string) error {
	return fmt.Errorf("%s: want a string or number, got %s", path, got)
}

// numberText formats a finite number exactly, without exponent. Numbers
// far outside any real id are refused: their exact text could be millions
// of digits long.
func numberText(f *big.Float, path string) (string, error) {
	if f.IsInf() {
		return "", fmt.Errorf("%s: number is out of range", path)
	}
	if exp := f.MantExp(nil); f.Sign() != 0 && (exp > maxIDBits || exp < -maxIDBits) {
		return "", fmt.Errorf("%s: number is out of range for an id; send ids as strings", path)
	}
	if f.IsInt() {
		i, _ := f.Int(nil)
		return i.String(), nil
	}
	return f.Text('f', -1), nil
}

// typeName names a type the way a sender writing JSON thinks of it.
func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "string"
	case t == cty.Number:
		return "number"
	case t == cty.Bool:
		return "boolean"
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		return "array"
	case t.IsObjectType() || t.IsMapType():
		return "object"
	default:
		return t.FriendlyName()
	}
}

// truncate shortens sender-supplied text quoted in an error. It marks the
// cut with "…" where source.Truncate writes "...": the json kind's error
// messages have always read that way, so it keeps its own.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
