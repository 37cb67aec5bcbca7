package woocommerce

import (
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// Payloads are read as generic JSON (source.Object) with the framework's
// accessors (source.Str, source.IDOf, source.Money, ...) rather than typed
// structs, because WooCommerce's fields drift between versions and plugins:
// a line item's price is a number, its totals strings, and an extension
// may change either. What is WooCommerce's own is below.

// maxItems bounds the items copied into one event: a 1,000-line wholesale
// order must not make an event too large to commit.
const maxItems = 100

// gmt parses m[key] as one of WooCommerce's *_gmt times
// ("2017-03-22T19:28:02", UTC without an offset). RFC 3339 with an offset
// is read too. A time that does not parse is unknown rather than an
// error, since it only dates the event.
func gmt(m source.Object, key string) time.Time {
	s := source.Str(m, key)
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
