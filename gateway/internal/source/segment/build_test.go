package segment_test

import (
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source/segment"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

func TestBuildDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, summary, detail string
		line                       int
	}{
		{"no secret", `source "cdp" {
  kind = "segment"
}`, "Missing secret", "Shared Secret", 1},
		{"unknown attribute", `source "cdp" {
  kind   = "segment"
  secret = "s"
  write_key = "k"
}`, "Unsupported argument", "write_key", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec, _ := sourcetest.Spec(t, tt.src)
			a, diags := segment.Build(spec)
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

func TestSnakeCase(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Course Clicked": "course_clicked", "subscriptionPlan": "subscription_plan", "postalCode": "postal_code",
		"HTMLVersion": "html_version", "already_snake": "already_snake", "  Order -- Completed! ": "order_completed",
		"Ünïcode": "n_code", "v2Checkout": "v2_checkout",
	} {
		if got := segment.SnakeCaseForTest(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
