package main

import (
	"context"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Plugin identity, as reported by Describe.
const (
	pluginName    = "log"
	pluginVersion = "0.1.0"
)

// Config is one channel block's config.
type Config struct {
	// IncludeBody adds the rendered text to each log line.
	IncludeBody bool `hcl:"include_body,optional" doc:"Also log the message's rendered text. Default false, since bodies can be long and hold personal data."`
}

// Log is the "log" channel.
type Log struct {
	log hclog.Logger
}

var _ sdk.Channel = (*Log)(nil)

// New builds the channel with the logger the SDK injects; messages are
// written to it.
func New(log hclog.Logger) sdk.Channel { return &Log{log: log} }

// Describe reports the plugin's identity and config schema.
func (l *Log) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Writes each message to the gateway log instead of delivering it; for development.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one channel block's config.
func (l *Log) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return sdk.CheckConfig(req.Config, &Config{}), nil
}

// Send logs every message at info level; it always succeeds.
func (l *Log) Send(_ context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	var cfg Config
	if err := sdk.DecodeConfig(req.Config, &cfg); err != nil {
		// Logging must not lose a message over a config detail.
		l.log.Warn("ignoring invalid config", "channel", req.Channel, "error", err)
	}
	out := &sdk.SendResponse{Results: make([]sdk.SendResult, len(req.Messages))}
	for i := range req.Messages {
		m := &req.Messages[i]
		l.log.Info("message delivered", fields(req.Channel, m, cfg.IncludeBody)...)
		out.Results[i] = sdk.Sent("log-" + m.ID)
	}
	return out, nil
}

// fields are the key/value pairs logged for m.
func fields(channel string, m *sdk.Message, includeBody bool) []any {
	kv := []any{
		"channel", channel,
		"trigger", m.Trigger,
		"step", m.Step,
		"message_id", m.ID,
		"customer", customer(m.Profile.Customer),
		"event_type", m.Event.Type,
		"event_id", m.Event.ID,
	}
	if m.Subject != "" {
		kv = append(kv, "subject", m.Subject)
	}
	if includeBody && m.Text != "" {
		kv = append(kv, "text", m.Text)
	}
	return kv
}

// customer names the recipient the way a person reading the log would
// look them up: by email, else by id, else by any identity the gateway has.
func customer(c sdk.Customer) string {
	switch {
	case c.Email != "":
		return c.Email
	case c.ID != "":
		return c.ID
	}
	return c.Key()
}
