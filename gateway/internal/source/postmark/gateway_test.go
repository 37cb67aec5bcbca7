package postmark_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source/postmark"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

const zeroID = "00000000-0000-0000-0000-000000000000"

var (
	spatieMeta  = map[string]any{"send-uuid": "my-uuid"}
	symfonyMeta = map[string]any{"example": "value", "example_2": "value"}
	macChrome   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36"
)

// fixtureWants are the events each shared Postmark fixture must produce.
var fixtureWants = map[string]want{
	"Bounce.soft__spatie-mailcoach.json": {
		id: "Bounce:20130503192659.13651.20287@mg.craftremote.com:2019-11-05T16:33:54.9070259Z", typ: "email.bounced",
		email: "john@example.com", occurred: mustTime("2019-11-05T16:33:54.9070259Z"),
		props: map[string]any{"bounce_type": "soft", "postmark_bounce_type": "SoftBounce", "reason": "Test bounce details",
			"bounce_id": "42", "metadata": spatieMeta, "tags": []string{"Test"}, "inactive": true}},
	"Bounce__symfony-postmark-mailer.json": {
		id: "Bounce:" + zeroID + ":2022-09-02T14:29:19.1234567Z", typ: "email.bounced", email: "john@example.com",
		occurred: mustTime("2022-09-02T14:29:19.1234567Z"),
		props:    map[string]any{"bounce_type": "hard", "postmark_bounce_type": "HardBounce", "metadata": symfonyMeta, "subject": "Test subject"}},
	"Click__spatie-mailcoach.json": {
		id: "Click:20130503192659.13651.20287@mg.craftremote.com:2017-10-25T15:21:11.9065619Z", typ: "email.clicked",
		email: "john@example.com", occurred: mustTime("2017-10-25T15:21:11.9065619Z"),
		props: map[string]any{"url": "http://example.com/signup", "ip": "8.8.8.8", "click_location": "HTML", "tags": []string{"welcome-email"}}},
	"Click__symfony-postmark-mailer.json": {
		id: "Click:" + zeroID + ":2022-09-02T14:31:09Z", typ: "email.clicked", email: "john@example.com",
		occurred: mustTime("2022-09-02T14:31:09Z"),
		props:    map[string]any{"url": "https://example.com", "ip": "188.2.95.4", "user_agent": macChrome, "platform": "Desktop"}},
	"Delivery__symfony-postmark-mailer.json": {
		id: "Delivery:" + zeroID + ":2022-09-02T11:49:27Z", typ: "email.delivered", email: "john@example.com",
		occurred: mustTime("2022-09-02T11:49:27Z"),
		props: map[string]any{"message_id": zeroID, "details": "Test delivery webhook details", "tags": []string{"welcome-email"},
			"message_stream": "outbound", "metadata": symfonyMeta}},
	"Open__spatie-mailcoach.json": {
		id: "Open:20130503192659.13651.20287@mg.craftremote.com:2019-11-05T16:33:54.9070259Z", typ: "email.opened",
		email: "john@example.com", props: map[string]any{"first_open": true, "platform": "WebMail", "ip": "188.2.95.4"}},
	"Open__symfony-postmark-mailer.json": {
		id: "Open:" + zeroID + ":2022-09-02T14:30:47Z", typ: "email.opened", email: "john@example.com",
		occurred: mustTime("2022-09-02T14:30:47Z"),
		props:    map[string]any{"read_seconds": "5", "user_agent": macChrome, "first_open": true}},
	"SpamComplaint__symfony-postmark-mailer.json": {
		id: "SpamComplaint:" + zeroID + ":2022-09-02T14:29:57.123456Z", typ: "email.complained", email: "john@example.com",
		occurred: mustTime("2022-09-02T14:29:57.123456Z"),
		props:    map[string]any{"reason": "Test spam complaint details", "message_id": zeroID}},
	"SubscriptionChange__symfony-postmark-mailer.json": {
		id: "SubscriptionChange:" + zeroID + ":2022-09-02T14:32:30Z", typ: "email.unsubscribed", email: "john@example.com",
		occurred: mustTime("2022-09-02T14:32:30Z"),
		props:    map[string]any{"suppress_sending": true, "reason": "HardBounce", "origin": "Recipient"}},
}

// TestFixtures posts every shared Postmark fixture with the webhook URL's
// basic credentials through the real ingest.
func TestFixtures(t *testing.T) {
	t.Parallel()
	for _, fx := range sourcetest.Fixtures(t, "postmark") {
		w, ok := fixtureWants[fx.Name]
		if !ok {
			t.Errorf("fixture %s has no expected event in fixtureWants", fx.Name)
			continue
		}
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			g := sourcetest.NewGateway(t, basicConfig, postmark.Build)
			if r := g.Post(t, "", basic("postmark", "s3cret"), fx.Body); r.Status != http.StatusAccepted {
				t.Fatalf("POST: %d %s", r.Status, r.Body)
			}
			checkEvents(t, g.Events(t), []want{w})
		})
	}
}

// TestDeliveryContract checks authentication, rotation, dedupe and the
// error answers through the real ingest. Postmark signs nothing, so a
// changed body with the right credentials is simply another delivery.
func TestDeliveryContract(t *testing.T) {
	t.Parallel()
	open := []byte(`{"RecordType":"Open","MessageID":"m-1","Recipient":"Jane@Example.com","ReceivedAt":"2026-11-22T10:00:00Z","FirstOpen":true}`)
	reopen := []byte(strings.Replace(string(open), "10:00:00Z", "10:05:00Z", 1))

	t.Run("basic", func(t *testing.T) {
		t.Parallel()
		g := sourcetest.NewGateway(t, basicConfig, postmark.Build)
		ct := func(v string) http.Header { h := basic("postmark", "s3cret"); h.Set("Content-Type", v); return h }
		steps := []struct {
			name   string
			header http.Header
			body   []byte
			status int
			substr string
		}{
			{"no credentials", http.Header{"Content-Type": {"application/json"}}, open, 401, "basic credentials"},
			{"wrong password", basic("postmark", "guess"), open, 401, "do not match"},
			{"wrong content type", ct("text/plain"), open, 415, "unsupported_media_type"},
			{"malformed JSON", basic("postmark", "s3cret"), []byte(`{"RecordType":`), 400, "not valid JSON"},
			{"array body", basic("postmark", "s3cret"), []byte(`[]`), 400, "not a JSON object"},
			{"no RecordType", basic("postmark", "s3cret"), []byte(`{"Recipient":"a@b.c"}`), 400, "RecordType"},
			{"no recipient", basic("postmark", "s3cret"), []byte(`{"RecordType":"Open","MessageID":"x"}`), 400, "Recipient"},
			{"first delivery", basic("postmark", "s3cret"), open, 202, `"accepted":1`},
			{"same record again", basic("postmark", "s3cret"), open, 200, `"duplicate":true`},
			{"retry with the previous credentials", basic("postmark", "old-s3cret"), open, 200, `"duplicate":true`},
			{"a second open of the message", basic("postmark", "old-s3cret"), reopen, 202, `"accepted":1`},
		}
		for _, s := range steps {
			r := g.Post(t, "", s.header, s.body)
			if r.Status != s.status || !strings.Contains(string(r.Body), s.substr) {
				t.Errorf("%s: %d %s; want %d containing %q", s.name, r.Status, r.Body, s.status, s.substr)
			}
		}
		checkEvents(t, g.Events(t), []want{
			{id: "Open:m-1:2026-11-22T10:00:00Z", typ: "email.opened", email: "jane@example.com", occurred: mustTime("2026-11-22T10:00:00Z")},
			{id: "Open:m-1:2026-11-22T10:05:00Z", typ: "email.opened", email: "jane@example.com"},
		})
	})

	t.Run("header", func(t *testing.T) {
		t.Parallel()
		g := sourcetest.NewGateway(t, headerConfig, postmark.Build)
		h := func(v string) http.Header {
			return http.Header{"Content-Type": {"application/json"}, "X-Webhook-Token": {v}}
		}
		steps := []struct {
			name   string
			header http.Header
			status int
			substr string
		}{
			{"no header", http.Header{"Content-Type": {"application/json"}}, 401, "missing X-Webhook-Token"},
			{"wrong token", h("tok-guess"), 401, "does not match"},
			{"basic credentials are not the header", basic("tok-current", ""), 401, "X-Webhook-Token"},
			{"previous token", h("tok-previous"), 202, `"accepted":1`},
			{"current token, same record", h("tok-current"), 200, `"duplicate":true`},
		}
		for _, s := range steps {
			r := g.Post(t, "", s.header, open)
			if r.Status != s.status || !strings.Contains(string(r.Body), s.substr) {
				t.Errorf("%s: %d %s; want %d containing %q", s.name, r.Status, r.Body, s.status, s.substr)
			}
		}
		if n := len(g.Events(t)); n != 1 {
			t.Errorf("%d events committed, want 1", n)
		}
	})
}
