package postmark_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/postmark"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

func request(body string) *source.Request {
	return &source.Request{Method: http.MethodPost, Header: basic("postmark", "s3cret"), Body: []byte(body), Now: time.Now()}
}

func TestParseBounceTypes(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, basicConfig, postmark.Build)
	tests := []struct {
		bounceType, typ, bounce string
	}{
		{"HardBounce", "email.bounced", "hard"},
		{"BadEmailAddress", "email.bounced", "hard"},
		{"ManuallyDeactivated", "email.bounced", "hard"},
		{"SoftBounce", "email.bounced", "soft"},
		{"Transient", "email.bounced", "soft"},
		{"DnsError", "email.bounced", "soft"},
		{"InboxFull", "email.bounced", "soft"},
		{"Blocked", "email.bounced", "soft"},
		{"SpamComplaint", "email.complained", ""},
		{"Unsubscribe", "email.unsubscribed", ""},
		{"AutoResponder", "postmark.bounce.autoresponder", ""},
		{"ChallengeVerification", "postmark.bounce.challengeverification", ""},
	}
	for _, tt := range tests {
		body := `{"RecordType":"Bounce","Type":"` + tt.bounceType + `","ID":7,"MessageID":"m","Email":"a@b.c","BouncedAt":"2026-11-22T10:00:00-05:00"}`
		d, err := a.Parse(request(body))
		if err != nil {
			t.Fatalf("%s: %v", tt.bounceType, err)
		}
		ev := d.Events[0]
		if got, _ := ev.Properties["bounce_type"].(string); ev.Type != tt.typ || got != tt.bounce {
			t.Errorf("%s: %s bounce_type %q; want %s %q", tt.bounceType, ev.Type, got, tt.typ, tt.bounce)
		}
		if !ev.OccurredAt.Equal(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)) || ev.DeliveryID != "Bounce:m:2026-11-22T10:00:00-05:00" {
			t.Errorf("%s: occurred %s, id %q", tt.bounceType, ev.OccurredAt, ev.DeliveryID)
		}
	}
}

func TestParseRecords(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, basicConfig, postmark.Build)
	good := []struct {
		name, body string
		want       want
	}{
		{"resubscribe", `{"RecordType":"SubscriptionChange","MessageID":"m","Recipient":"a@b.c","ChangedAt":"2026-11-22T10:00:00Z","SuppressSending":false}`,
			want{id: "SubscriptionChange:m:2026-11-22T10:00:00Z", typ: "email.resubscribed", email: "a@b.c", props: map[string]any{"suppress_sending": false}}},
		{"unknown record type", `{"RecordType":"Inbound Thing","Recipient":"a@b.c"}`, want{typ: "postmark.inbound.thing", email: "a@b.c"}},
		{"time without a zone is UTC", `{"RecordType":"Delivery","MessageID":"m","Recipient":"a@b.c","DeliveredAt":"2014-08-01T13:28:10.2735393"}`,
			want{id: "Delivery:m:2014-08-01T13:28:10.2735393", typ: "email.delivered", email: "a@b.c", occurred: time.Date(2014, 8, 1, 13, 28, 10, 273539300, time.UTC)}},
	}
	for _, tt := range good {
		d, err := a.Parse(request(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Run(tt.name, func(t *testing.T) { checkEvents(t, d.Events, []want{tt.want}) })
	}
	bad := []struct{ name, body, substr string }{
		{"bad time", `{"RecordType":"Open","Recipient":"a@b.c","ReceivedAt":"yesterday"}`, "ISO 8601"},
		{"SuppressSending missing", `{"RecordType":"SubscriptionChange","Recipient":"a@b.c"}`, "SuppressSending"},
		{"recipient not an email", `{"RecordType":"Open","Recipient":"john"}`, "Recipient"},
	}
	for _, tt := range bad {
		if _, err := a.Parse(request(tt.body)); !errors.Is(err, source.ErrBadPayload) || !strings.Contains(err.Error(), tt.substr) {
			t.Errorf("%s: err = %v; want bad payload about %s", tt.name, err, tt.substr)
		}
	}
}

func TestBuildDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, summary string
		line               int
	}{
		{"no secret", "source \"pm\" {\n  kind = \"postmark\"\n}\n", "Missing secret", 1},
		{"basic secret without colon", "source \"pm\" {\n  kind = \"postmark\"\n  secret = \"token\"\n}\n", "Invalid basic credentials", 1},
		{"unknown auth", "source \"pm\" {\n  kind = \"postmark\"\n  secret = \"a:b\"\n  auth = \"hmac\"\n}\n", "Invalid auth", 4},
		{"header without name", "source \"pm\" {\n  kind = \"postmark\"\n  secret = \"t\"\n  auth = \"header\"\n}\n", "Missing header_name", 4},
		{"header_name with basic", "source \"pm\" {\n  kind = \"postmark\"\n  secret = \"a:b\"\n  header_name = \"X-T\"\n}\n", "header_name without auth = \"header\"", 4},
		{"bad header name", "source \"pm\" {\n  kind = \"postmark\"\n  secret = \"t\"\n  auth = \"header\"\n  header_name = \"X T\"\n}\n", "Invalid header_name", 5},
		{"unknown attribute", "source \"pm\" {\n  kind = \"postmark\"\n  secret = \"a:b\"\n  token = \"x\"\n}\n", "Unsupported argument", 4},
	}
	for _, tt := range tests {
		spec, _ := sourcetest.Spec(t, tt.src)
		a, diags := postmark.Build(spec)
		if !diags.HasErrors() || a != nil {
			t.Fatalf("%s: want an error, got %v", tt.name, diags)
		}
		d := diags.Errs()[0].(*hcl.Diagnostic)
		if d.Summary != tt.summary || d.Subject == nil || d.Subject.Start.Line != tt.line || !strings.HasSuffix(d.Subject.Filename, "source.hcl") {
			t.Errorf("%s: diagnostic %q at %v; want %q at line %d", tt.name, d.Summary, d.Subject, tt.summary, tt.line)
		}
	}
}
