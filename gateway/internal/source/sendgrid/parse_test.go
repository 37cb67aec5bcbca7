package sendgrid_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sendgrid"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
)

// request is a delivery signed at now.
func request(t testing.TB, key testKey, now time.Time, body string) *source.Request {
	return &source.Request{Method: http.MethodPost, Header: key.headers(t, now, []byte(body)), Body: []byte(body), Now: now}
}

func TestParseMapping(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	a, _ := sourcetest.Build(t, config(key.pub), sendgrid.Build)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want want
	}{
		{"unknown event", `[{"event":"machine_open","email":"x@y.z","sg_event_id":"1"}]`, want{id: "1", typ: "sendgrid.machine_open", email: "x@y.z"}},
		{"category list and machine open", `[{"event":"open","email":"x@y.z","sg_event_id":"2","category":["a","b"],"sg_machine_open":true}]`,
			want{id: "2", typ: "email.opened", email: "x@y.z", props: map[string]any{"tags": []string{"a", "b"}, "machine_open": true}}},
		{"no sg_event_id", `[{"event":"open","email":"x@y.z","sg_message_id":"m","timestamp":5}]`,
			want{id: "m:open:5", typ: "email.opened", email: "x@y.z", occurred: time.Unix(5, 0)}},
		{"legacy campaign", `[{"event":"click","email":"x@y.z","sg_event_id":"3","marketing_campaign_name":"Spring","url":"https://a.b/"}]`,
			want{id: "3", typ: "email.clicked", email: "x@y.z", props: map[string]any{"campaign": "Spring", "url": "https://a.b/"}}},
	}
	for _, tt := range tests {
		d, err := a.Parse(request(t, key, now, tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Run(tt.name, func(t *testing.T) { checkEvents(t, d.Events, []want{tt.want}) })
	}

	bad := []struct{ name, body string }{
		{"timestamp not a number", `[{"event":"open","email":"x@y.z","timestamp":"soon"}]`},
		{"timestamp after 9999", `[{"event":"open","email":"x@y.z","timestamp":99999999999999999}]`},
		{"item not an object", `[1]`},
		{"no event", `[{"email":"x@y.z"}]`},
		{"trailing data", `[] []`},
	}
	for _, tt := range bad {
		if _, err := a.Parse(request(t, key, now, tt.body)); !errors.Is(err, source.ErrBadPayload) {
			t.Errorf("%s: err = %v, want bad payload", tt.name, err)
		}
	}
	if d, err := a.Parse(request(t, key, now, `[]`)); err != nil || len(d.Events) != 0 {
		t.Errorf("empty batch: %v %v", d, err)
	}
}
