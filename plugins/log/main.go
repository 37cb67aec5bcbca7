// Command log is the built-in "log" channel plugin: it writes every message
// to the gateway log instead of delivering it. Meant for development.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeChannel(New) }
