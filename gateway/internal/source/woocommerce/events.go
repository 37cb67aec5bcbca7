package woocommerce

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// statusTypes maps an order's status in an order.updated delivery to its
// event. WooCommerce has no per-transition topics, so the status is the
// only signal; a status not listed (pending, on-hold, a plugin's own) is
// an order.updated.
var statusTypes = map[string]string{
	"processing": "order.paid",
	"completed":  "order.fulfilled",
	"cancelled":  "order.cancelled",
	"refunded":   "order.refunded",
	"failed":     "payment.failed",
}

// event maps a verified delivery to its event; nil means the payload
// names no person and the delivery is acknowledged without an event.
func event(topic, deliveryID string, b obj) (*sdk.Event, error) {
	resource, _, _ := strings.Cut(topic, ".")
	if (resource == "order" || resource == "customer") && id(b, "id") == "" {
		return nil, fmt.Errorf("%w: the %s body has no id; WooCommerce sends the %s as the REST API returns it", source.ErrBadPayload, truncate(topic, 64), resource)
	}
	ev := &sdk.Event{DeliveryID: deliveryID, Properties: map[string]any{}}
	switch topic {
	case "order.created":
		ev.Type = "order.placed"
		order(ev, b)
	case "order.updated":
		status := strings.ToLower(str(b, "status"))
		ev.Type = "order.updated"
		if t, ok := statusTypes[status]; ok {
			ev.Type = t
		}
		order(ev, b)
		if status == "refunded" {
			// The value of a refund is the money returned.
			if total, ok := refundTotal(b); ok {
				ev.Properties["value"] = total
			}
		}
	case "customer.created", "customer.updated", "customer.deleted":
		ev.Type = topic
		customer(ev, b)
	default:
		// order.deleted ({"id": N} only), order.restored, product.*,
		// coupon.*, action.*: passed through when they name a person.
		ev.Type = source.TopicType(Kind, topic)
		if resource == "order" {
			order(ev, b)
		} else {
			ev.Customer = genericCustomer(b)
			setStr(ev.Properties, "id", id(b, "id"))
		}
	}
	ev.OccurredAt = gmt(b, "date_modified_gmt")
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = gmt(b, "date_created_gmt")
	}
	if ev.Customer.Key() == "" {
		return nil, nil
	}
	return ev, nil
}

// order fills an order event from a REST API v3 order.
func order(ev *sdk.Event, o obj) {
	billing := object(o, "billing")
	ev.Customer = sdk.Customer{
		Email: source.Email(str(billing, "email")),
		Phone: first(source.Phone(str(billing, "phone")), source.Phone(str(object(o, "shipping"), "phone"))),
	}
	if cid := id(o, "customer_id"); cid != "" {
		ev.Customer.ExternalIDs = map[string]string{Kind: cid}
	}
	ev.Traits = names(billing)
	p := ev.Properties
	setStr(p, "order_id", id(o, "id"))
	setStr(p, "order_number", first(str(o, "number"), id(o, "id")))
	setStr(p, "status", str(o, "status"))
	setStr(p, "currency", source.Currency(str(o, "currency")))
	setMoney(p, "value", o, "total")
	setMoney(p, "tax", o, "total_tax")
	setMoney(p, "shipping", o, "shipping_total")
	setMoney(p, "discount", o, "discount_total")
	lines := list(o, "line_items")
	if len(lines) > 0 {
		var subtotal float64
		for _, l := range lines {
			if lo, ok := l.(map[string]any); ok {
				f, _ := money(lo, "subtotal")
				subtotal += f
			}
		}
		p["subtotal"] = roundSum(subtotal)
		p["items"] = items(lines)
	}
	var coupons []string
	for _, c := range list(o, "coupon_lines") {
		if co, ok := c.(map[string]any); ok {
			if code := str(co, "code"); code != "" {
				coupons = append(coupons, code)
			}
		}
	}
	setStr(p, "coupon", strings.Join(coupons, ","))
	setStr(p, "payment_method", str(o, "payment_method"))
	setStr(p, "payment_url", str(o, "payment_url"))
	setStr(p, "created_via", str(o, "created_via"))
	setStr(p, "paid_at", rfc3339(gmt(o, "date_paid_gmt")))
	setStr(p, "completed_at", rfc3339(gmt(o, "date_completed_gmt")))
	if total, ok := refundTotal(o); ok {
		p["refunded"] = total
		for _, r := range list(o, "refunds") {
			if ro, ok := r.(map[string]any); ok {
				if reason := str(ro, "reason"); reason != "" {
					setStr(p, "reason", reason)
					break
				}
			}
		}
	}
}

// refundTotal sums an order's refunds (WooCommerce lists each with a
// negative total); ok is false when there are none.
func refundTotal(o obj) (float64, bool) {
	refunds := list(o, "refunds")
	var sum float64
	found := false
	for _, r := range refunds {
		ro, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if f, ok := money(ro, "total"); ok {
			sum += math.Abs(f)
			found = true
		}
	}
	return roundSum(sum), found
}

// customer fills a customer.* event: the person is the payload itself
// (customer.deleted carries only the id).
func customer(ev *sdk.Event, c obj) {
	billing := object(c, "billing")
	ev.Customer = sdk.Customer{
		Email:       first(source.Email(str(c, "email")), source.Email(str(billing, "email"))),
		Phone:       source.Phone(str(billing, "phone")),
		ExternalIDs: map[string]string{Kind: id(c, "id")},
	}
	t := map[string]any{}
	setStr(t, "first_name", first(str(c, "first_name"), str(billing, "first_name")))
	setStr(t, "last_name", first(str(c, "last_name"), str(billing, "last_name")))
	setStr(t, "phone", ev.Customer.Phone)
	setStr(t, "city", first(str(billing, "city"), str(object(c, "shipping"), "city")))
	setStr(t, "country", first(str(billing, "country"), str(object(c, "shipping"), "country")))
	setStr(t, "username", str(c, "username"))
	setStr(t, "created_at", rfc3339(gmt(c, "date_created_gmt")))
	if len(t) > 0 {
		ev.Traits = t
	}
	p := ev.Properties
	setStr(p, "customer_id", id(c, "id"))
	setStr(p, "role", str(c, "role"))
	if b, ok := boolean(c, "is_paying_customer"); ok {
		p["is_paying_customer"] = b
	}
}

// genericCustomer identifies the person of a payload this kind does not
// model, wherever WooCommerce usually puts one.
func genericCustomer(b obj) sdk.Customer {
	billing := object(b, "billing")
	cust := sdk.Customer{
		Email: first(source.Email(str(b, "email")), source.Email(str(billing, "email"))),
		Phone: source.Phone(str(billing, "phone")),
	}
	if cid := id(b, "customer_id"); cid != "" {
		cust.ExternalIDs = map[string]string{Kind: cid}
	}
	return cust
}

// names are the first_name and last_name traits of an address, or nil.
func names(a obj) map[string]any {
	fn, ln := str(a, "first_name"), str(a, "last_name")
	if fn == "" && ln == "" {
		return nil
	}
	t := map[string]any{}
	setStr(t, "first_name", fn)
	setStr(t, "last_name", ln)
	return t
}

// items maps order line items to the item convention, at most maxItems.
// Names come HTML-escaped from the REST API ("&ndash;") and are unescaped.
func items(lines []any) []any {
	out := make([]any, 0, min(len(lines), maxItems))
	for _, l := range lines {
		if len(out) == maxItems {
			break
		}
		li, ok := l.(map[string]any)
		if !ok {
			continue
		}
		it := map[string]any{}
		setStr(it, "product_id", id(li, "product_id"))
		setStr(it, "variant_id", id(li, "variation_id"))
		setStr(it, "sku", str(li, "sku"))
		setStr(it, "name", html.UnescapeString(str(li, "name")))
		qty, hasQty := money(li, "quantity")
		if hasQty {
			it["quantity"] = qty
		}
		if f, ok := money(li, "price"); ok {
			it["price"] = f
		} else if total, ok := money(li, "total"); ok && hasQty && qty != 0 {
			it["price"] = roundSum(total / qty)
		}
		setStr(it, "image_url", str(object(li, "image"), "src"))
		out = append(out, it)
	}
	return out
}

// roundSum rounds a sum of decimal amounts to a millionth, so 0.1 + 0.2
// surfaces as 0.3 rather than 0.30000000000000004; no currency has more
// than three decimals.
func roundSum(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// first returns the first non-zero value.
func first[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return zero
}
