package ingest_test

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/archive"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/standard"
)

// whSecret is a Standard Webhooks signing secret.
const whSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// standardSource is a "peer" source of the standard kind, whose signed
// timestamps must be within 5 minutes of the receive time.
func standardSource(t testing.TB) ingest.Source {
	t.Helper()
	a, diags := standard.Build(source.Spec{Name: "peer", Kind: "standard", Secrets: []string{whSecret}, Body: hcl.EmptyBody()})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return ingest.Source{Name: "peer", Kind: "standard", Adapter: a, MaxBodyBytes: 1 << 20}
}

// signedDelivery is a Standard Webhooks delivery with id signed at ts.
func signedDelivery(id string, ts time.Time, email string) (http.Header, []byte) {
	body, _ := json.Marshal(map[string]any{
		"type": "order.placed", "timestamp": ts.UTC().Format(time.RFC3339),
		"data": map[string]any{"customer": map[string]any{"email": email}, "value": 19.5},
	})
	return sign(id, ts, body), body
}

// sign returns the headers of a Standard Webhooks delivery of body.
func sign(id string, ts time.Time, body []byte) http.Header {
	key, _ := base64.StdEncoding.DecodeString(whSecret[len("whsec_"):])
	mac := hmac.New(sha256.New, key)
	unix := strconv.FormatInt(ts.Unix(), 10)
	mac.Write([]byte(id + "." + unix + "."))
	mac.Write(body)
	return http.Header{
		"Content-Type":      {"application/json"},
		"Webhook-Id":        {id},
		"Webhook-Timestamp": {unix},
		"Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))},
	}
}

// archiveSink collects what the ingest hands to the archive.
type archiveSink struct {
	mu   sync.Mutex
	recs []*archive.Record
}

func (s *archiveSink) add(r *archive.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
}

func (s *archiveSink) records() []*archive.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs)
}

func postSigned(h http.Handler, header http.Header, body []byte, gz bool) *httptest.ResponseRecorder {
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = b.Bytes()
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/peer?via=test", bytes.NewReader(body))
	req.Host = "hooks.example.com"
	for k, v := range header {
		req.Header[k] = v
	}
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// An accepted delivery is archived once, as the adapter verified it; a
// duplicate, a refused delivery and a failed commit are not.
func TestWithArchive(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	lg := &memLog{seen: map[string]string{}}
	sink := &archiveSink{}
	h := ingest.New([]ingest.Source{standardSource(t)}, lg, hclog.NewNullLogger(),
		ingest.WithClock(func() time.Time { return now }), ingest.WithArchive(sink.add))

	header, body := signedDelivery("msg_1", now.Add(-time.Minute), "jane@example.com")
	if rec := postSigned(h, header, body, true); rec.Code != http.StatusAccepted {
		t.Fatalf("delivery: %d %s", rec.Code, rec.Body)
	}
	if rec := postSigned(h, header, body, false); rec.Code != http.StatusOK {
		t.Fatalf("redelivery: %d %s", rec.Code, rec.Body)
	}
	bad := header.Clone()
	bad.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if rec := postSigned(h, bad, body, false); rec.Code != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d %s", rec.Code, rec.Body)
	}
	if rec := postSigned(h, sign("msg_2", now, []byte(`{"type":`)), []byte(`{"type":`), false); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad payload: %d %s", rec.Code, rec.Body)
	}
	lg.err = errors.New("etcd is down")
	h3, b3 := signedDelivery("msg_3", now, "joe@example.com")
	if rec := postSigned(h, h3, b3, false); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("failed commit: %d %s", rec.Code, rec.Body)
	}

	recs := sink.records()
	if len(recs) != 1 {
		t.Fatalf("%d records archived, want 1 (the first delivery)", len(recs))
	}
	r := recs[0]
	if r.Source != "peer" || !r.ReceivedAt.Equal(now) || r.Method != http.MethodPost || r.URL != "/v1/webhooks/peer?via=test" ||
		r.Host != "hooks.example.com" || r.TLS || !bytes.Equal(r.Body, body) || r.Header.Get("Webhook-Id") != "msg_1" ||
		r.Header.Get("Content-Encoding") != "" {
		t.Fatalf("archived record: %+v", r)
	}

	// The archived record decodes to the very events the webhook committed.
	req, err := r.Request()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ingest.Decode(standardSource(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Events) != 1 || len(lg.events) != 1 {
		t.Fatalf("decoded %d events, committed %d", len(d.Events), len(lg.events))
	}
	got, want := d.Events[0], lg.events[0]
	if got.ID != want.ID || got.Type != want.Type || got.DeliveryID != want.DeliveryID || !got.ReceivedAt.Equal(want.ReceivedAt) ||
		got.Source != "peer" || got.SourceKind != "standard" || got.Customer.Email != "jane@example.com" {
		t.Fatalf("Decode gave %+v, the webhook committed %+v", got, want)
	}
}

// Decode refuses what the webhook refuses, with errors the webhook maps
// to the same answers.
func TestDecode(t *testing.T) {
	t.Parallel()
	src := standardSource(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	request := func(h http.Header, body []byte, at time.Time) *source.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/webhooks/peer", nil)
		return &source.Request{Method: r.Method, URL: r.URL, Host: r.Host, Header: h, Body: body, Now: at}
	}
	h, b := signedDelivery("msg_1", now, "jane@example.com")
	if _, err := ingest.Decode(src, request(h, b, now.Add(time.Hour))); !errors.Is(err, source.ErrBadSignature) {
		t.Fatalf("an hour after the signed time: %v", err)
	}
	d, err := ingest.Decode(src, request(h, b, now.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if ev := d.Events[0]; ev.ID != ingest.EventID("peer", "msg_1", now) || !ev.ReceivedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("stamped event: %+v", ev)
	}
	reserved, _ := json.Marshal(map[string]any{"type": "timer.fired", "timestamp": now.Format(time.RFC3339),
		"data": map[string]any{"customer": map[string]any{"email": "jane@example.com"}}})
	h = sign("msg_2", now, reserved)
	if _, err := ingest.Decode(src, request(h, reserved, now)); !errors.Is(err, ingest.ErrReservedType) {
		t.Fatalf("reserved type: %v", err)
	}
	// The webhook answers that with 400 reserved_type.
	hd := ingest.New([]ingest.Source{src}, &memLog{seen: map[string]string{}}, hclog.NewNullLogger(),
		ingest.WithClock(func() time.Time { return now }))
	if rec := postSigned(hd, h, reserved, false); rec.Code != http.StatusBadRequest || !bytes.Contains(rec.Body.Bytes(), []byte(`"reserved_type"`)) {
		t.Fatalf("reserved type over HTTP: %d %s", rec.Code, rec.Body)
	}
}
