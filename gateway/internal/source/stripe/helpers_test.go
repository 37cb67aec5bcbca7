package stripe_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/stripe"
	"github.com/triggergate/triggergate/sdk"
)

const (
	// testSecret and oldSecret are the source's current and previous
	// endpoint secrets in the tests.
	testSecret = "whsec_test_5f1c2d9e8a7b6c5d4e3f2a1b0c9d8e7f"
	oldSecret  = "whsec_test_previous_0a1b2c3d4e5f"

	// config is a stripe source with the current secret only.
	config = `
source "billing" {
  kind   = "stripe"
  secret = "` + testSecret + `"
}`
	// rotatingConfig lists the current and the previous secret.
	rotatingConfig = `
source "billing" {
  kind    = "stripe"
  secrets = ["` + testSecret + `", "` + oldSecret + `"]
}`
)

// sign returns a Stripe-Signature header for body signed at t, computed
// independently of the package: hex HMAC-SHA256 of "<t>.<body>" keyed with
// the whole secret.
func sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// headers are the headers Stripe sends with a delivery signed by secret.
func headers(secret string, t time.Time, body []byte) http.Header {
	return http.Header{
		"Content-Type":     {"application/json; charset=utf-8"},
		"User-Agent":       {"Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
		"Stripe-Signature": {sign(secret, t, body)},
	}
}

// testNow is the receive time of deliveries parsed directly.
var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// request is a delivery of body signed with testSecret at testNow.
func request(body []byte) *source.Request {
	return &source.Request{
		Method: http.MethodPost,
		Header: headers(testSecret, testNow, body),
		Body:   body,
		Now:    testNow,
	}
}

// build builds an adapter from an HCL source block.
func build(t testing.TB, src string) source.Adapter {
	t.Helper()
	a, _ := sourcetest.Build(t, src, stripe.Build)
	return a
}

// parseOne parses a delivery that must yield exactly one event.
func parseOne(t *testing.T, a source.Adapter, body string) sdk.Event {
	t.Helper()
	d, err := a.Parse(request([]byte(body)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(d.Events) != 1 {
		t.Fatalf("Parse returned %d events, want 1: %+v", len(d.Events), d.Events)
	}
	return d.Events[0]
}

// unix is t as RFC 3339, as properties carry times.
func unix(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }
