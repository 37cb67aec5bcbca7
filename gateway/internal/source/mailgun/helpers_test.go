package mailgun_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

const (
	testKey     = "key-test-signing"
	previousKey = "key-previous-signing"
)

// config is a mailgun source signed with testKey and, during a rotation,
// previousKey.
const config = `source "mg" {
  kind    = "mailgun"
  secret  = "` + testKey + `"
  secrets = ["` + previousKey + `"]
}
`

// signature is Mailgun's signature object for a token at a time.
func signature(key, token string, at time.Time) map[string]string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + token))
	return map[string]string{"timestamp": ts, "token": token, "signature": hex.EncodeToString(m.Sum(nil))}
}

// resign replaces the signature object of a Mailgun body, keeping
// event-data byte for byte.
func resign(t testing.TB, body []byte, sig map[string]string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	raw, err := json.Marshal(sig)
	if err != nil {
		t.Fatal(err)
	}
	m["signature"] = raw
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

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
		for _, k := range []string{"bounce_type"} {
			if _, ok := w.props[k]; !ok && ev.Properties[k] != nil {
				t.Errorf("event %d: unexpected %s = %v", i, k, ev.Properties[k])
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
