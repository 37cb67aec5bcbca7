package archive

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Filter selects records. A zero field selects everything.
type Filter struct {
	// From selects records received at or after it.
	From time.Time
	// To selects records received before it.
	To time.Time
	// Source selects the records of one source block.
	Source string
}

// Match reports whether rec passes the filter.
func (f Filter) Match(rec *Record) bool {
	if f.Source != "" && rec.Source != f.Source {
		return false
	}
	if !f.From.IsZero() && rec.ReceivedAt.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !rec.ReceivedAt.Before(f.To) {
		return false
	}
	return true
}

// fileSlack is how much later than its file's opening, or than the
// opening of the file after it, a record's received_at may be: the ingest
// takes the time before it verifies and commits, and appends after.
// Files that cannot hold a record of the filter's range by this margin are
// not read at all.
const fileSlack = 10 * time.Minute

// ErrLineTooLong is wrapped by Read's error for a line over MaxLineBytes.
var ErrLineTooLong = errors.New("archive line too long")

// Read calls fn for each record in files or directories (archives, oldest
// first) that matches f; a truncated final gzip member (crash) ends that
// file without error after the last whole record.
//
// A directory is read as the archive files in it (*.jsonl.gz and *.jsonl,
// in name order, which for the Writer's files is time order); files are
// read in the order given. A file is gzip-compressed (a .gz name or the
// gzip magic number) or plain JSON lines.
// Blank lines are skipped; a line that is not a record, or longer than
// MaxLineBytes, is an error naming the file and line. fn's error stops
// the reading and is returned as is.
func Read(paths []string, f Filter, fn func(*Record) error) error {
	return read(paths, f, fn, MaxLineBytes)
}

func read(paths []string, f Filter, fn func(*Record) error, maxLine int) error {
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("reading the webhook archive: %w", err)
		}
		files := []string{p}
		if info.IsDir() {
			if files, err = dirFiles(p, f); err != nil {
				return fmt.Errorf("reading the webhook archive %s: %w", p, err)
			}
		}
		for _, file := range files {
			if err := readFile(file, f, fn, maxLine); err != nil {
				return err
			}
		}
	}
	return nil
}

// dirFiles lists the archive files of dir in name order, leaving out the
// Writer's files that cannot hold records of f's time range.
func dirFiles(dir string, f Filter) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".jsonl.gz") || strings.HasSuffix(n, ".jsonl")) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var files []string
	for i, n := range names {
		if opened, ok := parseName(n); ok {
			if !f.To.IsZero() && opened.After(f.To.Add(fileSlack)) {
				continue
			}
			if !f.From.IsZero() && i+1 < len(names) {
				if next, ok := parseName(names[i+1]); ok && next.Add(fileSlack).Before(f.From) {
					continue
				}
			}
		}
		files = append(files, filepath.Join(dir, n))
	}
	return files, nil
}

func readFile(path string, f Filter, fn func(*Record) error, maxLine int) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading the webhook archive: %w", err)
	}
	defer fh.Close()
	br := bufio.NewReaderSize(fh, 64<<10)
	var r io.Reader = br
	compressed := false
	// A .gz name is enough: a file cut within its first bytes has no
	// whole magic number.
	if magic, _ := br.Peek(2); strings.HasSuffix(path, ".gz") || (len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		zr, err := gzip.NewReader(br)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil // empty, or cut off within the gzip header: no whole record
		}
		if err != nil {
			return fmt.Errorf("reading the webhook archive %s: %w", path, err)
		}
		defer zr.Close()
		r, compressed = zr, true
	}
	lines := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := readLine(lines, maxLine)
		switch {
		case errors.Is(err, ErrLineTooLong):
			return fmt.Errorf("reading the webhook archive %s:%d: %w (limit %d bytes)", path, n, err, maxLine)
		case compressed && errors.Is(err, io.ErrUnexpectedEOF):
			// The gzip stream ends without its trailer: the file is being
			// written, or the writer crashed. What is cut off is not a
			// whole record.
			return nil
		case errors.Is(err, io.EOF):
			// The last line has no newline: a whole record only if it
			// decodes, which a plain file written by hand may well do.
			if len(bytes.TrimSpace(line)) == 0 {
				return nil
			}
		case err != nil:
			return fmt.Errorf("reading the webhook archive %s:%d: %w", path, n, err)
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			rec := new(Record)
			if derr := json.Unmarshal(trimmed, rec); derr != nil {
				return fmt.Errorf("reading the webhook archive %s:%d: not an archive record: %w", path, n, derr)
			}
			if f.Match(rec) {
				if ferr := fn(rec); ferr != nil {
					return ferr
				}
			}
		}
		if err != nil { // io.EOF after a last line without newline
			return nil
		}
	}
}

// readLine reads up to and including the next newline, refusing to hold
// more than max bytes. At the end of input it returns what it read with
// the reader's error.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > max {
			return nil, ErrLineTooLong
		}
		line = append(line, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}
