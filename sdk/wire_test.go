package sdk_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/triggergate/triggergate/sdk"
	pb "github.com/triggergate/triggergate/sdk/internal/pluginpb"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// recorder is a trigger and a channel that remembers what it was asked and
// answers with canned responses.
type recorder struct {
	mu       sync.Mutex
	evalReq  *sdk.EvaluateRequest
	evalResp *sdk.EvaluateResponse
	sendReq  *sdk.SendRequest
	sendResp *sdk.SendResponse
	validReq *sdk.ValidateConfigRequest
	diags    sdk.Diagnostics
	describe *sdk.DescribeResponse
	err      error
}

func (r *recorder) Describe(context.Context) (*sdk.DescribeResponse, error) {
	if r.err != nil {
		return nil, r.err
	}
	d := *r.describe
	return &d, nil
}

func (r *recorder) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.validReq = req
	return &sdk.ValidateConfigResponse{Diagnostics: r.diags}, r.err
}

func (r *recorder) Evaluate(_ context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evalReq = req
	return r.evalResp, r.err
}

func (r *recorder) Send(_ context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sendReq = req
	return r.sendResp, r.err
}

var (
	_ sdk.Trigger = (*recorder)(nil)
	_ sdk.Channel = (*recorder)(nil)
)

func fullEvent() sdk.Event {
	return sdk.Event{
		ID: "01JD", Type: "checkout.updated", Source: "shop", SourceKind: "shopify", DeliveryID: "b545",
		OccurredAt: t0.Add(-time.Minute), ReceivedAt: t0.Add(-time.Second + 123*time.Microsecond),
		Customer: sdk.Customer{
			ID: "c1", Email: "jane@example.com", Phone: "+15550100",
			ExternalIDs: map[string]string{"shopify": "1153"}, AnonymousID: "anon",
		},
		Properties: map[string]any{
			"value": 199.0, "currency": "USD", "nested": map[string]any{"ok": true},
			"items": []any{map[string]any{"sku": "A", "quantity": 2.0}},
		},
		Traits: map[string]any{"first_name": "Jane"},
	}
}

func fullProfile() sdk.Profile {
	return sdk.Profile{
		Customer: fullEvent().Customer,
		Traits:   map[string]any{"vip": true, "ltv": 1234.5},
		Timezone: "Europe/Paris",
	}
}

func TestEvaluateRoundTrip(t *testing.T) {
	t.Parallel()
	req := &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{
			"a": sdk.RawConfig(`{"on":["x"]}`),
			"b": sdk.RawConfig(`{"wait":"1h"}`),
		},
		Items: []sdk.EvaluateItem{
			{Rule: "a", Event: fullEvent(), Profile: fullProfile(), State: []byte(`{"n":1}`), Now: t0},
			{
				Rule: "b", Event: sdk.Event{ID: "timer-t1", Type: "timer.fired", Customer: fullEvent().Customer, OccurredAt: t0, ReceivedAt: t0},
				Timer:   &sdk.Timer{ID: "t1", At: t0.Add(-time.Second), Data: map[string]any{"checkout_id": "chk", "n": 2.0}},
				Profile: fullProfile(), Now: t0.Add(time.Nanosecond),
			},
		},
	}
	resp := &sdk.EvaluateResponse{Results: []sdk.Result{
		{
			State:        []byte(`{"n":2}`),
			SetTimers:    []sdk.Timer{{ID: "t2", At: t0.Add(time.Hour), Data: map[string]any{"k": "v"}}, {ID: "t3", At: t0.Add(2 * time.Hour)}},
			CancelTimers: []string{"t0", "t1"},
			Fires: []sdk.Fire{
				{Step: "default", Key: "chk", Data: map[string]any{"count": 2.0, "list": []any{"a"}}},
				{Step: "reminder_2"},
			},
		},
		{Err: "state is corrupt"},
	}}
	rec := &recorder{evalResp: resp}
	got, err := plugintest.Trigger(t, rec).Evaluate(context.Background(), req)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if !reflect.DeepEqual(rec.evalReq, req) {
		t.Errorf("plugin received\n%#v\nwant\n%#v", rec.evalReq, req)
	}
	if !reflect.DeepEqual(got, resp) {
		t.Errorf("host received\n%#v\nwant\n%#v", got, resp)
	}
}

func TestSendRoundTrip(t *testing.T) {
	t.Parallel()
	req := &sdk.SendRequest{
		Channel: "email", Config: sdk.RawConfig(`{"host":"localhost"}`),
		Messages: []sdk.Message{
			{
				ID: "msg_1", Trigger: "abandoned_cart", Step: "reminder_1", Profile: fullProfile(), Event: fullEvent(),
				Fire: map[string]any{"checkout_id": "chk"}, Subject: "Hi", Text: "text", HTML: "<p>html</p>",
				CreatedAt: t0, Attempt: 3, Variant: "b",
				Headers: map[string]string{"List-Unsubscribe": "<https://t.example.com/u/x>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
			},
			{ID: "msg_2", Trigger: "t", Step: "s", Profile: fullProfile(), Event: fullEvent(), CreatedAt: t0, Attempt: 1},
		},
	}
	resp := &sdk.SendResponse{Results: []sdk.SendResult{
		sdk.Sent("provider-1"),
		sdk.Retry(errors.New("slow down"), 7*time.Second),
	}}
	rec := &recorder{sendResp: resp}
	ch := plugintest.Channel(t, rec)
	got, err := ch.Send(context.Background(), req)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !reflect.DeepEqual(rec.sendReq, req) {
		t.Errorf("plugin received\n%#v\nwant\n%#v", rec.sendReq, req)
	}
	if !reflect.DeepEqual(got, resp) {
		t.Errorf("host received\n%#v\nwant\n%#v", got, resp)
	}

	rec.sendResp = &sdk.SendResponse{Results: []sdk.SendResult{sdk.Fail(errors.New("bad address")), sdk.Sent("")}}
	got, err = ch.Send(context.Background(), req)
	if err != nil || !reflect.DeepEqual(got, rec.sendResp) {
		t.Errorf("permanent result round trip = %+v, %v", got, err)
	}
}

func TestDescribeAndValidateRoundTrip(t *testing.T) {
	t.Parallel()
	type cfg struct {
		On   []string `hcl:"on" doc:"types"`
		Step []struct {
			Delay sdk.Duration `hcl:"delay,optional"`
		} `hcl:"step,block" doc:"steps"`
	}
	rec := &recorder{
		describe: &sdk.DescribeResponse{Name: "rec", Version: "1.2.3", Description: "records", Schema: sdk.SchemaOf(cfg{})},
		diags: sdk.Diagnostics{
			{Severity: sdk.SeverityError, Summary: "bad delay", Detail: "write 90s", Path: sdk.Attr("step").Index(1).Attr("delay")},
			{Severity: sdk.SeverityWarning, Summary: "whole block"},
			{Severity: sdk.SeverityError, Summary: "index zero", Path: sdk.Attr("on").Index(0)},
		},
	}
	for _, kind := range []string{sdk.KindTrigger, sdk.KindChannel} {
		t.Run(kind, func(t *testing.T) {
			var d sdk.Describer = plugintest.Trigger(t, rec)
			if kind == sdk.KindChannel {
				d = plugintest.Channel(t, rec)
			}
			got, err := d.Describe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := *rec.describe
			want.Kind, want.ProtocolVersion = kind, sdk.ProtocolVersion
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Describe =\n%#v\nwant\n%#v", *got, want)
			}

			vr, err := d.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: sdk.RawConfig(`{"on":[]}`)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(vr.Diagnostics, rec.diags) {
				t.Errorf("diagnostics =\n%#v\nwant\n%#v", vr.Diagnostics, rec.diags)
			}
			if p := vr.Diagnostics[0].Path.String(); p != "step[1].delay" {
				t.Errorf("path = %s", p)
			}
			if string(rec.validReq.Config) != `{"on":[]}` {
				t.Errorf("plugin received config %s", rec.validReq.Config)
			}
		})
	}
}

func TestPluginErrorsReachTheHost(t *testing.T) {
	t.Parallel()
	rec := &recorder{err: errors.New("disk on fire"), describe: &sdk.DescribeResponse{}}
	trig := plugintest.Trigger(t, rec)
	if _, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Evaluate error = %v", err)
	}
	if _, err := trig.Describe(context.Background()); err == nil {
		t.Error("Describe error lost")
	}
	if _, err := plugintest.Channel(t, rec).Send(context.Background(), &sdk.SendRequest{}); err == nil {
		t.Error("Send error lost")
	}
}

func TestWrongNumberOfResults(t *testing.T) {
	t.Parallel()
	items := []sdk.EvaluateItem{{Rule: "r", Event: sdk.Event{ID: "1"}, Now: t0}, {Rule: "r", Event: sdk.Event{ID: "2"}, Now: t0}}
	msgs := []sdk.Message{{ID: "1", CreatedAt: t0}, {ID: "2", CreatedAt: t0}}

	t.Run("SDK plugin", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{
			evalResp: &sdk.EvaluateResponse{Results: []sdk.Result{{}}},
			sendResp: &sdk.SendResponse{Results: []sdk.SendResult{sdk.Sent(""), sdk.Sent(""), sdk.Sent("")}},
		}
		if _, err := plugintest.Trigger(t, rec).Evaluate(context.Background(), &sdk.EvaluateRequest{Items: items}); err == nil {
			t.Error("Evaluate with 1 result for 2 items succeeded")
		}
		if _, err := plugintest.Channel(t, rec).Send(context.Background(), &sdk.SendRequest{Messages: msgs}); err == nil {
			t.Error("Send with 3 results for 2 messages succeeded")
		}
	})
	t.Run("raw gRPC plugin", func(t *testing.T) {
		t.Parallel()
		// A plugin not built with this SDK: only the host's own check
		// stands between its answer and the gateway.
		trig, ch := rawPlugin(t, &liar{results: 1})
		_, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{Items: items})
		if err == nil || !strings.Contains(err.Error(), "1 results for 2 items") {
			t.Errorf("Evaluate error = %v", err)
		}
		_, err = ch.Send(context.Background(), &sdk.SendRequest{Messages: msgs})
		if err == nil || !strings.Contains(err.Error(), "1 results for 2 messages") {
			t.Errorf("Send error = %v", err)
		}
	})
}

func TestHostDistrustsPluginAnswers(t *testing.T) {
	t.Parallel()
	trig, ch := rawPlugin(t, &liar{results: 1, badFireJSON: true, badStatus: true, deepSchema: true})
	if _, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{Items: []sdk.EvaluateItem{{Now: t0}}}); err == nil {
		t.Error("fire data that is not JSON was accepted")
	}
	resp, err := ch.Send(context.Background(), &sdk.SendRequest{Messages: []sdk.Message{{ID: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Results[0]; r.Status != sdk.StatusRetryable || r.RetryAfter != 0 {
		t.Errorf("unknown status mapped to %+v, want retryable with no negative delay", r)
	}
	if _, err := trig.Describe(context.Background()); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Errorf("Describe of a too-deep schema = %v", err)
	}
}

// liar is a raw gRPC plugin that breaks the protocol on purpose.
type liar struct {
	pb.UnimplementedTriggerServer
	pb.UnimplementedChannelServer
	results     int
	badFireJSON bool
	badStatus   bool
	deepSchema  bool
}

func (l *liar) ValidateConfig(context.Context, *pb.ValidateConfigRequest) (*pb.ValidateConfigResponse, error) {
	return &pb.ValidateConfigResponse{}, nil
}

func (l *liar) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	s := &pb.Schema{}
	if l.deepSchema {
		for range 20 {
			s = &pb.Schema{Blocks: []*pb.BlockType{{Name: "b", Schema: s}}}
		}
	}
	return &pb.DescribeResponse{Name: "liar", ConfigSchema: s}, nil
}

func (l *liar) Evaluate(context.Context, *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	out := &pb.EvaluateResponse{}
	for range l.results {
		r := &pb.EvaluateResult{}
		if l.badFireJSON {
			r.Fires = []*pb.Fire{{Step: "s", DataJson: []byte("{not json")}}
		}
		out.Results = append(out.Results, r)
	}
	return out, nil
}

func (l *liar) Send(context.Context, *pb.SendRequest) (*pb.SendResponse, error) {
	out := &pb.SendResponse{}
	for range l.results {
		r := &pb.SendResult{Status: pb.SendResult_STATUS_OK}
		if l.badStatus {
			r.Status = pb.SendResult_Status(42)
		}
		out.Results = append(out.Results, r)
	}
	return out, nil
}

// rawPlugin serves srv over in-process gRPC and returns the SDK's host-side
// clients for it.
func rawPlugin(t *testing.T, srv *liar) (sdk.Trigger, sdk.Channel) {
	t.Helper()
	host := sdk.HostPlugins()
	ps := plugin.PluginSet{
		sdk.KindTrigger: &rawGRPCPlugin{register: func(s *grpc.Server) { pb.RegisterTriggerServer(s, srv) }, client: host[sdk.KindTrigger]},
		sdk.KindChannel: &rawGRPCPlugin{register: func(s *grpc.Server) { pb.RegisterChannelServer(s, srv) }, client: host[sdk.KindChannel]},
	}
	client, server := plugin.TestPluginGRPCConn(t, false, ps)
	t.Cleanup(func() {
		server.Stop()
		_ = client.Close()
	})
	trig, err := client.Dispense(sdk.KindTrigger)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := client.Dispense(sdk.KindChannel)
	if err != nil {
		t.Fatal(err)
	}
	return trig.(sdk.Trigger), ch.(sdk.Channel)
}

// rawGRPCPlugin registers a hand-written server and uses the SDK's host
// client.
type rawGRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	register func(*grpc.Server)
	client   plugin.Plugin
}

func (p *rawGRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	p.register(s)
	return nil
}

func (p *rawGRPCPlugin) GRPCClient(ctx context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return p.client.(plugin.GRPCPlugin).GRPCClient(ctx, b, c)
}
