package sdk

import (
	"context"
	"errors"
	"testing"
)

func TestMatchType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{[]string{"order.placed"}, "order.placed", true},
		{[]string{"order.placed"}, "order.paid", false},
		{[]string{"*"}, "anything.at.all", true},
		{[]string{"order.*"}, "order.placed", true},
		{[]string{"order.*"}, "orders.placed", false},
		{[]string{"order.*"}, "order", false},
		{[]string{"*", "order.*"}, TimerFired, false},
		{[]string{"timer.*"}, TimerFired, false},
		{[]string{TimerFired}, TimerFired, true},
		{[]string{"*"}, "", false},
		{nil, "order.placed", false},
	}
	for _, c := range cases {
		if got := MatchType(c.patterns, c.typ); got != c.want {
			t.Errorf("MatchType(%q, %q) = %v, want %v", c.patterns, c.typ, got, c.want)
		}
	}
}

type evalConfig struct {
	Step string `hcl:"step"`
}

func TestEvaluateEach(t *testing.T) {
	t.Parallel()
	decode := func(raw RawConfig) (*evalConfig, *ValidateConfigResponse) {
		cfg := &evalConfig{}
		resp := CheckConfig(raw, cfg)
		return cfg, resp
	}
	eval := func(it *EvaluateItem, cfg *evalConfig) Result {
		return Result{State: []byte("new"), Fires: []Fire{{Step: cfg.Step, Key: it.Event.ID}}}
	}
	req := &EvaluateRequest{
		Rules: map[string]RawConfig{"good": RawConfig(`{"step":"s"}`), "bad": RawConfig(`{}`)},
		Items: []EvaluateItem{
			{Rule: "good", Event: Event{ID: "e1"}, State: []byte("old")},
			{Rule: "bad", Event: Event{ID: "e2"}, State: []byte("kept")},
			{Rule: "gone", Event: Event{ID: "e3"}, State: []byte("kept too")},
		},
	}
	resp, err := EvaluateEach(context.Background(), req, decode, eval)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Results
	if len(r) != 3 || string(r[0].State) != "new" || len(r[0].Fires) != 1 || r[0].Fires[0].Step != "s" || r[0].Err != "" {
		t.Fatalf("good item: %+v", r)
	}
	if string(r[1].State) != "kept" || r[1].Err == "" || len(r[1].Fires) != 0 {
		t.Fatalf("invalid rule: %+v", r[1])
	}
	if string(r[2].State) != "kept too" || r[2].Err != `no config for rule "gone" in the batch` {
		t.Fatalf("missing rule: %+v", r[2])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := EvaluateEach(ctx, req, decode, eval); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestDiagnosticsSummary(t *testing.T) {
	t.Parallel()
	d := Diagnostics{
		Errorf(Attr("on").Index(1), "must not be empty"),
		{Severity: SeverityWarning, Summary: "just a warning"},
		Errorf(nil, "whole block"),
	}
	if got, want := d.Summary(), "on[1]: must not be empty; whole block"; got != want {
		t.Fatalf("Summary = %q, want %q", got, want)
	}
}
