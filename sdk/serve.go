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

// LogLevelEnv is the environment variable through which the host tells a
// plugin its log level, so that a plugin does not format and send lines
// the host would discard.
const LogLevelEnv = "TRIGGERGATE_PLUGIN_LOG_LEVEL"

// NewLogger returns the logger a plugin process writes with: JSON on
// stderr, which the host parses and re-logs under the plugin's name, at
// the level the host set in LogLevelEnv (trace when unset).
func NewLogger() hclog.Logger {
	level := hclog.LevelFromString(os.Getenv(LogLevelEnv))
	if level == hclog.NoLevel {
		level = hclog.Trace
	}
	return hclog.New(&hclog.LoggerOptions{
		Level:      level,
		Output:     os.Stderr,
		JSONFormat: true,
	})
}
