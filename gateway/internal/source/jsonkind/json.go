package jsonkind

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

const (
	// defaultSignatureHeader carries the hex HMAC-SHA256 of the raw body
	// when signature_header is not set.
	defaultSignatureHeader = "X-Signature-256"
	// maxEventTypeLen bounds an event type; types are keys in trigger
	// configuration, not free text.
	maxEventTypeLen = 128
	// noIdentityMessage is the source.ErrBadPayload detail for an event that names
	// nobody; it says which attributes to map.
	noIdentityMessage = "event has no customer identity: map customer_id, email, phone, anonymous_id or external_ids"
)

// mapping is one attribute of the event block, or its default.
type mapping struct {
	// name is the attribute name ("type", "email", ...).
	name string
	// expr is evaluated once per event.
	expr hcl.Expression
	// where tells the sender which expression failed: the config's
	// file:line for a configured attribute, or the default's source.
	where string
}

// jsonAdapter is the json kind. It accepts any JSON object (or an array of
// objects, one event each) and maps it to the canonical event with HCL
// expressions over two variables: body (the parsed JSON) and headers
// (lower-cased header name → first value). Without an event block it
// accepts the canonical event's own JSON form.
//
//	source "app" {
//	  kind             = "json"
//	  secret           = env("APP_SECRET") # optional: HMAC-SHA256 of the raw body
//	  signature_header = "X-Signature-256" # default
//	  event {
//	    type        = body.event
//	    delivery_id = headers["x-request-id"]
//	    customer_id = body.user.id
//	    email       = body.user.email
//	  }
//	}
//
// Attributes of the block (besides kind, secret, secrets, max_body_kb):
//   - signature_header (string, default "X-Signature-256"): the header
//     carrying the hex HMAC-SHA256 of the raw body, upper or lower case,
//     optionally prefixed "sha256=". Only used with secret/secrets.
//   - event (block, optional, at most one): every attribute below is an
//     expression over body and headers, optional, with the default shown.
//     Defaults are wrapped in try(), so a missing field is simply absent;
//     your own expressions fail the delivery (400) when they cannot be
//     evaluated, so guard optional data with try() or can().
//   - type (default body.type): string of dot-separated words of letters,
//     digits, '_', ':' and '-', at most 128 characters; kept as given.
//   - delivery_id (default body.id): string or number, for dedupe; "" or
//     null means no dedupe. In an array body an id shared by several items
//     gets "#<index>" appended.
//   - occurred_at (default body.occurred_at): RFC 3339 string, or unix
//     seconds or milliseconds (from 1e12) as a number; null is unknown.
//   - customer_id (default body.customer.id), phone (default
//     body.customer.phone), anonymous_id (default
//     body.customer.anonymous_id): string or number, trimmed.
//   - email (default body.customer.email): trimmed and lower-cased.
//   - external_ids (default body.customer.external_ids): object of system
//     name → string or number id; empty ids are dropped.
//   - properties (default body.properties), traits (default body.traits):
//     objects; numbers become float64, so send ids inside them as strings
//     or map them with tostring().
//
// At least one of customer_id, email, phone, anonymous_id or an external id
// must be non-empty.
type jsonAdapter struct {
	secrets         []string
	signatureHeader string
	functions       map[string]function.Function

	typ, deliveryID, occurredAt                   mapping
	customerID, email, phone, anonymousID, extIDs mapping
	properties, traits                            mapping

	// defaults is set when every attribute uses its default (no event
	// block, or an empty one). Parse then maps bodies with the fast path
	// in fastpath.go, which gives the same events as evaluating the
	// default expressions; tests clear it to run the HCL path.
	defaults bool
}

var _ source.Adapter = (*jsonAdapter)(nil)

// jsonFunctions are the functions an event mapping may call: the SDK's
// expression functions plus string and collection helpers useful for
// reshaping payloads. Functions whose cost a sender could inflate through
// the body (format widths, jsondecode depth) are left out.
func jsonFunctions() map[string]function.Function {
	fns := sdk.ExpressionFunctions()
	extra := map[string]function.Function{
		"trimspace":  stdlib.TrimSpaceFunc,
		"trim":       stdlib.TrimFunc,
		"trimprefix": stdlib.TrimPrefixFunc,
		"trimsuffix": stdlib.TrimSuffixFunc,
		"replace":    stdlib.ReplaceFunc,
		"split":      stdlib.SplitFunc,
		"join":       stdlib.JoinFunc,
		"substr":     stdlib.SubstrFunc,
		"merge":      stdlib.MergeFunc,
		"keys":       stdlib.KeysFunc,
		"values":     stdlib.ValuesFunc,
		"element":    stdlib.ElementFunc,
		"concat":     stdlib.ConcatFunc,
		"flatten":    stdlib.FlattenFunc,
		"jsonencode": stdlib.JSONEncodeFunc,
		"parseint":   stdlib.ParseIntFunc,
		"floor":      stdlib.FloorFunc,
		"ceil":       stdlib.CeilFunc,
		"tobool":     stdlib.MakeToFunc(cty.Bool),
		"tomap":      stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tolist":     stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
	}
	for name, fn := range extra {
		fns[name] = fn
	}
	return fns
}

// jsonSchema is the kind-specific part of a json source block.
func jsonSchema() *hcl.BodySchema {
	return &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "signature_header"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "event"}},
	}
}

// jsonDefaults are the event block's attributes with the expression used
// when one is not set; together they read the canonical event's JSON.
func jsonDefaults() []struct{ name, src string } {
	return []struct{ name, src string }{
		{"type", "body.type"},
		{"delivery_id", "body.id"},
		{"occurred_at", "body.occurred_at"},
		{"customer_id", "body.customer.id"},
		{"email", "body.customer.email"},
		{"phone", "body.customer.phone"},
		{"anonymous_id", "body.customer.anonymous_id"},
		{"external_ids", "body.customer.external_ids"},
		{"properties", "body.properties"},
		{"traits", "body.traits"},
	}
}

// buildJSON decodes a json source block.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	a := &jsonAdapter{
		secrets:         slices.Clone(spec.Secrets),
		signatureHeader: defaultSignatureHeader,
		functions:       jsonFunctions(),
	}
	for _, s := range spec.Secrets {
		if s == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Empty secret",
				Detail: fmt.Sprintf("Source %q has an empty secret, which anyone can sign with. "+
					"Set it (is the environment variable defined?) or remove secret to accept unsigned deliveries.", spec.Name),
				Subject: spec.BlockRange().Ptr(),
			})
			break
		}
	}

	var content *hcl.BodyContent
	if spec.Body != nil {
		var d hcl.Diagnostics
		content, d = spec.Body.Content(jsonSchema())
		diags = append(diags, d...)
	}
	if content == nil {
		content = &hcl.BodyContent{}
	}

	if attr, ok := content.Attributes["signature_header"]; ok {
		name, d := staticHeaderName(attr, spec.EvalContext)
		diags = append(diags, d...)
		a.signatureHeader = name
		if len(spec.Secrets) == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Signature header without a secret",
				Detail:   fmt.Sprintf("Source %q sets signature_header but no secret, so deliveries are not verified. Set secret to verify them.", spec.Name),
				Subject:  attr.NameRange.Ptr(),
			})
		}
	}

	var eventAttrs hcl.Attributes
	for i, block := range content.Blocks {
		if i > 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate event block",
				Detail:   fmt.Sprintf("Source %q may have only one event block; the first is at %s.", spec.Name, content.Blocks[0].DefRange),
				Subject:  block.DefRange.Ptr(),
			})
			continue
		}
		ec, d := block.Body.Content(jsonEventSchema())
		diags = append(diags, d...)
		eventAttrs = ec.Attributes
	}

	dest := map[string]*mapping{
		"type": &a.typ, "delivery_id": &a.deliveryID, "occurred_at": &a.occurredAt,
		"customer_id": &a.customerID, "email": &a.email, "phone": &a.phone,
		"anonymous_id": &a.anonymousID, "external_ids": &a.extIDs,
		"properties": &a.properties, "traits": &a.traits,
	}
	for _, def := range jsonDefaults() {
		m, d := jsonMapping(def.name, def.src, eventAttrs[def.name], a.functions)
		diags = append(diags, d...)
		*dest[def.name] = m
	}
	diags = append(diags, checkConstantType(eventAttrs["type"], a.functions)...)
	a.defaults = len(eventAttrs) == 0
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// jsonEventSchema is the event block: every attribute optional.
func jsonEventSchema() *hcl.BodySchema {
	var s hcl.BodySchema
	for _, def := range jsonDefaults() {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: def.name})
	}
	return &s
}

// jsonMapping makes the mapping for one event attribute: the configured
// expression after checking its variables and functions, or the default
// wrapped in try() so a missing field is simply absent.
func jsonMapping(name, defaultSrc string, attr *hcl.Attribute, fns map[string]function.Function) (mapping, hcl.Diagnostics) {
	if attr == nil {
		src := "try(" + defaultSrc + ", null)"
		expr, diags := hclsyntax.ParseExpression([]byte(src), "default "+name, hcl.InitialPos)
		return mapping{name: name, expr: expr, where: "default " + defaultSrc}, diags
	}
	r := attr.Expr.Range()
	return mapping{name: name, expr: attr.Expr, where: fmt.Sprintf("%s:%d", filepath.Base(r.Filename), r.Start.Line)}, checkExpression(attr.Expr, fns)
}

// checkExpression reports variables other than body and headers, and
// calls to functions the mapping does not provide, at their ranges.
func checkExpression(expr hcl.Expression, fns map[string]function.Function) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, tr := range expr.Variables() {
		if root := tr.RootName(); root == "body" || root == "headers" {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Variable not allowed",
			Detail: fmt.Sprintf("An event mapping can refer only to body (the parsed JSON) and headers "+
				"(lower-cased header name → first value); %q is not available here.", tr.RootName()),
			Subject:    tr.SourceRange().Ptr(),
			Expression: expr,
		})
	}
	if syn, ok := expr.(hclsyntax.Expression); ok {
		hclsyntax.VisitAll(syn, func(n hclsyntax.Node) hcl.Diagnostics {
			call, ok := n.(*hclsyntax.FunctionCallExpr)
			if !ok {
				return nil
			}
			if _, known := fns[call.Name]; known {
				return nil
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Call to unknown function",
				Detail: fmt.Sprintf("There is no function named %q in an event mapping; available: %s.",
					call.Name, strings.Join(sortedKeys(fns), ", ")),
				Subject:    call.NameRange.Ptr(),
				Expression: expr,
			})
			return nil
		})
	}
	return diags
}

// checkConstantType reports at Build a type that does not depend on the
// delivery and is invalid, rather than failing every delivery.
func checkConstantType(attr *hcl.Attribute, fns map[string]function.Function) hcl.Diagnostics {
	if attr == nil || len(attr.Expr.Variables()) > 0 {
		return nil
	}
	v, diags := attr.Expr.Value(&hcl.EvalContext{Functions: fns})
	if diags.HasErrors() {
		return nil // reported by checkExpression, or at evaluation
	}
	if _, err := eventType(v); err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid event type",
			Detail:   fmt.Sprintf("The event type %s.", strings.TrimPrefix(err.Error(), "type: ")),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return nil
}

// staticHeaderName evaluates signature_header: a non-empty header name.
func staticHeaderName(attr *hcl.Attribute, ctx *hcl.EvalContext) (string, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return defaultSignatureHeader, diags
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String || !isHeaderToken(v.AsString()) {
		return defaultSignatureHeader, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid signature_header",
			Detail:   "signature_header must be an HTTP header name such as \"X-Signature-256\".",
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return http.CanonicalHeaderKey(v.AsString()), diags
}

// isHeaderToken reports whether s is a valid HTTP header name (RFC 9110
// token).
func isHeaderToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Parse verifies the content type and signature, then maps the body: one
// event for an object, one per item for an array of objects.
func (a *jsonAdapter) Parse(req *source.Request) (*source.Delivery, error) {
	events, err := a.parse(req)
	if err != nil {
		return nil, err
	}
	return &source.Delivery{Events: events}, nil
}

func (a *jsonAdapter) parse(req *source.Request) ([]sdk.Event, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no request", source.ErrBadPayload)
	}
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	if len(a.secrets) > 0 {
		if err := verifyHexHMACSHA256(req.Header, a.signatureHeader, req.Body, a.secrets); err != nil {
			return nil, err
		}
	}
	if a.defaults {
		return a.parseDefaults(req.Body)
	}
	root, err := decodeJSON(req.Body)
	if err != nil {
		return nil, err
	}
	headers := headersValue(req.Header)
	t := root.Type()
	switch {
	case t.IsObjectType() && !root.IsNull():
		ev, err := a.event(root, headers)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", source.ErrBadPayload, err)
		}
		return []sdk.Event{ev}, nil
	case t.IsTupleType():
		return a.batch(root, headers)
	default:
		return nil, bodyKindError(jsonKind(root))
	}
}

// bodyKindError, emptyArrayError and itemKindError refuse a body that is
// not an object or a non-empty array of objects.
func bodyKindError(kind string) error {
	return fmt.Errorf("%w: body is a JSON %s; send an object (or an array of objects)", source.ErrBadPayload, kind)
}

func emptyArrayError() error {
	return fmt.Errorf("%w: body is an empty array; send at least one event object", source.ErrBadPayload)
}

func itemKindError(i int, kind string) error {
	return fmt.Errorf("%w: item %d is a JSON %s; each item must be an object", source.ErrBadPayload, i, kind)
}

// batch maps an array body. Delivery ids that are unique within the array
// stay as they are; one shared by several items (typically a header id)
// gets "#<index>" appended so each event dedupes on its own.
func (a *jsonAdapter) batch(root, headers cty.Value) ([]sdk.Event, error) {
	n := root.LengthInt()
	if n == 0 {
		return nil, emptyArrayError()
	}
	events := make([]sdk.Event, 0, n)
	for i, item := range root.AsValueSlice() {
		if !item.Type().IsObjectType() || item.IsNull() {
			return nil, itemKindError(i, jsonKind(item))
		}
		ev, err := a.event(item, headers)
		if err != nil {
			return nil, fmt.Errorf("%w: item %d: %v", source.ErrBadPayload, i, err)
		}
		events = append(events, ev)
	}
	suffixSharedIDs(events)
	return events, nil
}

// suffixSharedIDs appends "#<index>" to every delivery id that several
// events of one array body share.
func suffixSharedIDs(events []sdk.Event) {
	seen := make(map[string]int, len(events))
	for _, ev := range events {
		seen[ev.DeliveryID]++
	}
	for i := range events {
		if id := events[i].DeliveryID; id != "" && seen[id] > 1 {
			events[i].DeliveryID = fmt.Sprintf("%s#%d", id, i)
		}
	}
}

// jsonKind names a decoded value's JSON type for error messages.
func jsonKind(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return typeName(v.Type())
}

// event evaluates every mapping against one object. Errors name the
// mapping and where it is configured; the caller wraps source.ErrBadPayload.
func (a *jsonAdapter) event(body, headers cty.Value) (sdk.Event, error) {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"body": body, "headers": headers},
		Functions: a.functions,
	}
	var ev sdk.Event
	var err error

	typ, err := a.eval(ctx, a.typ)
	if err != nil {
		return ev, err
	}
	if ev.Type, err = eventType(typ); err != nil {
		return ev, a.typ.fail(err)
	}

	ids := []struct {
		m    mapping
		dest *string
	}{
		{a.deliveryID, &ev.DeliveryID},
		{a.customerID, &ev.Customer.ID},
		{a.email, &ev.Customer.Email},
		{a.phone, &ev.Customer.Phone},
		{a.anonymousID, &ev.Customer.AnonymousID},
	}
	for _, id := range ids {
		v, err := a.eval(ctx, id.m)
		if err != nil {
			return ev, err
		}
		if *id.dest, err = ctyToID(v, id.m.name); err != nil {
			return ev, id.m.fail(err)
		}
	}
	ev.Customer.Email = strings.ToLower(ev.Customer.Email)

	v, err := a.eval(ctx, a.occurredAt)
	if err != nil {
		return ev, err
	}
	if ev.OccurredAt, err = timestamp(v, a.occurredAt.name); err != nil {
		return ev, a.occurredAt.fail(err)
	}

	v, err = a.eval(ctx, a.extIDs)
	if err != nil {
		return ev, err
	}
	if ev.Customer.ExternalIDs, err = externalIDs(v, a.extIDs.name); err != nil {
		return ev, a.extIDs.fail(err)
	}

	for _, obj := range []struct {
		m    mapping
		dest *map[string]any
	}{{a.properties, &ev.Properties}, {a.traits, &ev.Traits}} {
		v, err := a.eval(ctx, obj.m)
		if err != nil {
			return ev, err
		}
		if *obj.dest, err = ctyToObject(v, obj.m.name); err != nil {
			return ev, obj.m.fail(err)
		}
	}

	if !hasIdentity(ev.Customer) {
		return ev, fmt.Errorf("%s", noIdentityMessage)
	}
	return ev, nil
}

// fail says which mapping produced a problem, so the sender (and the
// operator reading the same message) can tell whether the payload or the
// config is off.
func (m mapping) fail(err error) error {
	return fmt.Errorf("%w (mapped by %s)", err, m.where)
}

// eval evaluates one mapping, turning HCL diagnostics into an error that
// names the mapping.
func (a *jsonAdapter) eval(ctx *hcl.EvalContext, m mapping) (cty.Value, error) {
	v, diags := m.expr.Value(ctx)
	if diags.HasErrors() {
		var msgs []string
		for _, d := range diags.Errs() {
			if hd, ok := d.(*hcl.Diagnostic); ok && hd.Detail != "" {
				msgs = append(msgs, hd.Summary+": "+hd.Detail)
			} else {
				msgs = append(msgs, d.Error())
			}
		}
		return cty.NilVal, m.fail(fmt.Errorf("%s: %s", m.name, strings.Join(msgs, "; ")))
	}
	return v, nil
}

// eventType checks a mapped type: a non-empty string of dot-separated
// words, kept as given.
func eventType(v cty.Value) (string, error) {
	if v.IsMarked() {
		v, _ = v.Unmark()
	}
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		got := "null"
		if v.IsKnown() && !v.IsNull() {
			got = typeName(v.Type())
		}
		return "", notATypeError(got)
	}
	return checkType(v.AsString())
}

// notATypeError refuses a type that is not a string.
func notATypeError(got string) error {
	return fmt.Errorf("type: want a string such as \"checkout.updated\", got %s", got)
}

// checkType checks a type given as a string.
func checkType(s string) (string, error) {
	switch {
	case s == "":
		return "", errors.New("type: must not be empty")
	case len(s) > maxEventTypeLen:
		return "", fmt.Errorf("type: must not be longer than %d characters", maxEventTypeLen)
	case !source.ValidType(s):
		return "", fmt.Errorf("type: %q is not valid; use dot-separated words of letters, digits, _, : and - such as \"checkout.updated\"", s)
	}
	return s, nil
}

// timestamp reads occurred_at: an RFC 3339 string, or unix seconds or
// milliseconds as a number (values from 1e12 on are milliseconds; both
// forms cover 1970 to 9999 without overlap). Null is the zero time.
func timestamp(v cty.Value, path string) (time.Time, error) {
	if v.IsMarked() {
		v, _ = v.Unmark()
	}
	if !v.IsKnown() || v.IsNull() {
		return time.Time{}, nil
	}
	switch v.Type() {
	case cty.String:
		return stringTime(v.AsString(), path)
	case cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return unixTime(f, path)
	default:
		return time.Time{}, notATimeError(path, typeName(v.Type()))
	}
}

// stringTime reads a time given as a string: RFC 3339, or blank for
// unknown.
func stringTime(s, path string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time such as \"2026-11-22T10:00:00Z\"", path, truncate(s, 64))
	}
	return t.UTC(), nil
}

// unixTime reads a time given as a number of unix seconds or milliseconds.
func unixTime(f float64, path string) (time.Time, error) {
	// maxUnix is 10000-01-01T00:00:00Z: a time's JSON form has a
	// four-digit year.
	const maxUnix, msFrom = 253402300800, 1e12
	switch {
	case f >= 0 && f < maxUnix:
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	case f >= msFrom && f < maxUnix*1000:
		ms, frac := math.Modf(f)
		return time.UnixMilli(int64(ms)).Add(time.Duration(frac * 1e6)).UTC(), nil
	default:
		return time.Time{}, fmt.Errorf("%s: %v is not a unix time in seconds or milliseconds between 1970 and 9999", path, f)
	}
}

// notATimeError refuses a time that is neither a string nor a number.
func notATimeError(path, got string) error {
	return fmt.Errorf("%s: want an RFC 3339 string or unix seconds/milliseconds, got %s", path, got)
}

// externalIDs reads a map of system name → id. Empty ids are dropped.
func externalIDs(v cty.Value, path string) (map[string]string, error) {
	if v.IsMarked() {
		v, _ = v.Unmark()
	}
	if !v.IsKnown() || v.IsNull() {
		return nil, nil
	}
	if t := v.Type(); !t.IsObjectType() && !t.IsMapType() {
		return nil, notExternalIDsError(path, typeName(t))
	}
	var out map[string]string
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		key := k.AsString()
		id, err := ctyToID(e, path+"."+key)
		if err != nil {
			return nil, err
		}
		if id == "" {
			continue
		}
		if strings.TrimSpace(key) == "" {
			return nil, emptySystemError(path, id)
		}
		if out == nil {
			out = make(map[string]string)
		}
		out[key] = id
	}
	return out, nil
}

// notExternalIDsError refuses external ids that are not an object.
func notExternalIDsError(path, got string) error {
	return fmt.Errorf("%s: want an object of system name → id, got %s", path, got)
}

// emptySystemError refuses an external id without a system name.
func emptySystemError(path, id string) error {
	return fmt.Errorf("%s: external id %q has an empty system name", path, truncate(id, 64))
}

// hasIdentity reports whether an event names somebody. Phone counts even
// though sdk.Customer.Key does not group by it yet.
func hasIdentity(c sdk.Customer) bool {
	if c.ID != "" || c.Email != "" || c.Phone != "" || c.AnonymousID != "" {
		return true
	}
	for _, id := range c.ExternalIDs {
		if id != "" {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
