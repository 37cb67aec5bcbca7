package config

import (
	"net/url"

	"github.com/hashicorp/hcl/v2"
)

type trackingHCL struct {
	BaseURL         string    `hcl:"base_url"`
	BaseURLRange    hcl.Range `hcl:"base_url,attr_range"`
	Secret          string    `hcl:"secret"`
	SecretRange     hcl.Range `hcl:"secret,attr_range"`
	Previous        []string  `hcl:"previous_secrets,optional"`
	PreviousRange   hcl.Range `hcl:"previous_secrets,attr_range"`
	SenderName      string    `hcl:"sender_name,optional"`
	LinkMaxAge      *string   `hcl:"link_max_age,optional"`
	LinkMaxAgeRange hcl.Range `hcl:"link_max_age,attr_range"`
	DefRange        hcl.Range `hcl:",def_range"`
}

// minTrackingSecret is the shortest HMAC key accepted for tracking tokens.
const minTrackingSecret = 32

func (l *loader) tracking(blocks []*trackingHCL) {
	t, ok := only(l, "tracking", blocks, func(t *trackingHCL) hcl.Range { return t.DefRange })
	if !ok {
		return
	}
	out := &Tracking{SenderName: t.SenderName, DeclRange: t.DefRange}
	u, err := url.Parse(t.BaseURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "":
		l.errorf(t.BaseURLRange, "Invalid base_url",
			"The base_url is the public address customers' mail clients reach the gateway's listener at, such as \"https://t.example.com\"; got %q.", t.BaseURL)
	case u.Path != "" && u.Path != "/":
		l.errorf(t.BaseURLRange, "Invalid base_url",
			"The base_url must not have a path (the gateway serves /t/... at its root); got %q.", t.BaseURL)
	default:
		out.BaseURL = u.Scheme + "://" + u.Host
	}
	for i, s := range append([]string{t.Secret}, t.Previous...) {
		rng := t.SecretRange
		if i > 0 {
			rng = t.PreviousRange
		}
		if len(s) < minTrackingSecret {
			l.errorf(rng, "Invalid tracking secret",
				"Tracking secrets sign links so they cannot be forged: at least %d characters, such as the output of `openssl rand -hex 32`, given with env().", minTrackingSecret)
			continue
		}
		out.Secrets = append(out.Secrets, s)
	}
	if t.LinkMaxAge != nil {
		if d, ok := l.duration(*t.LinkMaxAge, t.LinkMaxAgeRange, "link_max_age"); ok {
			out.LinkMaxAge = d
		}
	}
	l.cfg.Tracking = out
}
