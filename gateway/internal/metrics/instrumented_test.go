package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/backlog"
	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

func sdkEvent(id, customer string) sdk.Event {
	return sdk.Event{ID: id, Type: "page.viewed", Customer: sdk.Customer{ID: customer}, OccurredAt: time.Now().UTC()}
}

// TestCommitBatchSizeAndLatency appends through a real event log. It is
// not parallel: the commit histograms have no labels, and the other
// tests that commit run in parallel, after it.
func TestCommitBatchSizeAndLatency(t *testing.T) {
	st := storetest.Shared(t)
	lg := eventlog.New(st, hclog.NewNullLogger())
	t.Cleanup(lg.Close)
	before := get(t)
	// One delivery of three events is one transaction; a delivery seen
	// before commits nothing new but still makes one.
	events := []sdk.Event{sdkEvent("c1", "a"), sdkEvent("c2", "b"), sdkEvent("c3", "c")}
	if _, err := lg.Append(t.Context(), "s", events, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Append(t.Context(), "s", events[:1], 0); err != nil {
		t.Fatal(err)
	}
	after := get(t)
	if got := after.value("triggergate_eventlog_commit_batch_size") - before.value("triggergate_eventlog_commit_batch_size"); got != 2 {
		t.Errorf("%v commits observed, want 2", got)
	}
	if got := after.sum("triggergate_eventlog_commit_batch_size") - before.sum("triggergate_eventlog_commit_batch_size"); got != 4 {
		t.Errorf("batch sizes add up to %v, want 3+1", got)
	}
	if got := after.value("triggergate_eventlog_commit_seconds") - before.value("triggergate_eventlog_commit_seconds"); got != 2 {
		t.Errorf("%v commit latencies observed, want 2", got)
	}
	if got := after.sum("triggergate_eventlog_commit_seconds") - before.sum("triggergate_eventlog_commit_seconds"); got <= 0 {
		t.Errorf("commits took %vs in all, want more than 0", got)
	}
}

func TestBacklogPerPartition(t *testing.T) {
	t.Parallel()
	st := storetest.Shared(t)
	// A partition count no other test uses, so that no other monitor
	// sets these series.
	const partitions = 3
	lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(partitions))
	t.Cleanup(lg.Close)
	hot := lg.Partition("id:hot")
	for i := range 4 {
		if _, err := lg.Append(t.Context(), "s", []sdk.Event{sdkEvent(fmt.Sprintf("b%d", i), "hot")}, 0); err != nil {
			t.Fatal(err)
		}
	}
	m := backlog.New(st, lg, hclog.NewNullLogger(), backlog.WithInterval(10*time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	// A sweep sets the partitions one after the other: wait for one that
	// has set them all.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := get(t)
		done := true
		for p := range partitions {
			want := 0.0
			if p == hot {
				want = 4
			}
			m := s.series("triggergate_backlog_events", "partition", strconv.Itoa(p))
			done = done && m != nil && m.GetGauge().GetValue() == want
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog_events never showed 4 in partition %d and 0 elsewhere: %v", hot, s["triggergate_backlog_events"])
		}
		time.Sleep(5 * time.Millisecond) // poll interval
	}
}

func TestPluginCallsAndRestarts(t *testing.T) {
	t.Parallel()
	dir := pluginhosttest.Build(t, "plugins/event")
	h := pluginhost.New(hclog.NewNullLogger(), pluginhost.WithDir(dir),
		pluginhost.WithRestartBackoff(10*time.Millisecond, 50*time.Millisecond), pluginhost.WithCallTimeout(10*time.Second))
	t.Cleanup(h.Close)
	// The plugin's configured name, unique to this test, is the label.
	h.Register(pluginhost.Spec{Name: "metrics-event", Path: filepath.Join(dir, "event")})
	tr, err := h.Trigger("metrics-event")
	if err != nil {
		t.Fatal(err)
	}
	evaluate := func() error {
		_, err := tr.Evaluate(t.Context(), &sdk.EvaluateRequest{
			Rules: map[string]sdk.RawConfig{"r": sdk.RawConfig(`{"on":["order.placed"]}`)},
			Items: []sdk.EvaluateItem{{Rule: "r", Now: time.Now(),
				Event: sdk.Event{ID: "e1", Type: "order.placed", Customer: sdk.Customer{Email: "a@example.com"}}}},
		})
		return err
	}
	before := get(t)
	if err := evaluate(); err != nil {
		t.Fatal(err)
	}
	if err := evaluate(); err != nil {
		t.Fatal(err)
	}
	delta := func(s scrape, name string, labels ...string) float64 {
		return s.value(name, labels...) - before.value(name, labels...)
	}
	s := get(t)
	if got := delta(s, "triggergate_plugin_call_seconds", "plugin", "metrics-event", "method", "Evaluate"); got != 2 {
		t.Fatalf("Evaluate calls observed: %v, want 2", got)
	}
	if got := delta(s, "triggergate_plugin_call_seconds", "plugin", "metrics-event", "method", "Describe"); got != 1 {
		t.Fatalf("Describe calls observed: %v, want the 1 made at start", got)
	}
	if got := delta(s, "triggergate_plugin_restarts_total", "plugin", "metrics-event"); got != 0 {
		t.Fatalf("restarts before any death: %v", got)
	}

	if err := syscall.Kill(h.Processes()[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := evaluate()
		if err == nil {
			break
		}
		if !errors.Is(err, pluginhost.ErrPluginGone) || time.Now().After(deadline) {
			t.Fatalf("calling after the kill: %v", err)
		}
	}
	s = get(t)
	if got := delta(s, "triggergate_plugin_restarts_total", "plugin", "metrics-event"); got != 1 {
		t.Fatalf("restarts after one death: %v, want 1", got)
	}
	if got := delta(s, "triggergate_plugin_call_seconds", "plugin", "metrics-event", "method", "Evaluate"); got < 3 {
		t.Fatalf("Evaluate calls observed: %v, want the failed and the good ones (at least 3)", got)
	}
}

// scripted answers each message as its id says.
type scripted struct{}

func (scripted) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "scripted", Kind: sdk.KindChannel}, nil
}

func (scripted) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (scripted) Send(_ context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	out := &sdk.SendResponse{}
	for _, m := range req.Messages {
		switch m.ID {
		case "retry":
			out.Results = append(out.Results, sdk.Retry(errors.New("busy"), 0))
		case "fail":
			out.Results = append(out.Results, sdk.Fail(errors.New("no such address")))
		default:
			out.Results = append(out.Results, sdk.Sent("p-"+m.ID))
		}
	}
	return out, nil
}

func TestDeliveriesByChannelAndOutcome(t *testing.T) {
	t.Parallel()
	st := storetest.Shared(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ch := delivery.Channel{Name: "metrics-email", Plugin: plugintest.Channel(t, scripted{}), Config: sdk.RawConfig(`{}`)}
	w := delivery.New(st, map[string]delivery.Channel{ch.Name: ch}, nil, hclog.NewNullLogger(),
		delivery.WithClock(func() time.Time { return now }),
		delivery.WithPolicy(delivery.Policy{MaxAttempts: 3, BaseDelay: time.Minute, MaxDelay: time.Hour}))
	for id, channel := range map[string]string{"ok-1": ch.Name, "ok-2": ch.Name, "retry": ch.Name, "fail": ch.Name,
		"orphan": "metrics-removed-channel"} {
		e := outbox.Entry{Message: sdk.Message{ID: id, Trigger: "t", Step: "default", CreatedAt: now},
			Channel: channel, NextAttemptAt: now}
		v, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Client().Put(t.Context(), st.Key(outbox.KeyParts(0, id)...), v); err != nil {
			t.Fatal(err)
		}
	}
	before := get(t)
	if _, err := w.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := get(t)
	for _, c := range []struct {
		channel, outcome string
		want             float64
	}{
		{"metrics-email", "delivered", 2},
		{"metrics-email", "retry", 1},
		{"metrics-email", "dead_lettered", 1},
		{"unknown", "dead_lettered", 1}, // its channel is no longer configured
	} {
		got := after.value("triggergate_deliveries_total", "channel", c.channel, "outcome", c.outcome) -
			before.value("triggergate_deliveries_total", "channel", c.channel, "outcome", c.outcome)
		if got != c.want {
			t.Errorf("deliveries_total{channel=%q,outcome=%q} went up by %v, want %v", c.channel, c.outcome, got, c.want)
		}
	}
	if m := after.series("triggergate_deliveries_total", "channel", "metrics-removed-channel"); m != nil {
		t.Errorf("a series for a channel that is not configured: %v", m)
	}
}
