package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/triggergate/triggergate/sdk"
)

// DecodePluginConfig decodes a plugin's `config {}` body against the
// schema the plugin describes and returns it as JSON (sdk.RawConfig):
// attribute names as keys; blocks as nested objects, repeated blocks as
// arrays of objects; durations and expressions as their source strings.
//
// Static attributes are evaluated with ctx (see EvalContext). Expression
// attributes are not evaluated: their variables must be among
// sdk.ExpressionVariables and their functions among
// sdk.ExpressionFunctions, and their exact source text is passed on. That
// text comes from the file the body was parsed from, so body must come
// from a Config returned by Load or LoadFiles (Channel.Config,
// Trigger.Config, Source.Body or a block inside them).
//
// A nil body is an empty one. With events, every entry of an
// sdk.EventTypes attribute must be a type the configuration can receive
// (EventCatalog.Check); without, they are taken as plain strings.
func DecodePluginConfig(body hcl.Body, schema sdk.Schema, ctx *hcl.EvalContext, events ...*EventCatalog) (sdk.RawConfig, hcl.Diagnostics) {
	if body == nil {
		body = hcl.EmptyBody()
	}
	var cat *EventCatalog
	if len(events) > 0 {
		cat = events[0]
	}
	obj, diags := decodeObject(body, schema, ctx, cat)
	b, err := json.Marshal(obj)
	if err != nil { // not reachable: every value is valid JSON already
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot encode plugin config",
			Detail:   fmt.Sprintf("Encoding the config as JSON: %s.", err),
			Subject:  body.MissingItemRange().Ptr(),
		})
	}
	return sdk.RawConfig(b), diags
}

func decodeObject(body hcl.Body, schema sdk.Schema, ctx *hcl.EvalContext, cat *EventCatalog) (map[string]json.RawMessage, hcl.Diagnostics) {
	hs := &hcl.BodySchema{}
	for _, a := range schema.Attributes {
		hs.Attributes = append(hs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
	}
	for _, b := range schema.Blocks {
		hs.Blocks = append(hs.Blocks, hcl.BlockHeaderSchema{Type: b.Name})
	}
	content, diags := body.Content(hs)
	obj := map[string]json.RawMessage{}
	if content == nil {
		return obj, diags
	}
	_, src := unwrap(body)
	for _, as := range schema.Attributes {
		attr, ok := content.Attributes[as.Name]
		if !ok {
			continue
		}
		v, d := decodeAttr(attr, as, ctx, src, cat)
		diags = append(diags, d...)
		if v != nil {
			obj[as.Name] = v
		}
	}
	for _, bs := range schema.Blocks {
		var blocks hcl.Blocks
		for _, b := range content.Blocks {
			if b.Type == bs.Name {
				blocks = append(blocks, b)
			}
		}
		if bs.Required && len(blocks) == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing " + bs.Name + " block",
				Detail:   fmt.Sprintf("At least one %q block is required here.", bs.Name),
				Subject:  body.MissingItemRange().Ptr(),
			})
		}
		if !bs.Repeated && len(blocks) > 1 {
			for _, b := range blocks[1:] {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate " + bs.Name + " block",
					Detail: fmt.Sprintf("Only one %q block is allowed here; the first is at %s:%d.",
						bs.Name, blocks[0].DefRange.Filename, blocks[0].DefRange.Start.Line),
					Subject: b.DefRange.Ptr(),
				})
			}
			blocks = blocks[:1]
		}
		var items []json.RawMessage
		for _, b := range blocks {
			inner, d := decodeObject(b.Body, bs.Schema, ctx, cat)
			diags = append(diags, d...)
			enc, err := json.Marshal(inner)
			if err != nil {
				continue
			}
			items = append(items, enc)
		}
		switch {
		case len(items) == 0:
		case bs.Repeated:
			enc, err := json.Marshal(items)
			if err == nil {
				obj[bs.Name] = enc
			}
		default:
			obj[bs.Name] = items[0]
		}
	}
	return obj, diags
}

// ctyType is the cty type of a plain (evaluated) attribute type.
func ctyType(t sdk.AttrType) (cty.Type, bool) {
	switch t {
	case sdk.TypeString, sdk.TypeDuration:
		return cty.String, true
	case sdk.TypeNumber:
		return cty.Number, true
	case sdk.TypeBool:
		return cty.Bool, true
	case sdk.TypeStringList, sdk.TypeEventTypes:
		return cty.List(cty.String), true
	case sdk.TypeNumberList:
		return cty.List(cty.Number), true
	case sdk.TypeStringMap:
		return cty.Map(cty.String), true
	}
	return cty.NilType, false
}

func decodeAttr(attr *hcl.Attribute, as sdk.AttributeSchema, ctx *hcl.EvalContext, src []byte, cat *EventCatalog) (json.RawMessage, hcl.Diagnostics) {
	if as.Type == sdk.TypeExpression {
		return decodeExpression(attr, src)
	}
	errAt := func(summary, detail string) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity:    hcl.DiagError,
			Summary:     summary,
			Detail:      detail,
			Subject:     attr.Expr.Range().Ptr(),
			Context:     attr.Range.Ptr(),
			Expression:  attr.Expr,
			EvalContext: ctx,
		}}
	}
	ty, ok := ctyType(as.Type)
	if !ok {
		return nil, errAt("Unsupported attribute type",
			fmt.Sprintf("The plugin declares attribute %q with type %q, which the host does not know. This is a bug in the plugin.", as.Name, as.Type))
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	v, _ = v.UnmarkDeep()
	if v.IsNull() {
		if as.Required {
			return nil, errAt("Missing value", fmt.Sprintf("The attribute %q is required and must not be null.", as.Name))
		}
		return nil, diags
	}
	if !v.IsWhollyKnown() {
		return nil, errAt("Unknown value", fmt.Sprintf("The value of %q must be known when the configuration is loaded.", as.Name))
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		return nil, errAt("Incorrect attribute value type",
			fmt.Sprintf("Inappropriate value for attribute %q: %s; want %s.", as.Name, err, typeName(as.Type)))
	}
	if cv.CanIterateElements() {
		for it := cv.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if !e.IsNull() {
				continue
			}
			key := ""
			if k.Type() == cty.String {
				key = fmt.Sprintf("%q", k.AsString())
			} else {
				key = k.AsBigFloat().Text('f', -1)
			}
			return nil, errAt("Null element", fmt.Sprintf("Element %s of %q is null; remove it or give it a value.", key, as.Name))
		}
	}
	if as.Type == sdk.TypeDuration {
		if _, err := sdk.ParseDuration(cv.AsString()); err != nil {
			return nil, errAt("Invalid duration", fmt.Sprintf("The attribute %q: %s.", as.Name, err))
		}
	}
	if as.Type == sdk.TypeEventTypes && cat != nil {
		i := 0
		for it := cv.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			if ok, suggestion := cat.Check(e.AsString()); !ok {
				diags = append(diags, cat.eventTypeDiag(attr, i, e.AsString(), suggestion))
			}
		}
		if diags.HasErrors() {
			return nil, diags
		}
	}
	b, err := ctyjson.Marshal(cv, ty)
	if err != nil {
		return nil, errAt("Invalid value", fmt.Sprintf("The value of %q cannot be passed to the plugin: %s.", as.Name, err))
	}
	return b, diags
}

func typeName(t sdk.AttrType) string {
	switch t {
	case sdk.TypeStringList:
		return "a list of strings"
	case sdk.TypeEventTypes:
		return "a list of event types"
	case sdk.TypeNumberList:
		return "a list of numbers"
	case sdk.TypeStringMap:
		return "a map of strings"
	case sdk.TypeDuration:
		return `a duration string such as "90s", "15m" or "7d"`
	}
	return "a " + string(t)
}

// decodeExpression checks an expression attribute without evaluating it
// and returns its source text as a JSON string.
func decodeExpression(attr *hcl.Attribute, src []byte) (json.RawMessage, hcl.Diagnostics) {
	rng := attr.Expr.Range()
	errAt := func(r hcl.Range, summary, detail string) hcl.Diagnostics {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr(), Context: attr.Range.Ptr()}}
	}
	expr, ok := attr.Expr.(hclsyntax.Expression)
	if !ok {
		return nil, errAt(rng, "Unsupported expression", fmt.Sprintf("The attribute %q must be written in native HCL syntax.", attr.Name))
	}
	var diags hcl.Diagnostics
	allowed := sdk.ExpressionVariables
	for _, tr := range hclsyntax.Variables(expr) {
		if root := tr.RootName(); !slices.Contains(allowed, root) {
			diags = append(diags, errAt(tr.SourceRange(), "Unknown variable",
				fmt.Sprintf("There is no variable %q here: expressions may refer only to %s.", root, strings.Join(allowed, " and ")))...)
		}
	}
	funcs := sdk.ExpressionFunctions()
	diags = append(diags, hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok {
			return nil
		}
		if _, ok := funcs[call.Name]; ok {
			return nil
		}
		names := make([]string, 0, len(funcs))
		for n := range funcs {
			names = append(names, n)
		}
		slices.Sort(names)
		return errAt(call.NameRange, "Unknown function",
			fmt.Sprintf("There is no function %q in expressions; the functions available are %s.", call.Name, strings.Join(names, ", ")))
	})...)
	if diags.HasErrors() {
		return nil, diags
	}
	if src == nil || rng.Start.Byte < 0 || rng.End.Byte > len(src) || rng.Start.Byte > rng.End.Byte {
		return nil, errAt(rng, "Expression source unavailable",
			fmt.Sprintf("The source text of %q is not known. Pass a body from a Config returned by config.Load or config.LoadFiles.", attr.Name))
	}
	text := string(src[rng.Start.Byte:rng.End.Byte])
	if _, err := sdk.ParseExpression(text); err != nil {
		return nil, errAt(rng, "Invalid expression", fmt.Sprintf("The attribute %q: %s.", attr.Name, err))
	}
	b, err := json.Marshal(text)
	if err != nil {
		return nil, errAt(rng, "Invalid expression", err.Error())
	}
	return b, nil
}

// PluginDiagnostics maps diagnostics a plugin returned for a config (with
// sdk.Path attribute paths) to hcl.Diagnostics pointing at that
// attribute's range in body, falling back to the closest enclosing block,
// then to fallback. A path such as step[1].delay finds the second `step`
// block and its `delay` attribute; an index into a list attribute finds
// that element when the list is written out literally.
func PluginDiagnostics(body hcl.Body, fallback hcl.Range, diags sdk.Diagnostics) hcl.Diagnostics {
	syn, _ := unwrap(body)
	out := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		sev := hcl.DiagError
		if d.Severity == sdk.SeverityWarning {
			sev = hcl.DiagWarning
		}
		subject, context, exact := locate(syn, d.Path)
		if subject == nil {
			subject = fallback.Ptr()
		}
		detail := d.Detail
		if len(d.Path) > 0 && !exact {
			detail = strings.TrimSpace(fmt.Sprintf("At %s. %s", d.Path, detail))
		}
		out = append(out, &hcl.Diagnostic{Severity: sev, Summary: d.Summary, Detail: detail, Subject: subject, Context: context})
	}
	return out
}

// locate finds path in body. It returns the best range found, a context
// range (the whole attribute) when an attribute was found, and whether
// the whole path was resolved.
func locate(body *hclsyntax.Body, path sdk.Path) (subject, context *hcl.Range, exact bool) {
	if body == nil {
		return nil, nil, len(path) == 0
	}
	for i := 0; i < len(path); i++ {
		step := path[i]
		if step.IsIndex() || body == nil {
			return subject, context, false
		}
		if attr, ok := body.Attributes[step.Name]; ok {
			r, ctxRange := attr.Expr.Range(), attr.SrcRange
			subject, context = &r, &ctxRange
			rest := path[i+1:]
			if len(rest) == 0 {
				return subject, context, true
			}
			// An index into a list written out as [a, b, c].
			if tup, ok := attr.Expr.(*hclsyntax.TupleConsExpr); ok && rest[0].IsIndex() && len(rest) == 1 &&
				rest[0].Index >= 0 && rest[0].Index < len(tup.Exprs) {
				er := tup.Exprs[rest[0].Index].Range()
				return &er, context, true
			}
			return subject, context, false
		}
		var blocks []*hclsyntax.Block
		for _, b := range body.Blocks {
			if b.Type == step.Name {
				blocks = append(blocks, b)
			}
		}
		if len(blocks) == 0 {
			return subject, context, false
		}
		blk := blocks[0]
		if i+1 < len(path) && path[i+1].IsIndex() {
			idx := path[i+1].Index
			if idx < 0 || idx >= len(blocks) {
				return subject, context, false
			}
			blk = blocks[idx]
			i++
		}
		r := blk.DefRange()
		subject, context = &r, nil
		body = blk.Body
	}
	return subject, context, true
}
