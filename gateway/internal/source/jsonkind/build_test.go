package jsonkind

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"
)

func TestBuildDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		src      string
		severity hcl.DiagnosticSeverity
		summary  string
		detail   string // substring
		line     int
		column   int
	}{
		{
			name: "variable other than body and headers",
			src: `source "app" {
  kind = "json"
  event {
    type = event.x
  }
}`,
			severity: hcl.DiagError, summary: "Variable not allowed", detail: `"event" is not available here`,
			line: 4, column: 12,
		},
		{
			name: "variable hidden inside try",
			src: `source "app" {
  kind = "json"
  event {
    type  = "x"
    email = try(customer.email, body.email)
  }
}`,
			severity: hcl.DiagError, summary: "Variable not allowed", detail: `"customer"`,
			line: 5, column: 17,
		},
		{
			name: "unknown function",
			src: `source "app" {
  kind = "json"
  event {
    type = "x"

    customer_id = sha1(body.id)
  }
}`,
			severity: hcl.DiagError, summary: "Call to unknown function", detail: `no function named "sha1"`,
			line: 6, column: 19,
		},
		{
			name: "env is for static attributes only",
			src: `source "app" {
  kind = "json"
  event {
    type = env("TYPE")
  }
}`,
			severity: hcl.DiagError, summary: "Call to unknown function", detail: `"env"`,
			line: 4, column: 12,
		},
		{
			name: "unknown attribute in event block",
			src: `source "app" {
  kind = "json"
  event {
    type     = body.type
    customer = body.customer
  }
}`,
			severity: hcl.DiagError, summary: "Unsupported argument", detail: `"customer" is not expected`,
			line: 5, column: 5,
		},
		{
			name: "unknown attribute in source block",
			src: `source "app" {
  kind      = "json"
  signature = "X-Sig"
}`,
			severity: hcl.DiagError, summary: "Unsupported argument", detail: `"signature" is not expected`,
			line: 3, column: 3,
		},
		{
			name: "two event blocks",
			src: `source "app" {
  kind = "json"
  event { type = body.a }
  event { type = body.b }
}`,
			severity: hcl.DiagError, summary: "Duplicate event block", detail: "app.hcl:3",
			line: 4, column: 3,
		},
		{
			name: "empty secret",
			src: `source "app" {
  kind   = "json"
  secret = ""
}`,
			severity: hcl.DiagError, summary: "Empty secret", detail: "anyone can sign",
			line: 1, column: 1,
		},
		{
			name: "signature_header not a header name",
			src: `source "app" {
  kind             = "json"
  secret           = "s"
  signature_header = "X Sig"
}`,
			severity: hcl.DiagError, summary: "Invalid signature_header", detail: "HTTP header name",
			line: 4, column: 22,
		},
		{
			name: "constant type that is not valid",
			src: `source "app" {
  kind = "json"
  event {
    type = "order placed"
  }
}`,
			severity: hcl.DiagError, summary: "Invalid event type", detail: `"order placed" is not valid`,
			line: 4, column: 12,
		},
		{
			name: "signature_header without secret warns",
			src: `source "app" {
  kind             = "json"
  signature_header = "X-Sig"
}`,
			severity: hcl.DiagWarning, summary: "Signature header without a secret", detail: "not verified",
			line: 3, column: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, diags := Build(specFromHCL(t, tt.src))
			if len(diags) != 1 {
				t.Fatalf("want exactly one diagnostic, got %d: %s", len(diags), diags.Error())
			}
			d := diags[0]
			if d.Severity != tt.severity || d.Summary != tt.summary || !strings.Contains(d.Detail, tt.detail) {
				t.Fatalf("diagnostic = %v %q %q, want %v %q containing %q",
					d.Severity, d.Summary, d.Detail, tt.severity, tt.summary, tt.detail)
			}
			if d.Subject == nil || d.Subject.Filename != "app.hcl" || d.Subject.Start.Line != tt.line || d.Subject.Start.Column != tt.column {
				t.Fatalf("diagnostic at %v, want app.hcl:%d,%d", d.Subject, tt.line, tt.column)
			}
			if (a == nil) != (tt.severity == hcl.DiagError) {
				t.Fatalf("adapter = %v with severity %v: want an adapter exactly when there is no error", a, tt.severity)
			}
		})
	}
}

func TestBuildWithoutRanges(t *testing.T) {
	t.Parallel()
	// A spec from a caller that sets no ranges and no body still builds or
	// reports, without panicking.
	a, diags := Build(source.Spec{Name: "x", Kind: "json"})
	if diags.HasErrors() || a == nil {
		t.Fatalf("json with no body: %s", diags.Error())
	}
	evs, err := parseEvents(a, jsonRequest(`{"type":"t","customer":{"id":"c"}}`))
	if err != nil || len(evs) != 1 || evs[0].Type != "t" {
		t.Fatalf("Parse = %v, %v", evs, err)
	}
}

// TestJSONFunctions checks that every function the brief promises is
// available and evaluates, including conversions of big numbers.
func TestJSONFunctions(t *testing.T) {
	t.Parallel()
	a := buildHCL(t, `source "app" {
  kind = "json"
  event {
    type         = lower(coalesce(try(body.missing, null), body.kind))
    delivery_id  = tostring(body.n)
    customer_id  = can(body.user.id) ? body.user.id : "none"
    email        = upper(lookup(body.user, "mail", "nobody@x"))
    anonymous_id = tostring(tonumber("115310627314723954"))
    external_ids = { crm = trimspace(join("-", split(",", " a,b ")))}
  }
}`)
	evs, err := parseEvents(a, jsonRequest(`{"kind":"ORDER.Paid","n":115310627314723954,"user":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Event{Type: "order.paid", DeliveryID: "115310627314723954", Customer: sdk.Customer{
		ID: "none", Email: "nobody@x", AnonymousID: "115310627314723954",
		ExternalIDs: map[string]string{"crm": "a-b"},
	}}
	if !reflect.DeepEqual(evs, []sdk.Event{want}) {
		t.Fatalf("got %+v, want %+v", evs, want)
	}
}
