// Package shopify is the shopify source kind: Shopify webhook deliveries,
// verified with X-Shopify-Hmac-Sha256 and mapped to canonical events.
//
//	source "shop" {
//	  kind         = "shopify"
//	  secret       = env("SHOPIFY_CLIENT_SECRET") # the app's client secret
//	  shop_domains = ["example.myshopify.com"]    # optional
//	}
//
// See README.md beside this file for the signature scheme, every attribute
// and the topic → event mapping table.
package shopify

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the name of this source kind, and the key of the Shopify ids it
// puts in Customer.ExternalIDs.
const Kind = "shopify"

// Headers Shopify sends with every delivery.
const (
	headerHMAC        = "X-Shopify-Hmac-Sha256"
	headerTopic       = "X-Shopify-Topic"
	headerWebhookID   = "X-Shopify-Webhook-Id"
	headerEventID     = "X-Shopify-Event-Id"
	headerTriggeredAt = "X-Shopify-Triggered-At"
	headerShopDomain  = "X-Shopify-Shop-Domain"
)

// adapter is a configured shopify source. It holds only immutable
// configuration, so Parse is safe for concurrent use.
type adapter struct {
	secrets []string
	// shops, when not empty, are the only X-Shopify-Shop-Domain values
	// accepted (lower case). An app's client secret is shared by every shop
	// that installs the app, so the signature alone does not say which shop
	// sent a delivery.
	shops []string
}

var _ source.Adapter = (*adapter)(nil)

// schema is the kind-specific part of a shopify source block.
func schema() *hcl.BodySchema {
	return &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "shop_domains"}}}
}

// Build makes a shopify adapter from a source block. The block must set
// secret (or secrets): Shopify signs every delivery, so there is no
// unsigned mode.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	a := &adapter{secrets: slices.Clone(spec.Secrets)}
	diags = append(diags, spec.RequireSecrets(fmt.Sprintf("Source %q of kind shopify needs the secret Shopify signs its webhooks with: "+
		"set secret = env(\"SHOPIFY_CLIENT_SECRET\") to the app's client secret (Partner Dashboard or Dev Dashboard → your app → "+
		"Settings/API credentials), or for webhooks created in the Shopify admin to the key shown under Settings → Notifications → Webhooks.", spec.Name))...)
	if spec.Body != nil {
		content, d := spec.Body.Content(schema())
		diags = append(diags, d...)
		if attr, ok := content.Attributes["shop_domains"]; ok {
			shops, d := shopDomains(attr, spec.EvalContext)
			diags = append(diags, d...)
			a.shops = shops
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// shopDomains evaluates the shop_domains attribute: a list of
// myshopify.com host names.
func shopDomains(attr *hcl.Attribute, ctx *hcl.EvalContext) ([]string, hcl.Diagnostics) {
	bad := func(detail string) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid shop_domains",
			Detail:   detail,
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	v, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || !v.IsWhollyKnown() || v.IsNull() {
		return nil, bad(`The shop_domains attribute is a list of shop domains such as ["example.myshopify.com"].`)
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			return nil, bad("The shop_domains list holds a null; remove it.")
		}
		d := strings.ToLower(strings.TrimSpace(e.AsString()))
		if d == "" || strings.ContainsAny(d, "/: ") {
			return nil, bad(fmt.Sprintf("Shop domain %q is not a host name; write the shop's myshopify.com domain, such as \"example.myshopify.com\", as Shopify sends it in X-Shopify-Shop-Domain.", e.AsString()))
		}
		out = append(out, d)
	}
	return out, nil
}

// Parse verifies a delivery and maps it to at most one event. A delivery
// about an object that names no person (an order without email, phone or
// customer; a refund, whose payload never names one) is accepted with no
// event, so that Shopify does not retry it and eventually drop the
// subscription.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	if err := a.verify(req); err != nil {
		return nil, err
	}
	shop := strings.ToLower(strings.TrimSpace(req.Header.Get(headerShopDomain)))
	if len(a.shops) > 0 && !slices.Contains(a.shops, shop) {
		return nil, fmt.Errorf("%w: the delivery comes from shop %q, which is not in this source's shop_domains",
			source.ErrBadSignature, source.Truncate(shop, 64))
	}
	topic := strings.ToLower(strings.TrimSpace(req.Header.Get(headerTopic)))
	if topic == "" {
		return nil, fmt.Errorf("%w: missing %s header; Shopify names the webhook topic there (orders/create, ...)", source.ErrBadPayload, headerTopic)
	}
	var body any
	if err := source.DecodeJSON(req.Body, &body); err != nil {
		return nil, err
	}
	m, ok := body.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the %s body is not a JSON object", source.ErrBadPayload, source.Truncate(topic, 64))
	}
	deliveryID := strings.TrimSpace(req.Header.Get(headerWebhookID))
	if deliveryID == "" {
		deliveryID = strings.TrimSpace(req.Header.Get(headerEventID))
	}
	d := delivery{
		topic:      topic,
		deliveryID: source.Truncate(deliveryID, 128),
		triggered:  parseTime(strings.TrimSpace(req.Header.Get(headerTriggeredAt))),
		shop:       shop,
		body:       m,
	}
	ev, err := d.event()
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return &source.Delivery{}, nil
	}
	return &source.Delivery{Events: []sdk.Event{*ev}}, nil
}

// verify checks X-Shopify-Hmac-Sha256: the base64 HMAC-SHA256 of the raw
// body, keyed with the app's client secret. Any of the source's secrets
// may match, so the secret can be rotated.
func (a *adapter) verify(req *source.Request) error {
	h := strings.TrimSpace(req.Header.Get(headerHMAC))
	if h == "" {
		return fmt.Errorf("%w: missing %s header; Shopify sends the base64 HMAC-SHA256 of the body there", source.ErrBadSignature, headerHMAC)
	}
	got := source.DecodeBase64(h)
	if len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a base64 HMAC-SHA256 (44 characters of base64)", source.ErrBadSignature, headerHMAC)
	}
	expected := func(secret []byte) []byte { return source.HMAC(sha256.New, secret, req.Body) }
	if !source.MatchAny(a.secrets, expected, got) {
		return fmt.Errorf("%w: %s does not match the base64 HMAC-SHA256 of the body under the source's secret; "+
			"check that secret is the app's client secret and that nothing re-encoded the body on the way", source.ErrBadSignature, headerHMAC)
	}
	return nil
}
