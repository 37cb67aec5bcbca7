package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pmezard/go-difflib/difflib"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// applyCmd is `triggergate apply`: validate a configuration as
// `validate` does, store it in etcd as a new version, and wait for the
// running nodes to switch to it (or refuse it).
func applyCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("apply", stderr)
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory")
	message := fs.String("m", "", "why this version (shown in the history)")
	who := fs.String("author", "", "who applies it (default: $USER@host)")
	force := fs.Bool("force", false, "store a new version even if nothing changed")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the running nodes to switch (0: do not wait)")
	if _, ok := parseArgs(fs, args, 0); !ok {
		return 2
	}
	cfg, ok := load(*path, stderr)
	if !ok {
		return 1
	}
	if !prepareLocally(cfg, stderr) {
		fmt.Fprintln(stderr, "triggergate apply: the configuration does not validate; nothing was stored")
		return 1
	}
	ctx := context.Background()
	st, ok := connectStore(ctx, "apply", cfg, stderr)
	if !ok {
		return 1
	}
	defer st.Close()
	cs := configstore.New(st)
	v, changed, err := cs.Apply(ctx, configstore.ApplyRequest{Files: cfg.VersionFiles(), Author: authorName(*who),
		Message: *message, Force: *force})
	if err != nil {
		fmt.Fprintln(stderr, "triggergate apply:", err)
		return 1
	}
	if !changed {
		fmt.Fprintf(stdout, "unchanged: version %d (%s) is current\n", v.ID, short(v.Digest))
		return 0
	}
	fmt.Fprintf(stdout, "applied version %d (%s, %d files)\n", v.ID, short(v.Digest), len(v.Files))
	return awaitNodes(ctx, st, cs, v.ID, *wait, stdout, stderr)
}

// prepareLocally checks a configuration the way a node will: every part
// bound, every plugin started and its config validated.
func prepareLocally(cfg *config.Config, stderr io.Writer) bool {
	host := pluginhost.New(hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Warn, Output: stderr}),
		pluginhost.WithDir(cfg.Gateway.PluginDir))
	defer host.Close()
	_, diags := app.Prepare(context.Background(), cfg, host)
	if len(diags) > 0 {
		_ = config.WriteDiagnostics(stderr, cfg.Files, diags)
	}
	return !diags.HasErrors()
}

// awaitNodes waits until every live node serves version id or has
// refused it, and reports each; the exit code is 1 if any refused.
func awaitNodes(ctx context.Context, st *store.Store, cs *configstore.Store, id int64, wait time.Duration, stdout, stderr io.Writer) int {
	if wait <= 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		members, err := cluster.ReadStatus(ctx, st)
		states, err2 := cs.Nodes(ctx)
		if err == nil && err2 == nil {
			byNode := map[string]configstore.NodeState{}
			for _, s := range states {
				byNode[s.Node] = s
			}
			done, refused := 0, 0
			for _, m := range members.Nodes {
				s := byNode[m.ID]
				switch {
				case s.Version >= id:
					done++
				case s.Refused != nil && s.Refused.Version >= id:
					done++
					refused++
				}
			}
			if done == len(members.Nodes) {
				for _, m := range members.Nodes {
					s := byNode[m.ID]
					if s.Version >= id {
						fmt.Fprintf(stdout, "  node %s: serving version %d\n", m.ID, s.Version)
						continue
					}
					fmt.Fprintf(stdout, "  node %s: REFUSED version %d, still serving version %d:\n%s\n", m.ID, id, s.Version, indent(s.Refused.Error))
				}
				if len(members.Nodes) == 0 {
					fmt.Fprintln(stdout, "  no node is running; each will load it when it starts")
				}
				if refused > 0 {
					return 1
				}
				return 0
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(stderr, "triggergate: not every node reported on version %d within %s; see `triggergate status`\n", id, wait)
			return 1
		case <-time.After(200 * time.Millisecond): // polling the nodes' reports in etcd
		}
	}
}

// configCmd is `triggergate config history|diff|rollback`.
func configCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage: triggergate config history|diff|rollback -config PATH ...\n")
		return 2
	}
	switch args[0] {
	case "history":
		return configHistory(args[1:], stdout, stderr)
	case "diff":
		return configDiff(args[1:], stdout, stderr)
	case "rollback":
		return configRollback(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "triggergate config: unknown subcommand %q (history, diff or rollback)\n", args[0])
	return 2
}

func configHistory(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config history", stderr)
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory (for the store settings)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, ok := parseArgs(fs, args, 0); !ok {
		return 2
	}
	ctx := context.Background()
	cs, st, ok := openConfigs(ctx, "config history", *path, stderr)
	if !ok {
		return 1
	}
	defer st.Close()
	hist, err := cs.History(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "triggergate config history:", err)
		return 1
	}
	cur, _, err := cs.CurrentID(ctx)
	if err != nil && !errors.Is(err, configstore.ErrNoVersion) {
		fmt.Fprintln(stderr, "triggergate config history:", err)
		return 1
	}
	nodes, _ := cs.Nodes(ctx)
	if *asJSON {
		return writeJSON(stdout, stderr, map[string]any{"current": cur, "versions": hist, "nodes": nodes})
	}
	if len(hist) == 0 {
		fmt.Fprintln(stdout, "no configuration has been applied")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tAPPLIED\tAUTHOR\tDIGEST\tMESSAGE")
	for _, v := range hist {
		mark := " "
		if v.ID == cur {
			mark = "*"
		}
		msg := v.Message
		if v.RollbackOf != 0 && !strings.Contains(msg, "rollback") {
			msg = fmt.Sprintf("%s (rollback to %d)", msg, v.RollbackOf)
		}
		fmt.Fprintf(tw, "%s%d\t%s\t%s\t%s\t%s\n", mark, v.ID, v.Time.Local().Format("2006-01-02 15:04:05"), v.Author, short(v.Digest), msg)
	}
	_ = tw.Flush()
	for _, n := range nodes {
		line := fmt.Sprintf("node %s serves version %d", n.Node, n.Version)
		if n.Refused != nil && n.Refused.Version > n.Version {
			line += fmt.Sprintf(", refused version %d: %s", n.Refused.Version, firstLine(n.Refused.Error))
		}
		fmt.Fprintln(stdout, line)
	}
	return 0
}

// configDiff prints what changed between two versions: with no argument,
// the current version against the local files (what apply would store);
// with one, that version against the current one; with two, the first
// against the second.
func configDiff(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config diff", stderr)
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory")
	pos, ok := parseArgs(fs, args, 2)
	if !ok {
		return 2
	}
	ids, ok := versionArgs(pos, 2, stderr)
	if !ok {
		return 2
	}
	ctx := context.Background()
	cfg, ok := load(*path, stderr)
	if !ok {
		return 1
	}
	st, ok := connectStore(ctx, "config diff", cfg, stderr)
	if !ok {
		return 1
	}
	defer st.Close()
	cs := configstore.New(st)

	get := func(id int64) (map[string]string, string, bool) {
		var v *configstore.Version
		var err error
		if id == 0 {
			v, err = cs.Current(ctx)
		} else {
			v, err = cs.Get(ctx, id)
		}
		if err != nil {
			fmt.Fprintln(stderr, "triggergate config diff:", err)
			return nil, "", false
		}
		return v.Files, fmt.Sprintf("version %d", v.ID), true
	}
	var from, to map[string]string
	var fromName, toName string
	switch len(ids) {
	case 0:
		if !prepareLocally(cfg, stderr) {
			return 1
		}
		if from, fromName, ok = get(0); !ok {
			return 1
		}
		to, toName = cfg.VersionFiles(), *path
	case 1:
		if from, fromName, ok = get(ids[0]); !ok {
			return 1
		}
		if to, toName, ok = get(0); !ok {
			return 1
		}
	default:
		if from, fromName, ok = get(ids[0]); !ok {
			return 1
		}
		if to, toName, ok = get(ids[1]); !ok {
			return 1
		}
	}
	n, err := writeDiff(stdout, from, to, fromName, toName)
	if err != nil {
		fmt.Fprintln(stderr, "triggergate config diff:", err)
		return 1
	}
	if n == 0 {
		fmt.Fprintf(stdout, "no differences between %s and %s\n", fromName, toName)
	}
	return 0
}

// writeDiff writes a unified diff of every file that differs and returns
// how many did.
func writeDiff(w io.Writer, from, to map[string]string, fromName, toName string) (int, error) {
	names := map[string]bool{}
	for n := range from {
		names[n] = true
	}
	for n := range to {
		names[n] = true
	}
	changed := 0
	for _, n := range slices.Sorted(maps.Keys(names)) {
		a, b := from[n], to[n]
		if a == b {
			continue
		}
		changed++
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(a), B: difflib.SplitLines(b),
			FromFile: fromName + "/" + n, ToFile: toName + "/" + n, Context: 3,
		})
		if err != nil {
			return changed, err
		}
		if _, err := io.WriteString(w, text); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// configRollback makes a new current version with an older version's
// files, after checking that they still validate here.
func configRollback(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("config rollback", stderr)
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory (for the store settings)")
	message := fs.String("m", "", "why (default: rollback to version N)")
	who := fs.String("author", "", "who rolls back (default: $USER@host)")
	force := fs.Bool("force", false, "roll back even if that version does not validate here")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the running nodes to switch (0: do not wait)")
	pos, ok := parseArgs(fs, args, 1)
	if !ok {
		return 2
	}
	ids, ok := versionArgs(pos, 1, stderr)
	if !ok || len(ids) != 1 {
		fmt.Fprintln(stderr, "usage: triggergate config rollback -config PATH VERSION")
		return 2
	}
	ctx := context.Background()
	cfg, ok := load(*path, stderr)
	if !ok {
		return 1
	}
	st, ok := connectStore(ctx, "config rollback", cfg, stderr)
	if !ok {
		return 1
	}
	defer st.Close()
	cs := configstore.New(st)
	old, err := cs.Get(ctx, ids[0])
	if err != nil {
		fmt.Fprintln(stderr, "triggergate config rollback:", err)
		return 1
	}
	if !*force {
		oldCfg, diags := config.LoadVersion(old.Files, cfg)
		if diags.HasErrors() {
			_ = config.WriteDiagnostics(stderr, oldCfg.Files, diags)
		}
		if diags.HasErrors() || !prepareLocally(oldCfg, stderr) {
			fmt.Fprintf(stderr, "triggergate config rollback: version %d does not validate here; nothing changed (-force to roll back anyway)\n", old.ID)
			return 1
		}
	}
	v, err := cs.Rollback(ctx, old.ID, authorName(*who), *message)
	if err != nil {
		fmt.Fprintln(stderr, "triggergate config rollback:", err)
		return 1
	}
	fmt.Fprintf(stdout, "rolled back: version %d has the files of version %d (%s)\n", v.ID, old.ID, short(v.Digest))
	return awaitNodes(ctx, st, cs, v.ID, *wait, stdout, stderr)
}

// openConfigs loads a configuration for its store settings and opens the
// configuration store.
func openConfigs(ctx context.Context, cmd, path string, stderr io.Writer) (*configstore.Store, *store.Store, bool) {
	cfg, ok := load(path, stderr)
	if !ok {
		return nil, nil, false
	}
	st, ok := connectStore(ctx, cmd, cfg, stderr)
	if !ok {
		return nil, nil, false
	}
	return configstore.New(st), st, true
}

// connectStore opens the etcd a configuration uses as a client: a running
// node's embedded etcd (its client URL), or the configured cluster.
func connectStore(ctx context.Context, cmd string, cfg *config.Config, stderr io.Writer) (*store.Store, bool) {
	endpoints := cfg.Store.Endpoints
	if cfg.Store.Embedded {
		endpoints = []string{cfg.Store.ClientURL}
	}
	st, err := store.Open(ctx, store.Config{Endpoints: endpoints, Prefix: cfg.Store.Prefix, DialTimeout: cfg.Store.DialTimeout}, hclog.NewNullLogger())
	if err != nil {
		hint := "is the gateway running?"
		if cfg.Store.Embedded {
			hint = "the embedded etcd runs inside `triggergate serve`: start it (make run); serve applies its -config file at start-up"
		}
		fmt.Fprintf(stderr, "triggergate %s: cannot reach etcd at %s (%s): %v\n", cmd, strings.Join(endpoints, ","), hint, err)
		return nil, false
	}
	return st, true
}

// parseArgs parses flags that may come before or after positional
// arguments, and returns the positional ones (at most max).
func parseArgs(fs *flag.FlagSet, args []string, max int) ([]string, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) > max {
		fmt.Fprintf(fs.Output(), "triggergate %s: unexpected argument %q\n", fs.Name(), pos[max])
		return nil, false
	}
	return pos, true
}

// versionArgs parses up to max version numbers.
func versionArgs(args []string, max int, stderr io.Writer) ([]int64, bool) {
	if len(args) > max {
		fmt.Fprintf(stderr, "triggergate: at most %d version numbers\n", max)
		return nil, false
	}
	var out []int64
	for _, a := range args {
		n, err := strconv.ParseInt(strings.TrimPrefix(a, "v"), 10, 64)
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "triggergate: %q is not a version number (see triggergate config history)\n", a)
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func authorName(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	host, _ := os.Hostname()
	user := os.Getenv("USER")
	if user == "" {
		user = "unknown"
	}
	return user + "@" + host
}

func short(digest string) string {
	d := strings.TrimPrefix(digest, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}

func writeJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(stderr, "triggergate:", err)
		return 1
	}
	return 0
}
