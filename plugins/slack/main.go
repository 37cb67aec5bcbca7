// Command slack is the built-in "slack" channel plugin: it posts every
// message to a Slack incoming webhook as Block Kit blocks.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeChannel(New) }
