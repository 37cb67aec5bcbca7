// Package pluginhosttest builds real plugin binaries for tests, so that
// tests run plugins as the gateway does: separate processes over go-plugin.
package pluginhosttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	dir   string
	built = map[string]bool{}
)

// Build compiles the named packages (paths relative to the module root,
// e.g. "plugins/log" or "examples/plugins/milestone") into one directory
// shared by the test binary, and returns that directory. Each binary is
// named after its package's folder. Builds are cached per test binary, and
// by the go build cache across runs.
func Build(t testing.TB, pkgs ...string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if dir == "" {
		d, err := os.MkdirTemp("", "triggergate-plugins-")
		if err != nil {
			t.Fatalf("creating plugin dir: %v", err)
		}
		dir = d
	}
	root := moduleRoot(t)
	for _, pkg := range pkgs {
		if built[pkg] {
			continue
		}
		out := filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, b)
		}
		built[pkg] = true
	}
	return dir
}

// Cleanup removes the shared directory; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
		dir, built = "", map[string]bool{}
	}
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("finding the module root: %v", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		t.Fatal("finding the module root: not inside the module")
	}
	return filepath.Dir(mod)
}
