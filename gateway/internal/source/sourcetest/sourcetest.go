// Package sourcetest runs source kinds the way the gateway does, for their
// tests: the source block is parsed by the real config loader, deliveries
// go over real HTTP through the ingest handler, and events are committed to
// a real event log on embedded etcd. It also loads the shared vendor
// fixtures (../shared/fixtures/webhooks beside the repository).
package sourcetest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/eventlog"
	"github.com/triggergate/triggergate/gateway/internal/ingest"
	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

// BuildFunc is a kind's Build function.
type BuildFunc func(spec source.Spec) (source.Adapter, hcl.Diagnostics)

// Spec parses src, an HCL file holding one source block, with the real
// config loader and returns the Spec the gateway would build the source
// from, and the parsed block. The test fails on any error diagnostic.
func Spec(t testing.TB, src string) (source.Spec, *config.Source) {
	t.Helper()
	dir := t.TempDir()
	cfg, diags := config.LoadFiles(map[string][]byte{"source.hcl": []byte(src)}, dir)
	if diags.HasErrors() {
		t.Fatalf("source config: %s", diags.Error())
	}
	if len(cfg.Sources) != 1 {
		t.Fatalf("source config must hold exactly one source block, has %d", len(cfg.Sources))
	}
	s := cfg.Sources[0]
	return source.Spec{
		Name: s.Name, Kind: s.Kind, Secrets: s.Secrets, ReplayWindow: s.ReplayWindow,
		Body: s.Body, EvalContext: cfg.EvalContext(), DefRange: s.DeclRange,
	}, s
}

// Build parses src and builds its adapter with build, failing the test on
// error diagnostics. It returns the diagnostics' warnings too.
func Build(t testing.TB, src string, build BuildFunc) (source.Adapter, hcl.Diagnostics) {
	t.Helper()
	spec, _ := Spec(t, src)
	a, diags := build(spec)
	if diags.HasErrors() {
		t.Fatalf("building source: %s", diags.Error())
	}
	return a, diags
}

// Gateway is one source served over HTTP by the real ingest handler, on a
// real event log.
type Gateway struct {
	// URL is the webhook URL of the source: <server>/v1/webhooks/<name>.
	URL    string
	Server *httptest.Server
	Log    *eventlog.Log
	name   string
}

// NewGateway serves the source defined by src (one source block) and
// built by build. Everything stops when the test ends.
func NewGateway(t testing.TB, src string, build BuildFunc) *Gateway {
	t.Helper()
	spec, blk := Spec(t, src)
	a, diags := build(spec)
	if diags.HasErrors() {
		t.Fatalf("building source: %s", diags.Error())
	}
	st := storetest.Start(t)
	lg := eventlog.New(st, hclog.NewNullLogger())
	h := ingest.New([]ingest.Source{{
		Name: blk.Name, Kind: blk.Kind, Adapter: a, MaxBodyBytes: blk.MaxBodyBytes, DedupeWindow: blk.DedupeWindow,
	}}, lg, hclog.NewNullLogger())
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Gateway{URL: srv.URL + "/v1/webhooks/" + blk.Name, Server: srv, Log: lg, name: blk.Name}
}

// Response is the gateway's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Post sends body to the source's URL (plus query, e.g. "?token=x") with
// the given headers.
func (g *Gateway) Post(t testing.TB, query string, header http.Header, body []byte) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := g.Server.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", g.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Events returns every event committed to the log so far, in commit order.
func (g *Gateway) Events(t testing.TB) []sdk.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	entries, _, err := g.Log.Pending(ctx, -1, 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]sdk.Event, 0, len(entries))
	for _, e := range entries {
		if e.DecodeErr != nil {
			t.Fatalf("log entry %s does not decode: %v", e.Key, e.DecodeErr)
		}
		out = append(out, e.Event)
	}
	return out
}

// Fixture is one vendor payload from the shared fixtures.
type Fixture struct {
	// Name is the file name, e.g. "orders.create__rudder-transformer.json".
	Name string
	// Topic is the part before "__": "orders.create", "Bounce.soft",
	// "batch.all-event-types".
	Topic string
	Body  []byte
}

// Fixtures loads every fixture of a vendor (a folder name such as
// "shopify"), sorted by name. The test fails if there are none: the
// fixtures are part of the suite, not optional.
func Fixtures(t testing.TB, vendor string) []Fixture {
	t.Helper()
	dir := filepath.Join(FixturesDir(t), vendor)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading fixtures: %v", err)
	}
	var out []Fixture
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		topic, _, _ := strings.Cut(e.Name(), "__")
		out = append(out, Fixture{Name: e.Name(), Topic: topic, Body: b})
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FixturesDir is the shared webhook fixtures folder: $TRIGGERGATE_FIXTURES,
// else shared/fixtures/webhooks beside the repository (in the repository's
// parent folder or, failing that, any folder above it).
func FixturesDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("TRIGGERGATE_FIXTURES"); d != "" {
		return d
	}
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("finding the module root: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(b)))
	for dir := filepath.Dir(root); ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "shared", "fixtures", "webhooks")
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	t.Fatalf("the shared fixtures are missing: no shared/fixtures/webhooks beside %s or above it; set TRIGGERGATE_FIXTURES", root)
	return ""
}
