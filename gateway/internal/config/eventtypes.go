package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/sdk"
)

// EventCatalog is what event types a configuration can receive: the
// taxonomy (sdk.Taxonomy), "<kind>.<topic>" for each vendor source kind in
// use (the types of the topics it does not map), and the custom types
// json and standard sources declare with event_types. Plugin attributes
// of type sdk.EventTypes are checked against it.
type EventCatalog struct {
	known      map[string]bool
	namespaces []string // "shopify.", ...
}

// passThroughKinds send their sender's own types, which the admin
// declares; every other kind maps its vendor's topics.
var passThroughKinds = []string{"json", "standard"}

// Events returns the catalog of cfg's sources.
func (c *Config) Events() *EventCatalog {
	cat := &EventCatalog{known: map[string]bool{}}
	for _, t := range sdk.Taxonomy {
		cat.known[t] = true
	}
	for _, s := range c.Sources {
		for _, t := range s.EventTypes {
			cat.known[t] = true
		}
		if s.Kind != "" && !slices.Contains(passThroughKinds, s.Kind) && !slices.Contains(cat.namespaces, s.Kind+".") {
			cat.namespaces = append(cat.namespaces, s.Kind+".")
		}
	}
	return cat
}

// Check reports whether a type pattern ("order.placed", "cart.*", "*")
// matches something the configuration can receive; if not, it returns
// the closest known type as a suggestion (or "").
func (cat *EventCatalog) Check(pattern string) (bool, string) {
	if pattern == "*" || cat.known[pattern] {
		return true, ""
	}
	for _, ns := range cat.namespaces {
		if strings.HasPrefix(pattern, ns) || (strings.HasSuffix(pattern, ".*") && strings.HasPrefix(ns, strings.TrimSuffix(pattern, "*"))) {
			return true, ""
		}
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		for t := range cat.known {
			if strings.HasPrefix(t, prefix) {
				return true, ""
			}
		}
	}
	best, bestDist := "", 4 // suggest only close matches
	for t := range cat.known {
		if d := editDistance(pattern, t); d < bestDist || (d == bestDist && t < best) {
			best, bestDist = t, d
		}
	}
	return false, best
}

// eventTypeDiag explains an event type that nothing sends.
func (cat *EventCatalog) eventTypeDiag(attr *hcl.Attribute, index int, pattern, suggestion string) *hcl.Diagnostic {
	detail := fmt.Sprintf("%s[%d] is %q, which no configured source sends, so it would never match.", attr.Name, index, pattern)
	if suggestion != "" {
		detail += fmt.Sprintf(" Did you mean %q?", suggestion)
	}
	detail += " Event types are the taxonomy (configs/README.md §5), \"<kind>.<topic>\" for a vendor source's unmapped topics," +
		" and the custom types a json or standard source declares in its event_types attribute."
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown event type", Detail: detail,
		Subject: attr.Expr.Range().Ptr(), Context: attr.Range.Ptr()}
}

// eventTypeName is what a declared custom event type must look like.
var eventTypeName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$`)

// checkDeclaredTypes validates a source's event_types.
func (l *loader) checkDeclaredTypes(types []string, rng hcl.Range) []string {
	var out []string
	for i, t := range types {
		switch {
		case !eventTypeName.MatchString(t) || len(t) > 128:
			l.errorf(rng, "Invalid event type", "event_types[%d] is %q: a type is lower-case dotted words such as \"course.completed\", at most 128 characters.", i, t)
		case sdk.ReservedType(t):
			l.errorf(rng, "Reserved event type", "event_types[%d] is %q, which is reserved for the gateway's own events.", i, t)
		default:
			out = append(out, t)
		}
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
