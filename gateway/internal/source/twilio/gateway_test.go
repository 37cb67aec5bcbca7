package twilio_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/twilio"
)

// TestFixtures posts the shared Twilio status callback, signed over the
// gateway's URL, through the real ingest.
func TestFixtures(t *testing.T) {
	t.Parallel()
	wants := map[string]want{
		"sms-status-callback.delivered__symfony-twilio-notifier.form": {
			id: "SM4262411b90e5464b98a4f66a49c57a97:delivered", typ: "sms.delivered", phone: "+15622089096",
			props: map[string]any{"message_sid": "SM4262411b90e5464b98a4f66a49c57a97", "status": "delivered", "to": "+15622089096",
				"from": "+16232320112", "messaging_service_sid": "MG4d9d720b38f7892254869fabdca51e69",
				"account_sid": "AC0db966d80e9f1662da09c61287f8bba1"}},
	}
	for _, fx := range sourcetest.Fixtures(t, "twilio") {
		w, ok := wants[fx.Name]
		if !ok {
			t.Errorf("fixture %s has no expected event", fx.Name)
			continue
		}
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			g := sourcetest.NewGateway(t, config, twilio.Build)
			body := []byte(strings.TrimSpace(string(fx.Body)))
			r := g.Post(t, "", headers(sign(t, authToken, g.URL, body)), body)
			if r.Status != http.StatusAccepted {
				t.Fatalf("POST: %d %s", r.Status, r.Body)
			}
			checkEvents(t, g.Events(t), []want{w})
		})
	}
}

// TestInboundMessages posts incoming messages built from Twilio's
// documented parameters: keywords become consent events, and each is
// answered with empty TwiML.
func TestInboundMessages(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, config, twilio.Build)
	tests := []struct {
		body []byte
		want want
	}{
		{inbound("SM01", "+14155550101", "STOP"), want{id: "SM01", typ: "sms.unsubscribed", phone: "+14155550101", props: map[string]any{"keyword": "STOP", "to": "+13456789012"}}},
		{inbound("SM02", "+14155550102", " stopall "), want{id: "SM02", typ: "sms.unsubscribed", phone: "+14155550102", props: map[string]any{"keyword": "STOPALL"}}},
		{inbound("SM03", "+14155550103", "Start"), want{id: "SM03", typ: "sms.subscribed", phone: "+14155550103", props: map[string]any{"keyword": "START"}}},
		{inbound("SM04", "+14155550104", "unstop"), want{id: "SM04", typ: "sms.subscribed", phone: "+14155550104"}},
		{inbound("SM05", "+14155550105", "HELP"), want{id: "SM05", typ: "twilio.help", phone: "+14155550105"}},
		{inbound("SM06", "+14155550106", "Stop texting me"), want{id: "SM06", typ: "sms.received", phone: "+14155550106",
			props: map[string]any{"body": "Stop texting me"}}},
		{inbound("SM07", "+14155550107", "arrêt", "OptOutType", "STOP"), want{id: "SM07", typ: "sms.unsubscribed", phone: "+14155550107",
			props: map[string]any{"opt_out_type": "STOP", "body": "arrêt"}}},
		{inbound("SM08", "whatsapp:+14155550108", "hi", "NumMedia", "2"), want{id: "SM08", typ: "sms.received", phone: "+14155550108",
			props: map[string]any{"channel": "whatsapp", "num_media": "2"}}},
	}
	var wants []want
	for _, tt := range tests {
		r := g.Post(t, "", headers(sign(t, authToken, g.URL, tt.body)), tt.body)
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/xml" || !strings.Contains(string(r.Body), "<Response></Response>") {
			t.Errorf("%s: %d %s %s", tt.want.id, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		wants = append(wants, tt.want)
	}
	checkEvents(t, g.Events(t), wants)
}

// TestDeliveryContract checks verification, rotation, dedupe and the
// error answers through the real ingest. Twilio signs no timestamp, so
// there is no replay window; dedupe on MessageSid + status stops replays.
func TestDeliveryContract(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, config, twilio.Build)
	sent := []byte("MessageSid=SM9&MessageStatus=sent&To=%2B44+20+7946+0958&From=%2B15005550006")
	delivered := []byte("MessageSid=SM9&MessageStatus=delivered&To=%2B442079460958&From=%2B15005550006")
	failed := []byte("MessageSid=SM8&MessageStatus=undelivered&ErrorCode=30003&To=%2B442079460958&From=%2B15005550006")
	form := func(h http.Header) http.Header { h.Set("Content-Type", "application/json"); return h }

	steps := []struct {
		name   string
		query  string
		header http.Header
		body   []byte
		status int
		substr string
	}{
		{"no signature", "", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, sent, 401, "missing X-Twilio-Signature"},
		{"tampered body", "", headers(sign(t, authToken, g.URL, sent)), []byte(strings.Replace(string(sent), "sent", "delivered", 1)), 401, "HMAC-SHA1"},
		{"wrong token", "", headers(sign(t, "guess", g.URL, sent)), sent, 401, "bad_signature"},
		{"signed for another URL", "", headers(sign(t, authToken, g.URL+"/other", sent)), sent, 401, "public_url"},
		{"wrong content type", "", form(headers(sign(t, authToken, g.URL, sent))), sent, 415, "unsupported_media_type"},
		{"malformed form", "", headers(sign(t, authToken, g.URL, []byte("a=1"))), []byte("MessageSid=%zz"), 400, "form-encoded"},
		{"no MessageSid", "", headers(sign(t, authToken, g.URL, []byte("MessageStatus=sent"))), []byte("MessageStatus=sent"), 400, "MessageSid"},
		{"sent", "", headers(sign(t, authToken, g.URL, sent)), sent, 202, `"accepted":1`},
		{"sent again", "", headers(sign(t, authToken, g.URL, sent)), sent, 200, `"duplicate":true`},
		{"delivered, with a query, secondary token", "?tenant=a%20b", headers(sign(t, secondaryAuth, g.URL+"?tenant=a%20b", delivered)), delivered, 202, `"accepted":1`},
		{"undelivered behind a TLS proxy", "", func() http.Header {
			h := headers(sign(t, authToken, "https://hooks.example.com:443"+strings.TrimPrefix(g.URL, g.Server.URL), failed))
			h.Set("X-Forwarded-Proto", "https")
			h.Set("X-Forwarded-Host", "hooks.example.com")
			return h
		}(), failed, 202, `"accepted":1`},
	}
	for _, s := range steps {
		r := g.Post(t, s.query, s.header, s.body)
		if r.Status != s.status || !strings.Contains(string(r.Body), s.substr) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, r.Status, r.Body, s.status, s.substr)
		}
	}
	checkEvents(t, g.Events(t), []want{
		{id: "SM9:sent", typ: "twilio.sent", phone: "+442079460958", props: map[string]any{"status": "sent"}},
		{id: "SM9:delivered", typ: "sms.delivered", phone: "+442079460958"},
		{id: "SM8:undelivered", typ: "sms.failed", phone: "+442079460958", props: map[string]any{"error_code": "30003", "status": "undelivered"}},
	})
}

// TestPublicURL verifies against the configured URL, not the one the
// request arrived at, keeping the request's query.
func TestPublicURL(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, `source "tw" {
  kind       = "twilio"
  secret     = "`+authToken+`"
  public_url = "https://sms.example.com/twilio/status"
}`, twilio.Build)
	body := []byte("MessageSid=SM1&MessageStatus=failed&To=%2B15005550009")
	if r := g.Post(t, "?id=7", headers(sign(t, authToken, "https://sms.example.com/twilio/status?id=7", body)), body); r.Status != 202 {
		t.Errorf("signed for public_url: %d %s", r.Status, r.Body)
	}
	if r := g.Post(t, "", headers(sign(t, authToken, g.URL, body)), body); r.Status != 401 {
		t.Errorf("signed for the internal URL: %d %s", r.Status, r.Body)
	}
}
