// Package sdk is the public Go SDK for triggergate plugins.
//
// A plugin is a separate process that the gateway launches and talks to over
// gRPC (hashicorp/go-plugin). There are two kinds:
//
//   - A Trigger decides when a journey step is due. It is a pure function
//     over the state the host hands it: Evaluate receives a batch of
//     {rule, event, profile, rule state, now} and returns, per item, the new
//     state, timers to set or cancel, and fires.
//   - A Channel delivers rendered messages: Send receives a batch and answers,
//     per message, ok, a retryable error or a permanent error. The host owns
//     retries, backoff and idempotency.
//
// Both answer Describe (name, version, config schema) and ValidateConfig.
// A plugin's main is one line:
//
//	func main() { sdk.ServeTrigger(mytrigger.New) }
//
// The config schema is written once, as struct tags, and reflected with
// SchemaOf; see that function for the tags. Package sdk/plugintest runs a
// plugin over real in-process gRPC for tests.
//
// This package never imports the gateway; the gateway imports it.
package sdk
