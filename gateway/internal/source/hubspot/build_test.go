package hubspot_test

import (
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source/hubspot"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

func TestBuildDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, summary, detail string
		line                       int
	}{
		{"no secret", `source "hs" {
  kind = "hubspot"
}`, "Missing secret", "client secret", 1},
		{"public_url not absolute", `source "hs" {
  kind       = "hubspot"
  secret     = "s"
  public_url = "/v1/webhooks/hs"
}`, "Invalid public_url", "absolute URL", 4},
		{"unknown attribute", `source "hs" {
  kind   = "hubspot"
  secret = "s"
  signature_version = "v1"
}`, "Unsupported argument", "signature_version", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec, _ := sourcetest.Spec(t, tt.src)
			a, diags := hubspot.Build(spec)
			if a != nil || len(diags) != 1 {
				t.Fatalf("adapter %v, diagnostics %v: want one error and no adapter", a, diags)
			}
			d := diags[0]
			if d.Summary != tt.summary || !strings.Contains(d.Detail, tt.detail) || d.Subject == nil || d.Subject.Start.Line != tt.line {
				t.Fatalf("diagnostic %q %q at %v; want %q containing %q on line %d", d.Summary, d.Detail, d.Subject, tt.summary, tt.detail, tt.line)
			}
		})
	}
}
