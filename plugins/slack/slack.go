package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/httpchannel"
)

// Plugin identity, as reported by Describe and sent as the User-Agent.
const (
	pluginName    = "slack"
	pluginVersion = "0.1.0"
	userAgent     = "triggergate-slack/" + pluginVersion
)

// Limits and defaults.
const (
	defaultTimeout = 10 * time.Second
	maxTimeout     = 5 * time.Minute
	// defaultConcurrency is how many messages of a batch are in flight at
	// once. Slack allows about one message per second per webhook with
	// short bursts, so there is no point in more.
	defaultConcurrency = 4
	maxIdlePerHost     = 32
	// maxMentionLen keeps the mention well inside the first section.
	maxMentionLen = 500
)

// Config is one channel block's config.
type Config struct {
	// WebhookURL is the incoming webhook; it embeds a secret token, so it
	// never appears in errors or logs.
	WebhookURL string `hcl:"webhook_url" doc:"Slack incoming webhook URL (https://hooks.slack.com/services/...). It is a secret: load it with env()."`
	// Mention opens every message, e.g. to notify a channel.
	Mention string `hcl:"mention,optional" doc:"Mentions, in Slack syntax, put before every message's text, e.g. \"<!here>\", \"<!channel>\", \"<@U024BE7LH>\" or \"<!subteam^S0123ABC>\"; several are separated by spaces. Default: none."`
	// Timeout bounds one request, from dialling to reading the response.
	Timeout sdk.Duration `hcl:"timeout,optional" doc:"Time allowed for one request, including reading the response. Default \"10s\"."`
	// AllowPrivateNetworks lifts the SSRF protection.
	AllowPrivateNetworks bool `hcl:"allow_private_networks,optional" doc:"Allow connections to loopback, private, link-local, CGNAT and other non-public addresses, e.g. for a Slack-compatible server on your own network. Default false."`
}

// Validate checks what the struct tags cannot express. Errors never quote
// the URL: it carries the webhook's token.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	if err := checkURL(c.WebhookURL); err != nil {
		diags = append(diags, sdk.Errorf(sdk.Attr("webhook_url"), "%s", err))
	}
	if err := checkMention(c.Mention); err != nil {
		diags = append(diags, sdk.Errorf(sdk.Attr("mention"), "%s", err))
	}
	if t := c.Timeout.D(); t <= 0 || t > maxTimeout {
		diags = append(diags, sdk.Errorf(sdk.Attr("timeout"), "timeout must be between 0 and %s, got %s", maxTimeout, t))
	}
	return diags
}

// checkURL accepts absolute https URLs with a host.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("webhook_url does not parse as a URL; copy it again from the Slack app's Incoming Webhooks page")
	}
	if u.Scheme != "https" {
		return fmt.Errorf("webhook_url must start with https://, got scheme %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("webhook_url has no host")
	}
	return nil
}

// checkMention accepts space-separated Slack mentions such as <!here> and
// <@U024BE7LH>: anything else would be shown literally, or hide user text.
func checkMention(m string) error {
	if len(m) > maxMentionLen {
		return fmt.Errorf("mention is %d bytes long; at most %d are allowed", len(m), maxMentionLen)
	}
	for _, f := range strings.Fields(m) {
		inner, ok := strings.CutPrefix(f, "<")
		if ok {
			inner, ok = strings.CutSuffix(inner, ">")
		}
		if !ok || len(inner) < 2 || !strings.ContainsRune("!@", rune(inner[0])) || strings.ContainsAny(inner, "<>&") {
			return fmt.Errorf("mention %q is not in Slack syntax; write e.g. \"<!here>\", \"<!channel>\", \"<@U024BE7LH>\" or \"<!subteam^S0123ABC>\"", f)
		}
	}
	return nil
}

// decodeConfig decodes a channel's config with its defaults in place, and
// normalises the mention's spacing.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Timeout: sdk.Duration(defaultTimeout)}
	resp := sdk.CheckConfig(raw, cfg)
	cfg.Mention = strings.Join(strings.Fields(cfg.Mention), " ")
	return cfg, resp
}

// redact returns the webhook URL without its token, for messages.
func redact(u *url.URL) string { return u.Scheme + "://" + u.Host + "/[redacted]" }

// Option configures a Slack channel.
type Option func(*Slack)

// WithClock replaces the wall clock Retry-After dates are read against.
func WithClock(now func() time.Time) Option { return func(s *Slack) { s.now = now } }

// WithConcurrency sets how many messages of a batch are sent at once.
func WithConcurrency(n int) Option { return func(s *Slack) { s.concurrency = max(n, 1) } }

// withTransport adjusts the HTTP transport of every client the channel
// builds; tests use it to trust their TLS server.
func withTransport(f func(*http.Transport)) Option { return func(s *Slack) { s.clients.Configure = f } }

// Slack is the "slack" channel.
type Slack struct {
	log         hclog.Logger
	now         func() time.Time
	concurrency int

	// clients are shared by every channel block with the same network
	// policy, so connections to Slack are reused across batches.
	clients *httpchannel.Clients
}

var _ sdk.Channel = (*Slack)(nil)

// New builds the channel with the logger the SDK injects.
func New(log hclog.Logger) sdk.Channel { return NewSlack(log) }

// NewSlack builds the channel with options.
func NewSlack(log hclog.Logger, opts ...Option) *Slack {
	s := &Slack{log: log, now: time.Now, concurrency: defaultConcurrency, clients: &httpchannel.Clients{Options: httpchannel.Options{MaxIdleConnsPerHost: maxIdlePerHost}}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Describe reports the plugin's identity and config schema.
func (s *Slack) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Posts each message to a Slack channel through an incoming webhook, as Block Kit blocks.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one channel block's config.
func (s *Slack) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Send posts every message, a few at a time, and classifies each outcome.
// When Slack asks to slow down (429, or it is failing with 5xx), messages
// not yet started are not sent and come back retryable: Slack warns that
// apps which keep posting while rate-limited may be disabled.
func (s *Slack) Send(ctx context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	cfg, check := decodeConfig(req.Config)
	if check.Diagnostics.HasErrors() {
		return sdk.FailAll(len(req.Messages), fmt.Errorf("channel %q is misconfigured: %s", req.Channel, check.Diagnostics[0].Summary)), nil
	}
	target, err := url.Parse(cfg.WebhookURL)
	if err != nil { // Validate parsed it already
		return nil, fmt.Errorf("parsing webhook_url: %w", err)
	}
	client := s.clients.Get(cfg.AllowPrivateNetworks)

	results := httpchannel.SendAll(ctx, req.Messages, s.concurrency, func(ctx context.Context, m *sdk.Message) (sdk.SendResult, bool) {
		res, answered := s.send(ctx, client, cfg, target, m)
		return res, answered && res.Status == sdk.StatusRetryable
	})
	return &sdk.SendResponse{Results: results}, nil
}

// send delivers one message. answered reports whether Slack (or whatever
// listens at the URL) sent a response, as opposed to a transport failure.
func (s *Slack) send(ctx context.Context, client *http.Client, cfg *Config, target *url.URL, m *sdk.Message) (res sdk.SendResult, answered bool) {
	payload, ok := buildPayload(m, cfg.Mention)
	if !ok {
		return sdk.Fail(errors.New("message has neither subject nor text; give the action a template that renders one")), false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the text is entity-escaped for Slack already
	if err := enc.Encode(payload); err != nil {
		return sdk.Fail(fmt.Errorf("encoding message %s: %w", m.ID, err)), false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), &buf)
	if err != nil {
		return sdk.Fail(fmt.Errorf("building request: %w", err)), false
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", userAgent)

	res, answer := httpchannel.Do(ctx, client, req, cfg.Timeout.D(), s.now())
	res = classify(res, answer.Body)
	// httpchannel keeps the URL out of its errors; make sure nothing else
	// brings the webhook's token in.
	res.Error = strings.ReplaceAll(res.Error, target.String(), redact(target))
	res.Error = strings.ReplaceAll(res.Error, cfg.WebhookURL, redact(target))
	s.log.Debug("slack attempted", "message_id", m.ID, "status", res.Status, "error", res.Error)
	return res, answer.StatusCode != 0
}

// slackErrors are the answers Slack documents for incoming webhooks that
// retrying cannot fix, with what the operator should do.
var slackErrors = map[string]string{
	"invalid_payload":       "Slack could not read the message; this is a bug in the slack plugin, please report it",
	"no_text":               "Slack found no text in the message; this is a bug in the slack plugin, please report it",
	"invalid_blocks":        "Slack refused the message's blocks; this is a bug in the slack plugin, please report it",
	"invalid_blocks_format": "Slack refused the message's blocks; this is a bug in the slack plugin, please report it",
	"user_not_found":        "a user the message refers to does not exist in the workspace",
	"action_prohibited":     "the workspace restricts posting through this webhook; ask a Slack admin to lift the restriction",
	"invalid_token":         "the webhook's token is no longer valid; create a new incoming webhook and update webhook_url",
	"channel_not_found":     "the webhook's channel no longer exists; create a new incoming webhook for another channel and update webhook_url",
	"no_service":            "the webhook was disabled or removed; create a new incoming webhook and update webhook_url",
	"no_team":               "the webhook's workspace no longer exists; update webhook_url",
	"team_disabled":         "the webhook's workspace is disabled; update webhook_url",
	"channel_is_archived":   "the webhook's channel is archived; unarchive it, or create a webhook for another channel and update webhook_url",
}

// classify refines httpchannel's reading of Slack's answer: success is a
// 200 whose body is "ok", and Slack's documented error codes say what to
// do. Retryable answers (429 with Retry-After, 5xx) are kept as they are.
func classify(res sdk.SendResult, body []byte) sdk.SendResult {
	code := strings.TrimSpace(string(body))
	switch res.Status {
	case sdk.StatusOK:
		if code == "ok" {
			return sdk.Sent("")
		}
		return sdk.Fail(fmt.Errorf("the URL answered with success but without Slack's \"ok\"%s; check that webhook_url is a Slack incoming webhook", httpchannel.Quote(body)))
	case sdk.StatusPermanent:
		if advice, ok := slackErrors[code]; ok {
			return sdk.Fail(fmt.Errorf("slack refused the message with %s: %s", code, advice))
		}
	}
	return res
}
