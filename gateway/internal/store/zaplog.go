package store

import (
	"sort"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZapLogger returns a zap logger for etcd's server and client that writes
// into log. etcd is chatty at info level, so only warnings and errors pass
// unless log is at debug level, in which case etcd's info lines arrive as
// debug lines.
//
// Once quiet is set (the store is closing), everything etcd says is logged
// at debug level: listeners failing with "use of closed network
// connection" during an orderly stop are not errors an operator must read.
func newZapLogger(log hclog.Logger, quiet *atomic.Bool) *zap.Logger {
	min := zapcore.WarnLevel
	if log.IsDebug() || log.IsTrace() {
		min = zapcore.InfoLevel
	}
	return zap.New(&hclogCore{min: min, log: log, quiet: quiet})
}

// benign are warnings embedded etcd always prints in the way the gateway
// runs it (one loopback port for gRPC and HTTP, no etcd auth): logged at
// debug level so that a clean start shows no warnings.
var benign = map[string]bool{
	"Running http and grpc server on single port. This is not recommended for production.": true,
	"simple token is not cryptographically signed":                                         true,
}

// hclogCore is a zapcore.Core writing to an hclog.Logger.
type hclogCore struct {
	min    zapcore.Level
	log    hclog.Logger
	quiet  *atomic.Bool
	fields []zapcore.Field
}

var _ zapcore.Core = (*hclogCore)(nil)

func (c *hclogCore) Enabled(l zapcore.Level) bool { return l >= c.min }

func (c *hclogCore) With(fields []zapcore.Field) zapcore.Core {
	return &hclogCore{min: c.min, log: c.log, quiet: c.quiet, fields: append(c.fields[:len(c.fields):len(c.fields)], fields...)}
}

func (c *hclogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *hclogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, enc.Fields[k])
	}
	switch {
	case c.quiet.Load() || benign[e.Message]:
		c.log.Debug(e.Message, args...)
	case e.Level >= zapcore.ErrorLevel:
		c.log.Error(e.Message, args...)
	case e.Level == zapcore.WarnLevel:
		c.log.Warn(e.Message, args...)
	default:
		c.log.Debug(e.Message, args...)
	}
	return nil
}

func (c *hclogCore) Sync() error { return nil }
