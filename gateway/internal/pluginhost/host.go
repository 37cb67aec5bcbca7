// Package pluginhost launches trigger and channel plugin processes and
// stands between them and the rest of the gateway.
//
// Every plugin sits behind a handle (Trigger or Channel) that implements the
// SDK interface. A handle starts its process on first use, puts a timeout on
// every call, and when the process has died starts a new one on the next
// call, waiting out an exponential backoff so that a crash-looping plugin
// does not spin. Calls that fail because the process is gone return an error
// wrapping ErrPluginGone; callers treat it as retryable, since the work they
// sent was not acknowledged.
package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/sdk"
)

// Errors callers can test for with errors.Is.
var (
	// ErrPluginGone means the plugin process died or could not be reached;
	// the call's outcome is unknown and it should be retried.
	ErrPluginGone = errors.New("plugin process is not running")
	// ErrNotFound means no binary exists for a plugin name.
	ErrNotFound = errors.New("plugin not found")
	// ErrChecksum means a binary does not match its pinned sha256.
	ErrChecksum = errors.New("plugin binary does not match its sha256 pin")
	// ErrWrongKind means a binary is not the kind of plugin it is used as.
	ErrWrongKind = errors.New("plugin is of the wrong kind")
)

// Spec says where a plugin's binary is and, optionally, what it must hash to.
type Spec struct {
	Name string
	// Path to the binary. Empty means <plugin dir>/<Name>.
	Path string
	// SHA256 pins the binary: hex-encoded digest; empty means no pin.
	SHA256 string
}

// Host owns the plugin processes of one gateway.
type Host struct {
	log         hclog.Logger
	dir         string
	callTimeout time.Duration
	startWait   time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration

	mu    sync.Mutex
	specs map[string]Spec
	procs map[string]*process
}

// Option configures a Host.
type Option func(*Host)

// WithDir sets the directory searched for plugins that have no explicit
// path (default: "plugins" beside the running executable).
func WithDir(dir string) Option { return func(h *Host) { h.dir = dir } }

// WithCallTimeout bounds every plugin call (default 30s).
func WithCallTimeout(d time.Duration) Option { return func(h *Host) { h.callTimeout = d } }

// WithRestartBackoff sets the wait before restarting a dead plugin: min
// after the first failure, doubling up to max (defaults 200ms and 30s).
func WithRestartBackoff(minWait, maxWait time.Duration) Option {
	return func(h *Host) { h.minBackoff, h.maxBackoff = minWait, maxWait }
}

// New returns a host that starts nothing until a plugin is first used.
func New(log hclog.Logger, opts ...Option) *Host {
	h := &Host{
		log:         log,
		callTimeout: 30 * time.Second,
		startWait:   15 * time.Second,
		minBackoff:  200 * time.Millisecond,
		maxBackoff:  30 * time.Second,
		specs:       map[string]Spec{},
		procs:       map[string]*process{},
	}
	for _, o := range opts {
		o(h)
	}
	if h.dir == "" {
		if exe, err := os.Executable(); err == nil {
			h.dir = filepath.Join(filepath.Dir(exe), "plugins")
		}
	}
	return h
}

// Register declares a plugin with an explicit path or pin (a `plugin`
// block). It replaces any earlier spec of the same name.
func (h *Host) Register(spec Spec) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.specs[spec.Name] = spec
}

// Resolve finds the binary for a plugin name and checks its pin, so that
// configuration problems surface at validation time rather than at first use.
func (h *Host) Resolve(name string) (Spec, error) {
	h.mu.Lock()
	spec, ok := h.specs[name]
	h.mu.Unlock()
	if !ok {
		spec = Spec{Name: name}
	}
	if spec.Path == "" {
		spec.Path = filepath.Join(h.dir, name)
	}
	fi, err := os.Stat(spec.Path)
	if err != nil || fi.IsDir() {
		return spec, fmt.Errorf("%w: %q has no binary at %s (run `make build`, or declare it with a plugin %q { path = ... } block)",
			ErrNotFound, name, spec.Path, name)
	}
	if spec.SHA256 != "" {
		if err := checkSHA256(spec.Path, spec.SHA256); err != nil {
			return spec, fmt.Errorf("plugin %q: %w", name, err)
		}
	}
	return spec, nil
}

func checkSHA256(path, want string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	got := sha256.Sum256(b)
	if hex.EncodeToString(got[:]) != want {
		return fmt.Errorf("%w: %s has sha256 %x, the config pins %s", ErrChecksum, path, got, want)
	}
	return nil
}

// Trigger returns the handle for a trigger plugin. The process starts on
// first use; call Describe to start it eagerly and check it.
func (h *Host) Trigger(name string) (*Trigger, error) {
	p, err := h.process(name, sdk.KindTrigger)
	if err != nil {
		return nil, err
	}
	return &Trigger{p: p}, nil
}

// Channel returns the handle for a channel plugin.
func (h *Host) Channel(name string) (*Channel, error) {
	p, err := h.process(name, sdk.KindChannel)
	if err != nil {
		return nil, err
	}
	return &Channel{p: p}, nil
}

func (h *Host) process(name, kind string) (*process, error) {
	spec, err := h.Resolve(name)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.procs[name]; ok {
		if p.kind != kind {
			return nil, fmt.Errorf("%w: %q is used as a %s and as a %s", ErrWrongKind, name, p.kind, kind)
		}
		return p, nil
	}
	p := newProcess(h, spec, kind)
	h.procs[name] = p
	return p, nil
}

// Info describes one plugin process, for status output and tests.
type Info struct {
	Name     string
	Kind     string
	Path     string
	PID      int // 0 when not running
	Starts   int // how many times the process was started
	Describe *sdk.DescribeResponse
}

// Processes lists the plugins the host has handles for, by name.
func (h *Host) Processes() []Info {
	procs := h.snapshot()
	out := make([]Info, 0, len(procs))
	for _, p := range procs {
		out = append(out, p.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Ping checks that every plugin the host has a handle for answers,
// restarting any that died. It is the plugin part of /readyz.
func (h *Host) Ping(ctx context.Context) error {
	for _, p := range h.snapshot() {
		if _, err := p.describe(ctx); err != nil {
			return err
		}
	}
	return nil
}

// snapshot returns the current processes, so that slow work on them does
// not hold the host's lock.
func (h *Host) snapshot() []*process {
	h.mu.Lock()
	defer h.mu.Unlock()
	procs := make([]*process, 0, len(h.procs))
	for _, p := range h.procs {
		procs = append(procs, p)
	}
	return procs
}

// Close stops every plugin process.
func (h *Host) Close() {
	h.mu.Lock()
	procs := h.procs
	h.procs = map[string]*process{}
	h.mu.Unlock()
	for _, p := range procs {
		p.stop()
	}
}

// call runs fn, the plugin's method, against a live instance of p with
// the host's call timeout, mapping a dead process to ErrPluginGone. The
// call's duration counts in plugin_call_seconds, failed or not.
func call[T any, R any](ctx context.Context, p *process, method string, fn func(context.Context, T) (R, error)) (R, error) {
	var zero R
	raw, gen, err := p.get(ctx)
	if err != nil {
		return zero, err
	}
	impl, ok := raw.(T)
	if !ok {
		return zero, fmt.Errorf("%w: %q does not serve the %s interface", ErrWrongKind, p.spec.Name, p.kind)
	}
	ctx, cancel := context.WithTimeout(ctx, p.host.callTimeout)
	defer cancel()
	start := time.Now()
	r, err := fn(ctx, impl)
	metrics.ObservePluginCall(p.spec.Name, method, time.Since(start))
	if err != nil {
		if p.exited(gen) || status.Code(err) == codes.Unavailable {
			return zero, fmt.Errorf("%w: %s plugin %q died during the call: %v", ErrPluginGone, p.kind, p.spec.Name, err)
		}
		return zero, fmt.Errorf("%s plugin %q: %w", p.kind, p.spec.Name, err)
	}
	p.succeeded()
	return r, nil
}

// Trigger is the host's handle on a trigger plugin.
type Trigger struct{ p *process }

var _ sdk.Trigger = (*Trigger)(nil)

// Name is the plugin's name.
func (t *Trigger) Name() string { return t.p.spec.Name }

// Describe implements sdk.Trigger; the answer is cached per process start.
func (t *Trigger) Describe(ctx context.Context) (*sdk.DescribeResponse, error) {
	return t.p.describe(ctx)
}

// ValidateConfig implements sdk.Trigger.
func (t *Trigger) ValidateConfig(ctx context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return call(ctx, t.p, "ValidateConfig", func(ctx context.Context, impl sdk.Trigger) (*sdk.ValidateConfigResponse, error) {
		return impl.ValidateConfig(ctx, req)
	})
}

// Evaluate implements sdk.Trigger.
func (t *Trigger) Evaluate(ctx context.Context, req *sdk.EvaluateRequest) (*sdk.EvaluateResponse, error) {
	return call(ctx, t.p, "Evaluate", func(ctx context.Context, impl sdk.Trigger) (*sdk.EvaluateResponse, error) {
		return impl.Evaluate(ctx, req)
	})
}

// Channel is the host's handle on a channel plugin.
type Channel struct{ p *process }

var _ sdk.Channel = (*Channel)(nil)

// Name is the plugin's name.
func (c *Channel) Name() string { return c.p.spec.Name }

// Describe implements sdk.Channel; the answer is cached per process start.
func (c *Channel) Describe(ctx context.Context) (*sdk.DescribeResponse, error) {
	return c.p.describe(ctx)
}

// ValidateConfig implements sdk.Channel.
func (c *Channel) ValidateConfig(ctx context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	return call(ctx, c.p, "ValidateConfig", func(ctx context.Context, impl sdk.Channel) (*sdk.ValidateConfigResponse, error) {
		return impl.ValidateConfig(ctx, req)
	})
}

// Send implements sdk.Channel.
func (c *Channel) Send(ctx context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	return call(ctx, c.p, "Send", func(ctx context.Context, impl sdk.Channel) (*sdk.SendResponse, error) {
		return impl.Send(ctx, req)
	})
}
