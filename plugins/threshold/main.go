// Command threshold is the built-in "threshold" trigger plugin: it fires a
// journey step when a customer's matching events reach a count, or their
// summed value an amount, within a sliding window.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeTrigger(New) }
