// Package stats keeps the counters KPIs are computed from: per trigger,
// step, A/B variant and channel, how many messages were queued, sent
// (accepted by the provider), delivered, failed, held back by each policy,
// opened, clicked, and how many customers unsubscribed from them.
//
// Counters are written by the owner of a partition, in the transaction of
// the pass that counted them, to one key per partition and UTC day:
// stats/<yyyy-mm-dd>/<partition>. A partition has one writer, so counting
// never contends across nodes, and a pass that is not committed counts
// nothing. Read sums the keys of a range of days.
package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/store"
)

// Key is one row of counters.
type Key struct {
	Trigger string `json:"trigger"`
	Step    string `json:"step"`
	Variant string `json:"variant,omitempty"`
	Channel string `json:"channel"`
}

// String is the key's form in a Day: its parts, escaped, joined by "|".
func (k Key) String() string {
	return strings.Join([]string{url.PathEscape(k.Trigger), url.PathEscape(k.Step), url.PathEscape(k.Variant),
		url.PathEscape(k.Channel)}, "|")
}

// ParseKey is the inverse of Key.String.
func ParseKey(s string) Key {
	p := strings.SplitN(s, "|", 4)
	for len(p) < 4 {
		p = append(p, "")
	}
	for i := range p {
		if u, err := url.PathUnescape(p[i]); err == nil {
			p[i] = u
		}
	}
	return Key{Trigger: p[0], Step: p[1], Variant: p[2], Channel: p[3]}
}

// Counts are one row's counters.
type Counts struct {
	// Queued messages passed every policy and went to the outbox.
	Queued int64 `json:"queued,omitempty"`
	// Sent messages were accepted by the provider.
	Sent int64 `json:"sent,omitempty"`
	// Delivered messages were reported delivered by the provider.
	Delivered int64 `json:"delivered,omitempty"`
	// Failed messages were dead-lettered.
	Failed int64 `json:"failed,omitempty"`
	// Suppressed counts fires held back, by the policy that did it
	// ("consent", "frequency_cap", "holdout", ...).
	Suppressed map[string]int64 `json:"suppressed,omitempty"`
	// Opened, Clicked and Unsubscribed count tracking events (unique per
	// message within the event log's dedupe window).
	Opened       int64 `json:"opened,omitempty"`
	Clicked      int64 `json:"clicked,omitempty"`
	Unsubscribed int64 `json:"unsubscribed,omitempty"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Queued += o.Queued
	c.Sent += o.Sent
	c.Delivered += o.Delivered
	c.Failed += o.Failed
	c.Opened += o.Opened
	c.Clicked += o.Clicked
	c.Unsubscribed += o.Unsubscribed
	for r, n := range o.Suppressed {
		if c.Suppressed == nil {
			c.Suppressed = map[string]int64{}
		}
		c.Suppressed[r] += n
	}
}

// Day is one partition's counters of one day, by Key.String().
type Day map[string]*Counts

// Count applies f to k's row.
func (d Day) Count(k Key, f func(*Counts)) {
	ks := k.String()
	c, ok := d[ks]
	if !ok {
		c = &Counts{}
		d[ks] = c
	}
	f(c)
}

// Merge adds o's rows to d.
func (d Day) Merge(o Day) {
	for k, c := range o {
		if cur, ok := d[k]; ok {
			cur.Add(*c)
		} else {
			cp := Counts{}
			cp.Add(*c)
			d[k] = &cp
		}
	}
}

// DayKey is the key of a partition's counters of day (UTC).
func DayKey(st *store.Store, day time.Time, partition int) string {
	return st.Key("stats", day.UTC().Format(time.DateOnly), fmt.Sprintf("%03d", partition))
}

// Row is a Key with its counts, as Read returns them.
type Row struct {
	Key
	Counts
}

// Read sums the counters of every partition over the days from..to
// (inclusive, UTC), one row per key, sorted.
func Read(ctx context.Context, st *store.Store, from, to time.Time) ([]Row, error) {
	from, to = from.UTC(), to.UTC()
	if to.Before(from) {
		return nil, fmt.Errorf("the range ends (%s) before it starts (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	start := st.Key("stats", from.Format(time.DateOnly)) + "/"
	end := clientv3.GetPrefixRangeEnd(st.Key("stats", to.Format(time.DateOnly)) + "/")
	total := Day{}
	key := start
	for {
		resp, err := st.Client().Get(ctx, key, clientv3.WithRange(end), clientv3.WithLimit(500))
		if err != nil {
			return nil, fmt.Errorf("reading counters: %w", err)
		}
		for _, kv := range resp.Kvs {
			var d Day
			if err := json.Unmarshal(kv.Value, &d); err != nil {
				return nil, fmt.Errorf("counters at %s do not decode: %w", kv.Key, err)
			}
			total.Merge(d)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	out := make([]Row, 0, len(total))
	for _, k := range slices.Sorted(maps.Keys(total)) {
		out = append(out, Row{Key: ParseKey(k), Counts: *total[k]})
	}
	return out, nil
}
