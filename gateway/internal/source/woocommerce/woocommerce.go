// Package woocommerce is the woocommerce source kind: WooCommerce webhook
// deliveries, verified with X-WC-Webhook-Signature and mapped to canonical
// events.
//
//	source "store" {
//	  kind   = "woocommerce"
//	  secret = env("WC_WEBHOOK_SECRET") # the webhook's Secret field
//	}
//
// See README.md beside this file for the signature scheme, the ping and
// delivery-id quirks, and the topic → event mapping table.
package woocommerce

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the name of this source kind, and the key of the WooCommerce
// customer ids it puts in Customer.ExternalIDs.
const Kind = "woocommerce"

// Headers WooCommerce sends with every delivery (but not with its ping).
const (
	headerSignature  = "X-WC-Webhook-Signature"
	headerTopic      = "X-WC-Webhook-Topic"
	headerResource   = "X-WC-Webhook-Resource"
	headerEvent      = "X-WC-Webhook-Event"
	headerDeliveryID = "X-WC-Webhook-Delivery-ID"
)

// adapter is a configured woocommerce source. It holds only immutable
// configuration, so Parse is safe for concurrent use.
type adapter struct {
	// keys are the HMAC keys to try: each secret, and also its form with
	// HTML entities decoded where that differs, because WooCommerce signs
	// with wp_specialchars_decode(secret) and a secret copied from a page
	// or an export may still carry the entities.
	keys []string
}

var _ source.Adapter = (*adapter)(nil)

// Build makes a woocommerce adapter from a source block. The block must
// set secret (or secrets): WooCommerce signs every delivery, so there is
// no unsigned mode. The kind has no attributes of its own.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	diags = append(diags, spec.RequireSecrets(fmt.Sprintf("Source %q of kind woocommerce needs the secret WooCommerce signs its webhooks with: "+
		"set secret = env(\"WC_WEBHOOK_SECRET\") to the Secret field of the webhook "+
		"(WooCommerce → Settings → Advanced → Webhooks → your webhook).", spec.Name))...)
	if spec.Body != nil {
		_, d := spec.Body.Content(&hcl.BodySchema{})
		diags = append(diags, d...)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	a := &adapter{}
	for _, s := range spec.Secrets {
		a.keys = append(a.keys, s)
		if d := wpSpecialCharsDecode(s); d != s && !slices.Contains(a.keys, d) {
			a.keys = append(a.keys, d)
		}
	}
	return a, diags
}

// wpEntities are the entities WordPress's wp_specialchars_decode(...,
// ENT_QUOTES) decodes.
var wpEntities = strings.NewReplacer(
	"&amp;", "&", "&#038;", "&", "&#x26;", "&",
	"&lt;", "<", "&#060;", "<", "&gt;", ">", "&#062;", ">",
	"&quot;", `"`, "&#034;", `"`, "&#039;", "'", "&#39;", "'", "&#x27;", "'",
)

// wpSpecialCharsDecode decodes a secret the way WooCommerce does before
// signing with it.
func wpSpecialCharsDecode(s string) string { return wpEntities.Replace(s) }

// Parse verifies a delivery and maps it to at most one event. WooCommerce's
// creation ping is answered with no event; so is a delivery about an
// object that names no person (a product, a coupon, a deleted order), so
// that WooCommerce does not count it as a failure and disable the webhook.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if isPing(req) {
		return &source.Delivery{}, nil
	}
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	if err := a.verify(req); err != nil {
		return nil, err
	}
	topic := strings.ToLower(strings.TrimSpace(req.Header.Get(headerTopic)))
	if topic == "" {
		res := strings.ToLower(strings.TrimSpace(req.Header.Get(headerResource)))
		evt := strings.ToLower(strings.TrimSpace(req.Header.Get(headerEvent)))
		if res != "" && evt != "" {
			topic = res + "." + evt
		}
	}
	if topic == "" {
		return nil, fmt.Errorf("%w: missing %s header; WooCommerce names the webhook topic there (order.created, ...)", source.ErrBadPayload, headerTopic)
	}
	var body any
	if err := source.DecodeJSON(req.Body, &body); err != nil {
		return nil, err
	}
	m, ok := body.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the %s body is not a JSON object", source.ErrBadPayload, source.Truncate(topic, 64))
	}
	ev, err := event(topic, deliveryID(req), m)
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return &source.Delivery{}, nil
	}
	return &source.Delivery{Events: []sdk.Event{*ev}}, nil
}

// isPing reports whether req is the unsigned ping WooCommerce posts when a
// webhook is saved: the form-encoded body webhook_id=<id> and nothing else.
// Only that exact shape goes unverified; it creates no event.
func isPing(req *source.Request) bool {
	b := req.Body
	const prefix = "webhook_id="
	if !bytes.HasPrefix(b, []byte(prefix)) || len(b) == len(prefix) || len(b) > len(prefix)+20 {
		return false
	}
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// verify checks X-WC-Webhook-Signature: the base64 HMAC-SHA256 of the raw
// body, keyed with the webhook's secret. Any of the source's secrets may
// match, so the secret can be rotated.
func (a *adapter) verify(req *source.Request) error {
	h := strings.TrimSpace(req.Header.Get(headerSignature))
	if h == "" {
		return fmt.Errorf("%w: missing %s header; WooCommerce sends the base64 HMAC-SHA256 of the body there", source.ErrBadSignature, headerSignature)
	}
	got := source.DecodeBase64(h)
	if len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a base64 HMAC-SHA256 (44 characters of base64)", source.ErrBadSignature, headerSignature)
	}
	expected := func(secret []byte) []byte { return source.HMAC(sha256.New, secret, req.Body) }
	if !source.MatchAny(a.keys, expected, got) {
		return fmt.Errorf("%w: %s does not match the base64 HMAC-SHA256 of the body under the source's secret; "+
			"check that secret is the webhook's Secret field", source.ErrBadSignature, headerSignature)
	}
	return nil
}

// deliveryID is the dedupe key of a delivery: X-WC-Webhook-Delivery-ID
// plus a digest of the body. WooCommerce makes the delivery id from the
// webhook id and the current second only (wp_hash(id . time())), so two
// different deliveries of one webhook within the same second (a bulk
// status change, two orders at once) share it; the digest keeps them
// apart while a resend of the same bytes still dedupes.
func deliveryID(req *source.Request) string {
	sum := sha256.Sum256(req.Body)
	digest := hex.EncodeToString(sum[:16])
	if id := strings.TrimSpace(req.Header.Get(headerDeliveryID)); id != "" {
		return source.Truncate(id, 128) + "/" + digest
	}
	return "sha256/" + digest
}
