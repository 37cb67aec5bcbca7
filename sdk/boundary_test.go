package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// gatewayRoot is the host's tree, which the public SDK must never depend on:
// plugin authors import sdk/ and must not pull in the gateway.
const (
	modulePath  = "github.com/triggergate/triggergate"
	gatewayRoot = modulePath + "/gateway"
)

func TestSDKDoesNotImportGateway(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the SDK's dependencies: %v", err)
	}
	// Run from this directory, so ./... is every package under sdk/,
	// including test-only imports.
	cmd := exec.Command(goBin, "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./...")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	bad, sawSDK := gatewayDeps(string(out))
	for _, line := range bad {
		t.Errorf("the SDK depends on the gateway (go list: %q); sdk/ must never import %s", line, gatewayRoot)
	}
	if !sawSDK {
		t.Fatalf("go list did not list %s/sdk; the check ran in the wrong place:\n%s", modulePath, out)
	}
}

// gatewayDeps returns the lines of go list output that name a package under
// gateway/, and whether the SDK package itself was listed.
func gatewayDeps(out string) (bad []string, sawSDK bool) {
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		// Test variants read "pkg [pkg.test]"; both halves are package paths.
		for _, pkg := range strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(line)) {
			pkg = strings.TrimSuffix(pkg, ".test")
			if pkg == modulePath+"/sdk" {
				sawSDK = true
			}
			if pkg == gatewayRoot || strings.HasPrefix(pkg, gatewayRoot+"/") {
				bad = append(bad, line)
				break
			}
		}
	}
	return bad, sawSDK
}

func TestGatewayDeps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		out     string
		wantBad int
		wantSDK bool
	}{
		{"clean", "fmt\n" + modulePath + "/sdk\n" + modulePath + "/sdk [" + modulePath + "/sdk.test]", 0, true},
		{"gateway package", modulePath + "/sdk\n" + gatewayRoot + "/internal/config", 1, true},
		{"gateway root", gatewayRoot, 1, false},
		{"gateway test variant", "x [" + gatewayRoot + "/engine.test]", 1, false},
		{"similar name is fine", modulePath + "/gatewayish\n" + modulePath + "/sdk/gateway", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bad, saw := gatewayDeps(tc.out)
			if len(bad) != tc.wantBad || saw != tc.wantSDK {
				t.Errorf("gatewayDeps = %q, %v; want %d bad, sdk %v", bad, saw, tc.wantBad, tc.wantSDK)
			}
		})
	}
}
