package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/archive"
	"github.com/triggergate/triggergate/gateway/internal/backlog"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

func pending(t *testing.T, lg *eventlog.Log) []sdk.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	entries, _, err := lg.Pending(ctx, -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]sdk.Event, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Event)
	}
	return out
}

func replayPost(t *testing.T, url string, body []byte) (int, ingest.ReplayReport, string) {
	t.Helper()
	resp, err := http.Post(url, "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	var rep ingest.ReplayReport
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
			t.Fatalf("answer %s: %v", b.String(), err)
		}
	}
	return resp.StatusCode, rep, b.String()
}

func jsonLines(t *testing.T, recs ...*archive.Record) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// A slice of the archive, hours old, goes through the real ingest path
// into a real event log: signatures check against the time each record
// was received, what was committed before is a duplicate, and a second
// replay adds nothing.
func TestReplay(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	elog := eventlog.New(st, hclog.NewNullLogger())
	t.Cleanup(elog.Close)
	received := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Millisecond)
	w, err := archive.Open(archive.Options{Dir: filepath.Join(t.TempDir(), "archive"), Now: func() time.Time { return received }},
		hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	h := ingest.New([]ingest.Source{standardSource(t)}, elog, hclog.NewNullLogger(),
		ingest.WithClock(func() time.Time { return received }), ingest.WithArchive(w.Sink))

	// Three hours ago, msg_live arrived and was committed (and archived).
	header, body := signedDelivery("msg_live", received, "jane@example.com")
	if rec := postSigned(h, header, body, false); rec.Code != http.StatusAccepted {
		t.Fatalf("live delivery: %d %s", rec.Code, rec.Body)
	}
	// msg_lost was archived but its events are not in this log (an
	// etcd restored from an older snapshot, say).
	header, body = signedDelivery("msg_lost", received.Add(-time.Second), "joe@example.com")
	lost := &archive.Record{Source: "peer", ReceivedAt: received.Add(time.Second), Method: http.MethodPost,
		URL: "/v1/webhooks/peer", Header: header, Body: body}
	forged := &archive.Record{Source: "peer", ReceivedAt: received, Method: http.MethodPost, URL: "/v1/webhooks/peer",
		Header: header.Clone(), Body: []byte(strings.Replace(string(body), "joe@", "eve@", 1))}
	removed := &archive.Record{Source: "gone", ReceivedAt: received, Method: http.MethodPost, URL: "/v1/webhooks/gone", Body: body}
	for _, r := range []*archive.Record{lost, forged, removed} {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	var slice []*archive.Record
	if err := archive.Read([]string{w.Dir()}, archive.Filter{}, func(r *archive.Record) error {
		slice = append(slice, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(slice) != 4 {
		t.Fatalf("archive holds %d records, want 4", len(slice))
	}

	srv := httptest.NewServer(ingest.NewReplayer(h.Source, elog, hclog.NewNullLogger()))
	t.Cleanup(srv.Close)
	input := append(jsonLines(t, slice...), []byte("\n{not a record}\n")...)
	code, rep, raw := replayPost(t, srv.URL, input)
	if code != http.StatusOK {
		t.Fatalf("replay: %d %s", code, raw)
	}
	if rep.Accepted != 1 || rep.Duplicates != 1 || rep.Errors != 3 || len(rep.Results) != 5 {
		t.Fatalf("replay report: %s", raw)
	}
	for i, want := range []struct{ status, source, err string }{
		{ingest.ReplayDuplicate, "peer", ""},
		{ingest.ReplayAccepted, "peer", ""},
		{ingest.ReplayError, "peer", "bad_signature"},
		{ingest.ReplayError, "gone", `no source named "gone"`},
		{ingest.ReplayError, "", "line 6 is not an archive record"},
	} {
		r := rep.Results[i]
		if r.Status != want.status || r.Source != want.source || !strings.Contains(r.Error, want.err) || (want.err == "") != (r.Error == "") {
			t.Errorf("result %d: %+v, want %+v", i, r, want)
		}
	}
	if r := rep.Results[1]; r.Events != 1 || !r.ReceivedAt.Equal(lost.ReceivedAt) {
		t.Errorf("accepted result: %+v", r)
	}

	events := pending(t, elog)
	if len(events) != 2 {
		t.Fatalf("log holds %d events, want 2 (live and replayed)", len(events))
	}
	var replayed *sdk.Event
	for i := range events {
		if events[i].DeliveryID == "msg_lost" {
			replayed = &events[i]
		}
	}
	if replayed == nil || replayed.Customer.Email != "joe@example.com" || !replayed.ReceivedAt.Equal(lost.ReceivedAt) ||
		replayed.ID != ingest.EventID("peer", "msg_lost", received.Add(-time.Second).Truncate(time.Second)) {
		t.Fatalf("replayed event: %+v", replayed)
	}

	// Again: nothing new.
	code, rep, raw = replayPost(t, srv.URL, jsonLines(t, slice[:2]...))
	if code != http.StatusOK || rep.Accepted != 0 || rep.Duplicates != 2 || rep.Errors != 0 {
		t.Fatalf("second replay: %d %s", code, raw)
	}
	if n := len(pending(t, elog)); n != 2 {
		t.Fatalf("log holds %d events after a second replay, want 2", n)
	}
}

// Events without a vendor delivery id get one from the record, so a
// second replay of the same record is a duplicate too.
func TestReplayKeyless(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	elog := eventlog.New(st, hclog.NewNullLogger())
	t.Cleanup(elog.Close)
	h := newHandler(t, elog)
	r := ingest.NewReplayer(h.Source, elog, hclog.NewNullLogger())
	rec := &archive.Record{Source: "app", ReceivedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), URL: "/v1/webhooks/app",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"type":"order.placed","customer":{"email":"jane@example.com"}}`)}
	if res := r.Replay(t.Context(), rec); res.Status != ingest.ReplayAccepted || res.Events != 1 {
		t.Fatalf("first replay: %+v", res)
	}
	if res := r.Replay(t.Context(), rec); res.Status != ingest.ReplayDuplicate {
		t.Fatalf("second replay: %+v", res)
	}
	other := *rec
	other.ReceivedAt = rec.ReceivedAt.Add(time.Second) // the same body received again is another delivery
	if res := r.Replay(t.Context(), &other); res.Status != ingest.ReplayAccepted {
		t.Fatalf("another delivery of the same body: %+v", res)
	}
	if n := len(pending(t, elog)); n != 2 {
		t.Fatalf("log holds %d events, want 2", n)
	}
}

func TestReplayRefusals(t *testing.T) {
	t.Parallel()
	lg := &memLog{seen: map[string]string{}}
	h := newHandler(t, lg)
	refuse := func([]sdk.Event) error {
		return &backlog.Refusal{Err: backlog.ErrBacklog, RetryAfter: time.Second, Detail: "partition 3 has 10000 events waiting"}
	}
	srv := httptest.NewServer(ingest.NewReplayer(h.Source, lg, hclog.NewNullLogger(), ingest.WithReplayAdmission(refuse)))
	t.Cleanup(srv.Close)
	rec := &archive.Record{Source: "app", ReceivedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), URL: "/v1/webhooks/app",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(good)}

	code, rep, raw := replayPost(t, srv.URL, jsonLines(t, rec))
	if code != http.StatusOK || rep.Errors != 1 || !strings.Contains(rep.Results[0].Error, "behind") || len(lg.events) != 0 {
		t.Fatalf("refused by the backlog: %d %s", code, raw)
	}

	many := make([]*archive.Record, ingest.MaxReplayRecords+1)
	for i := range many {
		many[i] = rec
	}
	if code, _, raw := replayPost(t, srv.URL, jsonLines(t, many...)); code != http.StatusRequestEntityTooLarge ||
		!strings.Contains(raw, "too_many_records") {
		t.Fatalf("%d records: %d %s", len(many), code, raw)
	}
	if code, _, raw := replayPost(t, srv.URL, bytes.Repeat([]byte(" "), ingest.MaxReplayBytes+1)); code != http.StatusRequestEntityTooLarge ||
		!strings.Contains(raw, "body_too_large") {
		t.Fatalf("a body over the limit: %d %s", code, truncateString(raw, 200))
	}
	if len(lg.events) != 0 {
		t.Fatal("a refused request committed events")
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}

	// A record with no time or a body over the source's limit is an error.
	for i, bad := range []*archive.Record{
		{Source: "app", URL: "/v1/webhooks/app", Body: []byte(good)},
		{Source: "app", ReceivedAt: rec.ReceivedAt, URL: "/v1/webhooks/app", Body: bytes.Repeat([]byte(" "), 4096*ingest.DecompressionRatio+1)},
		{Source: "app", ReceivedAt: rec.ReceivedAt, URL: "::", Body: []byte(good)},
	} {
		r := ingest.NewReplayer(h.Source, lg, hclog.NewNullLogger())
		if res := r.Replay(t.Context(), bad); res.Status != ingest.ReplayError {
			t.Errorf("bad record %d: %+v", i, res)
		}
	}
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
