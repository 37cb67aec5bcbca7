package sdk

import (
	"encoding/json"
	"fmt"

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
	evVal, err := toCty(ev)
	if err != nil {
		return cty.NilVal, fmt.Errorf("converting event: %w", err)
	}
	custVal, err := toCty(profile)
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

// toCty converts any JSON-marshalable value to a cty value of its implied
// type, which is how expressions see events and profiles.
func toCty(v any) (cty.Value, error) {
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
