package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
		{"bad action step", "channel \"c\" {\n  plugin = \"log\"\n}\ntrigger \"t\" {\n  plugin = \"event\"\n  action {\n    channel = \"c\"\n    steps = [\"welcome\", \"Bad Step\"]\n  }\n}",
			`Step 1 of the action, "Bad Step", is not a step name`, "a.hcl:8"},
		{"invalid name upper", "\nchannel \"Email\" {\n  plugin = \"smtp\"\n}", `must match ^[a-z][a-z0-9_-]{0,63}$`, "a.hcl:2"},
		{"invalid name digit", "template \"1st\" {\n  text = \"x\"\n}", `The template name "1st" is not valid`, "a.hcl:1"},
		{"invalid name long", "source \"" + strings.Repeat("a", 65) + "\" {\n  kind = \"k\"\n}", "is not valid", "a.hcl:1"},
		{"duplicate channel", "channel \"email\" {\n  plugin = \"smtp\"\n}\n\nchannel \"email\" {\n  plugin = \"log\"\n}",
			`A channel named "email" is already defined at a.hcl:1`, "a.hcl:5"},
		{"duplicate template", "template \"t\" {\n  text = \"a\"\n}\ntemplate \"t\" {\n  text = \"b\"\n}", `Duplicate template "t"`, "a.hcl:4"},
		{"duplicate trigger", "channel \"c\" {\n  plugin = \"log\"\n}\ntrigger \"t\" {\n  plugin = \"event\"\n  action { channel = \"c\" }\n}\ntrigger \"t\" {\n  plugin = \"event\"\n  action { channel = \"c\" }\n}",
			`A trigger named "t" is already defined at a.hcl:4`, "a.hcl:8"},
		{"plugin without path", "plugin \"p\" {\n  sha256 = \"00\"\n}", `The plugin "p" needs a path`, "a.hcl:1"},
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

const policyConfig = `
channel "email" {
  plugin = "smtp"
}

channel "sms" {
  plugin = "twilio"
}

channel "ops" {
  plugin = "webhook"
  kind   = "slack"
}

template "a" {
  text = "a"
}

template "b" {
  text = "b"
}

policy {
  require_opt_in     = ["sms", "email"]
  default_timezone   = "Europe/Paris"
  max_timer_lateness = "7d"

  frequency_cap "email" {
    max = 3
    per = "7d"
  }

  frequency_cap "ops" {
    max = 10
    per = "1h"
  }

  quiet_hours {
    start    = "21:00"
    end      = "08:30"
    action   = "fallback"
    fallback = "ops"
    channels = ["email", "sms"]
  }
}

trigger "promo" {
  plugin  = "event"
  holdout = 0.1
  action {
    channel = "email"
    variant "short" {
      template = "a"
    }
    variant "long" {
      template = "b"
      weight   = 3
    }
  }
  frequency_cap {
    max = 1
    per = "48h"
  }
}

trigger "receipt" {
  plugin        = "event"
  transactional = true
  action {
    channel  = "email"
    template = "a"
  }
}
`

func TestLoadPolicy(t *testing.T) {
	t.Parallel()
	cfg, diags := LoadFiles(one(policyConfig), ".")
	noErrors(t, diags)
	if len(diags) > 0 {
		t.Errorf("unexpected warnings:\n%s", listDiags(diags))
	}

	p := cfg.Policy
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.RequireOptIn, []string{"sms", "email"}) || p.DefaultTimezone != "Europe/Paris" ||
		p.DefaultLocation.String() != paris.String() || p.MaxTimerLateness != 7*24*time.Hour {
		t.Errorf("policy = %+v", p)
	}
	for name, r := range map[string]struct {
		rng  hcl.Range
		line int
	}{
		"DeclRange": {p.DeclRange, 23}, "RequireOptInRange": {p.RequireOptInRange, 24},
		"DefaultTimezoneRange": {p.DefaultTimezoneRange, 25}, "MaxTimerLatenessRange": {p.MaxTimerLatenessRange, 26},
	} {
		if r.rng.Filename != "a.hcl" || r.rng.Start.Line != r.line {
			t.Errorf("%s = %s, want a.hcl:%d", name, r.rng, r.line)
		}
	}
	wantCaps := []FrequencyCap{
		{Channel: "email", Max: 3, Per: 7 * 24 * time.Hour},
		{Channel: "ops", Max: 10, Per: time.Hour},
	}
	gotCaps := slices.Clone(p.FrequencyCaps)
	for i := range gotCaps {
		gotCaps[i].DeclRange = hcl.Range{}
	}
	if !reflect.DeepEqual(gotCaps, wantCaps) || p.FrequencyCaps[1].DeclRange.Start.Line != 33 {
		t.Errorf("caps = %+v, want %+v at lines 28 and 33", p.FrequencyCaps, wantCaps)
	}
	q := p.QuietHours
	if q == nil {
		t.Fatal("no quiet hours")
	}
	wantQuiet := QuietHours{
		Start: 21 * time.Hour, End: 8*time.Hour + 30*time.Minute, Action: QuietFallback, Fallback: "ops",
		Channels: []string{"email", "sms"}, FallbackRange: q.FallbackRange, DeclRange: q.DeclRange,
	}
	if !reflect.DeepEqual(*q, wantQuiet) || q.DeclRange.Start.Line != 38 || q.FallbackRange.Start.Line != 42 {
		t.Errorf("quiet hours = %+v, want %+v", *q, wantQuiet)
	}

	kinds := map[string]string{}
	for _, c := range cfg.Channels {
		kinds[c.Name] = c.Kind
	}
	if want := map[string]string{"email": "email", "sms": "sms", "ops": "slack"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("channel kinds = %v, want %v", kinds, want)
	}
	if cfg.Channels[0].KindRange != (hcl.Range{}) || cfg.Channels[2].KindRange.Start.Line != 12 {
		t.Errorf("kind ranges = %s, %s", cfg.Channels[0].KindRange, cfg.Channels[2].KindRange)
	}

	if len(cfg.Triggers) != 2 {
		t.Fatalf("got %d triggers, want 2", len(cfg.Triggers))
	}
	promo, receipt := cfg.Triggers[0], cfg.Triggers[1]
	if promo.Transactional || promo.Holdout != 0.1 || promo.HoldoutRange.Start.Line != 49 {
		t.Errorf("promo = %+v", promo)
	}
	if fc := promo.FrequencyCap; fc == nil || fc.Channel != "" || fc.Max != 1 || fc.Per != 48*time.Hour || fc.DeclRange.Start.Line != 60 {
		t.Errorf("promo cap = %+v", fc)
	}
	a := promo.Actions[0]
	gotVariants := slices.Clone(a.Variants)
	for i := range gotVariants {
		gotVariants[i].TemplateRange, gotVariants[i].DeclRange = hcl.Range{}, hcl.Range{}
	}
	if want := []Variant{{Name: "short", Template: "a", Weight: 1}, {Name: "long", Template: "b", Weight: 3}}; a.Template != "" || !reflect.DeepEqual(gotVariants, want) {
		t.Errorf("variants = %+v, want %+v", a.Variants, want)
	}
	if a.Variants[1].DeclRange.Start.Line != 55 || a.Variants[1].TemplateRange.Start.Line != 56 {
		t.Errorf("variant ranges = %s, %s", a.Variants[1].DeclRange, a.Variants[1].TemplateRange)
	}
	if !receipt.Transactional || receipt.Holdout != 0 || receipt.FrequencyCap != nil ||
		receipt.Actions[0].Template != "a" || receipt.Actions[0].Variants != nil {
		t.Errorf("receipt = %+v", receipt)
	}
}

func TestLoadPolicyDefaults(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"no policy block":    "",
		"empty policy block": "policy {\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := LoadFiles(one(src), ".")
			noErrors(t, diags)
			p := cfg.Policy
			p.DeclRange = hcl.Range{}
			want := Policy{RequireOptIn: []string{"sms"}, DefaultTimezone: "UTC", DefaultLocation: time.UTC, MaxTimerLateness: 24 * time.Hour}
			if !reflect.DeepEqual(p, want) {
				t.Errorf("policy = %+v, want %+v", p, want)
			}
		})
	}

	t.Run("explicit empty require_opt_in", func(t *testing.T) {
		t.Parallel()
		cfg, diags := LoadFiles(one("policy {\n  require_opt_in = []\n}\n"), ".")
		noErrors(t, diags)
		if got := cfg.Policy.RequireOptIn; got == nil || len(got) != 0 {
			t.Errorf("require_opt_in = %#v, want empty", got)
		}
	})

	t.Run("quiet hours and trigger defaults", func(t *testing.T) {
		t.Parallel()
		cfg, diags := LoadFiles(one(`channel "email" {
  plugin = "smtp"
}
policy {
  quiet_hours {
    start = "00:00"
    end   = "23:59"
  }
}
trigger "t" {
  plugin = "event"
  action { channel = "email" }
}
`), ".")
		noErrors(t, diags)
		q := cfg.Policy.QuietHours
		if q == nil || q.Start != 0 || q.End != 23*time.Hour+59*time.Minute || q.Action != QuietDefer || q.Fallback != "" || q.Channels != nil {
			t.Errorf("quiet hours = %+v", q)
		}
		tr := cfg.Triggers[0]
		if tr.Transactional || tr.Holdout != 0 || tr.HoldoutRange != (hcl.Range{}) || tr.FrequencyCap != nil || tr.Actions[0].Variants != nil {
			t.Errorf("trigger = %+v", tr)
		}
	})
}

func TestChannelKind(t *testing.T) {
	t.Parallel()
	tests := []struct{ plugin, kind, want string }{
		{plugin: "smtp", want: "email"},
		{plugin: "twilio", want: "sms"},
		{plugin: "slack", want: "slack"},
		{plugin: "webhook", want: "webhook"},
		{plugin: "log", want: "log"},
		{plugin: "crm-sync", want: "crm-sync"},
		{plugin: "smtp", kind: "push", want: "push"},
	}
	for _, tt := range tests {
		t.Run(tt.plugin+"/"+tt.kind, func(t *testing.T) {
			t.Parallel()
			if tt.kind == "" {
				if got := DefaultChannelKind(tt.plugin); got != tt.want {
					t.Errorf("DefaultChannelKind(%q) = %q, want %q", tt.plugin, got, tt.want)
				}
			}
			src := "channel \"c\" {\n  plugin = \"" + tt.plugin + "\"\n"
			if tt.kind != "" {
				src += "  kind = \"" + tt.kind + "\"\n"
			}
			cfg, diags := LoadFiles(one(src+"}\n"), ".")
			noErrors(t, diags)
			if got := cfg.Channels[0].Kind; got != tt.want {
				t.Errorf("kind = %q, want %q", got, tt.want)
			}
		})
	}
}

// policyBase defines two channels (email: smtp, sms: twilio) and two
// templates (a, b) on lines 1 to 12; what follows starts on line 13.
const policyBase = "channel \"email\" {\n  plugin = \"smtp\"\n}\nchannel \"sms\" {\n  plugin = \"twilio\"\n}\n" +
	"template \"a\" {\n  text = \"a\"\n}\ntemplate \"b\" {\n  text = \"b\"\n}\n"

// inPolicy puts body in a policy block: its first line is line 14.
func inPolicy(body string) string { return policyBase + "policy {\n" + body + "}\n" }

// inQuiet puts body in a policy's quiet_hours block: its first line is line 15.
func inQuiet(body string) string { return inPolicy("  quiet_hours {\n" + body + "  }\n") }

// inTrigger puts body in a trigger with one action: its first line is line 16.
func inTrigger(body string) string {
	return policyBase + "trigger \"t\" {\n  plugin = \"event\"\n  action { channel = \"email\" }\n" + body + "}\n"
}

// inAction puts body in a trigger's action block: its first line is line 17.
func inAction(body string) string {
	return policyBase + "trigger \"t\" {\n  plugin = \"event\"\n  action {\n    channel = \"email\"\n" + body + "  }\n}\n"
}

func TestLoadPolicyErrors(t *testing.T) {
	t.Parallel()
	const twoVariants = "    variant \"x\" {\n      template = \"a\"\n    }\n    variant \"y\" {\n      template = \"b\"\n    }\n"
	tests := []struct {
		name string
		src  string
		text string // in the summary or detail
		at   string // file:line of the subject
	}{
		// policy
		{"two policies", "policy {}\n\npolicy {}\n", "Only one policy block is allowed; the first is at a.hcl:1", "a.hcl:3"},
		{"unknown policy attribute", inPolicy("  opt_in = [\"sms\"]\n"), `An argument named "opt_in" is not expected here`, "a.hcl:14"},
		{"invalid opt-in kind", inPolicy("  require_opt_in = [\"SMS\"]\n"), `The require_opt_in attribute lists channel kinds such as "email" or "sms", which match ^[a-z][a-z0-9_-]{0,63}$; got "SMS"`, "a.hcl:14"},
		{"unknown timezone", inPolicy("  default_timezone = \"Europe/Pariss\"\n"), `IANA time zone name such as "Europe/Paris" or "America/New_York"; "Europe/Pariss" is not one`, "a.hcl:14"},
		{"local timezone", inPolicy("  default_timezone = \"Local\"\n"), `got "Local", which depends on the host`, "a.hcl:14"},
		{"empty timezone", inPolicy("\n  default_timezone = \"\"\n"), `got "", which depends on the host`, "a.hcl:15"},
		{"bad timer lateness", inPolicy("  max_timer_lateness = \"a day\"\n"), `The max_timer_lateness attribute: invalid duration "a day"`, "a.hcl:14"},
		{"zero timer lateness", inPolicy("  max_timer_lateness = \"0d\"\n"), "The max_timer_lateness attribute must be longer than zero", "a.hcl:14"},

		// policy frequency caps
		{"invalid cap label", inPolicy("  frequency_cap \"E-mail\" {\n    max = 1\n    per = \"1d\"\n  }\n"),
			`The frequency_cap label is a channel kind (such as "email") or a channel name, which match ^[a-z][a-z0-9_-]{0,63}$; got "E-mail"`, "a.hcl:14"},
		{"duplicate cap", inPolicy("  frequency_cap \"email\" {\n    max = 1\n    per = \"1d\"\n  }\n  frequency_cap \"email\" {\n    max = 2\n    per = \"1d\"\n  }\n"),
			`Duplicate frequency_cap "email": A frequency_cap for "email" is already defined at a.hcl:14`, "a.hcl:18"},
		{"cap max zero", inPolicy("  frequency_cap \"email\" {\n    max = 0\n    per = \"1d\"\n  }\n"),
			"The max attribute is how many messages a customer may get per window, from 1 to 100 (the sends a customer's record remembers); got 0", "a.hcl:15"},
		{"cap max fraction", inPolicy("  frequency_cap \"email\" {\n    max = 1.5\n    per = \"1d\"\n  }\n"), "Unsuitable value type", "a.hcl:15"},
		{"cap per zero", inPolicy("  frequency_cap \"email\" {\n    max = 1\n    per = \"0s\"\n  }\n"), "The per attribute must be longer than zero", "a.hcl:16"},
		{"cap per invalid", inPolicy("  frequency_cap \"email\" {\n    max = 1\n    per = \"weekly\"\n  }\n"), `The per attribute: invalid duration "weekly"`, "a.hcl:16"},
		{"cap without max", inPolicy("  frequency_cap \"email\" {\n    per = \"1d\"\n  }\n"), `The argument "max" is required`, "a.hcl:14"},
		{"cap without label", inPolicy("  frequency_cap {\n    max = 1\n    per = \"1d\"\n  }\n"), "Missing channel for frequency_cap", "a.hcl:14"},

		// quiet hours
		{"two quiet hours", inPolicy("  quiet_hours {\n    start = \"21:00\"\n    end = \"08:00\"\n  }\n  quiet_hours {\n    start = \"22:00\"\n    end = \"07:00\"\n  }\n"),
			"Only one quiet_hours block is allowed; the first is at a.hcl:14", "a.hcl:18"},
		{"quiet start not a time", inQuiet("    start = \"9pm\"\n    end = \"08:00\"\n"), `The start attribute is a time of day as HH:MM, from "00:00" to "23:59", such as "21:00"; got "9pm"`, "a.hcl:15"},
		{"quiet start 24:00", inQuiet("    start = \"24:00\"\n    end = \"08:00\"\n"), `got "24:00"`, "a.hcl:15"},
		{"quiet start one digit", inQuiet("    start = \"9:00\"\n    end = \"08:00\"\n"), `got "9:00"`, "a.hcl:15"},
		{"quiet end minutes", inQuiet("    start = \"21:00\"\n    end = \"08:60\"\n"), `The end attribute is a time of day as HH:MM, from "00:00" to "23:59", such as "08:00"; got "08:60"`, "a.hcl:16"},
		{"quiet end signed", inQuiet("    start = \"21:00\"\n    end = \"+8:00\"\n"), `got "+8:00"`, "a.hcl:16"},
		{"quiet start equals end", inQuiet("    start = \"21:00\"\n    end = \"21:00\"\n"), `Empty quiet hours: The quiet_hours start and end are both "21:00"`, "a.hcl:16"},
		{"quiet without end", inQuiet("    start = \"21:00\"\n"), `The argument "end" is required`, "a.hcl:14"},
		{"quiet bad action", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    action = \"delay\"\n"),
			`The action attribute must be "defer" (send when quiet hours end), "drop" or "fallback" (send through the fallback channel); got "delay"`, "a.hcl:17"},
		{"quiet fallback missing", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    action = \"fallback\"\n"),
			"Missing fallback: With action = \"fallback\"", "a.hcl:17"},
		{"quiet fallback without action", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    fallback = \"sms\"\n"),
			`The fallback attribute is used only with action = "fallback", and the action is "defer"`, "a.hcl:17"},
		{"quiet fallback with drop", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    action = \"drop\"\n    fallback = \"sms\"\n"),
			`and the action is "drop"`, "a.hcl:18"},
		{"quiet fallback unknown", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    action = \"fallback\"\n    fallback = \"text\"\n    channels = [\"email\"]\n"),
			`Unknown channel: No channel "text" is defined. Defined channels: "email", "sms"`, "a.hcl:18"},
		{"quiet fallback itself quiet", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    action = \"fallback\"\n    fallback = \"sms\"\n"),
			`The fallback channel "sms" has kind "sms", which these quiet hours also cover`, "a.hcl:18"},
		{"quiet fallback listed kind", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    action = \"fallback\"\n    fallback = \"sms\"\n    channels = [\"sms\", \"email\"]\n"),
			`Fallback channel in quiet hours`, "a.hcl:18"},
		{"quiet empty channels", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    channels = []\n"),
			"The channels list is empty. Leave it out for quiet hours on every channel kind", "a.hcl:17"},
		{"quiet invalid channels", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    channels = [\"email\", \"\"]\n"),
			`The channels attribute lists channel kinds such as "email" or "sms", which match ^[a-z][a-z0-9_-]{0,63}$; got ""`, "a.hcl:17"},

		// trigger policy settings
		{"holdout one", inTrigger("  holdout = 1\n"), "The holdout attribute is the share of customers who never get the trigger's messages, at least 0 and below 1 (0.1 for 10%); got 1", "a.hcl:16"},
		{"holdout negative", inTrigger("  holdout = -0.1\n"), "got -0.1", "a.hcl:16"},
		{"holdout string", inTrigger("  holdout = \"10%\"\n"), "Unsuitable value type", "a.hcl:16"},
		{"holdout on transactional", inTrigger("  transactional = true\n  holdout = 0.2\n"),
			`The trigger "t" is transactional, and transactional messages are never held out`, "a.hcl:17"},
		{"cap on transactional", inTrigger("  transactional = true\n  frequency_cap {\n    max = 1\n    per = \"1d\"\n  }\n"),
			`The trigger "t" is transactional, and transactional messages are never capped`, "a.hcl:17"},
		{"two trigger caps", inTrigger("  frequency_cap {\n    max = 1\n    per = \"1d\"\n  }\n  frequency_cap {\n    max = 2\n    per = \"7d\"\n  }\n"),
			"Only one frequency_cap block is allowed; the first is at a.hcl:16", "a.hcl:20"},
		{"trigger cap max", inTrigger("  frequency_cap {\n    max = -1\n    per = \"1d\"\n  }\n"), "from 1 to 100 (the sends a customer's record remembers); got -1", "a.hcl:17"},
		{"trigger cap max too high", inTrigger("  frequency_cap {\n    max = 101\n    per = \"1d\"\n  }\n"), "from 1 to 100", "a.hcl:17"},
		{"trigger cap per", inTrigger("  frequency_cap {\n    max = 1\n    per = \"-1h\"\n  }\n"), `The per attribute: invalid duration "-1h"`, "a.hcl:18"},
		{"trigger cap labelled", inTrigger("  frequency_cap \"email\" {\n    max = 1\n    per = \"1d\"\n  }\n"), "Extraneous label for frequency_cap", "a.hcl:16"},

		// variants
		{"variant unknown template", inAction("    variant \"x\" {\n      template = \"a\"\n    }\n    variant \"y\" {\n      template = \"c\"\n    }\n"),
			`Unknown template: No template "c" is defined. Defined templates: "a", "b"`, "a.hcl:21"},
		{"variant without template", inAction("    variant \"x\" {\n      template = \"a\"\n    }\n    variant \"y\" {\n      weight = 2\n    }\n"),
			`The argument "template" is required`, "a.hcl:20"},
		{"template and variants", inAction("    template = \"a\"\n" + twoVariants),
			"The action sets template and also has variant blocks (the first at a.hcl:18)", "a.hcl:17"},
		{"single variant", inAction("\n    variant \"x\" {\n      template = \"b\"\n    }\n"),
			`An A/B test needs at least two variant blocks. With one, set template on the action instead`, "a.hcl:18"},
		{"duplicate variant", inAction("    variant \"x\" {\n      template = \"a\"\n    }\n    variant \"x\" {\n      template = \"b\"\n    }\n"),
			`A variant named "x" is already defined at a.hcl:17`, "a.hcl:20"},
		{"invalid variant name", inAction("    variant \"A\" {\n      template = \"a\"\n    }\n    variant \"b\" {\n      template = \"b\"\n    }\n"),
			`The variant name "A" is not valid`, "a.hcl:17"},
		{"negative weight", inAction("    variant \"x\" {\n      template = \"a\"\n      weight = -1\n    }\n    variant \"y\" {\n      template = \"b\"\n    }\n"),
			"The weight attribute is the variant's share relative to the others', from 0 (off) to 1000000; got -1", "a.hcl:19"},
		{"huge weight", inAction("    variant \"x\" {\n      template = \"a\"\n      weight = 1000001\n    }\n    variant \"y\" {\n      template = \"b\"\n    }\n"),
			"got 1000001", "a.hcl:19"},
		{"fractional weight", inAction("    variant \"x\" {\n      template = \"a\"\n      weight = 1.5\n    }\n    variant \"y\" {\n      template = \"b\"\n    }\n"),
			"value must be a whole number", "a.hcl:19"},
		{"all weights zero", inAction("    variant \"x\" {\n      template = \"a\"\n      weight = 0\n    }\n    variant \"y\" {\n      template = \"b\"\n      weight = 0\n    }\n"),
			"Every variant of this action has weight 0, so none would be sent", "a.hcl:15"},

		// channel kind
		{"invalid channel kind", "channel \"c\" {\n  plugin = \"smtp\"\n  kind = \"E-Mail\"\n}\n",
			`The kind of channel "c" says what it reaches, such as "email", "sms" or "push": a lower-case name matching ^[a-z][a-z0-9_-]{0,63}$; got "E-Mail"`, "a.hcl:3"},
		{"empty channel kind", "channel \"c\" {\n  plugin = \"smtp\"\n\n  kind = \"\"\n}\n", "Invalid channel kind", "a.hcl:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, diags := LoadFiles(one(tt.src), t.TempDir())
			if cfg == nil {
				t.Fatal("LoadFiles returned a nil config")
			}
			wantDiag(t, diags, tt.text, tt.at)
			if len(diags) != 1 {
				t.Errorf("got %d diagnostics, want 1 (a mistake is reported once):\n%s", len(diags), listDiags(diags))
			}
		})
	}
}

func TestLoadPolicyWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		text string
		at   string
	}{
		{"cap matching no channel", inPolicy("  frequency_cap \"emails\" {\n    max = 1\n    per = \"1d\"\n  }\n"),
			`No channel is named "emails" or has that kind, so this cap counts nothing. Channel kinds in use: "email", "sms"`, "a.hcl:14"},
		{"opt-in kind not in use", inPolicy("  require_opt_in = [\"smss\"]\n"),
			`The require_opt_in attribute lists "smss", but no channel has that kind`, "a.hcl:14"},
		{"quiet kind not in use", inQuiet("    start = \"21:00\"\n    end = \"08:00\"\n    channels = [\"push\"]\n"),
			`The channels attribute lists "push", but no channel has that kind`, "a.hcl:17"},
		{"no channels", "policy {\n  require_opt_in = [\"sms\"]\n}\n", "No channel is defined yet", "a.hcl:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := LoadFiles(one(tt.src), ".")
			noErrors(t, diags)
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics, want 1 warning:\n%s", len(diags), listDiags(diags))
			}
			d := diags[0]
			if d.Severity != hcl.DiagWarning || !strings.Contains(d.Detail, tt.text) || d.Subject == nil ||
				fmt.Sprintf("%s:%d", d.Subject.Filename, d.Subject.Start.Line) != tt.at {
				t.Errorf("got %s, want a warning at %s containing %q", listDiags(diags), tt.at, tt.text)
			}
		})
	}
}
