package delivery_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// gated holds its first Send open until gate is closed, and reports every
// message it is given.
type gated struct {
	sent  chan string
	first atomic.Bool
	gate  chan struct{}
}

func (g *gated) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "gated"}, nil
}

func (g *gated) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (g *gated) Send(_ context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	for _, m := range req.Messages {
		g.sent <- m.ID
	}
	if g.first.CompareAndSwap(false, true) {
		<-g.gate
	}
	out := &sdk.SendResponse{}
	for range req.Messages {
		out.Results = append(out.Results, sdk.Sent("p"))
	}
	return out, nil
}

// A message read while its channel's send is in flight must not be sent
// from that read: the send may settle it in the meantime. (It was: a pass
// read the outbox, the batch in flight delivered and deleted A and freed
// the channel, and the pass then sent A again from what it had read.)
func TestNoSendFromAReadTakenDuringASend(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	ch := &gated{sent: make(chan string, 16), gate: make(chan struct{})}
	var armed atomic.Bool
	paused, resume := make(chan struct{}), make(chan struct{})
	now := func() time.Time {
		if armed.CompareAndSwap(true, false) {
			close(paused) // a pass has just read the outbox
			<-resume
		}
		return time.Now()
	}
	released := make(chan struct{}, 16)
	w := delivery.New(st, map[string]delivery.Channel{"email": {Name: "email", Plugin: plugintest.Channel(t, ch), Config: sdk.RawConfig(`{}`)}},
		nil, hclog.NewNullLogger(), delivery.WithIdleWait(time.Hour), delivery.WithClock(now),
		delivery.OnRelease(func(string, int) { released <- struct{}{} }))
	put := func(id string) {
		e := outbox.Entry{Message: sdk.Message{ID: id, Trigger: "t", Step: "s"}, Channel: "email"}
		v, _ := e.Encode()
		if _, err := st.Client().Put(t.Context(), st.Key(outbox.KeyParts(0, id)...), v); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	put("A")
	if id := <-ch.sent; id != "A" {
		t.Fatalf("first send %s", id)
	}
	// A's send hangs. B's write wakes the shard; hold any pass that reads
	// the outbox now right after its read.
	armed.Store(true)
	put("B")
	read := false
	select {
	case <-paused:
		read = true
	case <-time.After(300 * time.Millisecond): // no pass read: the channel is busy
		armed.Store(false)
	}
	close(ch.gate) // A is delivered, settled and its channel freed
	<-released
	if read {
		close(resume) // the held pass goes on with what it read
	}
	counts := map[string]int{"A": 1}
	for counts["B"] == 0 {
		select {
		case id := <-ch.sent:
			counts[id]++
		case <-time.After(30 * time.Second):
			t.Fatalf("B never sent: %v", counts)
		}
	}
	if counts["A"] != 1 {
		t.Fatalf("A was sent %d times, though delivered and deleted before the second send", counts["A"])
	}
}
