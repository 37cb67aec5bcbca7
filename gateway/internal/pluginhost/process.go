package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/hashicorp/go-plugin"

	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/sdk"
)

// process is one plugin binary and, while it runs, its go-plugin client.
// gen counts starts so a caller can tell whether the process it called is
// the one that died.
type process struct {
	host *Host
	spec Spec
	kind string

	mu        sync.Mutex
	client    *plugin.Client
	impl      any
	gen       int
	desc      *sdk.DescribeResponse
	backoff   *backoff.ExponentialBackOff
	notBefore time.Time
	lastErr   error
}

func newProcess(h *Host, spec Spec, kind string) *process {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = h.minBackoff, h.maxBackoff
	return &process{host: h, spec: spec, kind: kind, backoff: b}
}

// get returns a live instance, starting the process if it is not running.
// After a failure it waits out the backoff (or ctx) before trying again.
func (p *process) get(ctx context.Context) (any, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil && !p.client.Exited() {
		return p.impl, p.gen, nil
	}
	if p.client != nil {
		p.host.log.Warn("plugin process exited; restarting", "plugin", p.spec.Name, "kind", p.kind)
		metrics.PluginRestarted(p.spec.Name)
		p.client.Kill()
		p.client, p.impl, p.desc = nil, nil, nil
		p.notBefore = time.Now().Add(p.backoff.NextBackOff())
	}
	if wait := time.Until(p.notBefore); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, 0, fmt.Errorf("%w: waiting to restart %s plugin %q: %v", ErrPluginGone, p.kind, p.spec.Name, ctx.Err())
		case <-t.C:
		}
	}
	if err := p.start(ctx); err != nil {
		p.lastErr = err
		p.notBefore = time.Now().Add(p.backoff.NextBackOff())
		return nil, 0, err
	}
	return p.impl, p.gen, nil
}

func (p *process) start(ctx context.Context) error {
	var secure *plugin.SecureConfig
	if p.spec.SHA256 != "" {
		sum, err := hex.DecodeString(p.spec.SHA256)
		if err != nil {
			return fmt.Errorf("plugin %q: sha256 pin is not hex: %w", p.spec.Name, err)
		}
		secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.HostPlugins(),
		Cmd:              p.command(),
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     p.host.startWait,
		// go-plugin names the plugin's own log lines after its binary.
		Logger: p.host.log.With("plugin", p.spec.Name),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		if err == plugin.ErrChecksumsDoNotMatch {
			return fmt.Errorf("plugin %q: %w (%s)", p.spec.Name, ErrChecksum, p.spec.Path)
		}
		return fmt.Errorf("%w: starting %s plugin %q (%s): %v", ErrPluginGone, p.kind, p.spec.Name, p.spec.Path, err)
	}
	impl, err := rpc.Dispense(p.kind)
	if err != nil {
		client.Kill()
		return fmt.Errorf("%w: connecting to %s plugin %q: %v", ErrPluginGone, p.kind, p.spec.Name, err)
	}
	d, ok := impl.(sdk.Describer)
	if !ok {
		client.Kill()
		return fmt.Errorf("%w: %q", ErrWrongKind, p.spec.Name)
	}
	dctx, cancel := context.WithTimeout(ctx, p.host.callTimeout)
	defer cancel()
	began := time.Now()
	desc, err := d.Describe(dctx)
	metrics.ObservePluginCall(p.spec.Name, "Describe", time.Since(began))
	if err != nil {
		client.Kill()
		return fmt.Errorf("%w: plugin %q does not answer Describe as a %s plugin: %v", ErrWrongKind, p.spec.Name, p.kind, err)
	}
	if desc.Kind != p.kind {
		client.Kill()
		return fmt.Errorf("%w: %q is a %s plugin, used here as a %s", ErrWrongKind, p.spec.Name, desc.Kind, p.kind)
	}
	p.client, p.impl, p.desc = client, impl, desc
	p.gen++
	p.host.log.Debug("plugin started", "plugin", p.spec.Name, "kind", p.kind, "version", desc.Version, "pid", p.pidLocked())
	return nil
}

// command builds the plugin's command: the host's environment plus the
// log level the plugin should write at.
func (p *process) command() *exec.Cmd {
	cmd := command(p.spec.Path)
	cmd.Env = append(os.Environ(), sdk.LogLevelEnv+"="+p.host.log.GetLevel().String())
	return cmd
}

// exited reports whether the process of generation gen has died since.
func (p *process) exited(gen int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen != gen || p.client == nil || p.client.Exited()
}

// succeeded resets the restart backoff after a call went through.
func (p *process) succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backoff.Reset()
}

func (p *process) describe(ctx context.Context) (*sdk.DescribeResponse, error) {
	if _, _, err := p.get(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.desc, nil
}

func (p *process) pidLocked() int {
	if p.client == nil || p.client.Exited() {
		return 0
	}
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

func (p *process) info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Info{Name: p.spec.Name, Kind: p.kind, Path: p.spec.Path, PID: p.pidLocked(), Starts: p.gen, Describe: p.desc}
}

func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		p.client.Kill()
		p.client, p.impl = nil, nil
	}
}
