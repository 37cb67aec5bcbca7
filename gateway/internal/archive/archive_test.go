package archive

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

var t0 = time.Date(2026, 11, 22, 10, 15, 0, 123_000_000, time.UTC)

// clock is a settable clock for rotation and pruning.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func open(t *testing.T, opts Options) (*Writer, *clock) {
	t.Helper()
	c := &clock{t: t0}
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "archive")
	}
	opts.Now = c.Now
	w, err := Open(opts, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, c
}

func rec(source string, at time.Time, body string) *Record {
	return &Record{
		Source: source, ReceivedAt: at, Method: http.MethodPost, URL: "/v1/webhooks/" + source + "?x=1",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body),
	}
}

func readAll(t *testing.T, f Filter, paths ...string) []*Record {
	t.Helper()
	var out []*Record
	if err := Read(paths, f, func(r *Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func bodies(recs []*Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Body)
	}
	return out
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	names, err := archiveFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	w, _ := open(t, Options{})
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	in := &Record{
		Source: "shop", ReceivedAt: t0, Method: http.MethodPost, URL: "/v1/webhooks/shop?topic=orders%2Fcreate&a=b",
		Host: "hooks.example.com", TLS: true,
		Header: http.Header{
			"X-Shopify-Hmac-Sha256": {"c2lnbmF0dXJl"},
			"X-Multi":               {"one", "two"},
			"Content-Type":          {"application/octet-stream"},
		},
		Body: binary,
	}
	if err := w.Append(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(rec("shop", t0.Add(time.Second), "second")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(in); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}

	got := readAll(t, Filter{}, w.opts.Dir)
	if len(got) != 2 {
		t.Fatalf("read %d records, want 2", len(got))
	}
	r := got[0]
	if r.Source != "shop" || !r.ReceivedAt.Equal(t0) || r.Method != "POST" || r.URL != in.URL ||
		r.Host != "hooks.example.com" || !r.TLS || !bytes.Equal(r.Body, binary) ||
		!slices.Equal(r.Header["X-Multi"], []string{"one", "two"}) || r.Header.Get("X-Shopify-Hmac-Sha256") != "c2lnbmF0dXJl" {
		t.Fatalf("record changed on the way: %+v", r)
	}
	req, err := r.Request()
	if err != nil {
		t.Fatal(err)
	}
	if !req.Now.Equal(t0) || req.URL.Path != "/v1/webhooks/shop" || req.URL.Query().Get("topic") != "orders/create" ||
		req.ExternalURL() != "https://hooks.example.com/v1/webhooks/shop?topic=orders%2Fcreate&a=b" || !bytes.Equal(req.Body, binary) {
		t.Fatalf("request: %+v (external %s)", req, req.ExternalURL())
	}
	if string(got[1].Body) != "second" {
		t.Fatalf("second record: %q", got[1].Body)
	}

	// The files are private to the gateway's user.
	names := files(t, w.opts.Dir)
	if len(names) != 1 || names[0] != "webhooks-20261122T101500.123Z.jsonl.gz" {
		t.Fatalf("files: %v", names)
	}
	fi, err := os.Stat(filepath.Join(w.opts.Dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(w.opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes: file %v, dir %v", fi.Mode(), di.Mode())
	}
}

func TestRequestBadURL(t *testing.T) {
	t.Parallel()
	r := rec("shop", t0, "{}")
	r.URL = "not a request uri"
	if _, err := r.Request(); err == nil {
		t.Fatal("a record with a bad url made a request")
	}
}

// The file being written (no gzip trailer yet) reads up to its last
// record, as replay must while the gateway runs.
func TestReadOpenFile(t *testing.T) {
	t.Parallel()
	w, _ := open(t, Options{})
	for i := range 5 {
		if err := w.Append(rec("shop", t0.Add(time.Duration(i)*time.Second), fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := bodies(readAll(t, Filter{}, w.opts.Dir)); !slices.Equal(got, []string{"0", "1", "2", "3", "4"}) {
		t.Fatalf("read %v from the open file", got)
	}
}

func TestRotateBySize(t *testing.T) {
	t.Parallel()
	w, _ := open(t, Options{MaxFileBytes: 1})
	for i := range 4 {
		if err := w.Append(rec("shop", t0, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// The clock stood still: names still differ, and sort in order.
	names := files(t, w.opts.Dir)
	want := []string{
		"webhooks-20261122T101500.123Z.jsonl.gz", "webhooks-20261122T101500.124Z.jsonl.gz",
		"webhooks-20261122T101500.125Z.jsonl.gz", "webhooks-20261122T101500.126Z.jsonl.gz",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	for i, n := range names {
		if got := bodies(readAll(t, Filter{}, filepath.Join(w.opts.Dir, n))); !slices.Equal(got, []string{fmt.Sprint(i)}) {
			t.Fatalf("%s holds %v", n, got)
		}
	}
	if got := bodies(readAll(t, Filter{}, w.opts.Dir)); !slices.Equal(got, []string{"0", "1", "2", "3"}) {
		t.Fatalf("directory reads %v", got)
	}

	// Under the limit, records share a file.
	w2, _ := open(t, Options{MaxFileBytes: 1 << 20})
	for i := range 4 {
		if err := w2.Append(rec("shop", t0, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(files(t, w2.opts.Dir)); n != 1 {
		t.Fatalf("%d files under the size limit", n)
	}
}

func TestRotateByAge(t *testing.T) {
	t.Parallel()
	w, c := open(t, Options{})
	_ = w.Append(rec("shop", c.Now(), "a"))
	c.Add(59 * time.Minute)
	_ = w.Append(rec("shop", c.Now(), "b"))
	c.Add(time.Minute)
	_ = w.Append(rec("shop", c.Now(), "c"))
	names := files(t, w.opts.Dir)
	if !slices.Equal(names, []string{"webhooks-20261122T101500.123Z.jsonl.gz", "webhooks-20261122T111500.123Z.jsonl.gz"}) {
		t.Fatalf("files: %v", names)
	}
	if got := bodies(readAll(t, Filter{}, filepath.Join(w.opts.Dir, names[0]))); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("first file: %v", got)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	t.Run("count", func(t *testing.T) {
		t.Parallel()
		w, _ := open(t, Options{MaxFileBytes: 1, MaxFiles: 3})
		for i := range 10 {
			if err := w.Append(rec("shop", t0, fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(files(t, w.opts.Dir)); n != 3 {
			t.Fatalf("%d files kept, want 3", n)
		}
		if got := bodies(readAll(t, Filter{}, w.opts.Dir)); !slices.Equal(got, []string{"7", "8", "9"}) {
			t.Fatalf("kept %v, want the newest", got)
		}
	})
	t.Run("age", func(t *testing.T) {
		t.Parallel()
		w, c := open(t, Options{MaxAge: 90 * time.Minute})
		for _, b := range []string{"a", "b", "c", "d"} {
			if err := w.Append(rec("shop", c.Now(), b)); err != nil {
				t.Fatal(err)
			}
			c.Add(time.Hour) // each append after this one starts a file
		}
		// Files opened at +0h, +1h, +2h, +3h (current). The first ended at
		// +1h, 3h before the last prune: gone; the second ended at +2h,
		// 1h before: kept.
		if got := bodies(readAll(t, Filter{}, w.opts.Dir)); !slices.Equal(got, []string{"b", "c", "d"}) {
			t.Fatalf("kept %v", got)
		}
	})
	t.Run("at open", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "archive")
		w, _ := open(t, Options{Dir: dir, MaxFileBytes: 1})
		for i := range 5 {
			_ = w.Append(rec("shop", t0, fmt.Sprint(i)))
		}
		_ = w.Close()
		if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
		w2, _ := open(t, Options{Dir: dir, MaxFiles: 2})
		_ = w2.Close()
		if got := bodies(readAll(t, Filter{}, dir)); !slices.Equal(got, []string{"3", "4"}) {
			t.Fatalf("kept %v", got)
		}
		if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
			t.Fatal("pruning removed a file that is not the archive's:", err)
		}
	})
}

func TestFilter(t *testing.T) {
	t.Parallel()
	w, c := open(t, Options{})
	var all []*Record
	// Five hours of records, two sources, a file per hour.
	for i := range 20 {
		src := "shop"
		if i%2 == 1 {
			src = "stripe"
		}
		r := rec(src, c.Now(), fmt.Sprint(i))
		all = append(all, r)
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
		c.Add(15 * time.Minute)
	}
	if n := len(files(t, w.opts.Dir)); n != 5 {
		t.Fatalf("%d files, want 5", n)
	}
	for _, f := range []Filter{
		{},
		{Source: "stripe"},
		{From: t0.Add(75 * time.Minute)},
		{To: t0.Add(2 * time.Hour)},
		{From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour), Source: "shop"},
		{From: t0.Add(10 * time.Hour)},
		{Source: "nope"},
	} {
		var want []string
		for _, r := range all {
			if f.Match(r) {
				want = append(want, string(r.Body))
			}
		}
		if got := bodies(readAll(t, f, w.opts.Dir)); !slices.Equal(got, want) {
			t.Errorf("filter %+v: got %v, want %v", f, got, want)
		}
	}
	if !(Filter{From: t0, To: t0.Add(time.Minute)}).Match(rec("x", t0, "")) ||
		(Filter{From: t0, To: t0.Add(time.Minute)}).Match(rec("x", t0.Add(time.Minute), "")) {
		t.Fatal("From is inclusive, To exclusive")
	}
}

// A file cut at any byte (a crash, a disk full) reads every record whose
// flush reached the file before the cut, and nothing that did not.
func TestTruncated(t *testing.T) {
	t.Parallel()
	w, _ := open(t, Options{})
	var ends []int64 // file size after each record's flush
	var want []string
	for i := range 6 {
		body := strings.Repeat(fmt.Sprint(i), 50+i*40)
		want = append(want, body)
		if err := w.Append(rec("shop", t0, body)); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, w.cur.size())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(filepath.Join(w.opts.Dir, files(t, w.opts.Dir)[0]))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	for n := 0; n <= len(full); n++ {
		if err := os.WriteFile(cut, full[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := Read([]string{cut}, Filter{}, func(r *Record) error { got = append(got, string(r.Body)); return nil }); err != nil {
			t.Fatalf("cut at %d of %d: %v", n, len(full), err)
		}
		whole := 0
		for _, e := range ends {
			if e <= int64(n) {
				whole++
			}
		}
		if len(got) < whole || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("cut at %d of %d: read %d records, want the first %d at least", n, len(full), len(got), whole)
		}
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return b.Bytes()
	}
	good := `{"source":"shop","received_at":"2026-11-22T10:00:00Z","method":"POST","url":"/","header":{},"body":"e30="}`
	long := `{"source":"shop","received_at":"2026-11-22T10:00:00Z","body":"` + strings.Repeat("A", 400) + `"}`
	corrupt := gz(good + "\n" + good + "\n")
	corrupt[len(corrupt)-6] ^= 0xff // the CRC no longer matches
	for _, tc := range []struct {
		name, file string
		want       string
	}{
		{"not json", write("bad.jsonl", []byte(good+"\n\nnot json\n")), "bad.jsonl:3: not an archive record"},
		{"gzip not json", write("bad.jsonl.gz", gz(good+"\n[1,2]\n")), "bad.jsonl.gz:2: not an archive record"},
		{"too long", write("long.jsonl.gz", gz(good+"\n"+long+"\n")), "long.jsonl.gz:2: archive line too long"},
		{"corrupt", write("corrupt.jsonl.gz", corrupt), "corrupt.jsonl.gz"},
		{"missing", filepath.Join(dir, "missing.jsonl.gz"), "missing.jsonl.gz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := read([]string{tc.file}, Filter{}, func(*Record) error { return nil }, 300)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	// A plain file's last line may lack its newline.
	p := write("plain.jsonl", []byte("\n"+good+"\n\n"+good))
	var n int
	if err := Read([]string{p}, Filter{}, func(*Record) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("plain file: %d records, %v", n, err)
	}
	// fn's error stops the reading and comes back as it is.
	stop := errors.New("stop")
	n = 0
	if err := Read([]string{p}, Filter{}, func(*Record) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("fn's error: %v after %d records", err, n)
	}
}

// Appends from many goroutines, rotating as they go, lose and mix
// nothing.
func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	w, _ := open(t, Options{MaxFileBytes: 2 << 10})
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				if err := w.Append(rec("shop", t0, fmt.Sprintf("%d-%d-%s", g, i, strings.Repeat("x", 100)))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := readAll(t, Filter{}, w.opts.Dir)
	seen := map[string]bool{}
	for _, r := range got {
		seen[string(r.Body)] = true
	}
	if len(got) != writers*each || len(seen) != writers*each {
		t.Fatalf("read %d records (%d distinct), want %d", len(got), len(seen), writers*each)
	}
	if n := len(files(t, w.opts.Dir)); n < 2 {
		t.Fatalf("%d files: the test meant to rotate while appending", n)
	}
}
