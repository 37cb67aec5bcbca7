package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

func TestOpenRefusesBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  store.Config
		want string
	}{
		{"client on all interfaces", store.Config{Embedded: true, DataDir: dir, ClientURL: "http://0.0.0.0:2379"}, "not a loopback address"},
		{"client on private address", store.Config{Embedded: true, DataDir: dir, ClientURL: "http://10.1.2.3:2379"}, "not a loopback address"},
		{"client on host name", store.Config{Embedded: true, DataDir: dir, ClientURL: "http://etcd.example.com:2379"}, "not a loopback address"},
		{"peer on all interfaces", store.Config{Embedded: true, DataDir: dir, PeerURL: "http://[::]:2380"}, "peer URL"},
		{"https client", store.Config{Embedded: true, DataDir: dir, ClientURL: "https://127.0.0.1:2379"}, "must use http://"},
		{"client without port", store.Config{Embedded: true, DataDir: dir, ClientURL: "http://127.0.0.1"}, "needs a port"},
		{"no data dir", store.Config{Embedded: true}, "needs a data dir"},
		{"prefix without slash", store.Config{Embedded: true, DataDir: dir, Prefix: "/tg"}, "must end in"},
		{"embedded and endpoints", store.Config{Embedded: true, DataDir: dir, Endpoints: []string{"http://10.0.0.1:2379"}}, "choose one"},
		{"neither", store.Config{}, "either embedded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := store.Open(t.Context(), tt.cfg, hclog.NewNullLogger())
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestOpenCloseEmbedded checks that embedded etcd serves, keeps its data
// across a restart of the same data dir, and is really gone after Close:
// no listener and no goroutine left behind. It does not run in parallel so
// that the goroutine count is its own.
func TestOpenCloseEmbedded(t *testing.T) {
	baseline := runtime.NumGoroutine()
	dir := t.TempDir()
	cfg := store.Config{
		Embedded:  true,
		DataDir:   dir,
		ClientURL: fmt.Sprintf("http://127.0.0.1:%d", storetest.FreePort(t)),
		PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", storetest.FreePort(t)),
		Prefix:    "/tg-test/",
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	s, err := store.Open(ctx, cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if _, err := s.Client().Put(ctx, s.Key("k"), "v"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	addr := strings.TrimPrefix(cfg.ClientURL, "http://")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Close", addr)
	}

	s, err = store.Open(ctx, cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	resp, err := s.Client().Get(ctx, "/tg-test/k")
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("after reopen got %v, want k=v", resp.Kvs)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Some goroutines (idle HTTP connections, gRPC resolvers) end shortly
	// after Close returns; give them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

func TestOpenPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	clientURL := "http://" + l.Addr().String()
	cfg := store.Config{
		Embedded:  true,
		DataDir:   t.TempDir(),
		ClientURL: clientURL,
		PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", storetest.FreePort(t)),
	}
	s, err := store.Open(t.Context(), cfg, hclog.NewNullLogger())
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded on a port in use")
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), clientURL) {
		t.Fatalf("Open error = %v, want EADDRINUSE naming %s", err, clientURL)
	}
}

func TestOpenExternal(t *testing.T) {
	t.Parallel()
	embedded := storetest.Start(t)

	t.Run("reachable", func(t *testing.T) {
		s, err := store.Open(t.Context(), store.Config{
			Endpoints: embedded.Client().Endpoints(),
			Prefix:    "/other/",
		}, hclog.NewNullLogger())
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		if err := s.Ready(t.Context()); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		if got := s.Key("a", "b"); got != "/other/a/b" {
			t.Fatalf("Key = %q", got)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		start := time.Now()
		_, err := store.Open(t.Context(), store.Config{
			Endpoints:   []string{fmt.Sprintf("http://127.0.0.1:%d", storetest.FreePort(t))},
			DialTimeout: 300 * time.Millisecond,
		}, hclog.NewNullLogger())
		if err == nil {
			t.Fatal("Open succeeded against a closed port")
		}
		if !strings.Contains(err.Error(), "reaching etcd") {
			t.Fatalf("Open error = %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Open took %s, want about the dial timeout", d)
		}
	})
}

func TestKey(t *testing.T) {
	t.Parallel()
	s := storetest.Start(t)
	tests := []struct {
		parts []string
		want  string
	}{
		{nil, "/triggergate/"},
		{[]string{"log"}, "/triggergate/log"},
		{[]string{"log", "007", "01J"}, "/triggergate/log/007/01J"},
	}
	for _, tt := range tests {
		if got := s.Key(tt.parts...); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
}

// TestReadyNoSpace fills a tiny quota until etcd raises NOSPACE and checks
// that writes and Ready both report it.
func TestReadyNoSpace(t *testing.T) {
	t.Parallel()
	s := storetest.StartWith(t, store.Config{QuotaBytes: 1 << 20})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready before filling: %v", err)
	}
	value := strings.Repeat("x", 256<<10)
	var putErr error
	for i := 0; i < 100 && putErr == nil; i++ {
		_, putErr = s.Client().Put(ctx, s.Key("fill", fmt.Sprint(i)), value)
	}
	if !store.IsNoSpace(putErr) {
		t.Fatalf("filling the quota ended with %v, want a NOSPACE error", putErr)
	}
	if err := s.Ready(ctx); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("Ready = %v, want ErrNoSpace", err)
	}
	if _, err := s.Client().Put(ctx, s.Key("small"), "v"); !store.IsNoSpace(err) {
		t.Fatalf("small Put under NOSPACE = %v, want NOSPACE", err)
	}
}
