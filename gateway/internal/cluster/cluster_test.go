package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// testPartitions keeps the tests fast.
const testPartitions = 16

// settleTimeout bounds every wait for the cluster to reach a state. The
// waits end as soon as the state is reached; the bound only turns a hang
// into a failure.
const settleTimeout = 30 * time.Second

// noResync turns the periodic re-read off, so that the tests show the
// watches alone move partitions promptly.
var noResync = cluster.WithResyncInterval(time.Hour)

// journal records what the nodes' owners are told, in one order for all
// nodes, and checks as it goes that a partition is never started on a
// node while another node runs it.
type journal struct {
	t *testing.T
	// zombies tolerates a partition starting elsewhere before its old
	// owner stopped it: only when a lease is lost behind a node's back,
	// where fencing, not the journal, keeps the old owner from committing.
	zombies bool

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	running    map[int]map[string]cluster.Claim
	stops      map[string][]int // node → partitions stopped, in order
	violations []string
}

func newJournal(t *testing.T) *journal {
	j := &journal{t: t, changed: make(chan struct{}), running: map[int]map[string]cluster.Claim{}, stops: map[string][]int{}}
	t.Cleanup(func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		for _, v := range j.violations {
			t.Error(v)
		}
	})
	return j
}

// owner is node's Owner.
func (j *journal) owner(node string) cluster.Owner { return &fakeOwner{j: j, node: node} }

type fakeOwner struct {
	j    *journal
	node string
}

var _ cluster.Owner = (*fakeOwner)(nil)

func (o *fakeOwner) Start(c cluster.Claim) {
	j := o.j
	j.mu.Lock()
	defer j.mu.Unlock()
	on := j.running[c.Partition]
	if on == nil {
		on = map[string]cluster.Claim{}
		j.running[c.Partition] = on
	}
	if _, ok := on[o.node]; ok {
		j.violations = append(j.violations, fmt.Sprintf("%s: Start(%d) twice without Stop", o.node, c.Partition))
	}
	if len(on) > 0 && !j.zombies {
		j.violations = append(j.violations, fmt.Sprintf("%s: Start(%d) while %v still run it", o.node, c.Partition, keys(on)))
	}
	on[o.node] = c
	j.notify()
}

func (o *fakeOwner) Stop(p int) {
	j := o.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.running[p][o.node]; !ok {
		j.violations = append(j.violations, fmt.Sprintf("%s: Stop(%d) of a partition it does not run", o.node, p))
	}
	delete(j.running[p], o.node)
	j.stops[o.node] = append(j.stops[o.node], p)
	j.notify()
}

func (j *journal) notify() {
	close(j.changed)
	j.changed = make(chan struct{})
}

// forget drops what a dead node ran: its process is gone.
func (j *journal) forget(node string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, on := range j.running {
		delete(on, node)
	}
	j.notify()
}

// stopped returns the partitions node was told to stop, in order.
func (j *journal) stopped(node string) []int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.stops[node])
}

// waitFor waits until cond holds over the running partitions (called
// with the journal locked, after every change).
func (j *journal) waitFor(what string, timeout time.Duration, cond func(running map[int]map[string]cluster.Claim) bool) {
	j.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		j.mu.Lock()
		ok := cond(j.running)
		changed := j.changed
		state := j.describe()
		j.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			j.t.Fatalf("after %s still waiting for %s; running: %s", timeout, what, state)
		}
	}
}

// describe renders the running partitions; the caller holds j.mu.
func (j *journal) describe() string {
	var ps []int
	for p := range j.running {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	s := ""
	for _, p := range ps {
		s += fmt.Sprintf(" %d:%v", p, keys(j.running[p]))
	}
	return s
}

// spread is the condition that every partition runs on exactly the node
// that rendezvous hashing picks among live.
func spread(live ...string) func(map[int]map[string]cluster.Claim) bool {
	return func(running map[int]map[string]cluster.Claim) bool {
		for p := range testPartitions {
			on := running[p]
			if len(on) != 1 {
				return false
			}
			if _, ok := on[cluster.Winner(live, p)]; !ok {
				return false
			}
		}
		return true
	}
}

func keys(m map[string]cluster.Claim) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// testNode is a Node whose Run runs in the background.
type testNode struct {
	*cluster.Node
	cancel context.CancelFunc
	errc   chan error
	once   sync.Once
	err    error
}

func join(t *testing.T, st *store.Store, cfg cluster.Config, opts ...cluster.Option) *cluster.Node {
	t.Helper()
	if cfg.Partitions == 0 {
		cfg.Partitions = testPartitions
	}
	ctx, cancel := context.WithTimeout(t.Context(), settleTimeout)
	defer cancel()
	n, err := cluster.Join(ctx, st, cfg, testLogger(t), opts...)
	if err != nil {
		t.Fatalf("Join %s: %v", cfg.NodeID, err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close %s: %v", n.ID(), err)
		}
	})
	return n
}

// start joins a node and runs it with the journal's owner.
func start(t *testing.T, st *store.Store, j *journal, cfg cluster.Config, opts ...cluster.Option) *testNode {
	t.Helper()
	n := join(t, st, cfg, opts...)
	ctx, cancel := context.WithCancel(t.Context())
	tn := &testNode{Node: n, cancel: cancel, errc: make(chan error, 1)}
	go func() { tn.errc <- n.Run(ctx, j.owner(n.ID())) }()
	t.Cleanup(func() { tn.stop() })
	return tn
}

// stop ends Run as a graceful shutdown does and returns Run's error.
func (tn *testNode) stop() error {
	tn.once.Do(func() {
		tn.cancel()
		tn.err = <-tn.errc
	})
	return tn.err
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "cluster", Level: hclog.Info, Output: t.Output()})
}

// partitionsOf returns the partitions of claims.
func partitionsOf(claims []cluster.Claim) []int {
	var ps []int
	for _, c := range claims {
		ps = append(ps, c.Partition)
	}
	return ps
}

// wins returns the partitions node wins among live.
func wins(node string, live ...string) []int {
	var ps []int
	for p := range testPartitions {
		if cluster.Winner(live, p) == node {
			ps = append(ps, p)
		}
	}
	return ps
}

func fenced(t *testing.T, st *store.Store, c cluster.Claim) bool {
	t.Helper()
	resp, err := st.Client().Txn(t.Context()).If(c.Fence()).Then(clientv3.OpPut(st.Key("probe"), "commit")).Commit()
	if err != nil {
		t.Fatalf("fenced txn for %v: %v", c, err)
	}
	return resp.Succeeded
}

func TestSingleNodeClaimsAll(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	j := newJournal(t)
	a := start(t, st, j, cluster.Config{NodeID: "a"}, noResync)
	j.waitFor("a to run every partition", settleTimeout, spread("a"))

	claims := a.Claims()
	if got, want := partitionsOf(claims), wins("a", "a"); !slices.Equal(got, want) {
		t.Fatalf("Claims = %v, want %v", got, want)
	}
	for _, c := range claims {
		resp, err := st.Client().Get(t.Context(), c.Key)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != 1 {
			t.Fatalf("%s missing", c.Key)
		}
		kv := resp.Kvs[0]
		if kv.ModRevision != c.Revision || string(kv.Value) != "a" || clientv3.LeaseID(kv.Lease) != a.LeaseID() {
			t.Errorf("%s = %q rev %d lease %x; claim rev %d, lease %x", c.Key, kv.Value, kv.ModRevision, kv.Lease, c.Revision, a.LeaseID())
		}
		if want := st.Key("owners", fmt.Sprintf("%03d", c.Partition)); c.Key != want {
			t.Errorf("claim key %q, want %q", c.Key, want)
		}
		if !fenced(t, st, c) {
			t.Errorf("fence of the current owner %v failed", c)
		}
	}

	// Graceful shutdown deletes everything the node put.
	if err := a.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	resp, err := st.Client().Get(t.Context(), st.Key("owners")+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("%d owner keys left after shutdown", resp.Count)
	}
	if got := len(j.stopped("a")); got != testPartitions {
		t.Errorf("a stopped %d partitions on shutdown, want %d", got, testPartitions)
	}
	if len(a.Claims()) != 0 {
		t.Errorf("Claims after shutdown = %v", a.Claims())
	}
}

// TestHandoff grows the cluster to three nodes and shrinks it by a
// graceful shutdown. The journal checks throughout that each old owner
// stopped a partition before its new owner started it.
func TestHandoff(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	j := newJournal(t)
	// The default 10s lease: the moves below must not wait for expiry.
	a := start(t, st, j, cluster.Config{NodeID: "a"}, noResync)
	j.waitFor("a alone", settleTimeout, spread("a"))

	b := start(t, st, j, cluster.Config{NodeID: "b"}, noResync)
	j.waitFor("a and b", settleTimeout, spread("a", "b"))
	// Only what b wins moved, and a stopped each of those.
	moved := wins("b", "a", "b")
	if len(moved) == 0 || len(moved) == testPartitions {
		t.Fatalf("b wins %v of %d partitions; the test needs a split", moved, testPartitions)
	}
	if got := slices.Sorted(slices.Values(j.stopped("a"))); !slices.Equal(got, moved) {
		t.Errorf("a stopped %v, want exactly b's share %v", got, moved)
	}
	if got := partitionsOf(b.Claims()); !slices.Equal(got, moved) {
		t.Errorf("b.Claims = %v, want %v", got, moved)
	}

	c := start(t, st, j, cluster.Config{NodeID: "c"}, noResync)
	j.waitFor("a, b and c", settleTimeout, spread("a", "b", "c"))
	for _, n := range []*testNode{a, b, c} {
		if got, want := partitionsOf(n.Claims()), wins(n.ID(), "a", "b", "c"); !slices.Equal(got, want) {
			t.Errorf("%s.Claims = %v, want %v", n.ID(), got, want)
		}
	}

	// c leaves: when Run returns its keys are gone, and the others take
	// its partitions long before its 10s lease could have expired.
	cShare := wins("c", "a", "b", "c")
	left := time.Now()
	if err := c.stop(); err != nil {
		t.Fatalf("c.Run: %v", err)
	}
	s, err := cluster.ReadStatus(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Nodes {
		if m.ID == "c" {
			t.Errorf("c still a member after Run returned")
		}
	}
	if got := s.PartitionsOf("c"); len(got) != 0 {
		t.Errorf("c still owns %v after Run returned", got)
	}
	if got := slices.Sorted(slices.Values(j.stopped("c"))); !slices.Equal(got, cShare) {
		t.Errorf("c stopped %v on shutdown, want %v", got, cShare)
	}
	j.waitFor("a and b after c left", settleTimeout, spread("a", "b"))
	if d := time.Since(left); d > 5*time.Second {
		t.Errorf("c's partitions took %s to move; a graceful shutdown must hand them over at once", d)
	}
}

// TestDeadNode kills a node: it neither stops nor releases anything, and
// its partitions move when its lease expires.
func TestDeadNode(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	j := newJournal(t)
	cfg := func(id string) cluster.Config { return cluster.Config{NodeID: id, LeaseTTL: 2 * time.Second} }
	start(t, st, j, cfg("a"), noResync)
	start(t, st, j, cfg("b"), noResync)
	c := start(t, st, j, cfg("c"), noResync)
	j.waitFor("a, b and c", settleTimeout, spread("a", "b", "c"))
	stoppedBefore := len(j.stopped("c"))

	c.Kill()
	died := time.Now()
	j.forget("c")
	j.waitFor("a and b after c died", settleTimeout, spread("a", "b"))
	// The keys went with the lease, not earlier: c's last renewal was at
	// most a third of the TTL before it died.
	if d := time.Since(died); d < time.Second {
		t.Errorf("c's partitions moved %s after it died, before its lease could expire", d)
	}
	if got := len(j.stopped("c")); got != stoppedBefore {
		t.Errorf("dead c was told to stop %d partitions", got-stoppedBefore)
	}
	s, err := cluster.ReadStatus(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if ids := memberIDs(s); !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("members after c died = %v", ids)
	}
}

// TestFencing is a node paused (SIGSTOP) past its lease: another node
// takes its partitions, and the paused node's commits, fenced by its old
// claims, fail.
func TestFencing(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	j := newJournal(t)
	j.zombies = true // a is paused, not dead: it still "runs" its partitions
	cfg := func(id string) cluster.Config { return cluster.Config{NodeID: id, LeaseTTL: 2 * time.Second} }
	a := start(t, st, j, cfg("a"), noResync)
	j.waitFor("a alone", settleTimeout, spread("a"))
	old := a.Claims()
	if !fenced(t, st, old[0]) {
		t.Fatalf("a's fence failed while a owns %v", old[0])
	}

	// Pause a, let b join, and expire a's lease at once (as time would).
	lease := a.LeaseID()
	a.Kill()
	b := start(t, st, j, cfg("b"), noResync)
	if _, err := st.Client().Revoke(t.Context(), lease); err != nil {
		t.Fatalf("revoking a's lease: %v", err)
	}
	j.waitFor("b to run every partition", settleTimeout, func(running map[int]map[string]cluster.Claim) bool {
		for p := range testPartitions {
			if _, ok := running[p]["b"]; !ok {
				return false
			}
		}
		return true
	})

	for _, c := range old {
		if fenced(t, st, c) {
			t.Errorf("a committed for partition %d with its old claim after b took it", c.Partition)
		}
	}
	for _, c := range b.Claims() {
		if !fenced(t, st, c) {
			t.Errorf("b's fence failed for %v", c)
		}
	}
}

// TestLeaseLost revokes a running node's lease behind its back: it stops
// every partition at once, joins again under a new lease and takes its
// share back with new claims, while its old claims stay fenced off.
func TestLeaseLost(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	j := newJournal(t)
	// b may take a partition before a notices it lost the lease; fencing
	// covers that window.
	j.zombies = true
	a := start(t, st, j, cluster.Config{NodeID: "a"}, noResync)
	start(t, st, j, cluster.Config{NodeID: "b"}, noResync)
	j.waitFor("a and b", settleTimeout, spread("a", "b"))
	old := a.Claims()
	oldRev := map[int]int64{}
	for _, c := range old {
		oldRev[c.Partition] = c.Revision
	}
	lease := a.LeaseID()
	stoppedBefore := len(j.stopped("a"))

	if _, err := st.Client().Revoke(t.Context(), lease); err != nil {
		t.Fatalf("revoking a's lease: %v", err)
	}
	j.waitFor("a to rejoin with new claims", settleTimeout, func(running map[int]map[string]cluster.Claim) bool {
		if !spread("a", "b")(running) {
			return false
		}
		for _, on := range running {
			if c, ok := on["a"]; ok && c.Revision == oldRev[c.Partition] {
				return false
			}
		}
		return true
	})
	if got := slices.Sorted(slices.Values(j.stopped("a")[stoppedBefore:])); !slices.Equal(got, partitionsOf(old)) {
		t.Errorf("a stopped %v after losing its lease, want %v", got, partitionsOf(old))
	}
	if a.LeaseID() == lease {
		t.Errorf("a still uses its revoked lease %x", lease)
	}
	for _, c := range old {
		if fenced(t, st, c) {
			t.Errorf("a's claim from before the lease loss still commits: %v", c)
		}
	}
}

func TestPartitionCountRecordedOnce(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	a := join(t, st, cluster.Config{NodeID: "a", Partitions: 16})
	b := join(t, st, cluster.Config{NodeID: "b", Partitions: 32})
	if a.Partitions() != 16 || b.Partitions() != 16 {
		t.Errorf("Partitions = %d, %d; want the recorded 16 for both", a.Partitions(), b.Partitions())
	}
	resp, err := st.Client().Get(t.Context(), st.Key("meta", "partitions"))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "16" {
		t.Errorf("meta/partitions = %v, want 16", resp.Kvs)
	}

	// A fresh cluster (another prefix on the same etcd) records the default.
	other, err := store.Open(t.Context(), store.Config{Endpoints: st.Client().Endpoints(), Prefix: "/other/"}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	c, err := cluster.Join(t.Context(), other, cluster.Config{NodeID: "c", LeaseTTL: 2 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Partitions() != cluster.DefaultPartitions {
		t.Errorf("fresh cluster: Partitions = %d, want %d", c.Partitions(), cluster.DefaultPartitions)
	}
}

func TestJoinRejectsBadConfig(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	tests := []struct {
		name string
		cfg  cluster.Config
	}{
		{"slash in node id", cluster.Config{NodeID: "a/b"}},
		{"negative partitions", cluster.Config{Partitions: -1}},
		{"too many partitions", cluster.Config{Partitions: cluster.MaxPartitions + 1}},
		{"sub-second lease", cluster.Config{LeaseTTL: 500 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := cluster.Join(t.Context(), st, tt.cfg, nil)
			if err == nil {
				n.Close()
				t.Fatalf("Join(%+v) succeeded", tt.cfg)
			}
		})
	}
	// Nothing was recorded by the refused joins.
	resp, err := st.Client().Get(t.Context(), st.Key(), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("refused joins left %d keys", resp.Count)
	}
}

func TestDefaultNodeIDsDiffer(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	a := join(t, st, cluster.Config{})
	b := join(t, st, cluster.Config{})
	if a.ID() == "" || a.ID() == b.ID() {
		t.Errorf("default node ids %q and %q", a.ID(), b.ID())
	}
}

// TestSameNodeID is a process restarted with a fixed node id while its
// previous incarnation's lease is still alive: Join waits for that lease
// to expire rather than share the id.
func TestSameNodeID(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	a := join(t, st, cluster.Config{NodeID: "a", LeaseTTL: 2 * time.Second})

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if n, err := cluster.Join(ctx, st, cluster.Config{NodeID: "a"}, nil); err == nil {
		n.Close()
		t.Fatal("second Join with a live node's id succeeded")
	}

	a.Kill() // the old process dies; its lease expires within 2s
	b := join(t, st, cluster.Config{NodeID: "a", LeaseTTL: 2 * time.Second})
	s, err := cluster.ReadStatus(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if ids := memberIDs(s); !slices.Equal(ids, []string{"a"}) {
		t.Errorf("members = %v", ids)
	}
	resp, err := st.Client().Get(t.Context(), st.Key("members", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || clientv3.LeaseID(resp.Kvs[0].Lease) != b.LeaseID() {
		t.Errorf("members/a is not under the new process's lease")
	}
}

func TestReadStatus(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)

	empty, err := cluster.ReadStatus(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if empty.Partitions != 0 || len(empty.Nodes) != 0 || len(empty.Owners) != 0 {
		t.Errorf("status of no cluster = %+v", empty)
	}

	j := newJournal(t)
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	clock := cluster.WithClock(func() time.Time { return at })
	start(t, st, j, cluster.Config{NodeID: "a", Address: "10.0.0.1:8080"}, clock, noResync)
	start(t, st, j, cluster.Config{NodeID: "b", Address: "10.0.0.2:8080"}, clock, noResync)
	j.waitFor("a and b", settleTimeout, spread("a", "b"))

	s, err := cluster.ReadStatus(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	want := []cluster.Member{
		{ID: "a", Address: "10.0.0.1:8080", StartedAt: at},
		{ID: "b", Address: "10.0.0.2:8080", StartedAt: at},
	}
	if !slices.EqualFunc(s.Nodes, want, func(x, y cluster.Member) bool {
		return x.ID == y.ID && x.Address == y.Address && x.StartedAt.Equal(y.StartedAt)
	}) {
		t.Errorf("Nodes = %+v, want %+v", s.Nodes, want)
	}
	if s.Partitions != testPartitions || len(s.Owners) != testPartitions {
		t.Fatalf("Partitions = %d with %d owners, want %d", s.Partitions, len(s.Owners), testPartitions)
	}
	for p := range testPartitions {
		if got, want := s.Owners[p], cluster.Winner([]string{"a", "b"}, p); got != want {
			t.Errorf("Owners[%d] = %q, want %q", p, got, want)
		}
	}
	if got, want := s.PartitionsOf("a"), wins("a", "a", "b"); !slices.Equal(got, want) {
		t.Errorf("PartitionsOf(a) = %v, want %v", got, want)
	}
}

func TestRunLifecycle(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	j := newJournal(t)

	a := start(t, st, j, cluster.Config{NodeID: "a"}, noResync)
	j.waitFor("a alone", settleTimeout, spread("a"))
	if err := a.Run(t.Context(), j.owner("a")); !errors.Is(err, cluster.ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	// Close while Run runs hands the partitions over and leaves.
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := a.stop(); err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := a.Run(t.Context(), j.owner("a")); !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	s, err := cluster.ReadStatus(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 0 || len(s.PartitionsOf("a")) != 0 {
		t.Errorf("status after Close = %+v", s)
	}

	// Close without Run revokes the lease.
	b := join(t, st, cluster.Config{NodeID: "b"})
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s, err = cluster.ReadStatus(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 0 {
		t.Errorf("members after Close = %+v", s.Nodes)
	}
}

func memberIDs(s cluster.Status) []string {
	var ids []string
	for _, m := range s.Nodes {
		ids = append(ids, m.ID)
	}
	return ids
}
