// Command date is the built-in "date" trigger plugin: it fires a journey
// step on a date taken from a profile trait or an event (a birthday, a
// purchase anniversary, a renewal or warranty expiry), shifted by an
// offset, at a local time of day in the customer's timezone.
package main

import (
	// The IANA timezone database is compiled in so that customers'
	// timezones resolve the same on every machine, including minimal
	// containers without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/triggergate/triggergate/sdk"
)

func main() { sdk.ServeTrigger(New) }
