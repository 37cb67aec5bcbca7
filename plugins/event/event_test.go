package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func jane() sdk.Customer { return sdk.Customer{ID: "c1", Email: "jane@example.com"} }

func TestEvaluate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		config   map[string]any
		event    sdk.Event
		wantStep string // empty: no fire
		wantLog  string // substring expected in the plugin log
	}{
		{
			name:     "matching type fires the default step keyed by event id",
			config:   map[string]any{"on": []string{"order.placed"}},
			event:    sdk.Event{ID: "ev1", Type: "order.placed"},
			wantStep: "default",
		},
		{
			name:     "named step",
			config:   map[string]any{"on": []string{"account.signed_up", "order.placed"}, "step": "welcome"},
			event:    sdk.Event{ID: "ev2", Type: "order.placed"},
			wantStep: "welcome",
		},
		{
			name:     "star matches any type",
			config:   map[string]any{"on": []string{"*"}},
			event:    sdk.Event{ID: "ev3", Type: "search.performed"},
			wantStep: "default",
		},
		{
			name:     "prefix pattern",
			config:   map[string]any{"on": []string{"order.*"}},
			event:    sdk.Event{ID: "ev4", Type: "order.refunded"},
			wantStep: "default",
		},
		{
			name:   "prefix pattern does not match another prefix",
			config: map[string]any{"on": []string{"order.*"}},
			event:  sdk.Event{ID: "ev5", Type: "orders.x"},
		},
		{
			name:   "non-matching type does not fire",
			config: map[string]any{"on": []string{"order.placed"}},
			event:  sdk.Event{ID: "ev6", Type: "order.cancelled"},
		},
		{
			name:     "when true",
			config:   map[string]any{"on": []string{"order.placed"}, "when": "event.properties.value > 50"},
			event:    sdk.Event{ID: "ev7", Type: "order.placed", Properties: map[string]any{"value": 199.0}},
			wantStep: "default",
		},
		{
			name:   "when false",
			config: map[string]any{"on": []string{"order.placed"}, "when": "event.properties.value > 50"},
			event:  sdk.Event{ID: "ev8", Type: "order.placed", Properties: map[string]any{"value": 10.0}},
		},
		{
			name:     "when over customer",
			config:   map[string]any{"on": []string{"*"}, "when": "customer.email == \"jane@example.com\""},
			event:    sdk.Event{ID: "ev9", Type: "page.viewed"},
			wantStep: "default",
		},
		{
			name:    "when erroring on a missing attribute is not met and logged",
			config:  map[string]any{"on": []string{"order.placed"}, "when": "event.properties.value > 50"},
			event:   sdk.Event{ID: "ev10", Type: "order.placed", Properties: map[string]any{"currency": "USD"}},
			wantLog: `condition could not be evaluated; treating it as not met: rule=r event_id=ev10`,
		},
		{
			name:    "when with a non-bool result is not met",
			config:  map[string]any{"on": []string{"order.placed"}, "when": "event.properties.currency"},
			event:   sdk.Event{ID: "ev11", Type: "order.placed", Properties: map[string]any{"currency": "USD"}},
			wantLog: "want a bool",
		},
		{
			name:   "star ignores timer.fired",
			config: map[string]any{"on": []string{"*"}},
			event:  sdk.Event{ID: "ev12", Type: "timer.fired"},
		},
		{
			name:     "timer.fired fires when listed",
			config:   map[string]any{"on": []string{"timer.fired"}},
			event:    sdk.Event{ID: "ev13", Type: "timer.fired"},
			wantStep: "default",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})
			trig := plugintest.Trigger(t, New(log))
			tc.event.Customer = jane()
			state := []byte(`{"kept":true}`)
			resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
				Rules: map[string]sdk.RawConfig{"r": plugintest.MustConfig(t, tc.config)},
				Items: []sdk.EvaluateItem{{
					Rule: "r", Event: tc.event, Profile: sdk.Profile{Customer: jane()}, State: state, Now: start,
				}},
			})
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			res := resp.Results[0]
			if res.Err != "" {
				t.Fatalf("Result.Err = %q", res.Err)
			}
			if string(res.State) != string(state) {
				t.Errorf("State = %q, want it handed back unchanged %q", res.State, state)
			}
			if len(res.SetTimers) != 0 || len(res.CancelTimers) != 0 {
				t.Errorf("timers changed: set %v cancel %v", res.SetTimers, res.CancelTimers)
			}
			switch {
			case tc.wantStep == "" && len(res.Fires) != 0:
				t.Errorf("Fires = %+v, want none", res.Fires)
			case tc.wantStep != "":
				if len(res.Fires) != 1 {
					t.Fatalf("Fires = %+v, want one", res.Fires)
				}
				if f := res.Fires[0]; f.Step != tc.wantStep || f.Key != tc.event.ID {
					t.Errorf("fire = %+v, want step %q key %q", f, tc.wantStep, tc.event.ID)
				}
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log = %q, want it to contain %q", logs.String(), tc.wantLog)
			}
			if tc.wantLog == "" && strings.Contains(logs.String(), "[WARN]") {
				t.Errorf("unexpected warning: %s", logs.String())
			}
		})
	}
}

func TestEvaluateBatch(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{
			"orders": plugintest.MustConfig(t, map[string]any{"on": []string{"order.placed"}, "step": "thanks"}),
			"any":    plugintest.MustConfig(t, map[string]any{"on": []string{"*"}}),
			"broken": plugintest.MustConfig(t, map[string]any{"on": []string{}}),
		},
		Items: []sdk.EvaluateItem{
			{Rule: "orders", Event: sdk.Event{ID: "a", Type: "order.placed", Customer: jane()}, Now: start},
			{Rule: "any", Event: sdk.Event{ID: "a", Type: "order.placed", Customer: jane()}, Now: start},
			{Rule: "orders", Event: sdk.Event{ID: "b", Type: "cart.updated", Customer: jane()}, Now: start},
			{Rule: "broken", Event: sdk.Event{ID: "c", Type: "order.placed", Customer: jane()}, Now: start},
			{Rule: "missing", Event: sdk.Event{ID: "d", Type: "order.placed", Customer: jane()}, Now: start},
		},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	got := make([]string, len(resp.Results))
	for i, r := range resp.Results {
		switch {
		case r.Err != "":
			got[i] = "err"
		case len(r.Fires) == 1:
			got[i] = r.Fires[0].Step + "/" + r.Fires[0].Key
		default:
			got[i] = "none"
		}
	}
	want := []string{"thanks/a", "default/a", "none", "err", "err"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d: got %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
	if !strings.Contains(resp.Results[3].Err, "on") {
		t.Errorf("broken rule error %q does not name the attribute", resp.Results[3].Err)
	}
}

func TestHarnessFiresOncePerEvent(t *testing.T) {
	t.Parallel()
	h := plugintest.NewTriggerHarness(t, New(hclog.NewNullLogger()), "welcome",
		plugintest.MustConfig(t, map[string]any{"on": []string{"account.signed_up"}, "step": "welcome"}), start)
	if f := h.Send(sdk.Event{ID: "e1", Type: "account.signed_up", Customer: jane()}); len(f) != 1 || f[0].Key != "e1" {
		t.Fatalf("fires = %+v, want one keyed e1", f)
	}
	if f := h.Send(sdk.Event{ID: "e2", Type: "page.viewed", Customer: jane()}); len(f) != 0 {
		t.Fatalf("fires = %+v, want none", f)
	}
	if f := h.Advance(48 * time.Hour); len(f) != 0 {
		t.Fatalf("fires after advancing = %+v, want none", f)
	}
	if len(h.Fires) != 1 {
		t.Fatalf("harness saw %d fires, want 1", len(h.Fires))
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		config   string
		wantPath string // empty: valid
	}{
		{"valid", `{"on":["order.placed"]}`, ""},
		{"valid with all", `{"on":["*"],"when":"event.properties.value > 1","step":"s"}`, ""},
		{"missing on", `{}`, "on"},
		{"empty on", `{"on":[]}`, "on"},
		{"empty entry", `{"on":["order.placed",""]}`, "on[1]"},
		{"empty step", `{"on":["*"],"step":""}`, "step"},
		{"bad expression", `{"on":["*"],"when":"event.("}`, "when"},
		{"wrong type", `{"on":"order.placed"}`, "on"},
	}
	ch := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := ch.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: sdk.RawConfig(tc.config)})
			if err != nil {
				t.Fatalf("ValidateConfig: %v", err)
			}
			if tc.wantPath == "" {
				if len(resp.Diagnostics) != 0 {
					t.Fatalf("diagnostics = %+v, want none", resp.Diagnostics)
				}
				return
			}
			if len(resp.Diagnostics) == 0 || !resp.Diagnostics.HasErrors() {
				t.Fatalf("diagnostics = %+v, want an error", resp.Diagnostics)
			}
			if got := resp.Diagnostics[0].Path.String(); got != tc.wantPath {
				t.Errorf("path = %q, want %q (%+v)", got, tc.wantPath, resp.Diagnostics)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d, err := plugintest.Trigger(t, New(hclog.NewNullLogger())).Describe(context.Background())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Name != "event" || d.Kind != sdk.KindTrigger || d.Version != "0.1.0" || d.ProtocolVersion != sdk.ProtocolVersion || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]struct {
		typ      sdk.AttrType
		required bool
	}{
		"on":   {sdk.TypeEventTypes, true},
		"when": {sdk.TypeExpression, false},
		"step": {sdk.TypeString, false},
	}
	if len(d.Schema.Attributes) != len(want) || len(d.Schema.Blocks) != 0 {
		t.Fatalf("schema = %+v", d.Schema)
	}
	for _, a := range d.Schema.Attributes {
		w, ok := want[a.Name]
		if !ok || a.Type != w.typ || a.Required != w.required || a.Description == "" {
			t.Errorf("attribute %+v, want %+v with a description", a, w)
		}
	}
}
