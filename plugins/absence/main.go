// Command absence is the built-in "absence" trigger plugin: when a start
// event (a checkout updated, a product viewed) is not followed by a cancel
// event (the order placed, the product added to the cart) for the same key
// within a wait, it fires a step, then optional reminders.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeTrigger(New) }
