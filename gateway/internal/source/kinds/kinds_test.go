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

func TestRegistry(t *testing.T) {
	t.Parallel()
	want := []string{"hubspot", "json", "mailgun", "postmark", "salesforce", "segment", "sendgrid",
		"shopify", "standard", "stripe", "twilio", "woocommerce"}
	if got := kinds.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	// A bare block (no secret, no settings) either builds or says what is
	// missing; it never panics and never returns an adapter with errors.
	for _, name := range want {
		a, diags := kinds.Build(source.Spec{Name: "s", Kind: name, Body: hcl.EmptyBody()})
		if diags.HasErrors() == (a != nil) {
			t.Errorf("kind %s: adapter %v with diagnostics %v", name, a, diags)
		}
		for _, d := range diags {
			if d.Detail == "" && d.Summary == "" {
				t.Errorf("kind %s: empty diagnostic", name)
			}
		}
	}
}
