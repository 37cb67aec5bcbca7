// Package segment is the source kind for Segment's Webhooks destinations:
// Segment Spec calls (track, identify, page, screen, group, alias), one at
// a time or in a {"batch": [...]} envelope, signed with X-Signature.
//
//	source "cdp" {
//	  kind   = "segment"
//	  secret = env("SEGMENT_SHARED_SECRET")
//	}
//
// See README.md for the signature scheme and the mapping table.
package segment

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// Kind is the kind name.
const Kind = "segment"

// headerSignature carries the hex HMAC-SHA1 of the raw body, keyed with
// the destination's shared secret.
const headerSignature = "X-Signature"

// adapter verifies and maps deliveries for one segment source. It holds
// only immutable configuration, so it is safe for concurrent use.
type adapter struct {
	secrets []string
}

var _ source.Adapter = (*adapter)(nil)

// Build decodes a segment source block. The kind has no attributes of its
// own. A secret is required: Segment signs whenever the destination has a
// shared secret, and an unsigned endpoint would accept anyone's events.
func Build(spec source.Spec) (source.Adapter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if spec.Body != nil {
		_, d := spec.Body.Content(&hcl.BodySchema{})
		diags = append(diags, d...)
	}
	diags = append(diags, spec.RequireSecrets(fmt.Sprintf("Source %q of kind segment needs secret: set a shared secret in the Segment Webhooks "+
		"destination (Settings > Shared Secret, or Advanced Settings for Webhooks (Actions)) and the same value here.", spec.Name))...)
	if diags.HasErrors() {
		return nil, diags
	}
	return &adapter{secrets: slices.Clone(spec.Secrets)}, diags
}

// Parse verifies X-Signature, then maps every call in the body.
func (a *adapter) Parse(req *source.Request) (*source.Delivery, error) {
	if err := source.CheckJSON(req.Header); err != nil {
		return nil, err
	}
	if err := a.verify(req); err != nil {
		return nil, err
	}
	events, err := parseBody(req.Body)
	if err != nil {
		return nil, err
	}
	return &source.Delivery{Events: events}, nil
}

// verify checks X-Signature: hex HMAC-SHA1 of the raw body.
func (a *adapter) verify(req *source.Request) error {
	sig := strings.TrimSpace(req.Header.Get(headerSignature))
	if sig == "" {
		return fmt.Errorf("%w: missing %s header; set a shared secret in the Segment destination so Segment signs its requests",
			source.ErrBadSignature, headerSignature)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		got = nil // matches nothing
	}
	want := func(secret []byte) []byte { return source.HMAC(sha1.New, secret, req.Body) }
	if !source.MatchAny(a.secrets, want, got) {
		return fmt.Errorf("%w: %s is not the hex HMAC-SHA1 of the body under the source's shared secret(s)",
			source.ErrBadSignature, headerSignature)
	}
	return nil
}

// message is one Segment Spec call. Ids may be strings or numbers.
type message struct {
	Type string `json:"type"`
	// Action is the call type in Segment's legacy (v1) message format.
	Action            string         `json:"action"`
	Event             string         `json:"event"`
	Name              string         `json:"name"`
	MessageID         any            `json:"messageId"`
	UserID            any            `json:"userId"`
	AnonymousID       any            `json:"anonymousId"`
	GroupID           any            `json:"groupId"`
	PreviousID        any            `json:"previousId"`
	Timestamp         any            `json:"timestamp"`
	OriginalTimestamp any            `json:"originalTimestamp"`
	SentAt            any            `json:"sentAt"`
	Properties        map[string]any `json:"properties"`
	Traits            map[string]any `json:"traits"`
	Context           map[string]any `json:"context"`
}

// envelope is a batch call; Context applies to items that have none.
type envelope struct {
	Batch   json.RawMessage `json:"batch"`
	Context map[string]any  `json:"context"`
}

// parseBody accepts one call, a {"batch": [...]} envelope, or a JSON
// array of calls (Webhooks (Actions) batching), one event per call.
func parseBody(body []byte) ([]sdk.Event, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	var items []json.RawMessage
	var batchContext map[string]any
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := source.DecodeJSON(body, &items); err != nil {
			return nil, err
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var env envelope
		if err := source.DecodeJSON(body, &env); err != nil {
			return nil, err
		}
		if len(env.Batch) == 0 || string(env.Batch) == "null" {
			items = []json.RawMessage{body}
			break
		}
		if err := decode(env.Batch, &items); err != nil {
			return nil, fmt.Errorf("%w: batch must be an array of calls: %v", source.ErrBadPayload, err)
		}
		batchContext = env.Context
	default:
		if err := source.DecodeJSON(body, new(any)); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: body must be a Segment call (a JSON object) or a batch", source.ErrBadPayload)
	}
	events := make([]sdk.Event, 0, len(items))
	for i, raw := range items {
		var m message
		if err := decode(raw, &m); err != nil {
			return nil, fmt.Errorf("%w: call %d is not a Segment call: %v", source.ErrBadPayload, i, err)
		}
		if m.Context == nil {
			m.Context = batchContext
		}
		ev, err := mapMessage(&m, raw)
		if err != nil {
			return nil, fmt.Errorf("%w: call %d: %s", source.ErrBadPayload, i, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// decode decodes one JSON value with numbers kept as json.Number.
func decode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// mapMessage maps one call. raw is its JSON, hashed into a delivery id
// when the call has no messageId (Segment's legacy samples).
func mapMessage(m *message, raw []byte) (sdk.Event, error) {
	typ := strings.ToLower(strings.TrimSpace(m.Type))
	if typ == "" {
		typ = strings.ToLower(strings.TrimSpace(m.Action))
	}
	if typ == "" {
		return sdk.Event{}, fmt.Errorf("no type (track, identify, page, screen, group or alias)")
	}
	ev := sdk.Event{
		DeliveryID: source.ID(m.MessageID),
		OccurredAt: firstTime(m.Timestamp, m.OriginalTimestamp, m.SentAt),
		Customer: sdk.Customer{
			ID:          source.ID(m.UserID),
			AnonymousID: source.ID(m.AnonymousID),
		},
	}
	if ev.DeliveryID == "" {
		sum := sha256.Sum256(raw)
		ev.DeliveryID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	ctxTraits, _ := m.Context["traits"].(map[string]any)
	ev.Customer.Email = firstEmail(m.Traits["email"], ctxTraits["email"], m.Properties["email"])
	ev.Customer.Phone = firstPhone(m.Traits["phone"], ctxTraits["phone"])

	switch typ {
	case "identify":
		ev.Type = "customer.updated"
		ev.Traits = mapTraits(m.Traits)
	case "track":
		event := strings.TrimSpace(m.Event)
		if event == "" {
			return sdk.Event{}, fmt.Errorf("track call has no event name")
		}
		ev.Type = trackType(event)
		ev.Properties = mapProperties(m.Properties, isProductEvent(event))
		ev.Properties["event"] = event
	case "page":
		ev.Type = "page.viewed"
		ev.Properties = pageProperties(m)
	case "screen":
		ev.Type = source.TopicType(Kind, "screen")
		ev.Properties = mapProperties(m.Properties, false)
		if name := strings.TrimSpace(m.Name); name != "" {
			ev.Properties["name"] = name
		}
	case "group":
		ev.Type = source.TopicType(Kind, "group")
		ev.Properties = map[string]any{}
		if g := source.ID(m.GroupID); g != "" {
			ev.Properties["group_id"] = g
		}
		if len(m.Traits) > 0 {
			ev.Properties["group_traits"] = source.PlainMap(m.Traits)
		}
		// Group traits describe the group, not the person.
		ev.Customer.Email = firstEmail(ctxTraits["email"])
		ev.Customer.Phone = firstPhone(ctxTraits["phone"])
	case "alias":
		ev.Type = source.TopicType(Kind, "alias")
		ev.Properties = map[string]any{}
		if p := source.ID(m.PreviousID); p != "" {
			ev.Properties["previous_id"] = p
		}
	default:
		ev.Type = source.TopicType(Kind, typ)
		ev.Properties = mapProperties(m.Properties, false)
	}
	if ev.Customer.Key() == "" {
		return sdk.Event{}, fmt.Errorf("%s call (messageId %q) has no userId, anonymousId, email or phone", typ, ev.DeliveryID)
	}
	if len(ev.Properties) == 0 {
		ev.Properties = nil
	}
	return ev, nil
}

// trackEvents maps Segment's E-commerce spec event names, v2 and v1,
// lower-cased, to the taxonomy.
var trackEvents = map[string]string{
	// v2
	"products searched":       "search.performed",
	"product viewed":          "product.viewed",
	"product added":           "cart.updated",
	"product removed":         "cart.updated",
	"cart viewed":             "cart.updated",
	"checkout started":        "checkout.started",
	"checkout step completed": "checkout.updated",
	"payment info entered":    "checkout.updated",
	"order completed":         "order.placed",
	"order refunded":          "order.refunded",
	"order cancelled":         "order.cancelled",
	"signed up":               "account.signed_up",
	// v1
	"searched products":       "search.performed",
	"viewed product":          "product.viewed",
	"added product":           "cart.updated",
	"removed product":         "cart.updated",
	"started order":           "checkout.started",
	"completed checkout step": "checkout.updated",
	"completed order":         "order.placed",
	"refunded order":          "order.refunded",
}

// isProductEvent reports whether a track event's properties describe one
// product (so its id is the product_id): Product Viewed, Added, Removed
// and Clicked, and their v1 names.
func isProductEvent(event string) bool {
	switch strings.ToLower(strings.Join(strings.Fields(event), " ")) {
	case "product viewed", "product added", "product removed", "product clicked",
		"viewed product", "added product", "removed product", "clicked product":
		return true
	}
	return false
}

// trackType maps a track event name: a known E-commerce spec name, else
// segment.<snake_case name>.
func trackType(event string) string {
	if t, ok := trackEvents[strings.ToLower(strings.Join(strings.Fields(event), " "))]; ok {
		return t
	}
	return source.TopicType(Kind, snakeCase(event))
}

// pageProperties keeps the page's url, path, title, referrer, search and
// name, from properties or else from context.page.
func pageProperties(m *message) map[string]any {
	props := mapProperties(m.Properties, false)
	if name := strings.TrimSpace(m.Name); name != "" {
		props["name"] = name
	}
	page, _ := m.Context["page"].(map[string]any)
	for _, k := range []string{"url", "path", "title", "referrer", "search"} {
		if _, ok := props[k]; ok {
			continue
		}
		if s, ok := page[k].(string); ok && s != "" {
			props[k] = s
		}
	}
	return props
}

// moneyKeys are order amounts, read as numbers or decimal strings.
var moneyKeys = map[string]bool{"subtotal": true, "tax": true, "shipping": true, "discount": true}

// idKeys maps Segment id properties (spec snake case and v1 camel case)
// to their canonical names.
var idKeys = map[string]string{
	"order_id": "order_id", "orderId": "order_id",
	"checkout_id": "checkout_id", "checkoutId": "checkout_id",
	"cart_id": "cart_id", "cartId": "cart_id",
	"product_id": "product_id", "productId": "product_id",
	"order_number": "order_number", "orderNumber": "order_number",
}

// mapProperties maps track properties to the conventions: ids, value
// (total, else revenue, else value) and currency, amounts in major units
// (Segment sends them so), products as items, and every other property
// under its snake_case name. product says whether the properties
// describe a single product, so that id is its product_id.
func mapProperties(in map[string]any, product bool) map[string]any {
	out := make(map[string]any, len(in)+1)
	for k, v := range in {
		switch {
		case idKeys[k] != "":
			if id := source.ID(v); id != "" {
				out[idKeys[k]] = id
			}
		case k == "id" && product:
			if id := source.ID(v); id != "" {
				out["product_id"] = id
			}
		case k == "currency":
			if s, ok := v.(string); ok && source.Currency(s) != "" {
				out["currency"] = source.Currency(s)
			}
		case k == "products":
			if items := mapItems(v); items != nil {
				out["items"] = items
			}
		case k == "total" || k == "revenue" || k == "value" || moneyKeys[k]:
			if f, err := source.Amount(v); err == nil && v != nil {
				out[k] = f
			} else {
				out[k] = source.Plain(v)
			}
		case k == "price" || k == "quantity":
			if f, err := source.Amount(v); err == nil && v != nil {
				out[k] = f
			}
		case k == "imageUrl":
			out["image_url"] = source.Plain(v)
		default:
			out[snakeCase(k)] = source.Plain(v)
		}
	}
	for _, k := range []string{"total", "revenue", "value"} {
		if f, ok := out[k].(float64); ok {
			out["value"] = f
			if k == "total" {
				delete(out, "total")
			}
			break
		}
	}
	return out
}

// mapItems maps Segment products to items.
func mapItems(v any) []any {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	items := make([]any, 0, len(list))
	for _, p := range list {
		m, ok := p.(map[string]any)
		if !ok {
			continue
		}
		items = append(items, mapProperties(m, true))
	}
	return items
}

// mapTraits maps identify traits to the canonical trait names: first_name,
// last_name, phone, city, country, created_at; the rest keep their
// snake_case names. The email is the customer's identity, not a trait.
func mapTraits(in map[string]any) map[string]any {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		name := snakeCase(k)
		switch name {
		case "email":
			continue
		case "phone":
			if s, ok := v.(string); ok && source.Phone(s) != "" {
				out["phone"] = source.Phone(s)
				continue
			}
		case "address":
			if addr, ok := v.(map[string]any); ok {
				for ak, av := range addr {
					out[snakeCase(ak)] = source.Plain(av)
				}
				continue
			}
		}
		out[name] = source.Plain(v)
	}
	return out
}

// firstEmail returns the first value that is an email address.
func firstEmail(vs ...any) string {
	for _, v := range vs {
		if s, ok := v.(string); ok {
			if e := source.Email(s); e != "" {
				return e
			}
		}
	}
	return ""
}

// firstPhone returns the first value that is a phone number.
func firstPhone(vs ...any) string {
	for _, v := range vs {
		if s, ok := v.(string); ok {
			if p := source.Phone(s); p != "" {
				return p
			}
		}
	}
	return ""
}

// firstTime returns the first ISO 8601 time among vs, in UTC; zero if
// none parses.
func firstTime(vs ...any) time.Time {
	for _, v := range vs {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
