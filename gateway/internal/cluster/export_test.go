package cluster

import clientv3 "go.etcd.io/etcd/client/v3"

// Winner exposes the rendezvous choice to the tests.
var Winner = winner

// Kill simulates the process dying (or being paused by SIGSTOP): Run
// returns without stopping or releasing anything and the lease is no
// longer renewed.
func (n *Node) Kill() { n.kill() }

// LeaseID returns the current lease, 0 between losing one and re-joining.
func (n *Node) LeaseID() clientv3.LeaseID {
	if s := n.session(); s != nil {
		return s.id
	}
	return 0
}
