package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// wantDiag asserts that diags holds an error whose summary or detail
// contains text and whose subject starts at file:line ("a.hcl:3").
func wantDiag(t *testing.T, diags hcl.Diagnostics, text, at string) {
	t.Helper()
	for _, d := range diags {
		if d.Severity != hcl.DiagError || !strings.Contains(d.Summary+": "+d.Detail, text) {
			continue
		}
		if d.Subject == nil {
			t.Errorf("diagnostic %q has no subject, want %s", d.Error(), at)
			return
		}
		if got := fmt.Sprintf("%s:%d", d.Subject.Filename, d.Subject.Start.Line); got != at {
			t.Errorf("diagnostic %q is at %s, want %s", d.Error(), got, at)
		}
		return
	}
	t.Errorf("no error containing %q; got:\n%s", text, listDiags(diags))
}

func noErrors(t *testing.T, diags hcl.Diagnostics) {
	t.Helper()
	if diags.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", listDiags(diags))
	}
}

func listDiags(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString("  " + d.Error() + "\n")
	}
	return b.String()
}

// one is a single in-memory file named a.hcl.
func one(src string) map[string][]byte { return map[string][]byte{"a.hcl": []byte(src)} }

// EvalContext is the evaluation context of a configuration in dir.
func EvalContext(dir string) *hcl.EvalContext { return (&Config{BaseDir: dir}).EvalContext() }
