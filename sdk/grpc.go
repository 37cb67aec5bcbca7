package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/triggergate/triggergate/sdk/internal/pluginpb"
)

// Handshake is the go-plugin handshake shared by the host and plugins. A
// binary that is not a triggergate plugin, or one built for another
// protocol version, is refused before any call.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "TRIGGERGATE_PLUGIN",
	MagicCookieValue: "6a1f0c3e-trigger-gate-plugin",
}

// Names under which plugins are dispensed over go-plugin.
const (
	pluginNameTrigger = KindTrigger
	pluginNameChannel = KindChannel
)

// HostPlugins is the go-plugin PluginSet a host uses to connect to any
// triggergate plugin. Dispense KindTrigger for a Trigger and KindChannel for
// a Channel.
func HostPlugins() plugin.PluginSet {
	return plugin.PluginSet{
		pluginNameTrigger: &triggerPlugin{},
		pluginNameChannel: &channelPlugin{},
	}
}

// TriggerPluginSet is the go-plugin PluginSet that serves impl. Serve uses
// it; so do test harnesses that connect to a plugin in-process.
func TriggerPluginSet(impl Trigger) plugin.PluginSet {
	return plugin.PluginSet{pluginNameTrigger: &triggerPlugin{impl: impl}}
}

// ChannelPluginSet is the go-plugin PluginSet that serves impl.
func ChannelPluginSet(impl Channel) plugin.PluginSet {
	return plugin.PluginSet{pluginNameChannel: &channelPlugin{impl: impl}}
}

// errNilResponse answers for a plugin that returned neither a response nor
// an error, instead of letting the nil take the plugin process down.
var errNilResponse = status.Error(codes.Internal, "plugin bug: nil response and nil error")

// grpcError turns an implementation's error into a gRPC status, keeping
// context cancellation visible as such to the host.
func grpcError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return status.FromContextError(ctxErr).Err()
	}
	return status.Error(codes.Unknown, err.Error())
}

// --- trigger ---

type triggerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Trigger
}

func (p *triggerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterTriggerServer(s, &triggerServer{impl: p.impl})
	return nil
}

func (p *triggerPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &triggerClient{client: pb.NewTriggerClient(c)}, nil
}

type triggerServer struct {
	pb.UnimplementedTriggerServer
	impl Trigger
}

func (s *triggerServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return describe(ctx, s.impl, KindTrigger)
}

func (s *triggerServer) ValidateConfig(ctx context.Context, req *pb.ValidateConfigRequest) (*pb.ValidateConfigResponse, error) {
	return validateConfig(ctx, s.impl, req)
}

func (s *triggerServer) Evaluate(ctx context.Context, req *pb.EvaluateRequest) (*pb.EvaluateResponse, error) {
	r, err := evaluateRequestFromPB(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp, err := s.impl.Evaluate(ctx, r)
	if err != nil {
		return nil, grpcError(ctx, err)
	}
	if resp == nil {
		return nil, errNilResponse
	}
	if len(resp.Results) != len(r.Items) {
		return nil, status.Errorf(codes.Internal, "plugin bug: %d results for %d items", len(resp.Results), len(r.Items))
	}
	out, err := evaluateResponseToPB(resp)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return out, nil
}

type triggerClient struct {
	client pb.TriggerClient
}

var _ Trigger = (*triggerClient)(nil)

func (c *triggerClient) Describe(ctx context.Context) (*DescribeResponse, error) {
	resp, err := c.client.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, err
	}
	return describeFromPB(resp)
}

func (c *triggerClient) ValidateConfig(ctx context.Context, req *ValidateConfigRequest) (*ValidateConfigResponse, error) {
	resp, err := c.client.ValidateConfig(ctx, &pb.ValidateConfigRequest{ConfigJson: req.Config})
	if err != nil {
		return nil, err
	}
	return &ValidateConfigResponse{Diagnostics: diagsFromPB(resp.GetDiagnostics())}, nil
}

func (c *triggerClient) Evaluate(ctx context.Context, req *EvaluateRequest) (*EvaluateResponse, error) {
	in, err := evaluateRequestToPB(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Evaluate(ctx, in)
	if err != nil {
		return nil, err
	}
	return evaluateResponseFromPB(resp, len(req.Items))
}

// --- channel ---

type channelPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Channel
}

func (p *channelPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterChannelServer(s, &channelServer{impl: p.impl})
	return nil
}

func (p *channelPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &channelClient{client: pb.NewChannelClient(c)}, nil
}

type channelServer struct {
	pb.UnimplementedChannelServer
	impl Channel
}

func (s *channelServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return describe(ctx, s.impl, KindChannel)
}

func (s *channelServer) ValidateConfig(ctx context.Context, req *pb.ValidateConfigRequest) (*pb.ValidateConfigResponse, error) {
	return validateConfig(ctx, s.impl, req)
}

func (s *channelServer) Send(ctx context.Context, req *pb.SendRequest) (*pb.SendResponse, error) {
	r, err := sendRequestFromPB(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp, err := s.impl.Send(ctx, r)
	if err != nil {
		return nil, grpcError(ctx, err)
	}
	if resp == nil {
		return nil, errNilResponse
	}
	if len(resp.Results) != len(r.Messages) {
		return nil, status.Errorf(codes.Internal, "plugin bug: %d results for %d messages", len(resp.Results), len(r.Messages))
	}
	return sendResponseToPB(resp), nil
}

type channelClient struct {
	client pb.ChannelClient
}

var _ Channel = (*channelClient)(nil)

func (c *channelClient) Describe(ctx context.Context) (*DescribeResponse, error) {
	resp, err := c.client.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, err
	}
	return describeFromPB(resp)
}

func (c *channelClient) ValidateConfig(ctx context.Context, req *ValidateConfigRequest) (*ValidateConfigResponse, error) {
	resp, err := c.client.ValidateConfig(ctx, &pb.ValidateConfigRequest{ConfigJson: req.Config})
	if err != nil {
		return nil, err
	}
	return &ValidateConfigResponse{Diagnostics: diagsFromPB(resp.GetDiagnostics())}, nil
}

func (c *channelClient) Send(ctx context.Context, req *SendRequest) (*SendResponse, error) {
	in, err := sendRequestToPB(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Send(ctx, in)
	if err != nil {
		return nil, err
	}
	return sendResponseFromPB(resp, len(req.Messages))
}

// --- shared base calls ---

func describe(ctx context.Context, impl Describer, kind string) (*pb.DescribeResponse, error) {
	d, err := impl.Describe(ctx)
	if err != nil {
		return nil, grpcError(ctx, err)
	}
	if d == nil {
		return nil, errNilResponse
	}
	out := *d // the plugin may hand out a shared value; do not write to it
	out.Kind, out.ProtocolVersion = kind, ProtocolVersion
	return describeToPB(&out), nil
}

func validateConfig(ctx context.Context, impl Describer, req *pb.ValidateConfigRequest) (*pb.ValidateConfigResponse, error) {
	resp, err := impl.ValidateConfig(ctx, &ValidateConfigRequest{Config: req.GetConfigJson()})
	if err != nil {
		return nil, grpcError(ctx, err)
	}
	if resp == nil {
		return nil, errNilResponse
	}
	return &pb.ValidateConfigResponse{Diagnostics: diagsToPB(resp.Diagnostics)}, nil
}
