package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var fixedNow = time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)

// hookPath is the fake webhook's path; its last segment is the secret
// token, which must never show up in an error.
const (
	hookPath  = "/services/T0001/B0001/"
	hookToken = "s3cr3tT0k3nXYZ"
)

func message(id, subject, text string) sdk.Message {
	return sdk.Message{
		ID: id, Trigger: "vip_enrolment", Step: "notify_team",
		Profile:   sdk.Profile{Customer: sdk.Customer{ID: "c1", Email: "jane@example.com"}},
		Subject:   subject,
		Text:      text,
		CreatedAt: fixedNow.Add(-time.Minute), Attempt: 1,
	}
}

// answer is what the fake Slack replies to one request.
type answer struct {
	status  int
	body    string
	headers map[string]string
	// hold keeps the request open until the client gives up.
	hold bool
}

// fakeSlack is an incoming webhook that checks payloads the way Slack
// documents it and answers with Slack's status codes and bodies.
type fakeSlack struct {
	*httptest.Server
	t *testing.T
	// respond, when set, decides the answer to a well-formed payload.
	respond func(p Payload) answer

	mu       sync.Mutex
	payloads []Payload
	headers  []http.Header
	hits     atomic.Int32
}

func newFakeSlack(t *testing.T, respond func(Payload) answer) *fakeSlack {
	t.Helper()
	f := &fakeSlack{t: t, respond: respond}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// url is the webhook URL, token included.
func (f *fakeSlack) url() string { return f.URL + hookPath + hookToken }

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	reply := func(a answer) {
		for k, v := range a.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}
	if r.Method != http.MethodPost || r.URL.Path != hookPath+hookToken {
		reply(answer{status: http.StatusNotFound, body: "no_service"})
		return
	}
	body, _ := io.ReadAll(r.Body)
	var p Payload
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || dec.Decode(&p) != nil {
		reply(answer{status: http.StatusBadRequest, body: "invalid_payload"})
		return
	}
	if p.Text == "" && len(p.Blocks) == 0 {
		reply(answer{status: http.StatusBadRequest, body: "no_text"})
		return
	}
	if problem := blockProblem(p.Blocks); problem != "" {
		f.t.Errorf("payload breaks Slack's limits: %s", problem)
		reply(answer{status: http.StatusBadRequest, body: "invalid_blocks"})
		return
	}
	f.mu.Lock()
	f.payloads = append(f.payloads, p)
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	if f.respond != nil {
		a := f.respond(p)
		if a.hold {
			<-r.Context().Done()
			return
		}
		reply(a)
		return
	}
	reply(answer{status: http.StatusOK, body: "ok"})
}

// slackLen counts characters the strict way: UTF-16 units.
func slackLen(s string) int { return len(utf16.Encode([]rune(s))) }

// blockProblem checks the Block Kit limits the plugin must respect.
func blockProblem(blocks []Block) string {
	if len(blocks) > 50 {
		return strconv.Itoa(len(blocks)) + " blocks"
	}
	for i, b := range blocks {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || b.Text.Text == "" || slackLen(b.Text.Text) > 150 {
				return "header " + strconv.Itoa(i)
			}
		case "section":
			if b.Text == nil || b.Text.Type != "mrkdwn" || strings.TrimSpace(b.Text.Text) == "" || slackLen(b.Text.Text) > 3000 {
				return "section " + strconv.Itoa(i)
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				return "context " + strconv.Itoa(i)
			}
		default:
			return "unknown block " + b.Type
		}
	}
	return ""
}

func (f *fakeSlack) received() []Payload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Payload(nil), f.payloads...)
}

// channel is the plugin over in-process gRPC, trusting the fake's TLS
// certificate.
func (f *fakeSlack) channel(t *testing.T, opts ...Option) sdk.Channel {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(f.Certificate())
	opts = append([]Option{
		WithClock(func() time.Time { return fixedNow }),
		withTransport(func(tr *http.Transport) {
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}),
	}, opts...)
	return plugintest.Channel(t, NewSlack(hclog.NewNullLogger(), opts...))
}

func (f *fakeSlack) send(t *testing.T, cfg map[string]any, msgs ...sdk.Message) []sdk.SendResult {
	t.Helper()
	return sendVia(t, f.channel(t), cfg, msgs...)
}

func sendVia(t *testing.T, ch sdk.Channel, cfg map[string]any, msgs ...sdk.Message) []sdk.SendResult {
	t.Helper()
	resp, err := ch.Send(context.Background(), &sdk.SendRequest{
		Channel: "ops", Config: plugintest.MustConfig(t, cfg), Messages: msgs,
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(resp.Results) != len(msgs) {
		t.Fatalf("%d results for %d messages", len(resp.Results), len(msgs))
	}
	return resp.Results
}

func (f *fakeSlack) config(extra ...any) map[string]any {
	cfg := map[string]any{"webhook_url": f.url(), "allow_private_networks": true}
	for i := 0; i+1 < len(extra); i += 2 {
		cfg[extra[i].(string)] = extra[i+1]
	}
	return cfg
}

func TestSendPostsBlocks(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, nil)
	m := message("msg_1", "New VIP: Jane & Co <3", "*Jane* spent $1,200 > $1,000.\nSee <https://evil.example|your bank> <!channel> &amp;")
	m.Variant = "B"
	res := slack.send(t, slack.config("mention", " <!here>   <@U024BE7LH> "), m)
	if res[0].Status != sdk.StatusOK || res[0].Error != "" {
		t.Fatalf("result = %+v, want ok", res[0])
	}
	got := slack.received()
	if len(got) != 1 {
		t.Fatalf("Slack received %d messages", len(got))
	}
	want := Payload{
		Text: "<!here> <@U024BE7LH> New VIP: Jane &amp; Co &lt;3",
		Blocks: []Block{
			{Type: "header", Text: &TextObject{Type: "plain_text", Text: "New VIP: Jane &amp; Co &lt;3"}},
			{Type: "section", Text: &TextObject{Type: "mrkdwn", Text: "<!here> <@U024BE7LH> *Jane* spent $1,200 &gt; $1,000.\nSee &lt;https://evil.example|your bank&gt; &lt;!channel&gt; &amp;amp;"}},
			{Type: "context", Elements: []TextObject{{Type: "plain_text", Text: "triggergate · vip_enrolment · notify_team · variant B"}}},
		},
	}
	gotJSON, _ := json.MarshalIndent(got[0], "", "  ")
	wantJSON, _ := json.MarshalIndent(want, "", "  ")
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("payload =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	h := slack.headers[0]
	if h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("User-Agent") != "triggergate-slack/0.1.0" {
		t.Errorf("headers = %v", h)
	}
}

// sections returns the text of the section blocks, in order.
func sections(p Payload) []string {
	var out []string
	for _, b := range p.Blocks {
		if b.Type == "section" {
			out = append(out, b.Text.Text)
		}
	}
	return out
}

func header(p Payload) string {
	for _, b := range p.Blocks {
		if b.Type == "header" {
			return b.Text.Text
		}
	}
	return ""
}

func TestSendLayout(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 1300) // 6500 characters
	lines := strings.Repeat(strings.Repeat("x", 99)+"\n", 70)
	tests := []struct {
		name, mention, subject, text string
		check                        func(t *testing.T, p Payload)
	}{
		{name: "text only: no header, fallback from the text", text: "Hello *there*", check: func(t *testing.T, p Payload) {
			if header(p) != "" || p.Text != "Hello *there*" || len(p.Blocks) != 2 {
				t.Errorf("payload = %+v", p)
			}
		}},
		{name: "subject only: no section", subject: "Hi", check: func(t *testing.T, p Payload) {
			if header(p) != "Hi" || len(sections(p)) != 0 || p.Text != "Hi" || len(p.Blocks) != 2 {
				t.Errorf("payload = %+v", p)
			}
		}},
		{name: "subject only with mention: the mention gets a section", subject: "Hi", mention: "<!channel>", check: func(t *testing.T, p Payload) {
			if s := sections(p); len(s) != 1 || s[0] != "<!channel>" || p.Text != "<!channel> Hi" {
				t.Errorf("payload = %+v", p)
			}
		}},
		{name: "surrounding whitespace is dropped", subject: "  Hi \n", text: "\n\n body \n", check: func(t *testing.T, p Payload) {
			if header(p) != "Hi" || sections(p)[0] != "body" {
				t.Errorf("payload = %+v", p)
			}
		}},
		{name: "long subject truncated to 150", subject: strings.Repeat("a", 200), check: func(t *testing.T, p Payload) {
			if h := header(p); slackLen(h) != 150 || !strings.HasSuffix(h, "…") || !strings.HasPrefix(h, strings.Repeat("a", 149)) {
				t.Errorf("header = %q (%d)", h, slackLen(h))
			}
		}},
		{name: "escaping counts towards the limit and no entity is cut", subject: strings.Repeat("&", 100), check: func(t *testing.T, p Payload) {
			h := header(p)
			if want := strings.Repeat("&amp;", 29) + "…"; h != want {
				t.Errorf("header = %q, want %q", h, want)
			}
		}},
		{name: "emoji count as two", subject: strings.Repeat("🎉", 100), check: func(t *testing.T, p Payload) {
			if h := header(p); h != strings.Repeat("🎉", 74)+"…" {
				t.Errorf("header = %q (%d)", h, slackLen(h))
			}
		}},
		{name: "fallback is the start of a long text", text: long, check: func(t *testing.T, p Payload) {
			if slackLen(p.Text) > 300 || !strings.HasSuffix(p.Text, "word…") || !strings.HasPrefix(long, strings.TrimSuffix(p.Text, "…")) {
				t.Errorf("fallback = %q", p.Text)
			}
		}},
		{name: "long text split at spaces", text: long, mention: "<!here>", check: func(t *testing.T, p Payload) {
			s := sections(p)
			if len(s) != 3 {
				t.Fatalf("%d sections", len(s))
			}
			if !strings.HasPrefix(s[0], "<!here> word") {
				t.Errorf("first section starts %q", s[0][:20])
			}
			joined := strings.TrimPrefix(strings.Join(s, " "), "<!here> ")
			if joined != strings.TrimSpace(long) {
				t.Errorf("sections do not add up to the text")
			}
		}},
		{name: "long text split at line ends", text: lines, check: func(t *testing.T, p Payload) {
			s := sections(p)
			if len(s) != 3 || strings.Join(s, "\n") != strings.TrimSpace(lines) {
				t.Fatalf("%d sections, joined equal = %v", len(s), strings.Join(s, "\n") == strings.TrimSpace(lines))
			}
			for _, x := range s {
				if strings.HasPrefix(x, "\n") || strings.HasSuffix(x, "\n") || len(strings.Split(x, "\n")[0]) != 99 {
					t.Errorf("section not cut at a line end: %q...", x[:10])
				}
			}
		}},
		{name: "unbroken text cut inside, entities kept whole", text: strings.Repeat("a<", 2000), check: func(t *testing.T, p Payload) {
			s := sections(p)
			joined := strings.Join(s, "")
			if len(s) != 4 || joined != escape(strings.Repeat("a<", 2000)) {
				t.Errorf("%d sections; joined equal = %v", len(s), joined == escape(strings.Repeat("a<", 2000)))
			}
		}},
		{name: "huge text capped at 50 blocks", subject: "S", text: strings.Repeat("y ", 200_000), check: func(t *testing.T, p Payload) {
			s := sections(p)
			if len(p.Blocks) != 50 || len(s) != 48 || !strings.HasSuffix(s[47], "…") {
				t.Errorf("%d blocks, %d sections, last ends %q", len(p.Blocks), len(s), s[len(s)-1][len(s[len(s)-1])-10:])
			}
			if p.Blocks[49].Type != "context" {
				t.Errorf("last block is %s, want context", p.Blocks[49].Type)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			slack := newFakeSlack(t, nil)
			cfg := slack.config()
			if tc.mention != "" {
				cfg["mention"] = tc.mention
			}
			if r := slack.send(t, cfg, message("m", tc.subject, tc.text))[0]; r.Status != sdk.StatusOK {
				t.Fatalf("result = %+v", r)
			}
			tc.check(t, slack.received()[0])
		})
	}
}

func TestSendWithoutSubjectOrTextFails(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, nil)
	r := slack.send(t, slack.config(), message("m", " ", "\n"))[0]
	if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, "neither subject nor text") {
		t.Errorf("result = %+v, want permanent", r)
	}
	if slack.hits.Load() != 0 {
		t.Errorf("Slack was called %d times", slack.hits.Load())
	}
}

func TestSendClassifies(t *testing.T) {
	t.Parallel()
	reply := func(status int, body string, headers ...string) func(Payload) answer {
		h := map[string]string{}
		for i := 0; i+1 < len(headers); i += 2 {
			h[headers[i]] = headers[i+1]
		}
		return func(Payload) answer { return answer{status: status, body: body, headers: h} }
	}
	tests := []struct {
		name      string
		respond   func(Payload) answer
		url       func(f *fakeSlack) string
		timeout   string
		want      sdk.SendStatus
		wantAfter time.Duration
		wantErr   string
	}{
		{name: "200 ok is sent", respond: reply(200, "ok"), want: sdk.StatusOK},
		{name: "200 without ok is not Slack", respond: reply(200, `{"accepted":true}`), want: sdk.StatusPermanent, wantErr: `without Slack's "ok"`},
		{name: "400 invalid_payload", respond: reply(400, "invalid_payload"), want: sdk.StatusPermanent, wantErr: "invalid_payload: Slack could not read the message"},
		{name: "400 no_text", respond: reply(400, "no_text"), want: sdk.StatusPermanent, wantErr: "no_text: Slack found no text"},
		{name: "403 action_prohibited", respond: reply(403, "action_prohibited"), want: sdk.StatusPermanent, wantErr: "ask a Slack admin"},
		{name: "404 channel_not_found", respond: reply(404, "channel_not_found"), want: sdk.StatusPermanent, wantErr: "channel no longer exists; create a new incoming webhook"},
		{name: "404 no_service for an unknown webhook", url: func(f *fakeSlack) string { return f.URL + hookPath + "revoked" }, want: sdk.StatusPermanent, wantErr: "disabled or removed; create a new incoming webhook and update webhook_url"},
		{name: "410 channel_is_archived", respond: reply(410, "channel_is_archived"), want: sdk.StatusPermanent, wantErr: "channel is archived; unarchive it"},
		{name: "other 4xx quotes the body", respond: reply(400, "something_new"), want: sdk.StatusPermanent, wantErr: `400 Bad Request: "something_new"`},
		{name: "429 with Retry-After", respond: reply(429, `{"ok":false,"error":"rate_limited"}`, "Retry-After", "30"), want: sdk.StatusRetryable, wantAfter: 30 * time.Second, wantErr: "429"},
		{name: "500 rollup_error", respond: reply(500, "rollup_error"), want: sdk.StatusRetryable, wantErr: "rollup_error"},
		{name: "503 with Retry-After date", respond: reply(503, "", "Retry-After", fixedNow.Add(2*time.Minute).Format(http.TimeFormat)), want: sdk.StatusRetryable, wantAfter: 2 * time.Minute, wantErr: "503"},
		{name: "redirect not followed", respond: reply(302, "", "Location", "https://169.254.169.254/latest"), want: sdk.StatusPermanent, wantErr: "redirects are not followed"},
		{name: "timeout", respond: func(Payload) answer { return answer{hold: true} }, timeout: "200ms", want: sdk.StatusRetryable, wantErr: "no response within 200ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			slack := newFakeSlack(t, tc.respond)
			cfg := slack.config()
			if tc.url != nil {
				cfg["webhook_url"] = tc.url(slack)
			}
			if tc.timeout != "" {
				cfg["timeout"] = tc.timeout
			}
			r := slack.send(t, cfg, message("m", "Subject", "Text"))[0]
			if r.Status != tc.want || r.RetryAfter != tc.wantAfter {
				t.Errorf("result = %+v, want %s after %s", r, tc.want, tc.wantAfter)
			}
			if !strings.Contains(r.Error, tc.wantErr) {
				t.Errorf("error %q does not contain %q", r.Error, tc.wantErr)
			}
			if slack.hits.Load() != 1 {
				t.Errorf("Slack was called %d times, want 1", slack.hits.Load())
			}
		})
	}
}

// The webhook URL is a credential: a transport error must not quote it.
func TestSendErrorsHideTheToken(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, nil)
	cfg := slack.config()
	slack.Close() // nothing listens any more
	r := slack.send(t, cfg, message("m", "S", ""))[0]
	if r.Status != sdk.StatusRetryable {
		t.Errorf("result = %+v, want retryable", r)
	}
	if strings.Contains(r.Error, hookToken) || !strings.Contains(r.Error, "connection refused") {
		t.Errorf("error %q leaks the token or does not say what failed", r.Error)
	}
}

func TestSendRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, nil)
	port := slack.URL[strings.LastIndex(slack.URL, ":")+1:]
	for _, u := range []string{
		slack.url(),
		"https://localhost:" + port + hookPath + hookToken,
		"https://[::1]:" + port + hookPath + hookToken,
		"https://169.254.169.254" + hookPath + hookToken,
	} {
		r := slack.send(t, map[string]any{"webhook_url": u, "timeout": "2s"}, message("m", "S", "T"))[0]
		if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, "allow_private_networks") || strings.Contains(r.Error, hookToken) {
			t.Errorf("%s: result = %+v, want a permanent refusal without the token", u, r)
		}
	}
	if slack.hits.Load() != 0 {
		t.Errorf("Slack was reached %d times", slack.hits.Load())
	}
}

// After a 429 the rest of the batch is not sent: Slack may disable apps
// that keep posting while rate-limited.
func TestSendStopsWhenRateLimited(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, func(Payload) answer {
		return answer{status: http.StatusTooManyRequests, body: "rate_limited", headers: map[string]string{"Retry-After": "7"}}
	})
	msgs := []sdk.Message{message("m0", "S", "T"), message("m1", "S", "T"), message("m2", "S", "T")}
	res := sendVia(t, slack.channel(t, WithConcurrency(1)), slack.config(), msgs...)
	for i, r := range res {
		if r.Status != sdk.StatusRetryable || r.RetryAfter != 7*time.Second {
			t.Errorf("result %d = %+v, want retryable after 7s", i, r)
		}
	}
	if !strings.Contains(res[1].Error, "not sent") {
		t.Errorf("result 1 error = %q", res[1].Error)
	}
	if slack.hits.Load() != 1 {
		t.Errorf("Slack was called %d times after a 429, want 1", slack.hits.Load())
	}
}

func TestSendConcurrentBatchKeepsOrder(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, func(p Payload) answer {
		if header(p) == "archived" {
			return answer{status: http.StatusGone, body: "channel_is_archived"}
		}
		return answer{status: http.StatusOK, body: "ok"}
	})
	msgs := make([]sdk.Message, 10)
	for i := range msgs {
		msgs[i] = message("m"+strconv.Itoa(i), "subject "+strconv.Itoa(i), "text")
	}
	msgs[6].Subject = "archived"
	res := slack.send(t, slack.config(), msgs...)
	for i, r := range res {
		want := sdk.StatusOK
		if i == 6 {
			want = sdk.StatusPermanent
		}
		if r.Status != want {
			t.Errorf("result %d = %+v, want %s", i, r, want)
		}
	}
	if n := len(slack.received()); n != 10 {
		t.Errorf("Slack received %d messages, want 10", n)
	}
}

func TestSendCancelled(t *testing.T) {
	t.Parallel()
	slack := newFakeSlack(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := &sdk.SendRequest{
		Config:   plugintest.MustConfig(t, slack.config()),
		Messages: []sdk.Message{message("m1", "S", ""), message("m2", "S", "")},
	}
	if _, err := slack.channel(t).Send(ctx, req); err == nil {
		t.Error("Send over gRPC with a cancelled context succeeded")
	}
	resp, err := NewSlack(hclog.NewNullLogger()).Send(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.Status != sdk.StatusRetryable || !strings.Contains(r.Error, "not sent") {
			t.Errorf("result %d = %+v, want retryable", i, r)
		}
	}
	if slack.hits.Load() != 0 {
		t.Errorf("Slack was called %d times after cancellation", slack.hits.Load())
	}
}

func TestSendMisconfiguredIsPermanent(t *testing.T) {
	t.Parallel()
	r := sendVia(t, plugintest.Channel(t, New(hclog.NewNullLogger())),
		map[string]any{"webhook_url": "http://hooks.slack.com/services/T/B/" + hookToken}, message("m", "S", ""))[0]
	if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, "https://") || strings.Contains(r.Error, hookToken) {
		t.Errorf("result = %+v, want permanent without the token", r)
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	const good = "https://hooks.slack.com/services/T0001/B0001/" + hookToken
	tests := []struct {
		name     string
		config   map[string]any
		wantPath string // empty: no diagnostics
	}{
		{"minimal", map[string]any{"webhook_url": good}, ""},
		{"full", map[string]any{"webhook_url": good, "mention": "<!here> <@U024BE7LH> <!subteam^S0123ABC|@oncall>", "timeout": "30s", "allow_private_networks": true}, ""},
		{"missing url", map[string]any{}, "webhook_url"},
		{"http url", map[string]any{"webhook_url": "http://hooks.slack.com/services/T/B/" + hookToken}, "webhook_url"},
		{"no host", map[string]any{"webhook_url": "https:///services/" + hookToken}, "webhook_url"},
		{"unparsable url", map[string]any{"webhook_url": "https://hooks.slack.com/%zz" + hookToken}, "webhook_url"},
		{"bare mention", map[string]any{"webhook_url": good, "mention": "@here"}, "mention"},
		{"mention with text", map[string]any{"webhook_url": good, "mention": "<!here> hello"}, "mention"},
		{"mention not a mention", map[string]any{"webhook_url": good, "mention": "<https://x.example>"}, "mention"},
		{"mention too long", map[string]any{"webhook_url": good, "mention": strings.Repeat("<!here> ", 100)}, "mention"},
		{"zero timeout", map[string]any{"webhook_url": good, "timeout": "0s"}, "timeout"},
		{"long timeout", map[string]any{"webhook_url": good, "timeout": "1h"}, "timeout"},
		{"bad timeout", map[string]any{"webhook_url": good, "timeout": "soon"}, "timeout"},
	}
	ch := plugintest.Channel(t, New(hclog.NewNullLogger()))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := ch.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: plugintest.MustConfig(t, tc.config)})
			if err != nil {
				t.Fatal(err)
			}
			d := resp.Diagnostics
			if tc.wantPath == "" {
				if len(d) > 0 {
					t.Fatalf("diagnostics = %+v, want none", d)
				}
				return
			}
			if !d.HasErrors() {
				t.Fatalf("diagnostics = %+v, want an error at %s", d, tc.wantPath)
			}
			if got := d[0].Path.String(); got != tc.wantPath {
				t.Errorf("path = %q, want %q (%+v)", got, tc.wantPath, d)
			}
			for _, x := range d {
				if strings.Contains(x.Summary, hookToken) {
					t.Errorf("diagnostic %q quotes the token", x.Summary)
				}
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d, err := plugintest.Channel(t, New(hclog.NewNullLogger())).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "slack" || d.Kind != sdk.KindChannel || d.Version != "0.1.0" || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]sdk.AttrType{
		"webhook_url": sdk.TypeString, "mention": sdk.TypeString,
		"timeout": sdk.TypeDuration, "allow_private_networks": sdk.TypeBool,
	}
	if len(d.Schema.Attributes) != len(want) || len(d.Schema.Blocks) != 0 {
		t.Fatalf("schema = %+v", d.Schema)
	}
	for _, a := range d.Schema.Attributes {
		if want[a.Name] != a.Type || a.Required != (a.Name == "webhook_url") || a.Description == "" {
			t.Errorf("attribute %+v", a)
		}
	}
}
