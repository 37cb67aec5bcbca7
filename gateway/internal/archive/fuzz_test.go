package archive

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary file contents to the reader, as they are and
// gzip-compressed: it may return an error, never panic or hang.
func FuzzRead(f *testing.F) {
	good := `{"source":"shop","received_at":"2026-11-22T10:00:00Z","method":"POST","url":"/v1/webhooks/shop","header":{"X-A":["1"]},"body":"e30="}`
	f.Add([]byte(good + "\n" + good + "\n"))
	f.Add([]byte(good))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"source":1}` + "\n"))
	f.Add([]byte(`{"received_at":"yesterday"}`))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(good + "\n"))
	_ = zw.Flush()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(data)
		_ = zw.Close()
		for name, content := range map[string][]byte{"raw.jsonl": data, "z.jsonl.gz": z.Bytes()} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_ = read([]string{p}, Filter{Source: "shop"}, func(r *Record) error {
				_, _ = r.Request()
				return nil
			}, 1<<16)
		}
	})
}
