package pluginhost_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/gateway/internal/pluginhost"
	"github.com/triggergate/triggergate/gateway/internal/pluginhost/pluginhosttest"
	"github.com/triggergate/triggergate/sdk"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pluginhosttest.Cleanup()
	os.Exit(code)
}

func newHost(t testing.TB, opts ...pluginhost.Option) *pluginhost.Host {
	t.Helper()
	dir := pluginhosttest.Build(t, "plugins/event", "plugins/log")
	opts = append([]pluginhost.Option{
		pluginhost.WithDir(dir),
		pluginhost.WithRestartBackoff(10*time.Millisecond, 50*time.Millisecond),
		pluginhost.WithCallTimeout(10 * time.Second),
	}, opts...)
	h := pluginhost.New(hclog.NewNullLogger(), opts...)
	t.Cleanup(h.Close)
	return h
}

func evaluateOnce(ctx context.Context, tr sdk.Trigger) (*sdk.EvaluateResponse, error) {
	return tr.Evaluate(ctx, &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": sdk.RawConfig(`{"on":["order.placed"]}`)},
		Items: []sdk.EvaluateItem{{
			Rule: "r", Now: time.Now(),
			Event: sdk.Event{ID: "e1", Type: "order.placed", Customer: sdk.Customer{Email: "a@example.com"}},
		}},
	})
}

func TestTriggerOverProcess(t *testing.T) {
	h := newHost(t)
	tr, err := h.Trigger("event")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	desc, err := tr.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Name != "event" || desc.Kind != sdk.KindTrigger || desc.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("Describe = %+v", desc)
	}
	resp, err := evaluateOnce(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(resp.Results[0].Fires); got != 1 {
		t.Fatalf("fires = %d, want 1", got)
	}
	if info := h.Processes(); len(info) != 1 || info[0].PID == 0 || info[0].Starts != 1 {
		t.Fatalf("Processes = %+v", info)
	}
}

func TestResolveErrors(t *testing.T) {
	h := newHost(t)
	if _, err := h.Trigger("nope"); !errors.Is(err, pluginhost.ErrNotFound) {
		t.Fatalf("unknown plugin: err = %v, want ErrNotFound", err)
	}
	// Handles are lazy: the kind is checked when the process starts.
	ch, err := h.Channel("event")
	if err != nil {
		t.Fatalf("Channel(event): %v", err)
	}
	if _, err := ch.Describe(t.Context()); !errors.Is(err, pluginhost.ErrWrongKind) {
		t.Fatalf("trigger used as a channel: err = %v, want ErrWrongKind", err)
	}
}

func TestSHA256Pin(t *testing.T) {
	h := newHost(t)
	dir := pluginhosttest.Build(t, "plugins/log")
	path := filepath.Join(dir, "log")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)

	h.Register(pluginhost.Spec{Name: "pinned", Path: path, SHA256: hex.EncodeToString(sum[:])})
	ch, err := h.Channel("pinned")
	if err != nil {
		t.Fatalf("matching pin refused: %v", err)
	}
	if _, err := ch.Describe(t.Context()); err != nil {
		t.Fatalf("matching pin: %v", err)
	}

	h.Register(pluginhost.Spec{Name: "tampered", Path: path, SHA256: hex.EncodeToString(make([]byte, 32))})
	if _, err := h.Channel("tampered"); !errors.Is(err, pluginhost.ErrChecksum) {
		t.Fatalf("wrong pin: err = %v, want ErrChecksum", err)
	}
}

func TestRestartAfterKill(t *testing.T) {
	h := newHost(t)
	tr, err := h.Trigger("event")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := evaluateOnce(ctx, tr); err != nil {
		t.Fatal(err)
	}
	pid := h.Processes()[0].PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	// Calls fail with ErrPluginGone until the host has noticed the death
	// and restarted the process; then they succeed on a new process.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := evaluateOnce(ctx, tr)
		if err == nil {
			break
		}
		if !errors.Is(err, pluginhost.ErrPluginGone) {
			t.Fatalf("call after kill: err = %v, want ErrPluginGone", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin not restarted: %v", err)
		}
	}
	info := h.Processes()[0]
	if info.Starts != 2 || info.PID == pid || info.PID == 0 {
		t.Fatalf("after restart: %+v (old pid %d)", info, pid)
	}
}
