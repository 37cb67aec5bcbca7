package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/admin"
)

// status prints the cluster as etcd records it: nodes, the partitions
// each owns, the events waiting in them, and each node's configuration.
// It asks a running gateway's admin API, which answers for the whole
// cluster whichever node is asked.
func status(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", stderr)
	af := addAdminFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "triggergate status: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	c, ok := af.client("status", stderr)
	if !ok {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var s admin.ClusterStatus
	if err := c.do(ctx, http.MethodGet, "/v1/cluster", nil, &s); err != nil {
		fmt.Fprintln(stderr, "triggergate status:", err)
		return 1
	}
	if *asJSON {
		printJSON(stdout, s)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NODE\tADDRESS\tUP SINCE\tPARTITIONS\tBACKLOG\n")
	for _, n := range s.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d (%s)\t%d\n", n.ID, n.Address, n.StartedAt.Format(time.RFC3339), len(n.Partitions), ranges(n.Partitions), n.Backlog)
	}
	if len(s.Unowned) > 0 {
		var waiting int64
		for _, p := range s.Unowned {
			if p < len(s.Backlog) {
				waiting += s.Backlog[p]
			}
		}
		fmt.Fprintf(tw, "(unowned)\t\t\t%d (%s)\t%d\n", len(s.Unowned), ranges(s.Unowned), waiting)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "%d partitions, %d events waiting\n", s.Partitions, s.EventsWaiting)
	for _, ns := range s.ConfigStates {
		line := fmt.Sprintf("config: %s serves version %d", ns.Node, ns.Version)
		if ns.Version == 0 {
			line = fmt.Sprintf("config: %s serves no stored version", ns.Node)
		}
		if ns.Refused != nil {
			line += fmt.Sprintf("; refused version %d: %s", ns.Refused.Version, truncate(ns.Refused.Error, 200))
		}
		fmt.Fprintln(stdout, line)
	}
	return 0
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
