package plugintest

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/triggergate/triggergate/sdk"
)

// TriggerProcess builds the plugin in the test's package directory
// (`go build .`) and runs it the way the gateway does: a separate process,
// the go-plugin handshake, gRPC only, AutoMTLS. The process is killed when
// the test ends.
func TriggerProcess(t testing.TB) sdk.Trigger {
	t.Helper()
	return dispenseProcess(t, sdk.KindTrigger).(sdk.Trigger)
}

// ChannelProcess is TriggerProcess for a channel plugin.
func ChannelProcess(t testing.TB) sdk.Channel {
	t.Helper()
	return dispenseProcess(t, sdk.KindChannel).(sdk.Channel)
}

func dispenseProcess(t testing.TB, kind string) any {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "plugin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
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
	raw, err := rpc.Dispense(kind)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
