package simulate_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/customer"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/simulate"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

// runSecret signs the raw webhooks of runConfig's source.
const runSecret = "run-test-secret"

// runConfig is a small shop: an abandoned-cart rule waiting WAIT, and an
// order confirmation capped at CAP per day (no cap when CAP is empty).
func runConfig(wait, capBlock string) string {
	return fmt.Sprintf(`
source "shop" {
  kind   = "json"
  secret = %q
}
channel "email" {
  plugin = "log"
  kind   = "email"
}
template "reminder" {
  subject = "Your cart {{ .Fire.properties.checkout_id }}"
  text    = "Come back, {{ .Customer.Email }}"
}
template "broken" {
  subject = "Thanks"
  text    = "{{ .Fire.nothing.here }}"
}
trigger "cart" {
  plugin = "absence"
  config {
    start  = ["checkout.updated"]
    cancel = ["order.placed"]
    key    = "checkout_id"
    wait   = %q
  }
  action {
    channel  = "email"
    template = "reminder"
  }
}
trigger "thanks" {
  plugin = "event"
  config { on = ["order.placed"] }
  action {
    channel  = "email"
    template = "broken"
  }
  %s
}
`, runSecret, wait, capBlock)
}

// prepare loads and prepares a configuration with the real plugins.
func prepare(t *testing.T, hcl string) *app.Plan {
	t.Helper()
	cfg, diags := config.LoadFiles(map[string][]byte{"gateway.hcl": []byte(hcl)}, t.TempDir())
	if diags.HasErrors() {
		t.Fatalf("loading: %s", diags.Error())
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "sim", Level: hclog.Warn, Output: testWriter{t}})
	host := pluginhost.New(logger.Named("plugin"), pluginhost.WithDir(pluginhosttest.Build(t, builtins...)))
	t.Cleanup(host.Close)
	plan, diags := app.Prepare(t.Context(), cfg, host)
	if diags.HasErrors() {
		t.Fatalf("preparing: %s", diags.Error())
	}
	return plan
}

// run feeds input to one simulation per configuration.
func run(t *testing.T, input string, opts simulate.RunOptions, hcls ...string) ([]*simulate.Result, error) {
	t.Helper()
	var targets []simulate.Target
	for i, hcl := range hcls {
		targets = append(targets, simulate.Target{Name: fmt.Sprintf("config%d", i), Plan: prepare(t, hcl),
			Store: storetest.Shared(t), Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}})})
	}
	if opts.Decode == nil {
		opts.Decode = ingest.Decode
	}
	r := simulate.NewRunner(targets, opts)
	defer r.Close()
	err := simulate.ReadLines(strings.NewReader(input), "in.jsonl", func(it simulate.Item) error {
		return r.Feed(t.Context(), it)
	})
	if err != nil {
		return nil, err
	}
	return r.Finish(t.Context())
}

func lines(ds []simulate.Decision) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

func expectLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// event is a canonical event line received at hh:mm on 2026-01-05.
func event(hhmm, typ, customer, checkout string) string {
	at := ""
	if hhmm != "" {
		at = fmt.Sprintf(`"received_at":"2026-01-05T%s:00Z",`, hhmm)
	}
	return fmt.Sprintf(`{%s"type":%q,"customer":{"id":%q,"email":"%s@example.com"},"properties":{"checkout_id":%q}}`,
		at, typ, customer, customer, checkout)
}

func TestRunClock(t *testing.T) {
	t.Parallel()
	input := strings.Join([]string{
		event("10:00", "checkout.updated", "c-1", "k1"),
		event("10:10", "checkout.updated", "c-2", "k2"),
		event("10:20", "order.placed", "c-2", "k2"), // cancels c-2's cart
		// The next event comes after c-1's reminder is due: the reminder
		// fires at its due time, not at the event's.
		event("12:30", "checkout.updated", "c-3", "k3"),
		// An earlier time than the clock's: it arrives at 12:30.
		event("09:00", "checkout.updated", "c-4", "k4"),
		// No time: it arrives at the current virtual time too.
		event("", "checkout.updated", "c-5", "k5"),
	}, "\n")

	t.Run("timers fire at their due times, and run on after the last event", func(t *testing.T) {
		t.Parallel()
		res, err := run(t, input, simulate.RunOptions{}, runConfig("1h", ""))
		if err != nil {
			t.Fatal(err)
		}
		expectLines(t, lines(res[0].Decisions), []string{
			"2026-01-05T10:20:00Z id:c-2 thanks/default email sent",
			"2026-01-05T11:00:00Z id:c-1 cart/default email sent",
			"2026-01-05T13:30:00Z id:c-3 cart/default email sent",
			"2026-01-05T13:30:00Z id:c-4 cart/default email sent",
			"2026-01-05T13:30:00Z id:c-5 cart/default email sent",
		})
		if res[0].Events != 6 || res[0].Customers != 5 {
			t.Fatalf("%d events, %d customers; want 6 and 5", res[0].Events, res[0].Customers)
		}
	})
	t.Run("no run-on", func(t *testing.T) {
		t.Parallel()
		res, err := run(t, input, simulate.RunOptions{Until: -1}, runConfig("1h", ""))
		if err != nil {
			t.Fatal(err)
		}
		expectLines(t, lines(res[0].Decisions), []string{
			"2026-01-05T10:20:00Z id:c-2 thanks/default email sent",
			"2026-01-05T11:00:00Z id:c-1 cart/default email sent",
		})
	})
	t.Run("start", func(t *testing.T) {
		t.Parallel()
		// Events without times arrive at -start.
		in := event("", "checkout.updated", "c-1", "k1") + "\n" + event("", "order.placed", "c-2", "k9")
		start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
		res, err := run(t, in, simulate.RunOptions{Start: start, Messages: true}, runConfig("2h", ""))
		if err != nil {
			t.Fatal(err)
		}
		expectLines(t, lines(res[0].Decisions), []string{
			"2026-03-01T08:00:00Z id:c-2 thanks/default email sent",
			"2026-03-01T10:00:00Z id:c-1 cart/default email sent",
		})
		// The messages are rendered as the delivery worker would.
		thanks, cart := res[0].Messages[res[0].Decisions[0].MessageID], res[0].Messages[res[0].Decisions[1].MessageID]
		if thanks.RenderErr == nil || !strings.Contains(thanks.RenderErr.Error(), "nothing") {
			t.Fatalf("the broken template rendered: %+v", thanks)
		}
		if cart.RenderErr != nil || cart.Content.Subject != "Your cart k1" {
			t.Fatalf("reminder rendered to %+v, %v", cart.Content, cart.RenderErr)
		}
	})
}

// rawLine is a raw webhook record of the json source, signed with secret.
func rawLine(t *testing.T, source, secret string, at time.Time, body string) string {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	rec := map[string]any{
		"source": source, "received_at": at.Format(time.RFC3339), "method": "POST", "url": "/v1/webhooks/" + source,
		"header": map[string][]string{"Content-Type": {"application/json"}, "X-Signature-256": {hex.EncodeToString(mac.Sum(nil))}},
		"body":   base64.StdEncoding.EncodeToString([]byte(body)),
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunRawWebhooks(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	cartBody := `{"id":"d-1","type":"checkout.updated","customer":{"id":"c-1","email":"c-1@example.com"},"properties":{"checkout_id":"k1"}}`
	orderBody := `{"id":"d-2","type":"order.placed","customer":{"id":"c-2","email":"c-2@example.com"},"properties":{"checkout_id":"k2"}}`

	t.Run("verified and mapped by the source", func(t *testing.T) {
		t.Parallel()
		input := rawLine(t, "shop", runSecret, at, cartBody) + "\n" +
			rawLine(t, "shop", runSecret, at.Add(5*time.Minute), orderBody) + "\n" +
			// The same delivery again: a duplicate, not processed twice.
			rawLine(t, "shop", runSecret, at.Add(6*time.Minute), orderBody)
		res, err := run(t, input, simulate.RunOptions{}, runConfig("1h", ""))
		if err != nil {
			t.Fatal(err)
		}
		expectLines(t, lines(res[0].Decisions), []string{
			"2026-01-05T10:05:00Z id:c-2 thanks/default email sent",
			"2026-01-05T11:00:00Z id:c-1 cart/default email sent",
		})
	})
	cases := []struct{ name, line, want string }{
		{"bad signature", rawLine(t, "shop", "wrong-secret", at, cartBody), `in.jsonl:2: source "shop" refused the webhook: bad signature`},
		{"unknown source", rawLine(t, "crm", runSecret, at, cartBody), `in.jsonl:2: raw webhook for source "crm", which config0 does not define`},
		{"reserved type", rawLine(t, "shop", runSecret, at, strings.Replace(cartBody, "checkout.updated", "timer.fired", 1)), "in.jsonl:2: " + `source "shop" refused the webhook: reserved event type`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			input := event("09:00", "checkout.updated", "c-9", "k9") + "\n" + c.line
			_, err := run(t, input, simulate.RunOptions{}, runConfig("1h", ""))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestRunDiff(t *testing.T) {
	t.Parallel()
	input := strings.Join([]string{
		event("10:00", "checkout.updated", "c-1", "k1"),
		event("10:00", "order.placed", "c-2", "o1"),
		event("10:30", "order.placed", "c-2", "o2"),
	}, "\n")
	t.Run("wait", func(t *testing.T) {
		t.Parallel()
		res, err := run(t, input, simulate.RunOptions{}, runConfig("1h", ""), runConfig("2h", ""))
		if err != nil {
			t.Fatal(err)
		}
		got, sum := simulate.Diff(res[0].Decisions, res[1].Decisions)
		expectLines(t, diffLines(got), []string{
			"  2026-01-05T10:00:00Z id:c-2 thanks/default email sent",
			"  2026-01-05T10:30:00Z id:c-2 thanks/default email sent",
			"- 2026-01-05T11:00:00Z id:c-1 cart/default email sent",
			"+ 2026-01-05T12:00:00Z id:c-1 cart/default email sent",
		})
		if sum != (simulate.DiffSummary{Same: 2, OnlyA: 1, OnlyB: 1}) {
			t.Fatalf("summary %+v", sum)
		}
	})
	t.Run("frequency cap", func(t *testing.T) {
		t.Parallel()
		capped := "frequency_cap {\n    max = 1\n    per = \"1d\"\n  }"
		res, err := run(t, input, simulate.RunOptions{}, runConfig("1h", ""), runConfig("1h", capped))
		if err != nil {
			t.Fatal(err)
		}
		got, sum := simulate.Diff(res[0].Decisions, res[1].Decisions)
		expectLines(t, diffLines(got), []string{
			"  2026-01-05T10:00:00Z id:c-2 thanks/default email sent",
			"- 2026-01-05T10:30:00Z id:c-2 thanks/default email sent",
			"+ 2026-01-05T10:30:00Z id:c-2 thanks/default email suppressed (frequency_cap)",
			"  2026-01-05T11:00:00Z id:c-1 cart/default email sent",
		})
		if sum != (simulate.DiffSummary{Same: 2, OnlyA: 1, OnlyB: 1}) {
			t.Fatalf("summary %+v", sum)
		}
	})
}

func diffLines(ls []simulate.DiffLine) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.String())
	}
	return out
}

// TestRunCollectsBeyondTheTrace checks that a customer with more decisions
// than their record's bounded trace keeps still has every one reported.
func TestRunCollectsBeyondTheTrace(t *testing.T) {
	t.Parallel()
	n := customer.MaxTrace + 10
	var in []string
	for i := range n {
		in = append(in, event(fmt.Sprintf("%02d:%02d", 10+i/60, i%60), "order.placed", "c-1", fmt.Sprintf("o%d", i)))
	}
	res, err := run(t, strings.Join(in, "\n"), simulate.RunOptions{Until: -1}, runConfig("1h", ""))
	if err != nil {
		t.Fatal(err)
	}
	got := lines(res[0].Decisions)
	last := time.Date(2026, 1, 5, 10, n-1, 0, 0, time.UTC).Format(time.RFC3339) + " id:c-1 thanks/default email sent"
	if len(got) != n || got[0] != "2026-01-05T10:00:00Z id:c-1 thanks/default email sent" || got[n-1] != last {
		t.Fatalf("%d decisions, want %d from 10:00, the last %q:\n%s", len(got), n, last, strings.Join(got, "\n"))
	}
}
