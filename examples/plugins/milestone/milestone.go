package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Step is the step every milestone fires.
const Step = "milestone"

// Config is one rule's config block.
type Config struct {
	// On lists the event types that are counted.
	On sdk.EventTypes `hcl:"on" doc:"Event types to count, e.g. [\"order.paid\"]. \"*\" counts every event except timer.fired."`
	// Milestones are the counts at which the rule fires.
	Milestones []int `hcl:"milestones" doc:"Counts at which to fire, e.g. [1, 5, 10]. Each fires once per customer."`
}

// Validate checks what the struct tags cannot express.
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
	if len(c.Milestones) == 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("milestones"), "milestones must list at least one count, e.g. [1, 5, 10]"))
	}
	for i, n := range c.Milestones {
		if n < 1 {
			diags = append(diags, sdk.Errorf(sdk.Attr("milestones").Index(i), "milestone must be 1 or more, got %d", n))
		}
	}
	return diags
}

func (c *Config) counts(typ string) bool {
	return slices.Contains(c.On, typ) || (typ != "timer.fired" && slices.Contains(c.On, "*"))
}

// state is what the rule keeps per customer, as JSON.
type state struct {
	Count int `json:"count"`
}

// Milestone is the trigger.
type Milestone struct {
	log hclog.Logger
}

var _ sdk.Trigger = (*Milestone)(nil)

// New builds the trigger with the logger the SDK injects.
func New(log hclog.Logger) sdk.Trigger { return &Milestone{log: log} }

// Describe reports the plugin's identity and config schema.
func (m *Milestone) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        "milestone",
		Version:     "0.1.0",
		Description: "Counts a customer's matching events and fires when the count reaches a milestone.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one rule's config.
func (m *Milestone) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return sdk.CheckConfig(req.Config, &Config{}), nil
}

// Evaluate counts matching events in the rule state and fires at each
// milestone.
func (m *Milestone) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	out := &sdk.EvaluateResponse{Results: make([]sdk.Result, len(req.Items))}
	for i := range req.Items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := m.evaluate(req.Rules, &req.Items[i])
		if err != nil {
			// Keep the old state so that nothing is lost; the host records
			// the error and retries the event.
			res = sdk.Result{State: req.Items[i].State, Err: err.Error()}
		}
		out.Results[i] = res
	}
	return out, nil
}

func (m *Milestone) evaluate(rules map[string]sdk.RawConfig, item *sdk.EvaluateItem) (sdk.Result, error) {
	var cfg Config
	if resp := sdk.CheckConfig(rules[item.Rule], &cfg); resp.Diagnostics.HasErrors() {
		return sdk.Result{}, fmt.Errorf("config of rule %q is invalid: %s", item.Rule, resp.Diagnostics[0].Summary)
	}
	if !cfg.counts(item.Event.Type) {
		return sdk.Result{State: item.State}, nil
	}
	var st state
	if len(item.State) > 0 {
		if err := json.Unmarshal(item.State, &st); err != nil {
			return sdk.Result{}, fmt.Errorf("decoding state of rule %q: %w", item.Rule, err)
		}
	}
	st.Count++
	b, err := json.Marshal(st)
	if err != nil {
		return sdk.Result{}, fmt.Errorf("encoding state: %w", err)
	}
	res := sdk.Result{State: b}
	if slices.Contains(cfg.Milestones, st.Count) {
		m.log.Debug("milestone reached", "rule", item.Rule, "count", st.Count)
		res.Fires = []sdk.Fire{{
			Step: Step,
			Data: map[string]any{"count": st.Count},
			// The count as key: each milestone is one message per customer,
			// even if the host replays the event.
			Key: fmt.Sprint(st.Count),
		}}
	}
	return res, nil
}
