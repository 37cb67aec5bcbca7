package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

func TestDeadLettersCommand(t *testing.T) {
	st := storetest.Start(t)
	path := filepath.Join(t.TempDir(), "gateway.hcl")
	src := fmt.Sprintf("store {\n  endpoints = [%q]\n}\n", st.Client().Endpoints()[0])
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := st.Client().Put(ctx, st.Key("meta", "partitions"), "16"); err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(map[string]any{
		"event":    sdk.Event{ID: "01EVT", Type: "order.placed", Customer: sdk.Customer{Email: "a@example.com"}},
		"error":    "plugin crashed on it",
		"attempts": 10,
	})
	if _, err := st.Client().Put(ctx, st.Key("deadletter", "events", "01EVT"), string(rec)); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := run([]string{"deadletters", "-config", path}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "01EVT") || !strings.Contains(stdout.String(), "plugin crashed on it") ||
		!strings.Contains(stdout.String(), "1 dead-lettered events") {
		t.Fatalf("list: %d %s %s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run([]string{"deadletters", "-config", path, "requeue", "01EVT", "nope"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stdout.String(), "requeued 01EVT") || !strings.Contains(stderr.String(), `no dead letter "nope"`) {
		t.Fatalf("requeue: %d %s %s", code, stdout.String(), stderr.String())
	}
	lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(16))
	resp, err := st.Client().Get(ctx, lg.Prefix(lg.Partition("email:a@example.com"))+"01EVT", clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("requeued event not in its partition's log: %v %d", err, resp.Count)
	}
}
