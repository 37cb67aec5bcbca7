package engine_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/policy"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// reminder is a trigger that sets timer "r" an hour after a "start"
// event (a later start moves it), cancels it on "cancel", fires step
// "now" on "ping" and step "reminder" when the timer fires.
type reminder struct {
	mu    sync.Mutex
	fired []string // timer ids seen in timer.fired items
}

func (r *reminder) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "reminder"}, nil
}

func (r *reminder) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (r *reminder) Evaluate(_ context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	out := &sdk.EvaluateResponse{}
	for _, it := range req.Items {
		var res sdk.Result
		switch it.Event.Type {
		case "start":
			res.SetTimers = []sdk.Timer{{ID: "r", At: it.Now.Add(time.Hour), Data: map[string]any{"from": it.Event.ID}}}
		case "cancel":
			res.CancelTimers = []string{"r"}
		case "ping":
			res.Fires = []sdk.Fire{{Step: "now", Key: it.Event.ID}}
		case engine.TimerFired:
			r.mu.Lock()
			r.fired = append(r.fired, it.Timer.ID)
			r.mu.Unlock()
			res.Fires = []sdk.Fire{{Step: "reminder", Key: it.Timer.Data["from"].(string), Data: map[string]any{"from": it.Timer.Data["from"]}}}
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

func (r *reminder) timerFires() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.fired)
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type timerFixture struct {
	st    *store.Store
	log   *eventlog.Log
	trig  *reminder
	clock *clock
	opts  []engine.Option
	rule  engine.Rule
}

func newTimerFixture(t *testing.T, rule engine.Rule, opts ...engine.Option) *timerFixture {
	t.Helper()
	st := storetest.Start(t)
	f := &timerFixture{st: st, log: eventlog.New(st, hclog.NewNullLogger()), trig: &reminder{},
		clock: &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}}
	rule.Trigger = plugintest.Trigger(t, f.trig)
	if rule.Name == "" {
		rule.Name = "cart"
	}
	if rule.Config == nil {
		rule.Config = sdk.RawConfig(`{}`)
	}
	if rule.Actions == nil {
		rule.Actions = []engine.Action{{Channel: "email", Template: "t"}}
	}
	f.rule = rule
	f.opts = append([]engine.Option{engine.WithClock(f.clock.Now)}, opts...)
	return f
}

// engine returns a fresh engine over the fixture's store, as a restarted
// gateway (or another node) would have.
func (f *timerFixture) engine() *engine.Engine {
	return engine.New(f.st, f.log, []engine.Rule{f.rule}, hclog.NewNullLogger(), f.opts...)
}

func (f *timerFixture) send(t *testing.T, id, typ string, props map[string]any) {
	t.Helper()
	ev := sdk.Event{ID: id, Type: typ, Source: "test", DeliveryID: id, Customer: sdk.Customer{ID: "c1", Email: "c1@example.com"},
		Properties: props, OccurredAt: f.clock.Now()}
	if _, err := f.log.Append(t.Context(), "test", []sdk.Event{ev}, 0); err != nil {
		t.Fatal(err)
	}
}

func (f *timerFixture) drain(t *testing.T, e *engine.Engine) int {
	t.Helper()
	n, err := e.Drain(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// messages returns the outbox entries by step.
func (f *timerFixture) messages(t *testing.T) map[string][]*outbox.Entry {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key("outbox")+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*outbox.Entry{}
	for _, kv := range resp.Kvs {
		e, err := outbox.Decode(kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Message.Step] = append(out[e.Message.Step], e)
	}
	return out
}

func (f *timerFixture) count(t *testing.T, prefix string) int64 {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key(prefix)+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

func (f *timerFixture) record(t *testing.T) customer.Record {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key("customers", "id:c1"))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("customer record: %v (%d keys)", err, len(resp.Kvs))
	}
	var r customer.Record
	if err := json.Unmarshal(resp.Kvs[0].Value, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTimerFiresOnceAtItsTimeEvenAfterARestart(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{})
	e := f.engine()
	f.send(t, "s1", "start", nil)
	f.drain(t, e)
	if n := f.count(t, "timers"); n != 1 {
		t.Fatalf("%d timer keys after start, want 1", n)
	}

	f.clock.Add(time.Hour - time.Second)
	if n := f.drain(t, e); n != 0 || f.trig.timerFires() != 0 {
		t.Fatalf("a second early: drained %d, timer fired %d times", n, f.trig.timerFires())
	}

	// The gateway restarts before the timer is due; the new engine fires
	// it, once.
	f.clock.Add(time.Second)
	e2 := f.engine()
	if n := f.drain(t, e2); n != 1 {
		t.Fatalf("at the due time: drained %d, want the timer", n)
	}
	f.drain(t, e2)
	f.drain(t, e)
	if got := f.trig.timerFires(); got != 1 {
		t.Fatalf("timer fired %d times, want 1", got)
	}
	msgs := f.messages(t)["reminder"]
	if len(msgs) != 1 || msgs[0].Message.Event.Type != engine.TimerFired || msgs[0].Message.Fire["from"] != "s1" {
		t.Fatalf("reminder messages: %+v", msgs)
	}
	if n := f.count(t, "timers"); n != 0 {
		t.Fatalf("%d timer keys left after firing", n)
	}
	if r := f.record(t); len(r.Trace) != 1 || r.Trace[0].Outcome != policy.Sent {
		t.Fatalf("trace = %+v", r.Trace)
	}
}

func TestCancelledAndMovedTimers(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{})
	e := f.engine()
	f.send(t, "s1", "start", nil)
	f.drain(t, e)
	f.clock.Add(30 * time.Minute)
	f.send(t, "s2", "start", nil) // moves the timer to 11:30
	f.drain(t, e)
	if n := f.count(t, "timers"); n != 1 {
		t.Fatalf("%d timer keys after the move, want 1 (the old one deleted)", n)
	}
	f.clock.Add(45 * time.Minute) // 11:15: the old time has passed
	f.drain(t, e)
	if f.trig.timerFires() != 0 {
		t.Fatal("the moved timer fired at its old time")
	}
	f.clock.Add(15 * time.Minute)
	f.drain(t, e)
	if msgs := f.messages(t)["reminder"]; len(msgs) != 1 || msgs[0].Message.Fire["from"] != "s2" {
		t.Fatalf("reminders: %+v", msgs)
	}

	f.send(t, "s3", "start", nil)
	f.drain(t, e)
	f.send(t, "c1", "cancel", nil)
	f.drain(t, e)
	f.clock.Add(2 * time.Hour)
	f.drain(t, e)
	if f.trig.timerFires() != 1 || f.count(t, "timers") != 0 {
		t.Fatalf("after cancel: %d timer fires, %d keys", f.trig.timerFires(), f.count(t, "timers"))
	}
}

func TestTimerTooLateIsDroppedAndRecorded(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{}, engine.WithTimerLateness(6*time.Hour))
	e := f.engine()
	f.send(t, "s1", "start", nil)
	f.drain(t, e)
	f.clock.Add(time.Hour + 6*time.Hour + time.Second) // the gateway was down all along
	f.drain(t, e)
	if f.trig.timerFires() != 0 || len(f.messages(t)["reminder"]) != 0 {
		t.Fatal("a timer later than the limit fired")
	}
	r := f.record(t)
	if len(r.Trace) != 1 || r.Trace[0].Outcome != policy.Dropped || r.Trace[0].Reason != "timer_too_late" {
		t.Fatalf("trace = %+v", r.Trace)
	}
	if f.count(t, "timers") != 0 {
		t.Fatal("the dropped timer's key is still there")
	}
}

func TestPoliciesOnFires(t *testing.T) {
	t.Parallel()
	quiet := &policy.QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour, Action: "defer"}
	f := newTimerFixture(t, engine.Rule{Policy: policy.Rule{Cap: policy.Cap{Max: 2, Per: 24 * time.Hour}}},
		engine.WithPolicy(&policy.Global{Quiet: quiet}),
		engine.WithChannelKinds(map[string]string{"email": "email"}))
	e := f.engine()

	f.send(t, "p1", "ping", nil)
	f.send(t, "p1b", "ping", nil)
	f.send(t, "p2", "ping", nil) // third within 24h: capped
	f.drain(t, e)
	if n := len(f.messages(t)["now"]); n != 2 {
		t.Fatalf("%d messages, want 2 (cap)", n)
	}
	r := f.record(t)
	if last := r.Trace[len(r.Trace)-1]; last.Outcome != policy.Suppressed || last.Reason != policy.ReasonFrequencyCap || last.EventID != "p2" {
		t.Fatalf("last decision = %+v", last)
	}

	// The next day at 22:00 UTC: deferred to 08:00.
	f.clock.Add(36 * time.Hour)
	f.send(t, "p3", "ping", nil)
	f.drain(t, e)
	var deferred *outbox.Entry
	for _, m := range f.messages(t)["now"] {
		if m.Message.Event.ID == "p3" {
			deferred = m
		}
	}
	if want := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC); deferred == nil || !deferred.NextAttemptAt.Equal(want) {
		t.Fatalf("p3's message: %+v, want it due at %v", deferred, want)
	}

	// Unsubscribed: nothing more, and the trace says why.
	f.clock.Add(12 * time.Hour)
	f.send(t, "u1", "email.unsubscribed", nil)
	f.send(t, "p4", "ping", nil)
	f.drain(t, e)
	r = f.record(t)
	if last := r.Trace[len(r.Trace)-1]; last.Outcome != policy.Suppressed || last.Reason != policy.ReasonConsent || last.EventID != "p4" {
		t.Fatalf("last decision = %+v", last)
	}
	if n := len(f.messages(t)["now"]); n != 3 {
		t.Fatalf("%d messages, want 3", n)
	}
}

func TestEraseRemovesRecordTimersAndPendingMessages(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{})
	e := f.engine()
	f.send(t, "p1", "ping", nil)  // a message waiting in the outbox
	f.send(t, "s1", "start", nil) // a timer
	f.drain(t, e)
	// Dead letters: one of the customer's, one of someone else's.
	for id, cust := range map[string]string{"msg_mine": "id:c1", "msg_other": "id:c2"} {
		b, _ := json.Marshal(outbox.DeadLetter{Entry: outbox.Entry{Message: sdk.Message{ID: id}, Channel: "email", Customer: cust}, Reason: "400"})
		if _, err := f.st.Client().Put(t.Context(), f.st.Key("dlq", id), string(b)); err != nil {
			t.Fatal(err)
		}
	}
	if f.count(t, "outbox") != 1 || f.count(t, "timers") != 1 || f.count(t, "customers") != 1 {
		t.Fatalf("before: %d messages, %d timers, %d customers", f.count(t, "outbox"), f.count(t, "timers"), f.count(t, "customers"))
	}
	if _, err := engine.Erase(t.Context(), f.log, "id:c1", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.drain(t, e)
	if f.count(t, "outbox") != 0 || f.count(t, "timers") != 0 || f.count(t, "customers") != 0 || f.count(t, "dlq") != 1 {
		t.Fatalf("after: %d messages, %d timers, %d customers, %d dead letters (want the other customer's)",
			f.count(t, "outbox"), f.count(t, "timers"), f.count(t, "customers"), f.count(t, "dlq"))
	}
	f.clock.Add(2 * time.Hour)
	f.drain(t, e)
	if f.trig.timerFires() != 0 {
		t.Fatal("an erased customer's timer fired")
	}
	// A later event starts afresh.
	f.send(t, "p2", "ping", nil)
	f.drain(t, e)
	if r := f.record(t); len(r.Trace) != 1 || r.Trace[0].EventID != "p2" {
		t.Fatalf("new record's trace = %+v", r.Trace)
	}
}

func TestActionStepsFilter(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{Actions: []engine.Action{
		{Channel: "email", Template: "reminder", Steps: []string{"reminder"}},
		{Channel: "log"},
	}})
	e := f.engine()
	f.send(t, "p1", "ping", nil)  // step "now": the log action only
	f.send(t, "s1", "start", nil) // step "reminder" an hour later: both
	f.drain(t, e)
	f.clock.Add(time.Hour)
	f.drain(t, e)
	got := map[string][]string{}
	for step, ms := range f.messages(t) {
		for _, m := range ms {
			got[step] = append(got[step], m.Channel)
		}
	}
	if len(got["now"]) != 1 || got["now"][0] != "log" || len(got["reminder"]) != 2 {
		t.Fatalf("channels by step: %v", got)
	}
}
