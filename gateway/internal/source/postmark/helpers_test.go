package postmark_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// basicConfig authenticates with basic credentials: the current ones and,
// during a rotation, the previous ones.
const basicConfig = `source "pm" {
  kind    = "postmark"
  secret  = "postmark:s3cret"
  secrets = ["postmark:old-s3cret"]
}
`

// headerConfig authenticates with a custom header.
const headerConfig = `source "pm" {
  kind        = "postmark"
  auth        = "header"
  header_name = "x-webhook-token"
  secrets     = ["tok-current", "tok-previous"]
}
`

// basic returns the headers Postmark sends for a webhook URL with
// user:password in it.
func basic(user, pass string) http.Header {
	r, _ := http.NewRequest(http.MethodPost, "http://x/", nil)
	r.SetBasicAuth(user, pass)
	r.Header.Set("Content-Type", "application/json")
	return r.Header
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// want is what a test expects of one event.
type want struct {
	id       string
	typ      string
	email    string
	occurred time.Time
	props    map[string]any
}

func checkEvents(t *testing.T, evs []sdk.Event, wants []want) {
	t.Helper()
	if len(evs) != len(wants) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(wants), evs)
	}
	for i, w := range wants {
		ev := evs[i]
		if ev.DeliveryID != w.id || ev.Type != w.typ || ev.Customer.Email != w.email {
			t.Errorf("event %d = %q %q %q; want %q %q %q", i, ev.DeliveryID, ev.Type, ev.Customer.Email, w.id, w.typ, w.email)
		}
		if !w.occurred.IsZero() && !ev.OccurredAt.Equal(w.occurred) {
			t.Errorf("event %d: occurred_at = %s, want %s", i, ev.OccurredAt, w.occurred)
		}
		for k, v := range w.props {
			if got, want := jsonOf(ev.Properties[k]), jsonOf(v); got != want {
				t.Errorf("event %d: properties[%q] = %s, want %s", i, k, got, want)
			}
		}
	}
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}
