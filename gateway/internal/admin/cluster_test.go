package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/sdk"
)

// idleOwner takes partitions and does nothing with them.
type idleOwner struct{}

func (idleOwner) Start(cluster.Claim) {}
func (idleOwner) Stop(int)            {}

func TestCluster(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	var cs admin.ClusterStatus
	f.get(t, "/v1/cluster", http.StatusOK, &cs)
	if cs.Partitions != 0 || len(cs.Nodes) != 0 || cs.Nodes == nil || cs.Unowned == nil {
		t.Fatalf("no cluster yet: %+v", cs)
	}

	node, err := cluster.Join(t.Context(), f.st, cluster.Config{NodeID: "node-a", Address: "10.0.0.1:8080", Partitions: 8}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = node.Run(t.Context(), idleOwner{})
	}()
	t.Cleanup(func() { _ = node.Close(); <-done })
	for deadline := time.Now().Add(10 * time.Second); len(node.Claims()) != 8; {
		if time.Now().After(deadline) {
			t.Fatalf("node claimed %d of 8 partitions", len(node.Claims()))
		}
		time.Sleep(5 * time.Millisecond) // the node claims in its own goroutine and signals nothing
	}
	// Events waiting in the log of an 8-partition cluster.
	lg := eventlog.New(f.st, hclog.NewNullLogger(), eventlog.WithPartitions(8))
	defer lg.Close()
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if _, err := lg.Append(t.Context(), "test", []sdk.Event{{ID: "ev-" + id, Type: "page.viewed", DeliveryID: id,
			Customer: sdk.Customer{ID: id}}}, 0); err != nil {
			t.Fatal(err)
		}
	}
	configs := configstore.New(f.st)
	if err := configs.SetNodeState(t.Context(), configstore.NodeState{Node: "node-a", Version: 3, Digest: "sha256:abc", Since: t0}, 0); err != nil {
		t.Fatal(err)
	}
	if err := configs.SetNodeState(t.Context(), configstore.NodeState{Node: "node-gone", Version: 2}, 0); err != nil {
		t.Fatal(err)
	}

	body := f.get(t, "/v1/cluster", http.StatusOK, &cs)
	if cs.Partitions != 8 || len(cs.Nodes) != 1 || len(cs.Unowned) != 0 || len(cs.Backlog) != 8 || cs.EventsWaiting != 5 ||
		len(cs.ConfigStates) != 2 {
		t.Fatalf("cluster: %s", body)
	}
	n := cs.Nodes[0]
	if n.ID != "node-a" || n.Address != "10.0.0.1:8080" || len(n.Partitions) != 8 || n.Backlog != 5 || n.StartedAt.IsZero() ||
		n.Config == nil || n.Config.Version != 3 {
		t.Fatalf("node: %+v", n)
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if p := lg.Partition("id:" + id); cs.Backlog[p] == 0 {
			t.Fatalf("partition %d holds ev-%s but its backlog is 0: %v", p, id, cs.Backlog)
		}
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var c admin.ConfigStatus
	body := f.get(t, "/v1/config", http.StatusOK, &c)
	if c.Current != nil || c.Nodes == nil {
		t.Fatalf("nothing applied: %s", body)
	}
	var vs admin.ConfigVersions
	f.get(t, "/v1/config/versions", http.StatusOK, &vs)
	if len(vs.Versions) != 0 || vs.Versions == nil {
		t.Fatalf("no versions: %+v", vs)
	}

	configs := configstore.New(f.st, configstore.WithClock(func() time.Time { return t0 }))
	for i, src := range []string{`source "app" { kind = "json" }`, `source "app" { kind = "json" }` + "\n# two", `source "shop" { kind = "shopify" }`} {
		if _, _, err := configs.Apply(t.Context(), configstore.ApplyRequest{
			Files:  map[string]string{"gateway.hcl": src, "templates/a.html": "<p>hi</p>"},
			Author: "ops@example.com", Message: []string{"first", "second", "third"}[i],
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := configs.SetNodeState(t.Context(), configstore.NodeState{Node: "node-a", Version: 2,
		Refused: &configstore.Refusal{Version: 3, Error: "plugin shopify: no binary", At: t0}}, 0); err != nil {
		t.Fatal(err)
	}
	body = f.get(t, "/v1/config", http.StatusOK, &c)
	if c.Current == nil || c.Current.ID != 3 || c.Current.Message != "third" || c.Current.Author != "ops@example.com" ||
		!c.Current.Time.Equal(t0) || c.Current.Digest == "" || len(c.Current.Files) != 2 ||
		c.Current.Files[0] != (admin.ConfigFile{Name: "gateway.hcl", Size: len(`source "shop" { kind = "shopify" }`)}) {
		t.Fatalf("config: %s", body)
	}
	if len(c.Nodes) != 1 || c.Nodes[0].Refused == nil || c.Nodes[0].Refused.Version != 3 {
		t.Fatalf("nodes: %+v", c.Nodes)
	}
	for _, content := range []string{"<p>hi</p>", "shopify\""} {
		if strings.Contains(body, content) {
			t.Fatalf("file contents in the answer (%s):\n%s", content, body)
		}
	}
	f.get(t, "/v1/config/versions", http.StatusOK, &vs)
	if vs.Total != 3 || len(vs.Versions) != 3 || vs.Versions[0].ID != 3 || vs.Versions[2].Message != "first" || vs.Versions[0].Files != nil {
		t.Fatalf("versions: %+v", vs)
	}
	f.get(t, "/v1/config/versions?limit=1", http.StatusOK, &vs)
	if vs.Total != 3 || len(vs.Versions) != 1 || vs.Versions[0].ID != 3 {
		t.Fatalf("versions, limit 1: %+v", vs)
	}
	if code, _ := f.call(t, http.MethodGet, "/v1/config/versions?limit=-3", ""); code != http.StatusBadRequest {
		t.Fatalf("bad limit: %d", code)
	}
}
