package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/sdk"
)

type idleOwner struct{}

func (idleOwner) Start(cluster.Claim) {}
func (idleOwner) Stop(int)            {}

// TestStatusCommand runs a cluster node on the admin API's etcd and asks
// `triggergate status` about it.
func TestStatusCommand(t *testing.T) {
	t.Parallel()
	g := startAdmin(t) // its event log has 16 partitions, as the node records
	node, err := cluster.Join(t.Context(), g.st, cluster.Config{NodeID: "node-a", Address: "127.0.0.1:8080", Partitions: 16}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = node.Run(t.Context(), idleOwner{})
	}()
	t.Cleanup(func() { _ = node.Close(); <-done })
	for deadline := time.Now().Add(10 * time.Second); len(node.Claims()) != 16; {
		if time.Now().After(deadline) {
			t.Fatalf("node claimed %d of 16 partitions", len(node.Claims()))
		}
		time.Sleep(5 * time.Millisecond) // the node claims in its own goroutine and signals nothing
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := g.log.Append(t.Context(), "test", []sdk.Event{{ID: "ev-" + id, Type: "page.viewed", DeliveryID: id,
			Customer: sdk.Customer{ID: id}}}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := configstore.New(g.st).SetNodeState(t.Context(), configstore.NodeState{Node: "node-a", Version: 2,
		Refused: &configstore.Refusal{Version: 3, Error: "plugin twilio: no binary"}}, 0); err != nil {
		t.Fatal(err)
	}

	code, out, errs := runAdminCmd("status", "-config", g.path)
	if code != 0 || !strings.Contains(out, "node-a") || !strings.Contains(out, "127.0.0.1:8080") || !strings.Contains(out, "16 (0-15)") ||
		!strings.Contains(out, "16 partitions, 3 events waiting") ||
		!strings.Contains(out, "config: node-a serves version 2; refused version 3: plugin twilio: no binary") {
		t.Fatalf("status: %d\n%s%s", code, out, errs)
	}
	code, out, errs = runAdminCmd("status", "-config", g.path, "-json")
	var s admin.ClusterStatus
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil {
		t.Fatalf("status -json: %d %v\n%s%s", code, err, out, errs)
	}
	if s.Partitions != 16 || len(s.Nodes) != 1 || len(s.Nodes[0].Partitions) != 16 || s.Nodes[0].Backlog != 3 || len(s.Unowned) != 0 ||
		s.EventsWaiting != 3 || s.Nodes[0].Config == nil || s.Nodes[0].Config.Version != 2 {
		t.Fatalf("status -json: %+v", s)
	}
}

func TestRanges(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{3}, "3"}, {[]int{0, 1, 2, 3}, "0-3"}, {[]int{9, 0, 1, 7, 10}, "0-1,7,9-10"}} {
		if got := ranges(c.in); got != c.want {
			t.Errorf("ranges(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
