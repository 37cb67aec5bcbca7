// Package storetest runs real embedded etcd for tests. Each Start gets its
// own data dir and free loopback ports, so parallel tests do not share
// state.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/store"
)

// startAttempts is how often Start retries when a port it picked was taken
// by someone else between picking and binding.
const startAttempts = 5

// Start starts embedded etcd on free loopback ports under t.TempDir() and
// stops it at t.Cleanup. etcd's warnings and errors go to the test log.
func Start(t testing.TB) *store.Store {
	t.Helper()
	return StartWith(t, store.Config{})
}

// StartWith is Start with cfg as the starting point; Embedded, DataDir,
// ClientURL and PeerURL are always set by StartWith.
func StartWith(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	w := &testWriter{t: t}
	log := hclog.New(&hclog.LoggerOptions{
		Name:   "store",
		Level:  hclog.Warn,
		Output: w,
	})
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		cfg.Embedded = true
		cfg.DataDir = fmt.Sprintf("%s/%d", dir, attempt)
		cfg.ClientURL = fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
		cfg.PeerURL = fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		s, err := store.Open(ctx, cfg, log)
		cancel()
		if err == nil {
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("closing store: %v", err)
				}
				w.close()
			})
			return s
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	w.close()
	t.Fatalf("starting embedded etcd: %v", lastErr)
	return nil
}

var shared struct {
	mu    sync.Mutex
	store *store.Store
	dir   string
	n     int
}

// Shared returns a fresh, empty key space (a store.Sub view) on one
// embedded etcd shared by every test of the test binary: for packages
// with many short tests, where an etcd per test would cost more than the
// tests. The first call starts it; TestMain must call CloseShared after
// m.Run. etcd's errors go to stderr.
func Shared(t testing.TB) *store.Store {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.store == nil {
		dir, err := os.MkdirTemp("", "triggergate-etcd-")
		if err != nil {
			t.Fatalf("creating the shared etcd's dir: %v", err)
		}
		log := hclog.New(&hclog.LoggerOptions{Name: "store", Level: hclog.Error})
		for attempt := 0; attempt < startAttempts; attempt++ {
			cfg := store.Config{Embedded: true, DataDir: fmt.Sprintf("%s/%d", dir, attempt),
				ClientURL: fmt.Sprintf("http://127.0.0.1:%d", FreePort(t)),
				PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			s, err := store.Open(ctx, cfg, log)
			cancel()
			if err == nil {
				shared.store, shared.dir = s, dir
				break
			}
			if !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
				_ = os.RemoveAll(dir)
				t.Fatalf("starting the shared embedded etcd: %v", err)
			}
		}
		if shared.store == nil {
			_ = os.RemoveAll(dir)
			t.Fatal("starting the shared embedded etcd: no free ports")
		}
	}
	shared.n++
	return shared.store.Sub(fmt.Sprintf("t%05d", shared.n))
}

// CloseShared stops the etcd Shared started, if any, and removes its data.
func CloseShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.store != nil {
		_ = shared.store.Close()
		_ = os.RemoveAll(shared.dir)
		shared.store = nil
	}
}

// FreePort returns a loopback TCP port that was free a moment ago. Another
// process may take it before the caller binds it, so callers retry on
// bind errors.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("releasing port %d: %v", port, err)
	}
	return port
}

// testWriter sends log lines to t.Log until closed: etcd goroutines may
// still log while stopping, and t.Log after the test ends panics.
type testWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}
