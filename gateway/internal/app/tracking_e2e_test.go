package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/smtptest"
	"github.com/triggergate/triggergate/gateway/internal/stats"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// TestEmailTrackingEndToEnd sends real email through the smtp plugin to an
// SMTP server in the test, then acts as the customer's mail client: the
// click link redirects to the shop and the open pixel loads, each
// becoming an event a trigger reacts to; the one-click unsubscribe link
// stops the next marketing email, while a transactional one still goes.
func TestEmailTrackingEndToEnd(t *testing.T) {
	mailbox := smtptest.Start(t, 16)
	pluginDir := pluginhosttest.Build(t, "plugins/event", "plugins/smtp", "plugins/log")
	blocks, clientPort := gatewayBlocks(t, pluginDir)
	listen := fmt.Sprintf("127.0.0.1:%d", storetest.FreePort(t))
	blocks = strings.Replace(blocks, `listen     = "127.0.0.1:0"`, `listen     = "`+listen+`"`, 1)
	hcl := blocks + fmt.Sprintf(`
source "app" {
  kind        = "json"
  secret      = %q
  event_types = ["promo.requested"]
}
tracking {
  base_url    = "http://%s"
  secret      = "tracking-secret-0123456789abcdef0123456789"
  sender_name = "Example Shop"
}
channel "email" {
  plugin = "smtp"
  config {
    host = "127.0.0.1"
    port = %s
    tls  = "none"
    from = "Example Shop <shop@example.com>"
  }
}
channel "log" {
  plugin = "log"
}
template "promo" {
  subject = "Our sale, {{ .Customer.Email }}"
  html    = "<html><body><p>Hello!</p><a href=\"https://shop.example.com/sale?x=1&amp;y=2\">Shop the sale</a> <a href=\"{{ .UnsubscribeURL }}\">Unsubscribe</a></body></html>"
  text    = "Shop the sale: https://shop.example.com/sale\nUnsubscribe: {{ .UnsubscribeURL }}"
}
template "receipt" {
  subject = "Your receipt"
  html    = "<p>Thanks for order {{ .Event.Properties.order_id }}.</p>"
}
trigger "promo" {
  plugin = "event"
  config {
    on = ["promo.requested"]
  }
  action {
    channel  = "email"
    template = "promo"
  }
}
trigger "receipt" {
  plugin        = "event"
  transactional = true
  config {
    on = ["order.placed"]
  }
  action {
    channel  = "email"
    template = "receipt"
  }
}
trigger "engaged" {
  plugin = "event"
  config {
    on = ["email.clicked", "email.opened"]
  }
  action {
    channel = "log"
  }
}
`, sourceSecret, listen, mailbox.Port())
	g := runGateway(t, pluginDir, clientPort, hcl, fastRetries)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{g.etcdURL}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	post := func(body string) {
		t.Helper()
		if status, ans := g.post(t, body, ""); status != http.StatusAccepted {
			t.Fatalf("post %s: %d %v", body, status, ans)
		}
	}
	receive := func() smtptest.Message {
		t.Helper()
		select {
		case m := <-mailbox.Messages:
			return m
		case <-time.After(60 * time.Second):
			t.Fatal("no email within 60s")
			return smtptest.Message{}
		}
	}
	const jane = `"customer":{"id":"c-1","email":"jane@example.com"}`

	post(`{"id":"p-1","type":"promo.requested",` + jane + `}`)
	promo := receive()
	if got := promo.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe-Post = %q", got)
	}
	unsub := strings.Trim(promo.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, "http://"+listen+"/t/u/") || !strings.Contains(promo.Text, unsub) || !strings.Contains(promo.HTML, unsub) {
		t.Fatalf("unsubscribe link %q not in the header, text and html:\n%s\n%s", unsub, promo.Text, promo.HTML)
	}
	click := regexp.MustCompile(`href="(http://` + regexp.QuoteMeta(listen) + `/t/c/[^"]+)"`).FindStringSubmatch(promo.HTML)
	pixel := regexp.MustCompile(`src="(http://` + regexp.QuoteMeta(listen) + `/t/o/[^"]+)"`).FindStringSubmatch(promo.HTML)
	if click == nil || pixel == nil || strings.Contains(promo.HTML, `href="https://shop.example.com`) {
		t.Fatalf("links not tracked in:\n%s", promo.HTML)
	}

	// The customer's mail client: follow the link (not the redirect), load the pixel.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(click[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://shop.example.com/sale?x=1&y=2" {
		t.Fatalf("click: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(pixel[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("pixel: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Both became events the "engaged" trigger fired on.
	awaitTrace(t, cli, "id:c-1", func(trace []decision) bool {
		n := 0
		for _, d := range trace {
			if d.Rule == "engaged" && d.Outcome == "sent" {
				n++
			}
		}
		return n == 2
	})

	// One-click unsubscribe, as a mailbox provider does it (RFC 8058).
	resp, err = http.Post(unsub, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
	}
	awaitTrace(t, cli, "id:c-1", func([]decision) bool {
		granted, set := consent(t, cli, "id:c-1")["email"]
		return set && !granted
	})

	post(`{"id":"p-2","type":"promo.requested",` + jane + `}`)
	post(`{"id":"o-1","type":"order.placed",` + jane + `,"properties":{"order_id":"o-1"}}`)
	receipt := receive()
	if receipt.Header.Get("Subject") != "Your receipt" || receipt.Header.Get("List-Unsubscribe") != "" {
		t.Fatalf("after unsubscribing, got %q (List-Unsubscribe %q), want the receipt without one",
			receipt.Header.Get("Subject"), receipt.Header.Get("List-Unsubscribe"))
	}
	awaitTrace(t, cli, "id:c-1", func(trace []decision) bool {
		for _, d := range trace {
			if d.Rule == "promo" && d.EventID != "" && d.Outcome == "suppressed" && d.Reason == "consent" {
				return true
			}
		}
		return false
	})
	// Both emails' delivery records reach the trace, and the counters add up.
	awaitTrace(t, cli, "id:c-1", func(trace []decision) bool {
		n := 0
		for _, d := range trace {
			if d.Outcome == "delivered" && (d.Rule == "promo" || d.Rule == "receipt") {
				n++
			}
		}
		return n == 2
	})
	var kpis admin.KPIs
	g.admin(t, http.MethodGet, "/v1/kpis", "", &kpis)
	rows := map[string]stats.Counts{}
	for _, r := range kpis.Rows {
		rows[r.Trigger+"/"+r.Channel] = r.Counts
	}
	if p := rows["promo/email"]; p.Queued != 1 || p.Sent != 1 || p.Opened != 1 || p.Clicked != 1 || p.Unsubscribed != 1 ||
		p.Suppressed["consent"] != 1 || p.Failed != 0 {
		t.Errorf("promo counters = %+v", p)
	}
	if r := rows["receipt/email"]; r.Queued != 1 || r.Sent != 1 {
		t.Errorf("receipt counters = %+v", r)
	}
	select {
	case m := <-mailbox.Messages:
		t.Fatalf("unexpected email %q", m.Header.Get("Subject"))
	default:
	}
}

type decision struct {
	Rule    string `json:"rule"`
	Detail  string `json:"detail"`
	EventID string `json:"event_id"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

// awaitTrace waits until done holds for the customer's decision trace,
// re-reading the record whenever etcd reports a change to it.
func awaitTrace(t *testing.T, cli *clientv3.Client, key string, done func([]decision) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	k := "/triggergate/customers/" + key
	changes := cli.Watch(ctx, k)
	for {
		resp, err := cli.Get(ctx, k)
		if err != nil {
			t.Fatalf("reading %s: %v", key, err)
		}
		var rec struct {
			Trace []decision `json:"trace"`
		}
		if len(resp.Kvs) == 1 {
			if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
				t.Fatal(err)
			}
		}
		if done(rec.Trace) {
			return
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("customer %s: condition not met; trace %+v", key, rec.Trace)
		}
	}
}

// consent reads the customer's consent map.
func consent(t *testing.T, cli *clientv3.Client, key string) map[string]bool {
	t.Helper()
	resp, err := cli.Get(t.Context(), "/triggergate/customers/"+key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("reading %s: %v", key, err)
	}
	var rec struct {
		Profile struct {
			Consent map[string]bool `json:"consent"`
		} `json:"profile"`
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Profile.Consent
}
