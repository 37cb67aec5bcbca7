package mailgun_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source/mailgun"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

var (
	docVars = map[string]any{"my_var_1": "Mailgun Variable #1", "my-var-2": "awesome"}
	docTags = []string{"my_tag_1", "my_tag_2"}
)

// fixtureWants are the events each shared Mailgun fixture must produce.
var fixtureWants = map[string]want{
	"clicked__symfony-mailgun-mailer.json": {id: "Ase7i2zsRYeDXztHGENqRA", typ: "email.clicked", email: "alice@example.com",
		occurred: time.Unix(1521243339, 873676000),
		props: map[string]any{"message_id": "20130503182626.18666.16540@app.symfony.com", "tags": docTags, "user_variables": docVars,
			"ip": "50.56.129.169", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.31 (KHTML, like Gecko) Chrome/26.0.1410.43 Safari/537.31"}},
	"complained__symfony-mailgun-mailer.json": {id: "-Agny091SquKnsrW2NEKUA", typ: "email.complained", email: "alice@example.com",
		occurred: time.Unix(1521233123, 501324000),
		props:    map[string]any{"message_id": "20110215055645.25246.63817@app.symfony.com", "subject": "Test complained webhook", "tags": docTags}},
	"delivered__symfony-mailgun-mailer.json": {id: "CPgfbmQMTCKtHW6uIWtuVe", typ: "email.delivered", email: "alice@example.com",
		occurred: time.Unix(1521472262, 2000),
		props:    map[string]any{"message_id": "20130503182626.18666.16540@app.symfony.com", "smtp_code": "250", "user_variables": docVars}},
	"failed.permanent__symfony-mailgun-mailer.json": {id: "G9Bn5sl1TC6nu79C8C0bwg", typ: "email.bounced", email: "alice@example.com",
		occurred: time.Unix(1521233195, 375624000),
		props: map[string]any{"bounce_type": "hard", "reason": "No Such User Here", "mailgun_reason": "bounce", "severity": "permanent",
			"smtp_code": "550", "message_id": "20130503192659.13651.20287@app.symfony.com"}},
	"failed.temporary__symfony-mailgun-mailer.json": {id: "Fs7-5t81S2ispqxqDw2U4Q", typ: "mailgun.failed.temporary", email: "alice@example.com",
		occurred: time.Unix(1521472262, 908181000),
		props: map[string]any{"severity": "temporary", "mailgun_reason": "generic", "retry_seconds": "600", "smtp_code": "452",
			"reason": "4.2.2 The email account that you tried to reach is over quota. Please direct\n4.2.2 the recipient to\n4.2.2  https://support.example.com/mail/?p=422"}},
	"opened__symfony-mailgun-mailer.json": {id: "Ase7i2zsRYeDXztHGENqRA", typ: "email.opened", email: "alice@example.com",
		occurred: time.Unix(1521243339, 873676000), props: map[string]any{"ip": "50.56.129.169", "tags": docTags}},
	"unsubscribed__symfony-mailgun-mailer.json": {id: "Ase7i2zsRYeDXztHGENqRA", typ: "email.unsubscribed", email: "alice@example.com",
		props: map[string]any{"message_id": "20130503182626.18666.16540@app.symfony.com"}},
}

// TestFixtures posts every shared Mailgun fixture, re-signed with the
// test key at the current time, through the real ingest. Each gets its own
// gateway: Mailgun's doc samples reuse one event id for opened, clicked
// and unsubscribed.
func TestFixtures(t *testing.T) {
	t.Parallel()
	fixtures := sourcetest.Fixtures(t, "mailgun")
	for _, fx := range fixtures {
		w, ok := fixtureWants[fx.Name]
		if !ok {
			t.Errorf("fixture %s has no expected event in fixtureWants", fx.Name)
			continue
		}
		t.Run(fx.Name, func(t *testing.T) {
			t.Parallel()
			g := sourcetest.NewGateway(t, config, mailgun.Build)
			body := resign(t, fx.Body, signature(testKey, "tok-"+fx.Topic+"-0123456789012345678901234567890123456789", time.Now()))
			if r := g.Post(t, "", jsonHeader, body); r.Status != http.StatusAccepted {
				t.Fatalf("POST: %d %s", r.Status, r.Body)
			}
			checkEvents(t, g.Events(t), []want{w})
		})
	}
}

// TestDeliveryContract checks verification, replay, rotation, dedupe and
// the error answers through the real ingest.
func TestDeliveryContract(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, config, mailgun.Build)
	fx := sourcetest.Fixtures(t, "mailgun")[2] // delivered
	if !strings.HasPrefix(fx.Name, "delivered") {
		t.Fatalf("fixture order changed: %s", fx.Name)
	}
	now := time.Now()
	good := resign(t, fx.Body, signature(testKey, "token-1", now))
	tamperedEvent := []byte(strings.Replace(string(good), `"alice@example.com"`, `"mallory@example.com"`, 1))
	tamperedToken := []byte(strings.Replace(string(good), `"token-1"`, `"token-2"`, 1))
	withParent := func() []byte {
		s := signature("key-of-another-domain", "token-p", now)
		s["parent-signature"] = signature(testKey, "token-p", now)["signature"]
		return resign(t, fx.Body, s)
	}()
	redelivery := []byte(strings.Replace(string(resign(t, fx.Body, signature(testKey, "token-3", now))),
		"CPgfbmQMTCKtHW6uIWtuVe", "redelivered-id", 1))

	steps := []struct {
		name   string
		header http.Header
		body   []byte
		status int
		substr string
	}{
		{"wrong content type", http.Header{"Content-Type": {"multipart/form-data; boundary=x"}}, good, 415, "unsupported_media_type"},
		{"malformed JSON", jsonHeader, []byte(`{"signature":`), 400, "not valid JSON"},
		{"no signature", jsonHeader, []byte(`{"event-data":{"event":"delivered","recipient":"a@b.c"}}`), 401, "signature"},
		{"tampered token", jsonHeader, tamperedToken, 401, "HMAC-SHA256"},
		{"wrong key", jsonHeader, resign(t, fx.Body, signature("key-wrong", "token-w", now)), 401, "bad_signature"},
		{"stale timestamp", jsonHeader, resign(t, fx.Body, signature(testKey, "token-s", now.Add(-10*time.Minute))), 401, "old"},
		{"first delivery", jsonHeader, good, 202, `"accepted":1`},
		{"same delivery again", jsonHeader, good, 200, `"duplicate":true`},
		{"token replayed with other event-data", jsonHeader, tamperedEvent, 401, "already used"},
		{"retry with a new token", jsonHeader, resign(t, fx.Body, signature(testKey, "token-r", now)), 200, `"duplicate":true`},
		{"previous key during rotation", jsonHeader, resign(t, []byte(redelivery), signature(previousKey, "token-4", now)), 202, `"accepted":1`},
		{"subaccount parent-signature", jsonHeader, []byte(strings.Replace(string(withParent), "CPgfbmQMTCKtHW6uIWtuVe", "sub-id", 1)), 202, `"accepted":1`},
		{"event-data not an object", jsonHeader, resign(t, []byte(`{"event-data":[1]}`), signature(testKey, "token-5", now)), 400, "event-data"},
		{"no recipient", jsonHeader, resign(t, []byte(`{"event-data":{"event":"opened","id":"x"}}`), signature(testKey, "token-6", now)), 400, "recipient"},
	}
	for _, s := range steps {
		r := g.Post(t, "", s.header, s.body)
		if r.Status != s.status || !strings.Contains(string(r.Body), s.substr) {
			t.Errorf("%s: %d %s; want %d containing %q", s.name, r.Status, r.Body, s.status, s.substr)
		}
	}
	evs := g.Events(t)
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3: %+v", len(evs), evs)
	}
	ids := map[string]bool{}
	for _, ev := range evs {
		ids[ev.DeliveryID] = true
		if ev.Customer.Email != "alice@example.com" {
			t.Errorf("event %s: email %q", ev.DeliveryID, ev.Customer.Email)
		}
	}
	for _, id := range []string{"CPgfbmQMTCKtHW6uIWtuVe", "redelivered-id", "sub-id"} {
		if !ids[id] {
			t.Errorf("no event %s in %v", id, ids)
		}
	}
}
