package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/admin"
	"github.com/triggergate/triggergate/gateway/internal/archive"
	"github.com/triggergate/triggergate/gateway/internal/backlog"
	"github.com/triggergate/triggergate/gateway/internal/cluster"
	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/delivery"
	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/metrics"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/requestid"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/tracking"
	"github.com/triggergate/triggergate/sdk"
)

// maxInFlight bounds the deliveries one node handles at once; past it the
// ingest answers 503 rather than buffering without bound.
const maxInFlight = 4096

// DiagnosticsError is returned by Run when the configuration does not
// validate; nothing has been started.
type DiagnosticsError struct {
	Diags hcl.Diagnostics
}

func (e *DiagnosticsError) Error() string { return e.Diags.Error() }

// Options tune Run beyond what the configuration says; tests use them.
type Options struct {
	// Logger receives the gateway's logs (default: hclog to stderr at the
	// configured level).
	Logger hclog.Logger
	// Ready, when set, receives the ingest address once the gateway serves.
	Ready func(addr net.Addr)
	// AdminReady, when set, receives the admin API's address.
	AdminReady func(addr net.Addr)
	// PluginHostOptions are added to the plugin host's options.
	PluginHostOptions []pluginhost.Option
	// DeliveryOptions are added to the delivery worker's options.
	DeliveryOptions []delivery.Option
	// OnSwitch, when set, is called each time the node has switched to a
	// configuration version applied while it runs.
	OnSwitch func(version int64)
}

// Run starts a gateway for cfg and serves until ctx is done, then shuts
// down in order: stop taking webhooks (draining requests in flight), stop
// the engine and delivery workers, stop plugins, close etcd.
//
// With embedded etcd (one node), cfg is the whole configuration: Run
// prepares it before starting anything, then stores it in etcd as a new
// version if it differs from the current one. In cluster mode cfg holds
// only the node's settings and the rest comes from etcd. Either way the
// node then watches etcd and switches to each version applied, once it
// has prepared it.
func Run(ctx context.Context, cfg *config.Config, opts Options) error {
	logger := opts.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "triggergate", Level: hclog.LevelFromString(cfg.Gateway.LogLevel)})
	}
	clusterMode := !cfg.Store.Embedded
	var local *version
	if clusterMode {
		if diags := clusterFileError(cfg); diags.HasErrors() {
			return &DiagnosticsError{Diags: diags}
		}
	} else {
		v, diags := prepareVersion(ctx, cfg, opts.PluginHostOptions, logger)
		if diags.HasErrors() {
			return &DiagnosticsError{Diags: diags}
		}
		for _, d := range diags {
			logger.Warn("configuration warning", "summary", d.Summary, "detail", d.Detail, "at", rangeString(d.Subject))
		}
		local = v
	}
	// Whatever version is served last is closed last.
	var sw *switcher
	defer func() {
		if sw != nil && sw.serving() != nil {
			sw.serving().close()
		} else if local != nil {
			local.close()
		}
	}()

	st, err := store.Open(ctx, store.Config{
		Embedded: cfg.Store.Embedded, DataDir: cfg.Gateway.DataDir,
		ClientURL: cfg.Store.ClientURL, PeerURL: cfg.Store.PeerURL, Endpoints: cfg.Store.Endpoints,
		Prefix: cfg.Store.Prefix, QuotaBytes: cfg.Store.QuotaBytes, DialTimeout: cfg.Store.DialTimeout,
	}, logger.Named("store"))
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("closing the store", "error", err)
		}
	}()
	configs := configstore.New(st)
	if local != nil {
		sv, changed, err := configs.Apply(ctx, configstore.ApplyRequest{Files: cfg.VersionFiles(), Author: author("serve"),
			Message: "applied by serve -config at start-up"})
		if err != nil {
			return fmt.Errorf("storing the configuration in etcd: %w", err)
		}
		local.id, local.digest = sv.ID, sv.Digest
		if changed {
			logger.Info("configuration stored as a new version", "version", sv.ID, "digest", sv.Digest)
		}
	}

	node, err := cluster.Join(ctx, st, cluster.Config{
		NodeID: cfg.Gateway.NodeID, Address: cfg.Gateway.Listen, LeaseTTL: cfg.Gateway.LeaseTTL,
		Partitions: cfg.Gateway.Partitions,
	}, logger.Named("cluster"))
	if err != nil {
		return fmt.Errorf("joining the cluster: %w", err)
	}
	defer func() { _ = node.Close() }()
	elog := eventlog.New(st, logger.Named("eventlog"), eventlog.WithPartitions(node.Partitions()))
	monitor := backlog.New(st, elog, logger.Named("backlog"), backlog.WithLimit(cfg.Gateway.MaxBacklog))

	var arch *archive.Writer
	if a := cfg.Gateway.Archive; a != nil {
		if arch, err = archive.Open(archive.Options{Dir: a.Dir, MaxFileBytes: a.MaxFileBytes, MaxFiles: a.MaxFiles, MaxAge: a.MaxAge},
			logger.Named("archive")); err != nil {
			return fmt.Errorf("opening the webhook archive: %w", err)
		}
		defer func() {
			if err := arch.Close(); err != nil {
				logger.Error("closing the webhook archive", "error", err)
			}
		}()
	}

	sw = &switcher{node: cfg, nodeID: node.ID(), st: st, configs: configs, hostOpts: opts.PluginHostOptions,
		logger: logger.Named("config"), onSwitch: opts.OnSwitch}
	sw.buildFront = func(plan *Plan) http.Handler {
		ingestOpts := []ingest.Option{
			ingest.WithReadiness(func(ctx context.Context) error { return sw.ready(ctx) }),
			ingest.WithAdmission(monitor.Check),
			ingest.WithMaxInFlight(maxInFlight),
		}
		if arch != nil {
			ingestOpts = append(ingestOpts, ingest.WithArchive(arch.Sink))
		}
		if t := plan.Tracking; t != nil {
			th := tracking.NewHandler(t.Signer, trackingRecorder{elog}, logger.Named("tracking"),
				tracking.WithSenderName(t.SenderName), tracking.WithMaxAge(t.LinkMaxAge))
			ingestOpts = append(ingestOpts, ingest.WithRoutes(th.Register))
		}
		return ingest.New(plan.Sources, elog, logger.Named("ingest"), ingestOpts...)
	}
	if clusterMode {
		// Serve the current version from the start, if there is one that
		// prepares; the watch handles every later one.
		if id, _, err := configs.CurrentID(ctx); err == nil {
			v, err := sw.load(ctx, id)
			if err != nil {
				sw.lastRefused = id
				logger.Error("the current configuration version does not validate on this node; serving nothing until a version that does is applied", "version", id, "error", err)
				sw.record(ctx, err, id)
			}
			local = v
		}
	}
	plan := emptyPlan()
	if local != nil {
		plan = local.plan
		sw.install(local)
		local = nil // the switcher owns it now
	} else {
		sw.front.set(sw.buildFront(plan))
	}

	token, err := AdminToken(cfg, true)
	if err != nil {
		return err
	}
	replayer := ingest.NewReplayer(sw.source, elog, logger.Named("replay"), ingest.WithReplayAdmission(monitor.Check))
	adminAPI, err := admin.New(st, token, logger.Named("admin"),
		admin.WithEventLog(elog), admin.WithSecrets(sw.secrets),
		admin.WithHandler("/metrics", metrics.Handler(metrics.StoreCollector(st))),
		admin.WithHandler("/v1/replay", replayer))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Gateway.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Gateway.Listen, err)
	}
	adminLn, err := net.Listen("tcp", cfg.Gateway.AdminListen)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listening on %s (admin_listen): %w", cfg.Gateway.AdminListen, err)
	}
	srv := newServer(requestid.Middleware(metrics.InstrumentIngest(&sw.front, sw.known)), logger.Named("http"))
	adminSrv := newServer(requestid.Middleware(adminAPI), logger.Named("admin"))

	// The processing side: the engine's log watcher first (partition loops
	// need it), then the cluster node that hands partitions to the engine.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	eng := engine.New(st, elog, plan.Rules, logger.Named("engine"), plan.EngineOptions()...)
	deliveryOpts := append(plan.DeliveryOptions(),
		delivery.WithOwnership(eng.Owns),
		delivery.WithShards(delivery.DefaultShards, node.Partitions()),
		delivery.WithRecords(elog))
	deliveryOpts = append(deliveryOpts, opts.DeliveryOptions...)
	worker := delivery.New(st, plan.Channels, plan.Templates, logger.Named("delivery"), deliveryOpts...)
	sw.engine, sw.delivery = eng, worker
	if sw.serving() != nil {
		sw.record(ctx, nil, 0)
	}
	wg.Go(func() { _ = eng.Run(workCtx) })
	wg.Go(func() {
		if err := node.Run(workCtx, eng); err != nil && workCtx.Err() == nil {
			logger.Error("cluster node stopped", "error", err)
		}
	})
	wg.Go(func() { _ = monitor.Run(workCtx) })
	wg.Go(func() { _ = worker.Run(workCtx) })
	wg.Go(func() { _ = configs.Watch(workCtx, sw.apply) })

	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	go func() { serveErr <- adminSrv.Serve(adminLn) }()
	logger.Info("gateway serving", "listen", ln.Addr().String(), "admin_listen", adminLn.Addr().String(),
		"node", node.ID(), "partitions", node.Partitions(), "cluster", clusterMode,
		"sources", len(plan.Sources), "triggers", len(plan.Rules), "channels", len(plan.Channels))
	if opts.AdminReady != nil {
		opts.AdminReady(adminLn.Addr())
	}
	if opts.Ready != nil {
		opts.Ready(ln.Addr())
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("serving HTTP: %w", err)
	}

	logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Gateway.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("HTTP shutdown did not drain in time", "error", err)
	}
	if err := adminSrv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("admin API shutdown did not drain in time", "error", err)
	}
	stopWork()
	wg.Wait()
	// HTTP is drained: commit what the event log still holds queued.
	elog.Close()
	return runErr
}

// trackingRecorder appends the events of clicks, opens and unsubscribes
// to the event log, deduplicated per message and action.
type trackingRecorder struct{ log *eventlog.Log }

func (r trackingRecorder) Record(ctx context.Context, ev sdk.Event) error {
	_, err := r.log.Append(ctx, ev.Source, []sdk.Event{ev}, 0)
	return err
}

// newServer returns an HTTP server for h with timeouts and limits that
// protect it from slow or oversized requests.
func newServer(h http.Handler, logger hclog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
}

// ready is /readyz: etcd answers and is not out of space, a configuration
// is being served, and each of its plugins answers (a dead one is
// restarted by the check).
func (s *switcher) ready(ctx context.Context) error {
	if err := s.st.Ready(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	v := s.serving()
	if v == nil {
		return errors.New("no configuration applied yet: run triggergate apply")
	}
	return v.host.Ping(ctx)
}

func rangeString(r *hcl.Range) string {
	if r == nil {
		return ""
	}
	return r.String()
}
