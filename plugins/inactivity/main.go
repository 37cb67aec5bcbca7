// Command inactivity is the built-in "inactivity" trigger plugin: it fires a
// step when a customer shows no activity for a while, further steps as the
// silence goes on, and optionally a "welcome back" step when they return.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeTrigger(New) }
