package admin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/sdk"
)

// TestNoSecretInAnyAnswer stores a configuration with literal secrets and
// plants them where a careless answer would show them (a node's refusal
// diagnostics, a provider's error, a dead letter's reason, a customer's
// trait): no endpoint's answer may hold one.
func TestNoSecretInAnyAnswer(t *testing.T) {
	t.Parallel()
	const (
		sourceSecret = "whsec_literal"
		slackURL     = "https://hooks.slack.com/services/T000/B000/XXXXsecret"
		smtpPassword = `pa"ss<word>&1`
		envSecret    = "resolved-from-env-42"
	)
	f := newFixture(t, admin.WithSecrets(func() []string { return []string{envSecret, "short"} }))
	files := map[string]string{
		"gateway.hcl": `
gateway {
  admin_token = "literal-admin-token"
}
source "shop" {
  kind   = "shopify"
  secret = "` + sourceSecret + `"
}
source "app" {
  kind   = "json"
  secret = env("APP_SECRET")
}
channel "alerts" {
  plugin = "slack"
  config {
    webhook_url = "` + slackURL + `"
  }
}
channel "email" {
  plugin = "smtp"
  config {
    host     = "smtp.example.com"
    password = "` + strings.ReplaceAll(smtpPassword, `"`, `\"`) + `"
  }
}
trigger "cart" {
  plugin = "absence"
  config {
    key = "checkout_id"
  }
}
`,
	}
	configs := configstore.New(f.st)
	if _, _, err := configs.Apply(t.Context(), configstore.ApplyRequest{Files: files, Author: "ops", Message: "with literal secrets"}); err != nil {
		t.Fatal(err)
	}
	diag := `gateway.hcl:7,12-27: Invalid secret; secret = "` + sourceSecret + `" is too short; ` + smtpPassword
	if err := configs.SetNodeState(t.Context(), configstore.NodeState{Node: "node-a", Version: 1,
		Refused: &configstore.Refusal{Version: 1, Error: diag}}, 0); err != nil {
		t.Fatal(err)
	}
	f.put(t, "8", "meta", "partitions")
	c := sdk.Customer{ID: "c-1"}
	f.send(t, sdk.Event{ID: "e1", Type: "cart.updated", Customer: c, Traits: map[string]any{"note": "token " + sourceSecret}},
		sdk.Event{ID: "e2", Type: "poison", Customer: c, Properties: map[string]any{"url": slackURL}})
	f.deadLetter(t, "msg_1", "alerts", "id:c-1", "posting to "+slackURL+": 404")
	e := outbox.Entry{Message: sdk.Message{ID: "msg_2", Trigger: "cart", Step: "default"}, Partition: f.log.Partition("id:c-1"),
		Channel: "email", Customer: "id:c-1", Attempts: 1, LastError: "535 auth failed for password " + smtpPassword + " and " + envSecret}
	v, _ := e.Encode()
	f.put(t, v, outbox.KeyParts(e.Partition, "msg_2")...)

	paths := []string{
		customerPath("id:c-1"), customerPath("id:c-1", "/events"), customerPath("id:c-1", "/deliveries"),
		"/v1/deliveries", "/v1/deadletters", "/v1/dlq", "/v1/kpis", "/v1/cluster", "/v1/config", "/v1/config/versions",
		customerPath("id:" + sourceSecret), "/v1/dlq?channel=" + url.QueryEscape(sourceSecret),
	}
	redacted := 0
	for _, p := range paths {
		code, body := f.call(t, http.MethodGet, p, "")
		if code >= 500 {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
		checkNoSecret(t, "GET "+p, body, sourceSecret, slackURL, smtpPassword, envSecret, "literal-admin-token", token)
		redacted += strings.Count(body, admin.Redacted)
	}
	for _, req := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/dlq/retry", `{"ids":["` + sourceSecret + `"]}`},
		{http.MethodPost, "/v1/deadletters/requeue", `{"ids":["` + sourceSecret + `"]}`},
		{http.MethodPost, "/v1/dlq/drop", `{"ids":["msg_1"]}`},
		{http.MethodDelete, customerPath("id:c-1"), ""},
	} {
		_, body := f.call(t, req.method, req.path, req.body)
		checkNoSecret(t, req.method+" "+req.path, body, sourceSecret, slackURL, smtpPassword, envSecret, "literal-admin-token", token)
	}
	// The planted secrets were there to leak: redacted, not missing.
	if redacted < 6 {
		t.Fatalf("only %d redactions: the secrets were not where the test put them", redacted)
	}
	// The configuration's other values are not taken for secrets.
	_, body := f.call(t, http.MethodGet, "/v1/cluster", "")
	if !strings.Contains(body, "Invalid secret") || !strings.Contains(body, "is too short") {
		t.Fatalf("refusal lost more than its secrets: %s", body)
	}
	_, body = f.call(t, http.MethodGet, customerPath("id:c-1", "/deliveries"), "")
	if !strings.Contains(body, "535 auth failed for password") {
		t.Fatalf("last error lost more than its secrets: %s", body)
	}
}

func checkNoSecret(t *testing.T, what, body string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		q, _ := json.Marshal(s)
		if strings.Contains(body, s) || strings.Contains(body, string(q[1:len(q)-1])) {
			t.Errorf("%s: the answer holds the secret %q:\n%s", what, s, body)
		}
	}
}
