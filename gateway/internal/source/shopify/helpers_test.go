package shopify_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/shopify"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/sdk"
)

const (
	testSecret = "shpss_current_test_secret"
	oldSecret  = "shpss_previous_test_secret"
	testShop   = "triggergate-test.myshopify.com"
	// triggeredAt is the X-Shopify-Triggered-At the tests send.
	triggeredAt = "2026-11-22T09:59:58.123456789Z"
)

// testConfig is a source with a current and a previous secret.
const testConfig = `
source "shop" {
  kind    = "shopify"
  secret  = "` + testSecret + `"
  secrets = ["` + oldSecret + `"]
}`

// sign is Shopify's signature: base64 HMAC-SHA256 of the raw body.
func sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(source.HMAC(sha256.New, []byte(secret), body))
}

// headers are the headers Shopify sends, signed with secret.
func headers(topic, webhookID, secret string, body []byte) http.Header {
	return http.Header{
		"Content-Type":           {"application/json"},
		"X-Shopify-Topic":        {topic},
		"X-Shopify-Hmac-Sha256":  {sign(secret, body)},
		"X-Shopify-Shop-Domain":  {testShop},
		"X-Shopify-Api-Version":  {"2024-10"},
		"X-Shopify-Webhook-Id":   {webhookID},
		"X-Shopify-Triggered-At": {triggeredAt},
	}
}

// request is a delivery as the ingest hands it to Parse.
func request(h http.Header, body []byte) *source.Request {
	return &source.Request{
		Method: http.MethodPost,
		URL:    &url.URL{Path: "/v1/webhooks/shop"},
		Host:   "gateway.example.com",
		Header: h,
		Body:   body,
		Now:    time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
	}
}

// fixtureBody returns a fixture's webhook body. The REST-resource
// fixtures wrap the object in a key ({"order": {...}}); a webhook body is
// the inner object, byte for byte.
func fixtureBody(t testing.TB, f sourcetest.Fixture, unwrap string) []byte {
	t.Helper()
	if unwrap == "" {
		return f.Body
	}
	var w map[string]json.RawMessage
	if err := json.Unmarshal(f.Body, &w); err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	inner, ok := w[unwrap]
	if !ok {
		t.Fatalf("%s has no %q key to unwrap", f.Name, unwrap)
	}
	return inner
}

// parse builds the test source and parses one delivery.
func parse(t testing.TB, h http.Header, body []byte) ([]sdk.Event, error) {
	t.Helper()
	a, _ := sourcetest.Build(t, testConfig, shopify.Build)
	d, err := a.Parse(request(h, body))
	if err != nil {
		return nil, err
	}
	return d.Events, nil
}
