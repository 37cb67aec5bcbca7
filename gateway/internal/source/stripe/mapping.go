package stripe

import (
	"github.com/triggergate/triggergate/gateway/internal/source"
)

// Event types of the canonical taxonomy, plus subscription.updated, which
// the taxonomy lacks and Stripe needs.
const (
	typeOrderPlaced           = "order.placed"
	typeOrderPaid             = "order.paid"
	typeOrderRefunded         = "order.refunded"
	typeCheckoutUpdated       = "checkout.updated"
	typePaymentFailed         = "payment.failed"
	typeSubscriptionCreated   = "subscription.created"
	typeSubscriptionRenewed   = "subscription.renewed"
	typeSubscriptionUpdated   = "subscription.updated"
	typeSubscriptionExpiring  = "subscription.expiring"
	typeSubscriptionCancelled = "subscription.cancelled"
	typeSubscriptionTrialEnd  = "subscription.trial_ending"
)

// staticTypes maps the Stripe event types whose canonical type does not
// depend on the object.
var staticTypes = map[string]string{
	"checkout.session.completed":               typeOrderPlaced,
	"checkout.session.async_payment_succeeded": typeOrderPaid,
	"checkout.session.async_payment_failed":    typePaymentFailed,
	"checkout.session.expired":                 typeCheckoutUpdated,
	"invoice.payment_failed":                   typePaymentFailed,
	"payment_intent.payment_failed":            typePaymentFailed,
	"charge.refunded":                          typeOrderRefunded,
	"customer.created":                         "customer.created",
	"customer.updated":                         "customer.updated",
	"customer.deleted":                         "customer.deleted",
	"customer.subscription.created":            typeSubscriptionCreated,
	"customer.subscription.deleted":            typeSubscriptionCancelled,
	"customer.subscription.trial_will_end":     typeSubscriptionTrialEnd,
}

// eventType maps a Stripe event type to the taxonomy; types we do not map
// become "stripe.<type>".
func eventType(f *fields, typ string, obj, prev map[string]any) string {
	if t, ok := staticTypes[typ]; ok {
		return t
	}
	const path = "data.object"
	switch typ {
	case "invoice.paid":
		// A renewal is the invoice of a new billing period; any other paid
		// invoice (first invoice of a subscription, a one-off invoice) is
		// a paid order.
		if f.str(obj, path, "billing_reason") == "subscription_cycle" {
			return typeSubscriptionRenewed
		}
		return typeOrderPaid
	case "customer.subscription.updated":
		return subscriptionUpdated(f, obj, prev)
	}
	return source.TopicType(kind, typ)
}

// subscriptionUpdated tells a cancellation apart from other changes, using
// data.previous_attributes to see what this update changed:
//   - the status changed to canceled → subscription.cancelled;
//   - a cancellation was scheduled (cancel_at_period_end turned true, or
//     cancel_at was set) → subscription.expiring: the subscription runs to
//     cancel_at, when Stripe sends customer.subscription.deleted;
//   - anything else → subscription.updated.
func subscriptionUpdated(f *fields, obj, prev map[string]any) string {
	const path = "data.object"
	if _, changed := prev["status"]; changed && f.str(obj, path, "status") == "canceled" {
		return typeSubscriptionCancelled
	}
	if was, ok := prev["cancel_at_period_end"].(bool); ok && !was {
		if now, _ := f.boolean(obj, path, "cancel_at_period_end"); now {
			return typeSubscriptionExpiring
		}
	}
	if was, changed := prev["cancel_at"]; changed && was == nil {
		if _, set := f.integer(obj, path, "cancel_at"); set {
			return typeSubscriptionExpiring
		}
	}
	return typeSubscriptionUpdated
}

// properties builds the event's properties (and, for customers, traits)
// from its object, by the object's kind, so that unmapped events about a
// known object (invoice.upcoming, charge.succeeded) are as useful as
// mapped ones.
func properties(f *fields, typ string, obj, prev map[string]any) (props, map[string]any) {
	const path = "data.object"
	p := props{}
	var traits map[string]any
	switch f.str(obj, path, "object") {
	case "checkout.session":
		checkoutProps(f, p, obj)
		traits = nameTraits(f.str(dig(obj, "customer_details"), path+".customer_details", "name"), nil)
	case "invoice":
		invoiceProps(f, p, obj)
	case "subscription":
		subscriptionProps(f, p, obj)
	case "charge":
		chargeProps(f, p, typ, obj)
	case "payment_intent":
		paymentIntentProps(f, p, obj)
	case "customer":
		traits = customerTraits(f, obj)
		if deleted, ok := f.boolean(obj, path, "deleted"); ok && deleted {
			p["deleted"] = true
		}
	default:
		p.str("object", f.str(obj, path, "object"))
		p.str("object_id", f.str(obj, path, "id"))
		p.str("status", f.str(obj, path, "status"))
		cur := source.Currency(f.str(obj, path, "currency"))
		amount, ok := f.integer(obj, path, "amount")
		p.money("value", amount, ok && cur != "", cur)
		p.str("currency", cur)
	}
	if md := metadata(obj); md != nil {
		p["metadata"] = md
	}
	if ch := changedFields(prev); ch != nil {
		p["changed"] = ch
	}
	return p, traits
}

// checkoutProps describes a Checkout Session as an order (order_id is the
// session id) and as a checkout, with the abandoned-checkout recovery URL
// when recovery is enabled.
func checkoutProps(f *fields, p props, o map[string]any) {
	const path = "data.object"
	id := f.str(o, path, "id")
	p.str("order_id", id)
	p.str("checkout_id", id)
	cur := source.Currency(f.str(o, path, "currency"))
	p.str("currency", cur)
	total, ok := f.integer(o, path, "amount_total")
	p.money("value", total, ok, cur)
	sub, ok := f.integer(o, path, "amount_subtotal")
	p.money("subtotal", sub, ok, cur)
	if td := dig(o, "total_details"); td != nil {
		tdPath := path + ".total_details"
		n, ok := f.integer(td, tdPath, "amount_tax")
		p.money("tax", n, ok, cur)
		n, ok = f.integer(td, tdPath, "amount_shipping")
		p.money("shipping", n, ok, cur)
		n, ok = f.integer(td, tdPath, "amount_discount")
		p.money("discount", n, ok, cur)
	}
	p.str("coupon", firstDiscountCode(f, o, path))
	p.str("financial_status", f.str(o, path, "payment_status"))
	p.str("status", f.str(o, path, "status"))
	p.str("mode", f.str(o, path, "mode"))
	p.str("payment_id", f.ref(o, path, "payment_intent"))
	p.str("subscription_id", f.ref(o, path, "subscription"))
	p.str("invoice_id", f.ref(o, path, "invoice"))
	p.str("client_reference_id", f.str(o, path, "client_reference_id"))
	p.str("checkout_url", f.str(o, path, "url"))
	p.str("recovery_url", f.str(dig(o, "after_expiration", "recovery"), path+".after_expiration.recovery", "url"))
}

// firstDiscountCode is the promotion code (or coupon) of a session's first
// discount.
func firstDiscountCode(f *fields, o map[string]any, path string) string {
	ds, _ := o["discounts"].([]any)
	for _, d := range ds {
		dm := object(d)
		if dm == nil {
			continue
		}
		if code := f.ref(dm, path+".discounts", "promotion_code"); code != "" {
			return code
		}
		if c := f.ref(dm, path+".discounts", "coupon"); c != "" {
			return c
		}
	}
	return ""
}

// invoiceProps describes an invoice, as a paid order (order_id is the
// invoice id), a renewal or a failed payment. value is what was paid once
// the invoice is paid, else what is due.
func invoiceProps(f *fields, p props, o map[string]any) {
	const path = "data.object"
	id := f.str(o, path, "id")
	p.str("invoice_id", id)
	p.str("order_id", id)
	p.str("order_number", f.str(o, path, "number"))
	cur := source.Currency(f.str(o, path, "currency"))
	p.str("currency", cur)
	status := f.str(o, path, "status")
	p.str("status", status)
	key := "amount_due"
	if status == "paid" {
		key = "amount_paid"
	}
	n, ok := f.integer(o, path, key)
	p.money("value", n, ok, cur)
	n, ok = f.integer(o, path, "subtotal")
	p.money("subtotal", n, ok, cur)
	n, ok = f.integer(o, path, "tax")
	p.money("tax", n, ok, cur)
	p.str("billing_reason", f.str(o, path, "billing_reason"))
	sub := f.ref(o, path, "subscription")
	if sub == "" { // API versions from 2025-03-31 moved it under parent
		sub = f.ref(dig(o, "parent", "subscription_details"), path+".parent.subscription_details", "subscription")
	}
	p.str("subscription_id", sub)
	p.str("payment_id", f.ref(o, path, "payment_intent"))
	n, ok = f.integer(o, path, "attempt_count")
	p.integer("attempt_count", n, ok)
	p.str("next_attempt_at", f.unixTime(o, path, "next_payment_attempt"))
	p.str("invoice_url", f.str(o, path, "hosted_invoice_url"))

	lines, _ := dig(o, "lines")["data"].([]any)
	var items []any
	for i, l := range lines {
		lm := object(l)
		if lm == nil {
			continue
		}
		item, plan, interval, periodEnd := invoiceLine(f, lm, path+".lines.data", cur)
		items = append(items, item)
		if i == 0 {
			p.str("plan", plan)
			p.str("interval", interval)
			p.str("current_period_end", periodEnd)
		}
	}
	if items != nil {
		p["items"] = items
	}
}

// invoiceLine maps one invoice line to an item, and returns the plan,
// interval and period end of a subscription line.
func invoiceLine(f *fields, l map[string]any, path, cur string) (item map[string]any, plan, interval, periodEnd string) {
	it := props{}
	price := dig(l, "price")
	pl := dig(l, "plan")
	product := f.ref(price, path+".price", "product")
	if product == "" {
		product = f.ref(pl, path+".plan", "product")
	}
	it.str("product_id", product)
	it.str("variant_id", f.str(price, path+".price", "id"))
	it.str("name", f.str(l, path, "description"))
	qty, hasQty := f.integer(l, path, "quantity")
	it.integer("quantity", qty, hasQty)
	if unit, ok := f.integer(price, path+".price", "unit_amount"); ok {
		it.money("price", unit, true, cur)
	} else if amount, ok := f.integer(l, path, "amount"); ok && hasQty && qty > 0 {
		it["price"] = majorUnits(amount, cur) / float64(qty)
	}
	if f.str(l, path, "type") == "subscription" || pl != nil {
		plan = planName(f, price, pl, path)
		interval = f.str(dig(price, "recurring"), path+".price.recurring", "interval")
		if interval == "" {
			interval = f.str(pl, path+".plan", "interval")
		}
		periodEnd = f.unixTime(dig(l, "period"), path+".period", "end")
	}
	return it, plan, interval, periodEnd
}

// planName is a price's (or legacy plan's) nickname, else its name (old
// API versions), else its id.
func planName(f *fields, price, plan map[string]any, path string) string {
	for _, c := range []struct {
		o    map[string]any
		path string
		key  string
	}{
		{price, path + ".price", "nickname"},
		{plan, path + ".plan", "nickname"},
		{plan, path + ".plan", "name"},
		{price, path + ".price", "id"},
		{plan, path + ".plan", "id"},
	} {
		if c.o == nil {
			continue
		}
		if s := f.str(c.o, c.path, c.key); s != "" {
			return s
		}
	}
	return ""
}

// subscriptionProps describes a subscription. value is the recurring
// amount of its items in the subscription's currency (price × quantity);
// plan and interval come from the first item.
func subscriptionProps(f *fields, p props, o map[string]any) {
	const path = "data.object"
	p.str("subscription_id", f.str(o, path, "id"))
	p.str("status", f.str(o, path, "status"))
	cur := source.Currency(f.str(o, path, "currency"))
	items, _ := dig(o, "items")["data"].([]any)
	var total int64
	var priced bool
	var firstPeriodEnd string
	for i, it := range items {
		im := object(it)
		if im == nil {
			continue
		}
		ipath := path + ".items.data"
		price, plan := dig(im, "price"), dig(im, "plan")
		icur := source.Currency(f.str(price, ipath+".price", "currency"))
		if icur == "" {
			icur = source.Currency(f.str(plan, ipath+".plan", "currency"))
		}
		if i == 0 {
			if cur == "" {
				cur = icur
			}
			p.str("plan", planName(f, price, plan, ipath))
			interval := f.str(dig(price, "recurring"), ipath+".price.recurring", "interval")
			if interval == "" {
				interval = f.str(plan, ipath+".plan", "interval")
			}
			p.str("interval", interval)
			firstPeriodEnd = f.unixTime(im, ipath, "current_period_end")
		}
		unit, ok := f.integer(price, ipath+".price", "unit_amount")
		if !ok {
			unit, ok = f.integer(plan, ipath+".plan", "amount")
		}
		qty, hasQty := f.integer(im, ipath, "quantity")
		if !hasQty {
			qty = 1
		}
		if ok && icur == cur {
			total += unit * qty
			priced = true
		}
	}
	if len(items) == 0 { // API versions before 2018 had a single plan
		if plan := dig(o, "plan"); plan != nil {
			p.str("plan", planName(f, nil, plan, path))
			p.str("interval", f.str(plan, path+".plan", "interval"))
			if cur == "" {
				cur = source.Currency(f.str(plan, path+".plan", "currency"))
			}
			if unit, ok := f.integer(plan, path+".plan", "amount"); ok {
				qty, hasQty := f.integer(o, path, "quantity")
				if !hasQty {
					qty = 1
				}
				total, priced = unit*qty, true
			}
		}
	}
	p.money("value", total, priced, cur)
	p.str("currency", cur)
	p.str("trial_end", f.unixTime(o, path, "trial_end"))
	periodEnd := f.unixTime(o, path, "current_period_end")
	if periodEnd == "" { // API versions from 2025-03-31 keep it on the items
		periodEnd = firstPeriodEnd
	}
	p.str("current_period_end", periodEnd)
	p.str("cancel_at", f.unixTime(o, path, "cancel_at"))
	p.str("canceled_at", f.unixTime(o, path, "canceled_at"))
	cape, ok := f.boolean(o, path, "cancel_at_period_end")
	p.boolean("cancel_at_period_end", cape, ok)
	if reason := f.str(dig(o, "cancellation_details"), path+".cancellation_details", "reason"); reason != "" {
		p["reason"] = reason
	}
}

// chargeProps describes a charge; for charge.refunded, value is the amount
// refunded so far (a partial refund is less than the charge).
func chargeProps(f *fields, p props, typ string, o map[string]any) {
	const path = "data.object"
	p.str("charge_id", f.str(o, path, "id"))
	p.str("payment_id", f.ref(o, path, "payment_intent"))
	inv := f.ref(o, path, "invoice")
	p.str("invoice_id", inv)
	p.str("order_id", inv)
	cur := source.Currency(f.str(o, path, "currency"))
	p.str("currency", cur)
	p.str("status", f.str(o, path, "status"))
	amount, ok := f.integer(o, path, "amount")
	if typ == "charge.refunded" {
		refunded, rok := f.integer(o, path, "amount_refunded")
		p.money("value", refunded, rok, cur)
		p.money("charge_amount", amount, ok, cur)
		full, fok := f.boolean(o, path, "refunded")
		p.boolean("fully_refunded", full, fok)
		refunds, _ := dig(o, "refunds")["data"].([]any)
		if len(refunds) > 0 {
			p.str("reason", f.str(object(refunds[0]), path+".refunds.data", "reason"))
		}
		return
	}
	p.money("value", amount, ok, cur)
	p.str("reason", f.str(o, path, "failure_message"))
}

// paymentIntentProps describes a payment intent; on failure, reason is
// Stripe's message for the last payment error and error_code its decline
// (or error) code.
func paymentIntentProps(f *fields, p props, o map[string]any) {
	const path = "data.object"
	p.str("payment_id", f.str(o, path, "id"))
	p.str("invoice_id", f.ref(o, path, "invoice"))
	cur := source.Currency(f.str(o, path, "currency"))
	p.str("currency", cur)
	p.str("status", f.str(o, path, "status"))
	amount, ok := f.integer(o, path, "amount")
	p.money("value", amount, ok, cur)
	if lpe := dig(o, "last_payment_error"); lpe != nil {
		lpath := path + ".last_payment_error"
		p.str("reason", f.str(lpe, lpath, "message"))
		code := f.str(lpe, lpath, "decline_code")
		if code == "" {
			code = f.str(lpe, lpath, "code")
		}
		p.str("error_code", code)
	}
}

// customerTraits are a Stripe customer's person attributes. Stripe has one
// name field; first_name and last_name split it at the first space.
func customerTraits(f *fields, o map[string]any) map[string]any {
	const path = "data.object"
	t := props(nameTraits(f.str(o, path, "name"), map[string]any{}))
	t.str("phone", source.Phone(f.str(o, path, "phone")))
	if addr := dig(o, "address"); addr != nil {
		t.str("city", f.str(addr, path+".address", "city"))
		t.str("country", f.str(addr, path+".address", "country"))
	}
	t.str("created_at", f.unixTime(o, path, "created"))
	if locales, _ := o["preferred_locales"].([]any); len(locales) > 0 {
		if s, ok := locales[0].(string); ok && s != "" {
			t["locale"] = s
		}
	}
	if len(t) == 0 {
		return nil
	}
	return t
}

// nameTraits adds name, first_name and last_name to traits (made when nil)
// for a full name; traits stays nil for an empty name.
func nameTraits(name string, traits map[string]any) map[string]any {
	if name == "" {
		return traits
	}
	if traits == nil {
		traits = map[string]any{}
	}
	traits["name"] = name
	first, last := splitName(name)
	props(traits).str("first_name", first)
	props(traits).str("last_name", last)
	return traits
}
