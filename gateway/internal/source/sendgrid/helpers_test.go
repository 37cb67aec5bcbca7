package sendgrid_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// testKey is a SendGrid-style signing key pair made for the tests.
type testKey struct {
	priv *ecdsa.PrivateKey
	// pub is the public key as SendGrid's dashboard shows it: base64 DER
	// SubjectPublicKeyInfo.
	pub string
}

func newKey(t testing.TB) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: priv, pub: base64.StdEncoding.EncodeToString(der)}
}

// sign returns SendGrid's signature header: base64 of the ASN.1 DER ECDSA
// signature of SHA-256(timestamp + body).
func (k testKey) sign(t testing.TB, ts string, body []byte) string {
	t.Helper()
	d := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// headers are the headers SendGrid sends with a signed delivery made at
// the given time.
func (k testKey) headers(t testing.TB, at time.Time, body []byte) http.Header {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	return http.Header{
		"Content-Type":                           {"application/json"},
		"X-Twilio-Email-Event-Webhook-Timestamp": {ts},
		"X-Twilio-Email-Event-Webhook-Signature": {k.sign(t, ts, body)},
	}
}

// config is a sendgrid source block with the given public keys.
func config(keys ...string) string {
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = strconv.Quote(k)
	}
	return fmt.Sprintf("source \"sg\" {\n  kind        = \"sendgrid\"\n  public_keys = [%s]\n}\n", strings.Join(quoted, ", "))
}

// want is what a test expects of one committed event.
type want struct {
	id       string
	typ      string
	email    string
	occurred time.Time
	// props must all be present with these values (compared as JSON).
	props map[string]any
}

// checkEvents matches events to wants by delivery id.
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
			t.Errorf("no event with delivery id %q; have %v", w.id, keys(byID))
			continue
		}
		if ev.Type != w.typ {
			t.Errorf("%s: type = %q, want %q", w.id, ev.Type, w.typ)
		}
		if ev.Customer.Email != w.email {
			t.Errorf("%s: email = %q, want %q", w.id, ev.Customer.Email, w.email)
		}
		if !w.occurred.IsZero() && !ev.OccurredAt.Equal(w.occurred) {
			t.Errorf("%s: occurred_at = %s, want %s", w.id, ev.OccurredAt, w.occurred)
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

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
