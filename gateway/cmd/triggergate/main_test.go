package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pluginhosttest.Cleanup()
	os.Exit(code)
}

// writeConfig writes a config whose gateway block points at test ports,
// a temp data dir and freshly built plugins, followed by rest.
func writeConfig(t testing.TB, rest string) (path, pluginDir string) {
	t.Helper()
	pluginDir = pluginhosttest.Build(t, "plugins/event", "plugins/log")
	dir := t.TempDir()
	src := fmt.Sprintf(`gateway {
  listen     = "127.0.0.1:%d"
  admin_listen = "127.0.0.1:%d"
  data_dir   = %q
  plugin_dir = %q
}
store {
  client_url = "http://127.0.0.1:%d"
  peer_url   = "http://127.0.0.1:%d"
}
%s`, storetest.FreePort(t), storetest.FreePort(t), filepath.Join(dir, "data"), pluginDir, storetest.FreePort(t), storetest.FreePort(t), rest)
	path = filepath.Join(dir, "gateway.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pluginDir
}

const goodRules = `
source "app" {
  kind = "json"
}
channel "log" {
  plugin = "log"
}
trigger "all" {
  plugin = "event"
  config {
    on = ["*"]
  }
  action {
    channel = "log"
  }
}
`

func TestValidate(t *testing.T) {
	cases := []struct {
		name     string
		rules    string
		code     int
		contains []string
	}{
		{"valid", goodRules, 0, []string{"valid (1 sources, 1 triggers, 1 channels, 0 templates)"}},
		{"unknown attribute", strings.Replace(goodRules, `kind = "json"`, "kind = \"json\"\n  colour = 1", 1), 1,
			[]string{"gateway.hcl:14:", "colour"}},
		{"plugin config error", strings.Replace(goodRules, `on = ["*"]`, `on = []`, 1), 1,
			[]string{"gateway.hcl:21:", "on must list at least one event type"}},
		{"plugin config wrong type", strings.Replace(goodRules, `on = ["*"]`, `on = "everything"`, 1), 1,
			[]string{"gateway.hcl:21:"}},
		{"expression variable", strings.Replace(goodRules, `on = ["*"]`, "on = [\"*\"]\n    when = order.value > 3", 1), 1,
			[]string{"gateway.hcl:22:", "order"}},
		{"unknown plugin", strings.Replace(goodRules, `plugin = "log"`, `plugin = "sms"`, 1), 1,
			[]string{"gateway.hcl:16:", `"sms"`, "no binary"}},
		{"undefined channel", strings.Replace(goodRules, `channel = "log"`, `channel = "email"`, 1), 1,
			[]string{"gateway.hcl:24:", "email"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, _ := writeConfig(t, c.rules)
			var stdout, stderr bytes.Buffer
			code := run([]string{"validate", "-config", path}, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, out)
			}
			for _, want := range c.contains {
				if !strings.Contains(out, want) {
					t.Fatalf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Fatalf("no command: exit %d", code)
	}
	if code := run([]string{"frobnicate"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "unknown command") {
		t.Fatalf("unknown command: exit %d, %s", code, stderr.String())
	}
	if code := run([]string{"version"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "triggergate") {
		t.Fatalf("version: exit %d, %s", code, stdout.String())
	}
	if code := run([]string{"validate", "-config", filepath.Join(t.TempDir(), "missing.hcl")}, &stdout, &stderr); code != 1 {
		t.Fatalf("missing config: exit %d", code)
	}
}

// buildBinary compiles the gateway once per test binary.
func buildBinary(t testing.TB) string {
	t.Helper()
	dir := pluginhosttest.Build(t, "gateway/cmd/triggergate")
	return filepath.Join(dir, "triggergate")
}

// startServe starts `triggergate serve` as its own process and waits for
// /readyz. It returns the process and how long readiness took.
func startServe(t testing.TB, bin, path string) (*exec.Cmd, *syncBuffer, time.Duration) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	listen := strings.Split(strings.Split(string(src), `listen     = "`)[1], `"`)[0]
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "-config", path)
	cmd.Stdout, cmd.Stderr = logs, logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + listen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, logs, time.Since(start)
			}
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("not ready after 60s:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond) // polling another process's HTTP endpoint
	}
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeShutsDownCleanly runs the real binary as the README does: an
// event POSTed with curl's body makes the log channel print the message.
// SIGTERM must then stop it with exit 0, leaving no plugin processes.
func TestServeShutsDownCleanly(t *testing.T) {
	path, pluginDir := writeConfig(t, goodRules)
	cmd, logs, _ := startServe(t, buildBinary(t), path)

	src, _ := os.ReadFile(path)
	listen := strings.Split(strings.Split(string(src), `listen     = "`)[1], `"`)[0]
	body := `{"id":"evt_1","type":"order.placed","customer":{"email":"jane@example.com"},"properties":{"value":42}}`
	resp, err := http.Post("http://"+listen+"/v1/webhooks/app", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST = %d", resp.StatusCode)
	}
	const logged = "plugin.log: message delivered"
	for !strings.Contains(logs.String(), logged) {
		if strings.Contains(logs.String(), "[ERROR]") {
			t.Fatalf("error in the gateway log:\n%s", logs.String())
		}
		select {
		case <-t.Context().Done():
			return
		case <-time.After(10 * time.Millisecond): // polling another process's output
		}
	}
	if line := grepLine(logs.String(), logged); !strings.Contains(line, "trigger=all") ||
		!strings.Contains(line, "jane@example.com") {
		t.Fatalf("log channel line = %q", line)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30s of SIGTERM:\n%s", logs.String())
	}
	for _, name := range []string{"event", "log"} {
		if pids := pluginhosttest.PIDs(t, filepath.Join(pluginDir, name)); len(pids) > 0 {
			t.Fatalf("plugin %s still running after shutdown: %v", name, pids)
		}
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Fatalf("no orderly shutdown in the log:\n%s", logs.String())
	}
}

// TestKilledGatewayLeavesNoPlugins SIGKILLs the gateway, which gets no
// chance to stop its plugins: the kernel must take them down with it.
func TestKilledGatewayLeavesNoPlugins(t *testing.T) {
	path, pluginDir := writeConfig(t, goodRules)
	cmd, _, _ := startServe(t, buildBinary(t), path)
	if pids := pluginhosttest.PIDs(t, filepath.Join(pluginDir, "log")); len(pids) != 1 {
		t.Fatalf("log plugin processes before the kill: %v", pids)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range []string{"event", "log"} {
		for len(pluginhosttest.PIDs(t, filepath.Join(pluginDir, name))) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("plugin %s outlived its SIGKILLed gateway", name)
			}
			time.Sleep(10 * time.Millisecond) // waiting on the kernel, which sends no signal to us
		}
	}
}

func TestServeRefusesInvalidConfig(t *testing.T) {
	path, _ := writeConfig(t, strings.Replace(goodRules, `on = ["*"]`, `on = []`, 1))
	out, err := exec.Command(buildBinary(t), "serve", "-config", path).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("serve with an invalid config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "gateway.hcl:21:") {
		t.Fatalf("diagnostics lack file:line:\n%s", out)
	}
}

// BenchmarkColdStart measures `triggergate serve` from exec to /readyz 200
// (embedded etcd, two plugin processes).
func BenchmarkColdStart(b *testing.B) {
	bin := buildBinary(b)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		path, _ := writeConfig(b, goodRules)
		b.StartTimer()
		cmd, _, took := startServe(b, bin, path)
		b.StopTimer()
		total += took
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/ready")
}

func grepLine(s, substr string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			return line
		}
	}
	return ""
}
