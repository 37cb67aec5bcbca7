package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/admin"
)

const deadlettersUsage = `usage: triggergate deadletters -config PATH [-json]
       triggergate deadletters -config PATH [-force] requeue ID...
Flags -admin ADDR and -token TOKEN (or $TRIGGERGATE_ADMIN_TOKEN) reach another gateway.`

// deadletters lists the events the engine gave up on, or requeues some,
// through the running gateway's admin API.
func deadletters(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("deadletters", stderr)
	af := addAdminFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	force := fs.Bool("force", false, "requeue an event even if only one rule failed on it (the others process it again)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ids := fs.Args()
	if len(ids) > 0 && (ids[0] != "requeue" || len(ids) == 1) {
		fmt.Fprintln(stderr, deadlettersUsage)
		return 2
	}
	c, ok := af.client("deadletters", stderr)
	if !ok {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if len(ids) > 0 {
		var res admin.RequeueResults
		if err := c.do(ctx, http.MethodPost, "/v1/deadletters/requeue", admin.Requeue{IDs: ids[1:], Force: *force}, &res); err != nil {
			fmt.Fprintln(stderr, "triggergate deadletters:", err)
			return 1
		}
		if *asJSON {
			printJSON(stdout, res)
		}
		code := 0
		for _, r := range res.Results {
			if r.Error != "" {
				fmt.Fprintf(stderr, "triggergate deadletters: %s: %s\n", r.ID, r.Error)
				code = 1
			} else if !*asJSON {
				fmt.Fprintln(stdout, "requeued", r.ID)
			}
		}
		return code
	}

	var list admin.DeadLetters
	if err := c.do(ctx, http.MethodGet, "/v1/deadletters?limit=1000", nil, &list); err != nil {
		fmt.Fprintln(stderr, "triggergate deadletters:", err)
		return 1
	}
	if *asJSON {
		printJSON(stdout, list)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tCUSTOMER\tRULE\tATTEMPTS\tAT\tERROR")
	for _, d := range list.DeadLetters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Event.Type, d.Event.Customer.Key(), d.Rule,
			d.Attempts, d.At.Format(time.RFC3339), truncate(d.Error, 80))
	}
	_ = tw.Flush()
	if len(list.DeadLetters) < list.Total {
		fmt.Fprintf(stdout, "%d shown, ", len(list.DeadLetters))
	}
	fmt.Fprintf(stdout, "%d dead-lettered events\n", list.Total)
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
