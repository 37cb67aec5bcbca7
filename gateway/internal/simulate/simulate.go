// Package simulate runs events through a configuration's trigger rules on
// a virtual clock: the real engine, the real trigger plugins and the real
// policies, against a store of its own, with nothing delivered. It is what
// the journey scenario tests drive, and what an operator uses to see what
// a configuration would do before it goes live.
//
// Time only moves when the caller moves it. AdvanceTo steps the clock from
// one due timer to the next, processing each as the partition's owner
// would at that instant, so a week of journey runs in milliseconds and no
// timer is ever late.
package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

// Partitions is how many partitions a simulation spreads customers over:
// more than one, so that per-partition behaviour is exercised.
const Partitions = 8

// Options tune a simulation.
type Options struct {
	// Start is the virtual time the simulation begins at.
	Start  time.Time
	Logger hclog.Logger
}

// Simulator holds one simulated world: a store (a private key space),
// the engine over it, and the virtual clock.
type Simulator struct {
	store     *store.Store
	log       *eventlog.Log
	engine    *engine.Engine
	templates map[string]*render.Template
	location  *time.Location // for customers without a timezone

	mu  sync.Mutex
	now time.Time
	seq int
}

// New builds a simulator for a prepared plan on st, which it owns the keys
// of: give each simulation its own store or store.Sub view.
func New(st *store.Store, plan *app.Plan, opts Options) *Simulator {
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC) // a Monday morning
	}
	s := &Simulator{store: st, now: start.UTC(), templates: plan.Templates, location: plan.Policy.DefaultTimezone}
	s.log = eventlog.New(st, logger.Named("eventlog"), eventlog.WithPartitions(Partitions),
		eventlog.WithClock(s.Now), eventlog.WithCommitWindow(0))
	// A plugin that fails fails the simulation at once.
	engOpts := append(plan.EngineOptions(), engine.WithClock(s.Now), engine.WithMaxAttempts(1))
	s.engine = engine.New(st, s.log, plan.Rules, logger.Named("engine"), engOpts...)
	return s
}

// Close stops the simulator's event log. The store stays open.
func (s *Simulator) Close() { s.log.Close() }

// Now is the virtual time.
func (s *Simulator) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *Simulator) set(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.After(s.now) {
		s.now = t.UTC()
	}
}

// Send accepts events at the current virtual time, as the ingest would,
// and processes them with everything then due. An event without an id
// gets one; without times, the virtual now.
func (s *Simulator) Send(ctx context.Context, events ...sdk.Event) error {
	return s.SendFrom(ctx, "simulate", events...)
}

// SendFrom is Send for events that arrived through the named source: as
// at the ingest, an event whose delivery id that source has already
// delivered is a duplicate and is not processed again.
func (s *Simulator) SendFrom(ctx context.Context, source string, events ...sdk.Event) error {
	now := s.Now()
	for i := range events {
		ev := &events[i]
		if ev.ID == "" {
			s.mu.Lock()
			s.seq++
			ev.ID = fmt.Sprintf("sim_%06d", s.seq)
			s.mu.Unlock()
		}
		if ev.Source == "" {
			ev.Source, ev.SourceKind = "simulate", "simulate"
		}
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = now
		}
		if ev.ReceivedAt.IsZero() {
			ev.ReceivedAt = now
		}
		if sdk.ReservedType(ev.Type) {
			return fmt.Errorf("event %s: type %q is reserved for the gateway's own events", ev.ID, ev.Type)
		}
		if ev.Customer.Key() == "" {
			return fmt.Errorf("event %s: no customer identity", ev.ID)
		}
	}
	if _, err := s.log.Append(ctx, source, events, 0); err != nil {
		return fmt.Errorf("appending events: %w", err)
	}
	return s.drain(ctx)
}

// Advance moves the virtual clock forward by d; see AdvanceTo.
func (s *Simulator) Advance(ctx context.Context, d time.Duration) error {
	return s.AdvanceTo(ctx, s.Now().Add(d))
}

// AdvanceTo moves the virtual clock to t, stopping at every timer due on
// the way so that each fires at its due time, in order.
func (s *Simulator) AdvanceTo(ctx context.Context, t time.Time) error {
	if err := s.advanceTo(ctx, t, nil); err != nil {
		return err
	}
	return s.drain(ctx)
}

// advanceTo processes every timer due by t at its due time, calling
// after (if set) once each is processed, and leaves the clock at t.
func (s *Simulator) advanceTo(ctx context.Context, t time.Time, after func() error) error {
	for {
		due, ok := s.engine.NextTimer(ctx)
		if !ok || due.After(t) {
			break
		}
		s.set(due)
		if err := s.drain(ctx); err != nil {
			return err
		}
		if after != nil {
			if err := after(); err != nil {
				return err
			}
		}
	}
	s.set(t)
	return nil
}

func (s *Simulator) drain(ctx context.Context) error {
	if _, err := s.engine.Drain(ctx); err != nil {
		return fmt.Errorf("at %s: %w", s.Now().Format(time.RFC3339), err)
	}
	return nil
}

// Decision is one entry of a customer's decision trace.
type Decision struct {
	Customer string `json:"customer"`
	customer.Decision
}

// When is when the decision's message goes out: its deferral's end for a
// deferred message, the decision's time otherwise.
func (d Decision) When() time.Time {
	if !d.Until.IsZero() {
		return d.Until
	}
	return d.At
}

// String is a compact form for test failures and the simulate command:
// "2026-01-05T10:00:00Z id:c-1 cart/reminder email sent".
func (d Decision) String() string {
	return d.Format(func(t time.Time) string { return t.UTC().Format(time.RFC3339) })
}

// Format is String with times written by at.
func (d Decision) Format(at func(time.Time) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", at(d.At), d.Customer, d.Rule)
	if d.Step != "" {
		b.WriteString("/" + d.Step)
	}
	if d.Channel != "" {
		b.WriteString(" " + d.Channel)
	}
	b.WriteString(" " + d.Outcome)
	if d.Reason != "" {
		b.WriteString(" (" + d.Reason + ")")
	}
	if d.Variant != "" {
		b.WriteString(" variant=" + d.Variant)
	}
	if !d.Until.IsZero() {
		b.WriteString(" until " + at(d.Until))
	}
	return b.String()
}

// Decisions returns every customer's decision trace, oldest first (ties
// by customer). Each trace is bounded (customer.MaxTrace), so a
// simulation that makes more decisions for one customer sees the newest.
func (s *Simulator) Decisions(ctx context.Context) ([]Decision, error) {
	prefix := s.store.Key("customers") + "/"
	resp, err := s.store.Client().Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("reading customers: %w", err)
	}
	var out []Decision
	for _, kv := range resp.Kvs {
		key, err := url.PathUnescape(strings.TrimPrefix(string(kv.Key), prefix))
		if err != nil {
			return nil, fmt.Errorf("customer key %q: %w", kv.Key, err)
		}
		var rec customer.Record
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return nil, fmt.Errorf("customer %s: %w", key, err)
		}
		for _, d := range rec.Trace {
			out = append(out, Decision{Customer: key, Decision: d})
		}
	}
	slices.SortStableFunc(out, func(a, b Decision) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Customer, b.Customer)
	})
	return out, nil
}

// Customer returns a customer's stored record: profile, rule state and
// timers.
func (s *Simulator) Customer(ctx context.Context, key string) (*CustomerView, error) {
	return engine.ReadCustomer(ctx, s.store, key)
}

// CustomerView is a customer's stored record (engine.CustomerView).
type CustomerView = engine.CustomerView

// Message is a message the rules queued, rendered as the delivery worker
// would render it. RenderErr is why its template failed: at send time the
// message would go to the DLQ with that reason.
type Message struct {
	outbox.Entry
	Content   render.Content
	RenderErr error
}

// Messages returns every message queued so far (none is delivered), each
// rendered with its template, ordered by creation time then id.
func (s *Simulator) Messages(ctx context.Context) ([]Message, error) {
	prefix := s.store.Key("outbox") + "/"
	resp, err := s.store.Client().Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	out := make([]Message, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		e, err := outbox.Decode(kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, s.render(e))
	}
	slices.SortStableFunc(out, func(a, b Message) int {
		if c := a.Message.CreatedAt.Compare(b.Message.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Message.ID, b.Message.ID)
	})
	return out, nil
}

// render renders a queued message with its template, as the delivery
// worker would.
func (s *Simulator) render(e *outbox.Entry) Message {
	m := Message{Entry: *e}
	if e.Template != "" {
		t, ok := s.templates[e.Template]
		if !ok {
			m.RenderErr = fmt.Errorf("template %q is not defined", e.Template)
		} else {
			m.Content, m.RenderErr = t.Render(render.For(&e.Message, s.location))
		}
	}
	return m
}
