package config

import (
	"testing"
	"time"
)

func TestChannelDelivery(t *testing.T) {
	t.Parallel()
	cfg, diags := LoadFiles(one(`
channel "plain" {
  plugin = "smtp"
}
channel "tuned" {
  plugin     = "webhook"
  rate_limit = "600/m"
  retry {
    max_attempts = 4
    max_age      = "2h"
    min_delay    = "5s"
    max_delay    = "1m"
  }
  circuit_breaker {
    failures = 3
    cooldown = "10s"
  }
}
`), ".")
	noErrors(t, diags)
	if got := cfg.Channels[0].Delivery; got != DefaultChannelDelivery {
		t.Errorf("defaults = %+v, want %+v", got, DefaultChannelDelivery)
	}
	want := ChannelDelivery{RatePerSecond: 10, MaxAttempts: 4, MaxAge: 2 * time.Hour, MinDelay: 5 * time.Second,
		MaxDelay: time.Minute, BreakerFailures: 3, BreakerCooldown: 10 * time.Second}
	if got := cfg.Channels[1].Delivery; got != want {
		t.Errorf("tuned = %+v, want %+v", got, want)
	}
}

func TestChannelDeliveryErrors(t *testing.T) {
	t.Parallel()
	in := func(body string) string { return "channel \"c\" {\n  plugin = \"smtp\"\n" + body + "}\n" }
	tests := []struct{ name, src, text, at string }{
		{"rate without unit", in("  rate_limit = \"20\"\n"), `rate_limit is a number of messages per second, minute or hour, such as "20/s" or "600/m"; got "20"`, "a.hcl:3"},
		{"rate per day", in("  rate_limit = \"20/d\"\n"), `got "20/d"`, "a.hcl:3"},
		{"rate zero", in("  rate_limit = \"0/s\"\n"), `got "0/s"`, "a.hcl:3"},
		{"rate NaN", in("  rate_limit = \"NaN/s\"\n"), `got "NaN/s"`, "a.hcl:3"},
		{"rate huge", in("  rate_limit = \"1e12/s\"\n"), `got "1e12/s"`, "a.hcl:3"},
		{"attempts zero", in("  retry {\n    max_attempts = 0\n  }\n"), "max_attempts must be between 1 and 100, got 0", "a.hcl:4"},
		{"bad max_age", in("  retry {\n    max_age = \"forever\"\n  }\n"), `The max_age attribute: invalid duration "forever"`, "a.hcl:4"},
		{"delays crossed", in("  retry {\n    min_delay = \"1h\"\n    max_delay = \"1m\"\n  }\n"), "min_delay (1h0m0s) is longer than max_delay (1m0s)", "a.hcl:3"},
		{"two retry blocks", in("  retry {}\n  retry {}\n"), `The channel "c" may have at most one retry block`, "a.hcl:1"},
		{"breaker failures", in("  circuit_breaker {\n    failures = -1\n  }\n"), "failures must be between 1 and 100, got -1", "a.hcl:4"},
		{"breaker cooldown", in("  circuit_breaker {\n    cooldown = \"0s\"\n  }\n"), "The cooldown attribute must be longer than zero", "a.hcl:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := LoadFiles(one(tt.src), t.TempDir())
			wantDiag(t, diags, tt.text, tt.at)
			if len(diags) != 1 {
				t.Errorf("got %d diagnostics, want 1:\n%s", len(diags), listDiags(diags))
			}
		})
	}
}
