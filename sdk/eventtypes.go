package sdk

// EventTypes is a config attribute listing event types or patterns
// ("order.placed", "cart.*", "*"), such as a trigger's `on`. Declaring an
// attribute with this type, rather than []string, lets the host check each
// entry against the types the gateway's sources can send, so that a typo
// ("order.plcaed") fails validation at its line instead of never matching.
type EventTypes []string

// Taxonomy lists the canonical event types (DESIGN §3), the types the
// built-in source kinds add to it, and the host's consent event. Vendor
// kinds also send "<kind>.<topic>" for topics they do not map; json and
// standard sources send whatever types their sender uses, which the admin
// declares on the source (event_types).
var Taxonomy = []string{
	"customer.created", "customer.updated", "customer.deleted",
	"account.signed_up", "account.password_reset",
	"page.viewed", "product.viewed", "search.performed", "content.engaged",
	"cart.updated", "checkout.started", "checkout.updated",
	"order.placed", "order.paid", "order.fulfilled", "order.delivered", "order.cancelled", "order.refunded", "order.updated",
	"subscription.created", "subscription.renewed", "subscription.trial_ending", "subscription.expiring",
	"subscription.cancelled", "subscription.updated",
	"payment.failed", "deal.updated",
	"email.delivered", "email.opened", "email.clicked", "email.bounced", "email.complained",
	"email.unsubscribed", "email.resubscribed",
	"sms.delivered", "sms.failed", "sms.unsubscribed", "sms.subscribed", "sms.received",
	"consent.updated",
	"segment.entered", "segment.exited",
}
