package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.CloseShared()
	os.Exit(code)
}

const token = "s3cret-admin-token"

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// cart is a trigger that fires step "default" on every event, sets a
// "remind" timer an hour after a cart.updated, keeps a count of events
// as its state, and fails events of type "poison".
type cart struct{}

func (cart) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{Name: "cart"}, nil
}

func (cart) ValidateConfig(context.Context, *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return &sdk.ValidateConfigResponse{}, nil
}

func (cart) Evaluate(_ context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	out := &sdk.EvaluateResponse{}
	for _, it := range req.Items {
		if it.Event.Type == "poison" {
			out.Results = append(out.Results, sdk.Result{State: it.State, Err: "cannot digest this event"})
			continue
		}
		var n int
		_ = json.Unmarshal(it.State, &n)
		state, _ := json.Marshal(n + 1)
		res := sdk.Result{State: state, Fires: []sdk.Fire{{Step: "default", Key: it.Event.ID, Data: map[string]any{"n": n + 1}}}}
		if it.Event.Type == "cart.updated" {
			res.SetTimers = []sdk.Timer{{ID: "remind", At: it.Now.Add(time.Hour)}}
		}
		out.Results = append(out.Results, res)
	}
	return out, nil
}

// fixture is an admin API over a store that a real engine writes to.
type fixture struct {
	st  *store.Store
	log *eventlog.Log
	eng *engine.Engine
	srv *httptest.Server
}

// newFixture starts the admin API; the event log is given to it unless
// opts says otherwise (pass noLog).
func newFixture(t *testing.T, opts ...admin.Option) *fixture {
	t.Helper()
	st := storetest.Shared(t)
	lg := eventlog.New(st, hclog.NewNullLogger())
	t.Cleanup(lg.Close)
	eng := engine.New(st, lg, []engine.Rule{{Name: "cart", Trigger: plugintest.Trigger(t, cart{}), Config: sdk.RawConfig(`{}`),
		Actions: []engine.Action{{Channel: "hook", Template: "reminder"}}}},
		hclog.NewNullLogger(), engine.WithClock(func() time.Time { return t0 }))
	return &fixture{st: st, log: lg, eng: eng, srv: startAPI(t, st, append([]admin.Option{admin.WithEventLog(lg)}, opts...)...)}
}

func startAPI(t *testing.T, st *store.Store, opts ...admin.Option) *httptest.Server {
	t.Helper()
	h, err := admin.New(st, token, hclog.NewNullLogger(), append([]admin.Option{admin.WithClock(func() time.Time { return t0 })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// send appends events to the log and lets the engine process them.
func (f *fixture) send(t *testing.T, evs ...sdk.Event) {
	t.Helper()
	for i := range evs {
		ev := &evs[i]
		if ev.Source == "" {
			ev.Source = "test"
		}
		ev.DeliveryID = ev.ID
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = t0.Add(-time.Minute)
		}
		if _, err := f.log.Append(t.Context(), "test", []sdk.Event{*ev}, 0); err != nil {
			t.Fatal(err)
		}
	}
	f.drain(t)
}

func (f *fixture) drain(t *testing.T) {
	t.Helper()
	if _, err := f.eng.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// put writes a raw value under the store's prefix.
func (f *fixture) put(t *testing.T, value string, parts ...string) {
	t.Helper()
	if _, err := f.st.Client().Put(t.Context(), f.st.Key(parts...), value); err != nil {
		t.Fatal(err)
	}
}

// deadLetter puts a message in the DLQ as the delivery worker does.
func (f *fixture) deadLetter(t *testing.T, id, channel, customer, reason string) {
	t.Helper()
	b, err := json.Marshal(outbox.DeadLetter{
		Entry: outbox.Entry{Message: sdk.Message{ID: id, Trigger: "cart", Step: "default", Text: "rendered body"},
			Partition: 1, Channel: channel, Customer: customer, Attempts: 3},
		Reason: reason, At: t0,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.put(t, string(b), "dlq", id)
}

func (f *fixture) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	return call(t, f.srv, method, path, "Bearer "+token, body)
}

// get calls GET path, wants status want, and decodes the answer into out.
func (f *fixture) get(t *testing.T, path string, want int, out any) string {
	t.Helper()
	code, body := f.call(t, http.MethodGet, path, "")
	if code != want {
		t.Fatalf("GET %s = %d, want %d: %s", path, code, want, body)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(body), out); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
	return body
}

func call(t *testing.T, srv *httptest.Server, method, path, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// errorCode returns the code of an error answer.
func errorCode(body string) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}
