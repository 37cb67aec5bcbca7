// Package store connects the gateway to etcd, the home of its configuration
// and bounded state (DESIGN.md §4). It either runs etcd inside the process
// (single node, `store { embedded = true }`) or dials an external cluster,
// and hands out one clientv3 client plus the key prefix every other package
// builds its keys under.
package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultClientURL   = "http://127.0.0.1:2379"
	DefaultPeerURL     = "http://127.0.0.1:2380"
	DefaultPrefix      = "/triggergate/"
	DefaultQuotaBytes  = int64(2) << 30
	DefaultDialTimeout = 5 * time.Second
	DefaultName        = "triggergate"
)

const (
	// startTimeout bounds how long Open waits for embedded etcd to become
	// ready when the caller's context has no earlier deadline. A fresh
	// single-member cluster is ready in well under a second; a large data
	// dir can take a while to replay.
	startTimeout = 2 * time.Minute
	// readyTimeout bounds each call Ready makes: a readiness probe must
	// answer quickly even when etcd does not.
	readyTimeout = 2 * time.Second
	// compactionRetention is how much history embedded etcd keeps. Watches
	// are only hints, so an hour is plenty.
	compactionRetention = "1h"
)

// ErrNoSpace means etcd raised its NOSPACE alarm: the backend reached its
// quota and etcd accepts only reads and deletes until an operator compacts,
// defragments and disarms the alarm. Callers answer 503.
var ErrNoSpace = errors.New("etcd is out of space (NOSPACE alarm): compact and defragment etcd, then disarm the alarm")

// IsNoSpace reports whether err means etcd is out of space, whether it is
// ErrNoSpace itself or the error an etcd request failed with.
func IsNoSpace(err error) bool {
	return errors.Is(err, ErrNoSpace) ||
		errors.Is(err, rpctypes.ErrNoSpace) ||
		errors.Is(err, rpctypes.ErrGRPCNoSpace)
}

// Config says where etcd is. Set Embedded (with DataDir) for a single node,
// or Endpoints for an external cluster.
type Config struct {
	// Embedded runs etcd inside the gateway process.
	Embedded bool
	// DataDir is the gateway's data directory; embedded etcd keeps its data
	// in DataDir/etcd. Required when Embedded.
	DataDir string
	// ClientURL is where embedded etcd serves clients. It must be a
	// loopback http URL: embedded etcd runs without TLS or auth, so it must
	// never listen on a reachable interface. Default DefaultClientURL.
	ClientURL string
	// PeerURL is embedded etcd's raft peer URL, also loopback only.
	// Default DefaultPeerURL.
	PeerURL string
	// Endpoints are the client URLs of an external etcd cluster.
	Endpoints []string
	// Prefix is prepended to every key; it must end in "/".
	// Default DefaultPrefix.
	Prefix string
	// QuotaBytes is embedded etcd's backend quota; above it etcd raises
	// NOSPACE. Default DefaultQuotaBytes.
	QuotaBytes int64
	// DialTimeout bounds connecting to etcd and the reachability check in
	// Open. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// Name is the embedded member's name. Default DefaultName.
	Name string
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.ClientURL == "" {
		c.ClientURL = DefaultClientURL
	}
	if c.PeerURL == "" {
		c.PeerURL = DefaultPeerURL
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.QuotaBytes == 0 {
		c.QuotaBytes = DefaultQuotaBytes
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.Name == "" {
		c.Name = DefaultName
	}
	return c
}

// validate checks a defaulted Config.
func (c Config) validate() error {
	if !strings.HasSuffix(c.Prefix, "/") {
		return fmt.Errorf("store prefix %q must end in \"/\"", c.Prefix)
	}
	if c.DialTimeout < 0 {
		return fmt.Errorf("store dial timeout %s must not be negative", c.DialTimeout)
	}
	if !c.Embedded {
		if len(c.Endpoints) == 0 {
			return errors.New("store needs either embedded = true or at least one endpoint")
		}
		return nil
	}
	if len(c.Endpoints) > 0 {
		return errors.New("store sets both embedded = true and endpoints: choose one")
	}
	if c.DataDir == "" {
		return errors.New("embedded store needs a data dir")
	}
	if c.QuotaBytes < 0 {
		return fmt.Errorf("store quota %d must not be negative", c.QuotaBytes)
	}
	if _, err := loopbackURL("client", c.ClientURL); err != nil {
		return err
	}
	if _, err := loopbackURL("peer", c.PeerURL); err != nil {
		return err
	}
	return nil
}

// loopbackURL parses raw and refuses anything but an http URL on a
// loopback address with an explicit port.
func loopbackURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parsing embedded etcd %s URL %q: %w", what, raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("embedded etcd %s URL %q must use http:// (embedded etcd listens on loopback only, without TLS)", what, raw)
	}
	if u.Port() == "" {
		return nil, fmt.Errorf("embedded etcd %s URL %q needs a port", what, raw)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("embedded etcd %s URL %q must not have a path", what, raw)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("embedded etcd %s URL %q is not a loopback address: embedded etcd has no TLS or auth, so it only listens on 127.0.0.1, ::1 or localhost; use an external etcd cluster to share state between hosts", what, raw)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// Store is a connection to etcd, and the embedded etcd server when it runs
// one. It is safe for concurrent use.
type Store struct {
	cfg    Config
	log    hclog.Logger
	client *clientv3.Client
	etcd   *embed.Etcd // nil when external

	closeOnce sync.Once
	closeErr  error
	// closing quiets etcd's own logging once Close has begun.
	closing atomic.Bool
}

// Open starts embedded etcd or dials the external cluster, according to
// cfg, and returns once etcd answers a read. ctx bounds the start-up only.
func Open(ctx context.Context, cfg Config, log hclog.Logger) (*Store, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: log}
	zl := newZapLogger(log.Named("etcd"), &s.closing)

	endpoints := cfg.Endpoints
	if cfg.Embedded {
		e, err := startEmbedded(ctx, cfg, zl)
		if err != nil {
			return nil, err
		}
		s.etcd = e
		endpoints = []string{cfg.ClientURL}
		log.Info("embedded etcd ready", "client_url", cfg.ClientURL, "data_dir", e.Config().Dir)
	}

	client, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: cfg.DialTimeout,
		Logger:      zl.Named("client"),
	})
	if err != nil {
		s.stopEmbedded()
		return nil, fmt.Errorf("creating etcd client for %v: %w", endpoints, err)
	}
	s.client = client

	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := client.Get(pctx, s.Key("ready"), clientv3.WithCountOnly()); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("reaching etcd at %v: %w", endpoints, err)
	}
	return s, nil
}

// startEmbedded starts etcd in the process and waits until it serves.
func startEmbedded(ctx context.Context, cfg Config, zl *zap.Logger) (*embed.Etcd, error) {
	cu, err := loopbackURL("client", cfg.ClientURL)
	if err != nil {
		return nil, err
	}
	pu, err := loopbackURL("peer", cfg.PeerURL)
	if err != nil {
		return nil, err
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = filepath.Join(cfg.DataDir, "etcd")
	ec.ListenClientUrls = []url.URL{*cu}
	ec.AdvertiseClientUrls = []url.URL{*cu}
	ec.ListenPeerUrls = []url.URL{*pu}
	ec.AdvertisePeerUrls = []url.URL{*pu}
	ec.InitialCluster = ec.InitialClusterFromName(cfg.Name)
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = compactionRetention
	ec.QuotaBackendBytes = cfg.QuotaBytes
	// Only the gRPC API is needed; the JSON gateway would be one more
	// listener surface for nothing.
	ec.EnableGRPCGateway = false
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zl)

	e, err := embed.StartEtcd(ec)
	if err != nil {
		// StartEtcd closes what it started before returning an error.
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("starting embedded etcd: client URL %s or peer URL %s is already in use (is another triggergate or etcd running? set another client_url/peer_url): %w", cfg.ClientURL, cfg.PeerURL, err)
		}
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", ec.Dir, err)
	}

	wait := time.NewTimer(startTimeout)
	defer wait.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("starting embedded etcd (client URL %s, peer URL %s): %w", cfg.ClientURL, cfg.PeerURL, err)
	case <-e.Server.StopNotify():
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s stopped while starting", ec.Dir)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("waiting for embedded etcd to become ready: %w", ctx.Err())
	case <-wait.C:
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s not ready after %s", ec.Dir, startTimeout)
	}
}

// Client returns the etcd client. It stays valid until Close.
func (s *Store) Client() *clientv3.Client { return s.client }

// Sub returns a view of the store whose keys all live under name below
// this store's prefix. It shares the connection: closing the view closes
// nothing, and it is only valid while s is open. Tests and the simulator
// use it to keep independent worlds on one etcd.
func (s *Store) Sub(name string) *Store {
	cfg := s.cfg
	cfg.Prefix = s.Key(name) + "/"
	v := &Store{cfg: cfg, log: s.log, client: s.client}
	v.closeOnce.Do(func() {}) // a view owns nothing to close
	return v
}

// Prefix returns the key prefix, ending in "/".
func (s *Store) Prefix() string { return s.cfg.Prefix }

// Key returns the prefix followed by parts joined by "/"; Key() is the
// prefix itself.
func (s *Store) Key(parts ...string) string {
	return s.cfg.Prefix + strings.Join(parts, "/")
}

// Ready reports whether etcd can serve the gateway: a linearizable read
// succeeds (so a leader exists and this member is connected to it) and no
// alarm is raised. It returns ErrNoSpace under the NOSPACE alarm, when
// etcd still answers reads but refuses every write.
func (s *Store) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if _, err := s.client.Get(ctx, s.Key("ready"), clientv3.WithCountOnly()); err != nil {
		if IsNoSpace(err) {
			return fmt.Errorf("reading from etcd: %w", ErrNoSpace)
		}
		return fmt.Errorf("reading from etcd: %w", err)
	}
	alarms, err := s.client.AlarmList(ctx)
	if err != nil {
		return fmt.Errorf("listing etcd alarms: %w", err)
	}
	for _, a := range alarms.Alarms {
		switch a.Alarm {
		case pb.AlarmType_NONE:
		case pb.AlarmType_NOSPACE:
			return ErrNoSpace
		default:
			return fmt.Errorf("etcd member %x raised alarm %s", a.MemberID, a.Alarm)
		}
	}
	return nil
}

// Close closes the client and then stops embedded etcd, waiting until it
// has stopped. Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		if s.client != nil {
			if err := s.client.Close(); err != nil && !errors.Is(err, context.Canceled) {
				s.closeErr = fmt.Errorf("closing etcd client: %w", err)
			}
		}
		s.stopEmbedded()
	})
	return s.closeErr
}

// stopEmbedded stops embedded etcd, if it runs, and waits for it.
func (s *Store) stopEmbedded() {
	if s.etcd == nil {
		return
	}
	s.etcd.Close()
	<-s.etcd.Server.StopNotify()
	s.log.Info("embedded etcd stopped")
}
