package sendgrid_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source/sendgrid"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

func TestBuildDiagnostics(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	tests := []struct {
		name    string
		src     string
		summary string
		detail  string
		line    int
	}{
		{"missing public_keys", "source \"sg\" {\n  kind = \"sendgrid\"\n}\n", "Missing public_keys", "Signed Event Webhook", 1},
		{"empty list", "source \"sg\" {\n  kind = \"sendgrid\"\n  public_keys = []\n}\n", "Invalid public_keys", "empty", 3},
		{"not a key", "source \"sg\" {\n  kind = \"sendgrid\"\n  public_keys = [\"bm90IGEga2V5\"]\n}\n", "Invalid public_keys", "Key 0", 3},
		{"not base64", "source \"sg\" {\n  kind = \"sendgrid\"\n  public_keys = [\"%%%\"]\n}\n", "Invalid public_keys", "neither base64 nor PEM", 3},
		{"shared secret", "source \"sg\" {\n  kind = \"sendgrid\"\n  secret = \"x\"\n  public_keys = [\"" + key.pub + "\"]\n}\n",
			"SendGrid does not use a shared secret", "public_keys", 1},
		{"unknown attribute", "source \"sg\" {\n  kind = \"sendgrid\"\n  public_keys = [\"" + key.pub + "\"]\n  public_key = \"x\"\n}\n",
			"Unsupported argument", "public_key", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec, _ := sourcetest.Spec(t, tt.src)
			a, diags := sendgrid.Build(spec)
			if !diags.HasErrors() || a != nil {
				t.Fatalf("want an error, got adapter %v, diags %v", a, diags)
			}
			d := diags.Errs()[0].(*hcl.Diagnostic)
			if d.Summary != tt.summary || !strings.Contains(d.Detail+d.Summary, tt.detail) {
				t.Errorf("diagnostic = %q / %q; want %q containing %q", d.Summary, d.Detail, tt.summary, tt.detail)
			}
			if d.Subject == nil || !strings.HasSuffix(d.Subject.Filename, "source.hcl") || d.Subject.Start.Line != tt.line {
				t.Errorf("diagnostic at %v, want source.hcl line %d", d.Subject, tt.line)
			}
		})
	}
}

func TestBuildAcceptsPEM(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	pem := "-----BEGIN PUBLIC KEY-----\n" + key.pub + "\n-----END PUBLIC KEY-----\n"
	if _, err := sendgrid.ParsePublicKey(pem); err != nil {
		t.Fatalf("PEM key: %v", err)
	}
	if _, err := sendgrid.ParsePublicKey(key.pub); err != nil {
		t.Fatalf("base64 DER key: %v", err)
	}
}
