// Command sequence is a trigger plugin for the gateway's process tests:
// its state for a customer is the list of event ids it has processed, in
// order, so a test can prove every accepted event was processed exactly
// once and in commit order, across crashes and partition moves. It never
// fires.
package main

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

type sequence struct{}

func (sequence) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "sequence", Version: "0.1.0", Schema: sdk.Schema{}}, nil
}

func (sequence) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (sequence) Evaluate(_ context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
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
