package archive

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"time"
)

// file is the archive file being written: a gzip stream over a counter of
// the compressed bytes that reached the file.
type file struct {
	path   string
	opened time.Time
	f      *os.File
	count  *countingWriter
	zw     *gzip.Writer
}

func createFile(path string, now time.Time) (*file, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	cw := &countingWriter{w: f}
	return &file{path: path, opened: now, f: f, count: cw, zw: gzip.NewWriter(cw)}, nil
}

// write writes one line and flushes it through gzip to the file, so that a
// reader (or a crash) sees every whole record written so far.
func (f *file) write(line []byte) error {
	if _, err := f.zw.Write(line); err != nil {
		return err
	}
	return f.zw.Flush()
}

func (f *file) size() int64 { return f.count.n }

func (f *file) close() error {
	return errors.Join(f.zw.Close(), f.f.Close())
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
