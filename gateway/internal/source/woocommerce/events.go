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
func event(topic, deliveryID string, b source.Object) (*sdk.Event, error) {
	resource, _, _ := strings.Cut(topic, ".")
	if (resource == "order" || resource == "customer") && source.IDOf(b, "id") == "" {
		return nil, fmt.Errorf("%w: the %s body has no id; WooCommerce sends the %s as the REST API returns it", source.ErrBadPayload, source.Truncate(topic, 64), resource)
	}
	ev := &sdk.Event{DeliveryID: deliveryID, Properties: map[string]any{}}
	switch topic {
	case "order.created":
		ev.Type = "order.placed"
		order(ev, b)
	case "order.updated":
		status := strings.ToLower(source.Str(b, "status"))
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
			source.SetStr(ev.Properties, "id", source.IDOf(b, "id"))
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
func order(ev *sdk.Event, o source.Object) {
	billing := source.Obj(o, "billing")
	ev.Customer = sdk.Customer{
		Email: source.Email(source.Str(billing, "email")),
		Phone: source.First(source.Phone(source.Str(billing, "phone")), source.Phone(source.Str(source.Obj(o, "shipping"), "phone"))),
	}
	if cid := source.IDOf(o, "customer_id"); cid != "" {
		ev.Customer.ExternalIDs = map[string]string{Kind: cid}
	}
	ev.Traits = names(billing)
	p := ev.Properties
	source.SetStr(p, "order_id", source.IDOf(o, "id"))
	source.SetStr(p, "order_number", source.First(source.Str(o, "number"), source.IDOf(o, "id")))
	source.SetStr(p, "status", source.Str(o, "status"))
	source.SetStr(p, "currency", source.Currency(source.Str(o, "currency")))
	source.SetMoney(p, "value", o, "total")
	source.SetMoney(p, "tax", o, "total_tax")
	source.SetMoney(p, "shipping", o, "shipping_total")
	source.SetMoney(p, "discount", o, "discount_total")
	lines := source.List(o, "line_items")
	if len(lines) > 0 {
		var subtotal float64
		for _, l := range lines {
			if lo, ok := l.(map[string]any); ok {
				f, _ := source.Money(lo, "subtotal")
				subtotal += f
			}
		}
		p["subtotal"] = source.RoundAmount(subtotal)
		p["items"] = items(lines)
	}
	var coupons []string
	for _, c := range source.List(o, "coupon_lines") {
		if co, ok := c.(map[string]any); ok {
			if code := source.Str(co, "code"); code != "" {
				coupons = append(coupons, code)
			}
		}
	}
	source.SetStr(p, "coupon", strings.Join(coupons, ","))
	source.SetStr(p, "payment_method", source.Str(o, "payment_method"))
	source.SetStr(p, "payment_url", source.Str(o, "payment_url"))
	source.SetStr(p, "created_via", source.Str(o, "created_via"))
	source.SetStr(p, "paid_at", source.FormatTime(gmt(o, "date_paid_gmt")))
	source.SetStr(p, "completed_at", source.FormatTime(gmt(o, "date_completed_gmt")))
	if total, ok := refundTotal(o); ok {
		p["refunded"] = total
		for _, r := range source.List(o, "refunds") {
			if ro, ok := r.(map[string]any); ok {
				if reason := source.Str(ro, "reason"); reason != "" {
					source.SetStr(p, "reason", reason)
					break
				}
			}
		}
	}
}

// refundTotal sums an order's refunds (WooCommerce lists each with a
// negative total); ok is false when there are none.
func refundTotal(o source.Object) (float64, bool) {
	refunds := source.List(o, "refunds")
	var sum float64
	found := false
	for _, r := range refunds {
		ro, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if f, ok := source.Money(ro, "total"); ok {
			sum += math.Abs(f)
			found = true
		}
	}
	return source.RoundAmount(sum), found
}

// customer fills a customer.* event: the person is the payload itself
// (customer.deleted carries only the id).
func customer(ev *sdk.Event, c source.Object) {
	billing := source.Obj(c, "billing")
	ev.Customer = sdk.Customer{
		Email:       source.First(source.Email(source.Str(c, "email")), source.Email(source.Str(billing, "email"))),
		Phone:       source.Phone(source.Str(billing, "phone")),
		ExternalIDs: map[string]string{Kind: source.IDOf(c, "id")},
	}
	t := map[string]any{}
	source.SetStr(t, "first_name", source.First(source.Str(c, "first_name"), source.Str(billing, "first_name")))
	source.SetStr(t, "last_name", source.First(source.Str(c, "last_name"), source.Str(billing, "last_name")))
	source.SetStr(t, "phone", ev.Customer.Phone)
	source.SetStr(t, "city", source.First(source.Str(billing, "city"), source.Str(source.Obj(c, "shipping"), "city")))
	source.SetStr(t, "country", source.First(source.Str(billing, "country"), source.Str(source.Obj(c, "shipping"), "country")))
	source.SetStr(t, "username", source.Str(c, "username"))
	source.SetStr(t, "created_at", source.FormatTime(gmt(c, "date_created_gmt")))
	if len(t) > 0 {
		ev.Traits = t
	}
	p := ev.Properties
	source.SetStr(p, "customer_id", source.IDOf(c, "id"))
	source.SetStr(p, "role", source.Str(c, "role"))
	if b, ok := source.Bool(c, "is_paying_customer"); ok {
		p["is_paying_customer"] = b
	}
}

// genericCustomer identifies the person of a payload this kind does not
// model, wherever WooCommerce usually puts one.
func genericCustomer(b source.Object) sdk.Customer {
	billing := source.Obj(b, "billing")
	cust := sdk.Customer{
		Email: source.First(source.Email(source.Str(b, "email")), source.Email(source.Str(billing, "email"))),
		Phone: source.Phone(source.Str(billing, "phone")),
	}
	if cid := source.IDOf(b, "customer_id"); cid != "" {
		cust.ExternalIDs = map[string]string{Kind: cid}
	}
	return cust
}

// names are the first_name and last_name traits of an address, or nil.
func names(a source.Object) map[string]any {
	fn, ln := source.Str(a, "first_name"), source.Str(a, "last_name")
	if fn == "" && ln == "" {
		return nil
	}
	t := map[string]any{}
	source.SetStr(t, "first_name", fn)
	source.SetStr(t, "last_name", ln)
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
		source.SetStr(it, "product_id", source.IDOf(li, "product_id"))
		source.SetStr(it, "variant_id", source.IDOf(li, "variation_id"))
		source.SetStr(it, "sku", source.Str(li, "sku"))
		source.SetStr(it, "name", html.UnescapeString(source.Str(li, "name")))
		qty, hasQty := source.Money(li, "quantity")
		if hasQty {
			it["quantity"] = qty
		}
		if f, ok := source.Money(li, "price"); ok {
			it["price"] = f
		} else if total, ok := source.Money(li, "total"); ok && hasQty && qty != 0 {
			it["price"] = source.RoundAmount(total / qty)
		}
		source.SetStr(it, "image_url", source.Str(source.Obj(li, "image"), "src"))
		out = append(out, it)
	}
	return out
}
