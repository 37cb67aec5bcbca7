package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

func TestTooOldGoesToDLQ(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *delivery.Channel) {
		c.Retry = &delivery.Policy{MaxAttempts: 100, MaxAge: 2 * time.Hour, BaseDelay: 90 * time.Minute, MaxDelay: 90 * time.Minute}
	})
	f.ch.answers["m1"] = []sdk.SendResult{sdk.Retry(errors.New("try later"), 0)}
	f.enqueue(t, "m1", "email", "", nil)

	next := f.runOnce(t)
	if deadline := f.clock.Now().Add(2 * time.Hour); next.After(deadline) {
		t.Fatalf("next attempt at %v, after the message's deadline %v", next, deadline)
	}
	f.clock.Add(2 * time.Hour)
	f.runOnce(t) // the last try, at the deadline, fails too
	var d outbox.DeadLetter
	if err := json.Unmarshal(f.entry(t, "dlq", "m1"), &d); err != nil {
		t.Fatalf("dlq entry for a message past max_age: %v", err)
	}
	if d.Attempts != 2 || !strings.Contains(d.Reason, "over 2h0m0s") {
		t.Fatalf("dead letter = %+v", d)
	}
}

func TestRateLimitPacesSends(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *delivery.Channel) { c.Limits.RatePerSecond = 2 })
	for _, id := range []string{"m1", "m2", "m3", "m4", "m5"} {
		f.enqueue(t, id, "email", "", nil)
	}
	next := f.runOnce(t)
	if n := len(f.ch.sent()); n != 2 {
		t.Fatalf("sent %d at once under a limit of 2/s (burst 2), want 2", n)
	}
	if wait := next.Sub(f.clock.Now()); wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("next look in %v, want when the next token is due (500ms)", wait)
	}
	f.runOnce(t)
	if n := len(f.ch.sent()); n != 2 {
		t.Fatalf("sent %d with no time passed, want still 2", n)
	}
	f.clock.Add(time.Second)
	f.runOnce(t)
	if n := len(f.ch.sent()); n != 4 {
		t.Fatalf("sent %d after a second, want 4", n)
	}
	f.clock.Add(500 * time.Millisecond)
	f.runOnce(t)
	if n := len(f.ch.sent()); n != 5 {
		t.Fatalf("sent %d, want all 5", n)
	}
}

// A provider that keeps failing opens the channel's breaker: messages
// wait, attempts unused, until the cooldown ends; then one message probes
// and, once it goes through, the rest follow.
func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	const cooldown = 200 * time.Millisecond
	f := newFixture(t, func(c *delivery.Channel) {
		c.Limits.BreakerFailures = 2
		c.Limits.BreakerCooldown = cooldown
	})
	f.ch.down = true
	f.enqueue(t, "m1", "email", "", nil)
	f.enqueue(t, "m2", "email", "", nil)
	for range 2 {
		f.runOnce(t) // fails the batch: attempts 1, then 2
		f.clock.Add(3 * time.Hour)
	}
	tried := len(f.ch.sent())
	opened := time.Now()
	f.runOnce(t)
	if n := len(f.ch.sent()); n != tried {
		t.Fatalf("breaker open, yet %d more messages went to the provider", n-tried)
	}
	var e outbox.Entry
	if err := json.Unmarshal(f.entry(t, "outbox", "m1"), &e); err != nil || e.Attempts != 2 {
		t.Fatalf("while the breaker is open, attempts = %d (%v), want 2", e.Attempts, err)
	}

	f.ch.mu.Lock()
	f.ch.down = false
	f.ch.mu.Unlock()
	// gobreaker keeps its own wall clock: wait out the cooldown.
	time.Sleep(time.Until(opened.Add(cooldown + 20*time.Millisecond)))
	f.runOnce(t)
	if got := f.ch.sent()[tried:]; len(got) != 1 {
		t.Fatalf("half-open breaker sent %d messages, want one probe", len(got))
	}
	f.runOnce(t)
	if f.count(t, "outbox") != 0 {
		t.Fatalf("after the probe succeeded, %d messages still wait", f.count(t, "outbox"))
	}
}

// blocking is a channel whose sends wait until released.
type blocking struct {
	scripted
	release chan struct{}
}

func (b *blocking) Send(ctx context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.scripted.Send(ctx, req)
}

// A provider that hangs holds back only its own channel.
func TestSlowChannelDoesNotHoldOthersBack(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	slow := &blocking{scripted: scripted{answers: map[string][]sdk.SendResult{}}, release: make(chan struct{})}
	fast := &scripted{answers: map[string][]sdk.SendResult{}, sentCh: make(chan string, 8)}
	w := delivery.New(st, map[string]delivery.Channel{
		"slow": {Name: "slow", Plugin: plugintest.Channel(t, slow), Config: sdk.RawConfig(`{}`)},
		"fast": {Name: "fast", Plugin: plugintest.Channel(t, fast), Config: sdk.RawConfig(`{}`)},
	}, nil, hclog.NewNullLogger(), delivery.WithIdleWait(time.Hour))
	put := func(id, channel string) {
		e := outbox.Entry{Message: sdk.Message{ID: id, Trigger: "t", Step: "default"}, Channel: channel}
		v, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Client().Put(t.Context(), st.Key(outbox.KeyParts(0, id)...), v); err != nil {
			t.Fatal(err)
		}
	}
	put("a-slow", "slow")
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(ctx) })
	defer func() {
		close(slow.release)
		cancel()
		wg.Wait()
	}()
	put("b-fast", "fast") // written while the slow send hangs
	select {
	case id := <-fast.sentCh:
		if id != "b-fast" {
			t.Fatalf("sent %s", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the fast channel's message waited on the slow channel")
	}
}
