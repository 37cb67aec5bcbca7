// Package source is the framework every source kind is built on: the
// Adapter interface the ingest calls, the sentinel errors it maps to HTTP
// status codes, and the verification and normalisation helpers vendors
// share (constant-time signature checks, replay windows, emails, phones,
// money in major units, accessors for payloads decoded as generic JSON).
//
// Each kind lives in its own package below this one (source/shopify,
// source/stripe, ...); package source/kinds is the registry that builds an
// adapter from a configured source block.
package source

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/sdk"
)

// Sentinel errors returned by [Adapter.Parse]. The ingest maps each to an
// HTTP status and error code; adapters wrap them with the detail a sender
// needs to fix the delivery: fmt.Errorf("%w: ...", ErrBadSignature).
var (
	// ErrBadSignature means the signature (or credential) is missing, does
	// not match any of the source's secrets, or signs a timestamp outside
	// the replay window (401, code "bad_signature").
	ErrBadSignature = errors.New("bad signature")
	// ErrBadPayload means the body cannot be parsed or mapped to an event;
	// the wrapping message says which field and what was expected (400,
	// code "bad_payload").
	ErrBadPayload = errors.New("bad payload")
	// ErrUnsupportedType means the Content-Type is not one the kind reads
	// (415, code "unsupported_media_type").
	ErrUnsupportedType = errors.New("unsupported media type")
)

// DefaultReplayWindow is how far a signed timestamp may be from the
// receive time, either way, when the source does not say.
const DefaultReplayWindow = 5 * time.Minute

// Spec is a configured `source "name" { kind = ... }` block, as the config
// package hands it over after evaluating the attributes every kind shares.
type Spec struct {
	// Name is the block's label; it is also the webhook path segment.
	Name string
	// Kind selects the adapter ("json", "shopify", "stripe", ...).
	Kind string
	// Secrets are the current and previous signing secrets, so a secret can
	// be rotated without dropping deliveries: a signature matching any of
	// them is accepted. Empty means no signature check, for kinds that
	// allow that.
	Secrets []string
	// ReplayWindow bounds how far a signed timestamp may be from the
	// receive time (DefaultReplayWindow when zero).
	ReplayWindow time.Duration
	// Body is the kind-specific remainder of the block, already stripped of
	// the shared attributes; the kind decodes it and reports any attribute
	// it does not know.
	Body hcl.Body
	// EvalContext evaluates the kind's static attributes (env(), file()).
	// It may be nil when the configuration uses no functions or variables.
	EvalContext *hcl.EvalContext
	// KindRange is the range of the kind attribute. Optional.
	KindRange hcl.Range
	// DefRange is the range of the block header (`source "name"`). Optional.
	DefRange hcl.Range
}

// Window returns the replay window to apply.
func (s Spec) Window() time.Duration {
	if s.ReplayWindow > 0 {
		return s.ReplayWindow
	}
	return DefaultReplayWindow
}

// BlockRange is where to report a problem with the block as a whole.
func (s Spec) BlockRange() hcl.Range {
	if !isZeroRange(s.DefRange) {
		return s.DefRange
	}
	if s.Body != nil {
		return s.Body.MissingItemRange()
	}
	return hcl.Range{}
}

// KindAttrRange is where to report a problem with the kind attribute.
func (s Spec) KindAttrRange() hcl.Range {
	if !isZeroRange(s.KindRange) {
		return s.KindRange
	}
	return s.BlockRange()
}

// RequireSecrets is the check of a kind whose vendor always signs: with no
// secret configured it reports an error whose detail (the kind's own, saying
// where the vendor shows the secret) tells the admin what to set. Empty
// secrets never get this far: the config loader refuses them.
func (s Spec) RequireSecrets(detail string) hcl.Diagnostics {
	if len(s.Secrets) > 0 {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Missing secret",
		Detail:   detail,
		Subject:  s.BlockRange().Ptr(),
	}}
}

func isZeroRange(r hcl.Range) bool {
	return r.Filename == "" && r.Start.Line == 0 && r.End.Line == 0
}

// Request is one delivery as received. Body is already size-limited (and
// decompressed) by the caller: exactly the bytes the sender signed.
type Request struct {
	// Method is the HTTP method, normally POST.
	Method string
	// URL is the request URL as the server saw it (path and query).
	URL *url.URL
	// Host is the Host header the request arrived with.
	Host string
	// TLS reports whether the request reached the gateway over TLS.
	TLS bool
	// Header holds the request headers as received.
	Header http.Header
	// Body is the raw body, exactly as signed by the sender.
	Body []byte
	// Now is the receive time, for kinds that check signed timestamps
	// against the replay window.
	Now time.Time
}

// ExternalURL is the URL the sender posted to, for vendors that sign it
// (HubSpot v3, Twilio): scheme and host from X-Forwarded-Proto and
// X-Forwarded-Host when a proxy set them, else from the request itself.
// Trusting these headers is safe here: they only feed a signature check,
// so a forged value can only make verification fail. Sources behind a proxy
// that rewrites paths set the kind's public_url instead.
func (r *Request) ExternalURL() string {
	scheme := "http"
	if r.TLS {
		scheme = "https"
	}
	if p := firstHeaderValue(r.Header.Get("X-Forwarded-Proto")); p != "" {
		scheme = strings.ToLower(p)
	}
	host := r.Host
	if h := firstHeaderValue(r.Header.Get("X-Forwarded-Host")); h != "" {
		host = h
	}
	return scheme + "://" + host + r.URL.RequestURI()
}

func firstHeaderValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// Delivery is what an adapter makes of one request.
type Delivery struct {
	// Events are the canonical events, in the order the vendor sent them.
	// Each carries Type, DeliveryID (its own dedupe id: batch items each
	// have one), OccurredAt (zero if unknown), Customer, Properties and
	// Traits; the ingest fills ID, Source, SourceKind and ReceivedAt. No
	// events is a valid delivery (a vendor's ping).
	Events []sdk.Event
	// Reply, when set, replaces the ingest's JSON answer to a delivery it
	// accepted (including duplicates), for vendors that expect a particular
	// body, such as Salesforce's SOAP Ack.
	Reply *Reply
}

// Reply is a vendor-specific success answer.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
}

// Adapter verifies and maps deliveries for one configured source. It must
// be safe for concurrent use: the ingest calls Parse from many goroutines.
type Adapter interface {
	// Parse verifies and maps one delivery. Errors wrap ErrUnsupportedType,
	// ErrBadSignature or ErrBadPayload.
	Parse(req *Request) (*Delivery, error)
}

// AdapterFunc adapts a function to Adapter.
type AdapterFunc func(req *Request) (*Delivery, error)

// Parse implements Adapter.
func (f AdapterFunc) Parse(req *Request) (*Delivery, error) { return f(req) }
