package mailgun_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/mailgun"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func request(t testing.TB, token, eventData string) *source.Request {
	body := resign(t, []byte(`{"event-data":`+eventData+`}`), signature(testKey, token, now))
	return &source.Request{Method: http.MethodPost, Header: jsonHeader, Body: body, Now: now}
}

func TestParseMapping(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, config, mailgun.Build)
	tests := []struct {
		name string
		data string
		want want
	}{
		{"suppressed permanent failure", `{"id":"1","event":"failed","severity":"permanent","reason":"suppress-bounce","recipient":"a@b.c"}`,
			want{id: "1", typ: "mailgun.failed.suppressed", email: "a@b.c", props: map[string]any{"mailgun_reason": "suppress-bounce"}}},
		{"clicked url", `{"id":"2","event":"clicked","url":"https://x.test/?a=1","recipient":"A@B.C","campaigns":[{"id":"c1","name":"Spring"}]}`,
			want{id: "2", typ: "email.clicked", email: "a@b.c", props: map[string]any{"url": "https://x.test/?a=1",
				"campaigns": []any{map[string]any{"id": "c1", "name": "Spring"}}}}},
		{"no event id: the token dedupes", `{"event":"delivered","recipient":"a@b.c","timestamp":1.5}`,
			want{id: "tok-3", typ: "email.delivered", email: "a@b.c", occurred: time.Unix(1, 500000000)}},
		{"unknown event", `{"id":"4","event":"accepted","recipient":"a@b.c"}`, want{id: "4", typ: "mailgun.accepted", email: "a@b.c"}},
		{"failed without severity", `{"id":"5","event":"failed","recipient":"a@b.c"}`, want{id: "5", typ: "mailgun.failed", email: "a@b.c"}},
	}
	for i, tt := range tests {
		d, err := a.Parse(request(t, "tok-"+string(rune('1'+i)), tt.data))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Run(tt.name, func(t *testing.T) { checkEvents(t, d.Events, []want{tt.want}) })
	}

	bad := []struct{ name, data, substr string }{
		{"timestamp not a number", `{"event":"opened","recipient":"a@b.c","timestamp":"x"}`, "timestamp"},
		{"timestamp beyond 9999", `{"event":"opened","recipient":"a@b.c","timestamp":1e300}`, "timestamp"},
		{"no event", `{"recipient":"a@b.c"}`, "event"},
		{"recipient not an email", `{"event":"opened","recipient":"alice"}`, "recipient"},
	}
	for i, tt := range bad {
		_, err := a.Parse(request(t, "bad-"+string(rune('a'+i)), tt.data))
		if !errors.Is(err, source.ErrBadPayload) || !strings.Contains(err.Error(), tt.substr) {
			t.Errorf("%s: err = %v, want bad payload about %s", tt.name, err, tt.substr)
		}
	}
}

// TestTokenMemoryForgets checks that a token is remembered only for the
// replay window: past it the signed timestamp is stale anyway.
func TestTokenMemoryForgets(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, config, mailgun.Build)
	body := func(email string, at time.Time) []byte {
		return resign(t, []byte(`{"event-data":{"event":"opened","recipient":"`+email+`"}}`), signature(testKey, "tok", at))
	}
	req := func(b []byte, at time.Time) *source.Request {
		return &source.Request{Method: http.MethodPost, Header: jsonHeader, Body: b, Now: at}
	}
	if _, err := a.Parse(req(body("a@b.c", now), now)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Parse(req(body("x@b.c", now), now.Add(time.Minute))); !errors.Is(err, source.ErrBadSignature) {
		t.Fatalf("reused token within the window: %v", err)
	}
	later := now.Add(20 * time.Minute)
	if _, err := a.Parse(req(body("x@b.c", later), later)); err != nil {
		t.Fatalf("token reused (with a fresh signature) after the window: %v", err)
	}
}

func TestBuildDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, summary string
		line               int
	}{
		{"no secret", "source \"mg\" {\n  kind = \"mailgun\"\n}\n", "Missing secret", 1},
		{"unknown attribute", "source \"mg\" {\n  kind = \"mailgun\"\n  secret = \"k\"\n  signing_key = \"k\"\n}\n", "Unsupported argument", 4},
	}
	for _, tt := range tests {
		spec, _ := sourcetest.Spec(t, tt.src)
		a, diags := mailgun.Build(spec)
		if !diags.HasErrors() || a != nil {
			t.Fatalf("%s: want an error, got %v", tt.name, diags)
		}
		d := diags.Errs()[0].(*hcl.Diagnostic)
		if d.Summary != tt.summary || d.Subject == nil || d.Subject.Start.Line != tt.line || !strings.HasSuffix(d.Subject.Filename, "source.hcl") {
			t.Errorf("%s: diagnostic %q at %v; want %q at line %d", tt.name, d.Summary, d.Subject, tt.summary, tt.line)
		}
	}
}
