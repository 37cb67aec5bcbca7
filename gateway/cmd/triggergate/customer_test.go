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

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

func TestCustomerCommand(t *testing.T) {
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
		"key":     "id:c1",
		"profile": sdk.Profile{Customer: sdk.Customer{ID: "c1", Email: "jane@example.com"}, Consent: map[string]bool{"email": false}},
		"trace": []customer.Decision{{Rule: "promo", Step: "default", Channel: "email", Outcome: "suppressed",
			Reason: "consent", Detail: "customer declined email"}},
		"rules": map[string][]byte{"promo": []byte(`{"n":1}`)},
	})
	if _, err := st.Client().Put(ctx, st.Key("customers", "id:c1"), string(rec)); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := run([]string{"customer", "-config", path, "id:c1"}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "jane@example.com") || !strings.Contains(stdout.String(), "customer declined email") ||
		!strings.Contains(stdout.String(), "map[email:false]") {
		t.Fatalf("show: %d %s %s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run([]string{"customer", "-config", path, "-json", "id:c1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("show -json: %d %s", code, stderr.String())
	}
	var v engine.CustomerView
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil || v.Rules["promo"] != `{"n":1}` || len(v.Trace) != 1 {
		t.Fatalf("show -json: %v %+v", err, v)
	}
	stderr.Reset()
	if code := run([]string{"customer", "-config", path, "id:nobody"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no such customer") {
		t.Fatalf("unknown customer: %d %s", code, stderr.String())
	}
	if code := run([]string{"customer", "-config", path, "nobody"}, &stdout, &stderr); code != 2 {
		t.Fatalf("bad key: %d", code)
	}

	stdout.Reset()
	if code := run([]string{"customer", "-config", path, "erase", "id:c1"}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "erasure of id:c1 queued") {
		t.Fatalf("erase: %d %s %s", code, stdout.String(), stderr.String())
	}
	lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(16))
	resp, err := st.Client().Get(ctx, lg.Prefix(lg.Partition("id:c1")), clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 1 || !strings.Contains(string(resp.Kvs[0].Value), engine.EraseType) {
		t.Fatalf("erase event not in the customer's partition: %v %v", err, resp.Kvs)
	}
}
