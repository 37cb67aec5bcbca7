package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// status prints the cluster as etcd sees it: nodes, the partitions each
// owns, and the events waiting in them. It talks to etcd directly (the
// running node's embedded etcd, or the configured cluster), so it works
// whichever node is asked.
func status(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", stderr)
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	st, ok := connect(ctx, "status", *path, stderr)
	if !ok {
		return 1
	}
	defer st.Close()
	s, err := cluster.ReadStatus(ctx, st)
	if err != nil {
		fmt.Fprintln(stderr, "triggergate status:", err)
		return 1
	}
	backlog, err := countBacklog(ctx, st, s.Partitions)
	if err != nil {
		fmt.Fprintln(stderr, "triggergate status:", err)
		return 1
	}
	if *asJSON {
		type nodeOut struct {
			cluster.Member
			Partitions []int `json:"partitions"`
			Backlog    int64 `json:"backlog"`
		}
		out := struct {
			Partitions int       `json:"partitions"`
			Nodes      []nodeOut `json:"nodes"`
			Unowned    []int     `json:"unowned"`
			Backlog    []int64   `json:"backlog"`
		}{Partitions: s.Partitions, Backlog: backlog, Unowned: unowned(s)}
		for _, m := range s.Nodes {
			ps := s.PartitionsOf(m.ID)
			out.Nodes = append(out.Nodes, nodeOut{Member: m, Partitions: ps, Backlog: sum(backlog, ps)})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NODE\tADDRESS\tUP SINCE\tPARTITIONS\tBACKLOG\n")
	for _, m := range s.Nodes {
		ps := s.PartitionsOf(m.ID)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d (%s)\t%d\n", m.ID, m.Address, m.StartedAt.Format(time.RFC3339), len(ps), ranges(ps), sum(backlog, ps))
	}
	if u := unowned(s); len(u) > 0 {
		fmt.Fprintf(tw, "(unowned)\t\t\t%d (%s)\t%d\n", len(u), ranges(u), sum(backlog, u))
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "%d partitions, %d events waiting\n", s.Partitions, sum(backlog, nil))
	return 0
}

// connect opens the etcd a configuration uses: a running node's embedded
// etcd (its client URL), or the configured cluster.
func connect(ctx context.Context, cmd, path string, stderr io.Writer) (*store.Store, bool) {
	cfg, ok := load(path, stderr)
	if !ok {
		return nil, false
	}
	endpoints := cfg.Store.Endpoints
	if cfg.Store.Embedded {
		endpoints = []string{cfg.Store.ClientURL}
	}
	st, err := store.Open(ctx, store.Config{Endpoints: endpoints, Prefix: cfg.Store.Prefix, DialTimeout: cfg.Store.DialTimeout}, hclog.NewNullLogger())
	if err != nil {
		fmt.Fprintf(stderr, "triggergate %s: cannot reach etcd at %s (is the gateway running?): %v\n", cmd, strings.Join(endpoints, ","), err)
		return nil, false
	}
	return st, true
}

func countBacklog(ctx context.Context, st *store.Store, partitions int) ([]int64, error) {
	lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(partitions))
	out := make([]int64, partitions)
	for p := range out {
		resp, err := st.Client().Get(ctx, lg.Prefix(p), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return nil, fmt.Errorf("counting partition %d: %w", p, err)
		}
		out[p] = resp.Count
	}
	return out, nil
}

func unowned(s cluster.Status) []int {
	var out []int
	for p := range s.Partitions {
		if s.Owners[p] == "" {
			out = append(out, p)
		}
	}
	return out
}

// sum adds the backlog of the given partitions, or of all when ps is nil.
func sum(backlog []int64, ps []int) int64 {
	var n int64
	if ps == nil {
		for _, b := range backlog {
			n += b
		}
		return n
	}
	for _, p := range ps {
		n += backlog[p]
	}
	return n
}

// ranges writes partition numbers compactly: 0-3,7,9-10.
func ranges(ps []int) string {
	ps = append([]int(nil), ps...)
	sort.Ints(ps)
	var b strings.Builder
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ps[i], ps[j])
		} else {
			fmt.Fprintf(&b, "%d", ps[i])
		}
		i = j + 1
	}
	return b.String()
}
