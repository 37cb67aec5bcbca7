package admin

import (
	"context"
	"fmt"
	"net/http"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
)

// ClusterStatus is the answer to GET /v1/cluster: the cluster as etcd
// records it, whichever node is asked.
type ClusterStatus struct {
	// Partitions is the partition count (0 if no node ever joined).
	Partitions int           `json:"partitions"`
	Nodes      []ClusterNode `json:"nodes"`
	// Unowned are the partitions no live node owns (a handover, or a dead
	// node's lease not yet expired).
	Unowned []int `json:"unowned"`
	// Backlog is the number of events waiting in each partition's log.
	Backlog []int64 `json:"backlog"`
	// EventsWaiting sums Backlog.
	EventsWaiting int64 `json:"events_waiting"`
	// ConfigStates is what every node made of the configuration, by node
	// name, including nodes that are not (or no longer) members.
	ConfigStates []configstore.NodeState `json:"config_states"`
}

// ClusterNode is one live node.
type ClusterNode struct {
	cluster.Member
	// Partitions are the partitions it owns, sorted.
	Partitions []int `json:"partitions"`
	// Backlog sums its partitions' backlogs.
	Backlog int64 `json:"backlog"`
	// Config is the node's configuration state, if it recorded one.
	Config *configstore.NodeState `json:"config,omitempty"`
}

func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	st, err := cluster.ReadStatus(r.Context(), s.st)
	if err != nil {
		s.failRead(w, r, err)
		return
	}
	states, err := s.configs.Nodes(r.Context())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := ClusterStatus{Partitions: st.Partitions, Nodes: []ClusterNode{}, Unowned: []int{}, Backlog: []int64{},
		ConfigStates: states}
	if st.Partitions > 0 {
		lg := eventlog.New(s.st, s.logger, eventlog.WithPartitions(st.Partitions))
		if out.Backlog, err = s.countBacklog(r.Context(), lg); err != nil {
			s.storeError(w, r, err)
			return
		}
	}
	for p, n := range out.Backlog {
		out.EventsWaiting += n
		if st.Owners[p] == "" {
			out.Unowned = append(out.Unowned, p)
		}
	}
	for _, m := range st.Nodes {
		n := ClusterNode{Member: m, Partitions: st.PartitionsOf(m.ID)}
		if n.Partitions == nil {
			n.Partitions = []int{}
		}
		for _, p := range n.Partitions {
			n.Backlog += out.Backlog[p]
		}
		for i := range states {
			if states[i].Node == m.ID {
				n.Config = &states[i]
			}
		}
		out.Nodes = append(out.Nodes, n)
	}
	s.reply(w, r, http.StatusOK, out)
}

// countBacklog counts each partition's pending log entries, many
// count-only reads per transaction (etcd allows 128 operations in one).
func (s *Server) countBacklog(ctx context.Context, lg *eventlog.Log) ([]int64, error) {
	const perTxn = 100
	out := make([]int64, lg.Partitions())
	for first := 0; first < len(out); first += perTxn {
		last := min(first+perTxn, len(out))
		ops := make([]clientv3.Op, 0, last-first)
		for p := first; p < last; p++ {
			ops = append(ops, clientv3.OpGet(lg.Prefix(p), clientv3.WithPrefix(), clientv3.WithCountOnly()))
		}
		resp, err := s.st.Client().Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("counting the backlog of partitions %d-%d: %w", first, last-1, err)
		}
		for i, rr := range resp.Responses {
			out[first+i] = rr.GetResponseRange().Count
		}
	}
	return out, nil
}
