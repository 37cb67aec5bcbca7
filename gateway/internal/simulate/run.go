package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// DefaultUntil is how long the clock runs on after the last event, so
// that journeys with waits unfold.
const DefaultUntil = 30 * 24 * time.Hour

// maxBatch bounds the events sent to a simulation at once.
const maxBatch = 64

// DecodeFunc verifies and maps a raw webhook for a configured source, as
// the ingest does (ingest.Decode): req.Now is the webhook's receive time.
type DecodeFunc func(src ingest.Source, req *source.Request) (*source.Delivery, error)

// Target is one configuration to run the input through.
type Target struct {
	// Name says which configuration an error is about (its path).
	Name string
	// Plan is the prepared configuration.
	Plan *app.Plan
	// Store is the simulation's own key space: a store, or a store.Sub
	// view no one else uses.
	Store  *store.Store
	Logger hclog.Logger
}

// RunOptions tune a Runner.
type RunOptions struct {
	// Start is the virtual time the run begins at; zero means the first
	// item's time, else the wall clock.
	Start time.Time
	// Until is how long the clock runs on after the last item
	// (DefaultUntil when zero; negative: not at all).
	Until time.Duration
	// Decode maps raw webhooks; nil refuses them.
	Decode DecodeFunc
	// Messages keeps each queued message, rendered, in the result.
	Messages bool
	// Now is the wall clock, for a run whose input carries no times
	// (default time.Now).
	Now func() time.Time
}

// Result is what one configuration decided.
type Result struct {
	// Events counts the events sent (a raw webhook may carry several).
	Events int
	// Customers counts the customer records at the end of the run.
	Customers int
	// Decisions are every decision, in the order they were taken.
	Decisions []Decision
	// Messages are the queued messages by id, rendered, when
	// RunOptions.Messages is set.
	Messages map[string]Message
}

// Runner feeds input items to simulations of one or more configurations
// in lockstep, on a virtual clock:
//
//   - the clock starts at RunOptions.Start, else at the first item's time
//     (Item.Time), else at the wall clock;
//   - before an item whose time is later than the clock, the clock moves
//     to that time, firing every timer due on the way at its due time;
//     an item without a time, or with an earlier one, arrives at the
//     current virtual time;
//   - after the last item the clock runs on for RunOptions.Until.
//
// Decisions are collected after every step, so a customer's bounded trace
// never hides one.
type Runner struct {
	opts    RunOptions
	worlds  []*world
	started bool
	now     time.Time
}

// world is one target's simulation and what was collected from it.
type world struct {
	target  Target
	sources map[string]ingest.Source
	sim     *Simulator
	res     Result
	rev     int64               // the store revision collected up to
	seen    map[string]struct{} // decisions collected, by identity

	batch       []sdk.Event
	batchSource string
	batchIDs    map[string]bool
	batchPos    [2]string // first and last position in the batch
}

// NewRunner prepares a run of targets; nothing happens until Feed.
func NewRunner(targets []Target, opts RunOptions) *Runner {
	if opts.Until == 0 {
		opts.Until = DefaultUntil
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Runner{opts: opts}
	for _, t := range targets {
		w := &world{target: t, sources: map[string]ingest.Source{}, seen: map[string]struct{}{}, batchIDs: map[string]bool{}}
		for _, s := range t.Plan.Sources {
			w.sources[s.Name] = s
		}
		if opts.Messages {
			w.res.Messages = map[string]Message{}
		}
		r.worlds = append(r.worlds, w)
	}
	return r
}

// Close stops the simulations. The stores stay open.
func (r *Runner) Close() {
	for _, w := range r.worlds {
		if w.sim != nil {
			w.sim.Close()
		}
	}
}

func (r *Runner) start(at time.Time) {
	start := r.opts.Start
	if start.IsZero() {
		start = at
	}
	if start.IsZero() {
		start = r.opts.Now().UTC().Truncate(time.Second)
	}
	for _, w := range r.worlds {
		w.sim = New(w.target.Store, w.target.Plan, Options{Start: start, Logger: w.target.Logger})
	}
	r.now, r.started = start.UTC(), true
}

// Feed sends one item to every simulation, first moving the clock to the
// item's time if that is later. Errors name the item's position.
func (r *Runner) Feed(ctx context.Context, it Item) error {
	at := it.Time()
	if !r.started {
		r.start(at)
	}
	if at.After(r.now) {
		if err := r.flush(ctx); err != nil {
			return err
		}
		for _, w := range r.worlds {
			if err := w.advance(ctx, at, r.opts.Messages); err != nil {
				return fmt.Errorf("%s: moving the clock to %s: %w", it.Pos, at.Format(time.RFC3339), err)
			}
		}
		r.now = at
	}
	for _, w := range r.worlds {
		events, src, err := w.events(it, r.now, r.opts.Decode)
		if err != nil {
			return fmt.Errorf("%s: %w", it.Pos, err)
		}
		if err := w.add(ctx, it.Pos, src, events, r.opts.Messages); err != nil {
			return err
		}
	}
	return nil
}

// Finish sends what is pending, runs the clock on for RunOptions.Until
// and returns each target's result, in the order of the targets.
func (r *Runner) Finish(ctx context.Context) ([]*Result, error) {
	out := make([]*Result, len(r.worlds))
	if !r.started {
		for i, w := range r.worlds {
			out[i] = &w.res
		}
		return out, nil
	}
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	if r.opts.Until > 0 {
		end := r.now.Add(r.opts.Until)
		for _, w := range r.worlds {
			if err := w.advance(ctx, end, r.opts.Messages); err != nil {
				return nil, fmt.Errorf("running the clock on to %s: %w", end.Format(time.RFC3339), err)
			}
		}
		r.now = end
	}
	for i, w := range r.worlds {
		resp, err := w.target.Store.Client().Get(ctx, w.target.Store.Key("customers")+"/",
			clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return nil, fmt.Errorf("counting customers: %w", err)
		}
		w.res.Customers = int(resp.Count)
		out[i] = &w.res
	}
	return out, nil
}

func (r *Runner) flush(ctx context.Context) error {
	for _, w := range r.worlds {
		if err := w.flush(ctx, r.opts.Messages); err != nil {
			return err
		}
	}
	return nil
}

// events turns an item into the events this world's configuration
// receives, and the source they arrive through.
func (w *world) events(it Item, now time.Time, decode DecodeFunc) ([]sdk.Event, string, error) {
	if it.Event != nil {
		src := it.Event.Source
		if src == "" {
			src = "simulate"
		}
		return []sdk.Event{*it.Event}, src, nil
	}
	raw := it.Raw
	src, ok := w.sources[raw.Source]
	if !ok {
		return nil, "", fmt.Errorf("raw webhook for source %q, which %s does not define", clip(raw.Source), w.target.Name)
	}
	if decode == nil {
		return nil, "", fmt.Errorf("raw webhook for source %q: raw webhooks are not supported here", clip(raw.Source))
	}
	req, err := raw.Request()
	if err != nil {
		return nil, "", err
	}
	if raw.ReceivedAt.IsZero() {
		req.Now = now
	}
	d, err := decode(src, req)
	if err != nil {
		return nil, "", fmt.Errorf("source %q refused the webhook: %w", src.Name, err)
	}
	for _, ev := range d.Events {
		if ev.Customer.Key() == "" {
			return nil, "", fmt.Errorf("source %q mapped the webhook to an event (%s) with no customer identity", src.Name, clip(ev.Type))
		}
	}
	return d.Events, src.Name, nil
}

// add queues events for sending, first sending what is queued if they
// cannot join it.
func (w *world) add(ctx context.Context, pos, src string, events []sdk.Event, messages bool) error {
	join := src == w.batchSource && len(w.batch)+len(events) <= maxBatch
	for _, ev := range events {
		if ev.ID != "" && w.batchIDs[ev.ID] {
			join = false
		}
	}
	if !join {
		if err := w.flush(ctx, messages); err != nil {
			return err
		}
	}
	if len(w.batch) == 0 {
		w.batchSource, w.batchPos[0] = src, pos
	}
	w.batchPos[1] = pos
	for _, ev := range events {
		if ev.ID != "" {
			w.batchIDs[ev.ID] = true
		}
	}
	w.batch = append(w.batch, events...)
	w.res.Events += len(events)
	return nil
}

func (w *world) flush(ctx context.Context, messages bool) error {
	if len(w.batch) == 0 {
		return nil
	}
	pos := w.batchPos[0]
	if w.batchPos[1] != pos {
		pos += " to " + w.batchPos[1]
	}
	err := w.sim.SendFrom(ctx, w.batchSource, w.batch...)
	w.batch, w.batchSource = w.batch[:0], ""
	clear(w.batchIDs)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", pos, w.target.Name, err)
	}
	if err := w.collect(ctx, messages); err != nil {
		return fmt.Errorf("%s: %s: %w", pos, w.target.Name, err)
	}
	return nil
}

// advance moves the clock to t as AdvanceTo does, collecting decisions
// after each timer. With nothing pending (the batch is sent first) and
// every timer due by t processed, there is nothing left to drain at t.
func (w *world) advance(ctx context.Context, t time.Time, messages bool) error {
	return w.sim.advanceTo(ctx, t, func() error { return w.collect(ctx, messages) })
}

// collect adds the decisions taken since the last collect to the result:
// those in the traces of the customer records written since, that were
// not collected before (a merge carries a record's trace into another).
func (w *world) collect(ctx context.Context, messages bool) error {
	st := w.target.Store
	prefix := st.Key("customers") + "/"
	resp, err := st.Client().Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithMinModRev(w.rev+1))
	if err != nil {
		return fmt.Errorf("reading customers: %w", err)
	}
	rev := resp.Header.Revision
	var found []Decision
	for _, kv := range resp.Kvs {
		key, err := url.PathUnescape(strings.TrimPrefix(string(kv.Key), prefix))
		if err != nil {
			return fmt.Errorf("customer key %q: %w", kv.Key, err)
		}
		var rec customer.Record
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("customer %s: %w", key, err)
		}
		for _, d := range rec.Trace {
			id := decisionID(d)
			if _, ok := w.seen[id]; ok {
				continue
			}
			w.seen[id] = struct{}{}
			found = append(found, Decision{Customer: key, Decision: d})
		}
	}
	slices.SortStableFunc(found, func(a, b Decision) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Customer, b.Customer)
	})
	w.res.Decisions = append(w.res.Decisions, found...)
	if messages && len(found) > 0 {
		if err := w.collectMessages(ctx, rev); err != nil {
			return err
		}
	}
	w.rev = rev
	return nil
}

// collectMessages renders the messages queued since the last collect.
func (w *world) collectMessages(ctx context.Context, rev int64) error {
	st := w.target.Store
	resp, err := st.Client().Get(ctx, st.Key("outbox")+"/", clientv3.WithPrefix(),
		clientv3.WithMinModRev(w.rev+1), clientv3.WithRev(rev))
	if err != nil {
		return fmt.Errorf("reading the outbox: %w", err)
	}
	for _, kv := range resp.Kvs {
		e, err := outbox.Decode(kv.Value)
		if err != nil {
			return err
		}
		if _, ok := w.res.Messages[e.Message.ID]; !ok {
			w.res.Messages[e.Message.ID] = w.sim.render(e)
		}
	}
	return nil
}

// decisionID identifies a decision across customers' traces: the message
// id names the rule, step, customer and fire.
func decisionID(d customer.Decision) string {
	return strings.Join([]string{d.At.UTC().Format(time.RFC3339Nano), d.Rule, d.Step, d.EventID, d.Channel,
		d.MessageID, d.Outcome, d.Reason, d.Variant, d.Until.UTC().Format(time.RFC3339Nano)}, "\x00")
}
