package source_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

func TestEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" Jane.Doe@Example.COM ": "jane.doe@example.com",
		"no-at-sign":             "",
		"@example.com":           "",
		"jane@":                  "",
		"":                       "",
	} {
		if got := source.Email(in); got != want {
			t.Errorf("Email(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+1 (555) 010-0199": "+15550100199",
		"0044 20 7946 0958": "+442079460958",
		"+33.6.12.34.56.78": "+33612345678",
		"555-0100":          "5550100",
		"call me":           "",
		"+1 555 0100 ext 3": "",
		"12":                "",
		"+1234567890123456": "",
	} {
		if got := source.Phone(in); got != want {
			t.Errorf("Phone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		minor    int64
		currency string
		want     float64
	}{
		{1999, "usd", 19.99}, {1999, "JPY", 1999}, {1999, "KWD", 1.999}, {0, "EUR", 0}, {-250, "eur", -2.5},
	} {
		if got := source.MajorUnits(c.minor, c.currency); got != c.want {
			t.Errorf("MajorUnits(%d, %s) = %v, want %v", c.minor, c.currency, got, c.want)
		}
	}
	for in, want := range map[any]float64{"600.00": 600, " 19.5 ": 19.5, 42.25: 42.25, nil: 0} {
		if got, err := source.Amount(in); err != nil || got != want {
			t.Errorf("Amount(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []any{"12,50", "NaN", true, "1e300", 2e15, json.Number("-1e16")} {
		if _, err := source.Amount(bad); err == nil {
			t.Errorf("Amount(%v) succeeded", bad)
		}
	}
	if source.Currency(" usd") != "USD" || source.Currency("dollars") != "" || source.Currency("U$D") != "" {
		t.Error("Currency does not normalise ISO codes")
	}
}

func TestTopicType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ topic, want string }{
		{"app/uninstalled", "shopify.app.uninstalled"},
		{"Orders/Edited", "shopify.orders.edited"},
		{"weird topic!", "shopify.weird.topic_"},
		{"//", "shopify.unknown"},
		{"", "shopify.unknown"},
		{strings.Repeat("a", 500), "shopify." + strings.Repeat("a", 113)},
	} {
		if got := source.TopicType("shopify", c.topic); got != c.want {
			t.Errorf("TopicType(%q) = %q, want %q", c.topic, got, c.want)
		}
	}
}

func TestMatchAny(t *testing.T) {
	t.Parallel()
	msg := []byte("body")
	sig := func(secret []byte) []byte { return source.HMAC(sha256.New, secret, msg) }
	good := sig([]byte("new"))
	if !source.MatchAny([]string{"old", "new"}, sig, []byte("junk"), good) {
		t.Fatal("rotated secret and second candidate must match")
	}
	if source.MatchAny([]string{"old"}, sig, good) || source.MatchAny(nil, sig, good) || source.MatchAny([]string{"new"}, sig) {
		t.Fatal("matched without a matching secret and candidate")
	}
	if got := source.DecodeBase64(base64.RawURLEncoding.EncodeToString(good)); string(got) != string(good) {
		t.Fatal("DecodeBase64 does not read unpadded URL-safe base64")
	}
}

func TestCheckTimestamp(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for d, ok := range map[time.Duration]bool{0: true, -4 * time.Minute: true, 4 * time.Minute: true, -6 * time.Minute: false, 6 * time.Minute: false} {
		err := source.CheckTimestamp(now, now.Add(d), 5*time.Minute)
		if (err == nil) != ok || (err != nil && !errors.Is(err, source.ErrBadSignature)) {
			t.Errorf("signed %v from now: err = %v", d, err)
		}
	}
	for in, want := range map[string]time.Time{
		"1700000000":    time.Unix(1700000000, 0).UTC(),
		"1700000000123": time.UnixMilli(1700000000123).UTC(),
	} {
		if got, err := source.ParseUnix(in); err != nil || !got.Equal(want) {
			t.Errorf("ParseUnix(%s) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-5", "12abc", "1e9", "253402300800000", "253402300800", "999999999999", "9223372036854775807"} {
		if _, err := source.ParseUnix(bad); err == nil {
			t.Errorf("ParseUnix(%q) succeeded", bad)
		}
	}
}

func TestContentTypesAndAuth(t *testing.T) {
	t.Parallel()
	h := func(ct string) http.Header { return http.Header{"Content-Type": {ct}} }
	if source.CheckJSON(h("application/json; charset=utf-8")) != nil || source.CheckJSON(h("application/cloudevents+json")) != nil {
		t.Error("JSON types refused")
	}
	if err := source.CheckJSON(h("text/plain")); !errors.Is(err, source.ErrUnsupportedType) {
		t.Errorf("text/plain as JSON: %v", err)
	}
	if source.CheckForm(h("application/x-www-form-urlencoded")) != nil || source.CheckXML(h("text/xml; charset=utf-8")) != nil {
		t.Error("form or XML refused")
	}
	if err := source.CheckXML(http.Header{}); !errors.Is(err, source.ErrUnsupportedType) {
		t.Errorf("missing Content-Type: %v", err)
	}

	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	req.SetBasicAuth("user", "pa:ss")
	if err := source.CheckBasicAuth(req.Header, []string{"other:x", "user:pa:ss"}); err != nil {
		t.Errorf("matching basic auth refused: %v", err)
	}
	if err := source.CheckBasicAuth(req.Header, []string{"user:wrong"}); !errors.Is(err, source.ErrBadSignature) {
		t.Errorf("wrong basic auth: %v", err)
	}
	if err := source.CheckBasicAuth(http.Header{}, []string{"user:pass"}); !errors.Is(err, source.ErrBadSignature) {
		t.Errorf("missing basic auth: %v", err)
	}
}

func TestExternalURL(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("/v1/webhooks/twilio?x=1")
	r := &source.Request{URL: u, Host: "10.0.0.5:8080", Header: http.Header{}}
	if got := r.ExternalURL(); got != "http://10.0.0.5:8080/v1/webhooks/twilio?x=1" {
		t.Errorf("direct: %s", got)
	}
	r.Header.Set("X-Forwarded-Proto", "https, http")
	r.Header.Set("X-Forwarded-Host", "hooks.example.com")
	if got := r.ExternalURL(); got != "https://hooks.example.com/v1/webhooks/twilio?x=1" {
		t.Errorf("behind a proxy: %s", got)
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	var v map[string]any
	if err := source.DecodeJSON([]byte(`{"id":115310627314723954}`), &v); err != nil || source.ID(v["id"]) != "115310627314723954" {
		t.Fatalf("exact ids: %v %v", v, err)
	}
	for _, bad := range []string{``, `{"a":1} {"b":2}`, `{"a":`} {
		if err := source.DecodeJSON([]byte(bad), &v); !errors.Is(err, source.ErrBadPayload) {
			t.Errorf("DecodeJSON(%q) = %v", bad, err)
		}
	}
}
