// Package cluster is a node's membership in the gateway cluster and its
// share of the partitions (DESIGN.md §4).
//
// Every node keeps one etcd lease alive. Under it the node registers
// members/<node> and takes owners/<partition> for the partitions that
// rendezvous hashing gives it among the live members. A partition changes
// hands only through etcd: the old owner stops and deletes its key (or its
// lease expires), and only then can the new owner create the key again. The
// key's ModRevision when a node created it is the fencing token (Claim):
// every commit for the partition compares it, so a node that lost the
// partition without noticing (paused, cut off) can never commit.
package cluster

import (
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Defaults applied by Join to zero Config fields.
const (
	// DefaultPartitions is the partition count of a new cluster.
	DefaultPartitions = 64
	// MaxPartitions is the largest partition count; partition numbers are
	// written with at least three digits (owners/007) like the event log's.
	MaxPartitions = 1000
	// DefaultLeaseTTL is how long a node may be silent before its
	// partitions move to other nodes.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultOpTimeout bounds each etcd call the package makes.
	DefaultOpTimeout = 5 * time.Second
)

// Errors returned by Node.
var (
	// ErrClosed is returned by Run after Close, or after an earlier Run
	// returned.
	ErrClosed = errors.New("cluster node is closed")
	// ErrRunning is returned by Run when Run is already running.
	ErrRunning = errors.New("cluster node is already running")
)

// Config describes this node to the cluster.
type Config struct {
	// NodeID names this node in members/ and owners/; it must be unique
	// among live nodes and must not contain "/". Default: the hostname, a
	// dash and six random hex digits, so a restarted process never waits
	// for its previous incarnation's lease.
	NodeID string
	// Address is shown in the cluster status, e.g. the node's listen
	// address. Optional.
	Address string
	// Partitions is the partition count to record when the cluster has
	// none recorded yet. Once recorded the count never changes: the
	// recorded count wins and Node.Partitions returns it. Default
	// DefaultPartitions, at most MaxPartitions.
	Partitions int
	// LeaseTTL is the TTL of the node's lease: how long after the node
	// stops renewing it (crash, pause, lost network) other nodes take its
	// partitions. etcd counts in whole seconds and may raise very short
	// TTLs to its minimum (about 2s). Default DefaultLeaseTTL.
	LeaseTTL time.Duration
}

// Claim is this node's ownership of one partition.
type Claim struct {
	// Partition is the partition number, in [0, Node.Partitions()).
	Partition int
	// Key is the partition's owners/<partition> key.
	Key string
	// Revision is the fencing token: the ModRevision of Key when this node
	// created it. The key is deleted when the partition is released or the
	// lease expires, and whoever creates it next gets a new revision.
	Revision int64
}

// Fence returns the compare every commit for the partition must include:
// it holds only while the ownership key is the one this node created, so a
// node that lost the partition (lease expired while it was paused, key
// deleted and created by another node) can never commit.
func (c Claim) Fence() clientv3.Cmp {
	return clientv3.Compare(clientv3.ModRevision(c.Key), "=", c.Revision)
}

// String is for logs.
func (c Claim) String() string {
	return fmt.Sprintf("partition %d (rev %d)", c.Partition, c.Revision)
}

// Owner runs partitions; the engine implements it.
//
// Start and Stop for one partition alternate, beginning with Start, and
// are never called concurrently for the same partition. Stop may be called
// concurrently for different partitions, so that a node hands many
// partitions over in the time of one batch.
type Owner interface {
	// Start begins processing a claimed partition. It must return quickly:
	// the work runs in the owner's own goroutines. Every commit for the
	// partition must include c.Fence().
	Start(c Claim)
	// Stop stops processing partition p after the batch in hand and
	// returns when nothing more will be committed for it; the node then
	// releases the key so that the next owner can take it.
	Stop(p int)
}
