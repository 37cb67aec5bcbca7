// Package kinds is the registry of source kinds: it builds the adapter a
// configured source block names. Adding a kind is a package under
// gateway/internal/source with a Build function, and one line here.
package kinds

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/hubspot"
	"github.com/triggergate/triggergate/gateway/internal/source/jsonkind"
	"github.com/triggergate/triggergate/gateway/internal/source/mailgun"
	"github.com/triggergate/triggergate/gateway/internal/source/postmark"
	"github.com/triggergate/triggergate/gateway/internal/source/salesforce"
	"github.com/triggergate/triggergate/gateway/internal/source/segment"
	"github.com/triggergate/triggergate/gateway/internal/source/sendgrid"
	"github.com/triggergate/triggergate/gateway/internal/source/shopify"
	"github.com/triggergate/triggergate/gateway/internal/source/standard"
	"github.com/triggergate/triggergate/gateway/internal/source/stripe"
	"github.com/triggergate/triggergate/gateway/internal/source/twilio"
	"github.com/triggergate/triggergate/gateway/internal/source/woocommerce"
)

// builder makes an adapter of one kind from a spec of that kind.
type builder func(spec source.Spec) (source.Adapter, hcl.Diagnostics)

// registry maps each kind to its builder. A function rather than a package
// variable, so there is no global state to mutate.
func registry() map[string]builder {
	return map[string]builder{
		"hubspot":     hubspot.Build,
		"json":        jsonkind.Build,
		"mailgun":     mailgun.Build,
		"postmark":    postmark.Build,
		"salesforce":  salesforce.Build,
		"segment":     segment.Build,
		"sendgrid":    sendgrid.Build,
		"shopify":     shopify.Build,
		"standard":    standard.Build,
		"stripe":      stripe.Build,
		"twilio":      twilio.Build,
		"woocommerce": woocommerce.Build,
	}
}

// Names lists the registered kinds, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(registry()))
}

// Build makes an adapter for a spec. Problems are diagnostics at the
// offending range; an unknown kind lists the known ones. When the
// diagnostics contain errors the adapter is nil; warnings may come with a
// working adapter.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	build, ok := registry()[spec.Kind]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown source kind",
			Detail: fmt.Sprintf("Source %q has kind %q, which is not known; use one of: %s.",
				spec.Name, spec.Kind, strings.Join(Names(), ", ")),
			Subject: spec.KindAttrRange().Ptr(),
		}}
	}
	adapter, diags := build(spec)
	if diags.HasErrors() {
		return nil, diags
	}
	return adapter, diags
}
