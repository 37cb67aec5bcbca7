package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/archive"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
)

const replayUsage = `usage: triggergate replay -config PATH [-from RFC3339] [-to RFC3339] [-source NAME] [-dry-run] [-json] ARCHIVE_PATH...
ARCHIVE_PATH is an archive directory or file (.jsonl.gz or .jsonl). -from is inclusive, -to exclusive;
a date alone (2026-11-22) is midnight UTC. Flags -admin ADDR and -token TOKEN (or $TRIGGERGATE_ADMIN_TOKEN)
reach another gateway.`

// replayBatchBytes is the encoded size at which the records read so far
// are sent; with MaxReplayRecords it keeps each request under the
// gateway's limits with room to spare.
const replayBatchBytes = 16 << 20

// replayBatchTimeout bounds one batch's request: the gateway commits the
// records one after the other.
const replayBatchTimeout = 10 * time.Minute

// replayCmd re-sends a slice of the raw webhook archive through the
// running gateway (its admin API's POST /v1/replay), which verifies,
// maps and deduplicates every record as it did when it arrived.
func replayCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", stderr)
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory")
	fromFlag := fs.String("from", "", "replay records received at or after this time (RFC 3339)")
	toFlag := fs.String("to", "", "replay records received before this time (RFC 3339)")
	sourceName := fs.String("source", "", "replay only this source's records")
	dryRun := fs.Bool("dry-run", false, "only count what would be replayed, per source; send nothing")
	asJSON := fs.Bool("json", false, "print the gateway's report as JSON")
	addr := fs.String("admin", "", "admin API address (default: the config's admin_listen)")
	token := fs.String("token", "", "admin API token (default: $TRIGGERGATE_ADMIN_TOKEN, admin_token, or <data_dir>/admin-token)")
	var paths []string
	for rest := args; ; { // flags may follow the paths
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		paths, rest = append(paths, fs.Arg(0)), fs.Args()[1:]
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, replayUsage)
		return 2
	}
	var filter archive.Filter
	var err error
	if filter.From, err = parseReplayTime(*fromFlag); err != nil {
		fmt.Fprintf(stderr, "triggergate replay: -from: %v\n", err)
		return 2
	}
	if filter.To, err = parseReplayTime(*toFlag); err != nil {
		fmt.Fprintf(stderr, "triggergate replay: -to: %v\n", err)
		return 2
	}
	if !filter.From.IsZero() && !filter.To.IsZero() && !filter.From.Before(filter.To) {
		fmt.Fprintln(stderr, "triggergate replay: -from must be before -to")
		return 2
	}
	filter.Source = *sourceName

	if *dryRun {
		return replayDryRun(paths, filter, stdout, stderr)
	}
	cfg, ok := load(*path, stderr)
	if !ok {
		return 1
	}
	c, err := newAdminClient(cfg, *addr, *token)
	if err != nil {
		fmt.Fprintln(stderr, "triggergate replay:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := &replaySender{c: c}
	err = archive.Read(paths, filter, func(rec *archive.Record) error { return s.add(ctx, rec) })
	if err == nil {
		err = s.flush(ctx)
	}
	if *asJSON {
		printJSON(stdout, s.report)
	} else {
		fmt.Fprintf(stdout, "replayed %d records: %d accepted, %d duplicate, %d errors\n",
			len(s.report.Results), s.report.Accepted, s.report.Duplicates, s.report.Errors)
	}
	for _, r := range s.report.Results {
		if r.Status == ingest.ReplayError {
			fmt.Fprintf(stderr, "triggergate replay: %s %s: %s\n", r.Source, r.ReceivedAt.Format(time.RFC3339Nano), r.Error)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "triggergate replay:", err)
		fmt.Fprintln(stderr, "triggergate replay: stopped; replaying the same slice again is safe (what was committed is a duplicate)")
		return 1
	}
	if s.report.Errors > 0 {
		return 1
	}
	return 0
}

// parseReplayTime reads an RFC 3339 time or a date (midnight UTC); empty
// is the zero time.
func parseReplayTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-22T10:00:00Z) nor a date (2026-11-22)", s)
}

// replaySender sends records to the admin API in batches and gathers the
// gateway's results.
type replaySender struct {
	c          *adminClient
	maxRecords int // per request; ingest.MaxReplayRecords when zero
	batch      bytes.Buffer
	n          int
	report     ingest.ReplayReport
}

func (s *replaySender) add(ctx context.Context, rec *archive.Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding a record of %s: %w", rec.Source, err)
	}
	if len(line)+1 > ingest.MaxReplayBytes {
		s.report.Add(ingest.ReplayResult{Source: rec.Source, ReceivedAt: rec.ReceivedAt, Status: ingest.ReplayError,
			Error: fmt.Sprintf("the record is %d bytes encoded, over the %d a replay request may carry", len(line)+1, ingest.MaxReplayBytes)})
		return nil
	}
	maxRecords := s.maxRecords
	if maxRecords <= 0 {
		maxRecords = ingest.MaxReplayRecords
	}
	if s.n >= maxRecords || s.batch.Len()+len(line)+1 > replayBatchBytes {
		if err := s.flush(ctx); err != nil {
			return err
		}
	}
	s.batch.Write(line)
	s.batch.WriteByte('\n')
	s.n++
	return nil
}

func (s *replaySender) flush(ctx context.Context) error {
	if s.n == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, replayBatchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.c.base+"/v1/replay", bytes.NewReader(s.batch.Bytes()))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.c.token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	// The client's own timeout suits quick calls; a batch's records are
	// committed one by one, so it gets the batch's.
	hc := *s.c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the admin API at %s (is the gateway running?): %w", s.c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the admin API's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("admin API: %s (%s)", e.Error.Message, resp.Status)
		}
		return fmt.Errorf("admin API answered %s: %s", resp.Status, truncate(strings.TrimSpace(string(b)), 200))
	}
	var rep ingest.ReplayReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return errors.Join(errors.New("the admin API's answer does not decode"), err)
	}
	if len(rep.Results) != s.n {
		return fmt.Errorf("the admin API answered %d results for %d records", len(rep.Results), s.n)
	}
	for _, r := range rep.Results {
		s.report.Add(r)
	}
	s.batch.Reset()
	s.n = 0
	return nil
}

// replayDryRun counts the records of the slice per source.
func replayDryRun(paths []string, filter archive.Filter, stdout, stderr io.Writer) int {
	type span struct {
		n           int
		first, last time.Time
	}
	bySource := map[string]*span{}
	total := 0
	err := archive.Read(paths, filter, func(rec *archive.Record) error {
		sp := bySource[rec.Source]
		if sp == nil {
			sp = &span{first: rec.ReceivedAt, last: rec.ReceivedAt}
			bySource[rec.Source] = sp
		}
		sp.n++
		total++
		if rec.ReceivedAt.Before(sp.first) {
			sp.first = rec.ReceivedAt
		}
		if rec.ReceivedAt.After(sp.last) {
			sp.last = rec.ReceivedAt
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(stderr, "triggergate replay:", err)
		return 1
	}
	names := make([]string, 0, len(bySource))
	for n := range bySource {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tRECORDS\tFIRST\tLAST")
	for _, n := range names {
		sp := bySource[n]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", n, sp.n, sp.first.UTC().Format(time.RFC3339), sp.last.UTC().Format(time.RFC3339))
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "%d records would be replayed (dry run: nothing sent)\n", total)
	return 0
}
