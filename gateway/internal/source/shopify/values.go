package shopify

import (
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// Payloads are read as generic JSON (source.Object) with the framework's
// accessors (source.Str, source.IDOf, source.Money, ...) rather than typed
// structs, because Shopify's fields drift between API versions and relays:
// an id or a price may be a number in one delivery and a string in the
// next. What is Shopify's own is below.

// maxItems bounds the items copied into one event: a 1,000-line wholesale
// order must not make an event too large to commit.
const maxItems = 100

// timestamp parses m[key] as an RFC 3339 time. Shopify's times carry an
// offset ("2024-11-05T21:54:49-05:00"); a time that does not parse is
// unknown rather than an error, since it only dates the event.
func timestamp(m source.Object, key string) time.Time {
	return parseTime(source.Str(m, key))
}

// parseTime parses an RFC 3339 time (fractional seconds allowed) to UTC.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
