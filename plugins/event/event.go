package main

import (
	"context"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
)

// Plugin identity, as reported by Describe.
const (
	pluginName    = "event"
	pluginVersion = "0.1.0"
)

// timerFired is the internal event type the host sends when a timer comes
// due. This trigger sets no timers, so it only reacts to it when asked to
// by name.
const timerFired = "timer.fired"

// DefaultStep is the step a rule fires when its config names none.
const DefaultStep = "default"

// Config is one rule's config block.
type Config struct {
	// On lists the event types that fire the rule. "*" matches any type and
	// "prefix.*" any type under prefix; neither matches "timer.fired".
	On sdk.EventTypes `hcl:"on" doc:"Event types that fire the rule, e.g. [\"order.placed\"]. \"*\" matches any type, \"order.*\" any type starting with \"order.\". Each must be a type some configured source sends."`
	// When is an optional condition over event and customer. An expression
	// that fails to evaluate (for example a missing attribute) counts as
	// not met.
	When sdk.Expression `hcl:"when,optional" doc:"Condition over event and customer that must hold for the rule to fire, e.g. event.properties.value > 50. An evaluation error (such as a missing attribute) counts as false and is logged; guard optional data with try() or can()."`
	// Step is the name of the step the rule fires.
	Step string `hcl:"step,optional" doc:"Name of the step to fire. Default \"default\"."`
}

// Validate checks what the struct tags cannot express.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	if len(c.On) == 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("on"), "on must list at least one event type, e.g. on = [\"order.placed\"] or on = [\"*\"]"))
	}
	for i, typ := range c.On {
		if strings.TrimSpace(typ) == "" {
			diags = append(diags, sdk.Errorf(sdk.Attr("on").Index(i), "event type must not be empty"))
		}
	}
	if strings.TrimSpace(c.Step) == "" {
		diags = append(diags, sdk.Errorf(sdk.Attr("step"), "step must not be empty; leave it out to use %q", DefaultStep))
	}
	return diags
}

// matches reports whether an event type fires the rule.
func (c *Config) matches(typ string) bool { return sdk.MatchType(c.On, typ) }

// decodeConfig decodes a rule's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Step: DefaultStep}
	return cfg, sdk.CheckConfig(raw, cfg)
}

// Event is the "event" trigger.
type Event struct {
	log hclog.Logger
}

var _ sdk.Trigger = (*Event)(nil)

// New builds the trigger with the logger the SDK injects.
func New(log hclog.Logger) sdk.Trigger { return &Event{log: log} }

// Describe reports the plugin's identity and config schema.
func (e *Event) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Fires a step when a matching event arrives and its condition holds.",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one rule's config.
func (e *Event) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Evaluate fires once per matching event. The rule keeps no state of its
// own: whatever state the host holds is handed back unchanged.
func (e *Event) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	return sdk.EvaluateEach(ctx, req, decodeConfig, func(item *sdk.EvaluateItem, cfg *Config) sdk.Result {
		res := sdk.Result{State: item.State}
		if fire, ok := e.evaluate(item, cfg); ok {
			res.Fires = []sdk.Fire{fire}
		}
		return res
	})
}

// evaluate decides whether one item fires.
func (e *Event) evaluate(item *sdk.EvaluateItem, cfg *Config) (sdk.Fire, bool) {
	if !cfg.matches(item.Event.Type) {
		return sdk.Fire{}, false
	}
	if cfg.When.IsSet() {
		ok, err := cfg.When.EvalBool(&item.Event, &item.Profile)
		if err != nil {
			e.log.Warn("condition could not be evaluated; treating it as not met",
				"rule", item.Rule, "event_id", item.Event.ID, "event_type", item.Event.Type, "error", err)
			return sdk.Fire{}, false
		}
		if !ok {
			return sdk.Fire{}, false
		}
	}
	// The event id makes the fire unique: a redelivered event is the same
	// message, a new event of the same type is a new one.
	return sdk.Fire{Step: cfg.Step, Key: item.Event.ID}, true
}
