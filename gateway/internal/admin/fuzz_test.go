package admin

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/triggergate/triggergate/sdk"
)

// FuzzCustomerKeyFromPath: whatever a path carries, the key either is
// refused or is a canonical customer key that escapes back to itself.
func FuzzCustomerKeyFromPath(f *testing.F) {
	for _, s := range []string{"id:c-1", "email:a+b@c.d", "ext:shopify:123", "id:a%2Fb", "id%3Ac-1", "anon:%00", "%", "id:%zz",
		"ext:shopify", "id:" + strings.Repeat("x", 600), " id:c", "phone:+33612345678", "bogus:1", "id:%E2%82%AC", "id:%ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		key, err := customerKeyFromPath(escaped)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(key) > maxKeyLen || !utf8.ValidString(key) || strings.TrimSpace(key) != key {
			t.Fatalf("accepted %q", key)
		}
		c, err := sdk.ParseCustomerKey(key)
		if err != nil || c.Key() != key {
			t.Fatalf("accepted %q, which is not canonical: %v", key, err)
		}
		if again, err := customerKeyFromPath(url.PathEscape(key)); err != nil || again != key {
			t.Fatalf("%q does not survive escaping: %q, %v", key, again, err)
		}
	})
}

// FuzzSecretLiterals: configuration files from etcd never panic the scan,
// and what it finds is a value the files hold, long enough to redact.
func FuzzSecretLiterals(f *testing.F) {
	for _, s := range []string{
		`source "s" { secret = "whsec_literal" }`,
		`channel "c" { config { password = "p@ssw0rd!" api_key = ["abcdefg", "hijklmn"] } }`,
		`x = { token = "abcdefgh" }`,
		`secret = env("X")`,
		`secret = "${var.x}abc"`,
		`secret = "abc" + 1`,
		`a { b { c { d { auth_token = <<EOT
heredoc-secret
EOT
} } } }`,
		`secret = `, `{{{{`, "secret = \"\\u00e9t\\u00e9-secret\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, s := range secretLiterals(map[string]string{"gateway.hcl": src, "notes.txt": src}) {
			if len(s) < minSecret {
				t.Fatalf("%q is shorter than %d", s, minSecret)
			}
		}
	})
}

func TestSecretLiterals(t *testing.T) {
	t.Parallel()
	got := secretLiterals(map[string]string{
		"a.hcl": `
gateway { admin_token = "tok-123456" }
source "s" {
  kind   = "stripe"
  secret = "whsec_literal"
}
source "e" { secret = env("X") }
channel "c" {
  plugin = "twilio"
  config {
    account_sid = "AC123456"
    auth_token  = "twilio-auth"
    api_key     = ["k-1234567", "k-7654321"]
    from        = "+15550001111"
  }
}
trigger "t" {
  config { key = "checkout_id" }
}
tracking { signing_key = "sign-me-please" }
`,
		"templates/x.hcl.tmpl": `secret = "not-a-config-file"`,
	})
	slices.Sort(got)
	want := []string{"k-1234567", "k-7654321", "sign-me-please", "tok-123456", "twilio-auth", "whsec_literal"}
	if !slices.Equal(got, want) {
		t.Fatalf("secretLiterals = %q, want %q", got, want)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{`{"e": "bad whsec_literal here"}`, `{"e": "bad [redacted] here"}`},
		{`{"e": "x \u003cpass\u003e&amp"}`, `{"e": "x [redacted]&amp"}`},
		{`{"e": "whsec_literal_longer"}`, `{"e": "[redacted]"}`},
		{`{"e": "short abc"}`, `{"e": "short abc"}`},
	}
	for _, c := range cases {
		if got := string(redact([]byte(c.in), []string{"whsec_literal", "<pass>", "whsec_literal_longer", "abc", ""})); got != c.want {
			t.Errorf("redact(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}
