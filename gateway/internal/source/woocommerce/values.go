package woocommerce

import (
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// obj is a decoded JSON object. Payloads are read as generic JSON rather
// than typed structs because WooCommerce's fields drift between versions
// and plugins (a line item's price is a number, its totals strings; an
// extension may change either); every accessor below takes whatever shape
// comes and yields the zero value for anything else, so no payload can
// panic.
type obj = map[string]any

// maxItems bounds the items copied into one event: a 1,000-line wholesale
// order must not make an event too large to commit.
const maxItems = 100

// object returns m[key] when it is an object.
func object(m obj, key string) obj {
	o, _ := m[key].(map[string]any)
	return o
}

// list returns m[key] when it is an array.
func list(m obj, key string) []any {
	l, _ := m[key].([]any)
	return l
}

// str returns m[key] as text: strings trimmed, numbers in their exact
// decimal form (ids), anything else "".
func str(m obj, key string) string {
	switch v := m[key].(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	}
	return ""
}

// id returns m[key] as an id; 0 and "0" mean none.
func id(m obj, key string) string {
	s := source.ID(m[key])
	if s == "0" {
		return ""
	}
	return s
}

// maxAmount bounds an amount (or quantity) read from a payload, so sums
// and products of them stay finite: no order is worth 10^18 of anything.
const maxAmount = 1e18

// money returns m[key] as an amount in major units; ok is false when the
// field is absent, null, not a number or beyond maxAmount.
func money(m obj, key string) (float64, bool) {
	v, present := m[key]
	if !present || v == nil {
		return 0, false
	}
	f, err := source.Amount(v)
	if err != nil || math.Abs(f) > maxAmount {
		return 0, false
	}
	return f, true
}

// setMoney copies m[key] into props[name] when it is an amount.
func setMoney(props map[string]any, name string, m obj, key string) {
	if f, ok := money(m, key); ok {
		props[name] = f
	}
}

// setStr copies a non-empty string into props[name].
func setStr(props map[string]any, name, value string) {
	if value != "" {
		props[name] = value
	}
}

// boolean returns m[key] when it is a JSON boolean.
func boolean(m obj, key string) (bool, bool) {
	b, ok := m[key].(bool)
	return b, ok
}

// gmt parses m[key] as one of WooCommerce's *_gmt times
// ("2017-03-22T19:28:02", UTC without an offset). RFC 3339 with an offset
// is read too. A time that does not parse is unknown rather than an
// error, since it only dates the event.
func gmt(m obj, key string) time.Time {
	s := str(m, key)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// rfc3339 formats a known time for a property or trait; "" when unknown.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
