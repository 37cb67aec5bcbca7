// Package stripe is the stripe source kind: Stripe webhook events, verified
// with the Stripe-Signature header and mapped to the canonical event
// taxonomy. See README.md for the configuration, the signature scheme and
// the mapping table.
package stripe

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// kind is the source kind's name, also the key of the customer's Stripe id
// in Customer.ExternalIDs.
const kind = "stripe"

// adapter is one configured stripe source. It holds only immutable
// settings, so Parse is safe for concurrent use.
type adapter struct {
	// secrets are the endpoint signing secrets (whsec_...), used as-is as
	// HMAC keys: current and, during a roll, previous.
	secrets []string
	// window is the replay window for the signed timestamp.
	window time.Duration
	// userIDMetadata is the metadata key whose value is the app's own user
	// id (Customer.ID); "" when not configured.
	userIDMetadata string
}

var _ source.Adapter = (*adapter)(nil)

// schema is the kind-specific part of a stripe source block.
func schema() *hcl.BodySchema {
	return &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "user_id_metadata"}},
	}
}

// Build decodes a stripe source block. Stripe signs every delivery, so a
// signing secret is required; Stripe API keys given by mistake are refused.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	a := &adapter{secrets: slices.Clone(spec.Secrets), window: spec.Window()}

	if spec.Body != nil {
		content, d := spec.Body.Content(schema())
		diags = append(diags, d...)
		if attr, ok := content.Attributes["user_id_metadata"]; ok {
			key, d := stringAttr(attr, spec.EvalContext)
			diags = append(diags, d...)
			a.userIDMetadata = key
		}
	}

	diags = append(diags, spec.RequireSecrets(fmt.Sprintf("Source %q is a Stripe source, and Stripe signs every delivery: set secret to the endpoint's "+
		"signing secret (whsec_..., Dashboard → Developers → Webhooks → your endpoint → Signing secret), "+
		"for example secret = env(\"STRIPE_WEBHOOK_SECRET\").", spec.Name))...)
	for i, s := range spec.Secrets {
		switch {
		case s == "":
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Empty secret",
				Detail:   fmt.Sprintf("Secret %d of source %q is empty; is its environment variable set?", i, spec.Name),
				Subject:  spec.BlockRange().Ptr(),
			})
		case hasAnyPrefix(s, "sk_", "rk_", "pk_"):
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Stripe API key used as a webhook secret",
				Detail: fmt.Sprintf("Secret %d of source %q is a Stripe API key (%s...), not a webhook signing secret. "+
					"Use the endpoint's signing secret (whsec_...) and keep API keys out of this configuration.", i, spec.Name, s[:3]),
				Subject: spec.BlockRange().Ptr(),
			})
		case !strings.HasPrefix(s, "whsec_"):
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Unexpected Stripe secret",
				Detail: fmt.Sprintf("Secret %d of source %q does not start with whsec_, as Stripe endpoint signing secrets do; "+
					"deliveries will not verify unless it is exactly the secret Stripe shows.", i, spec.Name),
				Subject: spec.BlockRange().Ptr(),
			})
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// stringAttr evaluates a non-empty string attribute.
func stringAttr(attr *hcl.Attribute, ctx *hcl.EvalContext) (string, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return "", diags
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String || strings.TrimSpace(v.AsString()) == "" {
		return "", append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + attr.Name,
			Detail:   attr.Name + " must be a non-empty string: the metadata key that holds your own user id, such as \"user_id\".",
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return strings.TrimSpace(v.AsString()), diags
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Parse verifies a delivery and maps its event. An event about nobody (no
// customer id, email or phone on its object) is acknowledged without an
// event; see README.md.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no request", source.ErrBadPayload)
	}
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	if err := verify(req.Header.Get("Stripe-Signature"), req.Body, a.secrets, now, a.window); err != nil {
		return nil, err
	}
	var root any
	if err := source.DecodeJSON(req.Body, &root); err != nil {
		return nil, err
	}
	ev, ok, err := a.event(object(root), root)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &source.Delivery{}, nil
	}
	return &source.Delivery{Events: []sdk.Event{ev}}, nil
}

// event maps one Stripe event object. ok is false for an event about
// nobody, which is acknowledged and dropped.
func (a *adapter) event(root map[string]any, raw any) (ev sdk.Event, ok bool, err error) {
	if root == nil {
		return ev, false, fmt.Errorf("%w: body is %s; Stripe sends an event object", source.ErrBadPayload, source.JSONType(raw))
	}
	var f fields
	id := f.str(root, "event", "id")
	typ := f.str(root, "event", "type")
	if f.err != nil {
		return ev, false, f.err
	}
	if id == "" {
		return ev, false, fmt.Errorf("%w: event has no id", source.ErrBadPayload)
	}
	if typ == "" {
		return ev, false, fmt.Errorf("%w: event %s has no type", source.ErrBadPayload, id)
	}
	obj := dig(root, "data", "object")
	if obj == nil {
		if f.str(root, "event", "object") == "v2.core.event" {
			return ev, false, fmt.Errorf("%w: event %s is a thin event, which carries no object; "+
				"configure the Stripe event destination with the snapshot payload style", source.ErrBadPayload, id)
		}
		return ev, false, fmt.Errorf("%w: event %s (%s) has no data.object", source.ErrBadPayload, id, typ)
	}
	prev := dig(root, "data", "previous_attributes")

	ev.DeliveryID = id
	ev.OccurredAt = occurredAt(&f, root)
	ev.Customer = a.customer(&f, obj)
	ev.Type = eventType(&f, typ, obj, prev)
	ev.Properties, ev.Traits = properties(&f, typ, obj, prev)
	if live, ok := f.boolean(root, "event", "livemode"); ok {
		ev.Properties["livemode"] = live
	}
	if f.err != nil {
		return ev, false, fmt.Errorf("event %s (%s): %w", id, typ, f.err)
	}
	if ev.Customer.Key() == "" {
		return ev, false, nil
	}
	return ev, true, nil
}

// occurredAt reads the event's created time: unix seconds (snapshot events)
// or RFC 3339 (v2 events). Zero when absent.
func occurredAt(f *fields, root map[string]any) time.Time {
	if s, ok := root["created"].(string); ok {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			f.fail("event.created", "unix seconds or an RFC 3339 time", s)
			return time.Time{}
		}
		return t.UTC()
	}
	n, ok := f.integer(root, "event", "created")
	if !ok || n <= 0 || n >= maxUnix {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// customer finds who the event's object is about. The Stripe customer id
// is an external id; email and phone come from the first of the fields
// Stripe uses for them on checkout sessions, invoices, charges, payment
// intents and customers.
func (a *adapter) customer(f *fields, obj map[string]any) sdk.Customer {
	const path = "data.object"
	var c sdk.Customer
	stripeID := f.ref(obj, path, "customer")
	if f.str(obj, path, "object") == "customer" {
		stripeID = f.str(obj, path, "id")
	}
	if stripeID != "" {
		c.ExternalIDs = map[string]string{kind: stripeID}
	}
	for _, cand := range []struct {
		o            map[string]any
		path         string
		email, phone string
	}{
		{dig(obj, "customer_details"), path + ".customer_details", "email", "phone"},
		{obj, path, "customer_email", "customer_phone"},
		{obj, path, "receipt_email", ""},
		{dig(obj, "billing_details"), path + ".billing_details", "email", "phone"},
		{obj, path, "email", "phone"},
		{dig(obj, "last_payment_error", "payment_method", "billing_details"),
			path + ".last_payment_error.payment_method.billing_details", "email", "phone"},
		{dig(obj, "shipping"), path + ".shipping", "", "phone"},
	} {
		if cand.o == nil {
			continue
		}
		if c.Email == "" && cand.email != "" {
			c.Email = source.Email(f.str(cand.o, cand.path, cand.email))
		}
		if c.Phone == "" && cand.phone != "" {
			c.Phone = source.Phone(f.str(cand.o, cand.path, cand.phone))
		}
	}
	if a.userIDMetadata != "" {
		if s, ok := dig(obj, "metadata")[a.userIDMetadata].(string); ok {
			c.ID = strings.TrimSpace(s)
		}
	}
	return c
}
