package twilio_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/triggergate/triggergate/sdk"
)

const (
	authToken     = "test-auth-token"
	secondaryAuth = "secondary-auth-token"
)

// config verifies with the Auth Token and, during a rotation, the
// secondary token.
const config = `source "tw" {
  kind    = "twilio"
  secret  = "` + authToken + `"
  secrets = ["` + secondaryAuth + `"]
}
`

// sign is Twilio's X-Twilio-Signature for a POST of body to fullURL,
// written from Twilio's documented algorithm; a name sent more than once
// contributes its values in sorted order, as Twilio's helper libraries
// compute it.
func sign(t testing.TB, token, fullURL string, body []byte) string {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatalf("test body: %v", err)
	}
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	s := fullURL
	for _, k := range names {
		vals := form[k]
		sort.Strings(vals)
		for _, v := range vals {
			s += k + v
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func headers(sig string) http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}, "X-Twilio-Signature": {sig}}
}

// inbound is an incoming message with the parameters Twilio documents.
func inbound(sid, from, text string, extra ...string) []byte {
	v := url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {sid}, "NumMedia": {"0"}, "ToCity": {""},
		"FromZip": {"10001"}, "SmsSid": {sid}, "FromState": {"NY"}, "SmsStatus": {"received"}, "FromCity": {"NEW YORK"},
		"Body": {text}, "FromCountry": {"US"}, "To": {"+13456789012"}, "MessagingServiceSid": {"MG0123"},
		"ToZip": {""}, "NumSegments": {"1"}, "MessageSid": {sid}, "AccountSid": {"AC0123"}, "From": {from},
		"ApiVersion": {"2010-04-01"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return []byte(v.Encode())
}

// want is what a test expects of one event.
type want struct {
	id    string
	typ   string
	phone string
	props map[string]any
}

func checkEvents(t *testing.T, evs []sdk.Event, wants []want) {
	t.Helper()
	if len(evs) != len(wants) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(wants), evs)
	}
	byID := map[string]sdk.Event{}
	for _, ev := range evs {
		byID[ev.DeliveryID] = ev
	}
	for _, w := range wants {
		ev, ok := byID[w.id]
		if !ok {
			t.Errorf("no event %q", w.id)
			continue
		}
		if ev.Type != w.typ || ev.Customer.Phone != w.phone {
			t.Errorf("%s: %q %q; want %q %q", w.id, ev.Type, ev.Customer.Phone, w.typ, w.phone)
		}
		for k, v := range w.props {
			if got, want := jsonOf(ev.Properties[k]), jsonOf(v); got != want {
				t.Errorf("%s: properties[%q] = %s, want %s", w.id, k, got, want)
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
