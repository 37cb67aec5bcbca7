package delivery_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/smtptest"
	"github.com/triggergate/triggergate/sdk"
)

// The delivery benchmarks measure the delivery side alone, as the gateway
// runs it: entries written to the outbox in embedded etcd (as the engine
// writes them when a trigger fires), the worker with the gateway's shards
// over 64 partitions, the real channel plugin binary over go-plugin, and a
// local provider that records when each message reaches it. Each reports
//
//   - msgs/s: the throughput phase, -delivery.messages messages (10,000 by
//     default) written by concurrent writers in transactions of 100, from
//     the first write to the last arrival at the provider;
//   - write-msgs/s: how fast those were written (to see that writing was
//     not the limit);
//   - steady-msgs/s, p50-ms, p99-ms, max-ms: the latency phase, messages
//     written in one transaction every 10ms for -delivery.steady (15s) at
//     -delivery.rate msgs/s (default half the measured throughput), and
//     their latency from the write (the fire: CreatedAt) to the provider
//     accepting them.
//
// Every message must arrive exactly once and leave the outbox. Run with
//
//	go test -run '^$' -bench 'DeliveryWebhook|DeliverySMTP' -benchtime 1x ./gateway/internal/delivery/

// BenchmarkDeliveryWebhook delivers through the webhook plugin, signing
// every request, to an httptest receiver that answers 204.
func BenchmarkDeliveryWebhook(b *testing.B) {
	got := newArrivals()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		_, err := io.Copy(io.Discard, r.Body)
		problem := ""
		switch {
		case err != nil:
			problem = err.Error()
		case r.Header.Get("webhook-signature") == "":
			problem = "unsigned"
		}
		got.record(r.Header.Get("webhook-id"), at, problem)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(recv.Close)

	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a 32-byte benchmark signing key!"))
	r := newRig(b, rigConfig{
		plugin: "webhook", channel: "hook", kind: "webhook",
		config:   fmt.Sprintf(`{"url":%q,"secret":%q,"allow_private_networks":true}`, recv.URL, secret),
		entry:    benchEntry,
		arrivals: got,
	})
	r.run()
}

// BenchmarkDeliverySMTP delivers through the smtp plugin, rendering an
// abandoned-cart template (subject, text and a small HTML body), to an
// in-process SMTP server over plain text.
func BenchmarkDeliverySMTP(b *testing.B) {
	got := newArrivals()
	srv := smtptest.Start(b, 4096)
	ctx, stop := context.WithCancel(context.WithoutCancel(b.Context()))
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-srv.Messages:
				problem := ""
				if m.Text == "" || !strings.Contains(m.HTML, "Complete your order") || len(m.To) != 1 {
					problem = fmt.Sprintf("to %v, text %d bytes, html %d bytes", m.To, len(m.Text), len(m.HTML))
				}
				got.record(m.Header.Get("X-Triggergate-Message-Id"), m.At, problem)
			}
		}
	}()
	b.Cleanup(func() {
		stop()
		<-drained
	})

	tmpl, err := render.Parse("abandoned_cart", benchSubject, benchText, benchHTML)
	if err != nil {
		b.Fatal(err)
	}
	r := newRig(b, rigConfig{
		plugin: "smtp", channel: "email", kind: "email",
		config: fmt.Sprintf(`{"host":"127.0.0.1","port":%s,"tls":"none","from":"Shop <hello@shop.example>","helo":"gateway.local"}`,
			srv.Port()),
		templates: map[string]*render.Template{"abandoned_cart": tmpl},
		template:  "abandoned_cart",
		entry:     benchEntry,
		arrivals:  got,
	})
	r.run()
}

// benchEntry is an abandoned-cart reminder to customer seq: a checkout
// event with two items, the customer's traits, and the fire's data.
func benchEntry(id string, seq int) outbox.Entry {
	customer := sdk.Customer{ID: fmt.Sprintf("c-%d", seq), Email: fmt.Sprintf("user%d@example.com", seq)}
	now := time.Now().UTC()
	return outbox.Entry{
		Customer: customer.ID,
		Message: sdk.Message{
			Trigger: "abandoned_cart", Step: "reminder_1",
			Profile: sdk.Profile{Customer: customer, Traits: map[string]any{"first_name": "Jane", "plan": "pro"}},
			Event: sdk.Event{
				ID: "ev-" + id, Type: "checkout.updated", Source: "shop", SourceKind: "shopify",
				DeliveryID: "d-" + id, OccurredAt: now, ReceivedAt: now, Customer: customer,
				Properties: map[string]any{
					"checkout_id": fmt.Sprintf("chk-%d", seq), "value": 74.5, "currency": "USD",
					"recovery_url": fmt.Sprintf("https://shop.example.com/checkouts/chk-%d/recover", seq),
					"items": []any{
						map[string]any{"product_id": "p-1", "sku": "TEE-M", "name": "Organic tee", "price": 24.5, "quantity": 1.0},
						map[string]any{"product_id": "p-2", "sku": "CAP-1", "name": "Canvas cap", "price": 25.0, "quantity": 2.0},
					},
				},
			},
			Fire: map[string]any{"checkout_id": fmt.Sprintf("chk-%d", seq)},
		},
	}
}

const (
	benchSubject = `{{ .Customer.Traits.first_name }}, you left something in your cart`
	benchText    = `Hi {{ .Customer.Traits.first_name }},

You left {{ len .Event.Properties.items }} items in your cart, {{ money .Event.Properties.value .Event.Properties.currency }} in all.
{{ range .Event.Properties.items }}- {{ .name }} x{{ .quantity }}: {{ money .price $.Event.Properties.currency }}
{{ end }}
Complete your order: {{ .Event.Properties.recovery_url }}
`
	benchHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Your cart</title></head>
<body style="font-family: Helvetica, Arial, sans-serif; color: #222; background: #f6f6f6; margin: 0; padding: 24px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width: 600px; margin: auto; background: #fff;">
<tr><td style="padding: 24px;">
<h1 style="font-size: 22px;">Hi {{ .Customer.Traits.first_name }}, your cart is waiting</h1>
<p>You left these items behind:</p>
<table role="presentation" width="100%" cellpadding="6" cellspacing="0" style="border-top: 1px solid #ddd;">
{{ range .Event.Properties.items }}<tr><td>{{ .name }}</td><td>x{{ .quantity }}</td><td align="right">{{ money .price $.Event.Properties.currency }}</td></tr>
{{ end }}<tr><td colspan="2"><strong>Total</strong></td><td align="right"><strong>{{ money .Event.Properties.value .Event.Properties.currency }}</strong></td></tr>
</table>
<p style="text-align: center; margin: 32px 0;"><a href="{{ .Event.Properties.recovery_url }}" style="background: #1a73e8; color: #fff; padding: 12px 24px; text-decoration: none; border-radius: 4px;">Complete your order</a></p>
<p style="font-size: 12px; color: #888;">You received this email because you started a checkout at Shop. Questions? Just reply.</p>
</td></tr></table>
</body></html>
`
)
