package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// webhookPrefix is the path of the ingest endpoint, before the source.
const webhookPrefix = "/v1/webhooks/"

// maxCaptured bounds how much of a 202 answer InstrumentIngest keeps to
// read "accepted" from. The count comes first in the answer; the rest is
// event ids.
const maxCaptured = 4 << 10

// InstrumentIngest counts the webhook deliveries next answers, by source
// and HTTP status (ingest_requests_total), and the events they committed
// (ingest_events_total). Only POST /v1/webhooks/{source} is counted;
// health checks and every other path pass through untouched. A source
// name for which known returns false is labelled "unknown", so a sender
// cannot create series by inventing names.
//
// The events accepted are what the handler reports with AcceptedEvents
// or, if it does not, the "accepted" count of a 202 JSON answer.
func InstrumentIngest(next http.Handler, known func(source string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := SourceOf(r.URL.Path)
		if !ok || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if !known(name) {
			name = Unknown
		}
		rec := &recorder{ResponseWriter: w}
		rec.captured = rec.buf[:0]
		t := &rec.tally
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), tallyKey{}, t)))
		status := rec.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		ingestRequests.WithLabelValues(name, strconv.Itoa(status)).Inc()
		n := t.events.Load()
		if !t.reported.Load() && status == http.StatusAccepted {
			n = acceptedIn(rec.captured)
		}
		if n > 0 {
			ingestEvents.WithLabelValues(name).Add(float64(n))
		}
	})
}

// AcceptedEvents tells InstrumentIngest that the request of ctx committed
// n new events, for handlers whose answer does not carry the count (a
// vendor-specific reply). It does nothing outside InstrumentIngest.
func AcceptedEvents(ctx context.Context, n int) {
	if t, ok := ctx.Value(tallyKey{}).(*tally); ok {
		t.events.Add(int64(n))
		t.reported.Store(true)
	}
}

type tallyKey struct{}

// tally is what the handler reported about one request.
type tally struct {
	events   atomic.Int64
	reported atomic.Bool
}

// SourceOf returns the source name of a webhook path, /v1/webhooks/{source},
// and whether the path is one. The name is one non-empty path segment.
func SourceOf(path string) (string, bool) {
	name, ok := strings.CutPrefix(path, webhookPrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// recorder keeps the status a handler answers with and the start of a
// 202 answer's body.
type recorder struct {
	http.ResponseWriter
	status   int
	captured []byte
	buf      [128]byte // captured's first storage: the usual answer's count fits
	tally    tally
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.status == http.StatusAccepted && len(r.captured) < maxCaptured {
		r.captured = append(r.captured, b[:min(len(b), maxCaptured-len(r.captured))]...)
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// acceptedIn reads the "accepted" member of a JSON object, which may be
// cut short after it; 0 when there is none.
func acceptedIn(body []byte) int64 {
	// The ingest's own answer starts with the count: read it without a
	// JSON decoder.
	if rest, ok := bytes.CutPrefix(body, []byte(`{"accepted":`)); ok {
		end := bytes.IndexAny(rest, ",}")
		if end > 0 {
			if n, err := strconv.ParseInt(string(rest[:end]), 10, 64); err == nil && n >= 0 {
				return n
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0
		}
		if key == "accepted" {
			var n json.Number
			if err := dec.Decode(&n); err != nil {
				return 0
			}
			v, err := n.Int64()
			if err != nil || v < 0 {
				return 0
			}
			return v
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return 0
		}
	}
	return 0
}
