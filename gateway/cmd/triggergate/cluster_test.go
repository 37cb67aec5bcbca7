package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// sequenceRules route every event to the sequence test plugin, whose state
// per customer lists the delivery ids it processed, in order.
func sequenceRules(pluginDir, delay string) string {
	return fmt.Sprintf(`
plugin "sequence" {
  path = %q
}
source "app" {
  kind = "json"
}
channel "log" {
  plugin = "log"
}
trigger "seq" {
  plugin = "sequence"
  config {
    delay = %q
  }
  action {
    channel = "log"
  }
}
`, filepath.Join(pluginDir, "sequence"), delay)
}

// gatewayConfig writes a config for one gateway process. With etcdURL set
// the node joins that etcd, its file holds only its own settings, and the
// rules are applied to etcd (the same version for every node); otherwise
// it runs embedded etcd in dataDir, with the rules in its file.
func gatewayConfig(t *testing.T, dir string, listen int, etcdURL string, gatewayExtra ...string) string {
	t.Helper()
	pluginDir := pluginhosttest.Build(t, "plugins/event", "plugins/log", "gateway/cmd/triggergate/testdata/plugins/sequence")
	storeBlock := fmt.Sprintf("store {\n  client_url = \"http://127.0.0.1:%d\"\n  peer_url   = \"http://127.0.0.1:%d\"\n}\n",
		storetest.FreePort(t), storetest.FreePort(t))
	if etcdURL != "" {
		storeBlock = fmt.Sprintf("store {\n  endpoints = [%q]\n}\n", etcdURL)
	}
	delay := "0s"
	var extra strings.Builder
	for _, kv := range gatewayExtra {
		if d, ok := strings.CutPrefix(kv, "delay="); ok {
			delay = d
			continue
		}
		extra.WriteString("  " + kv + "\n")
	}
	// A fixed admin port: `triggergate status` finds the node's admin API
	// through admin_listen.
	rules := sequenceRules(pluginDir, delay)
	if etcdURL != "" {
		applyRules(t, etcdURL, rules)
		rules = ""
	}
	src := fmt.Sprintf("gateway {\n  listen     = \"127.0.0.1:%d\"\n  admin_listen = \"127.0.0.1:%d\"\n  data_dir   = %q\n  plugin_dir = %q\n%s}\n%s%s",
		listen, storetest.FreePort(t), filepath.Join(dir, "data"), pluginDir, extra.String(), storeBlock, rules)
	path := filepath.Join(dir, "gateway.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// applyRules stores rules as the cluster's configuration, as `triggergate
// apply` would.
func applyRules(t *testing.T, etcdURL, rules string) {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{Endpoints: []string{etcdURL}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := configstore.New(st).Apply(t.Context(), configstore.ApplyRequest{Files: map[string]string{"rules.hcl": rules}, Author: "test"}); err != nil {
		t.Fatal(err)
	}
}

// sender posts each customer's events in order, one at a time, retrying a
// delivery (same body, so the same delivery id) until it is acknowledged:
// 202, or 200 for a duplicate of one that had committed.
type sender struct {
	urls      func() []string // the nodes to try, in order
	accepted  atomic.Int64
	throttled atomic.Int64 // 429 answers (each must carry Retry-After)
	// done, when set, ends a customer's load early: it is asked after each
	// acknowledged event with the customer's count so far.
	done func(n int) bool
	mu   sync.Mutex
	sent map[string][]string // customer → acknowledged delivery ids, in order
}

func (s *sender) run(t *testing.T, customer string, n int) {
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range n {
		id := fmt.Sprintf("%s-%03d", customer, i)
		body := fmt.Sprintf(`{"id":%q,"type":"page.viewed","customer":{"id":%q},"properties":{"n":%d}}`, id, customer, i)
		for attempt := 0; ; attempt++ {
			urls := s.urls()
			u := urls[attempt%len(urls)] + "/v1/webhooks/app"
			resp, err := client.Post(u, "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK {
					break
				}
				if resp.StatusCode == http.StatusTooManyRequests {
					s.throttled.Add(1)
					if resp.Header.Get("Retry-After") == "" {
						t.Errorf("429 without Retry-After for %s", id)
					}
				}
			}
			if attempt > 2000 {
				t.Errorf("delivery %s never acknowledged: %v", id, err)
				return
			}
			time.Sleep(20 * time.Millisecond) // the node is down or busy: retry, as vendors do
		}
		s.mu.Lock()
		s.sent[customer] = append(s.sent[customer], id)
		s.mu.Unlock()
		s.accepted.Add(1)
		if s.done != nil && s.done(i+1) {
			return
		}
	}
}

// waitProcessed reads every customer's sequence state from etcd until it
// holds as many ids as were acknowledged, then checks it is exactly the
// acknowledged ids, in order: each processed once, in commit order.
func waitProcessed(t *testing.T, st *store.Store, sent map[string][]string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for customer, want := range sent {
		key := st.Key("customers", url.PathEscape("id:"+customer))
		for {
			var got []string
			resp, err := st.Client().Get(t.Context(), key)
			if err == nil && len(resp.Kvs) == 1 {
				var rec struct {
					Rules map[string][]byte `json:"rules"`
				}
				if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(rec.Rules["seq"], &got); err != nil && len(rec.Rules["seq"]) > 0 {
					t.Fatal(err)
				}
			}
			if len(got) >= len(want) {
				if !slices.Equal(got, want) {
					t.Fatalf("customer %s: processed %v,\nwant exactly once and in order %v", customer, got, want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("customer %s: %d of %d events processed after 90s", customer, len(got), len(want))
			}
			time.Sleep(50 * time.Millisecond) // polling etcd while other processes work
		}
	}
	// Nothing left pending, nothing dead-lettered.
	for _, prefix := range []string{"log", "deadletter"} {
		resp, err := st.Client().Get(t.Context(), st.Key(prefix)+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count != 0 {
			t.Fatalf("%d keys left under %s/", resp.Count, prefix)
		}
	}
}

// TestThreeNodesOneKilled runs three gateway processes on one etcd,
// SIGKILLs one under load, and checks that its partitions moved and every
// acknowledged event was processed exactly once, in per-customer order.
func TestThreeNodesOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gateway processes")
	}
	st := storetest.Start(t)
	etcdURL := st.Client().Endpoints()[0]
	bin := buildBinary(t)
	var cmds [3]*exec.Cmd
	var urls [3]string
	for i := range cmds {
		port := storetest.FreePort(t)
		path := gatewayConfig(t, t.TempDir(), port, etcdURL)
		cmds[i], _, _ = startServe(t, bin, path)
		urls[i] = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	var killed atomic.Bool
	s := &sender{sent: map[string][]string{}, urls: func() []string {
		if killed.Load() {
			return urls[1:]
		}
		return urls[:]
	}}

	const customers, perCustomer = 9, 30
	var wg sync.WaitGroup
	for c := range customers {
		wg.Go(func() { s.run(t, fmt.Sprintf("c%d", c), perCustomer) })
	}
	for s.accepted.Load() < customers*perCustomer/3 {
		time.Sleep(5 * time.Millisecond) // waiting for the load to reach a third
	}
	if err := cmds[0].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmds[0].Wait()
	killed.Store(true)
	wg.Wait()

	waitProcessed(t, st, s.sent)
	out := runStatus(t, cmds[1].Args[3])
	if len(out.Nodes) != 2 || len(out.Unowned) != 0 {
		t.Fatalf("after the kill: %d nodes, unowned %v; want the 2 survivors owning everything", len(out.Nodes), out.Unowned)
	}
}

// TestCrashLoop SIGKILLs and restarts a single-node gateway (embedded etcd)
// while events flow: every acknowledged event is processed exactly once,
// in order, and the ledger balances with nothing pending.
func TestCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a gateway process several times")
	}
	bin := buildBinary(t)
	port := storetest.FreePort(t)
	path := gatewayConfig(t, t.TempDir(), port, "")
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd, _, _ := startServe(t, bin, path)
	s := &sender{sent: map[string][]string{}, urls: func() []string { return []string{u} }}

	const customers, perCustomer, kills = 6, 40, 3
	var wg sync.WaitGroup
	for c := range customers {
		wg.Go(func() { s.run(t, fmt.Sprintf("c%d", c), perCustomer) })
	}
	for k := 1; k <= kills; k++ {
		for s.accepted.Load() < int64(k*customers*perCustomer/(kills+1)) {
			time.Sleep(5 * time.Millisecond) // waiting for the load to progress
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		cmd, _, _ = startServe(t, bin, path)
	}
	wg.Wait()

	waitProcessed(t, embeddedStore(t, path), s.sent)
}

// embeddedStore connects to the embedded etcd of the gateway configured at
// path, to read its state.
func embeddedStore(t *testing.T, path string) *store.Store {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clientURL := strings.Split(strings.Split(string(src), `client_url = "`)[1], `"`)[0]
	st, err := store.Open(t.Context(), store.Config{Endpoints: []string{clientURL}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

type statusOut struct {
	Partitions int `json:"partitions"`
	Nodes      []struct {
		ID         string `json:"id"`
		Partitions []int  `json:"partitions"`
	} `json:"nodes"`
	Unowned []int `json:"unowned"`
}

func runStatus(t *testing.T, configPath string) statusOut {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"status", "-json", "-config", configPath}, &stdout, &stderr); code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr.String())
	}
	var out statusOut
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("status -json: %v\n%s", err, stdout.String())
	}
	return out
}

func TestStatus(t *testing.T) {
	path, _ := writeConfig(t, goodRules)
	startServe(t, buildBinary(t), path)
	// Ready means serving; the node claims its partitions right after.
	out := runStatus(t, path)
	for deadline := time.Now().Add(30 * time.Second); len(out.Unowned) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // polling another process's state
		out = runStatus(t, path)
	}
	if out.Partitions != 64 || len(out.Nodes) != 1 || len(out.Nodes[0].Partitions) != 64 || len(out.Unowned) != 0 {
		t.Fatalf("status of a single node: %+v", out)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"status", "-config", path}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "64 (0-63)") || !strings.Contains(stdout.String(), "64 partitions") {
		t.Fatalf("status table: %d %s %s", code, stdout.String(), stderr.String())
	}
}

// TestBackpressure runs a slow trigger plugin under a load it cannot keep
// up with: the ingest must answer 429 with Retry-After instead of queueing
// without bound, the gateway's memory must stay bounded, and every event
// acknowledged must still be processed exactly once.
func TestBackpressure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a gateway process under load")
	}
	bin := buildBinary(t)
	port := storetest.FreePort(t)
	path := gatewayConfig(t, t.TempDir(), port, "", "max_backlog = 10", "delay=150ms")
	cmd, _, _ := startServe(t, bin, path)
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := &sender{sent: map[string][]string{}, urls: func() []string { return []string{u} }}
	// Post until the gateway has pushed back (the backlog is counted every
	// 500 ms, so how soon depends on the machine), then a little more.
	s.done = func(n int) bool { return s.throttled.Load() > 0 && n >= 30 }

	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() { s.run(t, fmt.Sprintf("c%d", c), 400) })
	}
	wg.Wait()
	if s.throttled.Load() == 0 {
		t.Fatal("a slow plugin under load never made the ingest answer 429")
	}
	if rss := residentKiB(t, cmd.Process.Pid); rss > 512<<10 {
		t.Fatalf("gateway resident memory %d KiB under backpressure; want bounded (< 512 MiB)", rss)
	}

	waitProcessed(t, embeddedStore(t, path), s.sent)
	t.Logf("%d deliveries acknowledged, %d answered 429 first", s.accepted.Load(), s.throttled.Load())
}

// residentKiB reads a process's resident set size.
func residentKiB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kib)
			return kib
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// TestFencingAfterSIGSTOP pauses a node (SIGSTOP) while it owns partitions
// and has batches in hand, long enough for its lease to expire and the
// other node to take its partitions; then resumes it. Whatever the paused
// node had in hand must not be committed: every event is processed
// exactly once, in order.
func TestFencingAfterSIGSTOP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gateway processes")
	}
	st := storetest.Start(t)
	etcdURL := st.Client().Endpoints()[0]
	bin := buildBinary(t)
	portA, portB := storetest.FreePort(t), storetest.FreePort(t)
	pathA := gatewayConfig(t, t.TempDir(), portA, etcdURL, `lease_ttl = "2s"`, "delay=100ms")
	pathB := gatewayConfig(t, t.TempDir(), portB, etcdURL, `lease_ttl = "2s"`, "delay=100ms")
	a, _, _ := startServe(t, bin, pathA)
	startServe(t, bin, pathB)
	t.Cleanup(func() { _ = a.Process.Signal(syscall.SIGCONT) })
	uB := fmt.Sprintf("http://127.0.0.1:%d", portB)
	for len(runStatus(t, pathB).Nodes) != 2 || len(runStatus(t, pathB).Unowned) != 0 {
		time.Sleep(20 * time.Millisecond) // waiting for both nodes to share the partitions
	}

	s := &sender{sent: map[string][]string{}, urls: func() []string { return []string{uB} }}
	const customers, perCustomer = 8, 30
	var wg sync.WaitGroup
	for c := range customers {
		wg.Go(func() { s.run(t, fmt.Sprintf("c%d", c), perCustomer) })
	}
	for s.accepted.Load() < customers*perCustomer/4 {
		time.Sleep(5 * time.Millisecond) // waiting for the load to reach a quarter
	}
	if err := a.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for {
		out := runStatus(t, pathB)
		if len(out.Nodes) == 1 && len(out.Unowned) == 0 {
			break // A's lease expired and B took every partition
		}
		time.Sleep(50 * time.Millisecond) // waiting on a lease to expire in etcd
	}
	if err := a.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	waitProcessed(t, st, s.sent)
}
