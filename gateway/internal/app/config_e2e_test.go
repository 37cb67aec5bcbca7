package app_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// sharedV1 is the shared configuration the cluster starts with: one rule.
var sharedV1 = fmt.Sprintf(`
source "app" {
  kind   = "json"
  secret = %q
}
channel "log" {
  plugin = "log"
}
trigger "orders" {
  plugin = "event"
  config {
    on = ["order.placed"]
  }
  action {
    channel = "log"
  }
}
`, sourceSecret)

// sharedV2 adds a second rule on the same events.
var sharedV2 = sharedV1 + `
trigger "vip" {
  plugin = "event"
  config {
    on   = ["order.placed"]
    when = event.properties.value > 0
  }
  action {
    channel = "log"
  }
}
`

// clusterNode is the whole file of a cluster node: how to join, nothing
// more.
func clusterNode(t *testing.T, id, pluginDir, etcdURL string) string {
	return fmt.Sprintf(`
gateway {
  node_id      = %q
  listen       = "127.0.0.1:0"
  admin_listen = "127.0.0.1:0"
  admin_token  = "e2e-admin-token-0123456789"
  data_dir     = %q
  plugin_dir   = %q
  shutdown_timeout = "5s"
  lease_ttl    = "2s"
  partitions   = 8
}
store {
  endpoints = [%q]
}
`, id, t.TempDir(), pluginDir, etcdURL)
}

// switches collects the versions each node switched to.
type switches struct {
	mu   sync.Mutex
	seen map[string][]int64
	ch   chan struct{}
}

func (s *switches) hook(node string) func(*app.Options) {
	return func(o *app.Options) {
		o.OnSwitch = func(v int64) {
			s.mu.Lock()
			s.seen[node] = append(s.seen[node], v)
			s.mu.Unlock()
			select {
			case s.ch <- struct{}{}:
			default:
			}
		}
	}
}

// await waits until every node has switched to version v.
func (s *switches) await(t *testing.T, v int64, nodes ...string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		s.mu.Lock()
		all := true
		for _, n := range nodes {
			all = all && slices.Contains(s.seen[n], v)
		}
		s.mu.Unlock()
		if all {
			return
		}
		select {
		case <-s.ch:
		case <-deadline:
			t.Fatalf("not every node switched to version %d: %v", v, s.seen)
		}
	}
}

// traffic posts orders for a set of customers to the nodes in turn and
// remembers each accepted event by customer.
type traffic struct {
	t     *testing.T
	nodes []*gateway
	mu    sync.Mutex
	n     int
	byID  map[string]string // event id → customer key
	phase map[string]int    // event id → phase it was accepted in
	cur   int
}

func (tr *traffic) send(phase int) {
	tr.mu.Lock()
	tr.n++
	n := tr.n
	tr.mu.Unlock()
	id := fmt.Sprintf("o-%04d", n)
	g := tr.nodes[n%len(tr.nodes)]
	body := fmt.Sprintf(`{"id":%q,"type":"order.placed","customer":{"id":"c-%d"},"properties":{"order_id":%q,"value":10}}`, id, n%12, id)
	code, out := g.post(tr.t, body, "")
	if code != http.StatusAccepted {
		tr.t.Errorf("order %s: status %d %v", id, code, out)
		return
	}
	ids, _ := out["event_ids"].([]any)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, v := range ids {
		tr.byID[v.(string)] = fmt.Sprintf("id:c-%d", n%12)
		tr.phase[v.(string)] = phase
	}
}

// run sends orders continuously until stop is closed.
func (tr *traffic) run(phase func() int, stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		tr.send(phase())
	}
}

// rulesFired waits until every accepted event has been decided, and
// returns the rules that decided each.
func (tr *traffic) rulesFired(t *testing.T, st *store.Store) map[string][]string {
	t.Helper()
	tr.mu.Lock()
	want := maps.Clone(tr.byID)
	tr.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := map[string][]string{}
		for _, key := range distinct(want) {
			view, err := engine.ReadCustomer(t.Context(), st, key)
			if err != nil {
				continue
			}
			for _, d := range view.Record.Trace {
				got[d.EventID] = append(got[d.EventID], d.Rule)
			}
		}
		missing := 0
		for id := range want {
			if !slices.Contains(got[id], "orders") {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events were never processed", missing, len(want))
		}
		time.Sleep(50 * time.Millisecond) // polling etcd for the engine's progress
	}
}

func distinct(m map[string]string) []string {
	var out []string
	for _, v := range m {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// TestApplyWhileEventsFlow runs two cluster nodes whose own files hold
// only how to join. The shared configuration comes from etcd: a new
// version applied while orders flow takes effect on both nodes with no
// event lost; a version that does not validate on the nodes is refused
// and the old one keeps serving; a rollback restores the first version.
func TestApplyWhileEventsFlow(t *testing.T) {
	st := storetest.Start(t)
	etcdURL := st.Client().Endpoints()[0]
	pluginDir := pluginhosttest.Build(t, "plugins/event", "plugins/log")
	cs := configstore.New(st)
	ctx := t.Context()
	if _, _, err := cs.Apply(ctx, configstore.ApplyRequest{Files: map[string]string{"rules.hcl": sharedV1}, Author: "test"}); err != nil {
		t.Fatal(err)
	}

	sw := &switches{seen: map[string][]int64{}, ch: make(chan struct{}, 1)}
	n1 := runGatewayWith(t, pluginDir, etcdURL, clusterNode(t, "n1", pluginDir, etcdURL), sw.hook("n1"))
	n2 := runGatewayWith(t, pluginDir, etcdURL, clusterNode(t, "n2", pluginDir, etcdURL), sw.hook("n2"))
	tr := &traffic{t: t, nodes: []*gateway{n1, n2}, byID: map[string]string{}, phase: map[string]int{}}

	// Phase 1: orders flow under version 1; version 2 is applied midway.
	var phaseMu sync.Mutex
	phase := 1
	current := func() int { phaseMu.Lock(); defer phaseMu.Unlock(); return phase }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { tr.run(current, stop) })
	for range 30 {
		tr.send(1)
	}
	if _, _, err := cs.Apply(ctx, configstore.ApplyRequest{Files: map[string]string{"rules.hcl": sharedV2}, Author: "test"}); err != nil {
		t.Fatal(err)
	}
	sw.await(t, 2, "n1", "n2")
	phaseMu.Lock()
	phase = 2 // accepted after both nodes switched
	phaseMu.Unlock()
	for range 30 {
		tr.send(2)
	}
	close(stop)
	wg.Wait()

	fired := tr.rulesFired(t, st)
	for id, p := range tr.phase {
		rules := fired[id]
		slices.Sort(rules)
		switch {
		case p == 2 && !slices.Equal(rules, []string{"orders", "vip"}):
			t.Errorf("event %s accepted after the switch was decided by %v; want orders and vip", id, rules)
		case p == 1 && !slices.Equal(rules, []string{"orders"}) && !slices.Equal(rules, []string{"orders", "vip"}):
			t.Errorf("event %s decided by %v: processed under a half-applied configuration", id, rules)
		}
	}
	t.Logf("%d events, all processed once by version 1 or 2", len(tr.phase))

	// A version that does not validate on the nodes (a secret the nodes do
	// not have) is refused by both; version 2 keeps serving.
	broken := strings.Replace(sharedV2, fmt.Sprintf("%q", sourceSecret), `env("TG_E2E_SECRET_NOT_ON_NODES")`, 1)
	bad, _, err := cs.Apply(ctx, configstore.ApplyRequest{Files: map[string]string{"rules.hcl": broken}, Author: "test"})
	if err != nil {
		t.Fatal(err)
	}
	awaitNodes(t, cs, func(ns []configstore.NodeState) bool {
		for _, n := range ns {
			if n.Version != 2 || n.Refused == nil || n.Refused.Version != bad.ID ||
				!strings.Contains(n.Refused.Error, "TG_E2E_SECRET_NOT_ON_NODES") {
				return false
			}
		}
		return len(ns) == 2
	})
	tr.phase = map[string]int{}
	for range 10 {
		tr.send(3)
	}
	fired = tr.rulesFired(t, st)
	for id := range tr.phase {
		if rules := fired[id]; len(rules) != 2 {
			t.Errorf("after the refusal, event %s was decided by %v; want version 2's orders and vip", id, rules)
		}
	}

	// A rollback to version 1 is a new version with version 1's files.
	rb, err := cs.Rollback(ctx, 1, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	sw.await(t, rb.ID, "n1", "n2")
	tr.phase = map[string]int{}
	for range 10 {
		tr.send(4)
	}
	fired = tr.rulesFired(t, st)
	for id := range tr.phase {
		if rules := fired[id]; !slices.Equal(rules, []string{"orders"}) {
			t.Errorf("after the rollback, event %s was decided by %v; want only orders", id, rules)
		}
	}
	awaitNodes(t, cs, func(ns []configstore.NodeState) bool {
		return len(ns) == 2 && ns[0].Version == rb.ID && ns[1].Version == rb.ID && ns[0].Refused == nil
	})
}

// awaitNodes polls the nodes' configuration states until ok.
func awaitNodes(t *testing.T, cs *configstore.Store, ok func([]configstore.NodeState) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var last []configstore.NodeState
	for ctx.Err() == nil {
		ns, err := cs.Nodes(ctx)
		if err == nil && ok(ns) {
			return
		}
		last = ns
		time.Sleep(50 * time.Millisecond) // polling etcd for the nodes' reports
	}
	t.Fatalf("node states never matched: %+v", last)
}
