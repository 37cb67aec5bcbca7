package source

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Email normalises an email address for identity: trimmed and lower-cased.
// Anything without an @ is not an email and yields "".
func Email(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexByte(s, '@'); i <= 0 || i == len(s)-1 {
		return ""
	}
	return s
}

// Phone normalises a phone number towards E.164 where it can: spaces,
// dashes, dots and brackets go; a leading 00 becomes +. A number without a
// country code cannot be placed, so it is returned with its digits only.
// Anything with letters or too few digits yields "".
func Phone(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
		case unicode.IsLetter(r):
			return "" // "ext. 12", vanity numbers: not an identity we can match
		}
	}
	out := b.String()
	if strings.HasPrefix(out, "00") {
		out = "+" + out[2:]
	}
	digits := strings.TrimPrefix(out, "+")
	if len(digits) < 6 || len(digits) > 15 {
		return ""
	}
	return out
}

// currencyExponents lists ISO 4217 currencies whose minor unit is not
// 1/100: zero-decimal and three-decimal currencies.
var currencyExponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// CurrencyExponent is the number of decimals of a currency's minor unit
// (2 unless ISO 4217 says otherwise).
func CurrencyExponent(currency string) int {
	if e, ok := currencyExponents[strings.ToUpper(currency)]; ok {
		return e
	}
	return 2
}

// MajorUnits converts an amount in minor units (cents; yen for JPY) to
// major units: 1999 USD → 19.99, 1999 JPY → 1999.
func MajorUnits(minor int64, currency string) float64 {
	return float64(minor) / math.Pow10(CurrencyExponent(currency))
}

// MaxAmount bounds money amounts: far above any real order, low enough
// that sums of amounts stay finite (a non-finite number cannot be stored).
const MaxAmount = 1e15

// Amount reads a money amount given as a number or a decimal string
// ("600.00", as Shopify and WooCommerce send them). Amounts beyond
// ±MaxAmount are refused.
func Amount(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(x.String(), 64); err != nil {
			return 0, fmt.Errorf("amount %s is not a number", Truncate(x.String(), 32))
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, fmt.Errorf("amount %q is not a number", Truncate(x, 32))
		}
	case nil:
		return 0, nil
	default:
		return 0, fmt.Errorf("amount of type %T is not a number", v)
	}
	if math.IsNaN(f) || math.Abs(f) > MaxAmount {
		return 0, fmt.Errorf("amount %v is out of range", f)
	}
	return f, nil
}

// Currency normalises an ISO 4217 code to upper case; anything else is "".
func Currency(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 3 {
		return ""
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return ""
		}
	}
	return s
}

// TopicType names the event for a vendor topic the kind does not map:
// "<kind>.<topic>", with the topic lower-cased, "/" and spaces turned into
// dots and anything else outside [a-z0-9_-] into "_". Unknown topics thus
// still arrive, as events a rule can match.
func TopicType(kind, topic string) string {
	var b strings.Builder
	b.WriteString(kind)
	b.WriteByte('.')
	lastDot := true
	for _, r := range strings.ToLower(strings.TrimSpace(topic)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
			lastDot = false
		case r == '/' || r == '.' || r == ' ':
			if !lastDot {
				b.WriteByte('.')
				lastDot = true
			}
		default:
			b.WriteByte('_')
			lastDot = false
		}
		if b.Len() > 120 {
			break
		}
	}
	out := strings.TrimSuffix(b.String(), ".")
	if strings.HasSuffix(out, ".") || out == kind {
		return kind + ".unknown"
	}
	return out
}

// ValidType reports whether s is a valid event type: full-stop delimited
// words of ASCII letters, digits, '_', ':' and '-', as in
// "checkout.updated" (^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$). The empty
// string is not valid. Length limits are the caller's. The json and
// standard kinds both apply it (the Standard Webhooks specification only
// recommends [a-zA-Z0-9_]).
func ValidType(s string) bool {
	for word := range strings.SplitSeq(s, ".") {
		if word == "" {
			return false
		}
		for _, c := range []byte(word) {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '-'
			if !ok {
				return false
			}
		}
	}
	return true
}

// ID turns a JSON id (string or number) into its exact decimal string: a
// 64-bit numeric id such as Shopify's survives when the body was decoded
// with UseNumber (DecodeJSON does).
func ID(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	}
	return ""
}
