package main

import (
	"bytes"
	"net/mail"
	"net/textproto"
	"testing"

	"github.com/triggergate/triggergate/sdk"
)

// FuzzBuildMsg checks that no subject, address or header from the host can
// add a header of its own to the email or make buildMsg panic.
func FuzzBuildMsg(f *testing.F) {
	f.Add("Hello", "jane@example.com", "List-Unsubscribe", "<https://x.example/u>", "text")
	f.Add("Hi\r\nBcc: victim@example.org", "jane@example.com", "X-A", "b", "")
	f.Add("ok", "jane@example.com\r\nBcc: victim@example.org", "X-A", "b", "t")
	f.Add("ok", "Jane <jane@example.com>", "X-A", "b\nBcc: victim@example.org", "t")
	f.Add("Jäne ✓", "\"J\\\"ane\" <jane@example.com>", "X-Ä", "ü", "t")
	cfg, check := decodeConfig([]byte(`{"host":"smtp.example.com","from":"Shop <hello@shop.example>"}`))
	if check.Diagnostics.HasErrors() {
		f.Fatal(check.Diagnostics)
	}
	f.Fuzz(func(t *testing.T, subject, email, hname, hvalue, text string) {
		m := sdk.Message{
			ID: "msg_1", Subject: subject, Text: text, HTML: "<p>x</p>",
			Profile: sdk.Profile{Customer: sdk.Customer{Email: email}},
			Headers: map[string]string{hname: hvalue},
		}
		msg, err := buildMsg(cfg, &m, fixedNow)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			return
		}
		parsed, err := mail.ReadMessage(&buf)
		if err != nil {
			t.Fatalf("built message does not parse: %v\n%s", err, buf.String())
		}
		allowed := map[string]bool{
			"From": true, "To": true, "Subject": true, "Date": true, "Message-Id": true,
			"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true,
			"User-Agent": true, "X-Mailer": true, "X-Triggergate-Message-Id": true,
			textproto.CanonicalMIMEHeaderKey(hname): true,
		}
		for name := range parsed.Header {
			if !allowed[name] {
				t.Fatalf("unexpected header %q in\n%s", name, buf.String())
			}
		}
		if got := parsed.Header.Get("X-Triggergate-Message-Id"); got != "msg_1" {
			t.Fatalf("X-Triggergate-Message-Id = %q", got)
		}
	})
}
