package delivery_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// After Reconfigure, messages go through the new setup's plugin and
// template; a channel that is gone dead-letters its messages.
func TestReconfigureSwitchesChannelsAndTemplates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.enqueue(t, "m1", "email", "hello", map[string]any{"first_name": "Jane"})
	f.runOnce(t)

	next := &scripted{answers: map[string][]sdk.SendResult{}}
	tmpl, err := render.Parse("hello", "Hello again {{ .Customer.Traits.first_name }}", "v2", "")
	if err != nil {
		t.Fatal(err)
	}
	f.w.Reconfigure(delivery.Setup{
		Channels:  map[string]delivery.Channel{"email": {Name: "email", Plugin: plugintest.Channel(t, next), Config: sdk.RawConfig(`{}`)}},
		Templates: map[string]*render.Template{"hello": tmpl},
	})
	f.enqueue(t, "m2", "email", "hello", map[string]any{"first_name": "Jane"})
	f.runOnce(t)
	if got := next.sent(); len(got) != 1 || got[0].ID != "m2" || got[0].Subject != "Hello again Jane" {
		t.Fatalf("new plugin got %+v; want m2 rendered with the new template", got)
	}
	if n := len(f.ch.sent()); n != 1 {
		t.Fatalf("the old plugin got %d messages, want only m1", n)
	}

	f.w.Reconfigure(delivery.Setup{})
	f.enqueue(t, "m3", "email", "hello", nil)
	f.runOnce(t)
	if f.entry(t, "dlq", "m3") == nil {
		t.Fatal("a message for a removed channel was not dead-lettered")
	}
}

// gate is a channel whose sends wait to be released, and say when they
// start and when they have returned.
type gate struct {
	scripted
	entered  chan struct{}
	release  chan struct{}
	returned atomic.Bool
}

func (g *gate) Send(ctx context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	g.entered <- struct{}{}
	<-g.release
	defer g.returned.Store(true)
	return g.scripted.Send(ctx, req)
}

// Reconfigure waits for a send under way, so the old plugin is never
// called after it returns (its host may then be closed).
func TestReconfigureWaitsForSendsInFlight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	slow := &gate{scripted: scripted{answers: map[string][]sdk.SendResult{}}, entered: make(chan struct{}, 1), release: make(chan struct{})}
	f.w.Reconfigure(delivery.Setup{Channels: map[string]delivery.Channel{
		"email": {Name: "email", Plugin: plugintest.Channel(t, slow), Config: sdk.RawConfig(`{}`)}}})
	f.enqueue(t, "m1", "email", "", nil)

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = f.w.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	<-slow.entered
	reconfigured := make(chan bool)
	go func() {
		f.w.Reconfigure(delivery.Setup{})
		reconfigured <- slow.returned.Load()
	}()
	select {
	case <-reconfigured:
		t.Fatal("Reconfigure returned while a send was in flight")
	case <-time.After(100 * time.Millisecond): // it must still be waiting
	}
	close(slow.release)
	if sendEnded := <-reconfigured; !sendEnded {
		t.Fatal("Reconfigure returned before the send did")
	}
}
