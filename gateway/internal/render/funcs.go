package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// funcs returns the helpers every part of a template can call, on top of
// Go's built-in template functions. Each call gets its own map since
// Funcs keeps the one it is given.
func funcs() map[string]any {
	return map[string]any{
		"money":   money,
		"date":    date,
		"default": orDefault,
	}
}

// money formats an amount in major units in a currency with English
// conventions and the currency's own number of decimals: $1,234.50,
// €12.00, CHF 12.00, ¥1,235, -$5.00. Halves round away from zero, on the
// amount as written (1.005 is 1.01).
func money(amount any, code any) (string, error) {
	s, ok := code.(string)
	if !ok {
		return "", fmt.Errorf("currency %s is not an ISO 4217 code such as \"USD\"", describe(code))
	}
	unit, err := currency.ParseISO(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("currency %q is not an ISO 4217 code such as \"USD\"", s)
	}
	x, err := toFloat(amount)
	if err != nil {
		return "", err
	}
	scale, _ := currency.Standard.Rounding(unit)
	digits := roundHalfUp(strconv.FormatFloat(math.Abs(x), 'f', -1, 64), scale)
	rounded, err := strconv.ParseFloat(digits, 64)
	if err != nil {
		return "", fmt.Errorf("amount %v: %w", amount, err)
	}
	p := message.NewPrinter(language.English)
	num := p.Sprint(number.Decimal(rounded, number.Scale(scale)))
	sym := p.Sprint(currency.Symbol(unit))
	if r, _ := utf8.DecodeLastRuneInString(sym); unicode.IsLetter(r) {
		sym += " " // CHF 12.00, not CHF12.00
	}
	sign := ""
	if x < 0 && rounded != 0 {
		sign = "-"
	}
	return sign + sym + num, nil
}

// decimalRE is what a string amount may look like: no hex, no
// underscores, no NaN or Inf.
var decimalRE = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

func toFloat(v any) (float64, error) {
	var x float64
	switch v := v.(type) {
	case float64:
		x = v
	case float32:
		x = float64(v)
	case int:
		x = float64(v)
	case int8:
		x = float64(v)
	case int16:
		x = float64(v)
	case int32:
		x = float64(v)
	case int64:
		x = float64(v)
	case uint:
		x = float64(v)
	case uint8:
		x = float64(v)
	case uint16:
		x = float64(v)
	case uint32:
		x = float64(v)
	case uint64:
		x = float64(v)
	case json.Number:
		return toFloat(string(v))
	case string:
		s := strings.TrimSpace(v)
		if !decimalRE.MatchString(s) {
			return 0, fmt.Errorf("amount %q is not a number", v)
		}
		var err error
		if x, err = strconv.ParseFloat(s, 64); err != nil {
			return 0, fmt.Errorf("amount %q is not a number", v)
		}
	default:
		return 0, fmt.Errorf("amount %s is not a number", describe(v))
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("amount %v is not a finite number", x)
	}
	return x, nil
}

// roundHalfUp rounds a non-negative decimal string ("1234.505") to scale
// decimals, halves away from zero ("1234.51" for 2).
func roundHalfUp(s string, scale int) string {
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) <= scale {
		return s
	}
	up := frac[scale] >= '5'
	digits := []byte(intPart + frac[:scale])
	for i := len(digits) - 1; up && i >= 0; i-- {
		if digits[i] == '9' {
			digits[i] = '0'
			continue
		}
		digits[i]++
		up = false
	}
	out := string(digits)
	if up {
		out = "1" + out
	}
	if scale == 0 {
		return out
	}
	return out[:len(out)-scale] + "." + out[len(out)-scale:]
}

// dateLayouts are the string forms date accepts: RFC 3339 (what fire data
// and event JSON carry, fractional seconds allowed), a plain date, and a
// date without a year as the date plugin writes it ("--03-14", year 0).
var dateLayouts = []string{time.RFC3339Nano, time.DateOnly, "--01-02"}

// date formats a time with a Go layout. A time.Time is shown as Render
// presents it, in the customer's location; a string keeps the offset it
// was written with.
func date(layout string, v any) (string, error) {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case *time.Time:
		if v == nil {
			return "", errors.New("no time to format (nil)")
		}
		t = *v
	case string:
		var err error
		for _, l := range dateLayouts {
			if t, err = time.Parse(l, strings.TrimSpace(v)); err == nil {
				break
			}
		}
		if err != nil {
			return "", fmt.Errorf("%q is not a time: write RFC 3339 (2006-01-02T15:04:05Z07:00), a date (2006-01-02) or a day of the year (--01-02)", v)
		}
	default:
		return "", fmt.Errorf("%s is not a time", describe(v))
	}
	if t.IsZero() {
		return "", errors.New("no time to format (the zero time: the value is unknown)")
	}
	return t.Format(layout), nil
}

// orDefault is `default DEFAULT VALUE`: VALUE unless it is nil, an empty
// string, map or list, zero or false, else DEFAULT. The value comes last
// so that it can be piped: {{ index .Customer.Traits "first_name" | default "there" }}.
func orDefault(def any, v ...any) (any, error) {
	switch len(v) {
	case 0:
		return def, nil
	case 1:
	default:
		return nil, fmt.Errorf("default takes a default and one value, not %d values", len(v))
	}
	if empty(v[0]) {
		return def, nil
	}
	return v[0], nil
}

func empty(v any) bool {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return true
	}
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.String:
		return rv.Len() == 0
	}
	return rv.IsZero()
}

// describe names a value that has the wrong type for an error message.
func describe(v any) string {
	if v == nil {
		return "nil (no value)"
	}
	return fmt.Sprintf("%v (%T)", v, v)
}
