// Command milestone is an example custom trigger written only against the
// triggergate SDK: it counts a customer's matching events and fires when
// the count reaches a milestone.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeTrigger(New) }
