package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// renderConfig is a configuration with templates for the render command.
const renderConfig = `
policy {
  default_timezone = "America/New_York"
}
channel "email" {
  plugin = "log"
}
template "order" {
  subject = "Order {{ .Event.Properties.order_id }} for {{ index .Customer.Traits \"first_name\" | default \"you\" }}"
  text    = <<-EOT
    Total: {{ money .Event.Properties.value .Event.Properties.currency }}
    Placed: {{ .Event.OccurredAt.Format "2 Jan 2006 15:04 MST" }}
    {{ .Trigger }}/{{ .Step }} {{ with .UnsubscribeURL }}{{ . }}{{ end }}
    EOT
  html    = "<p>{{ .Customer.Email }} at {{ date \"15:04\" .Event.OccurredAt }}</p>"
}
template "needs_last_name" {
  text = "Dear {{ .Customer.Traits.last_name }}"
}
trigger "orders" {
  plugin = "event"
  config {
    on = ["order.placed"]
  }
  action {
    channel  = "email"
    template = "order"
    steps    = ["confirmation"]
  }
}
`

func writeRenderConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gateway.hcl"), []byte(renderConfig+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runRender(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = renderCmd(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRenderCommand(t *testing.T) {
	t.Parallel()
	dir := writeRenderConfig(t, "")
	customerFile := filepath.Join(t.TempDir(), "customer.json")
	if err := os.WriteFile(customerFile, []byte(`{"id": "c-9", "email": "kenji@example.jp", "traits": {"first_name": "Kenji"}, "timezone": "Asia/Tokyo"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	eventFile := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(eventFile, []byte(`{"type": "order.placed", "occurred_at": "2026-07-01T12:00:00Z",
		"properties": {"order_id": "A-7", "value": 1234.5, "currency": "JPY"}}`), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{name: "sample customer and event", args: []string{"-config", dir, "order"},
			stdout: "Subject: Order 1001 for Jane\n" +
				"----- text -----\nTotal: €129.90\nPlaced: 14 Mar 2026 10:30 CET\norders/confirmation https://example.invalid/t/u/preview\n" +
				"----- html -----\n<p>jane@example.com at 10:30</p>\n"},
		{name: "customer and event from files, flags after the name", args: []string{"-config", dir, "order", "-customer", "@" + customerFile, "-event", "@" + eventFile, "-step", "s1", "-trigger", "t1"},
			stdout: "Subject: Order A-7 for Kenji\n" +
				"----- text -----\nTotal: ¥1,235\nPlaced: 1 Jul 2026 21:00 JST\nt1/s1 https://example.invalid/t/u/preview\n" +
				"----- html -----\n<p>kenji@example.jp at 21:00</p>\n"},
		{name: "a customer without a timezone gets the policy's", args: []string{"-config", dir, "-customer", `{"email": "a@example.com"}`, "order"},
			stdout: "Subject: Order 1001 for you\n" +
				"----- text -----\nTotal: €129.90\nPlaced: 14 Mar 2026 05:30 EDT\norders/confirmation https://example.invalid/t/u/preview\n" +
				"----- html -----\n<p>a@example.com at 05:30</p>\n"},
		{name: "a partial event gets the sample's times and customer", args: []string{"-config", dir, "order", "-event", `{"type": "order.placed", "properties": {"order_id": "B-2", "value": "7", "currency": "usd"}}`},
			stdout: "Subject: Order B-2 for Jane\n" +
				"----- text -----\nTotal: $7.00\nPlaced: 14 Mar 2026 10:30 CET\norders/confirmation https://example.invalid/t/u/preview\n" +
				"----- html -----\n<p>jane@example.com at 10:30</p>\n"},
		{name: "render failure", args: []string{"-config", dir, "needs_last_name"}, code: 1,
			stderr: []string{`rendering template "needs_last_name" text:`, `map has no entry for key "last_name"`, "dead-letter"}},
		{name: "unknown template", args: []string{"-config", dir, "ordr"}, code: 2,
			stderr: []string{`no template "ordr"`, `defined templates: "order", "needs_last_name"`}},
		{name: "bad customer JSON", args: []string{"-config", dir, "-customer", `{"id": `, "order"}, code: 2,
			stderr: []string{"-customer: invalid JSON"}},
		{name: "unknown customer field", args: []string{"-config", dir, "-customer", `{"first_name": "Jo"}`, "order"}, code: 2,
			stderr: []string{"-customer: invalid JSON", `unknown field "first_name"`}},
		{name: "bad event JSON", args: []string{"-config", dir, "-event", `[1]`, "order"}, code: 2,
			stderr: []string{"-event: invalid JSON"}},
		{name: "trailing JSON", args: []string{"-config", dir, "-fire", `{} {}`, "order"}, code: 2,
			stderr: []string{"-fire: invalid JSON: more than one value"}},
		{name: "missing file", args: []string{"-config", dir, "-event", "@" + filepath.Join(dir, "nope.json"), "order"}, code: 2,
			stderr: []string{"-event:", "nope.json"}},
		{name: "unknown timezone", args: []string{"-config", dir, "-customer", `{"timezone": "Mars/Olympus"}`, "order"}, code: 2,
			stderr: []string{`timezone "Mars/Olympus"`}},
		{name: "no template name", args: []string{"-config", dir}, code: 2, stderr: []string{"usage: triggergate render"}},
		{name: "two template names", args: []string{"-config", dir, "order", "order"}, code: 2, stderr: []string{"usage: triggergate render"}},
		{name: "invalid configuration", args: []string{"-config", filepath.Join(dir, "missing.hcl"), "order"}, code: 1,
			stderr: []string{"missing.hcl"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runRender(c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if c.code == 0 && stdout != c.stdout {
				t.Fatalf("stdout:\n%s\nwant:\n%s", stdout, c.stdout)
			}
			for _, w := range c.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not mention %q", stderr, w)
				}
			}
		})
	}
}

func TestRenderCommandJSON(t *testing.T) {
	t.Parallel()
	dir := writeRenderConfig(t, "")
	code, stdout, stderr := runRender("-config", dir, "-json", "-fire", `{"n": 1}`, "order")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got renderPreview
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v in %s", err, stdout)
	}
	want := renderPreview{
		Template: "order", Trigger: "orders", Step: "confirmation", Timezone: "Europe/Paris",
		Subject: "Order 1001 for Jane",
		Text:    "Total: €129.90\nPlaced: 14 Mar 2026 10:30 CET\norders/confirmation https://example.invalid/t/u/preview\n",
		HTML:    "<p>jane@example.com at 10:30</p>",
	}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestRenderCommandReportsStaticErrors(t *testing.T) {
	t.Parallel()
	dir := writeRenderConfig(t, `
template "typo" {
  text = "Hi\n{{ .Customer.FirstName }}"
}
`)
	code, _, stderr := runRender("-config", dir, "typo")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
	}
	for _, w := range []string{"gateway.hcl:", `template "typo" text: line 2: .Customer.FirstName is not a field`, ".Customer.Traits.first_name"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not mention %q", stderr, w)
		}
	}
}
