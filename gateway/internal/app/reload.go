package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// A gateway serves one configuration version at a time. A version is
// loaded from etcd, prepared (its plugins started under a plugin host of
// its own, its templates parsed, every plugin config validated) while the
// current one keeps serving, and only then switched to. One that does not
// load or prepare is refused: the node records why in etcd
// (config/nodes/<node>) and goes on serving what it had.

// version is a prepared configuration and the plugin host running its
// plugins.
type version struct {
	id     int64
	digest string
	cfg    *config.Config
	plan   *Plan
	host   *pluginhost.Host
}

// close stops the version's plugins.
func (v *version) close() {
	if v.host != nil {
		v.host.Close()
	}
}

// prepareVersion prepares cfg under a new plugin host; on failure the
// host is closed and the diagnostics come back.
func prepareVersion(ctx context.Context, cfg *config.Config, hostOpts []pluginhost.Option, logger hclog.Logger) (*version, hcl.Diagnostics) {
	opts := append([]pluginhost.Option{pluginhost.WithDir(cfg.Gateway.PluginDir)}, hostOpts...)
	host := pluginhost.New(logger.Named("plugin"), opts...)
	plan, diags := Prepare(ctx, cfg, host)
	if diags.HasErrors() {
		host.Close()
		return nil, diags
	}
	return &version{cfg: cfg, plan: plan, host: host}, diags
}

// switcher holds the version a node serves and switches it.
type switcher struct {
	node     *config.Config // the node's own file: gateway and store settings
	nodeID   string
	st       *store.Store
	configs  *configstore.Store
	hostOpts []pluginhost.Option
	logger   hclog.Logger

	engine   *engine.Engine
	delivery *delivery.Worker
	// front serves the ingest endpoints of the current version.
	front       swapHandler
	buildFront  func(*Plan) http.Handler
	onSwitch    func(id int64) // after a switch (metrics, tests)
	mu          sync.Mutex     // one switch at a time
	current     atomic.Pointer[version]
	lastRefused int64
}

// swapHandler is an http.Handler whose target can be replaced while it
// serves.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// serving returns the version being served (nil before the first).
func (s *switcher) serving() *version { return s.current.Load() }

// source finds a source of the version being served.
func (s *switcher) source(name string) (ingest.Source, bool) {
	v := s.serving()
	if v == nil {
		return ingest.Source{}, false
	}
	for _, src := range v.plan.Sources {
		if src.Name == name {
			return src, true
		}
	}
	return ingest.Source{}, false
}

// secrets are the secret values the version being served resolved (with
// env() or written out): the admin API makes sure no answer holds one.
func (s *switcher) secrets() []string {
	v := s.serving()
	if v == nil {
		return nil
	}
	var out []string
	for _, src := range v.cfg.Sources {
		out = append(out, src.Secrets...)
	}
	if t := v.cfg.Tracking; t != nil {
		out = append(out, t.Secrets...)
	}
	return out
}

// known reports whether the version being served has a source named
// name: metrics label only configured names.
func (s *switcher) known(name string) bool {
	_, ok := s.source(name)
	return ok
}

// install makes v the version served, without the transition a switch
// makes: before the engine and the delivery worker run.
func (s *switcher) install(v *version) {
	s.current.Store(v)
	s.front.set(s.buildFront(v.plan))
	metrics.SetConfigVersion(v.id)
}

// load reads version id from etcd and prepares it for this node.
func (s *switcher) load(ctx context.Context, id int64) (*version, error) {
	stored, err := s.configs.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	cfg, diags := config.LoadVersion(stored.Files, s.node)
	if !diags.HasErrors() {
		v, more := prepareVersion(ctx, cfg, s.hostOpts, s.logger)
		diags = append(diags, more...)
		if v != nil {
			v.id, v.digest = stored.ID, stored.Digest
			s.warn(v.id, diags)
			return v, nil
		}
	}
	var b bytes.Buffer
	_ = config.WriteDiagnostics(&b, cfg.Files, diags)
	return nil, &RefusedError{Version: id, Diagnostics: b.String()}
}

// RefusedError is a version a node would not switch to.
type RefusedError struct {
	Version     int64
	Diagnostics string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("configuration version %d does not validate on this node:\n%s", e.Version, e.Diagnostics)
}

func (s *switcher) warn(id int64, diags hcl.Diagnostics) {
	for _, d := range diags {
		s.logger.Warn("configuration warning", "version", id, "summary", d.Summary, "detail", d.Detail, "at", rangeString(d.Subject))
	}
}

// apply is the watch's callback: it switches to version id unless that
// is the one served, or was already refused.
func (s *switcher) apply(ctx context.Context, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == 0 {
		if s.serving() == nil {
			s.logger.Warn("no configuration in etcd yet: serving nothing until one is applied (triggergate apply -config PATH)")
		}
		return
	}
	if cur := s.serving(); (cur != nil && cur.id == id) || s.lastRefused == id {
		return
	}
	s.logger.Info("new configuration version; preparing it", "version", id)
	v, err := s.load(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.lastRefused = id
		s.logger.Error("configuration version refused; the current one keeps serving", "version", id, "error", err)
		s.record(ctx, err, id)
		return
	}
	old := s.serving()
	s.transition(old, v)
	s.logger.Info("configuration switched", "version", v.id, "digest", v.digest,
		"sources", len(v.plan.Sources), "triggers", len(v.plan.Rules), "channels", len(v.plan.Channels))
	s.record(ctx, nil, 0)
}

// transition switches from old to v so that nothing is lost on the way:
//  1. the delivery worker takes v's channels and templates alongside
//     old's, so messages queued under either are sent;
//  2. the engine takes v's rules between two passes;
//  3. the ingest takes v's sources: events from a new source are only
//     accepted once the rules that expect them are in place;
//  4. the delivery worker drops old's channels (once its sends under way
//     end), and old's plugins stop.
func (s *switcher) transition(old, v *version) {
	if old != nil {
		s.delivery.Reconfigure(merged(old.plan, v.plan))
	} else {
		s.delivery.Reconfigure(v.plan.DeliverySetup())
	}
	s.engine.SetRuleset(v.plan.Ruleset())
	s.install(v)
	s.delivery.Reconfigure(v.plan.DeliverySetup())
	if old != nil {
		old.close()
	}
	if s.onSwitch != nil {
		s.onSwitch(v.id)
	}
}

// merged is the delivery setup of a transition: next's channels and
// templates, and prev's where next has none of that name.
func merged(prev, next *Plan) delivery.Setup {
	s := next.DeliverySetup()
	s.Channels = map[string]delivery.Channel{}
	s.Templates = map[string]*render.Template{}
	for _, p := range []*Plan{prev, next} {
		for k, v := range p.Channels {
			s.Channels[k] = v
		}
		for k, v := range p.Templates {
			s.Templates[k] = v
		}
	}
	return s
}

// record writes the node's configuration state to etcd: the version it
// serves and, if refused is set, the version it refused and why.
func (s *switcher) record(ctx context.Context, refused error, refusedID int64) {
	ns := configstore.NodeState{Node: s.nodeID}
	if cur := s.serving(); cur != nil {
		ns.Version, ns.Digest = cur.id, cur.digest
	}
	if refused != nil {
		msg := refused.Error()
		var re *RefusedError
		if errors.As(refused, &re) {
			msg = re.Diagnostics
		}
		ns.Refused = &configstore.Refusal{Version: refusedID, Error: msg, At: time.Now().UTC()}
	}
	ns.Since = time.Now().UTC()
	if err := s.configs.SetNodeState(ctx, ns, 0); err != nil && ctx.Err() == nil {
		s.logger.Warn("recording the node's configuration state failed", "error", err)
	}
	// Nodes that are gone leave their states behind: clear them (this
	// node has registered as a member before it records anything).
	members, err := cluster.ReadStatus(ctx, s.st)
	if err == nil {
		live := make([]string, len(members.Nodes))
		for i, m := range members.Nodes {
			live[i] = m.ID
		}
		err = s.configs.ForgetNodes(ctx, live)
	}
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("clearing the configuration states of departed nodes failed", "error", err)
	}
}

// clusterFileError is the diagnostic for a cluster node's file that holds
// shared blocks: in cluster mode they come from etcd.
func clusterFileError(cfg *config.Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, r := range cfg.SharedBlocks() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Shared configuration in a cluster node's file",
			Detail: "With store { endpoints = [...] } this node is part of a cluster: its own file holds only the gateway and store blocks " +
				"(listen addresses, etcd endpoints, secrets through env()). Sources, channels, templates, triggers, plugins, policy and tracking " +
				"are shared by every node: put them in their own files and store them with `triggergate apply -config PATH`.",
			Subject: r.Ptr(),
		})
	}
	return diags
}

// author names who applies a configuration from this process.
func author(what string) string {
	host, _ := os.Hostname()
	user := os.Getenv("USER")
	if user == "" {
		user = "unknown"
	}
	return fmt.Sprintf("%s@%s (%s)", user, host, what)
}
