package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/archive"
	"github.com/triggergate/triggergate/sdk"
)

// Limits of one replay request.
const (
	// MaxReplayRecords is how many records one replay request may carry.
	MaxReplayRecords = 1000
	// MaxReplayBytes is how large one replay request's body may be.
	MaxReplayBytes = 32 << 20
)

// Replay outcomes of one record.
const (
	ReplayAccepted  = "accepted"
	ReplayDuplicate = "duplicate"
	ReplayError     = "error"
)

// ReplayResult is what became of one replayed record.
type ReplayResult struct {
	// Source and ReceivedAt identify the record.
	Source     string    `json:"source"`
	ReceivedAt time.Time `json:"received_at"`
	// Status is ReplayAccepted, ReplayDuplicate or ReplayError.
	Status string `json:"status"`
	// Events counts the events committed by this replay (accepted) or
	// found committed before (duplicate).
	Events int `json:"events"`
	// Error says why the record failed: bad signature, unknown source,
	// store unavailable, ...
	Error string `json:"error,omitempty"`
}

// ReplayReport is the replay endpoint's answer.
type ReplayReport struct {
	Results    []ReplayResult `json:"results"`
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Errors     int            `json:"errors"`
}

// Add counts res in the report's totals and appends it.
func (r *ReplayReport) Add(res ReplayResult) {
	r.Results = append(r.Results, res)
	switch res.Status {
	case ReplayAccepted:
		r.Accepted++
	case ReplayDuplicate:
		r.Duplicates++
	default:
		r.Errors++
	}
}

// Replayer runs archived deliveries through the same path as the webhook
// endpoint (Decode, admission, the event log's Append with the source's
// dedupe window), as a redelivery from the vendor would go: what was
// committed before is a duplicate and is not processed again. It also
// serves the admin API's POST /v1/replay.
type Replayer struct {
	lookup        func(name string) (Source, bool)
	log           Appender
	logger        hclog.Logger
	admit         func([]sdk.Event) error
	appendTimeout time.Duration
}

// ReplayOption configures a Replayer.
type ReplayOption func(*Replayer)

// WithReplayAdmission sets the check every replayed delivery's events must
// pass before they are committed (the backlog monitor's Check), so that a
// replay cannot bury the engine; a refused record is an error to replay
// again later.
func WithReplayAdmission(check func([]sdk.Event) error) ReplayOption {
	return func(r *Replayer) { r.admit = check }
}

// NewReplayer returns a Replayer that finds sources with lookup (the
// current ingest handler's Source, so a replay uses the sources and
// secrets that serve now) and commits to log.
func NewReplayer(lookup func(name string) (Source, bool), log Appender, logger hclog.Logger, opts ...ReplayOption) *Replayer {
	r := &Replayer{lookup: lookup, log: log, logger: logger, appendTimeout: 10 * time.Second}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Replay verifies, maps and commits one archived delivery, with the
// record's received_at as the time it arrived (signed timestamps are
// checked against it, and it is the events' received_at). Events that
// carry no vendor delivery id get one derived from the record, so that
// replaying the same record twice commits them once.
func (r *Replayer) Replay(ctx context.Context, rec *archive.Record) ReplayResult {
	res := ReplayResult{Source: rec.Source, ReceivedAt: rec.ReceivedAt.UTC()}
	fail := func(format string, args ...any) ReplayResult {
		res.Status, res.Error = ReplayError, fmt.Sprintf(format, args...)
		return res
	}
	src, ok := r.lookup(rec.Source)
	if !ok {
		return fail("no source named %s is configured", quote(rec.Source))
	}
	if rec.ReceivedAt.IsZero() {
		return fail("the record has no received_at")
	}
	if limit := src.MaxBodyBytes * DecompressionRatio; src.MaxBodyBytes > 0 && int64(len(rec.Body)) > limit {
		return fail("the body is %d bytes, over what this source takes (%d)", len(rec.Body), limit)
	}
	req, err := rec.Request()
	if err != nil {
		return fail("%v", err)
	}
	d, err := Decode(src, req)
	if err != nil {
		_, code := classify(err)
		return fail("%s: %v", code, err)
	}
	if len(d.Events) == 0 {
		res.Status = ReplayAccepted
		return res
	}
	keyless(d.Events, src, rec)
	if r.admit != nil {
		if err := r.admit(d.Events); err != nil {
			return fail("the gateway is behind, replay this record later: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.appendTimeout)
	defer cancel()
	ar, err := r.log.Append(ctx, src.Name, d.Events, src.DedupeWindow)
	if err != nil {
		return fail("committing the events: %v", err)
	}
	if ar.Duplicate {
		res.Status, res.Events = ReplayDuplicate, len(d.Events)
		return res
	}
	res.Status, res.Events = ReplayAccepted, ar.New
	return res
}

// keyless gives each event without a vendor delivery id one derived from
// the archived record (its source, receipt time and body) and its place in
// the delivery, so the event log deduplicates a second replay. The live
// ingest gave such events random ids: a first replay of them commits them
// again.
func keyless(events []sdk.Event, src Source, rec *archive.Record) {
	var digest string
	for i := range events {
		ev := &events[i]
		if ev.DeliveryID != "" {
			continue
		}
		if digest == "" {
			h := sha256.New()
			h.Write([]byte(rec.ReceivedAt.UTC().Format(time.RFC3339Nano)))
			h.Write([]byte{0})
			h.Write(rec.Body)
			digest = hex.EncodeToString(h.Sum(nil)[:16])
		}
		ev.DeliveryID = "replay:" + digest + ":" + strconv.Itoa(i)
		ev.ID = EventID(src.Name, ev.DeliveryID, ev.OccurredAt)
	}
}

// ServeHTTP takes a POST whose body is JSON lines of archive.Record (at
// most MaxReplayRecords records and MaxReplayBytes) and replays them in
// order, answering a ReplayReport. A record that is unknown, badly signed
// or not a record at all is an error in its result, not a failed request.
func (r *Replayer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST the archive records as JSON lines")
		return
	}
	recs, status, code, err := readRecords(w, req)
	if err != nil {
		writeError(w, status, code, err.Error())
		return
	}
	rep := ReplayReport{Results: make([]ReplayResult, 0, len(recs))}
	for _, pr := range recs {
		switch {
		case pr.err != nil:
			rep.Add(ReplayResult{Source: pr.rec.Source, ReceivedAt: pr.rec.ReceivedAt, Status: ReplayError, Error: pr.err.Error()})
		case req.Context().Err() != nil:
			rep.Add(ReplayResult{Source: pr.rec.Source, ReceivedAt: pr.rec.ReceivedAt, Status: ReplayError,
				Error: "not replayed: the request ended first"})
		default:
			rep.Add(r.Replay(req.Context(), pr.rec))
		}
	}
	r.logger.Info("replayed archived webhooks", "records", len(recs),
		"accepted", rep.Accepted, "duplicates", rep.Duplicates, "errors", rep.Errors)
	writeJSON(w, http.StatusOK, rep)
}

// parsedRecord is one line of a replay request: a record, or why it is
// not one.
type parsedRecord struct {
	rec *archive.Record
	err error
}

// readRecords reads a replay request's body under its limits. Every line
// is read before any is replayed, so that a request over the limits is
// refused as a whole.
func readRecords(w http.ResponseWriter, req *http.Request) ([]parsedRecord, int, string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxReplayBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Errorf("a replay request may be at most %d bytes; send the records in smaller batches", MaxReplayBytes)
		}
		return nil, http.StatusBadRequest, "unreadable_body", fmt.Errorf("reading the body failed: %w", err)
	}
	var recs []parsedRecord
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, MaxReplayBytes+1)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(recs) == MaxReplayRecords {
			return nil, http.StatusRequestEntityTooLarge, "too_many_records",
				fmt.Errorf("a replay request may carry at most %d records; send them in smaller batches", MaxReplayRecords)
		}
		rec := new(archive.Record)
		var perr error
		if err := json.Unmarshal(line, rec); err != nil {
			rec = new(archive.Record)
			perr = fmt.Errorf("line %d is not an archive record: %v", n, err)
		}
		recs = append(recs, parsedRecord{rec: rec, err: perr})
	}
	if err := sc.Err(); err != nil {
		return nil, http.StatusBadRequest, "unreadable_body", fmt.Errorf("reading the records: %w", err)
	}
	return recs, 0, "", nil
}
