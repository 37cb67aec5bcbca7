package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/triggergate/triggergate/sdk"
)

// TestPluginProcess builds the plugin binary and runs it the way the gateway
// does: a separate process, go-plugin handshake, gRPC only, AutoMTLS.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "event")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.HostPlugins(),
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("starting plugin: %v", err)
	}
	raw, err := rpc.Dispense(sdk.KindTrigger)
	if err != nil {
		t.Fatal(err)
	}
	trig := raw.(sdk.Trigger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	d, err := trig.Describe(ctx)
	if err != nil || d.Name != "event" || d.Kind != sdk.KindTrigger || d.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	resp, err := trig.Evaluate(ctx, &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": sdk.RawConfig(`{"on":["order.placed"],"when":"event.properties.value > 1"}`)},
		Items: []sdk.EvaluateItem{
			{Rule: "r", Event: sdk.Event{ID: "e1", Type: "order.placed", Customer: jane(), Properties: map[string]any{"value": 2}}, Now: start},
			{Rule: "r", Event: sdk.Event{ID: "e2", Type: "order.placed", Customer: jane()}, Now: start},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f := resp.Results[0].Fires; len(f) != 1 || f[0].Key != "e1" || len(resp.Results[1].Fires) != 0 {
		t.Errorf("results = %+v", resp.Results)
	}
}
