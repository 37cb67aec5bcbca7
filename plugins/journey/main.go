// Command journey is the built-in "journey" trigger plugin: a multi-step
// sequence per customer (welcome series, onboarding drip, win-back,
// post-purchase follow-up) with delays between steps, `when` branches, a
// goal that ends it as converted, exit events and re-entry rules.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeTrigger(New) }
