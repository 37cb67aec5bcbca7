package kinds_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/kinds"
)

func TestUnknownKindListsTheKnownOnes(t *testing.T) {
	t.Parallel()
	rng := hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: 2, Column: 10}, End: hcl.Pos{Line: 2, Column: 20}}
	a, diags := kinds.Build(source.Spec{Name: "shop", Kind: "shopifyy", KindRange: rng})
	if a != nil || !diags.HasErrors() {
		t.Fatalf("Build = %v, %v; want an error", a, diags)
	}
	d := diags[0]
	if d.Summary != "Unknown source kind" || !strings.Contains(d.Detail, "json") || d.Subject.Start.Line != 2 {
		t.Fatalf("diagnostic = %+v", d)
	}
}

func TestEveryKindBuilds(t *testing.T) {
	t.Parallel()
	names := kinds.Names()
	if !slices.Contains(names, "json") || !slices.IsSorted(names) {
		t.Fatalf("Names() = %v", names)
	}
}
