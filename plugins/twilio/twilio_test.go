package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var fixedNow = time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)

// Credentials in Twilio's formats.
const (
	testAccount   = "ACdeadbeefdeadbeefdeadbeefdeadbeef"
	testToken     = "0123456789abcdef0123456789abcdef"
	testKeySID    = "SKfeedfacefeedfacefeedfacefeedface"
	testKeySecret = "kZ2s8vP1qW9xR4tY7uI0oP3aS6dF9gH2"
	testService   = "MGcafebabecafebabecafebabecafebabe"
	testFrom      = "+14155550100"
)

// fakeTwilio speaks the documented Create Message API: POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth with
// the account's Auth Token or an API key, a form-encoded body; 201 and the
// Message resource, or Twilio's JSON error bodies.
type fakeTwilio struct {
	*httptest.Server
	// reply, when set, answers instead of creating a message (after the
	// path, auth and body checks).
	reply func(w http.ResponseWriter, form url.Values)

	mu    sync.Mutex
	forms []url.Values
	auth  []string // the basic-auth username of each accepted request
	hdrs  []http.Header
	hits  atomic.Int32
}

func newFakeTwilio(t *testing.T, reply func(w http.ResponseWriter, form url.Values)) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func twilioError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
	})
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	user, pass, ok := r.BasicAuth()
	if !ok || !(user == testAccount && pass == testToken || user == testKeySID && pass == testKeySecret) {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+testAccount+"/Messages.json" {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		twilioError(w, http.StatusBadRequest, 20001, "unsupported Content-Type "+ct)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(raw))
	switch {
	case err != nil:
		twilioError(w, http.StatusBadRequest, 20001, "body is not form-encoded")
		return
	case form.Get("To") == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case (form.Get("From") == "") == (form.Get("MessagingServiceSid") == ""):
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number or 'MessagingServiceSid' is required.")
		return
	case form.Get("Body") == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	f.mu.Lock()
	f.forms = append(f.forms, form)
	f.auth = append(f.auth, user)
	f.hdrs = append(f.hdrs, r.Header.Clone())
	f.mu.Unlock()
	if f.reply != nil {
		f.reply(w, form)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(messageResource(sidFor(form.Get("To")), form))
}

// sidFor derives a message SID ("SM" and 32 digits) from the recipient,
// so tests can tell which result belongs to which message.
func sidFor(to string) string {
	d := strings.TrimPrefix(to, "+")
	return "SM" + strings.Repeat("0", 32-len(d)) + d
}

// messageResource is a Message resource as the docs show it after a create.
func messageResource(sid string, form url.Values) map[string]any {
	var from, service any
	if v := form.Get("From"); v != "" {
		from = v
	}
	if v := form.Get("MessagingServiceSid"); v != "" {
		service = v
	}
	return map[string]any{
		"account_sid": testAccount, "api_version": "2010-04-01", "body": form.Get("Body"),
		"date_created": "Sun, 22 Nov 2026 10:00:05 +0000", "date_sent": nil,
		"date_updated": "Sun, 22 Nov 2026 10:00:05 +0000", "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": from, "messaging_service_sid": service,
		"num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": sid, "status": "queued", "to": form.Get("To"),
		"subresource_uris": map[string]any{"media": "/2010-04-01/Accounts/" + testAccount + "/Messages/" + sid + "/Media.json"},
		"uri":              "/2010-04-01/Accounts/" + testAccount + "/Messages/" + sid + ".json",
	}
}

func (f *fakeTwilio) requests() ([]url.Values, []string, []http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...), append([]string(nil), f.auth...), append([]http.Header(nil), f.hdrs...)
}

// config is a valid config against f, with overrides; a nil value removes
// the attribute.
func (f *fakeTwilio) config(over map[string]any) map[string]any {
	cfg := map[string]any{
		"account_sid": testAccount, "auth_token": testToken, "from": testFrom,
		"base_url": f.URL, "allow_private_networks": true,
	}
	for k, v := range over {
		if v == nil {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	return cfg
}

func message(id, phone, text string) sdk.Message {
	return sdk.Message{
		ID: id, Trigger: "abandoned_cart", Step: "reminder_1",
		Profile: sdk.Profile{Customer: sdk.Customer{ID: "c-" + id, Phone: phone}},
		Text:    text, CreatedAt: fixedNow.Add(-time.Minute), Attempt: 1,
	}
}

func send(t *testing.T, cfg map[string]any, msgs ...sdk.Message) []sdk.SendResult {
	t.Helper()
	ch := plugintest.Channel(t, NewTwilio(hclog.NewNullLogger(), WithClock(func() time.Time { return fixedNow })))
	resp, err := ch.Send(context.Background(), &sdk.SendRequest{
		Channel: "sms", Config: plugintest.MustConfig(t, cfg), Messages: msgs,
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(resp.Results) != len(msgs) {
		t.Fatalf("%d results for %d messages", len(resp.Results), len(msgs))
	}
	return resp.Results
}

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	subjectOnly := message("m3", "+33612345678", "  ")
	subjectOnly.Subject = "Your code is 123456"
	res := send(t, f.config(map[string]any{"status_callback": "https://hooks.example.com/v1/webhooks/twilio"}),
		message("m1", "+14155550101", "Your cart misses you, Jane.\n"),
		message("m2", "+1 (415) 555-0102", "Still thinking it over?"),
		subjectOnly)

	forms, users, hdrs := f.requests()
	if len(forms) != 3 {
		t.Fatalf("Twilio saw %d messages, want 3", len(forms))
	}
	for i, form := range forms {
		if form.Get("From") != testFrom || form.Has("MessagingServiceSid") {
			t.Errorf("request %d sender: From=%q MessagingServiceSid=%q", i, form.Get("From"), form.Get("MessagingServiceSid"))
		}
		if form.Get("StatusCallback") != "https://hooks.example.com/v1/webhooks/twilio" {
			t.Errorf("request %d StatusCallback = %q", i, form.Get("StatusCallback"))
		}
		if users[i] != testAccount {
			t.Errorf("request %d authenticated as %q, want the account SID", i, users[i])
		}
		if ua := hdrs[i].Get("User-Agent"); ua != "triggergate-twilio/0.1.0" {
			t.Errorf("request %d User-Agent = %q", i, ua)
		}
	}
	bodies := map[string]string{}
	for _, form := range forms {
		bodies[form.Get("To")] = form.Get("Body")
	}
	wantBodies := map[string]string{
		"+14155550101": "Your cart misses you, Jane.",
		"+14155550102": "Still thinking it over?", // separators removed from the phone
		"+33612345678": "Your code is 123456",     // the subject when there is no text
	}
	for to, want := range wantBodies {
		if bodies[to] != want {
			t.Errorf("Body to %s = %q, want %q", to, bodies[to], want)
		}
	}
	for i, to := range []string{"+14155550101", "+14155550102", "+33612345678"} {
		if res[i].Status != sdk.StatusOK || res[i].ProviderID != sidFor(to) {
			t.Errorf("result %d = %+v, want ok with provider id %q", i, res[i], sidFor(to))
		}
	}
}

func TestSendMessagingService(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	res := send(t, f.config(map[string]any{"from": nil, "messaging_service_sid": testService}),
		message("m", "+447700900123", "Hello"))
	if res[0].Status != sdk.StatusOK || !strings.HasPrefix(res[0].ProviderID, "SM") {
		t.Fatalf("result = %+v, want ok with an SM sid", res[0])
	}
	forms, _, _ := f.requests()
	if got := forms[0]; got.Get("MessagingServiceSid") != testService || got.Has("From") || got.Has("StatusCallback") {
		t.Errorf("form = %v, want MessagingServiceSid and neither From nor StatusCallback", got)
	}
}

func TestSendAPIKey(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	res := send(t, f.config(map[string]any{"auth_token": nil, "api_key_sid": testKeySID, "api_key_secret": testKeySecret}),
		message("m", "+14155550101", "Hello"))
	if res[0].Status != sdk.StatusOK {
		t.Fatalf("result = %+v, want ok", res[0])
	}
	// The path names the account; the credentials are the key's.
	if _, users, _ := f.requests(); users[0] != testKeySID {
		t.Errorf("authenticated as %q, want the API key SID", users[0])
	}
}

func TestSendWrongCredentials(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	for _, tc := range []struct {
		name string
		over map[string]any
		hint string
	}{
		{"auth token", map[string]any{"auth_token": "ffffffffffffffffffffffffffffffff"}, "check account_sid and auth_token"},
		{"api key", map[string]any{"auth_token": nil, "api_key_sid": testKeySID, "api_key_secret": "wrong"}, "api_key_secret"},
		{"other account", map[string]any{"account_sid": "AC00000000000000000000000000000000"}, "check account_sid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, f.config(tc.over), message("m", "+14155550101", "Hello"))[0]
			if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, tc.hint) || !strings.Contains(r.Error, "20003") {
				t.Errorf("result = %+v, want permanent with 20003 and %q", r, tc.hint)
			}
		})
	}
}

// A base_url whose path leads nowhere gets Twilio's 404 and a hint.
func TestSendWrongPath(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	r := send(t, f.config(map[string]any{"base_url": f.URL + "/twilio"}), message("m", "+14155550101", "Hello"))[0]
	if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, "20404") || !strings.Contains(r.Error, "check account_sid and base_url") {
		t.Errorf("result = %+v, want permanent 20404 with a hint", r)
	}
}

func TestSendClassifies(t *testing.T) {
	t.Parallel()
	withError := func(status, code int, message string, headers map[string]string) func(http.ResponseWriter, url.Values) {
		return func(w http.ResponseWriter, _ url.Values) {
			for k, v := range headers {
				w.Header().Set(k, v)
			}
			twilioError(w, status, code, message)
		}
	}
	tests := []struct {
		name      string
		reply     func(http.ResponseWriter, url.Values)
		want      sdk.SendStatus
		wantID    string
		wantAfter time.Duration
		wantErr   []string
	}{
		{"201 without a sid is still sent", func(w http.ResponseWriter, _ url.Values) {
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"status": "queued"}`)
		}, sdk.StatusOK, "", 0, nil},
		{"200 with a sid", func(w http.ResponseWriter, _ url.Values) {
			_, _ = io.WriteString(w, `{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}`)
		}, sdk.StatusOK, "SM0123456789abcdef0123456789abcdef", 0, nil},
		{"429 with Retry-After seconds", withError(429, 20429, "Too Many Requests", map[string]string{"Retry-After": "7"}),
			sdk.StatusRetryable, "", 7 * time.Second, []string{"20429", "Too Many Requests"}},
		{"429 with Retry-After date", withError(429, 20429, "Too Many Requests", map[string]string{"Retry-After": fixedNow.Add(2 * time.Minute).Format(http.TimeFormat)}),
			sdk.StatusRetryable, "", 2 * time.Minute, []string{"20429"}},
		{"500 with Twilio's body", withError(500, 20500, "Internal Server Error", nil),
			sdk.StatusRetryable, "", 0, []string{"20500", "HTTP 500"}},
		{"503 without a body", func(w http.ResponseWriter, _ url.Values) { w.WriteHeader(http.StatusServiceUnavailable) },
			sdk.StatusRetryable, "", 0, []string{"503"}},
		{"21610 recipient replied STOP", withError(400, 21610, "Attempt to send to unsubscribed recipient", nil),
			sdk.StatusPermanent, "", 0, []string{"replied STOP", "21610"}},
		{"21211 invalid To", withError(400, 21211, "Invalid 'To' Phone Number: +1415555XXXX", nil),
			sdk.StatusPermanent, "", 0, []string{"error 21211: Invalid 'To' Phone Number", "https://www.twilio.com/docs/errors/21211", "fix the customer's phone number"}},
		{"21408 region not enabled", withError(400, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +33612345678", nil),
			sdk.StatusPermanent, "", 0, []string{"21408", "Geo Permissions"}},
		{"21614 not a mobile number", withError(400, 21614, "'To' number is not a valid mobile number", nil),
			sdk.StatusPermanent, "", 0, []string{"21614", "cannot receive SMS"}},
		{"403 other code", withError(403, 20403, "Forbidden", nil),
			sdk.StatusPermanent, "", 0, []string{"error 20403: Forbidden; HTTP 403"}},
		{"400 without Twilio's body", func(w http.ResponseWriter, _ url.Values) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, "<html>bad request</html>")
		}, sdk.StatusPermanent, "", 0, []string{"400", "bad request"}},
		{"302 is not followed", func(w http.ResponseWriter, _ url.Values) {
			w.Header().Set("Location", "http://169.254.169.254/")
			w.WriteHeader(http.StatusFound)
		}, sdk.StatusPermanent, "", 0, []string{"redirects are not followed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeTwilio(t, tc.reply)
			r := send(t, f.config(nil), message("m", "+14155550101", "Hello"))[0]
			if r.Status != tc.want || r.ProviderID != tc.wantID || r.RetryAfter != tc.wantAfter {
				t.Errorf("result = %+v, want %s, id %q, after %s", r, tc.want, tc.wantID, tc.wantAfter)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(r.Error, s) {
					t.Errorf("error %q does not contain %q", r.Error, s)
				}
			}
			if n := f.hits.Load(); n != 1 {
				t.Errorf("Twilio was called %d times, want 1", n)
			}
		})
	}
}

func TestSendTimeoutIsRetryable(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	f := newFakeTwilio(t, func(http.ResponseWriter, url.Values) { <-block })
	defer close(block) // before the server closes, which waits for the handler
	r := send(t, f.config(map[string]any{"timeout": "200ms"}), message("m", "+14155550101", "Hello"))[0]
	if r.Status != sdk.StatusRetryable || !strings.Contains(r.Error, "no response within 200ms") {
		t.Errorf("result = %+v, want retryable after the timeout", r)
	}
}

func TestSendRejectsUnsendableWithoutRequest(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	long := strings.Repeat("a", maxBodyLength+1)
	emoji := strings.Repeat("🛒", maxBodyLength/2) + "!" // 1601 UTF-16 code units
	noText := message("m", "+14155550101", " \n")
	noText.Subject = " "
	tests := []struct {
		name    string
		msg     sdk.Message
		wantErr string
	}{
		{"no phone", message("m", "", "Hello"), "customer has no valid phone number"},
		{"no plus", message("m", "4155550101", "Hello"), "customer has no valid phone number"},
		{"national format", message("m", "(415) 555-0101", "Hello"), "is not E.164"},
		{"too short", message("m", "+1234567", "Hello"), "customer has no valid phone number"},
		{"too long", message("m", "+1234567890123456", "Hello"), "customer has no valid phone number"},
		{"leading zero", message("m", "+04155550101", "Hello"), "customer has no valid phone number"},
		{"letters", message("m", "+1415CALLNOW", "Hello"), "customer has no valid phone number"},
		{"channel address", message("m", "whatsapp:+14155550101", "Hello"), "customer has no valid phone number"},
		{"empty text and subject", noText, "message has no text"},
		{"over 1600 characters", message("m", "+14155550101", long), "1601 characters; Twilio accepts at most 1600"},
		{"emoji count twice", message("m", "+14155550101", emoji), "1601 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, f.config(nil), tc.msg)[0]
			if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, tc.wantErr) {
				t.Errorf("result = %+v, want permanent with %q", r, tc.wantErr)
			}
		})
	}
	if n := f.hits.Load(); n != 0 {
		t.Errorf("Twilio was called %d times for unsendable messages", n)
	}
	// The limits themselves are accepted.
	res := send(t, f.config(nil),
		message("a", "+14155550101", strings.Repeat("a", maxBodyLength)),
		message("b", "+12345678", "shortest"),
		message("c", "+123456789012345", "longest"))
	for i, r := range res {
		if r.Status != sdk.StatusOK {
			t.Errorf("result %d at the limit = %+v, want ok", i, r)
		}
	}
}

func TestSendRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	port := f.URL[strings.LastIndex(f.URL, ":")+1:]
	for _, tc := range []struct{ url, kind string }{
		{f.URL, "loopback"},
		{"http://localhost:" + port, "loopback"},
		{"http://169.254.169.254", "link-local"},
	} {
		r := send(t, f.config(map[string]any{"base_url": tc.url, "allow_private_networks": nil, "timeout": "2s"}),
			message("m", "+14155550101", "Hello"))[0]
		if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, tc.kind) || !strings.Contains(r.Error, "allow_private_networks") {
			t.Errorf("%s: result = %+v, want a permanent %s refusal", tc.url, r, tc.kind)
		}
	}
	if n := f.hits.Load(); n != 0 {
		t.Errorf("the fake Twilio was reached %d times", n)
	}
}

func TestSendCancelled(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := &sdk.SendRequest{
		Config:   plugintest.MustConfig(t, f.config(nil)),
		Messages: []sdk.Message{message("m1", "+14155550101", "a"), message("m2", "+14155550102", "b")},
	}
	// Over the wire, the host's cancellation reaches the call.
	if _, err := plugintest.Channel(t, New(hclog.NewNullLogger())).Send(ctx, req); err == nil {
		t.Error("Send over gRPC with a cancelled context succeeded")
	}
	// In the plugin, nothing is sent and every message is retryable.
	resp, err := NewTwilio(hclog.NewNullLogger()).Send(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.Status != sdk.StatusRetryable {
			t.Errorf("result %d = %+v, want retryable", i, r)
		}
	}
	if n := f.hits.Load(); n != 0 {
		t.Errorf("Twilio was called %d times after cancellation", n)
	}
}

// Cancelling mid-batch: the messages in flight finish, the rest come back
// retryable without a request.
func TestSendCancelledMidBatch(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFakeTwilio(t, func(w http.ResponseWriter, form url.Values) {
		cancel() // the host gives up while the first message is in flight
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(messageResource(sidFor(form.Get("To")), form))
	})
	msgs := []sdk.Message{message("m1", "+14155550101", "a"), message("m2", "+14155550102", "b"), message("m3", "+14155550103", "c")}
	resp, err := NewTwilio(hclog.NewNullLogger(), WithConcurrency(1)).Send(ctx, &sdk.SendRequest{
		Config: plugintest.MustConfig(t, f.config(nil)), Messages: msgs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.hits.Load(); n != 1 {
		t.Fatalf("Twilio was called %d times, want 1", n)
	}
	// The first message's outcome depends on whether the response beat the
	// cancellation; it is never permanent.
	if r := resp.Results[0]; r.Status == sdk.StatusPermanent {
		t.Errorf("result 0 = %+v", r)
	}
	for i, r := range resp.Results[1:] {
		if r.Status != sdk.StatusRetryable || !strings.Contains(r.Error, "not sent") {
			t.Errorf("result %d = %+v, want retryable, not sent", i+1, r)
		}
	}
}

func TestSendConcurrentBatchKeepsOrder(t *testing.T) {
	t.Parallel()
	const bad = "+14155550166"
	f := newFakeTwilio(t, func(w http.ResponseWriter, form url.Values) {
		if form.Get("To") == bad {
			twilioError(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+bad)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(messageResource(sidFor(form.Get("To")), form))
	})
	msgs := make([]sdk.Message, 10)
	for i := range msgs {
		msgs[i] = message("m"+strconv.Itoa(i), fmt.Sprintf("+141555501%02d", i), "Hello")
	}
	msgs[6].Profile.Phone = bad
	res := send(t, f.config(nil), msgs...)
	for i, r := range res {
		if i == 6 {
			if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, "21211") {
				t.Errorf("result 6 = %+v, want permanent 21211", r)
			}
			continue
		}
		want := sidFor(fmt.Sprintf("+141555501%02d", i))
		if r.Status != sdk.StatusOK || r.ProviderID != want {
			t.Errorf("result %d = %+v, want ok with %s", i, r, want)
		}
	}
	if n := f.hits.Load(); n != 10 {
		t.Errorf("Twilio was called %d times, want 10", n)
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	base := map[string]any{"account_sid": testAccount, "auth_token": testToken, "from": testFrom}
	with := func(over map[string]any) map[string]any {
		cfg := map[string]any{}
		for k, v := range base {
			cfg[k] = v
		}
		for k, v := range over {
			if v == nil {
				delete(cfg, k)
				continue
			}
			cfg[k] = v
		}
		return cfg
	}
	apiKey := map[string]any{"auth_token": nil, "api_key_sid": testKeySID, "api_key_secret": testKeySecret}
	tests := []struct {
		name     string
		config   map[string]any
		wantPath string // empty: no error
		warning  bool
	}{
		{"minimal", base, "", false},
		{"api key", with(apiKey), "", false},
		{"messaging service", with(map[string]any{"from": nil, "messaging_service_sid": testService}), "", false},
		{"full", with(map[string]any{"status_callback": "https://hooks.example.com/v1/webhooks/twilio?ch=sms",
			"base_url": "https://twilio-proxy.internal.example.com/", "timeout": "30s", "allow_private_networks": true}), "", false},
		{"upper-case hex", with(map[string]any{"account_sid": "ACDEADBEEFDEADBEEFDEADBEEFDEADBEEF"}), "", false},
		{"http base_url warns", with(map[string]any{"base_url": "http://127.0.0.1:8080"}), "", true},
		{"missing account_sid", with(map[string]any{"account_sid": nil}), "account_sid", false},
		{"short account_sid", with(map[string]any{"account_sid": "AC123"}), "account_sid", false},
		{"api key sid as account_sid", with(map[string]any{"account_sid": testKeySID}), "account_sid", false},
		{"no credentials", with(map[string]any{"auth_token": nil}), "auth_token", false},
		{"empty auth_token", with(map[string]any{"auth_token": ""}), "auth_token", false},
		{"token and api key", with(map[string]any{"api_key_sid": testKeySID, "api_key_secret": testKeySecret}), "api_key_sid", false},
		{"api key without secret", with(map[string]any{"auth_token": nil, "api_key_sid": testKeySID}), "api_key_secret", false},
		{"secret without api key", with(map[string]any{"auth_token": nil, "api_key_secret": testKeySecret}), "api_key_sid", false},
		{"bad api_key_sid", with(map[string]any{"auth_token": nil, "api_key_sid": testAccount, "api_key_secret": "x"}), "api_key_sid", false},
		{"no sender", with(map[string]any{"from": nil}), "from", false},
		{"both senders", with(map[string]any{"messaging_service_sid": testService}), "messaging_service_sid", false},
		{"from not E.164", with(map[string]any{"from": "415-555-0100"}), "from", false},
		{"alphanumeric from", with(map[string]any{"from": "MyShop"}), "from", false},
		{"bad messaging_service_sid", with(map[string]any{"from": nil, "messaging_service_sid": "MG123"}), "messaging_service_sid", false},
		{"relative status_callback", with(map[string]any{"status_callback": "/v1/webhooks/twilio"}), "status_callback", false},
		{"underscore in status_callback host", with(map[string]any{"status_callback": "https://my_host.example.com/cb"}), "status_callback", false},
		{"ftp base_url", with(map[string]any{"base_url": "ftp://api.twilio.com"}), "base_url", false},
		{"base_url with query", with(map[string]any{"base_url": "https://api.twilio.com/?x=1"}), "base_url", false},
		{"zero timeout", with(map[string]any{"timeout": "0s"}), "timeout", false},
		{"huge timeout", with(map[string]any{"timeout": "1h"}), "timeout", false},
		{"bad timeout", with(map[string]any{"timeout": "soon"}), "timeout", false},
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

func TestSendMisconfiguredIsPermanent(t *testing.T) {
	t.Parallel()
	f := newFakeTwilio(t, nil)
	r := send(t, f.config(map[string]any{"from": "not a number"}), message("m", "+14155550101", "Hello"))[0]
	if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, `channel "sms" is misconfigured`) || !strings.Contains(r.Error, "from") {
		t.Errorf("result = %+v, want permanent naming the attribute", r)
	}
	if n := f.hits.Load(); n != 0 {
		t.Errorf("Twilio was called %d times", n)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d, err := plugintest.Channel(t, New(hclog.NewNullLogger())).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "twilio" || d.Kind != sdk.KindChannel || d.Version != "0.1.0" || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]sdk.AttrType{
		"account_sid": sdk.TypeString, "auth_token": sdk.TypeString, "api_key_sid": sdk.TypeString,
		"api_key_secret": sdk.TypeString, "from": sdk.TypeString, "messaging_service_sid": sdk.TypeString,
		"status_callback": sdk.TypeString, "base_url": sdk.TypeString, "timeout": sdk.TypeDuration,
		"allow_private_networks": sdk.TypeBool,
	}
	if len(d.Schema.Attributes) != len(want) {
		t.Fatalf("schema = %+v", d.Schema)
	}
	for _, a := range d.Schema.Attributes {
		if want[a.Name] != a.Type || a.Required != (a.Name == "account_sid") || a.Description == "" {
			t.Errorf("attribute %+v", a)
		}
	}
}
