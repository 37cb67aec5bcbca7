// Package app assembles a gateway from its configuration: Prepare checks
// and binds every part (sources, templates, plugins and their config), and
// Run serves a prepared configuration until its context ends.
package app

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/policy"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/kinds"
	"github.com/triggergate/triggergate/gateway/internal/tracking"
	"github.com/triggergate/triggergate/sdk"
)

// Plan is a configuration whose every part has been checked and bound:
// what Run needs, and what `triggergate validate` proves can be built.
type Plan struct {
	Sources   []ingest.Source
	Rules     []engine.Rule
	Channels  map[string]delivery.Channel
	Templates map[string]*render.Template
	// Policy is the policies applied to every fire, and ChannelKinds the
	// kind of each channel, for consent and caps.
	Policy       *policy.Global
	ChannelKinds map[string]string
	// TimerLateness is policy.max_timer_lateness.
	TimerLateness time.Duration
	// Tracking decorates email and serves its links; nil when the
	// configuration has no tracking block.
	Tracking *Tracking
}

// Tracking is the tracking block, bound.
type Tracking struct {
	Signer     *tracking.Signer
	Links      *tracking.Links
	SenderName string
	LinkMaxAge time.Duration
}

// DeliveryOptions are the delivery worker's settings the plan carries.
func (p *Plan) DeliveryOptions() []delivery.Option {
	opts := []delivery.Option{delivery.WithDefaultLocation(p.Policy.DefaultTimezone)}
	if p.Tracking != nil {
		opts = append(opts, delivery.WithTracking(p.Tracking.Links))
	}
	return opts
}

// DeliverySetup is what the plan gives a running delivery worker.
func (p *Plan) DeliverySetup() delivery.Setup {
	s := delivery.Setup{Channels: p.Channels, Templates: p.Templates, DefaultLocation: p.Policy.DefaultTimezone}
	if p.Tracking != nil {
		s.Links = p.Tracking.Links
	}
	return s
}

// Ruleset is what the plan gives a running engine.
func (p *Plan) Ruleset() engine.Ruleset {
	return engine.Ruleset{Rules: p.Rules, Policy: p.Policy, ChannelKinds: p.ChannelKinds, TimerLateness: p.TimerLateness}
}

// emptyPlan is what a cluster node serves before any configuration has
// been applied: nothing.
func emptyPlan() *Plan {
	return &Plan{Channels: map[string]delivery.Channel{}, Templates: map[string]*render.Template{},
		Policy: &policy.Global{DefaultTimezone: time.UTC}, ChannelKinds: map[string]string{}}
}

// EngineOptions are the engine settings the plan carries, for Run and for
// the simulator.
func (p *Plan) EngineOptions() []engine.Option {
	return []engine.Option{engine.WithPolicy(p.Policy), engine.WithChannelKinds(p.ChannelKinds),
		engine.WithTimerLateness(p.TimerLateness)}
}

// Prepare checks the parts of cfg that need more than the HCL itself:
// source kinds and their settings, templates, and each plugin's config,
// decoded against the schema the plugin describes and validated by the
// plugin. It starts the plugins it needs through host. Every problem comes
// back as a diagnostic with the file and line it stems from.
func Prepare(ctx context.Context, cfg *config.Config, host *pluginhost.Host) (*Plan, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	plan := &Plan{Channels: map[string]delivery.Channel{}, Templates: map[string]*render.Template{},
		Policy: globalPolicy(&cfg.Policy), ChannelKinds: map[string]string{}, TimerLateness: cfg.Policy.MaxTimerLateness}
	for _, c := range cfg.Channels {
		plan.ChannelKinds[c.Name] = c.Kind
	}

	for _, p := range cfg.Plugins {
		host.Register(pluginhost.Spec{Name: p.Name, Path: p.Path, SHA256: p.SHA256})
	}

	for _, s := range cfg.Sources {
		adapter, d := kinds.Build(source.Spec{
			Name: s.Name, Kind: s.Kind, Secrets: s.Secrets, ReplayWindow: s.ReplayWindow,
			Body: s.Body, DefRange: s.DeclRange,
			EvalContext: cfg.EvalContext(),
		})
		diags = append(diags, d...)
		if !d.HasErrors() {
			plan.Sources = append(plan.Sources, ingest.Source{
				Name: s.Name, Kind: s.Kind, Adapter: adapter,
				MaxBodyBytes: s.MaxBodyBytes, DedupeWindow: s.DedupeWindow,
			})
		}
	}

	for _, t := range cfg.Templates {
		tmpl, err := render.Parse(t.Name, t.Subject, t.Text, t.HTML)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid template", Detail: err.Error(), Subject: t.DeclRange.Ptr(),
			})
			continue
		}
		plan.Templates[t.Name] = tmpl
	}

	if t := cfg.Tracking; t != nil {
		tr, err := bindTracking(t)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid tracking block",
				Detail: err.Error(), Subject: t.DeclRange.Ptr()})
		}
		plan.Tracking = tr
	}

	events := cfg.Events()
	for _, c := range cfg.Channels {
		handle, err := host.Channel(c.Plugin)
		if err != nil {
			diags = append(diags, pluginDiag(c.Plugin, err, c.PluginRange))
			continue
		}
		raw, d := pluginConfig(ctx, handle, c.Config, cfg.EvalContext(), c.ConfigRange, c.PluginRange, events)
		diags = append(diags, d...)
		if !d.HasErrors() {
			plan.Channels[c.Name] = deliveryChannel(c, handle, raw)
		}
	}

	for _, t := range cfg.Triggers {
		handle, err := host.Trigger(t.Plugin)
		if err != nil {
			diags = append(diags, pluginDiag(t.Plugin, err, t.PluginRange))
			continue
		}
		raw, d := pluginConfig(ctx, handle, t.Config, cfg.EvalContext(), t.ConfigRange, t.PluginRange, events)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		rule := engine.Rule{Name: t.Name, Trigger: handle, Config: raw,
			Policy: policy.Rule{Name: t.Name, Transactional: t.Transactional, Holdout: t.Holdout}}
		if c := t.FrequencyCap; c != nil {
			rule.Policy.Cap = policy.Cap{Max: c.Max, Per: c.Per}
		}
		for _, a := range t.Actions {
			act := engine.Action{Channel: a.Channel, Template: a.Template, Steps: a.Steps}
			for _, v := range a.Variants {
				act.Variants = append(act.Variants, policy.Variant{Name: v.Name, Template: v.Template, Weight: v.Weight})
			}
			rule.Actions = append(rule.Actions, act)
		}
		plan.Rules = append(plan.Rules, rule)
	}
	return plan, diags
}

// bindTracking builds the signer and link decorator of a tracking block.
func bindTracking(t *config.Tracking) (*Tracking, error) {
	keys := make([][]byte, len(t.Secrets))
	for i, s := range t.Secrets {
		keys[i] = []byte(s)
	}
	signer, err := tracking.NewSigner(keys...)
	if err != nil {
		return nil, err
	}
	links, err := tracking.NewLinks(t.BaseURL, signer)
	if err != nil {
		return nil, err
	}
	return &Tracking{Signer: signer, Links: links, SenderName: t.SenderName, LinkMaxAge: t.LinkMaxAge}, nil
}

// deliveryChannel binds a channel block to its plugin with its delivery
// settings.
func deliveryChannel(c *config.Channel, p sdk.Channel, raw sdk.RawConfig) delivery.Channel {
	d := c.Delivery
	return delivery.Channel{
		Name: c.Name, Plugin: p, Config: raw, Kind: c.Kind,
		Retry:  &delivery.Policy{MaxAttempts: d.MaxAttempts, MaxAge: d.MaxAge, BaseDelay: d.MinDelay, MaxDelay: d.MaxDelay},
		Limits: delivery.Limits{RatePerSecond: d.RatePerSecond, BreakerFailures: d.BreakerFailures, BreakerCooldown: d.BreakerCooldown},
	}
}

// globalPolicy translates the policy block for the engine.
func globalPolicy(p *config.Policy) *policy.Global {
	g := &policy.Global{RequireOptIn: p.RequireOptIn, DefaultTimezone: p.DefaultLocation}
	for _, c := range p.FrequencyCaps {
		g.Caps = append(g.Caps, policy.Cap{Channel: c.Channel, Max: c.Max, Per: c.Per})
	}
	if q := p.QuietHours; q != nil {
		g.Quiet = &policy.QuietHours{Start: q.Start, End: q.End, Action: q.Action, Fallback: q.Fallback, Kinds: q.Channels}
	}
	return g
}

// pluginConfig decodes a config block against the plugin's schema and has
// the plugin validate the result.
func pluginConfig(ctx context.Context, p sdk.Describer, body hcl.Body, evalCtx *hcl.EvalContext, blockRange, pluginRange hcl.Range, events *config.EventCatalog) (sdk.RawConfig, hcl.Diagnostics) {
	desc, err := p.Describe(ctx)
	if err != nil {
		return nil, hcl.Diagnostics{pluginDiag("", err, pluginRange)}
	}
	raw, diags := config.DecodePluginConfig(body, desc.Schema, evalCtx, events)
	if diags.HasErrors() {
		return nil, diags
	}
	resp, err := p.ValidateConfig(ctx, &sdk.ValidateConfigRequest{Config: raw})
	if err != nil {
		return nil, append(diags, pluginDiag(desc.Name, err, pluginRange))
	}
	diags = append(diags, config.PluginDiagnostics(body, blockRange, resp.Diagnostics)...)
	return raw, diags
}

func pluginDiag(name string, err error, rng hcl.Range) *hcl.Diagnostic {
	summary := "Plugin unavailable"
	if name != "" {
		summary = fmt.Sprintf("Plugin %q unavailable", name)
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error(), Subject: rng.Ptr()}
}
