package shopify

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// refundWindow is how close a refund's creation must be to an order's
// updated_at for an orders/updated delivery to count as that refund (see
// refundCausing).
const refundWindow = time.Minute

// delivery is one verified Shopify webhook.
type delivery struct {
	topic      string
	deliveryID string
	triggered  time.Time
	shop       string
	body       obj
}

// objectTopics are the resources whose payload is an object with an id;
// a body without one is not what Shopify sends.
var objectTopics = map[string]bool{
	"orders": true, "checkouts": true, "carts": true, "fulfillments": true, "refunds": true, "customers": true,
}

// event maps the delivery to its canonical event; nil means the object
// names no person and the delivery is acknowledged without an event.
func (d delivery) event() (*sdk.Event, error) {
	b := d.body
	resource, _, _ := strings.Cut(d.topic, "/")
	if objectTopics[resource] && id(b, "id") == "" {
		return nil, fmt.Errorf("%w: the %s body has no id; Shopify sends the %s object itself", source.ErrBadPayload, truncate(d.topic, 64), resource)
	}
	ev := &sdk.Event{DeliveryID: d.deliveryID, OccurredAt: d.triggered, Properties: map[string]any{}}
	p := ev.Properties
	switch d.topic {
	case "orders/create":
		ev.Type = "order.placed"
		order(ev, b)
	case "orders/paid":
		ev.Type = "order.paid"
		order(ev, b)
	case "orders/fulfilled", "orders/partially_fulfilled":
		ev.Type = "order.fulfilled"
		order(ev, b)
		if d.topic == "orders/partially_fulfilled" {
			p["partial"] = true
		}
		if f := newest(list(b, "fulfillments")); f != nil {
			tracking(p, f)
			setStr(p, "fulfillment_id", id(f, "id"))
		}
	case "orders/cancelled":
		ev.Type = "order.cancelled"
		order(ev, b)
		setStr(p, "reason", str(b, "cancel_reason"))
		setStr(p, "cancelled_at", rfc3339(timestamp(b, "cancelled_at")))
	case "orders/updated":
		if r := refundCausing(b); r != nil {
			// This update is a refund being recorded. Shopify's own
			// refunds/create payload names no customer, so this is where an
			// order.refunded with a person comes from; keyed by the refund
			// id, so every orders/updated the refund causes (and a
			// refunds/create) yields one event.
			ev.Type = "order.refunded"
			ev.DeliveryID = "refund:" + id(r, "id")
			ev.Customer = orderCustomer(b)
			ev.Traits = names(object(b, "customer"))
			refund(p, r, source.Currency(str(b, "currency")))
			setStr(p, "order_number", orderNumber(b))
			setStr(p, "financial_status", str(b, "financial_status"))
			break
		}
		ev.Type = "order.updated"
		order(ev, b)
	case "refunds/create":
		ev.Type = "order.refunded"
		ev.DeliveryID = "refund:" + id(b, "id")
		ev.Customer = genericCustomer(b)
		refund(p, b, "")
	case "checkouts/create", "checkouts/update":
		ev.Type = "checkout.started"
		if d.topic == "checkouts/update" {
			ev.Type = "checkout.updated"
		}
		checkout(ev, b)
	case "carts/create", "carts/update":
		ev.Type = "cart.updated"
		cart(ev, b)
	case "customers/create", "customers/update", "customers/delete", "customers/enable", "customers/disable":
		ev.Type = "customer.updated"
		switch d.topic {
		case "customers/create":
			ev.Type = "customer.created"
		case "customers/delete":
			ev.Type = "customer.deleted"
		}
		customer(ev, b)
	case "customers_email_marketing_consent/update":
		ev.Type = "customer.updated"
		emailConsent(ev, b)
	case "customers_marketing_consent/update":
		ev.Type = "customer.updated"
		smsConsent(ev, b)
	case "fulfillments/create", "fulfillments/update":
		ev.Type = "order.fulfilled"
		if strings.EqualFold(str(b, "shipment_status"), "delivered") {
			ev.Type = "order.delivered"
		}
		fulfillment(ev, b)
	default:
		ev.Type = source.TopicType(Kind, d.topic)
		ev.Customer = genericCustomer(b)
		setStr(p, "id", id(b, "id"))
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = timestamp(b, "updated_at")
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = timestamp(b, "created_at")
	}
	setStr(p, "shop_domain", d.shop)
	if ev.Customer.Key() == "" {
		return nil, nil
	}
	return ev, nil
}

// order fills an order event: the order's person and its properties.
func order(ev *sdk.Event, o obj) {
	ev.Customer = orderCustomer(o)
	ev.Traits = names(object(o, "customer"))
	p := ev.Properties
	setStr(p, "order_id", id(o, "id"))
	setStr(p, "order_number", orderNumber(o))
	setStr(p, "order_name", str(o, "name"))
	setStr(p, "checkout_id", id(o, "checkout_id"))
	setStr(p, "currency", source.Currency(str(o, "currency")))
	setMoney(p, "value", o, "total_price")
	setMoney(p, "subtotal", o, "subtotal_price")
	setMoney(p, "tax", o, "total_tax")
	setMoney(p, "discount", o, "total_discounts")
	if f, ok := money(object(object(o, "total_shipping_price_set"), "shop_money"), "amount"); ok {
		p["shipping"] = f
	} else if lines := list(o, "shipping_lines"); len(lines) > 0 {
		var sum float64
		for _, l := range lines {
			if lo, ok := l.(map[string]any); ok {
				f, _ := money(lo, "price")
				sum += f
			}
		}
		p["shipping"] = roundSum(sum)
	}
	setStr(p, "coupon", codes(list(o, "discount_codes")))
	if it := items(list(o, "line_items")); len(it) > 0 {
		p["items"] = it
	}
	setStr(p, "status_url", str(o, "order_status_url"))
	setStr(p, "financial_status", str(o, "financial_status"))
	setStr(p, "fulfillment_status", str(o, "fulfillment_status"))
	if t, ok := boolean(o, "test"); ok && t {
		p["test"] = true
	}
}

// orderNumber is the shop-facing order number: order_number, else the
// name without its "#".
func orderNumber(o obj) string {
	if n := id(o, "order_number"); n != "" {
		return n
	}
	return strings.TrimPrefix(str(o, "name"), "#")
}

// orderCustomer identifies the buyer of an order or checkout: the order's
// own email and phone first (what the buyer typed at checkout), then the
// customer account's, then the contact email and billing phone. The
// Shopify customer id is an external id; the cart token is the anonymous
// id, which links the order to the cart.updated and checkout events of the
// same cart.
func orderCustomer(o obj) sdk.Customer {
	c := object(o, "customer")
	cust := sdk.Customer{
		Email: first(source.Email(str(o, "email")), source.Email(str(c, "email")), source.Email(str(o, "contact_email"))),
		Phone: first(source.Phone(str(o, "phone")), source.Phone(str(c, "phone")),
			source.Phone(str(object(o, "billing_address"), "phone"))),
		AnonymousID: token(str(o, "cart_token")),
	}
	if cid := id(c, "id"); cid != "" {
		cust.ExternalIDs = map[string]string{Kind: cid}
	}
	return cust
}

// genericCustomer identifies the person of a payload whose shape this kind
// does not model (unknown topics, refunds): an email, phone or customer
// id wherever Shopify usually puts them.
func genericCustomer(b obj) sdk.Customer {
	c := object(b, "customer")
	cust := sdk.Customer{
		Email: first(source.Email(str(b, "email")), source.Email(str(c, "email")),
			source.Email(str(b, "contact_email")), source.Email(str(b, "email_address"))),
		Phone: first(source.Phone(str(b, "phone")), source.Phone(str(c, "phone"))),
	}
	if cid := first(id(c, "id"), id(b, "customer_id")); cid != "" {
		cust.ExternalIDs = map[string]string{Kind: cid}
	}
	return cust
}

// checkout fills a checkout event. A checkout without email or customer
// (the buyer has not typed one yet) is identified by its cart token, else
// its own token, as the anonymous id.
func checkout(ev *sdk.Event, o obj) {
	ev.Customer = orderCustomer(o)
	if ev.Customer.AnonymousID == "" {
		ev.Customer.AnonymousID = token(str(o, "token"))
	}
	ev.Traits = names(object(o, "customer"))
	p := ev.Properties
	setStr(p, "checkout_id", id(o, "id"))
	setStr(p, "checkout_token", str(o, "token"))
	setStr(p, "cart_id", token(str(o, "cart_token")))
	setStr(p, "currency", source.Currency(str(o, "currency")))
	setMoney(p, "value", o, "total_price")
	setMoney(p, "subtotal", o, "subtotal_price")
	setMoney(p, "tax", o, "total_tax")
	setMoney(p, "discount", o, "total_discounts")
	setStr(p, "coupon", codes(list(o, "discount_codes")))
	if it := items(list(o, "line_items")); len(it) > 0 {
		p["items"] = it
	}
	setStr(p, "recovery_url", str(o, "abandoned_checkout_url"))
	if t := timestamp(o, "completed_at"); !t.IsZero() {
		p["completed_at"] = rfc3339(t)
	}
}

// cart fills a cart event. Shopify's cart payloads carry no customer at
// all: the cart token is the anonymous id (the same token checkouts and
// orders carry as cart_token, so the journey joins up once an email is
// known).
func cart(ev *sdk.Event, o obj) {
	ev.Customer = genericCustomer(o)
	ev.Customer.AnonymousID = first(token(str(o, "token")), token(id(o, "id")))
	p := ev.Properties
	setStr(p, "cart_id", first(token(str(o, "token")), id(o, "id")))
	lines := list(o, "line_items")
	var value float64
	currency := ""
	for _, l := range lines {
		li, ok := l.(map[string]any)
		if !ok {
			continue
		}
		if f, ok := money(li, "line_price"); ok {
			value += f
		} else {
			price, _ := money(li, "price")
			qty, _ := money(li, "quantity")
			value += price * qty
		}
		if currency == "" {
			currency = source.Currency(str(object(object(li, "line_price_set"), "shop_money"), "currency_code"))
		}
		if currency == "" {
			currency = source.Currency(str(object(object(li, "price_set"), "shop_money"), "currency_code"))
		}
	}
	p["value"] = roundSum(value)
	setStr(p, "currency", first(source.Currency(str(o, "currency")), currency))
	p["items"] = items(lines)
}

// fulfillment fills an event from a fulfillment object
// (fulfillments/create and fulfillments/update).
func fulfillment(ev *sdk.Event, f obj) {
	ev.Customer = genericCustomer(f)
	if ev.Customer.Phone == "" {
		ev.Customer.Phone = source.Phone(str(object(f, "destination"), "phone"))
	}
	p := ev.Properties
	setStr(p, "order_id", id(f, "order_id"))
	setStr(p, "fulfillment_id", id(f, "id"))
	setStr(p, "fulfillment_name", str(f, "name"))
	setStr(p, "status", str(f, "status"))
	tracking(p, f)
	if it := items(list(f, "line_items")); len(it) > 0 {
		p["items"] = it
	}
}

// tracking copies a fulfillment's tracking fields.
func tracking(p map[string]any, f obj) {
	setStr(p, "tracking_number", first(str(f, "tracking_number"), firstString(list(f, "tracking_numbers"))))
	setStr(p, "tracking_url", first(str(f, "tracking_url"), firstString(list(f, "tracking_urls"))))
	setStr(p, "tracking_company", str(f, "tracking_company"))
	setStr(p, "shipment_status", str(f, "shipment_status"))
}

// refund copies a refund object: the money returned is the sum of its
// successful refund transactions, else of its refunded lines (subtotal
// plus tax).
func refund(p map[string]any, r obj, currency string) {
	setStr(p, "order_id", id(r, "order_id"))
	setStr(p, "refund_id", id(r, "id"))
	setStr(p, "reason", str(r, "note"))
	var value float64
	found := false
	for _, t := range list(r, "transactions") {
		to, ok := t.(map[string]any)
		if !ok || !strings.EqualFold(str(to, "kind"), "refund") {
			continue
		}
		if s := strings.ToLower(str(to, "status")); s != "" && s != "success" {
			continue
		}
		if f, ok := money(to, "amount"); ok {
			value += f
			found = true
		}
		if currency == "" {
			currency = source.Currency(str(to, "currency"))
		}
	}
	if !found {
		for _, l := range list(r, "refund_line_items") {
			lo, ok := l.(map[string]any)
			if !ok {
				continue
			}
			sub, _ := money(lo, "subtotal")
			tax, _ := money(lo, "total_tax")
			value += sub + tax
		}
	}
	p["value"] = roundSum(value)
	setStr(p, "currency", currency)
}

// refundCausing returns the refund an orders/updated delivery records: the
// order's newest refund, when it was created within refundWindow of the
// order's updated_at (Shopify stamps both with the same time). Any other
// update of an order, refunded or not, is an order.updated, so later edits
// of a refunded order do not repeat order.refunded.
func refundCausing(o obj) obj {
	updated := timestamp(o, "updated_at")
	if updated.IsZero() {
		return nil
	}
	var latest obj
	var latestAt time.Time
	for _, r := range list(o, "refunds") {
		ro, ok := r.(map[string]any)
		if !ok || id(ro, "id") == "" {
			continue
		}
		at := timestamp(ro, "created_at")
		if at.IsZero() {
			at = timestamp(ro, "processed_at")
		}
		if !at.IsZero() && (latest == nil || at.After(latestAt)) {
			latest, latestAt = ro, at
		}
	}
	if latest == nil {
		return nil
	}
	if d := updated.Sub(latestAt); d > refundWindow || d < -refundWindow {
		return nil
	}
	return latest
}

// customer fills a customers/* event: the person is the payload itself.
func customer(ev *sdk.Event, c obj) {
	ev.Customer = sdk.Customer{
		Email:       source.Email(str(c, "email")),
		Phone:       source.Phone(str(c, "phone")),
		ExternalIDs: map[string]string{Kind: id(c, "id")},
	}
	t := names(c)
	if t == nil {
		t = map[string]any{}
	}
	if ev.Customer.Phone != "" {
		t["phone"] = ev.Customer.Phone
	}
	if state := str(object(c, "email_marketing_consent"), "state"); state != "" {
		t["accepts_marketing"] = strings.EqualFold(state, "subscribed")
	} else if b, ok := boolean(c, "accepts_marketing"); ok {
		t["accepts_marketing"] = b
	}
	if state := str(object(c, "sms_marketing_consent"), "state"); state != "" {
		t["accepts_sms_marketing"] = strings.EqualFold(state, "subscribed")
	}
	addr := object(c, "default_address")
	setStr(t, "city", str(addr, "city"))
	setStr(t, "country", first(str(addr, "country_code"), str(addr, "country")))
	if tags := splitTags(str(c, "tags")); len(tags) > 0 {
		t["tags"] = tags
	}
	setStr(t, "created_at", rfc3339(timestamp(c, "created_at")))
	if len(t) > 0 {
		ev.Traits = t
	}
	p := ev.Properties
	setStr(p, "customer_id", id(c, "id"))
	setStr(p, "state", str(c, "state"))
	setMoney(p, "orders_count", c, "orders_count")
	setMoney(p, "total_spent", c, "total_spent")
	setStr(p, "currency", source.Currency(str(c, "currency")))
	if b, ok := boolean(c, "verified_email"); ok {
		p["verified_email"] = b
	}
}

// emailConsent fills a customers_email_marketing_consent/update event.
func emailConsent(ev *sdk.Event, b obj) {
	ev.Customer = sdk.Customer{Email: source.Email(str(b, "email_address"))}
	if cid := id(b, "customer_id"); cid != "" {
		ev.Customer.ExternalIDs = map[string]string{Kind: cid}
	}
	consent := object(b, "email_marketing_consent")
	if state := str(consent, "state"); state != "" {
		ev.Traits = map[string]any{"accepts_marketing": strings.EqualFold(state, "subscribed")}
		ev.Properties["consent_state"] = state
	}
	setStr(ev.Properties, "customer_id", id(b, "customer_id"))
	setStr(ev.Properties, "opt_in_level", str(consent, "opt_in_level"))
	ev.OccurredAt = first(ev.OccurredAt, timestamp(consent, "consent_updated_at"))
}

// smsConsent fills a customers_marketing_consent/update event (SMS).
func smsConsent(ev *sdk.Event, b obj) {
	ev.Customer = sdk.Customer{Phone: source.Phone(str(b, "phone"))}
	if cid := first(id(b, "id"), id(b, "customer_id")); cid != "" {
		ev.Customer.ExternalIDs = map[string]string{Kind: cid}
	}
	consent := object(b, "sms_marketing_consent")
	if state := str(consent, "state"); state != "" {
		ev.Traits = map[string]any{"accepts_sms_marketing": strings.EqualFold(state, "subscribed")}
		ev.Properties["consent_state"] = state
	}
	setStr(ev.Properties, "customer_id", first(id(b, "id"), id(b, "customer_id")))
	setStr(ev.Properties, "opt_in_level", str(consent, "opt_in_level"))
	ev.OccurredAt = first(ev.OccurredAt, timestamp(consent, "consent_updated_at"))
}

// names are the first_name and last_name traits of a customer object, or
// nil when it has neither.
func names(c obj) map[string]any {
	fn, ln := str(c, "first_name"), str(c, "last_name")
	if fn == "" && ln == "" {
		return nil
	}
	t := map[string]any{}
	setStr(t, "first_name", fn)
	setStr(t, "last_name", ln)
	return t
}

// items maps line items to the item convention, at most maxItems.
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
		setStr(it, "variant_id", id(li, "variant_id"))
		setStr(it, "sku", str(li, "sku"))
		setStr(it, "name", first(str(li, "name"), str(li, "title"), str(li, "presentment_title")))
		if f, ok := money(li, "price"); ok {
			it["price"] = f
		} else if f, ok := money(li, "variant_price"); ok {
			it["price"] = f
		}
		if q, ok := money(li, "quantity"); ok {
			it["quantity"] = q
		}
		setStr(it, "url", str(li, "url"))
		setStr(it, "image_url", first(str(li, "image_url"), str(li, "image")))
		out = append(out, it)
	}
	return out
}

// codes joins the discount codes of an order or checkout with commas.
func codes(dcs []any) string {
	var cs []string
	for _, dc := range dcs {
		if o, ok := dc.(map[string]any); ok {
			if c := str(o, "code"); c != "" {
				cs = append(cs, c)
			}
		}
	}
	return strings.Join(cs, ",")
}

// newest is the last object of a list (Shopify lists fulfillments oldest
// first).
func newest(l []any) obj {
	for i := len(l) - 1; i >= 0; i-- {
		if o, ok := l[i].(map[string]any); ok {
			return o
		}
	}
	return nil
}

// firstString is the first non-empty string of a list.
func firstString(l []any) string {
	for _, v := range l {
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// splitTags splits Shopify's comma-separated tags.
func splitTags(s string) []any {
	var out []any
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// token cleans a cart or checkout token for use as an anonymous id:
// newer cart tokens may carry a "?key=..." suffix that differs between the
// cart and the checkout of the same cart.
func token(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "?")
	return s
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
