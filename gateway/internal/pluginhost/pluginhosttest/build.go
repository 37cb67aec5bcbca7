// Package pluginhosttest builds real plugin binaries for tests, so that
// tests run plugins as the gateway does: separate processes over go-plugin.
package pluginhosttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// PIDs lists the live processes (zombies excluded) whose program is the
// binary at path: how tests find a plugin process to kill, or check that
// none was left behind.
func PIDs(t testing.TB, path string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("listing processes: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // the process ended meanwhile
		}
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		if string(argv0) != path {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && bytes.Contains(st, []byte(") Z ")) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}
