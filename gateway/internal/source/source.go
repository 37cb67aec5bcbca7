// Package source holds the source adapters: each verifies one webhook
// delivery and maps it to canonical events. A kind is one file in this
// package plus one line in [registry]; the ingest only sees [Adapter].
package source

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/sdk"
)

// Sentinel errors returned by [Adapter.Parse]. The ingest maps each to an
// HTTP status and error code; adapters wrap them with the detail a sender
// needs to fix the delivery: fmt.Errorf("%w: ...", ErrBadSignature).
var (
	// ErrBadSignature means the signature header is missing or matches none
	// of the source's secrets (401, code "bad_signature").
	ErrBadSignature = errors.New("bad signature")
	// ErrBadPayload means the body cannot be parsed or mapped to an event;
	// the wrapping message says which field and what was expected (400,
	// code "bad_payload").
	ErrBadPayload = errors.New("bad payload")
	// ErrUnsupportedType means the Content-Type is not one the kind reads
	// (415, code "unsupported_media_type").
	ErrUnsupportedType = errors.New("unsupported media type")
)

// Spec is a configured `source "name" { kind = ... }` block, as the config
// package hands it over after evaluating the attributes every kind shares.
type Spec struct {
	// Name is the block's label; it is also the webhook path segment.
	Name string
	// Kind selects the adapter ("json", later "shopify", "stripe", ...).
	Kind string
	// Secrets are the current and previous signing secrets, so a secret can
	// be rotated without dropping deliveries. Empty means no signature
	// check, for kinds that allow that.
	Secrets []string
	// Body is the kind-specific remainder of the block, already stripped of
	// kind, secret, secrets and max_body_kb; the kind decodes it and reports
	// any attribute it does not know.
	Body hcl.Body
	// EvalContext evaluates the kind's static attributes (env(), file()).
	// It may be nil when the configuration uses no functions or variables.
	EvalContext *hcl.EvalContext
	// KindRange is the range of the kind attribute, where an unknown kind is
	// reported. Optional: when zero, DefRange is used.
	KindRange hcl.Range
	// DefRange is the range of the block header (`source "name"`), where
	// problems with the block as a whole are reported. Optional: when zero,
	// the start of Body is used.
	DefRange hcl.Range
}

// Request is one delivery as received. Body is already size-limited by the
// caller.
type Request struct {
	// Method is the HTTP method, normally POST.
	Method string
	// URL is the request URL, for kinds that sign it (query tokens, full
	// URL signatures).
	URL *url.URL
	// Header holds the request headers as received.
	Header http.Header
	// Body is the raw body, exactly as signed by the sender.
	Body []byte
	// Now is the receive time, for kinds that check signed timestamps
	// against a tolerance window.
	Now time.Time
}

// Adapter verifies and maps deliveries for one configured source. It must
// be safe for concurrent use: the ingest calls Parse from many goroutines.
type Adapter interface {
	// Parse verifies and maps one delivery. Events come back with Type,
	// DeliveryID, OccurredAt (zero if unknown), Customer, Properties and
	// Traits set; the caller fills ID, Source, SourceKind and ReceivedAt.
	// Errors wrap ErrUnsupportedType, ErrBadSignature or ErrBadPayload.
	Parse(req *Request) ([]sdk.Event, error)
}

// buildFunc makes an adapter of one kind. The spec's Kind is already known
// to match.
type buildFunc func(spec Spec) (Adapter, hcl.Diagnostics)

// registry maps each kind to its builder. Adding a kind is one file with
// its build function and one line here. It is a function, not a package
// variable, so there is no global state to mutate.
func registry() map[string]buildFunc {
	return map[string]buildFunc{
		"json": buildJSON,
	}
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	return slices.Sorted(maps.Keys(registry()))
}

// Build makes an adapter for a spec. Problems are diagnostics at the
// offending range; an unknown kind lists the known ones. When the
// diagnostics contain errors the adapter is nil; warnings may come with a
// working adapter.
func Build(spec Spec) (Adapter, hcl.Diagnostics) {
	build, ok := registry()[spec.Kind]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown source kind",
			Detail: fmt.Sprintf("Source %q has kind %q, which is not known; use one of: %s.",
				spec.Name, spec.Kind, strings.Join(Kinds(), ", ")),
			Subject: spec.kindRange().Ptr(),
		}}
	}
	adapter, diags := build(spec)
	if diags.HasErrors() {
		return nil, diags
	}
	return adapter, diags
}

// kindRange is where to report a problem with the kind attribute.
func (s Spec) kindRange() hcl.Range {
	if !isZeroRange(s.KindRange) {
		return s.KindRange
	}
	return s.defRange()
}

// defRange is where to report a problem with the block as a whole.
func (s Spec) defRange() hcl.Range {
	if !isZeroRange(s.DefRange) {
		return s.DefRange
	}
	if s.Body != nil {
		return s.Body.MissingItemRange()
	}
	return hcl.Range{}
}

func isZeroRange(r hcl.Range) bool {
	return r.Filename == "" && r.Start.Line == 0 && r.End.Line == 0
}
