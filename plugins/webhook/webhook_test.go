package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var fixedNow = time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)

// testSecret is 32 random-looking bytes in the Standard Webhooks format.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func message(id string) sdk.Message {
	return sdk.Message{
		ID: id, Trigger: "abandoned_cart", Step: "reminder_1",
		Profile: sdk.Profile{
			Customer: sdk.Customer{ID: "c1", Email: "jane@example.com"},
			Traits:   map[string]any{"first_name": "Jane"},
		},
		Event: sdk.Event{
			ID: "ev1", Type: "checkout.updated", Source: "shop", SourceKind: "shopify",
			OccurredAt: fixedNow.Add(-time.Hour), ReceivedAt: fixedNow.Add(-time.Hour),
			Customer:   sdk.Customer{ID: "c1", Email: "jane@example.com"},
			Properties: map[string]any{"value": 199.0, "currency": "USD"},
		},
		Fire:      map[string]any{"checkout_id": "chk_1"},
		CreatedAt: fixedNow.Add(-time.Minute), Attempt: 1,
	}
}

// captured is one request the test receiver saw.
type captured struct {
	header http.Header
	body   []byte
}

// receiver is an httptest server answering with handler and recording
// every request.
func receiver(t *testing.T, handler http.HandlerFunc) (*httptest.Server, func() []captured) {
	t.Helper()
	var (
		mu   sync.Mutex
		reqs []captured
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, captured{header: r.Header.Clone(), body: b})
		mu.Unlock()
		if handler != nil {
			handler(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured {
		mu.Lock()
		defer mu.Unlock()
		return append([]captured(nil), reqs...)
	}
}

func send(t *testing.T, cfg map[string]any, msgs ...sdk.Message) []sdk.SendResult {
	t.Helper()
	ch := plugintest.Channel(t, NewWebhook(hclog.NewNullLogger(), WithClock(func() time.Time { return fixedNow })))
	resp, err := ch.Send(context.Background(), &sdk.SendRequest{
		Channel: "hook", Config: plugintest.MustConfig(t, cfg), Messages: msgs,
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	return resp.Results
}

// verify checks a Standard Webhooks signature the way a receiver would,
// independently of the plugin's Sign.
func verify(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	signed := h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signed))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return
		}
	}
	t.Fatalf("no valid v1 signature in %q", h.Get("webhook-signature"))
}

func TestSendDelivers(t *testing.T) {
	t.Parallel()
	srv, reqs := receiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	res := send(t, map[string]any{
		"url": srv.URL + "/hooks", "secret": testSecret, "allow_private_networks": true,
		"headers": map[string]string{"Authorization": "Bearer t0k"},
	}, message("msg_1"), message("msg_2"))

	for i, r := range res {
		if r.Status != sdk.StatusOK {
			t.Fatalf("result %d = %+v, want ok", i, r)
		}
	}
	got := reqs()
	if len(got) != 2 {
		t.Fatalf("receiver saw %d requests, want 2", len(got))
	}
	ids := map[string]bool{}
	for _, c := range got {
		h := c.header
		ids[h.Get("webhook-id")] = true
		for name, want := range map[string]string{
			"Content-Type":      "application/json",
			"User-Agent":        "triggergate-webhook/0.1.0",
			"Webhook-Timestamp": strconv.FormatInt(fixedNow.Unix(), 10),
			"Authorization":     "Bearer t0k",
		} {
			if h.Get(name) != want {
				t.Errorf("header %s = %q, want %q", name, h.Get(name), want)
			}
		}
		verify(t, testSecret, h, c.body)

		var p struct {
			Type      string `json:"type"`
			Timestamp string `json:"timestamp"`
			Data      struct {
				Trigger   string         `json:"trigger"`
				Step      string         `json:"step"`
				Customer  sdk.Profile    `json:"customer"`
				Event     sdk.Event      `json:"event"`
				Fire      map[string]any `json:"fire"`
				MessageID string         `json:"message_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(c.body, &p); err != nil {
			t.Fatalf("body %s: %v", c.body, err)
		}
		if p.Type != "abandoned_cart.reminder_1" || p.Timestamp != "2026-11-22T10:00:05Z" {
			t.Errorf("type/timestamp = %q/%q", p.Type, p.Timestamp)
		}
		d := p.Data
		if d.Trigger != "abandoned_cart" || d.Step != "reminder_1" || d.MessageID != h.Get("webhook-id") {
			t.Errorf("data = %+v", d)
		}
		if d.Customer.Email != "jane@example.com" || d.Customer.Traits["first_name"] != "Jane" {
			t.Errorf("customer = %+v", d.Customer)
		}
		if d.Event.ID != "ev1" || d.Event.Type != "checkout.updated" || d.Event.Properties["value"] != 199.0 {
			t.Errorf("event = %+v", d.Event)
		}
		if d.Fire["checkout_id"] != "chk_1" {
			t.Errorf("fire = %+v", d.Fire)
		}
	}
	if !ids["msg_1"] || !ids["msg_2"] {
		t.Errorf("webhook-ids = %v, want msg_1 and msg_2", ids)
	}
}

func TestSendUnsigned(t *testing.T) {
	t.Parallel()
	srv, reqs := receiver(t, nil)
	res := send(t, map[string]any{"url": srv.URL, "allow_private_networks": true}, message("m"))
	if res[0].Status != sdk.StatusOK {
		t.Fatalf("result = %+v", res[0])
	}
	if h := reqs()[0].header; h.Get("webhook-signature") != "" || h.Get("webhook-id") != "m" {
		t.Errorf("headers = %v, want webhook-id and no signature", h)
	}
}

func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	// Vector from the Standard Webhooks reference libraries' tests.
	key, err := decodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestSendClassifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		timeout    string
		want       sdk.SendStatus
		wantAfter  time.Duration
		wantErrHas string
	}{
		{"500 is retryable", status(500, nil), "", sdk.StatusRetryable, 0, "500"},
		{"503 with Retry-After seconds", status(503, map[string]string{"Retry-After": "7"}), "", sdk.StatusRetryable, 7 * time.Second, "503"},
		{"429 with Retry-After date", status(429, map[string]string{"Retry-After": fixedNow.Add(2 * time.Minute).Format(http.TimeFormat)}), "", sdk.StatusRetryable, 2 * time.Minute, "429"},
		{"Retry-After capped at an hour", status(503, map[string]string{"Retry-After": "86400"}), "", sdk.StatusRetryable, time.Hour, "503"},
		{"408 is retryable", status(408, nil), "", sdk.StatusRetryable, 0, "408"},
		{"425 is retryable", status(425, nil), "", sdk.StatusRetryable, 0, "425"},
		{"400 is permanent", status(400, nil), "", sdk.StatusPermanent, 0, "400"},
		{"404 is permanent", status(404, nil), "", sdk.StatusPermanent, 0, "404"},
		{"410 is permanent", status(410, nil), "", sdk.StatusPermanent, 0, "no longer exists"},
		{"302 is permanent", status(302, map[string]string{"Location": "http://169.254.169.254/latest"}), "", sdk.StatusPermanent, 0, "redirects are not followed"},
		{"timeout is retryable", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, "200ms", sdk.StatusRetryable, 0, "no response within 200ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hits atomic.Int32
			srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/" {
					t.Errorf("redirect followed to %s", r.URL.Path)
				}
				hits.Add(1)
				tc.handler(w, r)
			})
			cfg := map[string]any{"url": srv.URL, "allow_private_networks": true}
			if tc.timeout != "" {
				cfg["timeout"] = tc.timeout
			}
			start := time.Now()
			r := send(t, cfg, message("m"))[0]
			if r.Status != tc.want || r.RetryAfter != tc.wantAfter {
				t.Errorf("result = %+v, want %s after %s", r, tc.want, tc.wantAfter)
			}
			if !strings.Contains(r.Error, tc.wantErrHas) {
				t.Errorf("error %q does not contain %q", r.Error, tc.wantErrHas)
			}
			if hits.Load() != 1 {
				t.Errorf("receiver hit %d times, want 1", hits.Load())
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
		})
	}
}

func status(code int, headers map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"error":"nope"}`)
	}
}

func TestSendRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv, _ := receiver(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	// httptest listens on 127.0.0.1; "localhost" also resolves to loopback
	// at dial time.
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, tc := range []struct{ url, kind string }{
		{srv.URL, "loopback"},
		{"http://localhost:" + port + "/", "loopback"}, // a name resolving to loopback
		{"http://[::1]:" + port + "/", "loopback"},
		{"http://[::ffff:127.0.0.1]:" + port + "/", "loopback"}, // IPv4-mapped
		{"http://10.0.0.1:" + port + "/", "private"},
		{"http://169.254.169.254/latest/meta-data/", "link-local"}, // cloud metadata
	} {
		r := send(t, map[string]any{"url": tc.url, "timeout": "2s"}, message("m"))[0]
		if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, tc.kind) || !strings.Contains(r.Error, "allow_private_networks") {
			t.Errorf("%s: result = %+v, want a permanent %s refusal", tc.url, r, tc.kind)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("receiver was reached %d times", hits.Load())
	}
}

// A receiver that redirects is not followed, even to an address the
// channel may reach: the redirect's target is never contacted.
func TestSendDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var inner atomic.Int32
	target, _ := receiver(t, func(http.ResponseWriter, *http.Request) { inner.Add(1) })
	srv, _ := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/internal", http.StatusFound)
	})
	r := send(t, map[string]any{"url": srv.URL, "allow_private_networks": true}, message("m"))[0]
	if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, "redirects are not followed") {
		t.Errorf("result = %+v, want a permanent refusal to follow", r)
	}
	if inner.Load() != 0 {
		t.Errorf("the redirect target was reached %d times", inner.Load())
	}
}

func TestSendCancelled(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv, _ := receiver(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := &sdk.SendRequest{
		Config:   plugintest.MustConfig(t, map[string]any{"url": srv.URL, "allow_private_networks": true}),
		Messages: []sdk.Message{message("m1"), message("m2")},
	}
	// Over the wire, the host's cancellation reaches the call.
	if _, err := plugintest.Channel(t, New(hclog.NewNullLogger())).Send(ctx, req); err == nil {
		t.Error("Send over gRPC with a cancelled context succeeded")
	}
	// In the plugin, nothing is sent and every message is retryable.
	resp, err := NewWebhook(hclog.NewNullLogger()).Send(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.Status != sdk.StatusRetryable {
			t.Errorf("result %d = %+v, want retryable", i, r)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("receiver hit %d times after cancellation", hits.Load())
	}
}

func TestSendConcurrentBatchKeepsOrder(t *testing.T) {
	t.Parallel()
	srv, reqs := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-id") == "bad" {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	msgs := make([]sdk.Message, 10)
	for i := range msgs {
		msgs[i] = message("m" + strconv.Itoa(i))
	}
	msgs[6].ID = "bad"
	res := send(t, map[string]any{"url": srv.URL, "allow_private_networks": true}, msgs...)
	for i, r := range res {
		want := sdk.StatusOK
		if i == 6 {
			want = sdk.StatusPermanent
		}
		if r.Status != want {
			t.Errorf("result %d = %+v, want %s", i, r, want)
		}
	}
	if len(reqs()) != 10 {
		t.Errorf("receiver saw %d requests", len(reqs()))
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		config   map[string]any
		wantPath string // empty: no error
		warning  bool
	}{
		{"minimal", map[string]any{"url": "https://example.com/hook"}, "", false},
		{"full", map[string]any{"url": "http://example.com", "secret": testSecret, "timeout": "30s",
			"headers": map[string]string{"X-Api-Key": "k"}, "allow_private_networks": true}, "", false},
		{"secret without prefix", map[string]any{"url": "https://example.com", "secret": strings.TrimPrefix(testSecret, "whsec_")}, "", false},
		{"short secret warns", map[string]any{"url": "https://example.com", "secret": "whsec_c2hvcnQ="}, "", true},
		{"missing url", map[string]any{}, "url", false},
		{"ftp url", map[string]any{"url": "ftp://example.com"}, "url", false},
		{"relative url", map[string]any{"url": "/hook"}, "url", false},
		{"no host", map[string]any{"url": "https://"}, "url", false},
		{"secret not base64", map[string]any{"url": "https://example.com", "secret": "whsec_not base64!"}, "secret", false},
		{"zero timeout", map[string]any{"url": "https://example.com", "timeout": "0s"}, "timeout", false},
		{"bad timeout", map[string]any{"url": "https://example.com", "timeout": "soon"}, "timeout", false},
		{"reserved header", map[string]any{"url": "https://example.com", "headers": map[string]string{"webhook-id": "x"}}, "headers", false},
		{"bad header name", map[string]any{"url": "https://example.com", "headers": map[string]string{"X Bad": "x"}}, "headers", false},
		{"header injection", map[string]any{"url": "https://example.com", "headers": map[string]string{"X-A": "a\r\nX-B: b"}}, "headers", false},
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
	r := send(t, map[string]any{"url": "gopher://example.com"}, message("m"))[0]
	if r.Status != sdk.StatusPermanent || !strings.Contains(r.Error, "url") {
		t.Errorf("result = %+v, want permanent", r)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d, err := plugintest.Channel(t, New(hclog.NewNullLogger())).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "webhook" || d.Kind != sdk.KindChannel || d.Version != "0.1.0" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]sdk.AttrType{
		"url": sdk.TypeString, "secret": sdk.TypeString, "timeout": sdk.TypeDuration,
		"headers": sdk.TypeStringMap, "allow_private_networks": sdk.TypeBool,
	}
	if len(d.Schema.Attributes) != len(want) {
		t.Fatalf("schema = %+v", d.Schema)
	}
	for _, a := range d.Schema.Attributes {
		if want[a.Name] != a.Type || a.Required != (a.Name == "url") || a.Description == "" {
			t.Errorf("attribute %+v", a)
		}
	}
}
