package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

const liveSecret = "live-source-secret"

// liveRules decide at once (event triggers, a frequency cap, consent), so
// the live gateway's wall clock and the simulation's virtual one agree.
const liveRules = `
source "app" {
  kind   = "json"
  secret = "` + liveSecret + `"
}
channel "email" {
  plugin = "log"
  kind   = "email"
}
trigger "welcome" {
  plugin = "event"
  config {
    on = ["account.signed_up"]
  }
  action {
    channel = "email"
  }
}
trigger "orders" {
  plugin = "event"
  config {
    on = ["order.placed"]
  }
  action {
    channel = "email"
  }
  frequency_cap {
    max = 2
    per = "7d"
  }
}
trigger "big_orders" {
  plugin = "event"
  config {
    on   = ["order.placed"]
    when = event.properties.value > 50
  }
  action {
    channel = "email"
  }
}
`

// liveEvents is the known event file. Each line is also the body posted
// to the live gateway, whose json source takes the canonical form; the
// delivery id is the json kind's default (body.id), so the repeated
// delivery of e3 is a duplicate for both.
var liveEvents = []string{
	`{"id":"e1","delivery_id":"e1","source":"app","type":"account.signed_up","customer":{"id":"c-1","email":"c1@example.com"}}`,
	`{"id":"e2","delivery_id":"e2","source":"app","type":"order.placed","customer":{"id":"c-1","email":"c1@example.com"},"properties":{"value":20}}`,
	`{"id":"e3","delivery_id":"e3","source":"app","type":"order.placed","customer":{"id":"c-1","email":"c1@example.com"},"properties":{"value":80}}`,
	`{"id":"e4","delivery_id":"e4","source":"app","type":"order.placed","customer":{"id":"c-1","email":"c1@example.com"},"properties":{"value":10}}`,
	`{"id":"e5","delivery_id":"e5","source":"app","type":"email.unsubscribed","customer":{"id":"c-2","email":"c2@example.com"}}`,
	`{"id":"e6","delivery_id":"e6","source":"app","type":"order.placed","customer":{"id":"c-2","email":"c2@example.com"},"properties":{"value":100}}`,
	`{"id":"e3","delivery_id":"e3","source":"app","type":"order.placed","customer":{"id":"c-1","email":"c1@example.com"},"properties":{"value":80}}`,
	`{"id":"e7","delivery_id":"e7","source":"app","type":"order.placed","customer":{"id":"c-3","email":"c3@example.com"},"properties":{"value":30}}`,
}

// liveTraces is how many rule decisions each customer's trace must reach.
var liveTraces = map[string]int{"id:c-1": 5, "id:c-2": 2, "id:c-3": 1}

// decisionTuple is what the live run and the simulation must agree on.
type decisionTuple struct{ Customer, Rule, Step, Channel, Outcome, Reason string }

func (d decisionTuple) String() string {
	return strings.Join([]string{d.Customer, d.Rule, d.Step, d.Channel, d.Outcome, d.Reason}, " ")
}

func sortTuples(ts []decisionTuple) []decisionTuple {
	slices.SortFunc(ts, func(a, b decisionTuple) int { return strings.Compare(a.String(), b.String()) })
	return ts
}

// TestSimulateMatchesLive runs the known event file through a real
// gateway and through simulate (as canonical events, and as the raw
// webhooks the gateway archived), and compares the decisions.
func TestSimulateMatchesLive(t *testing.T) {
	t.Parallel()
	pluginDir := pluginhosttest.Build(t, "plugins/event", "plugins/log")
	dir := t.TempDir()
	clientPort := storetest.FreePort(t)
	archiveDir := filepath.Join(dir, "archive")
	hcl := fmt.Sprintf(`
gateway {
  listen       = "127.0.0.1:0"
  admin_listen = "127.0.0.1:0"
  admin_token  = "live-admin-token-0123456789"
  data_dir     = %q
  plugin_dir   = %q
  shutdown_timeout = "5s"
  archive {
    dir = %q
  }
}
store {
  embedded   = true
  client_url = "http://127.0.0.1:%d"
  peer_url   = "http://127.0.0.1:%d"
}
`, filepath.Join(dir, "data"), pluginDir, archiveDir, clientPort, storetest.FreePort(t)) + liveRules
	cfgPath := writeFile(t, "gateway.hcl", hcl)
	eventsPath := writeFile(t, "events.jsonl", "# the known event file\n"+strings.Join(liveEvents, "\n")+"\n")

	live := runLive(t, cfgPath, clientPort)

	for _, in := range []struct{ name, path string }{{"canonical events", eventsPath}, {"archived webhooks", archiveDir}} {
		code, stdout, stderr := runSimulate(t, "", "-config", cfgPath, "-json", in.path)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", in.name, code, stderr)
		}
		var sim []decisionTuple
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var d struct {
				Customer, Rule, Step, Channel, Outcome, Reason string
			}
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				t.Fatalf("%s: line %q: %v", in.name, line, err)
			}
			sim = append(sim, decisionTuple(d))
		}
		if !slices.Equal(sortTuples(sim), live) {
			t.Fatalf("%s: simulate decided\n  %s\nthe live gateway\n  %s", in.name, joinTuples(sim), joinTuples(live))
		}
	}
}

func joinTuples(ts []decisionTuple) string {
	var b strings.Builder
	for i, d := range ts {
		if i > 0 {
			b.WriteString("\n  ")
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// runLive posts liveEvents to a real gateway and returns its decisions
// once every customer's trace has the expected length.
func runLive(t *testing.T, cfgPath string, clientPort int) []decisionTuple {
	t.Helper()
	cfg, diags := config.Load(cfgPath)
	if diags.HasErrors() {
		t.Fatalf("config: %s", diags.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.Options{
			Logger:     hclog.New(&hclog.LoggerOptions{Name: "live", Level: hclog.Warn, Output: liveLog{t}}),
			Ready:      func(a net.Addr) { addr <- a },
			AdminReady: func(net.Addr) {},
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("live gateway stopped with: %v", err)
		}
	})
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		done <- nil
		t.Fatalf("live gateway did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("live gateway did not start within 60s")
	}

	for i, body := range liveEvents {
		req, err := http.NewRequest(http.MethodPost, base+"/v1/webhooks/app", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(sha256.New, []byte(liveSecret))
		mac.Write([]byte(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature-256", hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
			t.Fatalf("event %d: status %d", i+1, resp.StatusCode)
		}
	}

	st, err := store.Open(t.Context(), store.Config{Endpoints: []string{fmt.Sprintf("http://127.0.0.1:%d", clientPort)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got []decisionTuple
		complete := true
		for key, n := range liveTraces {
			v, err := engine.ReadCustomer(t.Context(), st, key)
			if err != nil && !errors.Is(err, engine.ErrNoCustomer) {
				t.Fatal(err)
			}
			var decided []decisionTuple
			if v != nil {
				for _, d := range v.Trace {
					// The delivery worker's outcomes share the trace; the
					// simulation never delivers.
					if d.Outcome != outbox.Delivered && d.Outcome != outbox.Failed {
						decided = append(decided, decisionTuple{key, d.Rule, d.Step, d.Channel, d.Outcome, d.Reason})
					}
				}
			}
			got = append(got, decided...)
			if len(decided) < n {
				complete = false
			}
		}
		if complete {
			return sortTuples(got)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live gateway did not decide within 60s; so far: %s", joinTuples(got))
		}
		time.Sleep(20 * time.Millisecond) // polling another component's store: it sends no signal
	}
}

// liveLog sends the live gateway's log to the test log, which shows it
// only on failure.
type liveLog struct{ t *testing.T }

func (w liveLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
