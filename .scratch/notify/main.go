// Command notify POSTs each message's text to an HTTP endpoint.
package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Config is one channel block's `config { }`.
type Config struct {
	URL     string       `hcl:"url" doc:"Endpoint that receives a POST per message."`
	Timeout sdk.Duration `hcl:"timeout,optional" doc:"Time allowed per request. Default \"10s\"."`
}

func decode(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Timeout: sdk.Duration(10 * time.Second)}
	return cfg, sdk.CheckConfig(raw, cfg)
}

type Notify struct {
	log    hclog.Logger
	client *http.Client
}

var _ sdk.Channel = (*Notify)(nil)

func New(log hclog.Logger) sdk.Channel { return &Notify{log: log, client: &http.Client{}} }

func (n *Notify) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "notify", Version: "0.1.0", Schema: sdk.SchemaOf(Config{})}, nil
}

func (n *Notify) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decode(req.Config)
	return resp, nil
}

func (n *Notify) Send(ctx context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	cfg, v := decode(req.Config)
	if v.Diagnostics.HasErrors() {
		return nil, fmt.Errorf("config of channel %q is invalid", req.Channel)
	}
	out := &sdk.SendResponse{Results: make([]sdk.SendResult, len(req.Messages))}
	for i := range req.Messages {
		out.Results[i] = n.send(ctx, cfg, &req.Messages[i])
	}
	return out, nil
}

func (n *Notify) send(ctx context.Context, cfg *Config, m *sdk.Message) sdk.SendResult {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout.D())
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewBufferString(m.Text))
	if err != nil {
		return sdk.Fail(fmt.Errorf("building request: %w", err))
	}
	r.Header.Set("Idempotency-Key", m.ID) // same on every attempt
	resp, err := n.client.Do(r)
	if err != nil {
		return sdk.Retry(err, 0)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return sdk.Sent(resp.Header.Get("X-Request-Id"))
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return sdk.Retry(fmt.Errorf("endpoint answered %s", resp.Status), 0)
	default:
		return sdk.Fail(fmt.Errorf("endpoint answered %s", resp.Status))
	}
}

func main() { sdk.ServeChannel(New) }
