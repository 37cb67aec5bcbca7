package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/sdk"
)

const customerUsage = `usage: triggergate customer -config PATH [-json] KEY
       triggergate customer -config PATH [-json] erase KEY
Flags -admin ADDR and -token TOKEN (or $TRIGGERGATE_ADMIN_TOKEN) reach another gateway.`

// customerCmd shows what the gateway keeps about a customer, or erases
// it, through the running gateway's admin API.
func customerCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("customer", stderr)
	af := addAdminFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	erase := len(rest) == 2 && rest[0] == "erase"
	if len(rest) != 1 && !erase {
		fmt.Fprintln(stderr, customerUsage)
		return 2
	}
	key := rest[len(rest)-1]
	if _, err := sdk.ParseCustomerKey(key); err != nil {
		fmt.Fprintln(stderr, "triggergate customer:", err)
		return 2
	}
	c, ok := af.client("customer", stderr)
	if !ok {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if erase {
		var e admin.Erasure
		if err := c.do(ctx, http.MethodDelete, customerPath(key), nil, &e); err != nil {
			fmt.Fprintln(stderr, "triggergate customer:", err)
			return 1
		}
		if *asJSON {
			printJSON(stdout, e)
			return 0
		}
		if !e.Found {
			fmt.Fprintf(stdout, "no record under %s yet; ", key)
		}
		fmt.Fprintf(stdout, "erasure of %s queued as event %s; the partition's owner applies it in order with the customer's events\n", e.Customer, e.EventID)
		return 0
	}

	var v engine.CustomerView
	if err := c.do(ctx, http.MethodGet, customerPath(key), nil, &v); err != nil {
		fmt.Fprintln(stderr, "triggergate customer:", err)
		return 1
	}
	if *asJSON {
		printJSON(stdout, v)
		return 0
	}
	p := v.Profile
	fmt.Fprintf(stdout, "customer %s\n", v.Key)
	fmt.Fprintf(stdout, "  identity: id=%q email=%q phone=%q anonymous_id=%q external_ids=%v\n", p.ID, p.Email, p.Phone, p.AnonymousID, p.ExternalIDs)
	fmt.Fprintf(stdout, "  timezone: %q  traits: %d\n", p.Timezone, len(p.Traits))
	fmt.Fprintf(stdout, "  orders: %d  lifetime value: %.2f  first seen: %s  last seen: %s\n",
		p.Stats.OrdersCount, p.Stats.LifetimeValue, stamp(p.Stats.FirstSeenAt), stamp(p.Stats.LastSeenAt))
	fmt.Fprintf(stdout, "  consent: %v  suppressed: %v\n", p.Consent, v.Suppressed)
	for _, rule := range slices.Sorted(maps.Keys(v.Timers)) {
		for _, id := range slices.Sorted(maps.Keys(v.Timers[rule])) {
			fmt.Fprintf(stdout, "  timer %s/%s due %s\n", rule, id, stamp(v.Timers[rule][id].At))
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tRULE\tSTEP\tCHANNEL\tOUTCOME\tREASON\tDETAIL")
	for _, d := range v.Trace {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", stamp(d.At), d.Rule, d.Step, d.Channel, d.Outcome, d.Reason, truncate(d.Detail, 80))
	}
	_ = tw.Flush()
	return 0
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
