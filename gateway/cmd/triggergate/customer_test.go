package main

import (
	"encoding/json"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/sdk"
)

func TestCustomerCommand(t *testing.T) {
	t.Parallel()
	g := startAdmin(t)
	ctx := t.Context()
	// A record as the engine writes it, under a key that needs escaping.
	const key = "id:c/1+x@y"
	rec, err := json.Marshal(map[string]any{
		"key":     key,
		"profile": sdk.Profile{Customer: sdk.Customer{ID: "c/1+x@y", Email: "jane@example.com"}, Consent: map[string]bool{"email": false}},
		"trace": []customer.Decision{{Rule: "promo", Step: "default", Channel: "email", Outcome: "suppressed",
			Reason: "consent", Detail: "customer declined email"}},
		"rules":  map[string][]byte{"promo": []byte(`{"n":1}`)},
		"timers": map[string]map[string]sdk.Timer{"promo": {"remind": {ID: "remind", At: deadAt()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.st.Client().Put(ctx, g.st.Key("customers", "id:c%2F1+x@y"), string(rec)); err != nil {
		t.Fatal(err)
	}

	code, out, errs := runAdminCmd("customer", "-config", g.path, key)
	if code != 0 || !strings.Contains(out, "customer "+key) || !strings.Contains(out, "jane@example.com") ||
		!strings.Contains(out, "customer declined email") || !strings.Contains(out, "map[email:false]") ||
		!strings.Contains(out, "timer promo/remind due 2026-11-22T10:00:00Z") {
		t.Fatalf("show: %d %s %s", code, out, errs)
	}
	code, out, errs = runAdminCmd("customer", "-config", g.path, "-json", key)
	var v engine.CustomerView
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Rules["promo"] != `{"n":1}` || len(v.Trace) != 1 {
		t.Fatalf("show -json: %d %v %+v %s", code, err, v, errs)
	}
	if code, _, errs := runAdminCmd("customer", "-config", g.path, "id:nobody"); code != 1 || !strings.Contains(errs, "no such customer") {
		t.Fatalf("unknown customer: %d %s", code, errs)
	}
	for _, args := range [][]string{{"nobody"}, {}, {"erase"}, {"show", "id:c-1"}, {"erase", "id:a", "id:b"}} {
		if code, _, _ := runAdminCmd(append([]string{"customer", "-config", g.path}, args...)...); code != 2 {
			t.Errorf("customer %v: exit %d, want 2", args, code)
		}
	}

	code, out, errs = runAdminCmd("customer", "-config", g.path, "erase", key)
	if code != 0 || !strings.Contains(out, "erasure of "+key+" queued as event erase_") {
		t.Fatalf("erase: %d %s %s", code, out, errs)
	}
	resp, err := g.st.Client().Get(ctx, g.log.Prefix(g.log.Partition(key)), clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 1 || !strings.Contains(string(resp.Kvs[0].Value), engine.EraseType) {
		t.Fatalf("erase event not in the customer's partition: %v %v", err, resp.Kvs)
	}
	code, out, _ = runAdminCmd("customer", "-config", g.path, "erase", "email:nobody@example.com")
	if code != 0 || !strings.Contains(out, "no record under email:nobody@example.com yet") {
		t.Fatalf("erase unknown: %d %s", code, out)
	}
}
