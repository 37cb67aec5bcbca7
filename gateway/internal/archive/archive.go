// Package archive keeps every accepted raw webhook (headers and body, as
// the source adapter saw them) in a rotating, gzip-compressed archive on
// disk, and reads slices of it back for `triggergate replay` and
// `triggergate simulate`.
//
// The archive is unbounded history, which is why it lives on disk and not
// in etcd. Each file is one gzip stream of JSON lines, one Record per line,
// named by the time it was opened (webhooks-20261122T101500.123Z.jsonl.gz)
// so that names sort in time order. Every Append flushes the gzip stream,
// so a crash of the process loses at most the record being written; the
// reader takes such a cut-off file, and the still-open current file, up to
// its last whole record.
package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// Defaults for Options.
const (
	// DefaultMaxFileBytes is the compressed size at which a file is closed
	// and the next one started.
	DefaultMaxFileBytes = 64 << 20
	// DefaultMaxFiles is how many files are kept (a week of hourly files).
	DefaultMaxFiles = 168
	// MaxFileAge is how long a file takes records before the next one is
	// started, so that a slice of time maps to few files.
	MaxFileAge = time.Hour
	// MaxLineBytes bounds one record's JSON line, for writer and reader
	// alike: a record whose line is longer is refused when written and an
	// error when read, never an unbounded allocation.
	MaxLineBytes = 64 << 20
)

// File names: prefix, the opening time in UTC with milliseconds, suffix.
const (
	filePrefix = "webhooks-"
	fileSuffix = ".jsonl.gz"
	fileTime   = "20060102T150405.000Z"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("archive is closed")

// Record is one accepted webhook delivery as received.
type Record struct {
	// Source is the name of the source block the delivery was posted to.
	Source string `json:"source"`
	// ReceivedAt is when the gateway received it; a replay verifies signed
	// timestamps against it, not against the time of the replay.
	ReceivedAt time.Time `json:"received_at"`
	// Method is the HTTP method, normally POST.
	Method string `json:"method"`
	// URL is the request URI: path and query.
	URL string `json:"url"`
	// Host is the Host header, for vendors that sign the URL.
	Host string `json:"host,omitempty"`
	// TLS reports whether the request reached the gateway over TLS.
	TLS bool `json:"tls,omitempty"`
	// Header holds the request headers as received, except the
	// Content-Encoding and Content-Length of the body as sent: Body is
	// already decompressed.
	Header http.Header `json:"header"`
	// Body is the body exactly as the adapter verified it (decompressed);
	// base64 in JSON.
	Body []byte `json:"body"`
}

// Request returns the record as the source adapters take it, with Now =
// ReceivedAt (so signed timestamps check against the time it was
// received).
func (r *Record) Request() (*source.Request, error) {
	u, err := url.ParseRequestURI(r.URL)
	if err != nil {
		return nil, fmt.Errorf("record of %s: url %q: %w", r.ReceivedAt.UTC().Format(time.RFC3339Nano), truncate(r.URL, 64), err)
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	return &source.Request{
		Method: method, URL: u, Host: r.Host, TLS: r.TLS, Header: h, Body: r.Body, Now: r.ReceivedAt.UTC(),
	}, nil
}

// Options configures a Writer.
type Options struct {
	// Dir is the archive's directory, created 0700 if missing.
	Dir string
	// MaxFileBytes is the compressed size at which the next file is
	// started (DefaultMaxFileBytes when zero).
	MaxFileBytes int64
	// MaxFiles is how many files are kept, the current one included; the
	// oldest go first (DefaultMaxFiles when zero).
	MaxFiles int
	// MaxAge deletes files whose last record is older than this (0 keeps
	// them, up to MaxFiles).
	MaxAge time.Duration
	// Now is the clock for file names, rotation and age (time.Now when
	// nil).
	Now func() time.Time
}

// Writer appends records to the archive. It is safe for concurrent use.
type Writer struct {
	opts   Options
	logger hclog.Logger

	mu       sync.Mutex
	cur      *file // nil until the first Append after an open or a rotation
	lastName time.Time
	closed   bool
}

// Open prepares the archive in opts.Dir, pruning what the limits no
// longer allow. The first file is created by the first Append: a gateway
// that archives nothing leaves no empty files.
func Open(opts Options, logger hclog.Logger) (*Writer, error) {
	if opts.Dir == "" {
		return nil, errors.New("opening the webhook archive: no directory given")
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the webhook archive directory: %w", err)
	}
	w := &Writer{opts: opts, logger: logger}
	w.prune()
	return w, nil
}

// Append writes rec as one line and flushes it to the file, starting the
// next file first when the current one is full or an hour old.
func (w *Writer) Append(rec *Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the archive record: %w", err)
	}
	if len(line)+1 > MaxLineBytes {
		return fmt.Errorf("archive record of source %q is %d bytes encoded (limit %d)", rec.Source, len(line)+1, MaxLineBytes)
	}
	line = append(line, '\n')

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	now := w.opts.Now()
	if w.cur != nil && (w.cur.size() >= w.opts.MaxFileBytes || now.Sub(w.cur.opened) >= MaxFileAge) {
		if err := w.cur.close(); err != nil {
			w.logger.Warn("closing a webhook archive file", "file", w.cur.path, "error", err)
		}
		w.cur = nil
	}
	if w.cur == nil {
		f, err := w.create(now)
		if err != nil {
			return err
		}
		w.cur = f
		w.prune()
	}
	if err := w.cur.write(line); err != nil {
		// The gzip stream is in an unknown state: the next Append starts a
		// new file rather than write after a partial record.
		if cerr := w.cur.close(); cerr != nil {
			w.logger.Warn("closing a webhook archive file after a failed write", "file", w.cur.path, "error", cerr)
		}
		w.cur = nil
		return fmt.Errorf("writing to the webhook archive: %w", err)
	}
	return nil
}

// Dir is the archive's directory.
func (w *Writer) Dir() string { return w.opts.Dir }

// Sink appends rec and logs a failure instead of returning it, for
// callers (the ingest) that must not fail because the archive did.
func (w *Writer) Sink(rec *Record) {
	if err := w.Append(rec); err != nil {
		w.logger.Error("archiving a webhook failed", "source", rec.Source, "error", err)
	}
}

// Close ends the current file's gzip stream and closes it.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.cur == nil {
		return nil
	}
	err := w.cur.close()
	w.cur = nil
	if err != nil {
		return fmt.Errorf("closing the webhook archive: %w", err)
	}
	return nil
}

// create opens a new file named after now, or just after the last name
// taken, so that names stay unique and in order.
func (w *Writer) create(now time.Time) (*file, error) {
	at := now.UTC().Truncate(time.Millisecond)
	if !at.After(w.lastName) {
		at = w.lastName.Add(time.Millisecond)
	}
	for range 1000 {
		path := filepath.Join(w.opts.Dir, fileName(at))
		f, err := createFile(path, now)
		if errors.Is(err, os.ErrExist) {
			at = at.Add(time.Millisecond)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating a webhook archive file: %w", err)
		}
		w.lastName = at
		return f, nil
	}
	return nil, fmt.Errorf("creating a webhook archive file in %s: every name near %s is taken", w.opts.Dir, at.Format(fileTime))
}

// prune deletes the oldest files beyond MaxFiles and those whose last
// record is older than MaxAge. A file's last record is no later than the
// opening of the file after it, which is what its age is measured by; the
// newest file is never pruned.
func (w *Writer) prune() {
	names, err := archiveFiles(w.opts.Dir)
	if err != nil {
		w.logger.Warn("listing the webhook archive to prune it", "error", err)
		return
	}
	now := w.opts.Now()
	for i, n := range names {
		if i == len(names)-1 {
			break
		}
		drop := len(names)-i > w.opts.MaxFiles
		if !drop && w.opts.MaxAge > 0 {
			if next, ok := parseName(names[i+1]); ok && now.Sub(next) > w.opts.MaxAge {
				drop = true
			}
		}
		if !drop {
			continue
		}
		if err := os.Remove(filepath.Join(w.opts.Dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.logger.Warn("pruning the webhook archive", "file", n, "error", err)
		}
	}
}

// archiveFiles returns the names of the archive files in dir, oldest
// first.
func archiveFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if _, ok := parseName(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func fileName(t time.Time) string {
	return filePrefix + t.UTC().Format(fileTime) + fileSuffix
}

// parseName returns the opening time of an archive file name.
func parseName(name string) (time.Time, bool) {
	ts, ok := strings.CutPrefix(name, filePrefix)
	if !ok {
		return time.Time{}, false
	}
	ts, ok = strings.CutSuffix(ts, fileSuffix)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(fileTime, ts)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
