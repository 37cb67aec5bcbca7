package standard

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

// maxTypeLen bounds an event type; types are keys in trigger
// configuration, not free text.
const maxTypeLen = 128

// identityKeys are the members of data.customer that identify the person,
// or that another triggergate computed for its own use (stats, consent:
// this gateway keeps its own); its other members are traits.
var identityKeys = map[string]bool{
	"id": true, "email": true, "phone": true, "anonymous_id": true, "external_ids": true, "traits": true,
	"stats": true, "consent": true,
}

// event maps a Standard Webhooks payload, {"type", "timestamp", "data"},
// to an event whose delivery id is the webhook-id. When the body has no
// data member the payload is "squashed" (the specification allows that):
// its members other than type and timestamp are the data.
func (a *adapter) event(id string, raw any) (sdk.Event, error) {
	root, ok := raw.(map[string]any)
	if !ok {
		return sdk.Event{}, fmt.Errorf("%w: body is %s; send an object {\"type\", \"timestamp\", \"data\"}", source.ErrBadPayload, source.JSONType(raw))
	}
	ev := sdk.Event{DeliveryID: id}
	typ, isString := root["type"].(string)
	switch {
	case root["type"] == nil:
		return ev, fmt.Errorf("%w: webhook %s has no type; send a full-stop delimited type such as \"user.created\"", source.ErrBadPayload, id)
	case !isString:
		return ev, fmt.Errorf("%w: webhook %s: type must be a string, got %s", source.ErrBadPayload, id, source.JSONType(root["type"]))
	case len(typ) > maxTypeLen:
		return ev, fmt.Errorf("%w: webhook %s: type is longer than %d characters", source.ErrBadPayload, id, maxTypeLen)
	case !source.ValidType(typ):
		return ev, fmt.Errorf("%w: webhook %s: type %q is not full-stop delimited words of letters, digits, _, : and -", source.ErrBadPayload, id, typ)
	}
	ev.Type = typ

	var err error
	if ev.OccurredAt, err = timestamp(root["timestamp"]); err != nil {
		return ev, fmt.Errorf("%w: webhook %s: %v", source.ErrBadPayload, id, err)
	}

	var data map[string]any
	if d, has := root["data"]; has {
		if data, ok = d.(map[string]any); !ok && d != nil {
			return ev, fmt.Errorf("%w: webhook %s: data must be an object, got %s", source.ErrBadPayload, id, source.JSONType(d))
		}
	} else {
		data = maps.Clone(root)
		delete(data, "type")
		delete(data, "timestamp")
	}

	if ev.Customer, ev.Traits, err = a.customer(data); err != nil {
		return ev, fmt.Errorf("%w: webhook %s: %v", source.ErrBadPayload, id, err)
	}
	if ev.Customer.Key() == "" {
		return ev, fmt.Errorf("%w: webhook %s (%s) names no customer: send data.customer with an id, email, phone, "+
			"anonymous_id or external_ids, or data.email, data.customer_id or data.user_id", source.ErrBadPayload, id, typ)
	}
	props := make(map[string]any, len(data))
	for k, v := range data {
		if k != "customer" {
			props[k] = source.Plain(v)
		}
	}
	if len(props) > 0 {
		ev.Properties = props
	}
	return ev, nil
}

// customer reads the identity. Each identity field comes from
// data.customer when it has it (an object; a string or number there is the
// customer id), else from data itself: id from data.customer_id, then
// data.user_id; email from data.email; phone from data.phone; anonymous_id
// from data.anonymous_id. data.customer's other members, and those of its
// traits object, are traits.
func (a *adapter) customer(data map[string]any) (sdk.Customer, map[string]any, error) {
	var c sdk.Customer
	var traits map[string]any
	var id string
	var err error
	switch cust := data["customer"].(type) {
	case nil:
	case string, json.Number:
		id = source.ID(cust)
	case map[string]any:
		fields := []struct {
			key  string
			dest *string
		}{{"id", &id}, {"email", &c.Email}, {"phone", &c.Phone}, {"anonymous_id", &c.AnonymousID}}
		for _, f := range fields {
			if *f.dest, err = scalar(cust[f.key], "data.customer."+f.key); err != nil {
				return c, nil, err
			}
		}
		if c.ExternalIDs, err = externalIDs(cust["external_ids"]); err != nil {
			return c, nil, err
		}
		traits = map[string]any{}
		for k, v := range cust {
			if !identityKeys[k] {
				traits[k] = source.Plain(v)
			}
		}
		switch t := cust["traits"].(type) {
		case nil:
		case map[string]any:
			for k, v := range t {
				traits[k] = source.Plain(v)
			}
		default:
			return c, nil, fmt.Errorf("data.customer.traits must be an object, got %s", source.JSONType(t))
		}
		if len(traits) == 0 {
			traits = nil
		}
	default:
		return c, nil, fmt.Errorf("data.customer must be an object (or a customer id), got %s", source.JSONType(cust))
	}

	fallbacks := []struct {
		key  string
		dest *string
	}{{"customer_id", &id}, {"user_id", &id}, {"email", &c.Email}, {"phone", &c.Phone}, {"anonymous_id", &c.AnonymousID}}
	for _, f := range fallbacks {
		if *f.dest != "" {
			continue
		}
		if *f.dest, err = scalar(data[f.key], "data."+f.key); err != nil {
			return c, nil, err
		}
	}
	c.Email = source.Email(c.Email)
	c.Phone = source.Phone(c.Phone)
	if id != "" {
		if a.idSystem != "" {
			if c.ExternalIDs == nil {
				c.ExternalIDs = map[string]string{}
			}
			c.ExternalIDs[a.idSystem] = id
		} else {
			c.ID = id
		}
	}
	return c, traits, nil
}

// scalar reads an identity field: a string (trimmed) or a number (its
// exact decimal form); null is "".
func scalar(v any, path string) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string, json.Number:
		return source.ID(x), nil
	}
	return "", fmt.Errorf("%s must be a string or number, got %s", path, source.JSONType(v))
}

// externalIDs reads an object of system name → id; empty ids are dropped.
func externalIDs(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("data.customer.external_ids must be an object of system name → id, got %s", source.JSONType(v))
	}
	var out map[string]string
	for k, raw := range m {
		id, err := scalar(raw, "data.customer.external_ids."+k)
		if err != nil {
			return nil, err
		}
		if id == "" {
			continue
		}
		if strings.TrimSpace(k) == "" {
			return nil, errors.New("data.customer.external_ids has an empty system name")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = id
	}
	return out, nil
}

// timestamp reads the payload's timestamp: RFC 3339 as the specification
// has it (unix seconds are accepted too); absent or null is unknown.
func timestamp(v any) (time.Time, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(x))
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp %q is not an RFC 3339 time such as \"2022-11-03T20:26:10.344522Z\"", source.Truncate(x, 40))
		}
		return t.UTC(), nil
	case json.Number:
		t, err := source.ParseUnix(x.String())
		if err != nil || t.Year() > 9999 {
			return time.Time{}, fmt.Errorf("timestamp %s is not unix seconds", source.Truncate(x.String(), 24))
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timestamp must be an RFC 3339 string, got %s", source.JSONType(v))
}
