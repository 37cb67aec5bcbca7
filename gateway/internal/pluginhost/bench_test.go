package pluginhost_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// BenchmarkEvaluate measures the per-event cost of asking a real trigger
// plugin process (plugins/event, over go-plugin gRPC with mTLS) about 100
// events: in one batched call, or in one call per event.
func BenchmarkEvaluate(b *testing.B) {
	const events = 100
	items := make([]sdk.EvaluateItem, events)
	for i := range items {
		items[i] = sdk.EvaluateItem{
			Rule: "r", Now: time.Now(),
			Event: sdk.Event{
				ID: fmt.Sprintf("e%d", i), Type: "order.placed",
				Customer:   sdk.Customer{Email: fmt.Sprintf("c%d@example.com", i)},
				Properties: map[string]any{"value": 60.0, "currency": "EUR"},
			},
		}
	}
	rules := map[string]sdk.RawConfig{"r": sdk.RawConfig(`{"on":["order.placed"],"when":"event.properties.value > 50"}`)}

	for _, batch := range []int{1, events} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			h := newHost(b)
			tr, err := h.Trigger("event")
			if err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			if _, err := tr.Describe(ctx); err != nil { // start the process outside the timing
				b.Fatal(err)
			}
			for b.Loop() {
				for start := 0; start < events; start += batch {
					resp, err := tr.Evaluate(ctx, &sdk.EvaluateRequest{Rules: rules, Items: items[start : start+batch]})
					if err != nil {
						b.Fatal(err)
					}
					if len(resp.Results[0].Fires) != 1 {
						b.Fatal("the rule did not fire")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
		})
	}
}
