package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
)

// simRules is a shop's order confirmation, as marketing: consent and the
// trigger's cap (capBlock, may be empty) apply.
func simRules(capBlock string) string {
	return `
source "app" {
  kind = "json"
}
channel "email" {
  plugin = "log"
  kind   = "email"
}
template "thanks" {
  subject = "Thanks for order {{ .Event.Properties.order_id }}"
  text    = "Hi {{ .Customer.Email }}"
}
trigger "orders" {
  plugin = "event"
  config {
    on = ["order.placed"]
  }
  action {
    channel  = "email"
    template = "thanks"
  }
  ` + capBlock + `
}
`
}

const dailyCap = `frequency_cap {
    max = 1
    per = "1d"
  }`

// simEvents are four events: two orders of c-1 an hour apart, then c-2
// unsubscribes and orders.
const simEvents = `# a known event file
{"type":"order.placed","received_at":"2026-01-05T10:00:00Z","customer":{"id":"c-1","email":"c1@example.com"},"properties":{"order_id":"o1"}}
{"type":"order.placed","received_at":"2026-01-05T11:00:00Z","customer":{"id":"c-1","email":"c1@example.com"},"properties":{"order_id":"o2"}}

{"type":"email.unsubscribed","received_at":"2026-01-05T11:30:00Z","customer":{"id":"c-2","email":"c2@example.com"}}
{"type":"order.placed","received_at":"2026-01-05T12:00:00Z","customer":{"id":"c-2","email":"c2@example.com"},"properties":{"order_id":"o3"}}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runSimulate(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := simulateIO(args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestSimulate(t *testing.T) {
	t.Parallel()
	cfg, _ := writeConfig(t, simRules(dailyCap))
	events := writeFile(t, "events.jsonl", simEvents)

	t.Run("text", func(t *testing.T) {
		t.Parallel()
		var stdout, stderr bytes.Buffer
		code := simulateCmd([]string{"-config", cfg, "-until", "0", events}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
		want := `2026-01-05T10:00:00Z id:c-1 orders/default email sent
2026-01-05T11:00:00Z id:c-1 orders/default email suppressed (frequency_cap)
2026-01-05T12:00:00Z id:c-2 orders/default email suppressed (consent)
4 events, 2 customers, 3 decisions (1 sent, 2 suppressed)
`
		if stdout.String() != want {
			t.Fatalf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
		}
	})
	t.Run("json and messages, flags after the file", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runSimulate(t, "", "-config", cfg, events, "-json", "-show-messages")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		var got []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			got = append(got, m)
		}
		if len(got) != 3 {
			t.Fatalf("%d JSON lines, want 3:\n%s", len(got), stdout)
		}
		first := got[0]
		if first["customer"] != "id:c-1" || first["rule"] != "orders" || first["step"] != "default" ||
			first["channel"] != "email" || first["outcome"] != "sent" || first["at"] != "2026-01-05T10:00:00Z" {
			t.Fatalf("first decision %v", first)
		}
		msg, _ := first["message"].(map[string]any)
		if msg["subject"] != "Thanks for order o1" || msg["text"] != "Hi c1@example.com" {
			t.Fatalf("first decision's message %v", first["message"])
		}
		if got[2]["reason"] != "consent" || got[2]["message"] != nil {
			t.Fatalf("third decision %v", got[2])
		}
		if !strings.Contains(stderr, "4 events, 2 customers, 3 decisions (1 sent, 2 suppressed)") {
			t.Fatalf("stderr lacks the summary:\n%s", stderr)
		}
	})
	t.Run("show messages", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runSimulate(t, simEvents, "-config", cfg, "-show-messages", "-")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		want := "2026-01-05T10:00:00Z id:c-1 orders/default email sent\n" +
			"    subject: Thanks for order o1\n" +
			"    text: Hi c1@example.com\n" +
			"2026-01-05T11:00:00Z id:c-1 orders/default email suppressed (frequency_cap)\n"
		if !strings.HasPrefix(stdout, want) {
			t.Fatalf("stdout:\n%s\nwant it to start with:\n%s", stdout, want)
		}
	})
	t.Run("diff", func(t *testing.T) {
		t.Parallel()
		uncapped, _ := writeConfig(t, simRules(""))
		code, stdout, stderr := runSimulate(t, "", "-config", cfg, "-diff", uncapped, events)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		want := `- 2026-01-05T11:00:00Z id:c-1 orders/default email suppressed (frequency_cap)
+ 2026-01-05T11:00:00Z id:c-1 orders/default email sent
2 same, 1 only in A, 1 only in B
`
		if stdout != want {
			t.Fatalf("stdout:\n%s\nwant:\n%s", stdout, want)
		}
	})
	t.Run("start moves events without times", func(t *testing.T) {
		t.Parallel()
		in := `{"type":"order.placed","customer":{"id":"c-9","email":"c9@example.com"}}`
		code, stdout, stderr := runSimulate(t, in, "-config", cfg, "-start", "2026-02-01T09:30:00Z", "-")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if !strings.HasPrefix(stdout, "2026-02-01T09:30:00Z id:c-9 orders/default email sent\n1 events, 1 customers, 1 decisions (1 sent)\n") {
			t.Fatalf("stdout:\n%s", stdout)
		}
	})
}

func TestSimulateErrors(t *testing.T) {
	t.Parallel()
	cfg, _ := writeConfig(t, simRules(""))
	cases := []struct {
		name     string
		args     func(t *testing.T) []string
		code     int
		contains []string
	}{
		{"config with errors", func(t *testing.T) []string {
			bad, _ := writeConfig(t, strings.Replace(simRules(""), `on = ["order.placed"]`, `on = []`, 1))
			return []string{"-config", bad, writeFile(t, "e.jsonl", simEvents)}
		}, 1, []string{"gateway.hcl:26:", "on must list at least one event type"}},
		{"diff config with errors", func(t *testing.T) []string {
			bad, _ := writeConfig(t, simRules("colour = 1"))
			return []string{"-config", cfg, "-diff", bad, writeFile(t, "e.jsonl", simEvents)}
		}, 1, []string{"gateway.hcl:", "colour"}},
		{"reserved type", func(t *testing.T) []string {
			return []string{"-config", cfg, writeFile(t, "e.jsonl", simEvents+`{"type":"timer.fired","customer":{"id":"c-1"}}`+"\n")}
		}, 1, []string{"e.jsonl:7: ", `"timer.fired" is reserved`}},
		{"no customer", func(t *testing.T) []string {
			return []string{"-config", cfg, writeFile(t, "e.jsonl", `{"type":"order.placed"}`)}
		}, 1, []string{"e.jsonl:1: ", "no customer identity"}},
		{"unknown source", func(t *testing.T) []string {
			return []string{"-config", cfg, writeFile(t, "e.jsonl", `{"source":"crm","received_at":"2026-01-05T10:00:00Z","body":"e30="}`)}
		}, 1, []string{"e.jsonl:1: ", `source "crm"`}},
		{"missing file", func(t *testing.T) []string {
			return []string{"-config", cfg, filepath.Join(t.TempDir(), "none.jsonl")}
		}, 1, []string{"none.jsonl"}},
		{"no file", func(t *testing.T) []string { return []string{"-config", cfg} }, 2, []string{"no events file"}},
		{"bad start", func(t *testing.T) []string { return []string{"-config", cfg, "-start", "monday", "-"} }, 2, []string{"-start"}},
		{"bad until", func(t *testing.T) []string { return []string{"-config", cfg, "-until", "soon", "-"} }, 2, []string{"-until"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runSimulate(t, "", c.args(t)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, stdout, stderr)
			}
			for _, want := range c.contains {
				if !strings.Contains(stderr, want) {
					t.Fatalf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// TestSimulateCleansUp checks that simulate leaves nothing behind: its
// etcd directory is removed and its plugin processes are gone. Not
// parallel: it sets TMPDIR, and counts plugin processes other tests share.
func TestSimulateCleansUp(t *testing.T) {
	cfg, pluginDir := writeConfig(t, simRules(dailyCap))
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	code, stdout, stderr := runSimulate(t, simEvents, "-config", cfg, "-")
	if code != 0 || !strings.Contains(stdout, "3 decisions") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("simulate left %v in TMPDIR", left)
	}
	for _, name := range []string{"event", "log"} {
		if pids := pluginhosttest.PIDs(t, filepath.Join(pluginDir, name)); len(pids) > 0 {
			t.Fatalf("plugin %s still running after simulate: %v", name, pids)
		}
	}
}
