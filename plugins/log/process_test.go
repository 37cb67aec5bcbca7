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
// does, checking that its log lines reach the host's logger.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "log")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var logs syncBuffer
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.HostPlugins(),
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info, JSONFormat: true}),
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("starting plugin: %v", err)
	}
	raw, err := rpc.Dispense(sdk.KindChannel)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := raw.(sdk.Channel).Send(ctx, &sdk.SendRequest{Channel: "dev", Messages: []sdk.Message{{ID: "m1", Trigger: "t", Step: "s"}}})
	if err != nil || resp.Results[0].ProviderID != "log-m1" {
		t.Fatalf("Send = %+v, %v", resp, err)
	}
	client.Kill() // flushes the plugin's stderr into the host logger
	found := false
	for _, l := range logs.lines(t) {
		if l["@message"] == "message delivered" && l["message_id"] == "m1" && l["channel"] == "dev" {
			found = true
		}
	}
	if !found {
		t.Errorf("plugin log line not forwarded to the host; host log:\n%s", logs.b.String())
	}
}
