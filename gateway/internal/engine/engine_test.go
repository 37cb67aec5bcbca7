package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// recorder is a trigger whose state lists the event ids it has seen for a
// customer, in the order it saw them, and which fires once per event. It
// fails an item when the event's type is "poison", and the whole batch
// while failing is set.
type recorder struct {
	failing atomic.Bool
	calls   atomic.Int32
}

func (r *recorder) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "recorder"}, nil
}

func (r *recorder) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (r *recorder) Evaluate(_ context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	r.calls.Add(1)
	if r.failing.Load() {
		return nil, errors.New("plugin is down")
	}
	out := &sdk.EvaluateResponse{}
	for _, it := range req.Items {
		if it.Event.Type == "poison" {
			out.Results = append(out.Results, sdk.Result{State: it.State, Err: "cannot digest this event"})
			continue
		}
		var seen []string
		if len(it.State) > 0 {
			if err := json.Unmarshal(it.State, &seen); err != nil {
				return nil, err
			}
		}
		seen = append(seen, it.Event.ID)
		state, _ := json.Marshal(seen)
		out.Results = append(out.Results, sdk.Result{
			State: state,
			Fires: []sdk.Fire{{Step: "seen", Key: it.Event.ID, Data: map[string]any{"n": len(seen)}}},
		})
	}
	return out, nil
}

type fixture struct {
	st  *store.Store
	log *eventlog.Log
	rec *recorder
	eng *engine.Engine
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.Start(t)
	lg := eventlog.New(st, hclog.NewNullLogger())
	rec := &recorder{}
	tr := plugintest.Trigger(t, rec)
	eng := engine.New(st, lg, []engine.Rule{
		{Name: "rec", Trigger: tr, Config: sdk.RawConfig(`{}`), Actions: []engine.Action{{Channel: "hook"}, {Channel: "log", Template: "t"}}},
	}, hclog.NewNullLogger(), engine.WithBatchSize(8))
	return &fixture{st: st, log: lg, rec: rec, eng: eng}
}

func (f *fixture) append(t *testing.T, id, typ, customer string) {
	t.Helper()
	ev := sdk.Event{ID: id, Type: typ, Source: "test", DeliveryID: id, Customer: sdk.Customer{ID: customer},
		Traits: map[string]any{"last": id}, OccurredAt: time.Now().UTC()}
	if _, err := f.log.Append(t.Context(), "test", []sdk.Event{ev}, 0); err != nil {
		t.Fatal(err)
	}
}

type customerDoc struct {
	Profile sdk.Profile       `json:"profile"`
	Rules   map[string][]byte `json:"rules"`
}

func (f *fixture) customer(t *testing.T, id string) customerDoc {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key("customers", "id:"+id))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("customer %s: %v (%d keys)", id, err, len(resp.Kvs))
	}
	var c customerDoc
	if err := json.Unmarshal(resp.Kvs[0].Value, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) keys(t *testing.T, prefix string) []string {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key(prefix)+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Key))
	}
	return out
}

func TestPerCustomerOrderAndOutbox(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Interleaved customers, more events than one batch holds.
	var wantA, wantB []string
	for i := range 12 {
		id := fmt.Sprintf("ev-%02d", i)
		if i%3 == 0 {
			f.append(t, id, "page.viewed", "b")
			wantB = append(wantB, id)
		} else {
			f.append(t, id, "page.viewed", "a")
			wantA = append(wantA, id)
		}
	}
	n, err := f.eng.Drain(t.Context())
	if err != nil || n != 12 {
		t.Fatalf("Drain = %d, %v; want 12 events", n, err)
	}
	for cust, want := range map[string][]string{"a": wantA, "b": wantB} {
		c := f.customer(t, cust)
		var got []string
		if err := json.Unmarshal(c.Rules["rec"], &got); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("customer %s saw %v, want commit order %v", cust, got, want)
		}
		if last := c.Profile.Traits["last"]; last != want[len(want)-1] {
			t.Fatalf("customer %s profile trait last = %v, want %s", cust, last, want[len(want)-1])
		}
	}
	if left := f.keys(t, "log"); len(left) != 0 {
		t.Fatalf("log not consumed: %v", left)
	}
	// One message per fire and action, with distinct idempotency keys.
	msgs := f.keys(t, "outbox")
	if len(msgs) != 24 {
		t.Fatalf("outbox has %d messages, want 24 (12 fires x 2 actions)", len(msgs))
	}
	resp, err := f.st.Client().Get(t.Context(), f.st.Key(outbox.KeyParts(f.log.Partition("id:a"), outbox.MessageID("rec", "seen", "id:a", "ev-01", 1))...))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("message for ev-01's second action: %v (%d keys)", err, len(resp.Kvs))
	}
	e, err := outbox.Decode(resp.Kvs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if e.Channel != "log" || e.Template != "t" || e.Message.Event.ID != "ev-01" || e.Message.Fire["n"] != 1.0 {
		t.Fatalf("outbox entry = %+v", e)
	}
}

func TestFailedPluginConsumesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.append(t, "e1", "order.placed", "a")
	f.rec.failing.Store(true)
	if _, err := f.eng.Drain(t.Context()); err == nil {
		t.Fatal("Drain succeeded with the plugin down")
	}
	if left := f.keys(t, "log"); len(left) != 1 {
		t.Fatalf("log after a failed pass: %v, want the event still pending", left)
	}
	if msgs := f.keys(t, "outbox"); len(msgs) != 0 {
		t.Fatalf("outbox after a failed pass: %v", msgs)
	}
	f.rec.failing.Store(false)
	if n, err := f.eng.Drain(t.Context()); err != nil || n != 1 {
		t.Fatalf("Drain after recovery = %d, %v", n, err)
	}
	if msgs := f.keys(t, "outbox"); len(msgs) != 2 {
		t.Fatalf("outbox after recovery has %d messages, want 2", len(msgs))
	}
}

func TestPoisonEventIsDeadLetteredWithoutBlocking(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.append(t, "e1", "poison", "a")
	f.append(t, "e2", "order.placed", "a")
	if n, err := f.eng.Drain(t.Context()); err != nil || n != 2 {
		t.Fatalf("Drain = %d, %v", n, err)
	}
	dead := f.keys(t, "deadletter/events")
	if len(dead) != 1 {
		t.Fatalf("dead letters: %v, want one for e1", dead)
	}
	resp, _ := f.st.Client().Get(t.Context(), dead[0])
	var d struct {
		Event sdk.Event `json:"event"`
		Rule  string    `json:"rule"`
		Error string    `json:"error"`
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &d); err != nil {
		t.Fatal(err)
	}
	if d.Event.ID != "e1" || d.Rule != "rec" || d.Error != "cannot digest this event" {
		t.Fatalf("dead letter = %+v", d)
	}
	if msgs := f.keys(t, "outbox"); len(msgs) != 2 {
		t.Fatalf("outbox has %d messages, want e2's 2", len(msgs))
	}
}

func TestRequeueDeadLetter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.append(t, "e1", "poison", "a")
	if _, err := f.eng.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	dead, err := engine.ListDeadLetters(t.Context(), f.st)
	if err != nil || len(dead) != 1 || dead[0].ID != "e1.rec" || dead[0].Event.ID != "e1" || dead[0].Rule != "rec" {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	// One rule failed; the others (none here, but in general) processed
	// it: requeueing needs force.
	if err := engine.Requeue(t.Context(), f.st, f.log, "e1.rec", false); !errors.Is(err, engine.ErrPartlyProcessed) {
		t.Fatalf("requeue without force: %v", err)
	}
	if err := engine.Requeue(t.Context(), f.st, f.log, "e1.rec", true); err != nil {
		t.Fatal(err)
	}
	if left := f.keys(t, "log"); len(left) != 1 {
		t.Fatalf("log after requeue: %v", left)
	}
	if dead, _ := engine.ListDeadLetters(t.Context(), f.st); len(dead) != 0 {
		t.Fatalf("record still there: %+v", dead)
	}
	if err := engine.Requeue(t.Context(), f.st, f.log, "e1.rec", true); err == nil {
		t.Fatal("requeueing a record twice succeeded")
	}
}
