package pluginhost_test

import (
	"bytes"
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// builtinBench is one built-in trigger plugin under benchmark: the README
// example whose config it runs, and how often one customer has an event
// (which, with the plugin's own delays, sets how many items are timers).
type builtinBench struct {
	plugin  string
	example string        // label of the README's trigger block
	gap     time.Duration // mean virtual time between two events of a customer
	// config, when set, is the example's config written out by hand,
	// because another example of the same README does not decode (see
	// the comment where it is set).
	config sdk.RawConfig
}

var builtinBenches = []builtinBench{
	{plugin: "event", example: "big_spender_thanks", gap: 100 * time.Minute},
	{plugin: "absence", example: "abandoned_checkout", gap: 40 * time.Minute},
	// The README's win_back example, by hand: ReadmeConfigs fails the
	// benchmark on the README's lost_customer example, whose when uses
	// customer.stats.orders_count (the expression's customer has
	// orders_count at the top level).
	{plugin: "inactivity", example: "win_back", gap: 10 * 24 * time.Hour, config: sdk.RawConfig(
		`{"after":"30d","step":"at_risk","returned_step":"welcome_back",` +
			`"then":[{"step":"rescue","after":"45d"},{"step":"final","after":"60d"}]}`)},
	{plugin: "threshold", example: "repeated_product_views", gap: 6 * time.Hour},
	{plugin: "segment", example: "high_value_watch", gap: 100 * time.Minute},
	{plugin: "journey", example: "post_purchase", gap: 3 * 24 * time.Hour},
	{plugin: "date", example: "birthday", gap: 7 * 24 * time.Hour},
}

const (
	benchBatch     = 100  // items per Evaluate call, as one engine round
	benchCustomers = 2000 // customers per partition (caller)
	// benchWarmup batches run per partition before timing, so that rule
	// state and timers are in their steady state (each customer has had
	// about ten events).
	benchWarmup = 200
)

// BenchmarkBuiltinTriggers measures evaluations per second of every
// built-in trigger plugin as a real process (go-plugin gRPC, mTLS), in
// batches of 100 items built the way the engine builds a round: at most
// one item per customer, due timers first as timer.fired items, the
// profile updated with the event before the rule sees it, and each
// customer's rule state and timers carried from one call to the next.
// callers=2 runs two partitions against the same plugin process at once.
//
// Each plugin runs the config of one of its README's examples, over a shop
// event mix (page and product views, carts, checkouts, orders, emails,
// profile updates) on a virtual clock; timers fire when the clock reaches
// them. Besides evals/s and ns/eval it reports the share of items that
// were timers, fires per 1000 items, the mean rule state sent per item,
// and (callers=1) the time spent inside Evaluate per item.
func BenchmarkBuiltinTriggers(b *testing.B) {
	pkgs := make([]string, len(builtinBenches))
	for i, bb := range builtinBenches {
		pkgs[i] = "plugins/" + bb.plugin
	}
	dir := pluginhosttest.Build(b, pkgs...)
	for _, bb := range builtinBenches {
		b.Run(bb.plugin, func(b *testing.B) {
			h := newHost(b, pluginhost.WithDir(dir))
			tr, err := h.Trigger(bb.plugin)
			if err != nil {
				b.Fatal(err)
			}
			d, err := tr.Describe(b.Context()) // start the process outside the timing
			if err != nil {
				b.Fatal(err)
			}
			cfg := readmeConfig(b, bb, d.Schema)
			if v, err := tr.ValidateConfig(b.Context(), &sdk.ValidateConfigRequest{Config: cfg}); err != nil || v.Diagnostics.HasErrors() {
				b.Fatalf("config of %s: %+v, %v", bb.example, v, err)
			}
			pid := 0
			for _, info := range h.Processes() {
				if info.Name == bb.plugin {
					pid = info.PID
				}
			}
			for _, callers := range []int{1, 2} {
				b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
					runBuiltin(b, tr, pid, bb, cfg, callers)
				})
			}
		})
	}
}

func readmeConfig(b *testing.B, bb builtinBench, schema sdk.Schema) sdk.RawConfig {
	b.Helper()
	if bb.config != nil {
		return bb.config
	}
	path := filepath.Join("..", "..", "..", "plugins", bb.plugin, "README.md")
	for _, rc := range plugintest.ReadmeConfigs(b, path, bb.plugin, schema) {
		if rc.Name == bb.example && rc.Plugin == bb.plugin {
			return rc.Config
		}
	}
	b.Fatalf("%s has no trigger %q", path, bb.example)
	return nil
}

func runBuiltin(b *testing.B, tr sdk.Trigger, pid int, bb builtinBench, cfg sdk.RawConfig, callers int) {
	parts := make([]*simPartition, callers)
	for i := range parts {
		parts[i] = newSimPartition(i, bb, cfg)
		for range benchWarmup {
			if err := parts[i].round(b, tr); err != nil {
				b.Fatal(err)
			}
		}
		parts[i].stats = simStats{}
	}
	errs := make([]error, callers)
	hostCPU0, hostOK := cpuTime("self")
	plugCPU0, plugOK := cpuTime(fmt.Sprint(pid))
	for b.Loop() {
		if callers == 1 {
			errs[0] = parts[0].round(b, tr)
		} else {
			var wg sync.WaitGroup
			for i, p := range parts {
				wg.Go(func() { errs[i] = p.round(b, tr) })
			}
			wg.Wait()
		}
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	hostCPU1, hostOK1 := cpuTime("self")
	plugCPU1, plugOK1 := cpuTime(fmt.Sprint(pid))
	var st simStats
	for _, p := range parts {
		st.add(p.stats)
	}
	if st.fires == 0 {
		b.Errorf("%s fired nothing in %d items: the event mix does not exercise it", bb.example, st.items)
	}
	elapsed := b.Elapsed().Seconds()
	b.ReportMetric(float64(st.items)/elapsed, "evals/s")
	b.ReportMetric(elapsed*1e9/float64(st.items), "ns/eval")
	b.ReportMetric(100*float64(st.timerItems)/float64(st.items), "timer-%")
	b.ReportMetric(1000*float64(st.fires)/float64(st.items), "fires/kevals")
	b.ReportMetric(float64(st.stateBytes)/float64(st.items), "state-B/eval")
	if callers == 1 {
		b.ReportMetric(float64(st.inCall.Nanoseconds())/float64(st.items), "in-call-ns/eval")
	}
	// CPU per evaluation, of the benchmark process (the host side: items,
	// encoding, gRPC) and of the plugin process, where /proc has them.
	if hostOK && hostOK1 {
		b.ReportMetric(float64((hostCPU1-hostCPU0).Nanoseconds())/float64(st.items), "host-cpu-ns/eval")
	}
	if pid != 0 && plugOK && plugOK1 {
		b.ReportMetric(float64((plugCPU1-plugCPU0).Nanoseconds())/float64(st.items), "plugin-cpu-ns/eval")
	}
}

// cpuTime returns the user plus system CPU time of a process ("self" or a
// pid) from /proc/<pid>/stat, in clock ticks of 10ms (USER_HZ is 100 on
// Linux); false where /proc is not there.
func cpuTime(pid string) (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after it. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

type simStats struct {
	items, timerItems, fires, stateBytes int
	inCall                               time.Duration
}

func (s *simStats) add(o simStats) {
	s.items += o.items
	s.timerItems += o.timerItems
	s.fires += o.fires
	s.stateBytes += o.stateBytes
	s.inCall += o.inCall
}

// simPartition is one engine partition's customers, their records, rule
// state and pending timers, on a virtual clock.
type simPartition struct {
	id     int
	rng    *rand.Rand
	rule   string
	cfg    sdk.RawConfig
	now    time.Time
	step   time.Duration // virtual time per round
	cust   []*simCustomer
	timers timerQueue
	seq    int
	stats  simStats
}

type simCustomer struct {
	idx       int
	key       string
	rec       customer.Record
	state     []byte
	timers    map[string]sdk.Timer
	created   bool
	checkout  int // current checkout id (a new one after each order)
	orders    int
	favorites [4]int // products this customer keeps coming back to
}

var benchZones = []string{"Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/London", "America/Los_Angeles", ""}

func newSimPartition(id int, bb builtinBench, cfg sdk.RawConfig) *simPartition {
	p := &simPartition{
		id: id, rng: rand.New(rand.NewPCG(uint64(id)+1, 42)), rule: bb.example, cfg: cfg,
		now:  time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		step: bb.gap * benchBatch / benchCustomers,
	}
	for i := range benchCustomers {
		c := &simCustomer{idx: i, timers: map[string]sdk.Timer{}}
		id := sdk.Customer{ID: fmt.Sprintf("p%d-c%05d", p.id, i), Email: fmt.Sprintf("p%d-c%05d@example.com", p.id, i)}
		c.key = id.Key()
		c.rec.Profile.Customer = id
		for j := range c.favorites {
			c.favorites[j] = p.rng.IntN(500)
		}
		p.cust = append(p.cust, c)
	}
	return p
}

// round builds one batch as the engine's evaluateRound would, calls the
// plugin, and applies the results (state replaced, timers set and
// cancelled) as the engine's apply does.
func (p *simPartition) round(b *testing.B, tr sdk.Trigger) error {
	p.now = p.now.Add(p.step)
	items := make([]sdk.EvaluateItem, 0, benchBatch)
	who := make([]*simCustomer, 0, benchBatch)
	picked := make(map[int]bool, benchBatch)
	var later []queuedTimer
	for len(items) < benchBatch && len(p.timers) > 0 && !p.timers[0].t.At.After(p.now) {
		q := heap.Pop(&p.timers).(queuedTimer)
		c := p.cust[q.idx]
		if cur, ok := c.timers[q.t.ID]; !ok || !cur.At.Equal(q.t.At) {
			continue // replaced or cancelled since: stale, as timerLive drops it
		}
		if picked[q.idx] {
			later = append(later, q) // one item per customer per round
			continue
		}
		picked[q.idx] = true
		delete(c.timers, q.t.ID)
		t := q.t
		items = append(items, sdk.EvaluateItem{
			Rule: p.rule, Event: timerFiredEvent(c.key, p.rule, t, c.rec.Profile, p.now), Timer: &t,
			Profile: c.rec.Profile, State: c.state, Now: p.now,
		})
		who = append(who, c)
		p.stats.timerItems++
	}
	for _, q := range later {
		heap.Push(&p.timers, q)
	}
	for len(items) < benchBatch {
		i := p.rng.IntN(len(p.cust))
		if picked[i] {
			continue
		}
		picked[i] = true
		c := p.cust[i]
		ev := p.event(c)
		c.rec.Apply(&ev, p.now)
		items = append(items, sdk.EvaluateItem{Rule: p.rule, Event: ev, Profile: c.rec.Profile, State: c.state, Now: p.now})
		who = append(who, c)
	}
	for i := range items {
		p.stats.stateBytes += len(items[i].State)
	}

	start := time.Now()
	resp, err := tr.Evaluate(b.Context(), &sdk.EvaluateRequest{Rules: map[string]sdk.RawConfig{p.rule: p.cfg}, Items: items})
	p.stats.inCall += time.Since(start)
	if err != nil {
		return err
	}
	if len(resp.Results) != len(items) {
		return fmt.Errorf("%d results for %d items", len(resp.Results), len(items))
	}
	p.stats.items += len(items)
	for i, res := range resp.Results {
		if res.Err != "" {
			return fmt.Errorf("item %d (%s): %s", i, items[i].Event.Type, res.Err)
		}
		c := who[i]
		c.state = res.State
		for _, id := range res.CancelTimers {
			delete(c.timers, id)
		}
		for _, t := range res.SetTimers {
			t.At = t.At.UTC()
			c.timers[t.ID] = t
			heap.Push(&p.timers, queuedTimer{idx: c.idx, t: t})
		}
		p.stats.fires += len(res.Fires)
	}
	return nil
}

// timerFiredEvent is the event the engine sends with a due timer (see
// engine.timerEvent).
func timerFiredEvent(key, rule string, t sdk.Timer, profile sdk.Profile, now time.Time) sdk.Event {
	h := sha256.Sum256([]byte(key + "\x00" + rule + "\x00" + t.ID + "\x00" + t.At.UTC().Format(time.RFC3339Nano)))
	return sdk.Event{
		ID: "tmr_" + hex.EncodeToString(h[:12]), Type: sdk.TimerFired, Source: "internal", SourceKind: "internal",
		OccurredAt: t.At.UTC(), ReceivedAt: now, Customer: profile.Customer,
		Properties: map[string]any{"rule": rule, "timer_id": t.ID},
	}
}

// event makes the customer's next event from a shop's mix: mostly page
// and product views, then carts, checkouts, orders, email engagement and
// profile updates. A customer's first event is customer.created with
// their traits.
func (p *simPartition) event(c *simCustomer) sdk.Event {
	p.seq++
	ev := sdk.Event{
		ID: fmt.Sprintf("01HX%d%021d", p.id, p.seq), Source: "shop", SourceKind: "shopify",
		DeliveryID: fmt.Sprintf("d-%d-%d", p.id, p.seq),
		OccurredAt: p.now.Add(-time.Duration(p.rng.IntN(5000)) * time.Millisecond), ReceivedAt: p.now,
		Customer: sdk.Customer{ID: c.rec.Profile.ID, Email: c.rec.Profile.Email},
	}
	r := p.rng
	if !c.created {
		c.created = true
		ev.Type = "customer.created"
		ev.Traits = map[string]any{
			"first_name": fmt.Sprintf("Name%d", c.idx), "plan": []string{"free", "pro"}[r.IntN(2)],
			"timezone": benchZones[r.IntN(len(benchZones))], "accepts_marketing": r.IntN(10) < 7,
		}
		if r.IntN(10) < 7 {
			ev.Traits["birthday"] = fmt.Sprintf("%d-%02d-%02d", 1950+r.IntN(55), 1+r.IntN(12), 1+r.IntN(28))
		}
		return ev
	}
	product := func() int {
		if r.IntN(3) > 0 {
			return c.favorites[r.IntN(len(c.favorites))]
		}
		return r.IntN(500)
	}
	items := func() ([]any, float64) {
		n := 1 + r.IntN(4)
		out := make([]any, n)
		total := 0.0
		for i := range out {
			price := math.Round(math.Exp(3+r.NormFloat64())*100) / 100
			qty := 1 + r.IntN(2)
			out[i] = map[string]any{"product_id": fmt.Sprintf("p-%d", product()), "title": "Product", "quantity": float64(qty), "price": price}
			total += price * float64(qty)
		}
		return out, math.Round(total*100) / 100
	}
	switch x := r.IntN(100); {
	case x < 28:
		ev.Type = "page.viewed"
		ev.Properties = map[string]any{"path": []string{"/", "/pricing", "/collections/new", "/blog/spring"}[r.IntN(4)], "title": "Page", "referrer": "https://www.google.com/"}
	case x < 50:
		pid := product()
		ev.Type = "product.viewed"
		ev.Properties = map[string]any{"product_id": fmt.Sprintf("p-%d", pid), "title": fmt.Sprintf("Product %d", pid), "price": float64(10 + pid%90), "category": fmt.Sprintf("cat-%d", pid%12)}
	case x < 60:
		its, total := items()
		ev.Type = "cart.updated"
		ev.Properties = map[string]any{"cart_id": fmt.Sprintf("cart-%s-%d", c.key, c.checkout), "items": its, "value": total, "currency": "EUR"}
	case x < 70:
		its, total := items()
		ev.Type = "checkout.updated"
		ev.Properties = map[string]any{"checkout_id": fmt.Sprintf("co-%s-%d", c.key, c.checkout), "items": its, "value": total, "currency": "EUR"}
	case x < 76:
		its, total := items()
		c.orders++
		ev.Type = "order.placed"
		ev.Properties = map[string]any{"order_id": fmt.Sprintf("o-%s-%d", c.key, c.orders), "checkout_id": fmt.Sprintf("co-%s-%d", c.key, c.checkout),
			"items": its, "value": total, "currency": "EUR", "product_name": "Product"}
		c.checkout++
	case x < 81:
		ev.Type = "order.paid"
		ev.Properties = map[string]any{"order_id": fmt.Sprintf("o-%s-%d", c.key, c.orders), "value": math.Round(math.Exp(4.5+r.NormFloat64())*100) / 100, "currency": "EUR"}
	case x < 86:
		ev.Type = "page.left"
		ev.Properties = map[string]any{"path": "/pricing", "seconds": float64(5 + r.IntN(200))}
	case x < 90:
		ev.Type = "email.opened"
		ev.Properties = map[string]any{"message_id": fmt.Sprintf("m-%d", p.seq), "campaign": "newsletter"}
	case x < 92:
		ev.Type = "email.clicked"
		ev.Properties = map[string]any{"message_id": fmt.Sprintf("m-%d", p.seq), "url": "https://shop.example.com/sale"}
	case x < 95:
		ev.Type = "customer.updated"
		ev.Traits = map[string]any{"vip": r.IntN(10) == 0, "reviewed_last_order": r.IntN(2) == 0}
	case x < 99:
		ev.Type = "account.signed_in"
	default:
		ev.Type = "order.refunded"
		ev.Properties = map[string]any{"order_id": fmt.Sprintf("o-%s-%d", c.key, c.orders), "value": 20.0}
	}
	return ev
}

type queuedTimer struct {
	idx int
	t   sdk.Timer
}

// timerQueue is a min-heap of pending timers by due time.
type timerQueue []queuedTimer

func (q timerQueue) Len() int           { return len(q) }
func (q timerQueue) Less(i, j int) bool { return q[i].t.At.Before(q[j].t.At) }
func (q timerQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *timerQueue) Push(x any)        { *q = append(*q, x.(queuedTimer)) }
func (q *timerQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
