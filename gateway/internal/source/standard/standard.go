// Package standard is the standard source kind: deliveries from any sender
// that follows the Standard Webhooks specification (webhook-id,
// webhook-timestamp and webhook-signature headers; a {"type", "timestamp",
// "data"} body), including another triggergate's webhook channel. See
// README.md for the configuration, the signature scheme and the mapping.
package standard

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

const (
	// secretPrefix marks a Standard Webhooks HMAC secret; the rest is the
	// key, base64-encoded.
	secretPrefix = "whsec_"
	// publicKeyPrefix marks an ed25519 public key; the rest is the key,
	// base64-encoded.
	publicKeyPrefix = "whpk_"
	// minSecretBytes is the specification's minimum HMAC key size.
	minSecretBytes = 24
	// maxSecretBytes is the specification's maximum HMAC key size.
	maxSecretBytes = 64
)

// adapter is one configured standard source. It holds only immutable
// settings, so Parse is safe for concurrent use.
type adapter struct {
	// keys are the decoded HMAC keys (v1 signatures), current and previous.
	keys []string
	// publicKeys verify ed25519 (v1a) signatures.
	publicKeys []ed25519.PublicKey
	// window is the replay window for webhook-timestamp.
	window time.Duration
	// idSystem, when set, files the sender's customer id under
	// Customer.ExternalIDs[idSystem] instead of Customer.ID.
	idSystem string
}

var _ source.Adapter = (*adapter)(nil)

// schema is the kind-specific part of a standard source block.
func schema() *hcl.BodySchema {
	return &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "public_keys"}, {Name: "external_id_system"}},
	}
}

// Build decodes a standard source block: HMAC secrets (secret/secrets,
// "whsec_" + base64), ed25519 public keys (public_keys, "whpk_" + base64),
// or both; at least one is required.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	a := &adapter{window: spec.Window()}

	var keysRange hcl.Range
	if spec.Body != nil {
		content, d := spec.Body.Content(schema())
		diags = append(diags, d...)
		if attr, ok := content.Attributes["public_keys"]; ok {
			keysRange = attr.Expr.Range()
			keys, d := publicKeys(attr, spec.EvalContext)
			diags = append(diags, d...)
			a.publicKeys = keys
		}
		if attr, ok := content.Attributes["external_id_system"]; ok {
			sys, d := systemName(attr, spec.EvalContext)
			diags = append(diags, d...)
			a.idSystem = sys
		}
	}

	for i, s := range spec.Secrets {
		key, err := decodeKey(s, secretPrefix)
		switch {
		case err != nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid Standard Webhooks secret",
				Detail:   fmt.Sprintf("Secret %d of source %q %s; a Standard Webhooks secret is \"whsec_\" followed by the key in base64, as the sender shows it.", i, spec.Name, err),
				Subject:  spec.BlockRange().Ptr(),
			})
		case len(key) < minSecretBytes || len(key) > maxSecretBytes:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Unusual Standard Webhooks secret size",
				Detail: fmt.Sprintf("Secret %d of source %q is %d bytes once decoded; the specification asks for %d to %d random bytes. "+
					"It is used as given.", i, spec.Name, len(key), minSecretBytes, maxSecretBytes),
				Subject: spec.BlockRange().Ptr(),
			})
		}
		if err == nil {
			a.keys = append(a.keys, string(key))
		}
	}
	if len(spec.Secrets) == 0 && len(a.publicKeys) == 0 && !diags.HasErrors() {
		subject := spec.BlockRange()
		if keysRange.Filename != "" {
			subject = keysRange
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing secret or public key",
			Detail: fmt.Sprintf("Source %q receives Standard Webhooks, which are always signed: set secret to the sender's "+
				"signing secret (whsec_...) or public_keys to its ed25519 public keys ([\"whpk_...\"]), or both.", spec.Name),
			Subject: subject.Ptr(),
		})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// decodeKey strips an optional prefix and decodes standard base64, as the
// reference libraries do.
func decodeKey(s, prefix string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), prefix))
	if err != nil {
		return nil, fmt.Errorf("is not base64 after the %q prefix", prefix)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("is empty after the %q prefix", prefix)
	}
	return key, nil
}

// publicKeys evaluates public_keys: a list of "whpk_" + base64 ed25519
// public keys (32 bytes each).
func publicKeys(attr *hcl.Attribute, ctx *hcl.EvalContext) ([]ed25519.PublicKey, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	bad := func(detail string) ([]ed25519.PublicKey, hcl.Diagnostics) {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid public_keys",
			Detail:   detail,
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	list, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || list.IsNull() || !list.IsWhollyKnown() {
		return bad("public_keys must be a list of ed25519 public keys such as [\"whpk_...\"].")
	}
	var keys []ed25519.PublicKey
	for i, k := range list.AsValueSlice() {
		if k.IsNull() {
			return bad(fmt.Sprintf("public key %d is null.", i))
		}
		key, err := decodeKey(k.AsString(), publicKeyPrefix)
		if err != nil {
			return bad(fmt.Sprintf("public key %d %s; an ed25519 public key is \"whpk_\" followed by 32 bytes in base64.", i, err))
		}
		if len(key) != ed25519.PublicKeySize {
			return bad(fmt.Sprintf("public key %d is %d bytes once decoded; an ed25519 public key is %d bytes.", i, len(key), ed25519.PublicKeySize))
		}
		keys = append(keys, ed25519.PublicKey(key))
	}
	if len(keys) == 0 {
		return bad("public_keys is empty; list at least one key, or remove the attribute and set secret.")
	}
	return keys, diags
}

// systemName evaluates external_id_system: a non-empty name such as
// "billing" (the key customer ids are filed under).
func systemName(attr *hcl.Attribute, ctx *hcl.EvalContext) (string, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return "", diags
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String || strings.TrimSpace(v.AsString()) == "" {
		return "", append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid external_id_system",
			Detail:   "external_id_system must be a non-empty string naming the sender, such as \"billing\".",
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return strings.TrimSpace(v.AsString()), diags
}

// Parse verifies a delivery and maps its body to one event.
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
	id, err := a.verify(req.Header, req.Body, now)
	if err != nil {
		return nil, err
	}
	var root any
	if err := source.DecodeJSON(req.Body, &root); err != nil {
		return nil, err
	}
	ev, err := a.event(id, root)
	if err != nil {
		return nil, err
	}
	return &source.Delivery{Events: []sdk.Event{ev}}, nil
}
