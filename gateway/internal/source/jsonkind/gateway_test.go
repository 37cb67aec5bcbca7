package jsonkind_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/jsonkind"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// TestThroughTheGateway posts through the real ingest handler into the
// real event log: accepted once, a retry is a duplicate, a tampered body is
// refused, and exactly one event is committed.
func TestThroughTheGateway(t *testing.T) {
	t.Parallel()
	g := sourcetest.NewGateway(t, `
source "app" {
  kind   = "json"
  secret = "s3cret"
}`, jsonkind.Build)
	body := []byte(`{"id":"evt-1","type":"order.placed","customer":{"email":"Jane@Example.com"},"properties":{"value":12.5}}`)
	header := func(b []byte) http.Header {
		return http.Header{
			"Content-Type":    {"application/json"},
			"X-Signature-256": {"sha256=" + hex.EncodeToString(source.HMAC(sha256.New, []byte("s3cret"), b))},
		}
	}
	if r := g.Post(t, "", header(body), body); r.Status != http.StatusAccepted {
		t.Fatalf("first POST: %d %s", r.Status, r.Body)
	}
	if r := g.Post(t, "", header(body), body); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"duplicate":true`) {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	tampered := []byte(strings.Replace(string(body), "12.5", "99.5", 1))
	if r := g.Post(t, "", header(body), tampered); r.Status != http.StatusUnauthorized {
		t.Fatalf("tampered body: %d %s", r.Status, r.Body)
	}
	evs := g.Events(t)
	if len(evs) != 1 || evs[0].Type != "order.placed" || evs[0].Customer.Email != "jane@example.com" ||
		evs[0].DeliveryID != "evt-1" || evs[0].Source != "app" || evs[0].SourceKind != "json" {
		t.Fatalf("committed events = %+v", evs)
	}
}
