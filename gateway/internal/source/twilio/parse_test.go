package twilio_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/twilio"
)

// request is a POST to https://gw.example.com/v1/webhooks/tw signed for
// signedURL.
func request(t testing.TB, signedURL string, body []byte) *source.Request {
	u, _ := url.Parse("/v1/webhooks/tw")
	return &source.Request{Method: http.MethodPost, URL: u, Host: "gw.example.com", TLS: true,
		Header: headers(sign(t, authToken, signedURL, body)), Body: body, Now: time.Now()}
}

func TestSignedURLForms(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, config, twilio.Build)
	body := []byte("MessageSid=SM1&MessageStatus=queued&To=%2B15005550006&b=2&a=1&a=0")
	for _, u := range []string{"https://gw.example.com/v1/webhooks/tw", "https://gw.example.com:443/v1/webhooks/tw"} {
		d, err := a.Parse(request(t, u, body))
		if err != nil {
			t.Errorf("signed for %s: %v", u, err)
			continue
		}
		if ev := d.Events[0]; ev.Type != "twilio.queued" || ev.DeliveryID != "SM1:queued" || d.Reply != nil {
			t.Errorf("signed for %s: %+v", u, d)
		}
	}
	for _, u := range []string{"http://gw.example.com/v1/webhooks/tw", "https://gw.example.com:8443/v1/webhooks/tw"} {
		if _, err := a.Parse(request(t, u, body)); !errors.Is(err, source.ErrBadSignature) {
			t.Errorf("signed for %s: err = %v, want bad signature", u, err)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	t.Parallel()
	a, _ := sourcetest.Build(t, config, twilio.Build)
	const u = "https://gw.example.com/v1/webhooks/tw"
	tests := []struct{ name, body, substr string }{
		{"status without recipient phone", "MessageSid=SM1&MessageStatus=sent&To=alice", "To"},
		{"inbound without sender phone", "MessageSid=SM1&SmsStatus=received&Body=STOP&From=", "From"},
		{"neither status nor body", "MessageSid=SM1&To=%2B15005550006", "neither"},
	}
	for _, tt := range tests {
		if _, err := a.Parse(request(t, u, []byte(tt.body))); !errors.Is(err, source.ErrBadPayload) || !strings.Contains(err.Error(), tt.substr) {
			t.Errorf("%s: err = %v, want bad payload about %s", tt.name, err, tt.substr)
		}
	}
}

func TestBuildDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, summary string
		line               int
	}{
		{"no secret", "source \"tw\" {\n  kind = \"twilio\"\n}\n", "Missing secret", 1},
		{"relative public_url", "source \"tw\" {\n  kind = \"twilio\"\n  secret = \"t\"\n  public_url = \"/hooks\"\n}\n", "Invalid public_url", 4},
		{"unknown attribute", "source \"tw\" {\n  kind = \"twilio\"\n  secret = \"t\"\n  url = \"x\"\n}\n", "Unsupported argument", 4},
	}
	for _, tt := range tests {
		spec, _ := sourcetest.Spec(t, tt.src)
		a, diags := twilio.Build(spec)
		if !diags.HasErrors() || a != nil {
			t.Fatalf("%s: want an error, got %v", tt.name, diags)
		}
		d := diags.Errs()[0].(*hcl.Diagnostic)
		if d.Summary != tt.summary || d.Subject == nil || d.Subject.Start.Line != tt.line || !strings.HasSuffix(d.Subject.Filename, "source.hcl") {
			t.Errorf("%s: diagnostic %q at %v; want %q at line %d", tt.name, d.Summary, d.Subject, tt.summary, tt.line)
		}
	}
}
