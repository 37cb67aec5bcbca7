package config

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

type (
	retryHCL struct {
		MaxAttempts      *int      `hcl:"max_attempts,optional"`
		MaxAttemptsRange hcl.Range `hcl:"max_attempts,attr_range"`
		MaxAge           *string   `hcl:"max_age,optional"`
		MaxAgeRange      hcl.Range `hcl:"max_age,attr_range"`
		MinDelay         *string   `hcl:"min_delay,optional"`
		MinDelayRange    hcl.Range `hcl:"min_delay,attr_range"`
		MaxDelay         *string   `hcl:"max_delay,optional"`
		MaxDelayRange    hcl.Range `hcl:"max_delay,attr_range"`
		DefRange         hcl.Range `hcl:",def_range"`
	}
	breakerHCL struct {
		Failures      *int      `hcl:"failures,optional"`
		FailuresRange hcl.Range `hcl:"failures,attr_range"`
		Cooldown      *string   `hcl:"cooldown,optional"`
		CooldownRange hcl.Range `hcl:"cooldown,attr_range"`
		DefRange      hcl.Range `hcl:",def_range"`
	}
)

// Bounds on delivery settings: beyond them a value is a mistake.
const (
	maxAttemptsLimit = 100
	maxRatePerSecond = 1e6
)

// channelDelivery reads a channel's rate_limit, retry { } and
// circuit_breaker { }, with defaults for what is not set.
func (l *loader) channelDelivery(c *channelHCL) ChannelDelivery {
	d := DefaultChannelDelivery
	if c.RateLimit != nil {
		if r, ok := l.rate(*c.RateLimit, c.RateLimitRange); ok {
			d.RatePerSecond = r
		}
	}
	if l.atMostOne("retry", c.Name, len(c.Retries), c.DefRange) && len(c.Retries) == 1 {
		r := c.Retries[0]
		if r.MaxAttempts != nil {
			if n := *r.MaxAttempts; n < 1 || n > maxAttemptsLimit {
				l.errorf(r.MaxAttemptsRange, "Invalid max_attempts", "max_attempts must be between 1 and %d, got %d.", maxAttemptsLimit, n)
			} else {
				d.MaxAttempts = n
			}
		}
		l.optDuration(r.MaxAge, r.MaxAgeRange, "max_age", &d.MaxAge)
		l.optDuration(r.MinDelay, r.MinDelayRange, "min_delay", &d.MinDelay)
		l.optDuration(r.MaxDelay, r.MaxDelayRange, "max_delay", &d.MaxDelay)
		if d.MinDelay > d.MaxDelay {
			l.errorf(r.DefRange, "Invalid retry delays", "min_delay (%s) is longer than max_delay (%s).", d.MinDelay, d.MaxDelay)
		}
	}
	if l.atMostOne("circuit_breaker", c.Name, len(c.Breakers), c.DefRange) && len(c.Breakers) == 1 {
		b := c.Breakers[0]
		if b.Failures != nil {
			if n := *b.Failures; n < 1 || n > maxAttemptsLimit {
				l.errorf(b.FailuresRange, "Invalid failures", "failures must be between 1 and %d, got %d.", maxAttemptsLimit, n)
			} else {
				d.BreakerFailures = n
			}
		}
		l.optDuration(b.Cooldown, b.CooldownRange, "cooldown", &d.BreakerCooldown)
	}
	return d
}

// atMostOne reports an error when a channel has more than one block of a
// kind; it returns false then.
func (l *loader) atMostOne(block, channel string, n int, rng hcl.Range) bool {
	if n > 1 {
		l.errorf(rng, "Duplicate "+block+" block", "The channel %q may have at most one %s block.", channel, block)
		return false
	}
	return true
}

// optDuration sets *dst from an optional duration attribute.
func (l *loader) optDuration(s *string, rng hcl.Range, attr string, dst *time.Duration) {
	if s == nil {
		return
	}
	if d, ok := l.duration(*s, rng, attr); ok {
		*dst = d
	}
}

// rate parses "N/s", "N/m" or "N/h" into messages per second.
func (l *loader) rate(s string, rng hcl.Range) (float64, bool) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
	v, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
	if !ok || per == 0 || err != nil || math.IsNaN(v) || v <= 0 || v/per.Seconds() > maxRatePerSecond {
		l.errorf(rng, "Invalid rate_limit",
			"rate_limit is a number of messages per second, minute or hour, such as \"20/s\" or \"600/m\"; got %q.", s)
		return 0, false
	}
	return v / per.Seconds(), true
}
