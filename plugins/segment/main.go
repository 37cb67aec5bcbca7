// Command segment is the built-in "segment" trigger plugin: it fires a
// journey step when a customer enters, or leaves, a segment defined by a
// condition over the profile.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeTrigger(New) }
