package woocommerce_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

const (
	testSecret = "wc-current-test-secret"
	oldSecret  = "wc-previous-test-secret"
)

// testConfig is a source with a current and a previous secret.
const testConfig = `
source "store" {
  kind    = "woocommerce"
  secret  = "` + testSecret + `"
  secrets = ["` + oldSecret + `"]
}`

// sign is WooCommerce's signature: base64 HMAC-SHA256 of the raw body.
func sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(source.HMAC(sha256.New, []byte(secret), body))
}

// headers are the headers WooCommerce sends, signed with secret.
func headers(topic, deliveryID, secret string, body []byte) http.Header {
	resource, event := topic, ""
	for i := range topic {
		if topic[i] == '.' {
			resource, event = topic[:i], topic[i+1:]
			break
		}
	}
	return http.Header{
		"Content-Type":             {"application/json"},
		"User-Agent":               {"WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)"},
		"X-Wc-Webhook-Source":      {"https://store.example.com/"},
		"X-Wc-Webhook-Topic":       {topic},
		"X-Wc-Webhook-Resource":    {resource},
		"X-Wc-Webhook-Event":       {event},
		"X-Wc-Webhook-Signature":   {sign(secret, body)},
		"X-Wc-Webhook-Id":          {"12"},
		"X-Wc-Webhook-Delivery-Id": {deliveryID},
	}
}

// request is a delivery as the ingest hands it to Parse.
func request(h http.Header, body []byte) *source.Request {
	return &source.Request{
		Method: http.MethodPost,
		URL:    &url.URL{Path: "/v1/webhooks/store"},
		Host:   "gateway.example.com",
		Header: h,
		Body:   body,
		Now:    time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
	}
}

// bodyDigest is the body part of a delivery's dedupe key.
func bodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:16])
}
