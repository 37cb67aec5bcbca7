package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/triggergate/triggergate/gateway/internal/config"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const sharedHCL = `
gateway {
  listen = "127.0.0.1:9999"
}
source "shop" {
  kind   = "shopify"
  secret = env("TG_TEST_SHOP_SECRET")
}
channel "email" {
  plugin = "log"
}
template "hello" {
  subject = "Hi"
  html    = file("templates/hello.html")
}
`

func TestVersionFilesCarrySourcesNotSecrets(t *testing.T) {
	t.Setenv("TG_TEST_SHOP_SECRET", "shpss_very_secret")
	dir := t.TempDir()
	write(t, dir, "gateway.hcl", sharedHCL)
	write(t, dir, "templates/hello.html", "<p>Hello</p>")
	write(t, dir, "templates/unused.html", "<p>not read</p>")
	cfg, diags := config.Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := cfg.VersionFiles()
	if len(files) != 2 || files["gateway.hcl"] != sharedHCL || files["templates/hello.html"] != "<p>Hello</p>" {
		t.Fatalf("version files = %v; want gateway.hcl and the template file() read, nothing else", files)
	}
	for name, body := range files {
		if strings.Contains(body, "shpss_very_secret") {
			t.Fatalf("%s carries the resolved secret", name)
		}
	}
}

func TestLoadVersionUsesTheNodesSettings(t *testing.T) {
	t.Setenv("TG_TEST_SHOP_SECRET", "node-a-secret")
	nodeDir := t.TempDir()
	nodePath := write(t, nodeDir, "node.hcl", `
gateway {
  listen = "127.0.0.1:7000"
  node_id = "a"
}
store {
  endpoints = ["http://127.0.0.1:2379"]
}
`)
	node, diags := config.Load(nodePath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(node.SharedBlocks()) != 0 {
		t.Fatalf("a node-only file has shared blocks: %v", node.SharedBlocks())
	}
	files := map[string]string{
		// The version's own gateway block is not the node's business, even
		// when it would not validate here.
		"gateway.hcl":          strings.Replace(sharedHCL, `"127.0.0.1:9999"`, `"not an address"`, 1),
		"templates/hello.html": "<p>Stored</p>",
	}
	cfg, diags := config.LoadVersion(files, node)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.Gateway.Listen != "127.0.0.1:7000" || cfg.Gateway.NodeID != "a" || cfg.Store.Embedded {
		t.Fatalf("gateway %+v store %+v: want the node's own", cfg.Gateway, cfg.Store)
	}
	if len(cfg.Sources) != 1 || cfg.Sources[0].Secrets[0] != "node-a-secret" {
		t.Fatalf("sources = %+v; want env() resolved on the node", cfg.Sources)
	}
	if cfg.Templates[0].HTML != "<p>Stored</p>" {
		t.Fatalf("template html = %q; want the stored file, not the disk", cfg.Templates[0].HTML)
	}
	if len(cfg.SharedBlocks()) != 3 {
		t.Fatalf("shared blocks = %d, want 3", len(cfg.SharedBlocks()))
	}
	if got := cfg.VersionFiles(); len(got) != 2 || got["templates/hello.html"] != "<p>Stored</p>" {
		t.Fatalf("a loaded version's files = %v; want the same two back", got)
	}

	// A file() the version does not carry is an error, not a disk read.
	delete(files, "templates/hello.html")
	write(t, nodeDir, "templates/hello.html", "<p>on the node's disk</p>")
	if _, diags := config.LoadVersion(files, node); !diags.HasErrors() || !strings.Contains(diags.Error(), "not part of this configuration version") {
		t.Fatalf("missing stored file: %v", diags)
	}
	// A node without the secret refuses the version.
	os.Unsetenv("TG_TEST_SHOP_SECRET")
	files["templates/hello.html"] = "x"
	if _, diags := config.LoadVersion(files, node); !diags.HasErrors() || !strings.Contains(diags.Error(), "TG_TEST_SHOP_SECRET") {
		t.Fatalf("missing env on the node: %v", diags)
	}
	if _, diags := config.LoadVersion(map[string]string{"templates/x.html": "x"}, node); !diags.HasErrors() {
		t.Fatal("a version without .hcl files loaded")
	}
}
