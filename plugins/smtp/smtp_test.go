package main

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var fixedNow = time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)

const (
	unsubURL  = "<https://shop.example/u/tok_123?c=1>, <mailto:unsub@shop.example?subject=tok_123>"
	unsubPost = "List-Unsubscribe=One-Click"
)

// message is a rendered message for email with both bodies and the
// headers the host sets.
func message(id, email string) sdk.Message {
	return sdk.Message{
		ID: id, Trigger: "abandoned_cart", Step: "reminder_1",
		Profile:   sdk.Profile{Customer: sdk.Customer{ID: "c-" + id, Email: email}},
		Event:     sdk.Event{ID: "ev-" + id, Type: "checkout.updated"},
		Subject:   "Your cart is waiting, Jäne",
		Text:      "Hello Jane,\nyour cart (" + id + ") is waiting.",
		HTML:      "<p>Hello Jane, your cart <b>" + id + "</b> is waiting.</p>",
		Headers:   map[string]string{"List-Unsubscribe": unsubURL, "List-Unsubscribe-Post": unsubPost},
		CreatedAt: fixedNow.Add(-time.Minute), Attempt: 1,
	}
}

func newChannel(t *testing.T) sdk.Channel {
	t.Helper()
	return plugintest.Channel(t, NewSMTP(hclog.NewNullLogger(), WithClock(func() time.Time { return fixedNow })))
}

// send sends msgs over gRPC with cfg and returns one result per message.
func send(t *testing.T, cfg map[string]any, msgs ...sdk.Message) []sdk.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := newChannel(t).Send(ctx, &sdk.SendRequest{Channel: "email", Config: plugintest.MustConfig(t, cfg), Messages: msgs})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(resp.Results) != len(msgs) {
		t.Fatalf("got %d results for %d messages", len(resp.Results), len(msgs))
	}
	return resp.Results
}

// wantStatus fails unless every result has the status given at its index.
func wantStatus(t *testing.T, results []sdk.SendResult, want ...sdk.SendStatus) {
	t.Helper()
	for i, r := range results {
		if r.Status != want[i] {
			t.Errorf("result %d = %+v, want %s", i, r, want[i])
		}
	}
}

// email is a received message, parsed.
type email struct {
	header mail.Header
	// parts maps a content type to its decoded body.
	parts map[string]string
	// multipart is the top-level media type when it is multipart/*.
	multipart string
}

// parse reads a received message with net/mail and mime/multipart.
func parse(t *testing.T, data []byte) email {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parsing message: %v\n%s", err, data)
	}
	e := email{header: m.Header, parts: map[string]string{}}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		// SMTP ends every message with a line break before the final ".".
		e.parts[mt] = strings.TrimSuffix(decodeBody(t, m.Header.Get("Content-Transfer-Encoding"), m.Body), "\n")
		return e
	}
	e.multipart = mt
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading part: %v", err)
		}
		pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		// NextPart has already decoded quoted-printable parts.
		e.parts[pt] = decodeBody(t, p.Header.Get("Content-Transfer-Encoding"), p)
	}
	return e
}

func decodeBody(t *testing.T, cte string, r io.Reader) string {
	t.Helper()
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestSendPlainBatchOverOneConnection(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	m1 := message("msg_1", "jane@example.com")
	m2 := message("msg_2", "Bob Example <bob@example.com>")
	m2.HTML = ""
	m3 := message("msg_3", "carol@example.com")
	m3.Text = ""
	m3.Headers = nil
	results := send(t, srv.config(map[string]any{"reply_to": "Support <help@shop.example>"}), m1, m2, m3)
	wantStatus(t, results, sdk.StatusOK, sdk.StatusOK, sdk.StatusOK)
	for i, id := range []string{"msg_1", "msg_2", "msg_3"} {
		if want := "<" + id + "@shop.example>"; results[i].ProviderID != want {
			t.Errorf("result %d ProviderID = %q, want %q", i, results[i].ProviderID, want)
		}
	}
	if n := srv.sessionCount(); n != 1 {
		t.Errorf("server saw %d sessions, want 1 for the batch", n)
	}
	got := srv.received()
	if len(got) != 3 {
		t.Fatalf("server received %d messages, want 3", len(got))
	}
	rcpts := []string{"jane@example.com", "bob@example.com", "carol@example.com"}
	dec := new(mime.WordDecoder)
	for i, r := range got {
		id := []string{"msg_1", "msg_2", "msg_3"}[i]
		if r.from != "hello@shop.example" || len(r.to) != 1 || r.to[0] != rcpts[i] {
			t.Errorf("message %d envelope = %s -> %v", i, r.from, r.to)
		}
		e := parse(t, r.data)
		from, err := e.header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != "Shop" || from[0].Address != "hello@shop.example" {
			t.Errorf("message %d From = %v, %v", i, from, err)
		}
		to, err := e.header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != rcpts[i] {
			t.Errorf("message %d To = %v, %v", i, to, err)
		}
		if replyTo, err := e.header.AddressList("Reply-To"); err != nil || replyTo[0].Address != "help@shop.example" {
			t.Errorf("message %d Reply-To = %v, %v", i, replyTo, err)
		}
		if subj, err := dec.DecodeHeader(e.header.Get("Subject")); err != nil || subj != "Your cart is waiting, Jäne" {
			t.Errorf("message %d Subject = %q (raw %q), %v", i, subj, e.header.Get("Subject"), err)
		}
		if got, want := e.header.Get("Message-Id"), "<"+id+"@shop.example>"; got != want {
			t.Errorf("message %d Message-ID = %q, want %q", i, got, want)
		}
		if got := e.header.Get("X-Triggergate-Message-Id"); got != id {
			t.Errorf("message %d X-Triggergate-Message-Id = %q", i, got)
		}
		if date, err := e.header.Date(); err != nil || !date.Equal(fixedNow) {
			t.Errorf("message %d Date = %v, %v", i, date, err)
		}
		wantUnsub, wantPost := unsubURL, unsubPost
		if i == 2 {
			wantUnsub, wantPost = "", ""
		}
		if got := e.header.Get("List-Unsubscribe"); got != wantUnsub {
			t.Errorf("message %d List-Unsubscribe = %q, want %q", i, got, wantUnsub)
		}
		if got := e.header.Get("List-Unsubscribe-Post"); got != wantPost {
			t.Errorf("message %d List-Unsubscribe-Post = %q, want %q", i, got, wantPost)
		}
	}

	wantText := "Hello Jane,\nyour cart (msg_1) is waiting."
	e1 := parse(t, got[0].data)
	if e1.multipart != "multipart/alternative" || len(e1.parts) != 2 {
		t.Fatalf("message 1 is %q with parts %v, want multipart/alternative with text and html", e1.multipart, e1.parts)
	}
	if e1.parts["text/plain"] != wantText {
		t.Errorf("text part = %q, want %q", e1.parts["text/plain"], wantText)
	}
	if want := "<p>Hello Jane, your cart <b>msg_1</b> is waiting.</p>"; e1.parts["text/html"] != want {
		t.Errorf("html part = %q, want %q", e1.parts["text/html"], want)
	}
	if e2 := parse(t, got[1].data); e2.multipart != "" || e2.parts["text/plain"] != "Hello Jane,\nyour cart (msg_2) is waiting." || len(e2.parts) != 1 {
		t.Errorf("text-only message = %+v", e2)
	}
	if e3 := parse(t, got[2].data); e3.multipart != "" || e3.parts["text/html"] != "<p>Hello Jane, your cart <b>msg_3</b> is waiting.</p>" || len(e3.parts) != 1 {
		t.Errorf("html-only message = %+v", e3)
	}
}

func TestSendStartTLS(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{startTLS: true, user: "mailer", pass: "s3cret"})
	t.Run("auth plain", func(t *testing.T) {
		t.Parallel()
		r := send(t, srv.config(map[string]any{"username": "mailer", "password": "s3cret"}), message("msg_ok", "jane@example.com"))
		wantStatus(t, r, sdk.StatusOK)
		var found bool
		for _, got := range srv.received() {
			if bytes.Contains(got.data, []byte("msg_ok@shop.example")) {
				found = true
				if got.user != "mailer" || !got.tls {
					t.Errorf("received as user %q, tls=%v; want mailer over TLS", got.user, got.tls)
				}
			}
		}
		if !found {
			t.Error("message not received")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		r := send(t, srv.config(map[string]any{"username": "mailer", "password": "wrong"}),
			message("msg_bad1", "jane@example.com"), message("msg_bad2", "bob@example.com"))
		wantStatus(t, r, sdk.StatusPermanent, sdk.StatusPermanent)
		for _, res := range r {
			if !strings.Contains(res.Error, "authentication failed") || !strings.Contains(res.Error, "535") {
				t.Errorf("error = %q, want an authentication failure with the 535 reply", res.Error)
			}
		}
		for _, got := range srv.received() {
			if bytes.Contains(got.data, []byte("msg_bad")) {
				t.Error("a message was delivered despite failed authentication")
			}
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		cfg := srv.config(map[string]any{"username": "mailer", "password": "s3cret"})
		delete(cfg, "ca_file")
		r := send(t, cfg, message("msg_untrusted", "jane@example.com"))
		wantStatus(t, r, sdk.StatusRetryable)
		if !strings.Contains(r[0].Error, "certificate") {
			t.Errorf("error = %q, want a certificate error", r[0].Error)
		}
	})
}

func TestSendStartTLSWithoutAuthOffered(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{startTLS: true})
	r := send(t, srv.config(map[string]any{"username": "mailer", "password": "s3cret"}), message("msg_1", "jane@example.com"))
	wantStatus(t, r, sdk.StatusPermanent)
	if !strings.Contains(r[0].Error, "authentication") || len(srv.received()) != 0 {
		t.Errorf("error = %q, received %d; want an authentication error and nothing sent", r[0].Error, len(srv.received()))
	}
}

func TestSendImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{implicit: true, user: "mailer", pass: "s3cret"})
	cfg := srv.config(map[string]any{"username": "mailer", "password": "s3cret", "host": "127.0.0.1", "tls_server_name": "localhost"})
	r := send(t, cfg, message("msg_1", "jane@example.com"), message("msg_2", "bob@example.com"))
	wantStatus(t, r, sdk.StatusOK, sdk.StatusOK)
	got := srv.received()
	if len(got) != 2 || !got[0].tls || got[0].user != "mailer" {
		t.Fatalf("received %+v, want 2 messages over TLS as mailer", got)
	}
}

func TestSendRequiresStartTLS(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{}) // no STARTTLS
	cfg := srv.config(map[string]any{"tls": "starttls"})
	r := send(t, cfg, message("msg_1", "jane@example.com"), message("msg_2", "bob@example.com"))
	wantStatus(t, r, sdk.StatusPermanent, sdk.StatusPermanent)
	for _, res := range r {
		if !strings.Contains(res.Error, "STARTTLS") {
			t.Errorf("error = %q, want it to name STARTTLS", res.Error)
		}
	}
	if n := len(srv.received()); n != 0 {
		t.Errorf("server received %d messages without TLS", n)
	}
}

func TestSendPerRecipientReplies(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{rcptErr: map[string]*smtp.SMTPError{
		"busy@example.com": {Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"},
		"full@example.com": {Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"},
		"gone@example.com": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"},
		"spam@example.com": {Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected"},
	}})
	r := send(t, srv.config(nil),
		message("msg_1", "jane@example.com"),
		message("msg_2", "busy@example.com"),
		message("msg_3", "gone@example.com"),
		message("msg_4", "full@example.com"),
		message("msg_5", "spam@example.com"),
		message("msg_6", "bob@example.com"),
	)
	wantStatus(t, r, sdk.StatusOK, sdk.StatusRetryable, sdk.StatusPermanent, sdk.StatusRetryable, sdk.StatusPermanent, sdk.StatusOK)
	for i, code := range map[int]string{1: "451", 2: "550", 3: "452", 4: "554"} {
		if !strings.Contains(r[i].Error, code) {
			t.Errorf("result %d error = %q, want the %s reply", i, r[i].Error, code)
		}
	}
	got := srv.received()
	if len(got) != 2 || got[0].to[0] != "jane@example.com" || got[1].to[0] != "bob@example.com" {
		t.Errorf("received %+v, want jane's and bob's messages", got)
	}
	if n := srv.sessionCount(); n != 1 {
		t.Errorf("server saw %d sessions, want 1", n)
	}
}

func TestSendUnreachableIsRetryable(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"host": "127.0.0.1", "port": closedPort(t), "tls": "none", "from": "hello@shop.example", "timeout": "2s"}
	r := send(t, cfg, message("msg_1", "jane@example.com"), message("msg_2", "bob@example.com"))
	wantStatus(t, r, sdk.StatusRetryable, sdk.StatusRetryable)
	if r[0].Error != r[1].Error || !strings.Contains(r[0].Error, "refused") {
		t.Errorf("errors = %q / %q, want the same connection-refused error", r[0].Error, r[1].Error)
	}
}

func TestSendRefusesBadMessages(t *testing.T) {
	t.Parallel()
	srv := newServer(t, serverOptions{})
	noEmail := message("msg_noemail", "")
	badEmail := message("msg_bademail", "not an address")
	injection := message("msg_inject", "jane@example.com")
	injection.Headers = map[string]string{"List-Unsubscribe": "<https://x.example/u>\r\nBcc: victim@example.org"}
	badName := message("msg_badname", "jane@example.com")
	badName.Headers = map[string]string{"X-Bad: Name": "x"}
	nul := message("msg_nul", "jane@example.com")
	nul.Headers = map[string]string{"X-Campaign": "a\x00b"}
	reserved := message("msg_reserved", "jane@example.com")
	reserved.Headers = map[string]string{"bcc": "victim@example.org"}
	noBody := message("msg_nobody", "jane@example.com")
	noBody.Text, noBody.HTML = "", ""
	noID := message("", "jane@example.com")
	good := message("msg_good", "jane@example.com")

	msgs := []sdk.Message{noEmail, badEmail, injection, badName, nul, reserved, noBody, noID, good}
	wantErr := []string{"customer has no email address", "customer email address", "line break", "field name", "line break", "cannot be overridden", "neither a text nor an html body", "no id"}
	r := send(t, srv.config(nil), msgs...)
	for i, want := range wantErr {
		if r[i].Status != sdk.StatusPermanent || !strings.Contains(r[i].Error, want) {
			t.Errorf("message %d result = %+v, want permanent %q", i, r[i], want)
		}
	}
	wantStatus(t, r[len(r)-1:], sdk.StatusOK)
	got := srv.received()
	if len(got) != 1 || !bytes.Contains(got[0].data, []byte("msg_good")) || bytes.Contains(got[0].data, []byte("victim")) {
		t.Errorf("received %d messages, want only the good one", len(got))
	}

	// A batch of only bad messages does not connect at all.
	send(t, srv.config(nil), noEmail)
	if n := srv.sessionCount(); n != 1 {
		t.Errorf("server saw %d sessions, want 1", n)
	}
}

func TestSendCancelled(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{})
	release := make(chan struct{})
	srv := newServer(t, serverOptions{onRcpt: func(to string) {
		if to == "slow@example.com" {
			close(reached)
			<-release
		}
	}})
	t.Cleanup(func() { close(release) }) // runs before the server stops
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-reached
		cancel()
	}()
	s := NewSMTP(hclog.NewNullLogger())
	start := time.Now()
	resp, err := s.Send(ctx, &sdk.SendRequest{
		Channel: "email", Config: plugintest.MustConfig(t, srv.config(map[string]any{"timeout": "1m"})),
		Messages: []sdk.Message{message("msg_1", "jane@example.com"), message("msg_2", "slow@example.com"), message("msg_3", "bob@example.com")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Send took %s after cancellation", d)
	}
	wantStatus(t, resp.Results, sdk.StatusOK, sdk.StatusRetryable, sdk.StatusRetryable)
	if !strings.Contains(resp.Results[2].Error, "cancel") {
		t.Errorf("error = %q, want it to say the batch was cancelled", resp.Results[2].Error)
	}
	if got := srv.received(); len(got) != 1 {
		t.Errorf("received %d messages, want 1", len(got))
	}
}

func TestSendMisconfiguredIsPermanent(t *testing.T) {
	t.Parallel()
	r := send(t, map[string]any{"host": "smtp.example.com", "from": "nobody"}, message("msg_1", "jane@example.com"))
	wantStatus(t, r, sdk.StatusPermanent)
	if !strings.Contains(r[0].Error, "misconfigured") || !strings.Contains(r[0].Error, "from") {
		t.Errorf("error = %q", r[0].Error)
	}
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	tests := []struct{ id, from, want string }{
		{"msg_01JD8Z", "hello@shop.example", "msg_01JD8Z@shop.example"},
		{"msg_1", "hello@Shop.Example", "msg_1@shop.example"},
		{"msg_1", "hello@bücher.example", "msg_1@xn--bcher-kva.example"},
		{"msg_1", "hello@[127.0.0.1]", "msg_1@" + fallbackDomain},
		// ids that cannot be a msg-id's left side are hashed ("tg." prefix)
		{"has space", "hello@shop.example", "tg."},
		{"a<b>", "hello@shop.example", "tg."},
		{"..", "hello@shop.example", "tg."},
	}
	for _, tc := range tests {
		got := messageID(tc.id, tc.from)
		if tc.want == "tg." {
			if !strings.HasPrefix(got, "tg.") || !strings.HasSuffix(got, "@shop.example") || len(got) != len("tg.")+32+len("@shop.example") {
				t.Errorf("messageID(%q, %q) = %q, want a hashed id", tc.id, tc.from, got)
			}
		} else if got != tc.want {
			t.Errorf("messageID(%q, %q) = %q, want %q", tc.id, tc.from, got, tc.want)
		}
		local, domain, _ := strings.Cut(got, "@")
		if !isDotAtom(local) || !isDotAtom(domain) {
			t.Errorf("messageID(%q, %q) = %q is not a valid msg-id", tc.id, tc.from, got)
		}
		if again := messageID(tc.id, tc.from); again != got {
			t.Errorf("messageID(%q) is not stable: %q then %q", tc.id, got, again)
		}
	}
	if messageID("a b", "x@y.example") == messageID("a c", "x@y.example") {
		t.Error("different ids that need hashing map to the same Message-ID")
	}
}

// writeFile writes content to a file in the test's temp dir.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	_, caFile := selfSigned(t)
	base := func(kv ...any) map[string]any {
		cfg := map[string]any{"host": "smtp.example.com", "from": "Shop <hello@shop.example>"}
		for i := 0; i < len(kv); i += 2 {
			cfg[kv[i].(string)] = kv[i+1]
		}
		return cfg
	}
	tests := []struct {
		name     string
		config   map[string]any
		wantPath string // empty: no error
		warning  bool
	}{
		{"minimal", base(), "", false},
		{"full", base("port", 465, "tls", "tls", "username", "u", "password", "p", "reply_to", "help@shop.example",
			"timeout", "10s", "helo", "gw.shop.example", "ca_file", caFile, "tls_server_name", "relay.internal"), "", false},
		{"ipv6 host", base("host", "::1"), "", false},
		{"plain text credentials warn", base("tls", "none", "username", "u", "password", "p"), "", true},
		{"missing host", map[string]any{"from": "hello@shop.example"}, "host", false},
		{"host with port", base("host", "smtp.example.com:587"), "host", false},
		{"host url", base("host", "smtp://smtp.example.com"), "host", false},
		{"missing from", map[string]any{"host": "smtp.example.com"}, "from", false},
		{"bad from", base("from", "Shop hello at shop"), "from", false},
		{"from injection", base("from", "hello@shop.example\r\nBcc: x@y.example"), "from", false},
		{"bad reply_to", base("reply_to", "<nope"), "reply_to", false},
		{"port zero", base("port", 0), "port", false},
		{"port too big", base("port", 70000), "port", false},
		{"port not a number", base("port", "587"), "port", false},
		{"unknown tls", base("tls", "ssl"), "tls", false},
		{"username without password", base("username", "u"), "password", false},
		{"password without username", base("password", "p"), "username", false},
		{"zero timeout", base("timeout", "0s"), "timeout", false},
		{"huge timeout", base("timeout", "1h"), "timeout", false},
		{"bad timeout", base("timeout", "soon"), "timeout", false},
		{"helo with space", base("helo", "my host"), "helo", false},
		{"missing ca_file", base("ca_file", "/nonexistent/ca.pem"), "ca_file", false},
		{"ca_file not pem", base("ca_file", writeFile(t, "garbage")), "ca_file", false},
		{"bad tls_server_name", base("tls_server_name", "a b"), "tls_server_name", false},
	}
	ch := newChannel(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := ch.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: plugintest.MustConfig(t, tc.config)})
			if err != nil {
				t.Fatal(err)
			}
			d := resp.Diagnostics
			if tc.wantPath == "" {
				if d.HasErrors() {
					t.Fatalf("diagnostics = %+v, want no errors", d)
				}
				if tc.warning != (len(d) > 0) {
					t.Fatalf("diagnostics = %+v, want warning=%v", d, tc.warning)
				}
				return
			}
			if !d.HasErrors() {
				t.Fatalf("diagnostics = %+v, want an error at %s", d, tc.wantPath)
			}
			if got := d[0].Path.String(); got != tc.wantPath {
				t.Errorf("path = %q, want %q (%+v)", got, tc.wantPath, d)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d, err := newChannel(t).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "smtp" || d.Kind != sdk.KindChannel || d.Version != pluginVersion || d.ProtocolVersion != sdk.ProtocolVersion {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]sdk.AttrType{
		"host": sdk.TypeString, "port": sdk.TypeNumber, "tls": sdk.TypeString, "username": sdk.TypeString,
		"password": sdk.TypeString, "from": sdk.TypeString, "reply_to": sdk.TypeString, "timeout": sdk.TypeDuration,
		"helo": sdk.TypeString, "ca_file": sdk.TypeString, "tls_server_name": sdk.TypeString,
	}
	if len(d.Schema.Attributes) != len(want) {
		t.Fatalf("schema = %+v", d.Schema)
	}
	for _, a := range d.Schema.Attributes {
		required := a.Name == "host" || a.Name == "from"
		if want[a.Name] != a.Type || a.Required != required || a.Description == "" {
			t.Errorf("attribute %+v", a)
		}
	}
}
