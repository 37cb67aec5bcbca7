package sdk

import "testing"

func BenchmarkEvalBool(b *testing.B) {
	e, err := ParseExpression("event.properties.value > 50")
	if err != nil {
		b.Fatal(err)
	}
	ev := &Event{ID: "e1", Type: "order.placed", Customer: Customer{Email: "c@example.com"},
		Properties: map[string]any{"value": 60.0, "currency": "EUR"}}
	p := &Profile{Customer: ev.Customer}
	for b.Loop() {
		if ok, err := e.EvalBool(ev, p); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
