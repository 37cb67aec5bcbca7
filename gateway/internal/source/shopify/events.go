package shopify

import (
	"fmt"
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
	body       source.Object
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
	if objectTopics[resource] && source.IDOf(b, "id") == "" {
		return nil, fmt.Errorf("%w: the %s body has no id; Shopify sends the %s object itself", source.ErrBadPayload, source.Truncate(d.topic, 64), resource)
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
		if f := newest(source.List(b, "fulfillments")); f != nil {
			tracking(p, f)
			source.SetStr(p, "fulfillment_id", source.IDOf(f, "id"))
		}
	case "orders/cancelled":
		ev.Type = "order.cancelled"
		order(ev, b)
		source.SetStr(p, "reason", source.Str(b, "cancel_reason"))
		source.SetStr(p, "cancelled_at", source.FormatTime(timestamp(b, "cancelled_at")))
	case "orders/updated":
		if r := refundCausing(b); r != nil {
			// This update is a refund being recorded. Shopify's own
			// refunds/create payload names no customer, so this is where an
			// order.refunded with a person comes from; keyed by the refund
			// id, so every orders/updated the refund causes (and a
			// refunds/create) yields one event.
			ev.Type = "order.refunded"
			ev.DeliveryID = "refund:" + source.IDOf(r, "id")
			ev.Customer = orderCustomer(b)
			ev.Traits = names(source.Obj(b, "customer"))
			refund(p, r, source.Currency(source.Str(b, "currency")))
			source.SetStr(p, "order_number", orderNumber(b))
			source.SetStr(p, "financial_status", source.Str(b, "financial_status"))
			break
		}
		ev.Type = "order.updated"
		order(ev, b)
	case "refunds/create":
		ev.Type = "order.refunded"
		ev.DeliveryID = "refund:" + source.IDOf(b, "id")
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
		if strings.EqualFold(source.Str(b, "shipment_status"), "delivered") {
			ev.Type = "order.delivered"
		}
		fulfillment(ev, b)
	default:
		ev.Type = source.TopicType(Kind, d.topic)
		ev.Customer = genericCustomer(b)
		source.SetStr(p, "id", source.IDOf(b, "id"))
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = timestamp(b, "updated_at")
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = timestamp(b, "created_at")
	}
	source.SetStr(p, "shop_domain", d.shop)
	if ev.Customer.Key() == "" {
		return nil, nil
	}
	return ev, nil
}

// order fills an order event: the order's person and its properties.
func order(ev *sdk.Event, o source.Object) {
	ev.Customer = orderCustomer(o)
	ev.Traits = names(source.Obj(o, "customer"))
	p := ev.Properties
	source.SetStr(p, "order_id", source.IDOf(o, "id"))
	source.SetStr(p, "order_number", orderNumber(o))
	source.SetStr(p, "order_name", source.Str(o, "name"))
	source.SetStr(p, "checkout_id", source.IDOf(o, "checkout_id"))
	source.SetStr(p, "currency", source.Currency(source.Str(o, "currency")))
	source.SetMoney(p, "value", o, "total_price")
	source.SetMoney(p, "subtotal", o, "subtotal_price")
	source.SetMoney(p, "tax", o, "total_tax")
	source.SetMoney(p, "discount", o, "total_discounts")
	if f, ok := source.Money(source.Obj(source.Obj(o, "total_shipping_price_set"), "shop_money"), "amount"); ok {
		p["shipping"] = f
	} else if lines := source.List(o, "shipping_lines"); len(lines) > 0 {
		var sum float64
		for _, l := range lines {
			if lo, ok := l.(map[string]any); ok {
				f, _ := source.Money(lo, "price")
				sum += f
			}
		}
		p["shipping"] = source.RoundAmount(sum)
	}
	source.SetStr(p, "coupon", codes(source.List(o, "discount_codes")))
	if it := items(source.List(o, "line_items")); len(it) > 0 {
		p["items"] = it
	}
	source.SetStr(p, "status_url", source.Str(o, "order_status_url"))
	source.SetStr(p, "financial_status", source.Str(o, "financial_status"))
	source.SetStr(p, "fulfillment_status", source.Str(o, "fulfillment_status"))
	if t, ok := source.Bool(o, "test"); ok && t {
		p["test"] = true
	}
}

// orderNumber is the shop-facing order number: order_number, else the
// name without its "#".
func orderNumber(o source.Object) string {
	if n := source.IDOf(o, "order_number"); n != "" {
		return n
	}
	return strings.TrimPrefix(source.Str(o, "name"), "#")
}

// orderCustomer identifies the buyer of an order or checkout: the order's
// own email and phone first (what the buyer typed at checkout), then the
// customer account's, then the contact email and billing phone. The
// Shopify customer id is an external id; the cart token is the anonymous
// id, which links the order to the cart.updated and checkout events of the
// same cart.
func orderCustomer(o source.Object) sdk.Customer {
	c := source.Obj(o, "customer")
	cust := sdk.Customer{
		Email: source.First(source.Email(source.Str(o, "email")), source.Email(source.Str(c, "email")), source.Email(source.Str(o, "contact_email"))),
		Phone: source.First(source.Phone(source.Str(o, "phone")), source.Phone(source.Str(c, "phone")),
			source.Phone(source.Str(source.Obj(o, "billing_address"), "phone"))),
		AnonymousID: token(source.Str(o, "cart_token")),
	}
	if cid := source.IDOf(c, "id"); cid != "" {
		cust.ExternalIDs = map[string]string{Kind: cid}
	}
	return cust
}

// genericCustomer identifies the person of a payload whose shape this kind
// does not model (unknown topics, refunds): an email, phone or customer
// id wherever Shopify usually puts them.
func genericCustomer(b source.Object) sdk.Customer {
	c := source.Obj(b, "customer")
	cust := sdk.Customer{
		Email: source.First(source.Email(source.Str(b, "email")), source.Email(source.Str(c, "email")),
			source.Email(source.Str(b, "contact_email")), source.Email(source.Str(b, "email_address"))),
		Phone: source.First(source.Phone(source.Str(b, "phone")), source.Phone(source.Str(c, "phone"))),
	}
	if cid := source.First(source.IDOf(c, "id"), source.IDOf(b, "customer_id")); cid != "" {
		cust.ExternalIDs = map[string]string{Kind: cid}
	}
	return cust
}

// checkout fills a checkout event. A checkout without email or customer
// (the buyer has not typed one yet) is identified by its cart token, else
// its own token, as the anonymous id.
func checkout(ev *sdk.Event, o source.Object) {
	ev.Customer = orderCustomer(o)
	if ev.Customer.AnonymousID == "" {
		ev.Customer.AnonymousID = token(source.Str(o, "token"))
	}
	ev.Traits = names(source.Obj(o, "customer"))
	p := ev.Properties
	source.SetStr(p, "checkout_id", source.IDOf(o, "id"))
	source.SetStr(p, "checkout_token", source.Str(o, "token"))
	source.SetStr(p, "cart_id", token(source.Str(o, "cart_token")))
	source.SetStr(p, "currency", source.Currency(source.Str(o, "currency")))
	source.SetMoney(p, "value", o, "total_price")
	source.SetMoney(p, "subtotal", o, "subtotal_price")
	source.SetMoney(p, "tax", o, "total_tax")
	source.SetMoney(p, "discount", o, "total_discounts")
	source.SetStr(p, "coupon", codes(source.List(o, "discount_codes")))
	if it := items(source.List(o, "line_items")); len(it) > 0 {
		p["items"] = it
	}
	source.SetStr(p, "recovery_url", source.Str(o, "abandoned_checkout_url"))
	if t := timestamp(o, "completed_at"); !t.IsZero() {
		p["completed_at"] = source.FormatTime(t)
	}
}

// cart fills a cart event. Shopify's cart payloads carry no customer at
// all: the cart token is the anonymous id (the same token checkouts and
// orders carry as cart_token, so the journey joins up once an email is
// known).
func cart(ev *sdk.Event, o source.Object) {
	ev.Customer = genericCustomer(o)
	ev.Customer.AnonymousID = source.First(token(source.Str(o, "token")), token(source.IDOf(o, "id")))
	p := ev.Properties
	source.SetStr(p, "cart_id", source.First(token(source.Str(o, "token")), source.IDOf(o, "id")))
	lines := source.List(o, "line_items")
	var value float64
	currency := ""
	for _, l := range lines {
		li, ok := l.(map[string]any)
		if !ok {
			continue
		}
		if f, ok := source.Money(li, "line_price"); ok {
			value += f
		} else {
			price, _ := source.Money(li, "price")
			qty, _ := source.Money(li, "quantity")
			value += price * qty
		}
		if currency == "" {
			currency = source.Currency(source.Str(source.Obj(source.Obj(li, "line_price_set"), "shop_money"), "currency_code"))
		}
		if currency == "" {
			currency = source.Currency(source.Str(source.Obj(source.Obj(li, "price_set"), "shop_money"), "currency_code"))
		}
	}
	p["value"] = source.RoundAmount(value)
	source.SetStr(p, "currency", source.First(source.Currency(source.Str(o, "currency")), currency))
	p["items"] = items(lines)
}

// fulfillment fills an event from a fulfillment object
// (fulfillments/create and fulfillments/update).
func fulfillment(ev *sdk.Event, f source.Object) {
	ev.Customer = genericCustomer(f)
	if ev.Customer.Phone == "" {
		ev.Customer.Phone = source.Phone(source.Str(source.Obj(f, "destination"), "phone"))
	}
	p := ev.Properties
	source.SetStr(p, "order_id", source.IDOf(f, "order_id"))
	source.SetStr(p, "fulfillment_id", source.IDOf(f, "id"))
	source.SetStr(p, "fulfillment_name", source.Str(f, "name"))
	source.SetStr(p, "status", source.Str(f, "status"))
	tracking(p, f)
	if it := items(source.List(f, "line_items")); len(it) > 0 {
		p["items"] = it
	}
}

// tracking copies a fulfillment's tracking fields.
func tracking(p map[string]any, f source.Object) {
	source.SetStr(p, "tracking_number", source.First(source.Str(f, "tracking_number"), firstString(source.List(f, "tracking_numbers"))))
	source.SetStr(p, "tracking_url", source.First(source.Str(f, "tracking_url"), firstString(source.List(f, "tracking_urls"))))
	source.SetStr(p, "tracking_company", source.Str(f, "tracking_company"))
	source.SetStr(p, "shipment_status", source.Str(f, "shipment_status"))
}

// refund copies a refund object: the money returned is the sum of its
// successful refund transactions, else of its refunded lines (subtotal
// plus tax).
func refund(p map[string]any, r source.Object, currency string) {
	source.SetStr(p, "order_id", source.IDOf(r, "order_id"))
	source.SetStr(p, "refund_id", source.IDOf(r, "id"))
	source.SetStr(p, "reason", source.Str(r, "note"))
	var value float64
	found := false
	for _, t := range source.List(r, "transactions") {
		to, ok := t.(map[string]any)
		if !ok || !strings.EqualFold(source.Str(to, "kind"), "refund") {
			continue
		}
		if s := strings.ToLower(source.Str(to, "status")); s != "" && s != "success" {
			continue
		}
		if f, ok := source.Money(to, "amount"); ok {
			value += f
			found = true
		}
		if currency == "" {
			currency = source.Currency(source.Str(to, "currency"))
		}
	}
	if !found {
		for _, l := range source.List(r, "refund_line_items") {
			lo, ok := l.(map[string]any)
			if !ok {
				continue
			}
			sub, _ := source.Money(lo, "subtotal")
			tax, _ := source.Money(lo, "total_tax")
			value += sub + tax
		}
	}
	p["value"] = source.RoundAmount(value)
	source.SetStr(p, "currency", currency)
}

// refundCausing returns the refund an orders/updated delivery records: the
// order's newest refund, when it was created within refundWindow of the
// order's updated_at (Shopify stamps both with the same time). Any other
// update of an order, refunded or not, is an order.updated, so later edits
// of a refunded order do not repeat order.refunded.
func refundCausing(o source.Object) source.Object {
	updated := timestamp(o, "updated_at")
	if updated.IsZero() {
		return nil
	}
	var latest source.Object
	var latestAt time.Time
	for _, r := range source.List(o, "refunds") {
		ro, ok := r.(map[string]any)
		if !ok || source.IDOf(ro, "id") == "" {
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
func customer(ev *sdk.Event, c source.Object) {
	ev.Customer = sdk.Customer{
		Email:       source.Email(source.Str(c, "email")),
		Phone:       source.Phone(source.Str(c, "phone")),
		ExternalIDs: map[string]string{Kind: source.IDOf(c, "id")},
	}
	t := names(c)
	if t == nil {
		t = map[string]any{}
	}
	if ev.Customer.Phone != "" {
		t["phone"] = ev.Customer.Phone
	}
	if state := source.Str(source.Obj(c, "email_marketing_consent"), "state"); state != "" {
		t["accepts_marketing"] = strings.EqualFold(state, "subscribed")
	} else if b, ok := source.Bool(c, "accepts_marketing"); ok {
		t["accepts_marketing"] = b
	}
	if state := source.Str(source.Obj(c, "sms_marketing_consent"), "state"); state != "" {
		t["accepts_sms_marketing"] = strings.EqualFold(state, "subscribed")
	}
	addr := source.Obj(c, "default_address")
	source.SetStr(t, "city", source.Str(addr, "city"))
	source.SetStr(t, "country", source.First(source.Str(addr, "country_code"), source.Str(addr, "country")))
	if tags := splitTags(source.Str(c, "tags")); len(tags) > 0 {
		t["tags"] = tags
	}
	source.SetStr(t, "created_at", source.FormatTime(timestamp(c, "created_at")))
	if len(t) > 0 {
		ev.Traits = t
	}
	p := ev.Properties
	source.SetStr(p, "customer_id", source.IDOf(c, "id"))
	source.SetStr(p, "state", source.Str(c, "state"))
	source.SetMoney(p, "orders_count", c, "orders_count")
	source.SetMoney(p, "total_spent", c, "total_spent")
	source.SetStr(p, "currency", source.Currency(source.Str(c, "currency")))
	if b, ok := source.Bool(c, "verified_email"); ok {
		p["verified_email"] = b
	}
}

// emailConsent fills a customers_email_marketing_consent/update event.
func emailConsent(ev *sdk.Event, b source.Object) {
	ev.Customer = sdk.Customer{Email: source.Email(source.Str(b, "email_address"))}
	if cid := source.IDOf(b, "customer_id"); cid != "" {
		ev.Customer.ExternalIDs = map[string]string{Kind: cid}
	}
	consent := source.Obj(b, "email_marketing_consent")
	if state := source.Str(consent, "state"); state != "" {
		ev.Traits = map[string]any{"accepts_marketing": strings.EqualFold(state, "subscribed")}
		ev.Properties["consent_state"] = state
	}
	source.SetStr(ev.Properties, "customer_id", source.IDOf(b, "customer_id"))
	source.SetStr(ev.Properties, "opt_in_level", source.Str(consent, "opt_in_level"))
	ev.OccurredAt = source.First(ev.OccurredAt, timestamp(consent, "consent_updated_at"))
}

// smsConsent fills a customers_marketing_consent/update event (SMS).
func smsConsent(ev *sdk.Event, b source.Object) {
	ev.Customer = sdk.Customer{Phone: source.Phone(source.Str(b, "phone"))}
	if cid := source.First(source.IDOf(b, "id"), source.IDOf(b, "customer_id")); cid != "" {
		ev.Customer.ExternalIDs = map[string]string{Kind: cid}
	}
	consent := source.Obj(b, "sms_marketing_consent")
	if state := source.Str(consent, "state"); state != "" {
		ev.Traits = map[string]any{"accepts_sms_marketing": strings.EqualFold(state, "subscribed")}
		ev.Properties["consent_state"] = state
	}
	source.SetStr(ev.Properties, "customer_id", source.First(source.IDOf(b, "id"), source.IDOf(b, "customer_id")))
	source.SetStr(ev.Properties, "opt_in_level", source.Str(consent, "opt_in_level"))
	ev.OccurredAt = source.First(ev.OccurredAt, timestamp(consent, "consent_updated_at"))
}

// names are the first_name and last_name traits of a customer object, or
// nil when it has neither.
func names(c source.Object) map[string]any {
	fn, ln := source.Str(c, "first_name"), source.Str(c, "last_name")
	if fn == "" && ln == "" {
		return nil
	}
	t := map[string]any{}
	source.SetStr(t, "first_name", fn)
	source.SetStr(t, "last_name", ln)
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
		source.SetStr(it, "product_id", source.IDOf(li, "product_id"))
		source.SetStr(it, "variant_id", source.IDOf(li, "variant_id"))
		source.SetStr(it, "sku", source.Str(li, "sku"))
		source.SetStr(it, "name", source.First(source.Str(li, "name"), source.Str(li, "title"), source.Str(li, "presentment_title")))
		if f, ok := source.Money(li, "price"); ok {
			it["price"] = f
		} else if f, ok := source.Money(li, "variant_price"); ok {
			it["price"] = f
		}
		if q, ok := source.Money(li, "quantity"); ok {
			it["quantity"] = q
		}
		source.SetStr(it, "url", source.Str(li, "url"))
		source.SetStr(it, "image_url", source.First(source.Str(li, "image_url"), source.Str(li, "image")))
		out = append(out, it)
	}
	return out
}

// codes joins the discount codes of an order or checkout with commas.
func codes(dcs []any) string {
	var cs []string
	for _, dc := range dcs {
		if o, ok := dc.(map[string]any); ok {
			if c := source.Str(o, "code"); c != "" {
				cs = append(cs, c)
			}
		}
	}
	return strings.Join(cs, ",")
}

// newest is the last object of a list (Shopify lists fulfillments oldest
// first).
func newest(l []any) source.Object {
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
