package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/admin"
)

const dlqUsage = `usage: triggergate dlq -config PATH [-json] [-channel NAME] [-limit N] [list]
       triggergate dlq -config PATH retry ID... | retry -all [-channel NAME]
       triggergate dlq -config PATH drop ID...  | drop -all [-channel NAME]
Flags -admin ADDR and -token TOKEN (or $TRIGGERGATE_ADMIN_TOKEN) reach another gateway.`

// dlqCmd lists, retries or drops dead-lettered messages through the
// running gateway's admin API.
func dlqCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("dlq", stderr)
	af := addAdminFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	channel := fs.String("channel", "", "only this channel's messages")
	limit := fs.Int("limit", 0, "list at most this many")
	all := fs.Bool("all", false, "retry or drop every dead letter (of -channel, if given)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	verb, rest := "list", fs.Args()
	if len(rest) > 0 {
		verb, rest = rest[0], rest[1:]
		if err := fs.Parse(rest); err != nil { // flags may follow the verb
			return 2
		}
		rest = fs.Args()
	}
	c, ok := af.client("dlq", stderr)
	if !ok {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	switch verb {
	case "list":
		if len(rest) > 0 || *all {
			fmt.Fprintln(stderr, dlqUsage)
			return 2
		}
		return dlqList(ctx, c, *channel, *limit, *asJSON, stdout, stderr)
	case "retry", "drop":
		if (len(rest) > 0) == *all || (*channel != "" && !*all) {
			fmt.Fprintln(stderr, dlqUsage)
			return 2
		}
		var res admin.DLQResults
		if err := c.do(ctx, http.MethodPost, "/v1/dlq/"+verb, admin.DLQAction{IDs: rest, All: *all, Channel: *channel}, &res); err != nil {
			fmt.Fprintln(stderr, "triggergate dlq:", err)
			return 1
		}
		if *asJSON {
			printJSON(stdout, res)
		}
		code, done := 0, map[string]string{"retry": "requeued", "drop": "dropped"}[verb]
		for _, r := range res.Results {
			if r.Error != "" {
				fmt.Fprintf(stderr, "triggergate dlq: %s: %s\n", r.ID, r.Error)
				code = 1
			} else if !*asJSON {
				fmt.Fprintln(stdout, done, r.ID)
			}
		}
		return code
	}
	fmt.Fprintf(stderr, "triggergate dlq: unknown action %q\n%s\n", verb, dlqUsage)
	return 2
}

func dlqList(ctx context.Context, c *adminClient, channel string, limit int, asJSON bool, stdout, stderr io.Writer) int {
	q := url.Values{}
	if channel != "" {
		q.Set("channel", channel)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var list admin.DLQList
	if err := c.do(ctx, http.MethodGet, "/v1/dlq?"+q.Encode(), nil, &list); err != nil {
		fmt.Fprintln(stderr, "triggergate dlq:", err)
		return 1
	}
	if asJSON {
		printJSON(stdout, list)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCHANNEL\tTRIGGER\tSTEP\tCUSTOMER\tATTEMPTS\tAT\tREASON")
	for _, l := range list.Letters {
		if l.Raw != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t%s\n", l.ID, "undecodable entry (drop it)")
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", l.ID, l.Channel, l.Message.Trigger, l.Message.Step, l.Customer,
			l.Attempts, l.At.Format(time.RFC3339), truncate(l.Reason, 80))
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "%d shown, %d dead-lettered messages in all\n", len(list.Letters), list.Total)
	return 0
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
