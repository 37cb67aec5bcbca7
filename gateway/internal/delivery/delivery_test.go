package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// scripted is a channel that answers each message id from a script and
// records what it was sent.
type scripted struct {
	mu      sync.Mutex
	answers map[string][]sdk.SendResult // consumed in order; the last repeats
	down    bool
	got     []sdk.Message
	sentCh  chan string // if set, gets every message id sent
}

func (s *scripted) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "scripted"}, nil
}

func (s *scripted) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (s *scripted) Send(_ context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errors.New("provider unreachable")
	}
	out := &sdk.SendResponse{}
	for _, m := range req.Messages {
		s.got = append(s.got, m)
		if s.sentCh != nil {
			s.sentCh <- m.ID
		}
		script := s.answers[m.ID]
		res := sdk.Sent("p-" + m.ID)
		if len(script) > 0 {
			res = script[0]
			if len(script) > 1 {
				s.answers[m.ID] = script[1:]
			}
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

func (s *scripted) sent() []sdk.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sdk.Message(nil), s.got...)
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

type fixture struct {
	st    *store.Store
	ch    *scripted
	clock *clock
	w     *delivery.Worker
}

// newFixture delivers to one channel, "email", whose settings the given
// functions may change.
func newFixture(t *testing.T, configure ...func(*delivery.Channel)) *fixture {
	t.Helper()
	st := storetest.Start(t)
	ch := &scripted{answers: map[string][]sdk.SendResult{}}
	tmpl, err := render.Parse("hello", "Hi {{ .Customer.Traits.first_name }}", "Order {{ .Event.Properties.order_id }}", "")
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	email := delivery.Channel{Name: "email", Plugin: plugintest.Channel(t, ch), Config: sdk.RawConfig(`{}`)}
	for _, f := range configure {
		f(&email)
	}
	w := delivery.New(st,
		map[string]delivery.Channel{"email": email},
		map[string]*render.Template{"hello": tmpl},
		hclog.NewNullLogger(),
		delivery.WithClock(c.Now),
		delivery.WithPolicy(delivery.Policy{MaxAttempts: 3, BaseDelay: time.Minute, MaxDelay: time.Hour}),
	)
	return &fixture{st: st, ch: ch, clock: c, w: w}
}

func (f *fixture) enqueue(t *testing.T, id, channel, template string, traits map[string]any) {
	t.Helper()
	e := outbox.Entry{
		Message: sdk.Message{
			ID: id, Trigger: "t", Step: "default", CreatedAt: f.clock.Now(),
			Profile: sdk.Profile{Customer: sdk.Customer{Email: "a@example.com"}, Traits: traits},
			Event:   sdk.Event{ID: "ev", Type: "order.placed", Properties: map[string]any{"order_id": "o-1"}},
		},
		Channel: channel, Template: template, NextAttemptAt: f.clock.Now(),
	}
	v, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Client().Put(t.Context(), f.st.Key("outbox", id), v); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) entry(t *testing.T, prefix, id string) []byte {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key(prefix, id))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	return resp.Kvs[0].Value
}

func (f *fixture) count(t *testing.T, prefix string) int64 {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key(prefix)+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

func (f *fixture) runOnce(t *testing.T) time.Time {
	t.Helper()
	next, err := f.w.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return next
}

func TestDeliveredIsRemovedAndRendered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.enqueue(t, "m1", "email", "hello", map[string]any{"first_name": "Jane"})
	f.runOnce(t)
	sent := f.ch.sent()
	if len(sent) != 1 || sent[0].Subject != "Hi Jane" || sent[0].Text != "Order o-1" || sent[0].Attempt != 1 {
		t.Fatalf("sent = %+v", sent)
	}
	if f.entry(t, "outbox", "m1") != nil {
		t.Fatal("delivered message still in the outbox")
	}
	f.runOnce(t)
	if n := len(f.ch.sent()); n != 1 {
		t.Fatalf("message sent %d times, want once", n)
	}
}

func TestRetryHonoursRetryAfterThenDelivers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ch.answers["m1"] = []sdk.SendResult{sdk.Retry(errors.New("rate limited"), 2*time.Hour), sdk.Sent("ok")}
	f.enqueue(t, "m1", "email", "", nil)

	next := f.runOnce(t)
	var e outbox.Entry
	if err := json.Unmarshal(f.entry(t, "outbox", "m1"), &e); err != nil {
		t.Fatal(err)
	}
	if e.Attempts != 1 || e.LastError != "rate limited" {
		t.Fatalf("after a retryable failure: %+v", e)
	}
	if wait := e.NextAttemptAt.Sub(f.clock.Now()); wait < 2*time.Hour {
		t.Fatalf("rescheduled in %v, want at least the provider's Retry-After of 2h", wait)
	}
	if !next.Equal(e.NextAttemptAt) {
		t.Fatalf("RunOnce says next is %v, entry says %v", next, e.NextAttemptAt)
	}

	f.clock.Add(time.Hour)
	f.runOnce(t)
	if n := len(f.ch.sent()); n != 1 {
		t.Fatalf("sent %d times before the retry was due, want 1", n)
	}
	f.clock.Add(2 * time.Hour)
	f.runOnce(t)
	sent := f.ch.sent()
	if len(sent) != 2 || sent[1].ID != "m1" || sent[1].Attempt != 2 {
		t.Fatalf("retry: %+v", sent)
	}
	if f.entry(t, "outbox", "m1") != nil {
		t.Fatal("message still in the outbox after delivery")
	}
}

func TestPermanentFailureGoesToDLQ(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ch.answers["m1"] = []sdk.SendResult{sdk.Fail(errors.New("mailbox does not exist"))}
	f.enqueue(t, "m1", "email", "", nil)
	f.runOnce(t)
	var d outbox.DeadLetter
	if err := json.Unmarshal(f.entry(t, "dlq", "m1"), &d); err != nil {
		t.Fatalf("dlq entry: %v", err)
	}
	if d.Reason != "mailbox does not exist" || d.Message.ID != "m1" {
		t.Fatalf("dead letter = %+v", d)
	}
	if f.count(t, "outbox") != 0 {
		t.Fatal("dead-lettered message still in the outbox")
	}
}

func TestOutOfAttemptsGoesToDLQ(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ch.down = true
	f.enqueue(t, "m1", "email", "", nil)
	for range 3 {
		f.runOnce(t)
		f.clock.Add(3 * time.Hour) // past any backoff of this policy
	}
	var d outbox.DeadLetter
	if err := json.Unmarshal(f.entry(t, "dlq", "m1"), &d); err != nil {
		t.Fatalf("dlq entry after 3 failed attempts: %v", err)
	}
	if d.Attempts != 3 || d.LastError == "" {
		t.Fatalf("dead letter = %+v", d)
	}
}

func TestRenderErrorIsNeverABlankMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.enqueue(t, "m1", "email", "hello", map[string]any{}) // no first_name
	f.enqueue(t, "m2", "sms", "", nil)                     // no such channel
	f.runOnce(t)
	if sent := f.ch.sent(); len(sent) != 0 {
		t.Fatalf("sent %+v, want nothing", sent)
	}
	for _, id := range []string{"m1", "m2"} {
		var d outbox.DeadLetter
		if err := json.Unmarshal(f.entry(t, "dlq", id), &d); err != nil {
			t.Fatalf("dlq %s: %v", id, err)
		}
		if d.Reason == "" {
			t.Fatalf("dlq %s has no reason", id)
		}
	}
}

func TestPolicyDelay(t *testing.T) {
	t.Parallel()
	p := delivery.Policy{BaseDelay: time.Second, MaxDelay: time.Minute}
	for attempt, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 30: time.Minute} {
		for range 50 {
			d := p.Delay(attempt, 0)
			if d < base/2 || d > base*3/2 {
				t.Fatalf("Delay(%d) = %v, want within ±50%% of %v", attempt, d, base)
			}
		}
	}
	if d := p.Delay(1, time.Hour); d != time.Hour {
		t.Fatalf("Delay with Retry-After 1h = %v", d)
	}
}

// TestShardsDeliverOwnedPartitions runs the worker as the gateway does:
// four shards over sixteen partitions, woken by the outbox watch (the idle
// re-read is an hour away), sending only the partitions the node owns.
func TestShardsDeliverOwnedPartitions(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	ch := &scripted{answers: map[string][]sdk.SendResult{}, sentCh: make(chan string, 64)}
	const partitions, notOwned = 16, 3
	w := delivery.New(st,
		map[string]delivery.Channel{"email": {Name: "email", Plugin: plugintest.Channel(t, ch), Config: sdk.RawConfig(`{}`)}},
		nil, hclog.NewNullLogger(),
		delivery.WithShards(4, partitions),
		delivery.WithIdleWait(time.Hour),
		delivery.WithOwnership(func(p int) bool { return p != notOwned }),
	)
	put := func(p int) string {
		id := fmt.Sprintf("m-%02d", p)
		e := outbox.Entry{Message: sdk.Message{ID: id, Trigger: "t", Step: "default"}, Partition: p, Channel: "email"}
		v, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Client().Put(t.Context(), st.Key(outbox.KeyParts(p, id)...), v); err != nil {
			t.Fatal(err)
		}
		return id
	}
	want := map[string]bool{}
	for p := range partitions - 1 { // the last partition gets a message later
		if id := put(p); p != notOwned {
			want[id] = true
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	await := func(want map[string]bool) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for len(want) > 0 {
			select {
			case id := <-ch.sentCh:
				if !want[id] {
					t.Fatalf("sent %s, which is not due to be sent (waiting for %v)", id, want)
				}
				delete(want, id)
			case <-timeout:
				t.Fatalf("not delivered: %v", want)
			}
		}
	}
	await(want)
	// Written while every shard waits: only the watch can wake its shard.
	await(map[string]bool{put(partitions - 1): true})
	// Sending comes before settling: wait, watching the outbox, until only
	// the unowned partition's entry is left.
	unowned := st.Key(outbox.KeyParts(notOwned, fmt.Sprintf("m-%02d", notOwned))...)
	wctx, wcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer wcancel()
	for {
		resp, err := st.Client().Get(wctx, st.Key("outbox")+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			t.Fatalf("outbox entries never settled: %v", err)
		}
		if len(resp.Kvs) == 1 && string(resp.Kvs[0].Key) == unowned {
			return
		}
		for wr := range st.Client().Watch(wctx, st.Key("outbox")+"/", clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
			if len(wr.Events) > 0 || wr.Err() != nil {
				break
			}
		}
	}
}
