package archive

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// BenchmarkAppend is the cost the archive adds to each accepted webhook:
// encode, compress and flush a record with a 2 KiB JSON body.
//
//	go test -run XXX -bench Append ./gateway/internal/archive/
func BenchmarkAppend(b *testing.B) {
	w, err := Open(Options{Dir: filepath.Join(b.TempDir(), "archive")}, hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	r := rec("shop", t0, `{"id":"evt_1","type":"checkout.updated","items":[`+strings.Repeat(`{"sku":"SKU-123","price":25.0,"quantity":2},`, 45)+`{}]}`)
	b.SetBytes(int64(len(r.Body)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Append(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
