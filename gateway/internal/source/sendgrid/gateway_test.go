package sendgrid_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source/sendgrid"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// docsTime is the timestamp of SendGrid's documentation samples.
var docsTime = time.Unix(1513299569, 0).UTC()

// fixtureWants are the events each shared SendGrid fixture must produce,
// written out from reading the files.
var fixtureWants = map[string][]want{
	"batch.all-event-types__sendgrid-docs.json": {
		// The doc sample repeats the placeholder sg_event_id "sg_event_id"
		// for eleven different events: each is kept, as "<id>:<event>".
		{id: "sg_event_id:processed", typ: "sendgrid.processed", email: "example@test.com", occurred: docsTime,
			props: map[string]any{"message_id": "sg_message_id", "tags": []string{"cat facts"}, "smtp_id": "<14c5d75ce93.dfd.64b469@ismtpd-555>"}},
		{id: "sg_event_id:deferred", typ: "sendgrid.deferred", email: "example@test.com",
			props: map[string]any{"reason": "400 try again later", "attempt": "5"}},
		{id: "sg_event_id:delivered", typ: "email.delivered", email: "example@test.com", props: map[string]any{"response": "250 OK"}},
		{id: "sg_event_id:open", typ: "email.opened", email: "example@test.com", props: map[string]any{"ip": "255.255.255.255"}},
		{id: "sg_event_id:click", typ: "email.clicked", email: "example@test.com", props: map[string]any{"url": "http://www.sendgrid.com/"}},
		{id: "sg_event_id:bounce", typ: "email.bounced", email: "example@test.com",
			props: map[string]any{"bounce_type": "hard", "reason": "500 unknown recipient", "status": "5.0.0"}},
		{id: "sg_event_id:dropped", typ: "sendgrid.dropped", email: "example@test.com", props: map[string]any{"reason": "Bounced Address"}},
		{id: "sg_event_id:spamreport", typ: "email.complained", email: "example@test.com"},
		{id: "sg_event_id:unsubscribe", typ: "email.unsubscribed", email: "example@test.com"},
		{id: "sg_event_id:group_unsubscribe", typ: "email.unsubscribed", email: "example@test.com", props: map[string]any{"asm_group_id": "10"}},
		{id: "sg_event_id:group_resubscribe", typ: "email.resubscribed", email: "example@test.com",
			props: map[string]any{"asm_group_id": "10", "ip": "000.000.000.000"}},
	},
	"batch.bounces-with-custom-arg__spatie-mailcoach.json": {
		{id: "aWMfzSRiERR59h_cRE_lsw==", typ: "email.bounced", email: "example@test.com", occurred: time.Unix(1574854444, 0),
			props: map[string]any{"bounce_type": "hard", "custom_args": map[string]any{"send_uuid": "test-uuid"},
				"message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}},
		{id: "tADw4qacG3W4TllCNm7EGQ==", typ: "email.bounced", email: "example@test.com",
			props: map[string]any{"bounce_type": "hard", "reason": "400 try again later", "custom_args": map[string]any{"send_uuid": "test-uuid"}}},
	},
	"bounce.blocked__sendgrid-docs.json": {
		{id: "6g4ZI7SA-xmRDv57GoPIPw==", typ: "email.bounced", email: "example@test.com", occurred: docsTime,
			props: map[string]any{"bounce_type": "soft", "reason": "500 unknown recipient", "status": "5.0.0"}},
	},
	"bounce__sendgrid-docs.json": {
		{id: "6g4ZI7SA-xmRDv57GoPIPw==", typ: "email.bounced", email: "example@test.com", occurred: docsTime,
			props: map[string]any{"bounce_type": "hard", "reason": "500 unknown recipient"}},
	},
	"click__sendgrid-docs.json": {
		{id: "kCAi1KttyQdEKHhdC-nuEA==", typ: "email.clicked", email: "example@test.com", occurred: docsTime,
			props: map[string]any{"url": "http://www.sendgrid.com/", "ip": "255.255.255.255",
				"user_agent": "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)"}},
	},
	"delivered__sendgrid-docs.json": {
		{id: "rWVYmVk90MjZJ9iohOBa3w==", typ: "email.delivered", email: "example@test.com", occurred: docsTime,
			props: map[string]any{"message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "email": "example@test.com"}},
	},
	"dropped__symfony-sendgrid-mailer.json": {
		{id: "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA", typ: "sendgrid.dropped", email: "hello@world.com",
			occurred: time.Unix(1600112492, 0),
			props:    map[string]any{"reason": "Bounced Address", "message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"}},
	},
	"group_unsubscribe__sendgrid-docs.json": {
		{id: "ahSCB7xYcXFb-hEaawsPRw==", typ: "email.unsubscribed", email: "example@test.com", occurred: docsTime,
			props: map[string]any{"asm_group_id": "10", "url": "http://www.sendgrid.com/"}},
	},
	"open.marketing-singlesend__sendgrid-docs.json": {
		// timestamp is in milliseconds in this sample.
		{id: "sendgrid_internal_event_id", typ: "email.opened", email: "email@example.com", occurred: time.UnixMilli(1591726752372),
			props: map[string]any{"campaign": "Example Single Send", "campaign_id": "sendgrid_singlesend_id",
				"template_id": "sendgrid_template_id", "message_id": "sendgrid_internal_message_id", "ip": "127.0.0.1"}},
	},
	"open.with-custom-arg__spatie-mailcoach.json": {
		{id: "aWMfzSRiERR59h_cRE_lsw==", typ: "email.opened", email: "example@test.com", occurred: time.Unix(1574854444, 0),
			props: map[string]any{"custom_args": map[string]any{"send_uuid": "test-uuid"}, "tags": []string{"cat facts"}}},
	},
	"open__sendgrid-docs.json": {
		{id: "FOTFFO0ecsBE-zxFXfs6WA==", typ: "email.opened", email: "example@test.com", occurred: docsTime,
			props: map[string]any{"ip": "255.255.255.255"}},
	},
	"spamreport__sendgrid-docs.json": {
		{id: "37nvH5QBz858KGVYCM4uOA==", typ: "email.complained", email: "example@test.com", occurred: docsTime},
	},
	"unsubscribe__sendgrid-docs.json": {
		{id: "zz_BjPgU_5pS-J8vlfB1sg==", typ: "email.unsubscribed", email: "example@test.com", occurred: docsTime},
	},
}

// TestFixtures posts every shared SendGrid fixture, signed with a test
// key, through the real ingest into the event log. Each fixture gets its
// own gateway: several reuse the same sg_event_id across files.
func TestFixtures(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	fixtures := sourcetest.Fixtures(t, "sendgrid")
	for _, fx := range fixtures {
		if _, ok := fixtureWants[fx.Name]; !ok {
			t.Errorf("fixture %s has no expected events in fixtureWants", fx.Name)
		}
	}
	for _, fx := range fixtures {
		wants, ok := fixtureWants[fx.Name]
		if !ok {
			continue
		}
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			g := sourcetest.NewGateway(t, config(key.pub), sendgrid.Build)
			r := g.Post(t, "", key.headers(t, time.Now(), fx.Body), fx.Body)
			if r.Status != http.StatusAccepted {
				t.Fatalf("POST: %d %s", r.Status, r.Body)
			}
			checkEvents(t, g.Events(t), wants)
			for _, ev := range g.Events(t) {
				if ev.Source != "sg" || ev.SourceKind != "sendgrid" {
					t.Errorf("source = %q/%q", ev.Source, ev.SourceKind)
				}
			}
		})
	}
}

// TestDeliveryContract checks verification, replay, rotation, dedupe and
// the error answers through the real ingest.
func TestDeliveryContract(t *testing.T) {
	t.Parallel()
	current, previous, stranger := newKey(t), newKey(t), newKey(t)
	g := sourcetest.NewGateway(t, config(current.pub, previous.pub), sendgrid.Build)
	batch := []byte(`[{"email":"A@Example.com","timestamp":1700000000,"event":"delivered","sg_event_id":"e-1","sg_message_id":"m-1"},` +
		`{"email":"a@example.com","timestamp":1700000001,"event":"open","sg_event_id":"e-2","sg_message_id":"m-1"}]`)
	now := time.Now()

	steps := []struct {
		name   string
		header http.Header
		body   []byte
		status int
		substr string // in the response body
	}{
		{"tampered body", current.headers(t, now, batch), []byte(strings.Replace(string(batch), "open", "click", 1)), 401, "bad_signature"},
		{"unknown key", stranger.headers(t, now, batch), batch, 401, "public_keys"},
		{"stale timestamp", current.headers(t, now.Add(-10*time.Minute), batch), batch, 401, "old"},
		{"future timestamp", current.headers(t, now.Add(10*time.Minute), batch), batch, 401, "future"},
		{"no signature", http.Header{"Content-Type": {"application/json"}}, batch, 401, "Signed Event Webhook"},
		{"wrong content type", func() http.Header {
			h := current.headers(t, now, batch)
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			return h
		}(), batch, 415, "unsupported_media_type"},
		{"malformed JSON", current.headers(t, now, []byte(`[{"event":`)), []byte(`[{"event":`), 400, "not valid JSON"},
		{"object instead of array", current.headers(t, now, []byte(`{"event":"open"}`)), []byte(`{"event":"open"}`), 400, "not a JSON array"},
		{"item without email", current.headers(t, now, []byte(`[{"event":"open","sg_event_id":"x"}]`)), []byte(`[{"event":"open","sg_event_id":"x"}]`), 400, "item 0"},
		{"signed with the previous key", previous.headers(t, now, batch), batch, 202, `"accepted":2`},
		{"same batch again", current.headers(t, now, batch), batch, 200, `"duplicate":true`},
	}
	for _, s := range steps {
		r := g.Post(t, "", s.header, s.body)
		if r.Status != s.status || !strings.Contains(string(r.Body), s.substr) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, r.Status, r.Body, s.status, s.substr)
		}
	}

	// A later batch repeating one item: only the new item is accepted.
	overlap := []byte(`[{"email":"a@example.com","timestamp":1700000001,"event":"open","sg_event_id":"e-2"},` +
		`{"email":"a@example.com","timestamp":1700000002,"event":"click","url":"https://x.test/","sg_event_id":"e-3"}]`)
	if r := g.Post(t, "", current.headers(t, now, overlap), overlap); r.Status != 202 || !strings.Contains(string(r.Body), `"accepted":1`) {
		t.Errorf("overlapping batch: %d %s", r.Status, r.Body)
	}
	checkEvents(t, g.Events(t), []want{
		{id: "e-1", typ: "email.delivered", email: "a@example.com", occurred: time.Unix(1700000000, 0)},
		{id: "e-2", typ: "email.opened", email: "a@example.com"},
		{id: "e-3", typ: "email.clicked", email: "a@example.com", props: map[string]any{"url": "https://x.test/"}},
	})
}
