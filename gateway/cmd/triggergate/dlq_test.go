package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

// TestDLQCommand drives `triggergate dlq` against a real admin API whose
// token the command finds in the data_dir, as on a gateway started with
// `make run`.
func TestDLQCommand(t *testing.T) {
	st := storetest.Start(t)
	const token = "generated-token-in-the-data-dir"
	api, err := admin.New(st, token, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "admin-token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gateway.hcl")
	src := fmt.Sprintf("gateway {\n  admin_listen = %q\n  data_dir = %q\n}\nstore {\n  endpoints = [%q]\n}\n",
		strings.TrimPrefix(srv.URL, "http://"), dataDir, st.Client().Endpoints()[0])
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"msg_a", "msg_b", "msg_c"} {
		channel := "email"
		if id == "msg_c" {
			channel = "sms"
		}
		b, _ := json.Marshal(outbox.DeadLetter{
			Entry: outbox.Entry{Message: sdk.Message{ID: id, Trigger: "cart", Step: "reminder"}, Partition: 2, Channel: channel,
				Customer: "email:a@example.com"},
			Reason: "provider answered 400 Bad Request", At: time.Date(2026, 11, 22, 10, i, 0, 0, time.UTC),
		})
		if _, err := st.Client().Put(t.Context(), st.Key("dlq", id), string(b)); err != nil {
			t.Fatal(err)
		}
	}
	dlq := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"dlq", "-config", path}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, out, errs := dlq()
	if code != 0 || !strings.Contains(out, "msg_a") || !strings.Contains(out, "provider answered 400") ||
		!strings.Contains(out, "email:a@example.com") || !strings.Contains(out, "3 shown, 3 dead-lettered messages in all") {
		t.Fatalf("list: %d\n%s%s", code, out, errs)
	}
	if code, out, errs = dlq("-channel", "sms", "list"); code != 0 || strings.Contains(out, "msg_a") || !strings.Contains(out, "msg_c") {
		t.Fatalf("list sms: %d\n%s%s", code, out, errs)
	}
	if code, out, errs = dlq("retry", "msg_a", "msg_nope"); code != 1 || !strings.Contains(out, "requeued msg_a") ||
		!strings.Contains(errs, "msg_nope: no such dead-lettered message") {
		t.Fatalf("retry: %d\n%s%s", code, out, errs)
	}
	if resp, err := st.Client().Get(t.Context(), st.Key(outbox.KeyParts(2, "msg_a")...)); err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("msg_a not back in the outbox: %v", err)
	}
	if code, out, errs = dlq("drop", "-all", "-channel", "sms"); code != 0 || !strings.Contains(out, "dropped msg_c") || strings.Contains(out, "msg_b") {
		t.Fatalf("drop -all sms: %d\n%s%s", code, out, errs)
	}
	if code, out, errs = dlq("-json"); code != 0 || !strings.Contains(out, `"id": "msg_b"`) || strings.Contains(out, "msg_c") {
		t.Fatalf("json list: %d\n%s%s", code, out, errs)
	}
	// Usage mistakes, and a wrong token.
	for _, args := range [][]string{{"retry"}, {"retry", "-all", "msg_b"}, {"drop", "-channel", "email", "msg_b"}, {"purge"}} {
		if code, _, errs := dlq(args...); code != 2 || !strings.Contains(errs, "usage") && !strings.Contains(errs, "unknown action") {
			t.Errorf("dlq %v: %d %s", args, code, errs)
		}
	}
	if code, _, errs = dlq("-token", "wrong"); code != 1 || !strings.Contains(errs, "missing or wrong bearer token") {
		t.Errorf("wrong token: %d %s", code, errs)
	}
}
