package source_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// decoded decodes a JSON object as kinds do, numbers as json.Number.
func decoded(t *testing.T, s string) source.Object {
	t.Helper()
	var m source.Object
	if err := source.DecodeJSON([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestObjectAccessors(t *testing.T) {
	t.Parallel()
	m := decoded(t, `{
		"o": {"k": "v"}, "l": [1, "a"], "s": "  text ", "n": 115310627314723954, "f": 1.50,
		"zero": 0, "zs": "0", "price": "19.99", "qty": 3, "huge": 1e16, "bad": "12,50", "nul": null,
		"yes": true, "no": false
	}`)

	if got := source.Obj(m, "o"); got["k"] != "v" {
		t.Errorf("Obj(o) = %v", got)
	}
	for _, key := range []string{"l", "s", "missing", "nul"} {
		if got := source.Obj(m, key); got != nil {
			t.Errorf("Obj(%s) = %v, want nil", key, got)
		}
	}
	if got := source.Obj(nil, "o"); got != nil {
		t.Errorf("Obj on a nil object = %v", got)
	}
	if got := source.List(m, "l"); len(got) != 2 {
		t.Errorf("List(l) = %v", got)
	}
	if got := source.List(m, "o"); got != nil {
		t.Errorf("List(o) = %v, want nil", got)
	}

	for key, want := range map[string]string{
		"s": "text", "n": "115310627314723954", "f": "1.50", "zero": "0",
		"o": "", "l": "", "yes": "", "nul": "", "missing": "",
	} {
		if got := source.Str(m, key); got != want {
			t.Errorf("Str(%s) = %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]string{
		"n": "115310627314723954", "s": "text", "zero": "", "zs": "", "yes": "", "missing": "",
	} {
		if got := source.IDOf(m, key); got != want {
			t.Errorf("IDOf(%s) = %q, want %q", key, got, want)
		}
	}

	for key, want := range map[string]float64{"price": 19.99, "qty": 3, "f": 1.5, "zero": 0} {
		if got, ok := source.Money(m, key); !ok || got != want {
			t.Errorf("Money(%s) = %v, %v; want %v", key, got, ok, want)
		}
	}
	for _, key := range []string{"missing", "nul", "bad", "huge", "yes", "o"} {
		if got, ok := source.Money(m, key); ok || got != 0 {
			t.Errorf("Money(%s) = %v, %v; want no amount", key, got, ok)
		}
	}

	props := map[string]any{}
	source.SetMoney(props, "value", m, "price")
	source.SetMoney(props, "tax", m, "missing")
	source.SetMoney(props, "bad", m, "bad")
	source.SetStr(props, "name", " as is ")
	source.SetStr(props, "empty", "")
	if want := (map[string]any{"value": 19.99, "name": " as is "}); !reflect.DeepEqual(props, want) {
		t.Errorf("SetMoney/SetStr = %v, want %v", props, want)
	}

	if b, ok := source.Bool(m, "yes"); !b || !ok {
		t.Errorf("Bool(yes) = %v, %v", b, ok)
	}
	if b, ok := source.Bool(m, "no"); b || !ok {
		t.Errorf("Bool(no) = %v, %v", b, ok)
	}
	for _, key := range []string{"s", "zero", "nul", "missing"} {
		if b, ok := source.Bool(m, key); b || ok {
			t.Errorf("Bool(%s) = %v, %v; want not a boolean", key, b, ok)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   any
		want string
	}{
		{" a b ", "a b"}, {json.Number("007"), "007"}, {json.Number("-1.5e3"), "-1.5e3"},
		{1.5, ""}, {true, ""}, {nil, ""}, {[]any{"a"}, ""}, {map[string]any{}, ""},
	} {
		if got := source.Text(c.in); got != c.want {
			t.Errorf("Text(%#v) = %q, want %q", c.in, got, c.want)
		}
	}

	if got := source.FirstText(nil, "  ", json.Number("42"), "later"); got != "42" {
		t.Errorf("FirstText = %q, want 42", got)
	}
	if got := source.FirstText(nil, " ", true); got != "" {
		t.Errorf("FirstText without text = %q", got)
	}
	if got := source.FirstText(); got != "" {
		t.Errorf("FirstText() = %q", got)
	}

	props := map[string]any{}
	source.SetText(props, "a", " x ")
	source.SetText(props, "n", json.Number("12"))
	source.SetText(props, "blank", "   ")
	source.SetText(props, "bool", true)
	source.SetText(props, "nil", nil)
	if want := (map[string]any{"a": "x", "n": "12"}); !reflect.DeepEqual(props, want) {
		t.Errorf("SetText = %v, want %v", props, want)
	}

	if got, want := source.TextList([]any{" a ", "", json.Number("2"), true, nil, "b"}), []string{"a", "2", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TextList = %q, want %q", got, want)
	}
	for _, in := range []any{"a", nil, []any{}, []any{" ", false}, map[string]any{"a": "b"}} {
		if got := source.TextList(in); got != nil {
			t.Errorf("TextList(%#v) = %q, want nil", in, got)
		}
	}
}

func TestFirst(t *testing.T) {
	t.Parallel()
	if got := source.First("", "a", "b"); got != "a" {
		t.Errorf("First strings = %q", got)
	}
	if got := source.First("", ""); got != "" {
		t.Errorf("First of empty strings = %q", got)
	}
	if got := source.First[string](); got != "" {
		t.Errorf("First() = %q", got)
	}
	ts := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	if got := source.First(time.Time{}, ts); !got.Equal(ts) {
		t.Errorf("First times = %v", got)
	}
	if got := source.First(0, 0, 3); got != 3 {
		t.Errorf("First ints = %d", got)
	}
}

func TestFormatTimeAndRoundAmount(t *testing.T) {
	t.Parallel()
	if got := source.FormatTime(time.Time{}); got != "" {
		t.Errorf("FormatTime(zero) = %q", got)
	}
	at := time.Date(2024, 11, 5, 21, 54, 49, 123456789, time.FixedZone("EST", -5*3600))
	if got := source.FormatTime(at); got != "2024-11-06T02:54:49Z" {
		t.Errorf("FormatTime = %q", got)
	}

	for in, want := range map[float64]float64{
		0.1 + 0.2: 0.3, 19.99 * 3: 59.97, 100.0 / 3: 33.333333, -0.1 - 0.2: -0.3, 0: 0, 1.0000004: 1, 1.0000006: 1.000001,
	} {
		if got := source.RoundAmount(in); got != want {
			t.Errorf("RoundAmount(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestPlain(t *testing.T) {
	t.Parallel()
	m := decoded(t, `{"a": 1.5, "b": [2, {"c": 3, "s": "x"}], "d": null, "e": true, "big": 1e400, "id": 115310627314723954}`)
	got := source.PlainMap(m)
	want := map[string]any{
		"a": 1.5, "b": []any{2.0, map[string]any{"c": 3.0, "s": "x"}}, "d": nil, "e": true,
		"big": "1e400", // too large for a float64: its text is kept
		"id":  115310627314723954.0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PlainMap = %#v\nwant %#v", got, want)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("plain values do not encode: %v", err)
	}
	// The input is copied, not changed.
	if _, ok := m["a"].(json.Number); !ok {
		t.Errorf("PlainMap changed its input: %#v", m["a"])
	}
	if got := source.Plain(m); !reflect.DeepEqual(got, want) {
		t.Errorf("Plain(object) = %#v, want PlainMap's result", got)
	}

	for _, c := range []struct {
		in, want any
	}{
		{json.Number("-2"), -2.0}, {json.Number("NaN"), "NaN"}, {json.Number("Inf"), "Inf"},
		{"s", "s"}, {nil, nil}, {false, false}, {[]any{}, []any{}},
	} {
		if got := source.Plain(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Plain(%#v) = %#v, want %#v", c.in, got, c.want)
		}
	}
	if got := source.PlainMap(nil); got == nil || len(got) != 0 {
		t.Errorf("PlainMap(nil) = %#v, want an empty map", got)
	}
	if f, ok := source.Plain(json.Number("1e-400")).(float64); !ok || f != 0 || math.Signbit(f) {
		t.Errorf("Plain(1e-400) = %#v, want 0", source.Plain(json.Number("1e-400")))
	}
}

func TestJSONType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, "null"}, {"x", "a string"}, {json.Number("1"), "a number"}, {1.5, "a number"}, {true, "a boolean"},
		{[]any{}, "an array"}, {map[string]any{}, "an object"}, {42, "int"}, {[]string{}, "[]string"},
	} {
		if got := source.JSONType(c.in); got != c.want {
			t.Errorf("JSONType(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestValidType(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"a", "order.placed", "checkout.updated", "A-b_c:d.e9", "x.y.z", "0"} {
		if !source.ValidType(ok) {
			t.Errorf("ValidType(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", ".", "a.", ".a", "a..b", "a b", "a/b", "é", "a.b!", "a\x00"} {
		if source.ValidType(bad) {
			t.Errorf("ValidType(%q) = true", bad)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 8, "short"}, {"exactly8", 8, "exactly8"}, {"longer than eight", 8, "longer t..."}, {"", 0, ""}, {"a", 0, "..."},
	} {
		if got := source.Truncate(c.in, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got := source.Truncate(strings.Repeat("x", 100), 32); len(got) != 35 {
		t.Errorf("Truncate to 32 = %d bytes, want 35", len(got))
	}
}
