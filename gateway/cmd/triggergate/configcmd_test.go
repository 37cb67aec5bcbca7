package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// runCmd runs the command line in-process and returns its exit code and
// output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

const vipRule = `
trigger "vip" {
  plugin = "event"
  config {
    on = ["order.placed"]
  }
  action {
    channel = "log"
  }
}
`

// TestApplyHistoryDiffRollback drives the configuration commands against
// a running single-node gateway, which stored its file as version 1 at
// start-up and switches to each version applied.
func TestApplyHistoryDiffRollback(t *testing.T) {
	path, _ := writeConfig(t, goodRules)
	startServe(t, buildBinary(t), path)

	code, out, errOut := runCmd(t, "apply", "-config", path)
	if code != 0 || !strings.Contains(out, "unchanged: version 1") {
		t.Fatalf("apply of the file serve started with: exit %d\n%s%s", code, out, errOut)
	}

	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(src, vipRule...), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, "config", "diff", "-config", path)
	if code != 0 || !strings.Contains(out, `+trigger "vip" {`) || !strings.Contains(out, "--- version 1/gateway.hcl") {
		t.Fatalf("config diff before apply: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "apply", "-config", path, "-m", "add vip")
	if code != 0 || !strings.Contains(out, "applied version 2") || !strings.Contains(out, "serving version 2") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}

	// A configuration that does not validate never reaches etcd.
	if err := os.WriteFile(path, append(src, strings.Replace(vipRule, `"event"`, `"no_such_plugin"`, 1)...), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCmd(t, "apply", "-config", path)
	if code != 1 || !strings.Contains(errOut, "no_such_plugin") || !strings.Contains(errOut, "nothing was stored") {
		t.Fatalf("apply of an invalid config: exit %d\n%s", code, errOut)
	}

	// A version that validates here but not on the node (a secret only this
	// shell has) is refused by the node, which keeps serving version 2.
	t.Setenv("TG_TEST_ONLY_HERE", "secret-here")
	withEnv := append(append([]byte{}, src...), (vipRule + `
source "partner" {
  kind   = "json"
  secret = env("TG_TEST_ONLY_HERE")
}
`)...)
	if err := os.WriteFile(path, withEnv, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, "apply", "-config", path)
	if code != 1 || !strings.Contains(out, "applied version 3") || !strings.Contains(out, "REFUSED version 3, still serving version 2") ||
		!strings.Contains(out, "TG_TEST_ONLY_HERE") {
		t.Fatalf("apply of a version the node refuses: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "secret-here") {
		t.Fatal("the secret's value was printed")
	}

	code, out, errOut = runCmd(t, "config", "history", "-config", path)
	if code != 0 || !strings.Contains(out, "*3") || !strings.Contains(out, "add vip") ||
		!strings.Contains(out, "refused version 3") || !strings.Contains(out, "applied by serve") {
		t.Fatalf("config history: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "config", "diff", "-config", path, "1", "2")
	if code != 0 || !strings.Contains(out, `+trigger "vip" {`) {
		t.Fatalf("config diff 1 2: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCmd(t, "config", "rollback", "-config", path, "1")
	if code != 0 || !strings.Contains(out, "version 4 has the files of version 1") || !strings.Contains(out, "serving version 4") {
		t.Fatalf("config rollback: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "config", "diff", "-config", path, "1")
	if code != 0 || !strings.Contains(out, "no differences between version 1 and version 4") {
		t.Fatalf("after rollback, version 1 vs current: exit %d\n%s", code, out)
	}

	for _, args := range [][]string{
		{"config"}, {"config", "frobnicate"}, {"config", "rollback", "-config", path},
		{"config", "rollback", "-config", path, "x"}, {"config", "diff", "-config", path, "1", "2", "3"},
	} {
		if code, _, errOut := runCmd(t, args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	if code, _, errOut := runCmd(t, "config", "rollback", "-config", path, "99"); code != 1 || !strings.Contains(errOut, "no such configuration version") {
		t.Errorf("rollback to a missing version: exit %d, %q", code, errOut)
	}
}
