package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

const testAdminToken = "a-test-admin-token-of-some-length"

// adminGateway is a real admin API over embedded etcd, and a config file
// whose admin_listen and admin_token reach it (no store block: the
// commands need only the admin API).
type adminGateway struct {
	st   *store.Store
	log  *eventlog.Log
	path string
	addr string
}

func startAdmin(t *testing.T) *adminGateway {
	t.Helper()
	st := storetest.Start(t)
	lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(16))
	t.Cleanup(lg.Close)
	api, err := admin.New(st, testAdminToken, hclog.NewNullLogger(), admin.WithEventLog(lg))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	path := filepath.Join(t.TempDir(), "gateway.hcl")
	src := fmt.Sprintf("gateway {\n  admin_listen = %q\n  admin_token = %q\n}\n", addr, testAdminToken)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return &adminGateway{st: st, log: lg, path: path, addr: addr}
}

func runAdminCmd(args ...string) (code int, stdout, stderr string) {
	var out, errs bytes.Buffer
	code = run(args, &out, &errs)
	return code, out.String(), errs.String()
}

// TestAdminCommandsWithoutGateway: every command that uses the admin API
// says plainly that the gateway is not there.
func TestAdminCommandsWithoutGateway(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", storetest.FreePort(t))
	path := filepath.Join(t.TempDir(), "gateway.hcl")
	src := fmt.Sprintf("gateway {\n  admin_listen = %q\n  admin_token = %q\n}\n", addr, testAdminToken)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"customer", "id:c-1"}, {"customer", "erase", "id:c-1"}, {"deadletters"},
		{"deadletters", "requeue", "e1"}, {"dlq"}, {"dlq", "retry", "m1"}} {
		code, _, errs := runAdminCmd(append([]string{args[0], "-config", path}, args[1:]...)...)
		want := "cannot reach the admin API at " + addr + ": is the gateway running?"
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("%v: exit %d, %s; want exit 1 and %q", args, code, errs, want)
		}
	}
}

func TestAdminClientFlags(t *testing.T) {
	g := startAdmin(t)
	missing := filepath.Join(t.TempDir(), "missing.hcl")
	// -admin and -token need no configuration file.
	if code, out, errs := runAdminCmd("deadletters", "-config", missing, "-admin", g.addr, "-token", testAdminToken); code != 0 ||
		!strings.Contains(out, "0 dead-lettered events") {
		t.Fatalf("with -admin and -token: %d %s %s", code, out, errs)
	}
	t.Setenv("TRIGGERGATE_ADMIN_TOKEN", testAdminToken)
	if code, out, errs := runAdminCmd("status", "-config", missing, "-admin", g.addr); code != 0 || !strings.Contains(out, "0 partitions") {
		t.Fatalf("with -admin and $TRIGGERGATE_ADMIN_TOKEN: %d %s %s", code, out, errs)
	}
	if code, _, errs := runAdminCmd("status", "-admin", g.addr, "-token", "wrong-token"); code != 1 || !strings.Contains(errs, "missing or wrong bearer token") {
		t.Fatalf("wrong token: %d %s", code, errs)
	}
	if code, _, errs := runAdminCmd("status", "-admin", "127.0.0.1:0", "-token", "x"); code != 1 || !strings.Contains(errs, "-admin HOST:PORT") {
		t.Fatalf("random port: %d %s", code, errs)
	}
	if code, _, _ := runAdminCmd("status", "-config", g.path, "extra"); code != 2 {
		t.Fatalf("status with an argument: exit %d", code)
	}
}
