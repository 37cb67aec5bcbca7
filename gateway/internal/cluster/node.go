package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/store"
)

// Option changes how Join builds a Node.
type Option func(*Node)

// WithClock injects the clock that stamps the node's started_at.
func WithClock(now func() time.Time) Option { return func(n *Node) { n.now = now } }

// WithResyncInterval sets how often Run re-reads members and owners even
// when its watches report nothing (watches are hints). Default half the
// lease TTL.
func WithResyncInterval(d time.Duration) Option {
	return func(n *Node) {
		if d > 0 {
			n.resync = d
		}
	}
}

// WithOpTimeout bounds each etcd call. Default DefaultOpTimeout.
func WithOpTimeout(d time.Duration) Option {
	return func(n *Node) {
		if d > 0 {
			n.opTimeout = d
		}
	}
}

// Node is this process's membership in the cluster. Join registers it;
// Run takes and releases partitions until its context ends; Close revokes
// the lease. It is safe for concurrent use.
type Node struct {
	cli        *clientv3.Client
	log        hclog.Logger
	id         string
	address    string
	ttl        time.Duration
	partitions int
	now        func() time.Time
	resync     time.Duration
	opTimeout  time.Duration
	startedAt  time.Time

	memberKey     string
	membersPrefix string // ends in "/"
	ownersPrefix  string // ends in "/"

	mu     sync.Mutex
	sess   *session      // nil between losing a lease and re-joining
	claims map[int]Claim // partitions started on the owner; written only by Run
	closed bool
	// runCancel and runDone are set while Run runs.
	runCancel context.CancelFunc
	runDone   chan struct{}

	// killc simulates the process dying (tests only, see kill).
	killc    chan struct{}
	killOnce sync.Once
}

// Join registers this node: it grants a lease and keeps it alive, puts
// members/<id> under it, and reads the cluster's partition count,
// recording cfg.Partitions if none is recorded yet. ctx bounds Join only;
// the lease lives until Close (or the end of Run). log may be nil.
//
// Other nodes start handing partitions over as soon as the member key
// exists, so call Join when the owner is ready and Run right after it.
func Join(ctx context.Context, st *store.Store, cfg Config, log hclog.Logger, opts ...Option) (*Node, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cli:           st.Client(),
		log:           log,
		id:            cfg.NodeID,
		address:       cfg.Address,
		ttl:           cfg.LeaseTTL,
		now:           time.Now,
		resync:        max(cfg.LeaseTTL/2, 500*time.Millisecond),
		opTimeout:     DefaultOpTimeout,
		memberKey:     st.Key("members", cfg.NodeID),
		membersPrefix: st.Key("members") + "/",
		ownersPrefix:  st.Key("owners") + "/",
		claims:        map[int]Claim{},
		killc:         make(chan struct{}),
	}
	for _, o := range opts {
		o(n)
	}
	n.startedAt = n.now().UTC()
	n.log = log.With("node", n.id)

	n.partitions, err = n.recordPartitions(ctx, st.Key("meta", "partitions"), cfg.Partitions)
	if err != nil {
		return nil, err
	}
	if err := n.join(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// withDefaults fills and checks cfg.
func withDefaults(cfg Config) (Config, error) {
	if cfg.NodeID == "" {
		id, err := defaultNodeID()
		if err != nil {
			return cfg, err
		}
		cfg.NodeID = id
	}
	if strings.ContainsAny(cfg.NodeID, "/\x00") || strings.TrimSpace(cfg.NodeID) != cfg.NodeID {
		return cfg, fmt.Errorf("node id %q must not contain \"/\" or surrounding spaces", cfg.NodeID)
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Partitions < 1 || cfg.Partitions > MaxPartitions {
		return cfg, fmt.Errorf("partition count %d must be between 1 and %d", cfg.Partitions, MaxPartitions)
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.LeaseTTL < time.Second {
		return cfg, fmt.Errorf("lease TTL %s must be at least 1s (etcd counts whole seconds)", cfg.LeaseTTL)
	}
	return cfg, nil
}

// defaultNodeID is the hostname plus a short random suffix.
func defaultNodeID() (string, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	host = strings.NewReplacer("/", "-", " ", "-").Replace(host)
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("choosing a node id: %w", err)
	}
	return host + "-" + hex.EncodeToString(b[:]), nil
}

// ID returns the node's id.
func (n *Node) ID() string { return n.id }

// Partitions returns the cluster's partition count, as recorded in etcd.
func (n *Node) Partitions() int { return n.partitions }

// Claims returns the partitions this node currently runs, by partition.
// A claim is listed from just before Owner.Start until just before
// Owner.Stop.
func (n *Node) Claims() []Claim {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Claim, 0, len(n.claims))
	for _, c := range n.claims {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Claim) int { return a.Partition - b.Partition })
	return out
}

// Close stops Run if it runs (handing its partitions over as when Run's
// context ends) and revokes the lease, so that the node's keys vanish at
// once. It is idempotent.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	cancel, done := n.runCancel, n.runDone
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	n.mu.Lock()
	sess := n.sess
	n.sess = nil
	n.mu.Unlock()
	if sess == nil {
		return nil
	}
	// Close has no caller context; the client's lives until the client is
	// closed, and the timeout keeps Close from hanging on a dead etcd.
	ctx, cancelOp := context.WithTimeout(n.cli.Ctx(), n.opTimeout)
	defer cancelOp()
	return n.revoke(ctx, sess)
}

// recordPartitions returns the recorded partition count, recording want
// if there is none.
func (n *Node) recordPartitions(ctx context.Context, key string, want int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, n.opTimeout)
	defer cancel()
	resp, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, strconv.Itoa(want))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return 0, fmt.Errorf("reading the cluster's partition count: %w", err)
	}
	if resp.Succeeded {
		n.log.Info("recorded the cluster's partition count", "partitions", want)
		return want, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		// Deleted between the compare and the get: cannot happen inside
		// one transaction, but do not index an empty slice.
		return 0, fmt.Errorf("reading the cluster's partition count: %s vanished", key)
	}
	got, err := strconv.Atoi(string(kvs[0].Value))
	if err != nil || got < 1 || got > MaxPartitions {
		return 0, fmt.Errorf("the cluster's partition count in %s is %q, want a number between 1 and %d: fix or delete the key while no gateway runs", key, kvs[0].Value, MaxPartitions)
	}
	if got != want {
		n.log.Warn("the cluster's partition count was recorded when it was created and does not change; using it, not the configured one",
			"partitions", got, "configured", want)
	}
	return got, nil
}

// session is one lease kept alive, in the manner of etcd's
// concurrency.Session.
type session struct {
	id     clientv3.LeaseID
	ttl    time.Duration // as granted
	cancel context.CancelFunc
	done   chan struct{} // closed when the lease is no longer kept alive
}

// orphan stops keeping the lease alive without revoking it; the lease then
// expires after its TTL. Idempotent.
func (s *session) orphan() {
	s.cancel()
	<-s.done
}

// join grants a new lease, keeps it alive and registers the member key
// under it; it sets n.sess on success.
func (n *Node) join(ctx context.Context) error {
	gctx, cancel := context.WithTimeout(ctx, n.opTimeout)
	lease, err := n.cli.Grant(gctx, int64((n.ttl+time.Second-1)/time.Second))
	cancel()
	if err != nil {
		return fmt.Errorf("granting the node's lease: %w", err)
	}
	// The keepalive outlives ctx, which bounds only the joining.
	kctx, kcancel := context.WithCancel(context.WithoutCancel(ctx))
	ch, err := n.cli.KeepAlive(kctx, lease.ID)
	if err != nil {
		kcancel()
		n.revokeQuietly(ctx, lease.ID)
		return fmt.Errorf("keeping the node's lease alive: %w", err)
	}
	sess := &session{id: lease.ID, ttl: time.Duration(lease.TTL) * time.Second, cancel: kcancel, done: make(chan struct{})}
	go func() {
		defer close(sess.done)
		for range ch {
			// Drain the responses; the channel closes when the lease
			// expires, cannot be renewed within its TTL, or kctx ends.
		}
	}()
	if err := n.register(ctx, sess); err != nil {
		sess.orphan()
		n.revokeQuietly(ctx, sess.id)
		return err
	}
	n.mu.Lock()
	n.sess = sess
	n.mu.Unlock()
	n.log.Info("joined the cluster", "lease", fmt.Sprintf("%x", int64(sess.id)), "lease_ttl", sess.ttl, "partitions", n.partitions)
	return nil
}

// memberValue is the JSON stored in members/<node>.
type memberValue struct {
	ID        string    `json:"id"`
	Address   string    `json:"address,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// register creates members/<id> under sess's lease. If the key exists
// under another lease (this id's previous process, whose lease has not
// expired yet, or a live node with the same id) it waits for the key to
// go, until ctx ends or sess's lease is lost.
func (n *Node) register(ctx context.Context, sess *session) error {
	value, err := json.Marshal(memberValue{ID: n.id, Address: n.address, StartedAt: n.startedAt})
	if err != nil {
		return fmt.Errorf("encoding member %q: %w", n.id, err)
	}
	warned := false
	for {
		tctx, cancel := context.WithTimeout(ctx, n.opTimeout)
		resp, err := n.cli.Txn(tctx).
			If(clientv3.Compare(clientv3.CreateRevision(n.memberKey), "=", 0)).
			Then(clientv3.OpPut(n.memberKey, string(value), clientv3.WithLease(sess.id))).
			Else(clientv3.OpGet(n.memberKey)).
			Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("registering member %q: %w", n.id, err)
		}
		if resp.Succeeded {
			return nil
		}
		kvs := resp.Responses[0].GetResponseRange().Kvs
		// Our own earlier attempt, whose answer was lost, counts.
		if len(kvs) > 0 && clientv3.LeaseID(kvs[0].Lease) == sess.id {
			return nil
		}
		if !warned {
			n.log.Warn("node id is registered under another lease (this node's previous run, not yet expired, or another node with the same id); waiting for it to go", "key", n.memberKey)
			warned = true
		}
		t := time.NewTimer(min(sess.ttl/4+100*time.Millisecond, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("registering member %q: another lease holds %s: %w", n.id, n.memberKey, ctx.Err())
		case <-sess.done:
			t.Stop()
			return fmt.Errorf("registering member %q: the node's lease was lost", n.id)
		case <-t.C:
		}
	}
}

// revoke orphans sess and revokes its lease, deleting every key under it.
func (n *Node) revoke(ctx context.Context, sess *session) error {
	sess.orphan()
	if err := n.revokeLease(ctx, sess.id); err != nil {
		return fmt.Errorf("revoking the node's lease: %w", err)
	}
	return nil
}

// revokeQuietly revokes a lease on a best-effort basis: if it fails the
// lease expires by itself.
func (n *Node) revokeQuietly(ctx context.Context, id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.opTimeout)
	defer cancel()
	if err := n.revokeLease(ctx, id); err != nil {
		n.log.Debug("revoking a lease failed; it will expire", "lease", fmt.Sprintf("%x", int64(id)), "error", err)
	}
}

// revokeLease revokes a lease that still exists. A lease that is already
// gone is not an error; asking first keeps etcd from logging a failed
// revoke as a warning every time a node lost its lease.
func (n *Node) revokeLease(ctx context.Context, id clientv3.LeaseID) error {
	ttl, err := n.cli.TimeToLive(ctx, id)
	if err == nil && ttl.TTL < 0 {
		return nil
	}
	if _, err := n.cli.Revoke(ctx, id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return err
	}
	return nil
}

// session returns the current session, nil after losing it.
func (n *Node) session() *session {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sess
}

// kill simulates the process dying: Run returns at once without stopping
// or releasing anything, and the lease is no longer kept alive, so it
// expires after its TTL with the node's keys. For tests (the engine's
// crash test kills a real process instead).
func (n *Node) kill() {
	n.killOnce.Do(func() { close(n.killc) })
	n.mu.Lock()
	done := n.runDone
	sess := n.sess
	n.mu.Unlock()
	if done != nil {
		<-done
	}
	if sess != nil {
		sess.orphan()
	}
}
