package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/simulate"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/sdk"
)

const simulateUsage = `usage: triggergate simulate -config PATH [-start RFC3339] [-until DURATION] [-json]
                            [-diff OTHER_PATH] [-show-messages] EVENTS_FILE...

Runs events through the configuration's rules on a virtual clock and prints
every decision: which trigger fired which step for which customer at what
virtual time, and what was suppressed or deferred and why. Nothing is sent
and nothing is written: the rules run on a private embedded etcd in a
temporary directory, removed at exit, with the configuration's real trigger
plugins; channels are never called.

EVENTS_FILE is a JSON-lines file ("-" for stdin), or a raw webhook archive
(a .jsonl.gz file or a directory of them, as the gateway's archive writes
them). Each line is a canonical event, or a raw webhook as the
archive records it: {"source": "shop", "received_at": "...", "header":
{...}, "body": "<base64>"}, which the source verifies (at its received_at)
and maps as the gateway would. Blank lines and lines starting with # are
skipped.

The clock starts at -start, else at the first event's received_at (else
occurred_at), else now. Before each event whose time is later, the clock
moves to it, firing every timer due on the way at its due time; events
without a time (or an earlier one) arrive at the current virtual time.
After the last event the clock runs on for -until, so journeys with waits
unfold.

-diff runs a second configuration on the same events and prints only the
decisions that differ: "- ..." taken only under -config, "+ ..." only under
-diff.

Exit status: 0 done, 1 invalid configuration or input, 2 bad command line.`

// simulateCmd is triggergate simulate, reading "-" from stdin.
func simulateCmd(args []string, stdout, stderr io.Writer) int {
	return simulateIO(args, os.Stdin, stdout, stderr)
}

// simulateFlags is simulate's command line.
type simulateFlags struct {
	config, diff string
	start        time.Time
	until        time.Duration
	json         bool
	messages     bool
	files        []string
}

func parseSimulateFlags(args []string, stderr io.Writer) (*simulateFlags, bool) {
	fs := newFlagSet("simulate", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, simulateUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	f := &simulateFlags{}
	fs.StringVar(&f.config, "config", "configs/gateway.hcl", "configuration file or directory")
	fs.StringVar(&f.diff, "diff", "", "a second configuration to compare with on the same events")
	start := fs.String("start", "", "the virtual time to start at (RFC 3339; default: the first event's time)")
	until := fs.String("until", "30d", "how long the clock runs on after the last event (\"0\": not at all)")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per decision")
	fs.BoolVar(&f.messages, "show-messages", false, "print each queued message, rendered, after its decision")
	if err := fs.Parse(args); err != nil {
		return nil, false
	}
	// Flags may follow the files too.
	for fs.NArg() > 0 {
		f.files = append(f.files, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, false
		}
	}
	if len(f.files) == 0 {
		fmt.Fprintln(stderr, "triggergate simulate: no events file given (use - for stdin)")
		return nil, false
	}
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			fmt.Fprintf(stderr, "triggergate simulate: -start %q: want an RFC 3339 time such as 2026-01-05T09:00:00Z\n", *start)
			return nil, false
		}
		f.start = t.UTC()
	}
	d, err := sdk.ParseDuration(*until)
	if err != nil {
		fmt.Fprintf(stderr, "triggergate simulate: -until: %v\n", err)
		return nil, false
	}
	f.until = d
	if d == 0 {
		f.until = -1 // RunOptions: no run-on
	}
	return f, true
}

// simulateIO is simulateCmd with its standard input given.
func simulateIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, ok := parseSimulateFlags(args, stderr)
	if !ok {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := hclog.New(&hclog.LoggerOptions{Name: "simulate", Level: hclog.Warn, Output: stderr})

	paths := []string{f.config}
	if f.diff != "" {
		paths = append(paths, f.diff)
	}
	plans := make([]*app.Plan, len(paths))
	for i, path := range paths {
		plan, closePlan, ok := preparePlan(ctx, path, logger, stderr)
		if !ok {
			return 1
		}
		defer closePlan()
		plans[i] = plan
	}

	st, closeStore, err := privateStore(ctx, logger.Named("store"))
	if err != nil {
		fmt.Fprintln(stderr, "triggergate simulate:", err)
		return 1
	}
	defer closeStore()

	targets := make([]simulate.Target, len(plans))
	for i, plan := range plans {
		targets[i] = simulate.Target{Name: paths[i], Plan: plan, Store: st.Sub(fmt.Sprintf("sim%d", i)),
			Logger: logger.Named("engine")}
	}
	runner := simulate.NewRunner(targets, simulate.RunOptions{
		Start: f.start, Until: f.until, Messages: f.messages, Decode: ingest.Decode,
	})
	defer runner.Close()
	for _, file := range f.files {
		if err := readEvents(file, stdin, func(it simulate.Item) error { return runner.Feed(ctx, it) }); err != nil {
			fmt.Fprintln(stderr, "triggergate simulate:", err)
			return 1
		}
	}
	results, err := runner.Finish(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "triggergate simulate:", err)
		return 1
	}
	p := &simulatePrinter{out: stdout, json: f.json}
	if f.diff != "" {
		p.diff(results[0], results[1], stderr)
	} else {
		p.decisions(results[0], stderr)
	}
	if p.err != nil {
		fmt.Fprintln(stderr, "triggergate simulate: writing the output:", p.err)
		return 1
	}
	return 0
}

// preparePlan loads and prepares a configuration, printing its
// diagnostics; close stops its plugins.
func preparePlan(ctx context.Context, path string, logger hclog.Logger, stderr io.Writer) (*app.Plan, func(), bool) {
	cfg, ok := load(path, stderr)
	if !ok {
		return nil, nil, false
	}
	host := pluginhost.New(logger.Named("plugin"), pluginhost.WithDir(cfg.Gateway.PluginDir))
	plan, diags := app.Prepare(ctx, cfg, host)
	if len(diags) > 0 {
		_ = config.WriteDiagnostics(stderr, cfg.Files, diags)
	}
	if diags.HasErrors() {
		host.Close()
		return nil, nil, false
	}
	return plan, host.Close, true
}

// storeAttempts is how often privateStore picks new ports when one it
// picked was taken before etcd bound it.
const storeAttempts = 5

// privateStore starts an embedded etcd in a temporary directory on free
// loopback ports; close stops it and removes the directory.
func privateStore(ctx context.Context, logger hclog.Logger) (*store.Store, func(), error) {
	dir, err := os.MkdirTemp("", "triggergate-simulate-")
	if err != nil {
		return nil, nil, fmt.Errorf("creating the simulation's data directory: %w", err)
	}
	var lastErr error
	for attempt := range storeAttempts {
		client, err := freeLoopbackURL()
		if err != nil {
			lastErr = err
			break
		}
		peer, err := freeLoopbackURL()
		if err != nil {
			lastErr = err
			break
		}
		st, err := store.Open(ctx, store.Config{Embedded: true, DataDir: fmt.Sprintf("%s/%d", dir, attempt),
			ClientURL: client, PeerURL: peer}, logger)
		if err == nil {
			return st, func() {
				_ = st.Close()
				_ = os.RemoveAll(dir)
			}, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, nil, fmt.Errorf("starting the simulation's embedded etcd: %w", lastErr)
}

// readEvents reads one EVENTS_FILE argument: stdin, a raw webhook
// archive (a .gz file or a directory), or a JSON-lines file.
func readEvents(name string, stdin io.Reader, fn func(simulate.Item) error) error {
	if name == "-" {
		return simulate.ReadLines(stdin, "stdin", fn)
	}
	info, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("opening the events file: %w", err)
	}
	if info.IsDir() || strings.HasSuffix(name, ".gz") {
		return simulate.ReadArchive(name, fn)
	}
	file, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("opening the events file: %w", err)
	}
	defer file.Close()
	return simulate.ReadLines(file, name, fn)
}

// simulatePrinter writes simulate's output, keeping the first write error.
type simulatePrinter struct {
	out  io.Writer
	json bool
	err  error
}

func (p *simulatePrinter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.out, format, args...)
	}
}

// decisionJSON is one decision in -json output.
type decisionJSON struct {
	// Side is "-" or "+" in -diff output.
	Side string `json:"side,omitempty"`
	simulate.Decision
	Message *messageJSON `json:"message,omitempty"`
}

// messageJSON is a queued message, rendered, in -json output.
type messageJSON struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
	// DeadLetter is why the delivery worker would dead-letter it.
	DeadLetter string `json:"dead_letter,omitempty"`
}

func (p *simulatePrinter) decision(side string, d simulate.Decision, res *simulate.Result) {
	var msg *simulate.Message
	if res.Messages != nil && d.MessageID != "" {
		if m, ok := res.Messages[d.MessageID]; ok && (d.Outcome == "sent" || d.Outcome == "deferred" || d.Outcome == "fallback") {
			msg = &m
		}
	}
	if p.json {
		out := decisionJSON{Side: side, Decision: d}
		if msg != nil {
			out.Message = &messageJSON{Subject: msg.Content.Subject, Text: msg.Content.Text, HTML: msg.Content.HTML}
			if msg.RenderErr != nil {
				out.Message = &messageJSON{DeadLetter: msg.RenderErr.Error()}
			}
		}
		b, err := json.Marshal(out)
		if err != nil {
			p.err = cmp(p.err, err)
			return
		}
		p.printf("%s\n", b)
		return
	}
	if side != "" {
		p.printf("%s ", side)
	}
	p.printf("%s\n", d)
	if msg == nil {
		return
	}
	if msg.RenderErr != nil {
		p.printf("    would be dead-lettered: %v\n", msg.RenderErr)
		return
	}
	if msg.Content.Subject != "" {
		p.printf("    subject: %s\n", msg.Content.Subject)
	}
	if msg.Content.Text != "" {
		p.printf("    text: %s\n", strings.ReplaceAll(strings.TrimRight(msg.Content.Text, "\n"), "\n", "\n          "))
	}
}

// cmp returns the first non-nil error.
func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// decisions prints one run's decisions and its summary (on stderr with
// -json, so that stdout holds only decisions).
func (p *simulatePrinter) decisions(res *simulate.Result, stderr io.Writer) {
	for _, d := range res.Decisions {
		p.decision("", d, res)
	}
	summary := summarize(res)
	if p.json {
		fmt.Fprintln(stderr, summary)
		return
	}
	p.printf("%s\n", summary)
}

// summarize is the summary line: "12 events, 3 customers, 5 decisions
// (3 sent, 2 suppressed)".
func summarize(res *simulate.Result) string {
	counts := map[string]int{}
	for _, d := range res.Decisions {
		counts[d.Outcome]++
	}
	order := []string{"sent", "deferred", "fallback", "suppressed", "dropped"}
	for o := range counts {
		if !slices.Contains(order, o) {
			order = append(order, o)
		}
	}
	slices.Sort(order[5:])
	var parts []string
	for _, o := range order {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	s := fmt.Sprintf("%d events, %d customers, %d decisions", res.Events, res.Customers, len(res.Decisions))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// diff prints the decisions only one of two runs took, and a summary.
func (p *simulatePrinter) diff(a, b *simulate.Result, stderr io.Writer) {
	lines, sum := simulate.Diff(a.Decisions, b.Decisions)
	for _, l := range lines {
		switch l.Side {
		case '-':
			p.decision("-", l.Decision, a)
		case '+':
			p.decision("+", l.Decision, b)
		}
	}
	summary := fmt.Sprintf("%d same, %d only in A, %d only in B", sum.Same, sum.OnlyA, sum.OnlyB)
	if p.json {
		fmt.Fprintln(stderr, summary)
		return
	}
	p.printf("%s\n", summary)
}

// freeLoopbackURL returns an http URL on a loopback port that was free a
// moment ago.
func freeLoopbackURL() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return "http://" + l.Addr().String(), nil
}
