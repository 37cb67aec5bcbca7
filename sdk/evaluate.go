package sdk

import (
	"context"
	"fmt"
	"strings"
)

// EvaluateEach implements Trigger.Evaluate for a plugin whose rules are
// independent: it decodes each rule's config once per batch with decode
// (the plugin's defaults, then CheckConfig), and calls eval for every item
// in order. An item whose rule has an invalid config, or none in the
// batch, gets Result.Err and its State back unchanged; the others stand.
// It returns ctx's error if ctx ends.
func EvaluateEach[C any](ctx context.Context, req *EvaluateRequest,
	decode func(RawConfig) (*C, *ValidateConfigResponse),
	eval func(*EvaluateItem, *C) Result,
) (*EvaluateResponse, error) {
	rules := make(map[string]*C, len(req.Rules))
	ruleErrs := make(map[string]string)
	for name, raw := range req.Rules {
		cfg, resp := decode(raw)
		if resp.Diagnostics.HasErrors() {
			ruleErrs[name] = fmt.Sprintf("config of rule %q is invalid: %s", name, resp.Diagnostics.Summary())
			continue
		}
		rules[name] = cfg
	}
	out := &EvaluateResponse{Results: make([]Result, len(req.Items))}
	for i := range req.Items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		item := &req.Items[i]
		cfg, ok := rules[item.Rule]
		if !ok {
			msg := ruleErrs[item.Rule]
			if msg == "" {
				msg = fmt.Sprintf("no config for rule %q in the batch", item.Rule)
			}
			out.Results[i] = Result{State: item.State, Err: msg}
			continue
		}
		out.Results[i] = eval(item, cfg)
	}
	return out, nil
}

// Summary joins the error diagnostics into one line, each prefixed with
// its attribute path: for Result.Err and logs.
func (d Diagnostics) Summary() string {
	parts := make([]string, 0, len(d))
	for _, x := range d {
		if x.Severity != SeverityError {
			continue
		}
		if len(x.Path) > 0 {
			parts = append(parts, x.Path.String()+": "+x.Summary)
		} else {
			parts = append(parts, x.Summary)
		}
	}
	return strings.Join(parts, "; ")
}

// MatchType reports whether an event type matches one of the patterns:
// an exact type, "*" (any type) or "prefix.*" (any type starting with
// "prefix."). The wildcards never match TimerFired or an empty type; an
// exact entry does.
func MatchType(patterns []string, typ string) bool {
	for _, pat := range patterns {
		switch {
		case pat == typ:
			return typ != ""
		case typ == TimerFired || typ == "":
		case pat == "*":
			return true
		case strings.HasSuffix(pat, ".*") && strings.HasPrefix(typ, strings.TrimSuffix(pat, "*")):
			return true
		}
	}
	return false
}
