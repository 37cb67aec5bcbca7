package engine

import (
	"encoding/json"

	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/sdk"
)

// Helpers for the timer benchmark (timers_bench_test.go): they build etcd
// keys and values exactly as the engine writes them, so that preloaded
// timers and customer records are what a running gateway would hold.

// TimerKey is the etcd key of a customer's pending timer.
func (e *Engine) TimerKey(customerKey, rule string, t sdk.Timer) string {
	return e.timerKey(e.log.Partition(customerKey), customerKey, rule, t)
}

// TimerValue is what a timer's key holds.
func TimerValue(customerKey, rule string, t sdk.Timer) (string, error) {
	b, err := json.Marshal(timerValue{Customer: customerKey, Rule: rule, Timer: t})
	return string(b), err
}

// CustomerKey is the etcd key of a customer's record.
func (e *Engine) CustomerKey(customerKey string) string { return e.customerKey(customerKey) }

// CustomerRecord encodes a customer's record: what the gateway knows of
// them, each rule's state, and the timers each rule has pending (which
// must match the timer keys, or the timers are dropped as stale).
func CustomerRecord(customerKey string, rec customer.Record, rules map[string][]byte, timers map[string]map[string]sdk.Timer) (string, error) {
	b, err := json.Marshal(&customerRecord{Key: customerKey, Record: rec, Rules: rules, Timers: timers})
	return string(b), err
}
