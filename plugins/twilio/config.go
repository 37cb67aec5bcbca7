package main

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// Defaults and limits of the config.
const (
	defaultBaseURL = "https://api.twilio.com"
	defaultTimeout = 10 * time.Second
	maxTimeout     = 5 * time.Minute
	apiVersion     = "2010-04-01"
)

// Twilio resource ids: a two-letter prefix naming the resource type and 32
// hex digits (Twilio's OpenAPI patterns, e.g. ^AC[0-9a-fA-F]{32}$).
var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	apiKeySIDPattern  = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	// e164Pattern is "+", a country code that does not start with 0, and
	// at most 15 digits in all; 8 is the shortest number in use.
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
)

// Config is one channel block's config.
type Config struct {
	// AccountSID names the account; it is part of every request's path.
	AccountSID string `hcl:"account_sid" doc:"Twilio Account SID: \"AC\" and 32 hex digits (Console → Account info)."`
	// AuthToken authenticates as the account itself.
	AuthToken string `hcl:"auth_token,optional" doc:"The account's Auth Token, e.g. env(\"TWILIO_AUTH_TOKEN\"). Set it, or api_key_sid and api_key_secret, not both."`
	// APIKeySID authenticates with an API key instead, which can be
	// revoked without rotating the Auth Token.
	APIKeySID string `hcl:"api_key_sid,optional" doc:"SID of an API key (\"SK\" and 32 hex digits), used with api_key_secret instead of auth_token."`
	// APIKeySecret is the API key's password.
	APIKeySecret string `hcl:"api_key_secret,optional" doc:"The API key's secret; required with api_key_sid."`
	// From is the sender number.
	From string `hcl:"from,optional" doc:"Sender phone number in E.164 (\"+14155550100\"), a number of the account. Set it or messaging_service_sid, not both."`
	// MessagingServiceSID lets a Messaging Service choose the sender.
	MessagingServiceSID string `hcl:"messaging_service_sid,optional" doc:"Messaging Service SID (\"MG\" and 32 hex digits) that picks the sender from its pool; use it for alphanumeric sender ids and number pools."`
	// StatusCallback asks Twilio to report delivery (delivered, failed,
	// ...) for every message.
	StatusCallback string `hcl:"status_callback,optional" doc:"URL Twilio POSTs delivery status changes to, e.g. the gateway's twilio source (https://<gateway>/v1/webhooks/<source>). Default: none (a Messaging Service's own callback still applies)."`
	// BaseURL is Twilio's API origin, replaced in tests or behind an
	// egress proxy.
	BaseURL string `hcl:"base_url,optional" doc:"API origin; requests go to <base_url>/2010-04-01/Accounts/<account_sid>/Messages.json. Default \"https://api.twilio.com\"."`
	// Timeout bounds one request.
	Timeout sdk.Duration `hcl:"timeout,optional" doc:"Time allowed for one request, including reading the response. Default \"10s\"."`
	// AllowPrivateNetworks lifts the SSRF protection.
	AllowPrivateNetworks bool `hcl:"allow_private_networks,optional" doc:"Allow connections to loopback, private, link-local and other non-public addresses, for a base_url on your own network. Default false."`

	// endpoint is the Messages resource URL, built by Validate.
	endpoint string
}

// decodeConfig decodes a channel's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{BaseURL: defaultBaseURL, Timeout: sdk.Duration(defaultTimeout)}
	return cfg, sdk.CheckConfig(raw, cfg)
}

// Validate checks what the struct tags cannot express, and builds the
// endpoint.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	add := func(attr, format string, args ...any) {
		diags = append(diags, sdk.Errorf(sdk.Attr(attr), format, args...))
	}

	if !accountSIDPattern.MatchString(c.AccountSID) {
		add("account_sid", "account_sid must be \"AC\" followed by 32 hex digits, got %q", c.AccountSID)
	}

	switch {
	case c.AuthToken != "" && (c.APIKeySID != "" || c.APIKeySecret != ""):
		add("api_key_sid", "set either auth_token or api_key_sid and api_key_secret, not both")
	case c.AuthToken != "":
	case c.APIKeySID == "" && c.APIKeySecret == "":
		add("auth_token", "set auth_token, or api_key_sid and api_key_secret, to authenticate with Twilio")
	case c.APIKeySID == "":
		add("api_key_sid", "api_key_secret is set without api_key_sid")
	case !apiKeySIDPattern.MatchString(c.APIKeySID):
		add("api_key_sid", "api_key_sid must be \"SK\" followed by 32 hex digits, got %q", c.APIKeySID)
	case c.APIKeySecret == "":
		add("api_key_secret", "api_key_sid is set without api_key_secret")
	}

	switch {
	case c.From != "" && c.MessagingServiceSID != "":
		add("messaging_service_sid", "set either from or messaging_service_sid, not both")
	case c.From == "" && c.MessagingServiceSID == "":
		add("from", "set from (a phone number in E.164) or messaging_service_sid to choose the sender")
	case c.From != "" && !e164Pattern.MatchString(c.From):
		add("from", "from must be a phone number in E.164 (\"+\" and 8 to 15 digits, e.g. \"+14155550100\"), got %q; for an alphanumeric sender id use a Messaging Service", c.From)
	case c.MessagingServiceSID != "" && !serviceSIDPattern.MatchString(c.MessagingServiceSID):
		add("messaging_service_sid", "messaging_service_sid must be \"MG\" followed by 32 hex digits, got %q", c.MessagingServiceSID)
	}

	if c.StatusCallback != "" {
		if u, err := checkURL("status_callback", c.StatusCallback); err != nil {
			add("status_callback", "%s", err)
		} else if strings.Contains(u.Hostname(), "_") {
			add("status_callback", "status_callback host %q contains an underscore, which Twilio rejects", u.Hostname())
		}
	}

	if u, err := checkURL("base_url", c.BaseURL); err != nil {
		add("base_url", "%s", err)
	} else if u.RawQuery != "" || u.Fragment != "" {
		add("base_url", "base_url must not have a query or fragment, got %q", c.BaseURL)
	} else {
		if u.Scheme == "http" {
			diags = append(diags, sdk.Diagnostic{
				Severity: sdk.SeverityWarning, Path: sdk.Attr("base_url"),
				Summary: "base_url uses http://: the credentials and messages travel unencrypted; use https:// outside tests",
			})
		}
		c.endpoint = strings.TrimRight(c.BaseURL, "/") + "/" + apiVersion + "/Accounts/" + url.PathEscape(c.AccountSID) + "/Messages.json"
	}

	if t := c.Timeout.D(); t <= 0 || t > maxTimeout {
		add("timeout", "timeout must be between 0 and %s, got %s", maxTimeout, t)
	}
	return diags
}

// credentials returns the HTTP basic auth username and password.
func (c *Config) credentials() (username, password string) {
	if c.AuthToken != "" {
		return c.AccountSID, c.AuthToken
	}
	return c.APIKeySID, c.APIKeySecret
}

// credentialHint names the attributes to check when Twilio rejects the
// credentials.
func (c *Config) credentialHint() string {
	if c.AuthToken != "" {
		return "check account_sid and auth_token"
	}
	return "check account_sid, api_key_sid and api_key_secret (the key must belong to the account)"
}

// checkURL accepts absolute http and https URLs with a host.
func checkURL(attr, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %q does not parse: %w", attr, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s must start with https:// or http://, got %q", attr, raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%s %q has no host", attr, raw)
	}
	return u, nil
}
