package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/httpchannel"
)

// Plugin identity, as reported by Describe and sent as the User-Agent.
const (
	pluginName    = "webhook"
	pluginVersion = "0.1.0"
	userAgent     = "triggergate-webhook/" + pluginVersion
)

// Limits that protect the gateway from slow or hostile receivers.
const (
	defaultTimeout     = 10 * time.Second
	maxTimeout         = 5 * time.Minute
	defaultConcurrency = 4
	// maxIdlePerHost keeps connections to one receiver open between
	// messages: the gateway sends several batches at once, each
	// defaultConcurrency messages at a time.
	maxIdlePerHost = 32
	secretPrefix   = "whsec_"
	minSecretBytes = 24 // the Standard Webhooks minimum for HMAC keys
)

// reservedHeaders are set by the plugin and cannot be overridden through
// the headers attribute, so that signatures and idempotency keep working.
var reservedHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true, "User-Agent": true,
	"Transfer-Encoding": true, "Connection": true,
	"Webhook-Id": true, "Webhook-Timestamp": true, "Webhook-Signature": true,
}

// Config is one channel block's config.
type Config struct {
	// URL is where messages are POSTed.
	URL string `hcl:"url" doc:"Endpoint that receives the POST requests; http or https."`
	// Secret is the Standard Webhooks signing secret.
	Secret string `hcl:"secret,optional" doc:"Standard Webhooks signing secret: base64, optionally prefixed with \"whsec_\". When set, every request carries a webhook-signature header. Default: unsigned."`
	// Timeout bounds one request, from dialling to reading the response.
	Timeout sdk.Duration `hcl:"timeout,optional" doc:"Time allowed for one request, including reading the response. Default \"10s\"."`
	// Headers are extra request headers, e.g. Authorization.
	Headers map[string]string `hcl:"headers,optional" doc:"Extra request headers, e.g. { Authorization = \"Bearer ...\" }. Content-Type, User-Agent and the webhook-* headers cannot be overridden."`
	// AllowPrivateNetworks lifts the SSRF protection.
	AllowPrivateNetworks bool `hcl:"allow_private_networks,optional" doc:"Allow connections to loopback, private, link-local, CGNAT and other non-public addresses. Default false; enable only for receivers on your own network."`

	// signingKey is Secret decoded; nil when unsigned.
	signingKey []byte
}

// Validate checks what the struct tags cannot express, and decodes the
// signing key.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	if err := checkURL(c.URL); err != nil {
		diags = append(diags, sdk.Errorf(sdk.Attr("url"), "%s", err))
	}
	if c.Secret != "" {
		key, err := decodeSecret(c.Secret)
		switch {
		case err != nil:
			diags = append(diags, sdk.Errorf(sdk.Attr("secret"), "%s", err))
		case len(key) < minSecretBytes:
			diags = append(diags, sdk.Diagnostic{
				Severity: sdk.SeverityWarning, Path: sdk.Attr("secret"),
				Summary: fmt.Sprintf("secret is %d bytes; Standard Webhooks asks for at least %d random bytes", len(key), minSecretBytes),
			})
		}
		c.signingKey = key
	}
	if t := c.Timeout.D(); t <= 0 || t > maxTimeout {
		diags = append(diags, sdk.Errorf(sdk.Attr("timeout"), "timeout must be between 0 and %s, got %s", maxTimeout, t))
	}
	for name, value := range c.Headers {
		canonical := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			diags = append(diags, sdk.Errorf(sdk.Attr("headers"), "%q is not a valid header name", name))
		case reservedHeaders[canonical]:
			diags = append(diags, sdk.Errorf(sdk.Attr("headers"), "header %q is set by the plugin and cannot be overridden", name))
		case strings.ContainsAny(value, "\r\n\x00"):
			diags = append(diags, sdk.Errorf(sdk.Attr("headers"), "value of header %q must not contain line breaks", name))
		}
	}
	return diags
}

// checkURL accepts absolute http and https URLs with a host.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q does not parse: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url must start with https:// or http://, got %q", raw)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("url %q has no host", raw)
	}
	return nil
}

// decodeSecret turns a Standard Webhooks secret into the HMAC key.
func decodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return nil, fmt.Errorf("secret must be base64 (optionally prefixed with %q): %w", secretPrefix, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("secret is empty after decoding")
	}
	return key, nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// decodeConfig decodes a channel's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Timeout: sdk.Duration(defaultTimeout)}
	return cfg, sdk.CheckConfig(raw, cfg)
}

// Sign computes a Standard Webhooks v1 signature: the base64 HMAC-SHA256,
// under key, of "<id>.<timestamp>.<body>".
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Payload is the JSON body of a request.
type Payload struct {
	// Type is "<trigger>.<step>".
	Type string `json:"type"`
	// Timestamp is when the request was made (RFC 3339, UTC).
	Timestamp string `json:"timestamp"`
	// Data describes the message.
	Data PayloadData `json:"data"`
}

// PayloadData is the "data" member of a Payload.
type PayloadData struct {
	// Trigger and Step name the rule and step that fired.
	Trigger string `json:"trigger"`
	Step    string `json:"step"`
	// Customer is the recipient's profile.
	Customer sdk.Profile `json:"customer"`
	// Event is the canonical event that caused the fire.
	Event sdk.Event `json:"event"`
	// Fire is the data the trigger attached to the fire; {} when none.
	Fire map[string]any `json:"fire"`
	// MessageID is the idempotency key, also sent as webhook-id.
	MessageID string `json:"message_id"`
}

// buildBody renders the request body for m at now.
func buildBody(m *sdk.Message, now time.Time) ([]byte, error) {
	fire := m.Fire
	if fire == nil {
		fire = map[string]any{}
	}
	return json.Marshal(Payload{
		Type:      m.Trigger + "." + m.Step,
		Timestamp: now.UTC().Format(time.RFC3339),
		Data: PayloadData{
			Trigger: m.Trigger, Step: m.Step, Customer: m.Profile, Event: m.Event,
			Fire: fire, MessageID: m.ID,
		},
	})
}

// Option configures a Webhook.
type Option func(*Webhook)

// WithClock replaces the wall clock used for timestamps.
func WithClock(now func() time.Time) Option { return func(w *Webhook) { w.now = now } }

// WithConcurrency sets how many messages of a batch are sent at once.
func WithConcurrency(n int) Option {
	return func(w *Webhook) { w.concurrency = max(n, 1) }
}

// Webhook is the "webhook" channel.
type Webhook struct {
	log         hclog.Logger
	now         func() time.Time
	concurrency int

	// clients are shared by every channel block with the same network
	// policy, so connections are reused across batches.
	clients *httpchannel.Clients
}

var _ sdk.Channel = (*Webhook)(nil)

// New builds the channel with the logger the SDK injects.
func New(log hclog.Logger) sdk.Channel { return NewWebhook(log) }

// NewWebhook builds the channel with options.
func NewWebhook(log hclog.Logger, opts ...Option) *Webhook {
	w := &Webhook{log: log, now: time.Now, concurrency: defaultConcurrency, clients: &httpchannel.Clients{Options: httpchannel.Options{MaxIdleConnsPerHost: maxIdlePerHost}}}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Describe reports the plugin's identity and config schema.
func (w *Webhook) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "POSTs each message as JSON, signed with Standard Webhooks headers, to a public URL.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one channel block's config.
func (w *Webhook) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Send POSTs every message, a few at a time, and classifies each outcome.
func (w *Webhook) Send(ctx context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	cfg, check := decodeConfig(req.Config)
	if check.Diagnostics.HasErrors() {
		return sdk.FailAll(len(req.Messages), fmt.Errorf("channel %q is misconfigured: %s", req.Channel, check.Diagnostics[0].Summary)), nil
	}
	client := w.clients.Get(cfg.AllowPrivateNetworks)

	results := httpchannel.SendAll(ctx, req.Messages, w.concurrency, func(ctx context.Context, m *sdk.Message) (sdk.SendResult, bool) {
		return w.send(ctx, client, cfg, m), false
	})
	return &sdk.SendResponse{Results: results}, nil
}

// send delivers one message.
func (w *Webhook) send(ctx context.Context, client *http.Client, cfg *Config, m *sdk.Message) sdk.SendResult {
	if m.ID == "" {
		return sdk.Fail(errors.New("message has no id; the host must set one"))
	}
	now := w.now()
	body, err := buildBody(m, now)
	if err != nil {
		return sdk.Fail(fmt.Errorf("encoding message %s: %w", m.ID, err))
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		return sdk.Fail(fmt.Errorf("building request: %w", err))
	}
	for name, value := range cfg.Headers {
		req.Header.Set(name, value)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	// The lower-case names are the spec's; Go sends the canonical form,
	// which HTTP treats as the same header.
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	if cfg.signingKey != nil {
		req.Header.Set("webhook-signature", Sign(cfg.signingKey, m.ID, ts, body))
	}
	res, _ := httpchannel.Do(ctx, client, req, cfg.Timeout.D(), now)
	w.log.Debug("webhook attempted", "message_id", m.ID, "status", res.Status, "error", res.Error)
	return res
}
