// Command event is the built-in "event" trigger plugin: it fires a journey
// step when a matching event arrives and its condition holds.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeTrigger(New) }
