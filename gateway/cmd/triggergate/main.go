// Command triggergate is the gateway: one binary for serving and for the
// operator's commands.
//
//	triggergate serve    -config configs/gateway.hcl
//	triggergate validate -config configs/
//	triggergate version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // customers' timezones resolve on hosts without zone files

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `triggergate: a webhook gateway for marketing automation

Usage:
  triggergate serve    -config PATH   run the gateway
  triggergate validate -config PATH   check a configuration (file or directory) and exit
  triggergate apply    -config PATH [-m MESSAGE]          validate it, store it in etcd as a new version; running nodes switch to it
  triggergate config history -config PATH [-json]         the versions applied, and what each node serves
  triggergate config diff -config PATH [FROM [TO]]        current version vs PATH; or FROM vs current; or FROM vs TO
  triggergate config rollback -config PATH VERSION        make VERSION's files current again (as a new version)
  triggergate simulate -config PATH [-start RFC3339] [-until DURATION] [-json] [-diff OTHER_PATH] [-show-messages] EVENTS_FILE...
                                      run events through the rules on a virtual clock; print every decision (nothing is sent)
  triggergate replay   -config PATH [-from T] [-to T] [-source S] [-dry-run] ARCHIVE...   re-send archived webhooks (deduplicated)
  triggergate status   -config PATH [-json]               nodes, partitions, backlog, each node's config (through the admin API)
  triggergate deadletters -config PATH [-json]            events the engine gave up on
  triggergate deadletters -config PATH [-force] requeue ID...  put them back to be processed
  triggergate customer -config PATH [-json] KEY           a customer's profile, consent, rule state, timers and decision trace
  triggergate customer -config PATH [-json] erase KEY     erase a customer (GDPR): record, timers, pending messages
  triggergate dlq -config PATH [-channel NAME] [list]     messages that could not be delivered (through the admin API)
  triggergate dlq -config PATH retry ID...|-all           send them again (after fixing the cause)
  triggergate dlq -config PATH drop ID...|-all            delete them
  triggergate render -config PATH [-customer JSON] [-event JSON] TEMPLATE   preview a template
  triggergate version                 print the version

PATH is an .hcl file or a directory of them (default configs/gateway.hcl).
status, deadletters, customer, dlq and replay use the admin API: -admin ADDR and -token TOKEN
(or $TRIGGERGATE_ADMIN_TOKEN) reach a gateway other than the config's admin_listen.
KEY is a customer key: id:..., email:..., phone:..., ext:<system>:... or anon:...
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "validate":
		return validate(args[1:], stdout, stderr)
	case "apply":
		return applyCmd(args[1:], stdout, stderr)
	case "config":
		return configCmd(args[1:], stdout, stderr)
	case "simulate":
		return simulateCmd(args[1:], stdout, stderr)
	case "replay":
		return replayCmd(args[1:], stdout, stderr)
	case "status":
		return status(args[1:], stdout, stderr)
	case "deadletters":
		return deadletters(args[1:], stdout, stderr)
	case "customer":
		return customerCmd(args[1:], stdout, stderr)
	case "dlq":
		return dlqCmd(args[1:], stdout, stderr)
	case "render":
		return renderCmd(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "triggergate", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "triggergate: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func configFlag(name string, args []string, stderr io.Writer) (string, bool) {
	fs := newFlagSet(name, stderr)
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory")
	if err := fs.Parse(args); err != nil {
		return "", false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "triggergate %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", false
	}
	return *path, true
}

// load reads a configuration, printing its diagnostics; ok is false when
// it has errors.
func load(path string, stderr io.Writer) (*config.Config, bool) {
	cfg, diags := config.Load(path)
	if len(diags) > 0 {
		files := map[string]*hcl.File{}
		if cfg != nil {
			files = cfg.Files
		}
		_ = config.WriteDiagnostics(stderr, files, diags)
	}
	return cfg, !diags.HasErrors()
}

func serve(args []string, stderr io.Writer) int {
	path, ok := configFlag("serve", args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := load(path, stderr)
	if !ok {
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := app.Run(ctx, cfg, app.Options{})
	var derr *app.DiagnosticsError
	switch {
	case errors.As(err, &derr):
		_ = config.WriteDiagnostics(stderr, cfg.Files, derr.Diags)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "triggergate:", err)
		return 1
	}
	return 0
}

func validate(args []string, stdout, stderr io.Writer) int {
	path, ok := configFlag("validate", args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := load(path, stderr)
	if !ok {
		return 1
	}
	host := pluginhost.New(hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Warn, Output: stderr}),
		pluginhost.WithDir(cfg.Gateway.PluginDir))
	defer host.Close()
	plan, diags := app.Prepare(context.Background(), cfg, host)
	if len(diags) > 0 {
		_ = config.WriteDiagnostics(stderr, cfg.Files, diags)
	}
	if diags.HasErrors() {
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid (%d sources, %d triggers, %d channels, %d templates)\n",
		path, len(plan.Sources), len(plan.Rules), len(plan.Channels), len(plan.Templates))
	return 0
}
