// Command smtp is the built-in "smtp" channel plugin: it sends every message
// as an email through an SMTP relay.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeChannel(New) }
