package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/customer"
)

// This file checks the policy settings of DESIGN.md §6: the policy block,
// a trigger's transactional, holdout and frequency_cap, and an action's
// variants.

func defaultPolicy() Policy {
	return Policy{
		RequireOptIn:     DefaultRequireOptIn(),
		DefaultTimezone:  DefaultTimezone,
		DefaultLocation:  time.UTC,
		MaxTimerLateness: DefaultMaxTimerLateness,
	}
}

// channelSet is what policy settings may refer to: channel names (every
// declared one, so that a mistake in a channel block is reported once)
// and the kinds of the channels that loaded.
type channelSet struct {
	names map[string]bool
	kinds map[string]bool
	kind  map[string]string // name -> kind
}

func (l *loader) channelSet(declChannels []*channelHCL) channelSet {
	cs := channelSet{names: map[string]bool{}, kinds: map[string]bool{}, kind: map[string]string{}}
	for _, c := range declChannels {
		cs.names[c.Name] = true
	}
	for _, c := range l.cfg.Channels {
		cs.kinds[c.Kind] = true
		cs.kind[c.Name] = c.Kind
	}
	return cs
}

func (l *loader) warnf(subject hcl.Range, summary, format string, args ...any) {
	d := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...)}
	if subject != (hcl.Range{}) {
		d.Subject = subject.Ptr()
	}
	l.diags = append(l.diags, d)
}

// kindList checks a list of channel kinds; it warns about kinds no channel
// has, since a typo there silently turns a rule off.
func (l *loader) kindList(list []string, rng hcl.Range, attr string, cs channelSet) bool {
	ok := true
	for _, k := range list {
		if !validName(k) {
			l.errorf(rng, "Invalid channel kind",
				"The %s attribute lists channel kinds such as \"email\" or \"sms\", which match ^[a-z][a-z0-9_-]{0,63}$; got %q.", attr, k)
			ok = false
			continue
		}
		if !cs.kinds[k] {
			l.warnf(rng, "Channel kind not in use",
				"The %s attribute lists %q, but no channel has that kind, so this has no effect. %s", attr, k, knownKinds(cs))
		}
	}
	return ok
}

// knownKinds lists the channel kinds in use, to help fix a typo.
func knownKinds(cs channelSet) string {
	if len(cs.kinds) == 0 {
		return "No channel is defined yet."
	}
	var ks []string
	for k := range cs.kinds {
		ks = append(ks, fmt.Sprintf("%q", k))
	}
	slices.Sort(ks)
	return fmt.Sprintf("Channel kinds in use: %s.", strings.Join(ks, ", "))
}

func (l *loader) policy(blocks []*policyHCL, declChannels []*channelHCL) {
	p, ok := only(l, "policy", blocks, func(p *policyHCL) hcl.Range { return p.DefRange })
	if !ok {
		return
	}
	cs := l.channelSet(declChannels)
	out := &l.cfg.Policy
	out.DeclRange = p.DefRange
	if p.RequireOptIn != nil {
		out.RequireOptInRange = p.RequireOptInRange
		if l.kindList(*p.RequireOptIn, p.RequireOptInRange, "require_opt_in", cs) {
			out.RequireOptIn = slices.Clone(*p.RequireOptIn)
			if out.RequireOptIn == nil {
				out.RequireOptIn = []string{}
			}
		}
	}
	if p.DefaultTimezone != nil {
		out.DefaultTimezoneRange = p.DefaultTimezoneRange
		if loc, err := loadLocation(*p.DefaultTimezone); err != nil {
			l.errorf(p.DefaultTimezoneRange, "Invalid default_timezone",
				"The default_timezone attribute is an IANA time zone name such as \"Europe/Paris\" or \"America/New_York\"; %s.", err)
		} else {
			out.DefaultTimezone, out.DefaultLocation = *p.DefaultTimezone, loc
		}
	}
	if p.MaxTimerLateness != nil {
		out.MaxTimerLatenessRange = p.MaxTimerLatenessRange
		if d, ok := l.duration(*p.MaxTimerLateness, p.MaxTimerLatenessRange, "max_timer_lateness"); ok {
			out.MaxTimerLateness = d
		}
	}

	seen := map[string]hcl.Range{}
	for _, c := range p.Caps {
		if !validName(c.Channel) {
			l.errorf(c.ChannelRange, "Invalid frequency_cap label",
				"The frequency_cap label is a channel kind (such as \"email\") or a channel name, which match ^[a-z][a-z0-9_-]{0,63}$; got %q.", c.Channel)
			continue
		}
		if first, dup := seen[c.Channel]; dup {
			l.errorf(c.DefRange, fmt.Sprintf("Duplicate frequency_cap %q", c.Channel),
				"A frequency_cap for %q is already defined at %s:%d. Keep one block per channel kind or name.", c.Channel, first.Filename, first.Start.Line)
			continue
		}
		seen[c.Channel] = c.DefRange
		if !cs.names[c.Channel] && !cs.kinds[c.Channel] {
			l.warnf(c.ChannelRange, "Frequency cap matches no channel",
				"No channel is named %q or has that kind, so this cap counts nothing. %s", c.Channel, knownKinds(cs))
		}
		if fc, ok := l.frequencyCap(c.Max, c.MaxRange, c.Per, c.PerRange); ok {
			fc.Channel, fc.DeclRange = c.Channel, c.DefRange
			out.FrequencyCaps = append(out.FrequencyCaps, fc)
		}
	}

	if q, ok := only(l, "quiet_hours", p.QuietHours, func(q *quietHoursHCL) hcl.Range { return q.DefRange }); ok {
		out.QuietHours = l.quietHours(q, cs)
	}
}

// loadLocation loads an IANA zone. "Local" and "" are refused: they
// would depend on the host, and nodes of a cluster must agree.
func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("got %q, which depends on the host", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not one (%w)", name, err)
	}
	return loc, nil
}

// decoded reports whether an attribute is present and gohcl decoded it
// without error, so that checks of its value do not report a missing or
// mistyped attribute a second time.
func (l *loader) decoded(attr hcl.Range) bool {
	if attr == (hcl.Range{}) {
		return false
	}
	for _, d := range l.diags {
		if d.Severity == hcl.DiagError && d.Subject != nil && attr.Overlaps(*d.Subject) {
			return false
		}
	}
	return true
}

// frequencyCap checks the attributes shared by policy and trigger caps.
func (l *loader) frequencyCap(maxN int, maxRange hcl.Range, per string, perRange hcl.Range) (FrequencyCap, bool) {
	ok := l.decoded(maxRange)
	if ok && (maxN < 1 || maxN > customer.MaxSends) {
		l.errorf(maxRange, "Invalid frequency_cap max", "The max attribute is how many messages a customer may get per window, from 1 to %d (the sends a customer's record remembers); got %d.", customer.MaxSends, maxN)
		ok = false
	}
	var d time.Duration
	if l.decoded(perRange) {
		var dok bool
		d, dok = l.duration(per, perRange, "per")
		ok = ok && dok
	} else {
		ok = false
	}
	return FrequencyCap{Max: maxN, Per: d}, ok
}

func (l *loader) quietHours(q *quietHoursHCL, cs channelSet) *QuietHours {
	out := &QuietHours{Action: QuietDefer, DeclRange: q.DefRange}
	ok := true
	clock := func(v string, rng hcl.Range, attr, example string) (time.Duration, bool) {
		if !l.decoded(rng) {
			return 0, false
		}
		d, ok := parseClock(v)
		if !ok {
			l.errorf(rng, "Invalid quiet_hours "+attr,
				"The %s attribute is a time of day as HH:MM, from \"00:00\" to \"23:59\", such as %q; got %q.", attr, example, v)
		}
		return d, ok
	}
	start, sok := clock(q.Start, q.StartRange, "start", "21:00")
	end, eok := clock(q.End, q.EndRange, "end", "08:00")
	if sok && eok && start == end {
		l.errorf(q.EndRange, "Empty quiet hours",
			"The quiet_hours start and end are both %q, which is no window at all. Set end to when quiet hours stop (before start for a window across midnight), or remove the block.", q.Start)
		ok = false
	}
	ok = ok && sok && eok
	out.Start, out.End = start, end

	if q.Action != nil {
		switch *q.Action {
		case QuietDefer, QuietDrop, QuietFallback:
			out.Action = *q.Action
		default:
			l.errorf(q.ActionRange, "Invalid quiet_hours action",
				"The action attribute must be \"defer\" (send when quiet hours end), \"drop\" or \"fallback\" (send through the fallback channel); got %q.", *q.Action)
			ok = false
		}
	}
	switch {
	case q.Action != nil && *q.Action == QuietFallback && q.Fallback == nil:
		l.errorf(q.ActionRange, "Missing fallback",
			"With action = \"fallback\", messages due in quiet hours go through another channel: set fallback to the name of a channel block.")
		ok = false
	case q.Fallback != nil && out.Action != QuietFallback:
		l.errorf(q.FallbackRange, "Unexpected fallback",
			"The fallback attribute is used only with action = \"fallback\", and the action is %q. Remove fallback, or set action = \"fallback\".", out.Action)
		ok = false
	case q.Fallback != nil && !cs.names[*q.Fallback]:
		l.errorf(q.FallbackRange, "Unknown channel", "No channel %q is defined. %s", *q.Fallback, known("channel", cs.names))
		ok = false
	case q.Fallback != nil:
		out.Fallback, out.FallbackRange = *q.Fallback, q.FallbackRange
	}

	if q.Channels != nil {
		switch {
		case len(q.Channels) == 0:
			l.errorf(q.ChannelsRange, "Empty quiet_hours channels",
				"The channels list is empty. Leave it out for quiet hours on every channel kind, or list the kinds, e.g. [\"email\", \"sms\"].")
			ok = false
		case !l.kindList(q.Channels, q.ChannelsRange, "channels", cs):
			ok = false
		default:
			out.Channels = slices.Clone(q.Channels)
		}
	}
	// A fallback subject to the same quiet hours would send at night what
	// the window holds back.
	if k, found := cs.kind[out.Fallback]; ok && out.Fallback != "" && found && (out.Channels == nil || slices.Contains(out.Channels, k)) {
		l.errorf(q.FallbackRange, "Fallback channel in quiet hours",
			"The fallback channel %q has kind %q, which these quiet hours also cover, so messages held back would be sent through it anyway. List in channels only the kinds to keep quiet, without %q, or pick another fallback.", out.Fallback, k, k)
		ok = false
	}
	if !ok {
		return nil
	}
	return out
}

// parseClock reads "HH:MM" (00:00 to 23:59) as the time since midnight.
func parseClock(s string) (time.Duration, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	digit := func(c byte) (int, bool) { return int(c - '0'), c >= '0' && c <= '9' }
	h1, ok1 := digit(s[0])
	h2, ok2 := digit(s[1])
	m1, ok3 := digit(s[3])
	m2, ok4 := digit(s[4])
	h, m := h1*10+h2, m1*10+m2
	if !ok1 || !ok2 || !ok3 || !ok4 || h > 23 || m > 59 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

// triggerPolicy checks a trigger's transactional, holdout and
// frequency_cap into out.
func (l *loader) triggerPolicy(t *triggerHCL, out *Trigger) {
	if t.Transactional != nil {
		out.Transactional = *t.Transactional
	}
	if t.Holdout != nil {
		out.HoldoutRange = t.HoldoutRange
		h := *t.Holdout
		switch {
		case !(h >= 0 && h < 1):
			l.errorf(t.HoldoutRange, "Invalid holdout",
				"The holdout attribute is the share of customers who never get the trigger's messages, at least 0 and below 1 (0.1 for 10%%); got %g.", h)
		case h > 0 && out.Transactional:
			l.errorf(t.HoldoutRange, "Holdout on a transactional trigger",
				"The trigger %q is transactional, and transactional messages are never held out. Remove holdout, or transactional if these are marketing messages.", t.Name)
		default:
			out.Holdout = h
		}
	}
	c, ok := only(l, "frequency_cap", t.Caps, func(c *capHCL) hcl.Range { return c.DefRange })
	if !ok {
		return
	}
	if out.Transactional {
		l.errorf(c.DefRange, "Frequency cap on a transactional trigger",
			"The trigger %q is transactional, and transactional messages are never capped. Remove frequency_cap, or transactional if these are marketing messages.", t.Name)
		return
	}
	if fc, ok := l.frequencyCap(c.Max, c.MaxRange, c.Per, c.PerRange); ok {
		fc.DeclRange = c.DefRange
		out.FrequencyCap = &fc
	}
}

// variants checks an action's variant blocks against every declared
// template.
func (l *loader) variants(a *actionHCL, templates map[string]bool) []Variant {
	if len(a.Variants) == 0 {
		return nil
	}
	first := a.Variants[0].DefRange
	if a.Template != "" || a.TemplateRange != (hcl.Range{}) {
		l.errorf(a.TemplateRange, "Template and variants",
			"The action sets template and also has variant blocks (the first at %s:%d); each variant names its own template. Remove template, or the variants.", first.Filename, first.Start.Line)
	}
	if len(a.Variants) == 1 {
		l.errorf(first, "Single variant",
			"An A/B test needs at least two variant blocks. With one, set template on the action instead.")
	}
	seen := newNames("variant")
	var out []Variant
	total := 0
	for _, v := range a.Variants {
		if !seen.add(l, v.Name, v.NameRange, v.DefRange) {
			continue
		}
		if !l.decoded(v.TemplateRange) {
			continue
		}
		if !templates[v.Template] {
			l.errorf(v.TemplateRange, "Unknown template",
				"No template %q is defined. %s", v.Template, known("template", templates))
		}
		w := DefaultVariantWeight
		if v.Weight != nil && !l.decoded(v.WeightRange) {
			continue
		}
		if v.Weight != nil {
			w = *v.Weight
			if w < 0 || w > MaxVariantWeight {
				l.errorf(v.WeightRange, "Invalid variant weight",
					"The weight attribute is the variant's share relative to the others', from 0 (off) to %d; got %d.", MaxVariantWeight, w)
				continue
			}
		}
		total += w
		out = append(out, Variant{Name: v.Name, Template: v.Template, TemplateRange: v.TemplateRange, Weight: w, DeclRange: v.DefRange})
	}
	if len(out) == len(a.Variants) && len(out) > 1 && total == 0 {
		l.errorf(a.DefRange, "No variant can be chosen",
			"Every variant of this action has weight 0, so none would be sent. Give at least one a weight above 0.")
	}
	return out
}
