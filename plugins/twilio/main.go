// Command twilio is the built-in "twilio" channel plugin: it sends every
// message as an SMS through Twilio's Programmable Messaging REST API.
package main

import "github.com/triggergate/triggergate/sdk"

func main() { sdk.ServeChannel(New) }
