package backlog

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/oklog/ulid/v2"

	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

func event(customer string) sdk.Event {
	return sdk.Event{ID: ulid.Make().String(), Type: "page.viewed", Customer: sdk.Customer{ID: customer}, OccurredAt: time.Now().UTC()}
}

func TestCheckRefusesABackedUpPartition(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(8))
	m := New(st, lg, hclog.NewNullLogger(), WithLimit(5))

	// Find two customers in different partitions.
	hot, cold := "hot", ""
	for i := 0; cold == ""; i++ {
		if c := fmt.Sprintf("c%d", i); lg.Partition("id:"+c) != lg.Partition("id:"+hot) {
			cold = c
		}
	}
	for range 5 {
		if _, err := lg.Append(t.Context(), "s", []sdk.Event{event(hot)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Check([]sdk.Event{event(hot)}); err != nil {
		t.Fatalf("before any count: %v", err)
	}
	if err := m.sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := m.Pending(lg.Partition("id:" + hot)); got != 5 || m.Total() != 5 {
		t.Fatalf("counted %d in the hot partition, %d in all; want 5", got, m.Total())
	}
	var ref *Refusal
	err := m.Check([]sdk.Event{event(cold), event(hot)})
	if !errors.Is(err, ErrBacklog) || !errors.As(err, &ref) || ref.RetryAfter <= 0 {
		t.Fatalf("delivery to the backed-up partition: %v", err)
	}
	if err := m.Check([]sdk.Event{event(cold)}); err != nil {
		t.Fatalf("delivery to another partition: %v", err)
	}
}

func TestCheckRefusesWhenTheStoreIsSlow(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	lg := eventlog.New(st, hclog.NewNullLogger(), eventlog.WithPartitions(2))
	m := New(st, lg, hclog.NewNullLogger(), WithSlowStore(time.Second))
	m.latency.Store(int64(3 * time.Second))
	if err := m.Check([]sdk.Event{event("a")}); !errors.Is(err, ErrSlowStore) {
		t.Fatalf("with a 3s read: %v", err)
	}
	if err := m.sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.Check([]sdk.Event{event("a")}); err != nil {
		t.Fatalf("after a fast sweep: %v", err)
	}
}
