package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
)

// deadletters lists the events the engine gave up on, or requeues some.
func deadletters(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("deadletters", stderr)
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory")
	asJSON := fs.Bool("json", false, "print JSON")
	force := fs.Bool("force", false, "requeue an event even if only one rule failed on it (the others process it again)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, ok := connect(ctx, "deadletters", *path, stderr)
	if !ok {
		return 1
	}
	defer st.Close()

	if ids := fs.Args(); len(ids) > 0 {
		if ids[0] != "requeue" || len(ids) == 1 {
			fmt.Fprintln(stderr, "usage: triggergate deadletters -config PATH [-json]\n       triggergate deadletters -config PATH [-force] requeue ID...")
			return 2
		}
		s, err := cluster.ReadStatus(ctx, st)
		if err != nil {
			fmt.Fprintln(stderr, "triggergate deadletters:", err)
			return 1
		}
		lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(s.Partitions))
		code := 0
		for _, id := range ids[1:] {
			if err := engine.Requeue(ctx, st, lg, id, *force); err != nil {
				fmt.Fprintln(stderr, "triggergate deadletters:", err)
				code = 1
				continue
			}
			fmt.Fprintln(stdout, "requeued", id)
		}
		return code
	}

	dead, err := engine.ListDeadLetters(ctx, st)
	if err != nil {
		fmt.Fprintln(stderr, "triggergate deadletters:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(dead)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tCUSTOMER\tRULE\tATTEMPTS\tAT\tERROR")
	for _, d := range dead {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Event.Type, d.Event.Customer.Key(), d.Rule,
			d.Attempts, d.At.Format(time.RFC3339), truncate(d.Error, 80))
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "%d dead-lettered events\n", len(dead))
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
