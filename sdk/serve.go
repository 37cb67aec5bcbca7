package sdk

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// TriggerFactory builds a trigger plugin with the logger the SDK injects.
type TriggerFactory func(log hclog.Logger) Trigger

// ChannelFactory builds a channel plugin with the logger the SDK injects.
type ChannelFactory func(log hclog.Logger) Channel

// ServeTrigger serves a trigger plugin; call it from main. It returns when
// the host stops the plugin.
func ServeTrigger(newTrigger TriggerFactory) {
	log := NewLogger()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         TriggerPluginSet(newTrigger(log)),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          log,
	})
}

// ServeChannel serves a channel plugin; call it from main.
func ServeChannel(newChannel ChannelFactory) {
	log := NewLogger()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         ChannelPluginSet(newChannel(log)),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          log,
	})
}

// NewLogger returns the logger a plugin process writes with: JSON on
// stderr, which the host parses and re-logs under the plugin's name. The
// host decides what level is shown.
func NewLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})
}
