package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

const fullConfig = `
gateway {
  listen           = "0.0.0.0:9090"
  admin_listen     = "127.0.0.1:9091"
  data_dir         = "/var/lib/triggergate"
  plugin_dir       = "plugins"
  shutdown_timeout = "30s"
  log_level        = "debug"
}

store {
  endpoints    = ["http://etcd-1:2379", "http://etcd-2:2379"]
  prefix       = "/tg/"
  # quota_mb would be an error here: it applies only to the embedded store
  dial_timeout = "2s"
}

source "shop" {
  kind        = "shopify"
  secret      = "new"
  secrets     = ["old"]
  max_body = "64KiB"
  topic_map   = { "orders/create" = "order.placed" }
}

channel "email" {
  plugin = "smtp"
  config {
    host = "localhost"
    port = 1025
  }
}

channel "log" {
  plugin = "log"
}

template "cart_reminder" {
  subject = "You left something behind"
  text    = "Come back"
  html    = "<p>Come back</p>"
}

trigger "abandoned_cart" {
  plugin = "absence"
  config {
    start = "checkout.updated"
    wait  = "1h"
  }
  action {
    channel  = "email"
    template = "cart_reminder"
  }
  action { channel = "log" }
}

plugin "crm" {
  path   = "bin/crm-trigger"
  sha256 = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
}
`

func TestLoadFilesFull(t *testing.T) {
	t.Parallel()
	cfg, diags := LoadFiles(one(fullConfig), "/etc/tg")
	noErrors(t, diags)

	wantGateway := Gateway{
		Listen: "0.0.0.0:9090", AdminListen: "127.0.0.1:9091", DataDir: "/var/lib/triggergate",
		PluginDir: "/etc/tg/plugins", ShutdownTimeout: 30 * time.Second, LogLevel: "debug",
		LeaseTTL: DefaultLeaseTTL, MaxBacklog: DefaultMaxBacklog, Partitions: DefaultPartitions,
	}
	got := cfg.Gateway
	got.DeclRange = hcl.Range{}
	if got != wantGateway {
		t.Errorf("gateway = %+v, want %+v", got, wantGateway)
	}
	if cfg.Gateway.DeclRange.Start.Line != 2 {
		t.Errorf("gateway DeclRange = %s, want line 2", cfg.Gateway.DeclRange)
	}

	st := cfg.Store
	if st.Embedded || !reflect.DeepEqual(st.Endpoints, []string{"http://etcd-1:2379", "http://etcd-2:2379"}) ||
		st.Prefix != "/tg/" || st.DialTimeout != 2*time.Second {
		t.Errorf("store = %+v", st)
	}

	if len(cfg.Sources) != 1 {
		t.Fatalf("got %d sources, want 1", len(cfg.Sources))
	}
	src := cfg.Sources[0]
	if src.Name != "shop" || src.Kind != "shopify" || src.MaxBodyBytes != 64*1024 ||
		!reflect.DeepEqual(src.Secrets, []string{"new", "old"}) {
		t.Errorf("source = %+v", src)
	}
	// The kind-specific rest stays in Body.
	attrs, d := src.Body.JustAttributes()
	noErrors(t, d)
	if _, ok := attrs["topic_map"]; !ok || len(attrs) != 1 {
		t.Errorf("source body attributes = %v, want only topic_map", attrs)
	}

	if len(cfg.Channels) != 2 {
		t.Fatalf("got %d channels, want 2", len(cfg.Channels))
	}
	email, logc := cfg.Channels[0], cfg.Channels[1]
	if email.Name != "email" || email.Plugin != "smtp" || email.PluginRange.Start.Line != 27 || email.ConfigRange.Start.Line != 28 {
		t.Errorf("channel email = %+v", email)
	}
	if logc.Name != "log" || logc.ConfigRange != logc.DeclRange || logc.Config == nil {
		t.Errorf("channel log = %+v", logc)
	}

	if len(cfg.Templates) != 1 || *cfg.Templates[0] != (Template{
		Name: "cart_reminder", Subject: "You left something behind", Text: "Come back", HTML: "<p>Come back</p>",
		DeclRange: cfg.Templates[0].DeclRange,
	}) {
		t.Errorf("templates = %+v", cfg.Templates)
	}

	if len(cfg.Triggers) != 1 {
		t.Fatalf("got %d triggers, want 1", len(cfg.Triggers))
	}
	tr := cfg.Triggers[0]
	if tr.Name != "abandoned_cart" || tr.Plugin != "absence" || len(tr.Actions) != 2 ||
		tr.Actions[0].Channel != "email" || tr.Actions[0].Template != "cart_reminder" ||
		tr.Actions[1].Channel != "log" || tr.Actions[1].Template != "" {
		t.Errorf("trigger = %+v", tr)
	}

	if len(cfg.Plugins) != 1 || cfg.Plugins[0].Path != "/etc/tg/bin/crm-trigger" ||
		cfg.Plugins[0].SHA256 != "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789" {
		t.Errorf("plugins = %+v", cfg.Plugins[0])
	}
	if cfg.Files["a.hcl"] == nil || cfg.BaseDir != "/etc/tg" {
		t.Errorf("Files = %v, BaseDir = %q", cfg.Files, cfg.BaseDir)
	}
}

func TestLoadFilesDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		src       string
		wantStore Store
	}{
		{name: "empty file", src: ``, wantStore: defaultStore()},
		{name: "empty store block", src: "store {\n}\n", wantStore: defaultStore()},
		{name: "embedded store with settings", src: `store {
  embedded   = true
  client_url = "http://127.0.0.1:12379"
  peer_url   = "http://127.0.0.1:12380"
}`, wantStore: func() Store {
			s := defaultStore()
			s.ClientURL, s.PeerURL = "http://127.0.0.1:12379", "http://127.0.0.1:12380"
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := LoadFiles(one(tt.src), ".")
			noErrors(t, diags)
			if cfg.Gateway != defaultGateway() {
				t.Errorf("gateway = %+v, want defaults", cfg.Gateway)
			}
			if cfg.Gateway.Listen != "127.0.0.1:8080" || cfg.Gateway.ShutdownTimeout != 15*time.Second || cfg.Gateway.PluginDir != "" {
				t.Errorf("gateway defaults = %+v", cfg.Gateway)
			}
			got := cfg.Store
			got.DeclRange = hcl.Range{}
			if !reflect.DeepEqual(got, tt.wantStore) {
				t.Errorf("store = %+v, want %+v", got, tt.wantStore)
			}
			if !cfg.Store.Embedded || cfg.Store.QuotaBytes != 2<<30 || cfg.Store.Prefix != "/triggergate/" {
				t.Errorf("store defaults = %+v", cfg.Store)
			}
		})
	}
}

func TestLoadFilesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		text string // in the summary or detail
		at   string // file:line of the subject
	}{
		{"syntax error", "gateway {\n  listen = \n}", "Invalid expression", "a.hcl:2"},
		{"unknown top-level block", "\nfrobnicate {}", `Blocks of type "frobnicate" are not expected here`, "a.hcl:2"},
		{"unknown attribute", "gateway {\n  listn = \"x:1\"\n}", `An argument named "listn" is not expected here`, "a.hcl:2"},
		{"top-level attribute", "x = 1", `An argument named "x" is not expected here`, "a.hcl:1"},
		{"wrong type", "store {\n  quota_mb = \"lots\"\n}", "Unsuitable value type", "a.hcl:2"},
		{"missing label", "channel {\n  plugin = \"log\"\n}", "Missing name for channel", "a.hcl:1"},
		{"missing required", "channel \"x\" {\n}", `The argument "plugin" is required`, "a.hcl:1"},
		{"two gateways", "gateway {}\n\ngateway {}", "Only one gateway block is allowed; the first is at a.hcl:1", "a.hcl:3"},
		{"two stores", "store {}\nstore {}", "Only one store block is allowed; the first is at a.hcl:1", "a.hcl:2"},
		{"bad listen", "gateway {\n  listen = \"8080\"\n}", "must be host:port", "a.hcl:2"},
		{"bad log level", "gateway {\n\n  log_level = \"loud\"\n}", "must be one of trace, debug, info, warn or error", "a.hcl:3"},
		{"bad duration", "gateway {\n  shutdown_timeout = \"15 seconds\"\n}", `invalid duration "15 seconds"`, "a.hcl:2"},
		{"zero duration", "store {\n  dial_timeout = \"0s\"\n}", "must be longer than zero", "a.hcl:2"},
		{"store both", "store {\n  embedded = true\n  endpoints = [\"http://e:2379\"]\n}", "sets both embedded = true and endpoints", "a.hcl:3"},
		{"store neither", "store {\n  embedded = false\n}", "sets embedded = false but gives no endpoints", "a.hcl:2"},
		{"empty endpoint", "store {\n  endpoints = [\"\"]\n}", "must not contain empty strings", "a.hcl:2"},
		{"client_url external", "store {\n  endpoints = [\"http://e:2379\"]\n  client_url = \"http://x:1\"\n}", "applies only to the embedded store", "a.hcl:3"},
		{"bad quota", "store {\n  quota_mb = 0\n}", "quota_mb attribute must be between 1", "a.hcl:2"},
		{"empty secret", "source \"s\" {\n  kind = \"k\"\n  secret = \"\"\n}", `The secret of source "s" is empty`, "a.hcl:3"},
		{"empty rotated secret", "source \"s\" {\n  kind = \"k\"\n  secrets = [\"a\", \"\"]\n}", `Secret 1 of source "s" is empty`, "a.hcl:3"},
		{"missing kind", "source \"s\" {\n}", `The argument "kind" is required`, "a.hcl:1"},
		{"bad node id", "gateway {\n  node_id = \"a/b\"\n}", "node_id attribute names this node", "a.hcl:2"},
		{"short lease", "gateway {\n  lease_ttl = \"100ms\"\n}", "at least 1s", "a.hcl:2"},
		{"negative backlog", "gateway {\n  max_backlog = -1\n}", "max_backlog attribute must be 0", "a.hcl:2"},
		{"no partitions", "gateway {\n  partitions = 0\n}", "partitions attribute must be between 1 and 1000", "a.hcl:2"},
		{"too many partitions", "gateway {\n  partitions = 1001\n}", "partitions attribute must be between 1 and 1000", "a.hcl:2"},
		{"bad max body", "source \"s\" {\n  kind = \"k\"\n  max_body = \"lots\"\n}", "max_body attribute is a size", "a.hcl:3"},
		{"max body too big", "source \"s\" {\n  kind = \"k\"\n  max_body = \"2GiB\"\n}", "between 1 byte and 1GiB", "a.hcl:3"},
		{"bad replay window", "source \"s\" {\n  kind = \"k\"\n  replay_window = \"soon\"\n}", "replay_window", "a.hcl:3"},
		{"invalid name upper", "\nchannel \"Email\" {\n  plugin = \"smtp\"\n}", `must match ^[a-z][a-z0-9_-]{0,63}$`, "a.hcl:2"},
		{"invalid name digit", "template \"1st\" {\n  text = \"x\"\n}", `The template name "1st" is not valid`, "a.hcl:1"},
		{"invalid name long", "source \"" + strings.Repeat("a", 65) + "\" {\n  kind = \"k\"\n}", "is not valid", "a.hcl:1"},
		{"duplicate channel", "channel \"email\" {\n  plugin = \"smtp\"\n}\n\nchannel \"email\" {\n  plugin = \"log\"\n}",
			`A channel named "email" is already defined at a.hcl:1`, "a.hcl:5"},
		{"duplicate template", "template \"t\" {\n  text = \"a\"\n}\ntemplate \"t\" {\n  text = \"b\"\n}", `Duplicate template "t"`, "a.hcl:4"},
		{"duplicate trigger", "channel \"c\" {\n  plugin = \"log\"\n}\ntrigger \"t\" {\n  plugin = \"event\"\n  action { channel = \"c\" }\n}\ntrigger \"t\" {\n  plugin = \"event\"\n  action { channel = \"c\" }\n}",
			`A trigger named "t" is already defined at a.hcl:4`, "a.hcl:8"},
		{"duplicate plugin", "plugin \"p\" {\n  path = \"a\"\n}\nplugin \"p\" {\n  path = \"b\"\n}", `Duplicate plugin "p"`, "a.hcl:4"},
		{"duplicate source", "source \"s\" {\n  kind = \"k\"\n}\nsource \"s\" {\n  kind = \"k\"\n}", `Duplicate source "s"`, "a.hcl:4"},
		{"template without body", "template \"t\" {\n  subject = \"hi\"\n}", `needs a text or an html body`, "a.hcl:1"},
		{"trigger without action", "trigger \"t\" {\n  plugin = \"event\"\n}", `has no action block`, "a.hcl:1"},
		{"undefined channel", "channel \"email\" {\n  plugin = \"smtp\"\n}\ntrigger \"t\" {\n  plugin = \"event\"\n  action {\n    channel = \"emial\"\n  }\n}",
			`No channel "emial" is defined. Defined channels: "email"`, "a.hcl:7"},
		{"undefined template", "channel \"email\" {\n  plugin = \"smtp\"\n}\ntrigger \"t\" {\n  plugin = \"event\"\n  action {\n    channel = \"email\"\n    template = \"nope\"\n  }\n}",
			`No template "nope" is defined. Define it with a template block`, "a.hcl:8"},
		{"two config blocks", "channel \"c\" {\n  plugin = \"log\"\n  config {}\n  config {}\n}", "more than one config block; the first is at a.hcl:3", "a.hcl:4"},
		{"short sha256", "plugin \"p\" {\n  path = \"x\"\n  sha256 = \"abc\"\n}", "must be 64 hexadecimal characters", "a.hcl:3"},
		{"non-hex sha256", "plugin \"p\" {\n  path = \"x\"\n  sha256 = \"" + strings.Repeat("g", 64) + "\"\n}", "must be 64 hexadecimal characters", "a.hcl:3"},
		{"empty plugin path", "plugin \"p\" {\n  path = \"\"\n}", `The path of plugin "p" must not be empty`, "a.hcl:2"},
		{"env unset", "source \"s\" {\n  kind = \"k\"\n  secret = env(\"TRIGGERGATE_TEST_SURELY_UNSET\")\n}",
			`environment variable "TRIGGERGATE_TEST_SURELY_UNSET" is not set; set it`, "a.hcl:3"},
		{"file missing", "template \"t\" {\n  text = file(\"nope.txt\")\n}", `file "nope.txt" does not exist`, "a.hcl:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := LoadFiles(one(tt.src), t.TempDir())
			if cfg == nil {
				t.Fatal("LoadFiles returned a nil config")
			}
			wantDiag(t, diags, tt.text, tt.at)
		})
	}
}

func TestLoadFilesReportsOnce(t *testing.T) {
	t.Parallel()
	// An invalid channel name is one error, not also an unknown channel.
	_, diags := LoadFiles(one("channel \"Email\" {\n  plugin = \"smtp\"\n}\ntrigger \"t\" {\n  plugin = \"event\"\n  action { channel = \"Email\" }\n}\n"), ".")
	if len(diags) != 1 {
		t.Errorf("got %d diagnostics, want 1:\n%s", len(diags), listDiags(diags))
	}
	wantDiag(t, diags, "is not valid", "a.hcl:1")
}

func TestLoadDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Files refer to each other; order of merging is by name.
	write("10-channels.hcl", "channel \"email\" {\n  plugin = \"smtp\"\n}\n")
	write("20-templates.hcl", "template \"welcome\" {\n  html = file(\"welcome.html\")\n}\n")
	write("30-triggers.hcl", "trigger \"welcome\" {\n  plugin = \"event\"\n  action {\n    channel  = \"email\"\n    template = \"welcome\"\n  }\n}\n")
	write("00-gateway.hcl", "gateway {\n  log_level = \"warn\"\n}\n")
	write("welcome.html", "<h1>Hi</h1>")
	write("notes.txt", "not config {")
	write(".#lock.hcl", "not config {")
	if err := os.Mkdir(filepath.Join(dir, "sub.hcl"), 0o700); err != nil {
		t.Fatal(err)
	}

	cfg, diags := Load(dir)
	noErrors(t, diags)
	if cfg.Gateway.LogLevel != "warn" || len(cfg.Channels) != 1 || len(cfg.Triggers) != 1 {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.Templates) != 1 || cfg.Templates[0].HTML != "<h1>Hi</h1>" {
		t.Errorf("templates = %+v", cfg.Templates)
	}
	if len(cfg.Files) != 4 {
		t.Errorf("parsed %d files, want the 4 .hcl files", len(cfg.Files))
	}
	if cfg.BaseDir != dir {
		t.Errorf("BaseDir = %q, want %q", cfg.BaseDir, dir)
	}

	// A duplicate in a later file names the first file and line.
	write("40-dup.hcl", "\n\nchannel \"email\" {\n  plugin = \"log\"\n}\n")
	_, diags = Load(dir)
	first := filepath.Join(dir, "10-channels.hcl")
	wantDiag(t, diags, `already defined at `+first+`:1`, filepath.Join(dir, "40-dup.hcl")+":3")
}

func TestLoadPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "gw.hcl")
	if err := os.WriteFile(file, []byte("plugin \"p\" {\n  path = \"../bin/p\"\n}\ngateway {\n  plugin_dir = \"/opt/plugins\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()

	tests := []struct {
		name  string
		path  string
		check func(t *testing.T, cfg *Config, diags hcl.Diagnostics)
	}{
		{"single file", file, func(t *testing.T, cfg *Config, diags hcl.Diagnostics) {
			noErrors(t, diags)
			if want := filepath.Join(filepath.Dir(dir), "bin", "p"); cfg.Plugins[0].Path != want {
				t.Errorf("plugin path = %q, want %q", cfg.Plugins[0].Path, want)
			}
			if cfg.Gateway.PluginDir != "/opt/plugins" {
				t.Errorf("plugin_dir = %q", cfg.Gateway.PluginDir)
			}
		}},
		{"missing path", filepath.Join(dir, "nope.hcl"), func(t *testing.T, cfg *Config, diags hcl.Diagnostics) {
			if !diags.HasErrors() || !strings.Contains(diags.Error(), "nope.hcl") || cfg == nil {
				t.Errorf("diags = %v", diags)
			}
		}},
		{"empty directory", empty, func(t *testing.T, cfg *Config, diags hcl.Diagnostics) {
			if !diags.HasErrors() || !strings.Contains(diags.Error(), "holds no .hcl files") || cfg == nil {
				t.Errorf("diags = %v", diags)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := Load(tt.path)
			tt.check(t, cfg, diags)
		})
	}
}

func TestEnv(t *testing.T) {
	// t.Setenv: not parallel.
	tests := []struct {
		name    string
		set     bool
		value   string
		expr    string
		want    string
		wantErr string
	}{
		{name: "set", set: true, value: "s3cret", expr: `env("TG_TEST_SECRET")`, want: "s3cret"},
		{name: "set beats default", set: true, value: "s3cret", expr: `env("TG_TEST_SECRET", "dflt")`, want: "s3cret"},
		{name: "set but empty", set: true, value: "", expr: `env("TG_TEST_SECRET", "dflt")`, want: ""},
		{name: "unset with default", expr: `env("TG_TEST_SECRET", "dflt")`, want: "dflt"},
		{name: "unset", expr: `env("TG_TEST_SECRET")`, wantErr: `environment variable "TG_TEST_SECRET" is not set; set it, or give a default`},
		{name: "too many args", expr: `env("TG_TEST_SECRET", "a", "b")`, wantErr: "at most one default"},
		{name: "empty name", expr: `env("")`, wantErr: "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.set {
				t.Setenv("TG_TEST_SECRET", tt.value)
			} else {
				t.Setenv("TG_TEST_SECRET", "")
				os.Unsetenv("TG_TEST_SECRET")
			}
			cfg, diags := LoadFiles(one("template \"t\" {\n  text = \"x\"\n  subject = "+tt.expr+"\n}\n"), ".")
			if tt.wantErr != "" {
				wantDiag(t, diags, tt.wantErr, "a.hcl:3")
				return
			}
			noErrors(t, diags)
			if got := cfg.Templates[0].Subject; got != tt.want {
				t.Errorf("subject = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFileFunc(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"templates/a.html": "<b>hello</b>\n",
		"big.txt":          strings.Repeat("x", maxFileBytes+1),
		"latin1.txt":       "caf\xe9",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, arg, want, wantErr string
	}{
		{name: "relative", arg: "templates/a.html", want: "<b>hello</b>\n"},
		{name: "absolute", arg: filepath.Join(dir, "templates/a.html"), want: "<b>hello</b>\n"},
		{name: "missing", arg: "templates/b.html", wantErr: `file "templates/b.html" does not exist`},
		{name: "directory", arg: "templates", wantErr: "is not a regular file"},
		{name: "too big", arg: "big.txt", wantErr: "larger than the 1 MiB"},
		{name: "not utf-8", arg: "latin1.txt", wantErr: "is not UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := LoadFiles(one("\ntemplate \"t\" {\n  html = file(\""+tt.arg+"\")\n}\n"), dir)
			if tt.wantErr != "" {
				wantDiag(t, diags, tt.wantErr, "a.hcl:3")
				return
			}
			noErrors(t, diags)
			if got := cfg.Templates[0].HTML; got != tt.want {
				t.Errorf("html = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteDiagnostics(t *testing.T) {
	t.Parallel()
	cfg, diags := LoadFiles(map[string][]byte{"conf/gw.hcl": []byte("gateway {\n  log_level = \"loud\"\n}\n")}, ".")
	var b strings.Builder
	if err := WriteDiagnostics(&b, cfg.Files, diags); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"conf/gw.hcl:2:3: Error: Invalid log_level",
		`  log_level = "loud"`, // the snippet
		"must be one of trace, debug",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("output has colour codes:\n%s", out)
	}
}

func TestStoreSettingsServeWouldRefuse(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ src, want, at string }{
		"prefix without slash": {"store {\n  prefix = \"/tg\"\n}\n", `must end in "/"`, "a.hcl:2"},
		"quota with endpoints": {"store {\n  endpoints = [\"http://etcd:2379\"]\n  quota_mb = 10\n}\n", "only to the embedded store", "a.hcl:3"},
	} {
		t.Run(name, func(t *testing.T) {
			_, diags := LoadFiles(map[string][]byte{"a.hcl": []byte(c.src)}, t.TempDir())
			if !diags.HasErrors() || !strings.Contains(diags.Error(), c.want) || !strings.Contains(diags.Error(), c.at) {
				t.Fatalf("diags = %v, want an error at %s mentioning %q", diags, c.at, c.want)
			}
		})
	}
}

func TestPartitions(t *testing.T) {
	t.Parallel()
	cfg, diags := LoadFiles(one("gateway {\n  partitions = 16\n}\n"), "/etc/tg")
	noErrors(t, diags)
	if cfg.Gateway.Partitions != 16 {
		t.Errorf("partitions = %d, want 16", cfg.Gateway.Partitions)
	}
	cfg, diags = LoadFiles(one("gateway {}\n"), "/etc/tg")
	noErrors(t, diags)
	if cfg.Gateway.Partitions != DefaultPartitions {
		t.Errorf("default partitions = %d, want %d", cfg.Gateway.Partitions, DefaultPartitions)
	}
}
