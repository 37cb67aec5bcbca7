package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/sdk"
)

func deadAt() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

func TestDeadLettersCommand(t *testing.T) {
	t.Parallel()
	g := startAdmin(t)
	ctx := t.Context()
	for _, d := range []struct{ id, rule string }{{"01EVT", ""}, {"02EVT.cart", "cart"}} {
		rec, _ := json.Marshal(map[string]any{
			"event":    sdk.Event{ID: strings.Split(d.id, ".")[0], Type: "order.placed", Customer: sdk.Customer{Email: "a@example.com"}},
			"rule":     d.rule,
			"error":    "plugin crashed on it",
			"attempts": 10,
			"at":       deadAt(),
		})
		if _, err := g.st.Client().Put(ctx, g.st.Key("deadletter", "events", d.id), string(rec)); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errs := runAdminCmd("deadletters", "-config", g.path)
	if code != 0 || !strings.Contains(out, "01EVT") || !strings.Contains(out, "plugin crashed on it") ||
		!strings.Contains(out, "email:a@example.com") || !strings.Contains(out, "2 dead-lettered events") {
		t.Fatalf("list: %d %s %s", code, out, errs)
	}
	code, out, _ = runAdminCmd("deadletters", "-config", g.path, "-json")
	if code != 0 || !strings.Contains(out, `"id": "02EVT.cart"`) || !strings.Contains(out, `"total": 2`) {
		t.Fatalf("list -json: %d %s", code, out)
	}
	code, out, errs = runAdminCmd("deadletters", "-config", g.path, "requeue", "01EVT", "nope", "02EVT.cart")
	if code != 1 || !strings.Contains(out, "requeued 01EVT") || !strings.Contains(errs, `no dead letter "nope"`) ||
		!strings.Contains(errs, "02EVT.cart") || !strings.Contains(errs, "force") {
		t.Fatalf("requeue: %d %s %s", code, out, errs)
	}
	resp, err := g.st.Client().Get(ctx, g.log.Prefix(g.log.Partition("email:a@example.com"))+"01EVT", clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("requeued event not in its partition's log: %v %d", err, resp.Count)
	}
	if code, out, errs = runAdminCmd("deadletters", "-config", g.path, "-force", "requeue", "02EVT.cart"); code != 0 || !strings.Contains(out, "requeued 02EVT.cart") {
		t.Fatalf("requeue -force: %d %s %s", code, out, errs)
	}
	for _, args := range [][]string{{"requeue"}, {"purge", "01EVT"}} {
		if code, _, errs := runAdminCmd(append([]string{"deadletters", "-config", g.path}, args...)...); code != 2 || !strings.Contains(errs, "usage") {
			t.Errorf("deadletters %v: %d %s", args, code, errs)
		}
	}
}
