package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/archive"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/standard"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

const replaySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// signedRecord is an archived Standard Webhooks delivery to source,
// signed and received at at.
func signedRecord(src, id string, at time.Time, email string) *archive.Record {
	body, _ := json.Marshal(map[string]any{"type": "order.placed", "timestamp": at.Format(time.RFC3339),
		"data": map[string]any{"customer": map[string]any{"email": email}}})
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(replaySecret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	unix := strconv.FormatInt(at.Unix(), 10)
	mac.Write([]byte(id + "." + unix + "."))
	mac.Write(body)
	return &archive.Record{Source: src, ReceivedAt: at, Method: http.MethodPost, URL: "/v1/webhooks/" + src,
		Header: http.Header{"Content-Type": {"application/json"}, "Webhook-Id": {id}, "Webhook-Timestamp": {unix},
			"Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))}},
		Body: body}
}

// replayGateway serves POST /v1/replay behind a bearer token, as the admin
// API mounts it, over a real event log with one standard source, "peer".
// It counts the requests it gets.
func replayGateway(t *testing.T, token string) (*httptest.Server, *eventlog.Log, *atomic.Int64) {
	t.Helper()
	st := storetest.Start(t)
	elog := eventlog.New(st, hclog.NewNullLogger())
	t.Cleanup(elog.Close)
	a, diags := standard.Build(source.Spec{Name: "peer", Kind: "standard", Secrets: []string{replaySecret}, Body: hcl.EmptyBody()})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h := ingest.New([]ingest.Source{{Name: "peer", Kind: "standard", Adapter: a, MaxBodyBytes: 1 << 20}}, elog, hclog.NewNullLogger())
	replayer := ingest.NewReplayer(h.Source, elog, hclog.NewNullLogger())
	var requests atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/replay", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"missing or wrong bearer token"}}`))
			return
		}
		requests.Add(1)
		replayer.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, elog, &requests
}

func countEvents(t *testing.T, elog *eventlog.Log) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	entries, _, err := elog.Pending(ctx, -1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestReplayCommand replays an archive slice hours old through a gateway's
// replay endpoint: the first run commits, the second finds duplicates, a
// record of a source the gateway does not have fails the run.
func TestReplayCommand(t *testing.T) {
	t.Parallel()
	const token = "replay-test-token-0123456789abcdef"
	srv, elog, _ := replayGateway(t, token)
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.hcl")
	cfg := fmt.Sprintf("gateway {\n  admin_listen = %q\n  admin_token = %q\n  data_dir = %q\n}\nstore {\n  endpoints = [\"http://127.0.0.1:1\"]\n}\n",
		strings.TrimPrefix(srv.URL, "http://"), token, filepath.Join(dir, "data"))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// Three hours of archive: peer every hour, and one record of "shop",
	// a source this gateway does not have.
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	clock := start
	archiveDir := filepath.Join(dir, "archive")
	w, err := archive.Open(archive.Options{Dir: archiveDir, Now: func() time.Time { return clock }}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		clock = start.Add(time.Duration(i) * time.Hour)
		if err := w.Append(signedRecord("peer", fmt.Sprintf("msg_%d", i), clock, fmt.Sprintf("c%d@example.com", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Append(signedRecord("shop", "msg_shop", clock.Add(time.Minute), "s@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	replay := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := replayCmd(append([]string{"-config", path}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, out, errs := replay("-dry-run", archiveDir)
	if code != 0 || !strings.Contains(out, "4 records would be replayed") || !regexp.MustCompile(`peer\s+3\s`).MatchString(out) ||
		!regexp.MustCompile(`shop\s+1\s`).MatchString(out) || countEvents(t, elog) != 0 {
		t.Fatalf("dry run: %d\n%s%s", code, out, errs)
	}

	// The slice from the second hour on, flags after the path.
	from := start.Add(time.Hour).Format(time.RFC3339)
	code, out, errs = replay(archiveDir, "-source", "peer", "-from", from)
	if code != 0 || !strings.Contains(out, "replayed 2 records: 2 accepted, 0 duplicate, 0 errors") {
		t.Fatalf("replay: %d\n%s%s", code, out, errs)
	}
	if n := countEvents(t, elog); n != 2 {
		t.Fatalf("%d events committed, want 2", n)
	}

	code, out, errs = replay(archiveDir)
	wantErr := "shop " + clock.Add(time.Minute).Format(time.RFC3339Nano) + `: no source named "shop" is configured`
	if code != 1 || !strings.Contains(out, "replayed 4 records: 1 accepted, 2 duplicate, 1 errors") || !strings.Contains(errs, wantErr) {
		t.Fatalf("whole archive: %d\n%s%s", code, out, errs)
	}
	if n := countEvents(t, elog); n != 3 {
		t.Fatalf("%d events committed, want 3", n)
	}

	code, out, errs = replay("-source", "peer", "-json", archiveDir)
	var rep ingest.ReplayReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Duplicates != 3 || len(rep.Results) != 3 {
		t.Fatalf("again, as JSON: %d\n%s%s", code, out, errs)
	}

	code, _, errs = replay("-token", "wrong-token-wrong-token-wrong", archiveDir)
	if code != 1 || !strings.Contains(errs, "missing or wrong bearer token") {
		t.Fatalf("wrong token: %d\n%s", code, errs)
	}
	for _, args := range [][]string{{}, {"-from", "yesterday", archiveDir}, {"-from", "2026-11-22", "-to", "2026-11-21", archiveDir}} {
		if code, _, errs := replay(args...); code != 2 {
			t.Errorf("replay %q: exit %d, want 2\n%s", args, code, errs)
		}
	}
	if code, _, errs := replay(filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errs, "missing") {
		t.Errorf("missing archive: exit %d\n%s", code, errs)
	}
}

// The sender splits a slice into requests of at most maxRecords records
// and gathers every result.
func TestReplayBatches(t *testing.T) {
	t.Parallel()
	const token = "replay-test-token-0123456789abcdef"
	srv, elog, requests := replayGateway(t, token)
	c := &adminClient{base: srv.URL, token: token, http: srv.Client()}
	s := &replaySender{c: c, maxRecords: 2}
	at := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	for i := range 5 {
		if err := s.add(t.Context(), signedRecord("peer", fmt.Sprintf("msg_%d", i), at.Add(time.Duration(i)*time.Second), "a@example.com")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 3 || len(s.report.Results) != 5 || s.report.Accepted != 5 || countEvents(t, elog) != 5 {
		t.Fatalf("%d requests, report %+v", requests.Load(), s.report)
	}
}
