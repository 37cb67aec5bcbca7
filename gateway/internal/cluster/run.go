package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	// acquireChunk is how many partitions one acquiring transaction takes,
	// each in its own nested transaction; etcd allows 128 operations.
	acquireChunk = 64
	// minBackoff and maxBackoff bound the wait before retrying after etcd
	// failed.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// errLeaseLost means the node's lease, or its member key, is gone.
var errLeaseLost = errors.New("the node's lease was lost")

// errKilled is what Run returns after kill.
var errKilled = errors.New("cluster node killed")

// Run takes and releases partitions until ctx ends, calling owner.Start
// for each partition the node takes and owner.Stop for each it gives up.
//
// The node wants the partitions whose rendezvous winner among the live
// members is itself. It takes a wanted partition only when its
// owners/<p> key does not exist, and gives up a partition it no longer
// wants (a node joined) by stopping it and then deleting the key, so a
// partition is never run by two nodes at once. Watches on members/ and
// owners/ say when to look again; every look is a full read, and there is
// one every resync interval even when the watches are silent.
//
// If the lease is lost (it expired, was revoked, or could not be renewed
// within its TTL) every partition is stopped at once, without waiting for
// anything else, and the node joins again under a new lease.
//
// When ctx ends, Run stops every partition, deletes their keys, the
// member key and the lease, so other nodes take the partitions at once,
// and returns nil, or the error that kept it from cleaning up (the lease
// then expires by itself). Run may be called once.
func (n *Node) Run(ctx context.Context, owner Owner) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	if n.runDone != nil {
		done := n.runDone
		n.mu.Unlock()
		select {
		case <-done:
			return ErrClosed
		default:
			return ErrRunning
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	n.runCancel, n.runDone = cancel, done
	n.mu.Unlock()
	defer close(done)
	defer cancel()

	// The watches start at a revision no later than the first look's
	// read, so that no change between the two goes unseen.
	hints := make(chan struct{}, 1)
	rev := n.revision(ctx)
	wctx, wcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { n.watch(wctx, n.membersPrefix, rev, hints) })
	wg.Go(func() { n.watch(wctx, n.ownersPrefix, rev, hints) })
	defer wg.Wait()
	defer wcancel()

	resync := time.NewTicker(n.resync)
	defer resync.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-n.killc:
			return errKilled
		default:
		}
		if ctx.Err() != nil {
			return n.shutdown(ctx, owner)
		}

		sess := n.session()
		var err error
		if sess == nil {
			err = n.join(ctx)
		} else {
			err = n.reconcile(ctx, owner, sess)
			if errors.Is(err, errLeaseLost) {
				n.leaseLost(ctx, owner, sess, err)
				continue
			}
		}
		if err == nil {
			backoff = 0
			if sess == nil {
				continue // joined again: look at once
			}
		} else if ctx.Err() == nil {
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			n.log.Warn("cluster membership: will retry", "in", backoff, "error", err)
		}
		n.wait(ctx, sess, hints, resync.C, backoff, err != nil)
		if sess != nil {
			select {
			case <-sess.done:
				n.leaseLost(ctx, owner, sess, errLeaseLost)
			default:
			}
		}
	}
}

// wait blocks Run until there is reason to look again: ctx ended, kill,
// the lease was lost, a watch hint or the resync tick, or, after an error,
// the backoff. Without a session it waits only for the backoff.
func (n *Node) wait(ctx context.Context, sess *session, hints <-chan struct{}, tick <-chan time.Time, backoff time.Duration, failed bool) {
	var retry <-chan time.Time
	if failed {
		t := time.NewTimer(backoff)
		defer t.Stop()
		retry = t.C
	}
	if sess == nil {
		select {
		case <-ctx.Done():
		case <-n.killc:
		case <-retry:
		}
		return
	}
	select {
	case <-ctx.Done():
	case <-n.killc:
	case <-sess.done:
	case <-hints:
	case <-tick:
	case <-retry:
	}
}

// reconcile reads members and owners and moves towards the wanted state:
// it stops partitions that were lost, releases those no longer wanted and
// takes free ones that are wanted.
func (n *Node) reconcile(ctx context.Context, owner Owner, sess *session) error {
	rctx, cancel := context.WithTimeout(ctx, n.opTimeout)
	resp, err := n.cli.Txn(rctx).Then(
		clientv3.OpGet(n.membersPrefix, clientv3.WithPrefix()),
		clientv3.OpGet(n.ownersPrefix, clientv3.WithPrefix()),
	).Commit()
	cancel()
	if err != nil {
		return fmt.Errorf("reading members and owners: %w", err)
	}

	var members []string
	registered := false
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		id := strings.TrimPrefix(string(kv.Key), n.membersPrefix)
		if id == "" || strings.Contains(id, "/") {
			continue
		}
		if id == n.id {
			registered = clientv3.LeaseID(kv.Lease) == sess.id
		}
		members = append(members, id)
	}
	if !registered {
		return fmt.Errorf("%w: %s is gone or under another lease", errLeaseLost, n.memberKey)
	}
	owners := map[int]*mvccpb.KeyValue{}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		p, ok := n.partitionOf(string(kv.Key))
		if ok {
			owners[p] = kv
		}
	}

	// Partitions whose key is gone or was replaced are lost: another node
	// may run them already, so stop at once. Those no longer wanted are
	// released.
	var lost, release []Claim
	n.mu.Lock()
	for p, c := range n.claims {
		kv, ok := owners[p]
		switch {
		case !ok || kv.ModRevision != c.Revision:
			lost = append(lost, c)
			delete(n.claims, p)
		case winner(members, p) != n.id:
			release = append(release, c)
			delete(n.claims, p)
		}
	}
	n.mu.Unlock()
	if len(lost) > 0 {
		n.log.Warn("lost partitions: their ownership keys were deleted or replaced", "partitions", partitionsOf(lost))
		n.stopAll(ctx, owner, lost, false)
	}
	var errs []error
	if len(release) > 0 {
		n.log.Info("handing partitions over", "partitions", partitionsOf(release), "members", len(members))
		errs = append(errs, n.stopAll(ctx, owner, release, true))
	}
	skip := map[int]bool{}
	for _, c := range slices.Concat(lost, release) {
		skip[c.Partition] = true
	}

	var take []int
	var adopt, stray []Claim
	n.mu.Lock()
	for p := range n.partitions {
		if _, ok := n.claims[p]; ok || skip[p] {
			continue
		}
		wanted := winner(members, p) == n.id
		kv, held := owners[p]
		switch {
		case !held:
			if wanted {
				take = append(take, p)
			}
		case clientv3.LeaseID(kv.Lease) == sess.id:
			// Ours under the current lease but not claimed: a take or a
			// release whose answer was lost (an etcd call that times out
			// has an unknown outcome). No one else can run it, so adopt
			// it, or delete it if it is not wanted.
			c := Claim{Partition: p, Key: string(kv.Key), Revision: kv.ModRevision}
			if wanted {
				adopt = append(adopt, c)
			} else {
				stray = append(stray, c)
			}
		}
	}
	n.mu.Unlock()

	for _, c := range stray {
		if err := n.release(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	taken, err := n.take(ctx, sess, take)
	if err != nil {
		errs = append(errs, err)
	}
	started := slices.Concat(adopt, taken)
	if len(started) == 0 {
		return errors.Join(errs...)
	}
	slices.SortFunc(started, func(a, b Claim) int { return a.Partition - b.Partition })
	n.mu.Lock()
	for _, c := range started {
		n.claims[c.Partition] = c
	}
	n.mu.Unlock()
	n.log.Info("took partitions", "partitions", partitionsOf(started), "members", len(members))
	for _, c := range started {
		owner.Start(c)
	}
	return errors.Join(errs...)
}

// take creates the ownership keys of free partitions under the node's
// lease, each only if it does not exist, and returns the claims it got.
func (n *Node) take(ctx context.Context, sess *session, partitions []int) ([]Claim, error) {
	var claims []Claim
	for chunk := range slices.Chunk(partitions, acquireChunk) {
		ops := make([]clientv3.Op, len(chunk))
		for i, p := range chunk {
			key := n.ownerKey(p)
			ops[i] = clientv3.OpTxn(
				[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)},
				[]clientv3.Op{clientv3.OpPut(key, n.id, clientv3.WithLease(sess.id))},
				nil)
		}
		tctx, cancel := context.WithTimeout(ctx, n.opTimeout)
		resp, err := n.cli.Txn(tctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			// Unknown outcome: what was taken is adopted on the next look.
			return claims, fmt.Errorf("taking partitions %v: %w", chunk, err)
		}
		for i, r := range resp.Responses {
			if r.GetResponseTxn().GetSucceeded() {
				// Every put of one transaction gets its revision.
				claims = append(claims, Claim{Partition: chunk[i], Key: n.ownerKey(chunk[i]), Revision: resp.Header.Revision})
			}
		}
	}
	return claims, nil
}

// release deletes c's key if it is still the one this node created.
func (n *Node) release(ctx context.Context, c Claim) error {
	ctx, cancel := context.WithTimeout(ctx, n.opTimeout)
	defer cancel()
	if _, err := n.cli.Txn(ctx).If(c.Fence()).Then(clientv3.OpDelete(c.Key)).Commit(); err != nil {
		return fmt.Errorf("releasing partition %d: %w", c.Partition, err)
	}
	return nil
}

// stopAll stops the claims' partitions concurrently and, with release,
// deletes each key as soon as its partition has stopped.
func (n *Node) stopAll(ctx context.Context, owner Owner, claims []Claim, release bool) error {
	var wg sync.WaitGroup
	errs := make([]error, len(claims))
	for i, c := range claims {
		wg.Go(func() {
			owner.Stop(c.Partition)
			if release {
				errs[i] = n.release(ctx, c)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// leaseLost stops every partition at once and drops the session; Run then
// joins again under a new lease.
func (n *Node) leaseLost(ctx context.Context, owner Owner, sess *session, cause error) {
	n.mu.Lock()
	claims := make([]Claim, 0, len(n.claims))
	for _, c := range n.claims {
		claims = append(claims, c)
	}
	clear(n.claims)
	n.sess = nil
	n.mu.Unlock()
	n.log.Error("lost the node's lease: stopping every partition and joining again", "partitions", partitionsOf(claims), "error", cause)
	n.stopAll(ctx, owner, claims, false)
	sess.orphan()
	// The lease may still exist if only the renewals failed; revoking it
	// frees the member key for the new lease.
	n.revokeQuietly(ctx, sess.id)
}

// shutdown hands every partition over and leaves the cluster. ctx has
// ended; the cleanup gets its own timeouts.
func (n *Node) shutdown(ctx context.Context, owner Owner) error {
	ctx = context.WithoutCancel(ctx)
	n.mu.Lock()
	claims := make([]Claim, 0, len(n.claims))
	for _, c := range n.claims {
		claims = append(claims, c)
	}
	clear(n.claims)
	sess := n.sess
	n.sess = nil
	n.mu.Unlock()
	if len(claims) > 0 {
		n.log.Info("leaving the cluster: handing partitions over", "partitions", partitionsOf(claims))
	}
	var errs []error
	if sess != nil {
		// Leave the member set first: the other nodes then know who wins
		// each partition and take it the moment its key is deleted below.
		dctx, cancel := context.WithTimeout(ctx, n.opTimeout)
		_, err := n.cli.Txn(dctx).
			If(clientv3.Compare(clientv3.LeaseValue(n.memberKey), "=", sess.id)).
			Then(clientv3.OpDelete(n.memberKey)).
			Commit()
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("deleting member %q: %w", n.id, err))
		}
	}
	errs = append(errs, n.stopAll(ctx, owner, claims, true))
	if sess != nil {
		rctx, cancel := context.WithTimeout(ctx, n.opTimeout)
		errs = append(errs, n.revoke(rctx, sess))
		cancel()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("leaving the cluster (the node's keys expire with its lease): %w", err)
	}
	n.log.Info("left the cluster")
	return nil
}

// revision returns etcd's current revision, 0 if etcd does not answer.
func (n *Node) revision(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(ctx, n.opTimeout)
	defer cancel()
	resp, err := n.cli.Get(ctx, n.memberKey, clientv3.WithCountOnly())
	if err != nil {
		return 0
	}
	return resp.Header.Revision
}

// watch sends a hint whenever something under prefix changes after
// revision rev, or the watch breaks. It resumes after the last revision it
// saw; after a compaction it resumes at the compaction revision, having
// sent a hint (Run re-reads everything) for what it missed. With rev 0 it
// starts at whatever revision the watch is created at.
func (n *Node) watch(ctx context.Context, prefix string, rev int64, hints chan<- struct{}) {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev+1))
		}
		for resp := range n.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, opts...) {
			if err := resp.Err(); err != nil {
				if resp.CompactRevision > 0 {
					rev = resp.CompactRevision - 1
				}
				n.log.Debug("watch broke; re-reading", "prefix", prefix, "error", err)
				break
			}
			// Resume after the last event seen: a response's header
			// revision may run ahead of events still to come.
			for _, ev := range resp.Events {
				rev = max(rev, ev.Kv.ModRevision)
			}
			if len(resp.Events) > 0 {
				backoff = 0
				hint(hints)
			}
		}
		hint(hints)
		backoff = min(max(2*backoff, minBackoff), maxBackoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// hint sends on a one-slot channel without blocking; hints coalesce.
func hint(hints chan<- struct{}) {
	select {
	case hints <- struct{}{}:
	default:
	}
}

// ownerKey is partition p's ownership key.
func (n *Node) ownerKey(p int) string {
	return n.ownersPrefix + formatPartition(p)
}

// partitionOf parses an ownership key.
func (n *Node) partitionOf(key string) (int, bool) {
	return parsePartition(strings.TrimPrefix(key, n.ownersPrefix), n.partitions)
}

// formatPartition writes a partition number as the event log does.
func formatPartition(p int) string { return fmt.Sprintf("%03d", p) }

// parsePartition parses a partition number below count.
func parsePartition(s string, count int) (int, bool) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p >= count {
		return 0, false
	}
	return p, true
}

// partitionsOf lists the claims' partitions, sorted, for logs.
func partitionsOf(claims []Claim) []int {
	ps := make([]int, len(claims))
	for i, c := range claims {
		ps[i] = c.Partition
	}
	slices.Sort(ps)
	return ps
}
