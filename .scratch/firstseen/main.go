// Command firstseen fires once per customer, the first time one of the
// configured event types arrives.
package main

import (
	"context"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Config is one rule's `config { }` block.
type Config struct {
	On   []string `hcl:"on" doc:"Event types to watch, e.g. [\"order.paid\"]."`
	Step string   `hcl:"step,optional" doc:"Step to fire. Default \"default\"."`
}

// Validate checks what the tags cannot express.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	if len(c.On) == 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("on"), "on must list at least one event type"))
	}
	for i, typ := range c.On {
		if typ == "" {
			diags = append(diags, sdk.Errorf(sdk.Attr("on").Index(i), "event type must not be empty"))
		}
	}
	return diags
}

func decode(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Step: "default"} // defaults before decoding
	return cfg, sdk.CheckConfig(raw, cfg)
}

type FirstSeen struct{ log hclog.Logger }

var _ sdk.Trigger = (*FirstSeen)(nil)

func New(log hclog.Logger) sdk.Trigger { return &FirstSeen{log: log} }

func (f *FirstSeen) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "firstseen", Version: "0.1.0", Schema: sdk.SchemaOf(Config{})}, nil
}

func (f *FirstSeen) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decode(req.Config)
	return resp, nil
}

func (f *FirstSeen) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	out := &sdk.EvaluateResponse{Results: make([]sdk.Result, len(req.Items))}
	for i, item := range req.Items {
		if err := ctx.Err(); err != nil {
			return nil, err // the host retries the whole batch
		}
		res := sdk.Result{State: item.State} // keep state unless we change it
		cfg, v := decode(req.Rules[item.Rule])
		switch {
		case v.Diagnostics.HasErrors():
			res.Err = "invalid config for rule " + item.Rule
		case len(item.State) == 0 && slices.Contains(cfg.On, item.Event.Type):
			res.State = []byte("seen")
			res.Fires = []sdk.Fire{{Step: cfg.Step, Data: map[string]any{"first_type": item.Event.Type}}}
			f.log.Debug("first event", "rule", item.Rule, "customer", item.Profile.Key())
		}
		out.Results[i] = res
	}
	return out, nil
}

func main() { sdk.ServeTrigger(New) }
