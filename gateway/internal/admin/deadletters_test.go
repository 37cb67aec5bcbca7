package admin_test

import (
	"net/http"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/sdk"
)

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.send(t,
		sdk.Event{ID: "e1", Type: "poison", Customer: sdk.Customer{ID: "c-1"}},
		sdk.Event{ID: "e2", Type: "poison", Customer: sdk.Customer{ID: "c-2"}},
	)
	var list admin.DeadLetters
	f.get(t, "/v1/deadletters", http.StatusOK, &list)
	if list.Total != 2 || len(list.DeadLetters) != 2 || list.DeadLetters[0].ID != "e1.cart" || list.DeadLetters[0].Event.ID != "e1" ||
		list.DeadLetters[0].Error != "cannot digest this event" || list.DeadLetters[0].Rule != "cart" {
		t.Fatalf("list = %+v", list)
	}
	f.get(t, "/v1/deadletters?limit=1", http.StatusOK, &list)
	if list.Total != 2 || len(list.DeadLetters) != 1 {
		t.Fatalf("limit 1: %+v", list)
	}

	// One rule failed on them: requeueing needs force.
	var res admin.RequeueResults
	code, body := f.call(t, http.MethodPost, "/v1/deadletters/requeue", `{"ids":["e1.cart","nope"]}`)
	res = admin.RequeueResults{}
	decode(t, body, &res)
	if code != http.StatusOK || len(res.Results) != 2 || !strings.Contains(res.Results[0].Error, "force") ||
		!strings.Contains(res.Results[1].Error, `no dead letter "nope"`) {
		t.Fatalf("requeue without force: %d %s", code, body)
	}
	_, body = f.call(t, http.MethodPost, "/v1/deadletters/requeue", `{"ids":["e1.cart"],"force":true}`)
	res = admin.RequeueResults{}
	decode(t, body, &res)
	if len(res.Results) != 1 || res.Results[0].Error != "" {
		t.Fatalf("requeue with force: %s", body)
	}
	resp, err := f.st.Client().Get(t.Context(), f.log.Prefix(f.log.Partition("id:c-1"))+"e1", clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("requeued event not in its partition's log: %v", err)
	}
	f.get(t, "/v1/deadletters", http.StatusOK, &list)
	if list.Total != 1 || list.DeadLetters[0].ID != "e2.cart" {
		t.Fatalf("after requeue: %+v", list)
	}

	for _, bad := range []string{``, `[]`, `{"ids":[]}`, `{"ids":[""]}`, `{"ids":["a\u0000b"]}`, `{"id":"e2.cart"}`,
		`{"ids":["` + strings.Repeat("x", 600) + `"]}`, `{"ids":"e2.cart"}`} {
		if code, body := f.call(t, http.MethodPost, "/v1/deadletters/requeue", bad); code != http.StatusBadRequest || errorCode(body) != "invalid_body" {
			t.Errorf("body %q: %d %s, want 400", bad, code, body)
		}
	}
	if code, _ := f.call(t, http.MethodGet, "/v1/deadletters?limit=nope", ""); code != http.StatusBadRequest {
		t.Errorf("bad limit: %d", code)
	}

	// Without the event log the cluster's partition count maps events;
	// with no cluster at all there is nowhere to requeue to.
	srv := startAPI(t, f.st)
	code, body = call(t, srv, http.MethodPost, "/v1/deadletters/requeue", "Bearer "+token, `{"ids":["e2.cart"],"force":true}`)
	if code != http.StatusConflict || errorCode(body) != "no_partitions" {
		t.Fatalf("requeue with no cluster: %d %s", code, body)
	}
	f.put(t, "64", "meta", "partitions")
	code, body = call(t, srv, http.MethodPost, "/v1/deadletters/requeue", "Bearer "+token, `{"ids":["e2.cart"],"force":true}`)
	res = admin.RequeueResults{}
	decode(t, body, &res)
	if code != http.StatusOK || res.Results[0].Error != "" {
		t.Fatalf("requeue through the cluster's partitions: %d %s", code, body)
	}
	resp, err = f.st.Client().Get(t.Context(), f.log.Prefix(f.log.Partition("id:c-2"))+"e2", clientv3.WithCountOnly())
	if err != nil || resp.Count != 1 {
		t.Fatalf("requeued event not in its partition's log: %v", err)
	}
}
