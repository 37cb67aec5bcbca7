package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/store"
)

// Status is the cluster as etcd records it, for `triggergate status` and
// the admin API.
type Status struct {
	// Nodes are the live members, by id.
	Nodes []Member `json:"nodes"`
	// Owners maps every partition to the id of the node that owns it, ""
	// when none does (a handover or a dead node's lease not yet expired).
	Owners map[int]string `json:"owners"`
	// Partitions is the recorded partition count, 0 if no node has ever
	// joined.
	Partitions int `json:"partitions"`
}

// Member is one live node.
type Member struct {
	ID        string    `json:"id"`
	Address   string    `json:"address,omitempty"`
	StartedAt time.Time `json:"started_at"`
}

// PartitionsOf returns the partitions node id owns, sorted.
func (s Status) PartitionsOf(id string) []int {
	var ps []int
	for p, owner := range s.Owners {
		if owner == id {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// ReadStatus reads the members, the partition owners and the partition
// count in one consistent read.
func ReadStatus(ctx context.Context, st *store.Store) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultOpTimeout)
	defer cancel()
	membersPrefix := st.Key("members") + "/"
	ownersPrefix := st.Key("owners") + "/"
	countKey := st.Key("meta", "partitions")
	resp, err := st.Client().Txn(ctx).Then(
		clientv3.OpGet(membersPrefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)),
		clientv3.OpGet(ownersPrefix, clientv3.WithPrefix()),
		clientv3.OpGet(countKey),
	).Commit()
	if err != nil {
		return Status{}, fmt.Errorf("reading the cluster status: %w", err)
	}

	var s Status
	if kvs := resp.Responses[2].GetResponseRange().Kvs; len(kvs) > 0 {
		s.Partitions, err = strconv.Atoi(string(kvs[0].Value))
		if err != nil || s.Partitions < 1 || s.Partitions > MaxPartitions {
			return Status{}, fmt.Errorf("the cluster's partition count in %s is %q, want a number between 1 and %d", countKey, kvs[0].Value, MaxPartitions)
		}
	}
	s.Nodes = []Member{}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		id := strings.TrimPrefix(string(kv.Key), membersPrefix)
		m := Member{ID: id}
		var v memberValue
		// A value that does not decode still names a live member.
		if json.Unmarshal(kv.Value, &v) == nil {
			m.Address, m.StartedAt = v.Address, v.StartedAt
		}
		s.Nodes = append(s.Nodes, m)
	}
	s.Owners = make(map[int]string, s.Partitions)
	for p := range s.Partitions {
		s.Owners[p] = ""
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		if p, ok := parsePartition(strings.TrimPrefix(string(kv.Key), ownersPrefix), s.Partitions); ok {
			s.Owners[p] = string(kv.Value)
		}
	}
	return s, nil
}
