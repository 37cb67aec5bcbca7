package main

import (
	"fmt"
	"strings"

	"github.com/triggergate/triggergate/sdk"
)

// Re-entry rules: what a start event does for a customer who has already
// entered the journey.
const (
	// ReentryNever lets a customer through the journey once, ever.
	ReentryNever = "never"
	// ReentryAfterExit lets a customer start again once the previous
	// instance has ended (completed, converted or exited).
	ReentryAfterExit = "after_exit"
	// ReentryAlways makes every start event begin a new instance, ending
	// one still running.
	ReentryAlways = "always"
)

// Limits that keep configs, state and fire data small.
const (
	maxSteps     = 100  // step blocks per journey
	maxNameLen   = 64   // characters in a step name
	maxCarry     = 16   // names in carry
	maxCarrySize = 1024 // bytes of JSON per carried value
)

// Config is one rule's config block.
type Config struct {
	// Start lists the event types that enter a customer into the journey.
	Start sdk.EventTypes `hcl:"start" doc:"Event types that start the journey, e.g. [\"customer.created\"]. \"*\" matches any type, \"order.*\" any type starting with \"order.\"."`
	// When is the entry condition, evaluated on the start event.
	When sdk.Expression `hcl:"when,optional" doc:"Condition over event and customer that a start event must meet to enter the journey, e.g. try(customer.email, \"\") != \"\". An evaluation error counts as false. Default: always."`
	// Goal lists the conversion events.
	Goal sdk.EventTypes `hcl:"goal,optional" doc:"Event types that end a running journey as converted (the goal is reached), e.g. [\"order.placed\"]. Default: none."`
	// GoalStep is fired when the goal is reached.
	GoalStep string `hcl:"goal_step,optional" doc:"Step fired when a running journey reaches its goal, e.g. \"thanks\" or \"notify_sales\". Default: none (no fire)."`
	// Exit lists the events that end the journey without conversion.
	Exit sdk.EventTypes `hcl:"exit,optional" doc:"Event types that end a running journey without conversion, e.g. [\"email.unsubscribed\", \"customer.deleted\"]. Default: none."`
	// Reentry says whether a customer can go through the journey again.
	Reentry string `hcl:"reentry,optional" doc:"\"never\": once per customer; \"after_exit\": again once the previous run has ended; \"always\": a start event restarts a running journey. Default \"never\"."`
	// ReentryAfter is the minimum time between two entries.
	ReentryAfter sdk.Duration `hcl:"reentry_after,optional" doc:"Minimum time between two entries of the same customer, e.g. \"30d\"; a start event sooner is ignored. Default \"0s\"."`
	// Carry lists start event properties kept for every step's fire data.
	Carry []string `hcl:"carry,optional" doc:"Properties of the start event kept with the journey and passed to every step as .Fire.start.NAME, e.g. [\"order_id\", \"product_name\"]. At most 16; values over 1 KB of JSON are dropped. Default: none."`
	// Steps are the journey's steps, in order.
	Steps []Step `hcl:"step,block" doc:"The journey's steps, in order (at least one, at most 100)."`
}

// Step is one `step { }` block.
type Step struct {
	// Name identifies the step in fires, templates and KPIs.
	Name string `hcl:"name" doc:"Step name, unique in the journey, e.g. \"welcome\": a lower-case letter, then lower-case letters, digits, \"_\" or \"-\" (at most 64 characters)."`
	// Delay is counted from when the previous step came due.
	Delay sdk.Duration `hcl:"delay,optional" doc:"Wait after the previous step came due (after entry for the first step, after the jump for an else target), e.g. \"2d\". \"0s\" fires in the same evaluation. Default \"0s\"."`
	// When is evaluated when the step comes due.
	When sdk.Expression `hcl:"when,optional" doc:"Condition over event and customer evaluated when the step comes due (event is the timer.fired event, or the event that made a 0s step due). False (or an evaluation error) skips the step. Default: always."`
	// Else is the step to jump to when When is false.
	Else string `hcl:"else,optional" doc:"Step to jump to when when is false, scheduled with its own delay from then. Default: go on to the next step."`
}

// Validate checks what the struct tags cannot express.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	seen := map[string]string{} // exact event type -> the list that has it
	checkTypes := func(attr string, types []string, required bool) {
		if required && len(types) == 0 {
			diags = append(diags, sdk.Errorf(sdk.Attr(attr), "%s must list at least one event type, e.g. %s = [\"customer.created\"]", attr, attr))
		}
		for i, typ := range types {
			p := sdk.Attr(attr).Index(i)
			switch {
			case strings.TrimSpace(typ) == "":
				diags = append(diags, sdk.Errorf(p, "event type must not be empty"))
			case typ == timerFired:
				diags = append(diags, sdk.Errorf(p, "%q is the journey's own timer and cannot be listed; name the events that should %s the journey", timerFired, verb(attr)))
			case seen[typ] != "":
				diags = append(diags, sdk.Errorf(p, "%q is already listed in %s; an event type can be in only one of start, goal and exit", typ, seen[typ]))
			default:
				seen[typ] = attr
			}
		}
	}
	checkTypes("start", c.Start, true)
	checkTypes("goal", c.Goal, false)
	checkTypes("exit", c.Exit, false)

	switch c.Reentry {
	case ReentryNever, ReentryAfterExit, ReentryAlways:
	default:
		diags = append(diags, sdk.Errorf(sdk.Attr("reentry"), "reentry must be %q, %q or %q, not %q", ReentryNever, ReentryAfterExit, ReentryAlways, c.Reentry))
	}
	if c.ReentryAfter < 0 {
		diags = append(diags, sdk.Errorf(sdk.Attr("reentry_after"), "reentry_after must not be negative"))
	}
	if c.Reentry == ReentryNever && c.ReentryAfter > 0 {
		diags = append(diags, sdk.Diagnostic{
			Severity: sdk.SeverityWarning, Path: sdk.Attr("reentry_after"),
			Summary: fmt.Sprintf("reentry_after has no effect with reentry = %q; set reentry = %q or %q, or remove it", ReentryNever, ReentryAfterExit, ReentryAlways),
		})
	}

	if len(c.Carry) > maxCarry {
		diags = append(diags, sdk.Errorf(sdk.Attr("carry"), "carry lists %d properties; keep at most %d", len(c.Carry), maxCarry))
	}
	for i, name := range c.Carry {
		if strings.TrimSpace(name) == "" {
			diags = append(diags, sdk.Errorf(sdk.Attr("carry").Index(i), "property name must not be empty"))
		}
	}

	diags = append(diags, c.validateSteps()...)

	if c.GoalStep != "" {
		p := sdk.Attr("goal_step")
		switch {
		case len(c.Goal) == 0:
			diags = append(diags, sdk.Errorf(p, "goal_step needs goal: list the conversion events in goal, or remove goal_step"))
		case !validName(c.GoalStep):
			diags = append(diags, sdk.Errorf(p, "goal_step %q: start with a lower-case letter, then up to %d lower-case letters, digits, \"_\" or \"-\"", c.GoalStep, maxNameLen-1))
		case c.stepIndex(c.GoalStep) >= 0:
			diags = append(diags, sdk.Errorf(p, "goal_step %q is also the name of a step; give it a name of its own", c.GoalStep))
		}
	}
	return diags
}

// validateSteps checks the step blocks: names, delays, else targets and
// loops that would never wait.
func (c *Config) validateSteps() sdk.Diagnostics {
	var diags sdk.Diagnostics
	switch {
	case len(c.Steps) == 0:
		return append(diags, sdk.Errorf(sdk.Attr("step"), "a journey needs at least one step block, e.g. step { name = \"welcome\" }"))
	case len(c.Steps) > maxSteps:
		diags = append(diags, sdk.Errorf(sdk.Attr("step").Index(maxSteps), "a journey has at most %d steps; split it into several journeys", maxSteps))
	}
	first := map[string]int{}
	for i, s := range c.Steps {
		p := sdk.Attr("step").Index(i)
		if !validName(s.Name) {
			diags = append(diags, sdk.Errorf(p.Attr("name"), "step name %q: start with a lower-case letter, then up to %d lower-case letters, digits, \"_\" or \"-\"", s.Name, maxNameLen-1))
		} else if j, dup := first[s.Name]; dup {
			diags = append(diags, sdk.Errorf(p.Attr("name"), "step name %q is already used by step[%d]; step names must be unique", s.Name, j))
		} else {
			first[s.Name] = i
		}
		if s.Delay < 0 {
			diags = append(diags, sdk.Errorf(p.Attr("delay"), "delay must not be negative"))
		}
		if s.Else == "" {
			continue
		}
		switch j := c.stepIndex(s.Else); {
		case !s.When.IsSet():
			diags = append(diags, sdk.Errorf(p.Attr("else"), "else only applies when the step has a when condition; add one or remove else"))
		case j < 0:
			diags = append(diags, sdk.Errorf(p.Attr("else"), "else names step %q, which does not exist", s.Else))
		case j == i:
			diags = append(diags, sdk.Errorf(p.Attr("else"), "else must name another step, not the step itself"))
		case c.Steps[j].Delay == 0 && s.Delay == 0 && c.reachesWithoutDelay(j, i):
			diags = append(diags, sdk.Errorf(p.Attr("else"),
				"else %q makes a loop whose steps all have delay 0, which would never stop; give one of its steps a delay", s.Else))
		}
	}
	return diags
}

// reachesWithoutDelay reports whether step to can come due right after
// step from, through steps that all have delay 0: the path a single
// evaluation follows.
func (c *Config) reachesWithoutDelay(from, to int) bool {
	seen := make([]bool, len(c.Steps))
	stack := []int{from}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if i == to {
			return true
		}
		if i < 0 || i >= len(c.Steps) || seen[i] || c.Steps[i].Delay != 0 {
			continue
		}
		seen[i] = true
		stack = append(stack, i+1)
		if c.Steps[i].Else != "" && c.Steps[i].When.IsSet() {
			stack = append(stack, c.stepIndex(c.Steps[i].Else))
		}
	}
	return false
}

// stepIndex returns the index of the first step called name, or -1.
func (c *Config) stepIndex(name string) int {
	for i, s := range c.Steps {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// validName reports whether s can name a step. Step names follow the
// rule of the gateway's own block names (^[a-z][a-z0-9_-]{0,63}$): they
// end up in message ids, metrics and fire keys ("3:welcome"), so they
// must not contain the key's ":" separator.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// verb says what an event list does, for messages.
func verb(attr string) string {
	switch attr {
	case "goal":
		return "convert"
	case "exit":
		return "exit"
	}
	return "start"
}

// matches reports whether an event type is in a list of types and
// patterns: exact, "*" (any) or "prefix.*". The journey's own timer never
// matches.
func matches(patterns []string, typ string) bool {
	return typ != timerFired && sdk.MatchType(patterns, typ)
}

// decodeConfig decodes a rule's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Reentry: ReentryNever}
	return cfg, sdk.CheckConfig(raw, cfg)
}
