package sdk

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Expression is a config attribute holding an HCL expression that the
// plugin evaluates per event, such as
//
//	when = event.properties.value > 50 && customer.traits.vip != true
//
// The host checks its syntax and its variables (only "event" and
// "customer") when the configuration is validated, so a plugin only sees
// expressions that parse. The zero Expression is empty: IsSet is false.
type Expression struct {
	source string
	expr   hclsyntax.Expression
}

// ParseExpression parses an expression's source.
func ParseExpression(src string) (Expression, error) {
	expr, diags := hclsyntax.ParseExpression([]byte(src), "expression", hcl.InitialPos)
	if diags.HasErrors() {
		return Expression{}, fmt.Errorf("invalid expression %q: %s", src, diags.Error())
	}
	return Expression{source: src, expr: expr}, nil
}

// ExpressionVariables are the root names an expression may refer to.
var ExpressionVariables = []string{"event", "customer"}

// IsSet reports whether the expression was given.
func (e Expression) IsSet() bool { return e.expr != nil }

// String returns the expression's source.
func (e Expression) String() string { return e.source }

// MarshalJSON writes the source, or null when the expression is unset.
func (e Expression) MarshalJSON() ([]byte, error) {
	if !e.IsSet() {
		return []byte("null"), nil
	}
	return json.Marshal(e.source)
}

// UnmarshalJSON parses the source; null or "" leave the expression unset.
func (e *Expression) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want an expression string: %w", err)
	}
	if s == nil || *s == "" {
		*e = Expression{}
		return nil
	}
	x, err := ParseExpression(*s)
	if err != nil {
		return err
	}
	*e = x
	return nil
}

// Eval evaluates the expression with "event" and "customer" bound to the
// JSON forms of ev and profile, and returns the result as a plain Go value
// (string, float64, bool, nil, []any, map[string]any).
func (e Expression) Eval(ev *Event, profile *Profile) (any, error) {
	v, err := e.eval(ev, profile)
	if err != nil {
		return nil, err
	}
	if !v.IsWhollyKnown() || v.IsNull() {
		return nil, nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, fmt.Errorf("converting result of %q: %w", e.source, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("converting result of %q: %w", e.source, err)
	}
	return out, nil
}

// EvalBool evaluates a condition. A null result counts as false; a result
// that is not a bool is an error. Referring to a missing attribute is an
// error too: guard optional data with can() or try(), e.g.
// try(event.properties.value, 0) > 50.
func (e Expression) EvalBool(ev *Event, profile *Profile) (bool, error) {
	v, err := e.eval(ev, profile)
	if err != nil {
		return false, err
	}
	if v.IsNull() || !v.IsKnown() {
		return false, nil
	}
	if v.Type() != cty.Bool {
		return false, fmt.Errorf("condition %q: want a bool, got %s", e.source, v.Type().FriendlyName())
	}
	return v.True(), nil
}

func (e Expression) eval(ev *Event, profile *Profile) (cty.Value, error) {
	if e.expr == nil {
		return cty.NilVal, fmt.Errorf("empty expression")
	}
	evVal, err := eventValue(ev)
	if err != nil {
		return cty.NilVal, fmt.Errorf("converting event: %w", err)
	}
	custVal, err := profileValue(profile)
	if err != nil {
		return cty.NilVal, fmt.Errorf("converting customer: %w", err)
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"event": evVal, "customer": custVal},
		Functions: ExpressionFunctions(),
	}
	v, diags := e.expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("evaluating %q: %s", e.source, diags.Error())
	}
	return v, nil
}

// ExpressionFunctions are the functions available in expressions, shared
// by the host (to check expressions) and the SDK (to evaluate them).
func ExpressionFunctions() map[string]function.Function {
	return map[string]function.Function{
		"can":      tryfunc.CanFunc,
		"try":      tryfunc.TryFunc,
		"lower":    stdlib.LowerFunc,
		"upper":    stdlib.UpperFunc,
		"contains": stdlib.ContainsFunc,
		"length":   stdlib.LengthFunc,
		"coalesce": stdlib.CoalesceFunc,
		"lookup":   stdlib.LookupFunc,
		"regex":    stdlib.RegexFunc,
		"max":      stdlib.MaxFunc,
		"min":      stdlib.MinFunc,
		"abs":      stdlib.AbsoluteFunc,
		"tonumber": stdlib.MakeToFunc(cty.Number),
		"tostring": stdlib.MakeToFunc(cty.String),
	}
}

// eventValue is the event as expressions see it: its JSON form, with
// every field present (empty rather than missing) so that conditions on an
// empty field read naturally.
func eventValue(ev *Event) (cty.Value, error) {
	props, err := anyValue(ev.Properties)
	if err != nil {
		return cty.NilVal, fmt.Errorf("properties: %w", err)
	}
	traits, err := anyValue(ev.Traits)
	if err != nil {
		return cty.NilVal, fmt.Errorf("traits: %w", err)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"id":          cty.StringVal(ev.ID),
		"type":        cty.StringVal(ev.Type),
		"source":      cty.StringVal(ev.Source),
		"source_kind": cty.StringVal(ev.SourceKind),
		"delivery_id": cty.StringVal(ev.DeliveryID),
		"occurred_at": timeValue(ev.OccurredAt),
		"received_at": timeValue(ev.ReceivedAt),
		"customer":    customerValue(&ev.Customer, nil),
		"properties":  props,
		"traits":      traits,
	}), nil
}

// profileValue is the customer as expressions see it.
func profileValue(p *Profile) (cty.Value, error) {
	traits, err := anyValue(p.Traits)
	if err != nil {
		return cty.NilVal, fmt.Errorf("traits: %w", err)
	}
	consent := make(map[string]cty.Value, len(p.Consent))
	for k, v := range p.Consent {
		consent[k] = cty.BoolVal(v)
	}
	return customerValue(&p.Customer, map[string]cty.Value{
		"traits":              traits,
		"timezone":            cty.StringVal(p.Timezone),
		"consent":             cty.ObjectVal(consent),
		"orders_count":        cty.NumberIntVal(int64(p.Stats.OrdersCount)),
		"lifetime_value":      cty.NumberFloatVal(finite(p.Stats.LifetimeValue)),
		"average_order_value": cty.NumberFloatVal(finite(p.Stats.AverageOrderValue)),
		"first_seen_at":       timeValue(p.Stats.FirstSeenAt),
		"last_seen_at":        timeValue(p.Stats.LastSeenAt),
		"last_order_at":       timeValue(p.Stats.LastOrderAt),
	}), nil
}

// finite maps NaN and infinities, which cty cannot hold, to 0.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func customerValue(c *Customer, extra map[string]cty.Value) cty.Value {
	ext := make(map[string]cty.Value, len(c.ExternalIDs))
	for k, v := range c.ExternalIDs {
		ext[k] = cty.StringVal(v)
	}
	attrs := map[string]cty.Value{
		"id":           cty.StringVal(c.ID),
		"email":        cty.StringVal(c.Email),
		"phone":        cty.StringVal(c.Phone),
		"anonymous_id": cty.StringVal(c.AnonymousID),
		"external_ids": cty.ObjectVal(ext),
	}
	maps.Copy(attrs, extra)
	return cty.ObjectVal(attrs)
}

func timeValue(t time.Time) cty.Value {
	if t.IsZero() {
		return cty.StringVal("")
	}
	return cty.StringVal(t.UTC().Format(time.RFC3339Nano))
}

// maxValueDepth bounds nesting in event data converted for expressions.
const maxValueDepth = 64

// anyValue converts JSON-shaped Go data (what encoding/json decodes into
// an any) to cty without a JSON round trip. Objects become cty objects,
// arrays tuples, so that expressions index them as they would JSON. Other
// Go types fall back to their JSON form.
func anyValue(v any) (cty.Value, error) { return anyValueDepth(v, 0) }

func anyValueDepth(v any, depth int) (cty.Value, error) {
	if depth > maxValueDepth {
		return cty.NilVal, fmt.Errorf("data nests deeper than %d levels", maxValueDepth)
	}
	switch x := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case string:
		return cty.StringVal(x), nil
	case bool:
		return cty.BoolVal(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return cty.NilVal, fmt.Errorf("number %v is not finite", x)
		}
		return cty.NumberFloatVal(x), nil
	case int:
		return cty.NumberIntVal(int64(x)), nil
	case int64:
		return cty.NumberIntVal(x), nil
	case json.Number:
		return cty.ParseNumberVal(x.String())
	case map[string]any:
		attrs := make(map[string]cty.Value, len(x))
		for k, e := range x {
			cv, err := anyValueDepth(e, depth+1)
			if err != nil {
				return cty.NilVal, err
			}
			attrs[k] = cv
		}
		return cty.ObjectVal(attrs), nil
	case []any:
		if len(x) == 0 {
			return cty.EmptyTupleVal, nil
		}
		elems := make([]cty.Value, len(x))
		for i, e := range x {
			cv, err := anyValueDepth(e, depth+1)
			if err != nil {
				return cty.NilVal, err
			}
			elems[i] = cv
		}
		return cty.TupleVal(elems), nil
	}
	return jsonValue(v)
}

// jsonValue converts any JSON-marshalable value through its JSON form.
func jsonValue(v any) (cty.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return cty.NilVal, err
	}
	t, err := ctyjson.ImpliedType(b)
	if err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(b, t)
}
