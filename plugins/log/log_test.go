package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// syncBuffer is a bytes.Buffer safe for the plugin's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestSendLogs(t *testing.T) {
	t.Parallel()
	msgs := []sdk.Message{
		{
			ID: "msg_1", Trigger: "welcome", Step: "default",
			Profile: sdk.Profile{Customer: sdk.Customer{ID: "c1", Email: "jane@example.com"}},
			Event:   sdk.Event{ID: "ev1", Type: "account.signed_up"},
			Subject: "Welcome, Jane", Text: "Hello Jane",
		},
		{
			ID: "msg_2", Trigger: "vip", Step: "enter",
			Profile: sdk.Profile{Customer: sdk.Customer{ID: "c2"}},
			Event:   sdk.Event{ID: "ev2", Type: "order.paid"},
			Text:    "secret body",
		},
		{
			ID: "msg_3", Trigger: "browse", Step: "default",
			Profile: sdk.Profile{Customer: sdk.Customer{AnonymousID: "anon9"}},
			Event:   sdk.Event{ID: "ev3", Type: "page.viewed"},
		},
	}
	tests := []struct {
		name        string
		config      map[string]any
		wantText    bool
		wantCustKey []string
	}{
		{"default hides body", map[string]any{}, false, []string{"jane@example.com", "c2", "anon:anon9"}},
		{"include_body", map[string]any{"include_body": true}, true, []string{"jane@example.com", "c2", "anon:anon9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf syncBuffer
			log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info, JSONFormat: true})
			ch := plugintest.Channel(t, New(log))
			resp, err := ch.Send(context.Background(), &sdk.SendRequest{
				Channel: "dev", Config: plugintest.MustConfig(t, tc.config), Messages: msgs,
			})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range resp.Results {
				if r.Status != sdk.StatusOK || r.ProviderID != "log-"+msgs[i].ID {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			lines := buf.lines(t)
			if len(lines) != len(msgs) {
				t.Fatalf("got %d log lines, want %d: %v", len(lines), len(msgs), lines)
			}
			for i, l := range lines {
				m := msgs[i]
				want := map[string]any{
					"@level": "info", "@message": "message delivered",
					"channel": "dev", "trigger": m.Trigger, "step": m.Step, "message_id": m.ID,
					"customer": tc.wantCustKey[i], "event_type": m.Event.Type, "event_id": m.Event.ID,
				}
				for k, v := range want {
					if l[k] != v {
						t.Errorf("line %d: %s = %v, want %v", i, k, l[k], v)
					}
				}
				if subj, ok := l["subject"]; (m.Subject != "") != ok || (ok && subj != m.Subject) {
					t.Errorf("line %d: subject = %v, want %q", i, subj, m.Subject)
				}
				text, ok := l["text"]
				wantText := tc.wantText && m.Text != ""
				if ok != wantText || (ok && text != m.Text) {
					t.Errorf("line %d: text = %v (present %v), want present %v", i, text, ok, wantText)
				}
			}
		})
	}
}

func TestValidateAndDescribe(t *testing.T) {
	t.Parallel()
	ch := plugintest.Channel(t, New(hclog.NewNullLogger()))
	d, err := ch.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "log" || d.Kind != sdk.KindChannel || len(d.Schema.Attributes) != 1 ||
		d.Schema.Attributes[0].Name != "include_body" || d.Schema.Attributes[0].Type != sdk.TypeBool || d.Schema.Attributes[0].Required {
		t.Errorf("describe = %+v", d)
	}
	for _, tc := range []struct {
		config  string
		wantErr bool
	}{
		{`{}`, false},
		{`{"include_body":true}`, false},
		{`{"include_body":"yes"}`, true},
	} {
		t.Run(tc.config, func(t *testing.T) {
			resp, err := ch.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: sdk.RawConfig(tc.config)})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Diagnostics.HasErrors() != tc.wantErr {
				t.Errorf("diagnostics = %+v, want error %v", resp.Diagnostics, tc.wantErr)
			}
			if tc.wantErr && resp.Diagnostics[0].Path.String() != "include_body" {
				t.Errorf("path = %s", resp.Diagnostics[0].Path)
			}
		})
	}
}
