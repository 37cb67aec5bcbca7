package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pluginhosttest.Cleanup()
	os.Exit(code)
}

const (
	sourceSecret = "source-secret"
	// hookKey is the Standard Webhooks signing key of the outgoing channel.
	hookKey = "outgoing-signing-key-32-bytes-ok"
)

// received is one POST the webhook receiver got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is an httptest server standing in for the customer's endpoint.
// Handle decides each answer; every request is also sent on got.
type receiver struct {
	*httptest.Server
	got    chan received
	handle func(n int, w http.ResponseWriter) // n counts requests from 1
}

func newReceiver(t *testing.T, handle func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan received, 64), handle: handle}
	n := 0
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n++
		rc.got <- received{header: r.Header.Clone(), body: body, at: time.Now()}
		if rc.handle != nil {
			rc.handle(n, w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the receiver's next request.
func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(60 * time.Second):
		t.Fatal("no webhook reached the receiver within 60s")
		return received{}
	}
}

// gateway is a running gateway under test.
type gateway struct {
	url       string
	adminURL  string
	pluginDir string
	etcdURL   string // the embedded etcd's client URL
	done      chan error
}

// gatewayBlocks are the gateway and store blocks of a test gateway:
// embedded etcd on free loopback ports, the given plugin directory, the
// admin API with the test token.
func gatewayBlocks(t *testing.T, pluginDir string) (string, int) {
	clientPort := storetest.FreePort(t)
	return fmt.Sprintf(`
gateway {
  listen     = "127.0.0.1:0"
  admin_listen = "127.0.0.1:0"
  admin_token  = "e2e-admin-token-0123456789"
  data_dir   = %q
  plugin_dir = %q
  shutdown_timeout = "5s"
}
store {
  embedded   = true
  client_url = "http://127.0.0.1:%d"
  peer_url   = "http://127.0.0.1:%d"
}
`, t.TempDir(), pluginDir, clientPort, storetest.FreePort(t)), clientPort
}

// startGateway runs app.Run on a config written for the test: real
// plugin binaries, and the given channel URL for the outgoing webhook.
func startGateway(t *testing.T, hookURL string, opts ...delivery.Option) *gateway {
	t.Helper()
	pluginDir := pluginhosttest.Build(t, "plugins/event", "plugins/webhook", "plugins/log", "plugins/absence")
	blocks, clientPort := gatewayBlocks(t, pluginDir)
	hcl := blocks + fmt.Sprintf(`
source "app" {
  kind   = "json"
  secret = %q
}
source "shop" {
  kind   = "shopify"
  secret = %q
}
channel "hook" {
  plugin = "webhook"
  config {
    url    = %q
    secret = "whsec_%s"
    timeout = "30s"
    allow_private_networks = true
  }
}
trigger "big_orders" {
  plugin = "event"
  config {
    on   = ["order.placed"]
    when = event.properties.value > 50
  }
  action {
    channel = "hook"
  }
}
trigger "cart" {
  plugin = "absence"
  config {
    start  = ["checkout.updated"]
    cancel = ["order.placed"]
    key    = "checkout_id"
    wait   = "3s"
  }
  action {
    channel = "hook"
  }
}
`, sourceSecret, sourceSecret, hookURL, base64.StdEncoding.EncodeToString([]byte(hookKey)))
	return runGateway(t, pluginDir, clientPort, hcl, opts...)
}

// runGateway runs app.Run on hcl until the test ends.
func runGateway(t *testing.T, pluginDir string, clientPort int, hcl string, opts ...delivery.Option) *gateway {
	t.Helper()
	return runGatewayWith(t, pluginDir, fmt.Sprintf("http://127.0.0.1:%d", clientPort), hcl,
		func(o *app.Options) { o.DeliveryOptions = opts })
}

// runGatewayWith is runGateway with the options set by tune.
func runGatewayWith(t *testing.T, pluginDir, etcdURL, hcl string, tune func(*app.Options)) *gateway {
	t.Helper()
	cfg, diags := config.LoadFiles(map[string][]byte{"gateway.hcl": []byte(hcl)}, t.TempDir())
	if diags.HasErrors() {
		t.Fatalf("config: %s", diags.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, adminAddr := make(chan net.Addr, 1), make(chan net.Addr, 1)
	g := &gateway{pluginDir: pluginDir, etcdURL: etcdURL, done: make(chan error, 1)}
	opts := app.Options{
		Logger:            hclog.New(&hclog.LoggerOptions{Name: "gw", Level: hclog.Info, Output: testWriter{t}}),
		Ready:             func(a net.Addr) { addr <- a },
		AdminReady:        func(a net.Addr) { adminAddr <- a },
		PluginHostOptions: []pluginhost.Option{pluginhost.WithRestartBackoff(20*time.Millisecond, 200*time.Millisecond)},
	}
	if tune != nil {
		tune(&opts)
	}
	go func() { g.done <- app.Run(ctx, cfg, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-g.done; err != nil {
			t.Errorf("gateway stopped with: %v", err)
		}
	})
	select {
	case a := <-addr:
		g.url = "http://" + a.String()
		g.adminURL = "http://" + (<-adminAddr).String()
	case err := <-g.done:
		g.done <- nil // for the cleanup, which waits for the gateway to stop
		t.Fatalf("gateway did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("gateway did not start within 60s")
	}
	return g
}

// testWriter sends the gateway's log to the test log, which shows it only
// on failure.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// post sends a delivery to the app source, signed unless sig is "-".
func (g *gateway) post(t *testing.T, body string, sig string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+"/v1/webhooks/app", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch sig {
	case "":
		m := hmac.New(sha256.New, []byte(sourceSecret))
		m.Write([]byte(body))
		req.Header.Set("X-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	case "-":
	default:
		req.Header.Set("X-Signature-256", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decoding the answer (status %d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// order is an order.placed event of customer c-1 (Jane); all orders share the
// customer so that they are processed in commit order.
func order(id string, value float64) string {
	return fmt.Sprintf(`{"id":%q,"type":"order.placed","customer":{"id":"c-1","email":"Jane@Example.com"},"properties":{"order_id":%q,"value":%v}}`,
		id, id, value)
}

// verifySignature checks a Standard Webhooks signature the way a receiver
// would.
func verifySignature(t *testing.T, r received) {
	t.Helper()
	id, ts := r.header.Get("webhook-id"), r.header.Get("webhook-timestamp")
	if id == "" || ts == "" {
		t.Fatalf("missing Standard Webhooks headers: %v", r.header)
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		t.Fatalf("webhook-timestamp %q: %v", ts, err)
	}
	m := hmac.New(sha256.New, []byte(hookKey))
	m.Write([]byte(id + "." + ts + "."))
	m.Write(r.body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(r.header.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return
		}
	}
	t.Fatalf("webhook-signature %q does not verify (want %q)", r.header.Get("webhook-signature"), want)
}

type hookBody struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		Trigger  string         `json:"trigger"`
		Step     string         `json:"step"`
		Customer map[string]any `json:"customer"`
		Event    struct {
			ID         string         `json:"id"`
			Type       string         `json:"type"`
			Source     string         `json:"source"`
			DeliveryID string         `json:"delivery_id"`
			Properties map[string]any `json:"properties"`
		} `json:"event"`
	} `json:"data"`
}

func decodeHook(t *testing.T, r received) hookBody {
	t.Helper()
	var b hookBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("webhook body %s: %v", r.body, err)
	}
	return b
}

func TestWebhookToSignedPOST(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, rc.URL)

	status, ans := g.post(t, order("o-1", 99.5), "")
	if status != http.StatusAccepted || ans["accepted"] != 1.0 {
		t.Fatalf("first delivery: %d %v", status, ans)
	}
	eventID := ans["event_ids"].([]any)[0].(string)

	// A retry of the same delivery is acknowledged and not processed again.
	status, ans = g.post(t, order("o-1", 99.5), "")
	if status != http.StatusOK || ans["duplicate"] != true {
		t.Fatalf("repeated delivery: %d %v, want 200 duplicate", status, ans)
	}
	if ids := ans["event_ids"].([]any); len(ids) != 1 || ids[0] != eventID {
		t.Fatalf("duplicate answered ids %v, want [%s]", ids, eventID)
	}
	// Filtered out by the trigger's when condition.
	if status, ans = g.post(t, order("o-2", 10), ""); status != http.StatusAccepted {
		t.Fatalf("small order: %d %v", status, ans)
	}
	if status, ans = g.post(t, order("o-3", 75), ""); status != http.StatusAccepted {
		t.Fatalf("third order: %d %v", status, ans)
	}

	// Two messages come out, for o-1 and o-3: neither the duplicate nor the
	// small order produced one. Delivery does not promise an order between
	// messages, so they are matched by the order they carry.
	got := map[string]received{}
	for range 2 {
		r := rc.next(t)
		verifySignature(t, r)
		id := decodeHook(t, r).Data.Event.DeliveryID
		if _, dup := got[id]; dup {
			t.Fatalf("two messages for %s", id)
		}
		got[id] = r
	}
	first, ok := got["o-1"]
	if !ok || got["o-3"].body == nil {
		t.Fatalf("messages for %v, want o-1 and o-3", slices.Collect(maps.Keys(got)))
	}
	b := decodeHook(t, first)
	if b.Type != "big_orders.default" || b.Data.Trigger != "big_orders" || b.Data.Step != "default" {
		t.Fatalf("webhook envelope: %+v", b)
	}
	if b.Data.Event.ID != eventID || b.Data.Event.Type != "order.placed" || b.Data.Event.Source != "app" ||
		b.Data.Event.DeliveryID != "o-1" || b.Data.Event.Properties["value"] != 99.5 {
		t.Fatalf("webhook carries event %+v, want the canonical event %s", b.Data.Event, eventID)
	}
	if b.Data.Customer["email"] != "jane@example.com" {
		t.Fatalf("customer = %v, want the lower-cased email", b.Data.Customer)
	}
	if first.header.Get("webhook-id") == got["o-3"].header.Get("webhook-id") {
		t.Fatal("two different fires share a webhook-id")
	}
}

func TestIngestRefusals(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, rc.URL)

	cases := []struct {
		name, path, contentType, body, sig string
		status                             int
		code                               string
	}{
		{"unknown source", "/v1/webhooks/nope", "application/json", order("x", 1), "", 404, "unknown_source"},
		{"wrong content type", "/v1/webhooks/app", "text/plain", order("x", 1), "", 415, "unsupported_media_type"},
		{"missing signature", "/v1/webhooks/app", "application/json", order("x", 1), "-", 401, "bad_signature"},
		{"bad signature", "/v1/webhooks/app", "application/json", order("x", 1), "sha256=" + strings.Repeat("0", 64), 401, "bad_signature"},
		{"not json", "/v1/webhooks/app", "application/json", "{not json", "", 400, "bad_payload"},
		{"no identity", "/v1/webhooks/app", "application/json", `{"type":"order.placed"}`, "", 400, "bad_payload"},
		{"too large", "/v1/webhooks/app", "application/json", `{"type":"x","pad":"` + strings.Repeat("a", 2<<20) + `"}`, "", 413, "body_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, g.url+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			if c.sig != "-" {
				sig := c.sig
				if sig == "" {
					m := hmac.New(sha256.New, []byte(sourceSecret))
					m.Write([]byte(c.body))
					sig = hex.EncodeToString(m.Sum(nil))
				}
				req.Header.Set("X-Signature-256", sig)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("error body %q is not JSON: %v", raw, err)
			}
			if resp.StatusCode != c.status || e.Error.Code != c.code || e.Error.Message == "" {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, raw, c.status, c.code)
			}
		})
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(g.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d", path, resp.StatusCode)
		}
	}
}

// TestVendorWebhookEndToEnd sends a real Shopify orders/create delivery
// (from the shared fixtures), signed as Shopify signs it, through the whole
// gateway: the shopify source maps it to order.placed in major units, the
// event trigger's condition sees the value, and the outgoing webhook
// carries the canonical event.
func TestVendorWebhookEndToEnd(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, rc.URL)

	var body []byte
	for _, f := range sourcetest.Fixtures(t, "shopify") {
		if f.Name == "orders.create__rudder-transformer.json" {
			body = f.Body
		}
	}
	if body == nil {
		t.Fatal("fixture shopify/orders.create__rudder-transformer.json not found")
	}
	m := hmac.New(sha256.New, []byte(sourceSecret))
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, g.url+"/v1/webhooks/shop", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", "orders/create")
	req.Header.Set("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
	req.Header.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("Shopify delivery: %d", resp.StatusCode)
	}

	got := rc.next(t)
	verifySignature(t, got)
	b := decodeHook(t, got)
	if b.Data.Event.Type != "order.placed" || b.Data.Event.Source != "shop" ||
		b.Data.Event.Properties["value"] != 600.0 || b.Data.Event.Properties["currency"] != "USD" {
		t.Fatalf("outgoing webhook carries %+v", b.Data.Event)
	}
	if b.Data.Customer["email"] != "henry@wfls.com" {
		t.Fatalf("customer = %v", b.Data.Customer)
	}
}

// TestChannelPluginKilledMidRun kills the webhook plugin process while it
// is in the middle of delivering: the message must still arrive, from a
// restarted plugin, with the same idempotency key.
func TestChannelPluginKilledMidRun(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			<-release // hold the first attempt open until the plugin is dead
		}
		w.WriteHeader(http.StatusNoContent)
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	g := startGateway(t, rc.URL, delivery.WithPolicy(delivery.Policy{
		MaxAttempts: 50, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond,
	}))

	if status, ans := g.post(t, order("o-kill", 500), ""); status != http.StatusAccepted {
		t.Fatalf("delivery: %d %v", status, ans)
	}
	first := rc.next(t) // the plugin is now blocked inside its HTTP call
	pids := pluginhosttest.PIDs(t, filepath.Join(g.pluginDir, "webhook"))
	if len(pids) != 1 {
		t.Fatalf("webhook plugin processes: %v, want exactly one", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(release)

	again := rc.next(t)
	if again.header.Get("webhook-id") != first.header.Get("webhook-id") {
		t.Fatalf("retry has webhook-id %q, first attempt %q: the idempotency key must be stable",
			again.header.Get("webhook-id"), first.header.Get("webhook-id"))
	}
	verifySignature(t, again)
	if b := decodeHook(t, again); b.Data.Event.DeliveryID != "o-kill" {
		t.Fatalf("retried message is for %q", b.Data.Event.DeliveryID)
	}
	if now := pluginhosttest.PIDs(t, filepath.Join(g.pluginDir, "webhook")); len(now) != 1 || now[0] == pids[0] {
		t.Fatalf("webhook plugin after restart: %v (killed %d)", now, pids[0])
	}
}

// TestAbandonedCartTimer runs a timer through the whole gateway: the real
// absence plugin sets it, the partition's owner fires it on the wall clock
// as a timer.fired event, and the reminder goes out through the webhook
// channel. A second checkout, ordered before its wait ends, gets none.
func TestAbandonedCartTimer(t *testing.T) {
	rc := newReceiver(t, nil)
	g := startGateway(t, rc.URL)
	checkout := func(delivery, typ, id string) {
		t.Helper()
		body := fmt.Sprintf(`{"id":%q,"type":%q,"customer":{"id":"c-cart"},"properties":{"checkout_id":%q,"value":10}}`, delivery, typ, id)
		if status, ans := g.post(t, body, ""); status != http.StatusAccepted {
			t.Fatalf("%s: %d %v", delivery, status, ans)
		}
	}
	checkout("d1", "checkout.updated", "k1")
	checkout("d2", "checkout.updated", "k2")
	checkout("d3", "order.placed", "k2")

	r := rc.next(t)
	verifySignature(t, r)
	b := decodeHook(t, r)
	if b.Type != "cart.default" || b.Data.Event.Type != "timer.fired" {
		t.Fatalf("reminder: type %q, event %q", b.Type, b.Data.Event.Type)
	}
	var fire struct {
		Data struct {
			Fire map[string]any `json:"fire"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &fire); err != nil || fire.Data.Fire["key"] != "k1" {
		t.Fatalf("reminder fire data %v (%v), want checkout k1", fire.Data.Fire, err)
	}

	// The customer's record: no checkout clock left (k2's was cancelled by
	// its order, k1's has fired; the plugin's "gc" timer, which forgets
	// closed checkouts after 48 hours, stays) and exactly one decision,
	// k1's reminder.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{g.etcdURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(t.Context(), "/triggergate/customers/id:c-cart")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("customer record: %v %v", err, resp)
	}
	var rec struct {
		Timers map[string]map[string]any `json:"timers"`
		Trace  []map[string]any          `json:"trace"`
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		t.Fatal(err)
	}
	delete(rec.Timers["cart"], "gc")
	if len(rec.Timers["cart"]) != 0 || len(rec.Trace) != 1 || rec.Trace[0]["outcome"] != "sent" {
		t.Fatalf("timers %v, trace %v: want no timer and one sent reminder", rec.Timers, rec.Trace)
	}
}
