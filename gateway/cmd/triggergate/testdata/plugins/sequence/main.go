// Command sequence is a trigger plugin for the gateway's process tests:
// its state for a customer is the list of event ids it has processed, in
// order, so a test can prove every accepted event was processed exactly
// once and in commit order, across crashes and partition moves. It never
// fires. With delay set it takes that long per batch: a slow plugin.
package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

type sequence struct{}

// config is the trigger's config block.
type config struct {
	Delay sdk.Duration `hcl:"delay,optional" doc:"Time taken per batch, to play a slow plugin."`
}

func (sequence) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "sequence", Version: "0.1.0", Schema: sdk.SchemaOf(config{})}, nil
}

func (sequence) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return sdk.CheckConfig(req.Config, &config{}), nil
}

func (sequence) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	var delay time.Duration
	for _, raw := range req.Rules {
		var c config
		if err := sdk.DecodeConfig(raw, &c); err != nil {
			return nil, err
		}
		delay = max(delay, c.Delay.D())
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(delay):
	}
	out := &sdk.EvaluateResponse{Results: make([]sdk.Result, len(req.Items))}
	for i, it := range req.Items {
		var seen []string
		if len(it.State) > 0 {
			if err := json.Unmarshal(it.State, &seen); err != nil {
				out.Results[i] = sdk.Result{State: it.State, Err: "state does not decode: " + err.Error()}
				continue
			}
		}
		seen = append(seen, it.Event.DeliveryID)
		state, _ := json.Marshal(seen)
		out.Results[i] = sdk.Result{State: state}
	}
	return out, nil
}

func main() { sdk.ServeTrigger(func(hclog.Logger) sdk.Trigger { return sequence{} }) }
