package simulate_test

// The scenario harness for configs/journeys: each journey file is loaded
// as shipped, next to a preamble that defines the channels journeys use,
// prepared with the real trigger plugin binaries, and driven through the
// engine on a virtual clock. Tests then assert every decision, sent or
// not, in the form
//
//	"+1h c-1 abandoned_cart/reminder email sent"
//	"+14h c-1 abandoned_cart/reminder email deferred (quiet_hours) until +23h"
//
// where offsets count from the scenario's start (Monday 2026-01-05 09:00
// UTC unless a test says otherwise) and "c-1" is the customer's id.

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/simulate"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.CloseShared()
	pluginhosttest.Cleanup()
	os.Exit(code)
}

// builtins are the plugin binaries a journey may use.
var builtins = []string{
	"plugins/event", "plugins/absence", "plugins/inactivity", "plugins/threshold",
	"plugins/segment", "plugins/journey", "plugins/date", "plugins/log",
}

// preamble is what a gateway.hcl would give the journey files: channels
// named email, sms and slack, all writing to the log, a Segment source,
// and the app's own json source declaring the custom event types that
// journeys listen to (configs/journeys/README.md lists them).
const preamble = `
source "app" {
  kind        = "json"
  event_types = ["account.signed_in", "cart.emptied", "warranty.registered", "warranty.extended", "warranty.cancelled"]
}
source "segment" {
  kind   = "segment"
  secret = "segment-secret"
}
channel "email" {
  plugin = "log"
  kind   = "email"
}
channel "sms" {
  plugin = "log"
  kind   = "sms"
}
channel "slack" {
  plugin = "log"
  kind   = "slack"
}
`

// defaultPolicy is the policy scenarios run under unless they give their
// own: quiet hours from 21:00 to 08:00 local time (deferred), and at most
// five marketing emails per customer in any seven days.
const defaultPolicy = `
policy {
  default_timezone = "UTC"
  quiet_hours {
    start  = "21:00"
    end    = "08:00"
    action = "defer"
  }
  frequency_cap "email" {
    max = 5
    per = "7d"
  }
}
`

// scenarioStart is Monday 2026-01-05 09:00 UTC.
var scenarioStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

type scenario struct {
	t     *testing.T
	sim   *simulate.Simulator
	start time.Time
	seen  int // decisions already checked by expect
}

type scenarioOption func(*scenarioConfig)

type scenarioConfig struct {
	policy string
	start  time.Time
	extra  map[string]string
}

// withPolicy replaces the default policy block (an empty string: none).
func withPolicy(hcl string) scenarioOption { return func(c *scenarioConfig) { c.policy = hcl } }

// withStart starts the virtual clock at t.
func withStart(t time.Time) scenarioOption { return func(c *scenarioConfig) { c.start = t } }

// withFile adds a configuration file (name → HCL) to the journey's.
func withFile(name, hcl string) scenarioOption {
	return func(c *scenarioConfig) { c.extra[name] = hcl }
}

// journey loads configs/journeys/<file> and starts a simulation of it.
func journey(t *testing.T, file string, opts ...scenarioOption) *scenario {
	t.Helper()
	sc := scenarioConfig{policy: defaultPolicy, start: scenarioStart, extra: map[string]string{}}
	for _, o := range opts {
		o(&sc)
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "configs", "journeys", file))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		file:          src,
		"gateway.hcl": []byte(preamble + sc.policy),
	}
	for name, hcl := range sc.extra {
		files[name] = []byte(hcl)
	}
	cfg, diags := config.LoadFiles(files, t.TempDir())
	if diags.HasErrors() {
		t.Fatalf("loading %s: %s", file, diags.Error())
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "sim", Level: hclog.Warn, Output: testWriter{t}})
	host := pluginhost.New(logger.Named("plugin"), pluginhost.WithDir(pluginhosttest.Build(t, builtins...)))
	t.Cleanup(host.Close)
	plan, diags := app.Prepare(t.Context(), cfg, host)
	if diags.HasErrors() {
		t.Fatalf("preparing %s: %s", file, diags.Error())
	}
	for _, d := range diags {
		t.Errorf("%s: unexpected warning: %s: %s", file, d.Summary, d.Detail)
	}
	sim := simulate.New(storetest.Shared(t), plan, simulate.Options{Start: sc.start, Logger: logger})
	t.Cleanup(sim.Close)
	return &scenario{t: t, sim: sim, start: sc.start}
}

// renderTemplate renders one template of a journey file over d, failing
// the test if it does not render: for checking a template against the
// least data its events guarantee, beyond what the scenarios send.
func renderTemplate(t *testing.T, file, name string, d *render.Data) render.Content {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "configs", "journeys", file))
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.LoadFiles(map[string][]byte{file: src, "gateway.hcl": []byte(preamble)}, t.TempDir())
	if diags.HasErrors() {
		t.Fatalf("loading %s: %s", file, diags.Error())
	}
	for _, tp := range cfg.Templates {
		if tp.Name != name {
			continue
		}
		tmpl, err := render.Parse(tp.Name, tp.Subject, tp.Text, tp.HTML)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tmpl.Render(d)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return c
	}
	t.Fatalf("%s has no template %q", file, name)
	return render.Content{}
}

// testWriter sends the simulation's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// person is a customer with id, and an email and a phone derived from it
// (distinct for distinct ids).
func person(id string) sdk.Customer {
	h := fnv.New32a()
	h.Write([]byte(id))
	return sdk.Customer{ID: id, Email: id + "@example.com", Phone: fmt.Sprintf("+1555%07d", h.Sum32()%10_000_000)}
}

// send sends one event of type typ for customer id now; props and traits
// may be nil.
func (s *scenario) send(typ, id string, props map[string]any) {
	s.t.Helper()
	s.sendEvent(sdk.Event{Type: typ, Customer: person(id), Properties: props})
}

// sendEvent sends a full event now.
func (s *scenario) sendEvent(ev sdk.Event) {
	s.t.Helper()
	if err := s.sim.Send(s.t.Context(), ev); err != nil {
		s.t.Fatalf("at %s: %v", s.offset(s.sim.Now()), err)
	}
}

// advance moves the clock forward, firing every timer due on the way.
func (s *scenario) advance(d time.Duration) {
	s.t.Helper()
	if err := s.sim.Advance(s.t.Context(), d); err != nil {
		s.t.Fatal(err)
	}
}

// advanceTo moves the clock to start+d.
func (s *scenario) advanceTo(d time.Duration) {
	s.t.Helper()
	if err := s.sim.AdvanceTo(s.t.Context(), s.start.Add(d)); err != nil {
		s.t.Fatal(err)
	}
}

// expect asserts the decisions taken since the last expect, in order.
func (s *scenario) expect(want ...string) {
	s.t.Helper()
	all, err := s.sim.Decisions(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	var got []string
	for _, d := range all[min(s.seen, len(all)):] {
		got = append(got, s.format(d))
	}
	s.seen = len(all)
	if !slices.Equal(got, want) {
		s.t.Fatalf("at %s, decisions:\n  got:  %s\n  want: %s", s.offset(s.sim.Now()),
			strings.Join(got, "\n        "), strings.Join(want, "\n        "))
	}
	s.rendered()
}

// rendered asserts that every message queued so far renders: a template
// that fails on the data a journey's events carry would send nothing (the
// message would be dead-lettered), however right the timing.
func (s *scenario) rendered() []simulate.Message {
	s.t.Helper()
	msgs, err := s.sim.Messages(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.RenderErr != nil {
			s.t.Fatalf("message %s/%s for %s (template %q) does not render: %v",
				m.Message.Trigger, m.Message.Step, m.Customer, m.Template, m.RenderErr)
		}
	}
	return msgs
}

// customer returns a customer's stored record.
func (s *scenario) customer(id string) *simulate.CustomerView {
	s.t.Helper()
	v, err := s.sim.Customer(s.t.Context(), sdk.Customer{ID: id}.Key())
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// format writes a decision with offsets from the start and the bare id.
func (s *scenario) format(d simulate.Decision) string {
	d.Customer = strings.TrimPrefix(d.Customer, "id:")
	return d.Format(s.offset)
}

// offset writes t relative to the start: "+0", "+59m", "+1h", "+1d2h30m".
func (s *scenario) offset(t time.Time) string {
	d := t.Sub(s.start)
	if d == 0 {
		return "+0"
	}
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	var b strings.Builder
	b.WriteString(sign)
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	return b.String()
}

// TestAllJourneysLoadTogether: every journey file validates with every
// other one beside it (no name clashes, no warnings), as a user who
// copies them all would have them.
func TestAllJourneysLoadTogether(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "configs", "journeys")
	names, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil || len(names) < 22 {
		t.Fatalf("%d journey files (%v), want at least 22", len(names), err)
	}
	files := map[string][]byte{"gateway.hcl": []byte(preamble + defaultPolicy)}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(n)] = b
	}
	cfg, diags := config.LoadFiles(files, t.TempDir())
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	host := pluginhost.New(hclog.NewNullLogger(), pluginhost.WithDir(pluginhosttest.Build(t, builtins...)))
	t.Cleanup(host.Close)
	plan, diags := app.Prepare(t.Context(), cfg, host)
	if len(diags) > 0 {
		t.Fatal(diags.Error())
	}
	if len(plan.Rules) < 22 {
		t.Fatalf("%d rules, want one or more per journey", len(plan.Rules))
	}
}
