// Command webhook is the built-in "webhook" channel plugin: it POSTs every
// message as a signed Standard Webhooks request.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeChannel(New) }
