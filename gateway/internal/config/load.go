package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/triggergate/triggergate/sdk"
)

// The gohcl shapes of the files. They keep attribute ranges for checks
// that gohcl cannot do, and pointers where "unset" differs from zero.
// Checks after decoding skip what gohcl already reported (see decoded).
type (
	fileHCL struct {
		Gateways  []*gatewayHCL  `hcl:"gateway,block"`
		Stores    []*storeHCL    `hcl:"store,block"`
		Sources   []*sourceHCL   `hcl:"source,block"`
		Channels  []*channelHCL  `hcl:"channel,block"`
		Templates []*templateHCL `hcl:"template,block"`
		Triggers  []*triggerHCL  `hcl:"trigger,block"`
		Plugins   []*pluginHCL   `hcl:"plugin,block"`
		Policies  []*policyHCL   `hcl:"policy,block"`
		Trackings []*trackingHCL `hcl:"tracking,block"`
	}
	gatewayHCL struct {
		Listen               *string       `hcl:"listen,optional"`
		ListenRange          hcl.Range     `hcl:"listen,attr_range"`
		AdminListen          *string       `hcl:"admin_listen,optional"`
		AdminListenRange     hcl.Range     `hcl:"admin_listen,attr_range"`
		AdminToken           *string       `hcl:"admin_token,optional"`
		AdminTokenRange      hcl.Range     `hcl:"admin_token,attr_range"`
		DataDir              *string       `hcl:"data_dir,optional"`
		DataDirRange         hcl.Range     `hcl:"data_dir,attr_range"`
		PluginDir            *string       `hcl:"plugin_dir,optional"`
		ShutdownTimeout      *string       `hcl:"shutdown_timeout,optional"`
		ShutdownTimeoutRange hcl.Range     `hcl:"shutdown_timeout,attr_range"`
		LogLevel             *string       `hcl:"log_level,optional"`
		LogLevelRange        hcl.Range     `hcl:"log_level,attr_range"`
		NodeID               *string       `hcl:"node_id,optional"`
		NodeIDRange          hcl.Range     `hcl:"node_id,attr_range"`
		LeaseTTL             *string       `hcl:"lease_ttl,optional"`
		LeaseTTLRange        hcl.Range     `hcl:"lease_ttl,attr_range"`
		MaxBacklog           *int64        `hcl:"max_backlog,optional"`
		MaxBacklogRange      hcl.Range     `hcl:"max_backlog,attr_range"`
		Partitions           *int          `hcl:"partitions,optional"`
		PartitionsRange      hcl.Range     `hcl:"partitions,attr_range"`
		Archives             []*archiveHCL `hcl:"archive,block"`
		DefRange             hcl.Range     `hcl:",def_range"`
	}
	archiveHCL struct {
		Dir              *string   `hcl:"dir,optional"`
		DirRange         hcl.Range `hcl:"dir,attr_range"`
		MaxFileSize      *string   `hcl:"max_file_size,optional"`
		MaxFileSizeRange hcl.Range `hcl:"max_file_size,attr_range"`
		MaxFiles         *int      `hcl:"max_files,optional"`
		MaxFilesRange    hcl.Range `hcl:"max_files,attr_range"`
		MaxAge           *string   `hcl:"max_age,optional"`
		MaxAgeRange      hcl.Range `hcl:"max_age,attr_range"`
		DefRange         hcl.Range `hcl:",def_range"`
	}
	storeHCL struct {
		Embedded         *bool     `hcl:"embedded,optional"`
		EmbeddedRange    hcl.Range `hcl:"embedded,attr_range"`
		Endpoints        []string  `hcl:"endpoints,optional"`
		EndpointsRange   hcl.Range `hcl:"endpoints,attr_range"`
		ClientURL        *string   `hcl:"client_url,optional"`
		ClientURLRange   hcl.Range `hcl:"client_url,attr_range"`
		PeerURL          *string   `hcl:"peer_url,optional"`
		PeerURLRange     hcl.Range `hcl:"peer_url,attr_range"`
		Prefix           *string   `hcl:"prefix,optional"`
		PrefixRange      hcl.Range `hcl:"prefix,attr_range"`
		QuotaMB          *int64    `hcl:"quota_mb,optional"`
		QuotaMBRange     hcl.Range `hcl:"quota_mb,attr_range"`
		DialTimeout      *string   `hcl:"dial_timeout,optional"`
		DialTimeoutRange hcl.Range `hcl:"dial_timeout,attr_range"`
		DefRange         hcl.Range `hcl:",def_range"`
	}
	sourceHCL struct {
		Name              string    `hcl:"name,label"`
		NameRange         hcl.Range `hcl:"name,label_range"`
		Kind              string    `hcl:"kind"`
		Secret            *string   `hcl:"secret,optional"`
		SecretRange       hcl.Range `hcl:"secret,attr_range"`
		Secrets           []string  `hcl:"secrets,optional"`
		SecretsRange      hcl.Range `hcl:"secrets,attr_range"`
		MaxBody           *string   `hcl:"max_body,optional"`
		MaxBodyRange      hcl.Range `hcl:"max_body,attr_range"`
		ReplayWindow      *string   `hcl:"replay_window,optional"`
		ReplayWindowRange hcl.Range `hcl:"replay_window,attr_range"`
		DedupeWindow      *string   `hcl:"dedupe_window,optional"`
		DedupeWindowRange hcl.Range `hcl:"dedupe_window,attr_range"`
		EventTypes        []string  `hcl:"event_types,optional"`
		EventTypesRange   hcl.Range `hcl:"event_types,attr_range"`
		Body              hcl.Body  `hcl:",remain"`
		DefRange          hcl.Range `hcl:",def_range"`
	}
	channelHCL struct {
		Name        string       `hcl:"name,label"`
		NameRange   hcl.Range    `hcl:"name,label_range"`
		Plugin      string       `hcl:"plugin"`
		PluginRange hcl.Range    `hcl:"plugin,attr_range"`
		Kind        *string      `hcl:"kind,optional"`
		KindRange   hcl.Range    `hcl:"kind,attr_range"`
		Configs     []*configHCL `hcl:"config,block"`
		// Delivery settings the host applies (load_channel.go).
		RateLimit      *string       `hcl:"rate_limit,optional"`
		RateLimitRange hcl.Range     `hcl:"rate_limit,attr_range"`
		Retries        []*retryHCL   `hcl:"retry,block"`
		Breakers       []*breakerHCL `hcl:"circuit_breaker,block"`
		DefRange       hcl.Range     `hcl:",def_range"`
	}
	configHCL struct {
		Body     hcl.Body  `hcl:",remain"`
		DefRange hcl.Range `hcl:",def_range"`
	}
	templateHCL struct {
		Name      string    `hcl:"name,label"`
		NameRange hcl.Range `hcl:"name,label_range"`
		Subject   string    `hcl:"subject,optional"`
		Text      string    `hcl:"text,optional"`
		HTML      string    `hcl:"html,optional"`
		DefRange  hcl.Range `hcl:",def_range"`
	}
	triggerHCL struct {
		Name        string       `hcl:"name,label"`
		NameRange   hcl.Range    `hcl:"name,label_range"`
		Plugin      string       `hcl:"plugin"`
		PluginRange hcl.Range    `hcl:"plugin,attr_range"`
		Configs     []*configHCL `hcl:"config,block"`
		Actions     []*actionHCL `hcl:"action,block"`
		// Policy settings (DESIGN.md §6).
		Transactional *bool     `hcl:"transactional,optional"`
		Holdout       *float64  `hcl:"holdout,optional"`
		HoldoutRange  hcl.Range `hcl:"holdout,attr_range"`
		Caps          []*capHCL `hcl:"frequency_cap,block"`
		DefRange      hcl.Range `hcl:",def_range"`
	}
	actionHCL struct {
		Channel       string        `hcl:"channel"`
		ChannelRange  hcl.Range     `hcl:"channel,attr_range"`
		Template      string        `hcl:"template,optional"`
		TemplateRange hcl.Range     `hcl:"template,attr_range"`
		Variants      []*variantHCL `hcl:"variant,block"`
		Steps         []string      `hcl:"steps,optional"`
		StepsRange    hcl.Range     `hcl:"steps,attr_range"`
		DefRange      hcl.Range     `hcl:",def_range"`
	}
	variantHCL struct {
		Name          string    `hcl:"name,label"`
		NameRange     hcl.Range `hcl:"name,label_range"`
		Template      string    `hcl:"template"`
		TemplateRange hcl.Range `hcl:"template,attr_range"`
		Weight        *int      `hcl:"weight,optional"`
		WeightRange   hcl.Range `hcl:"weight,attr_range"`
		DefRange      hcl.Range `hcl:",def_range"`
	}
	policyHCL struct {
		RequireOptIn          *[]string        `hcl:"require_opt_in,optional"`
		RequireOptInRange     hcl.Range        `hcl:"require_opt_in,attr_range"`
		DefaultTimezone       *string          `hcl:"default_timezone,optional"`
		DefaultTimezoneRange  hcl.Range        `hcl:"default_timezone,attr_range"`
		MaxTimerLateness      *string          `hcl:"max_timer_lateness,optional"`
		MaxTimerLatenessRange hcl.Range        `hcl:"max_timer_lateness,attr_range"`
		Caps                  []*policyCapHCL  `hcl:"frequency_cap,block"`
		QuietHours            []*quietHoursHCL `hcl:"quiet_hours,block"`
		DefRange              hcl.Range        `hcl:",def_range"`
	}
	// policyCapHCL is a policy's frequency_cap, labelled with a channel
	// kind or name; capHCL is a trigger's, without a label.
	policyCapHCL struct {
		Channel      string    `hcl:"channel,label"`
		ChannelRange hcl.Range `hcl:"channel,label_range"`
		Max          int       `hcl:"max"`
		MaxRange     hcl.Range `hcl:"max,attr_range"`
		Per          string    `hcl:"per"`
		PerRange     hcl.Range `hcl:"per,attr_range"`
		DefRange     hcl.Range `hcl:",def_range"`
	}
	capHCL struct {
		Max      int       `hcl:"max"`
		MaxRange hcl.Range `hcl:"max,attr_range"`
		Per      string    `hcl:"per"`
		PerRange hcl.Range `hcl:"per,attr_range"`
		DefRange hcl.Range `hcl:",def_range"`
	}
	quietHoursHCL struct {
		Start         string    `hcl:"start"`
		StartRange    hcl.Range `hcl:"start,attr_range"`
		End           string    `hcl:"end"`
		EndRange      hcl.Range `hcl:"end,attr_range"`
		Action        *string   `hcl:"action,optional"`
		ActionRange   hcl.Range `hcl:"action,attr_range"`
		Fallback      *string   `hcl:"fallback,optional"`
		FallbackRange hcl.Range `hcl:"fallback,attr_range"`
		Channels      []string  `hcl:"channels,optional"`
		ChannelsRange hcl.Range `hcl:"channels,attr_range"`
		DefRange      hcl.Range `hcl:",def_range"`
	}
	pluginHCL struct {
		Name        string    `hcl:"name,label"`
		NameRange   hcl.Range `hcl:"name,label_range"`
		Path        *string   `hcl:"path"`
		PathRange   hcl.Range `hcl:"path,attr_range"`
		SHA256      string    `hcl:"sha256,optional"`
		SHA256Range hcl.Range `hcl:"sha256,attr_range"`
		DefRange    hcl.Range `hcl:",def_range"`
	}
)

// Load reads a file or a directory of .hcl files. It returns the config
// (possibly partial) and every problem found; callers must check
// diags.HasErrors().
//
// In a directory, files ending in .hcl are read in name order; names
// starting with "." (editor lock and backup files) are skipped, and so are
// subdirectories.
func Load(path string) (*Config, hcl.Diagnostics) {
	st, err := os.Stat(path)
	if err != nil {
		return emptyConfig(path), hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration",
			Detail:   fmt.Sprintf("Reading %s: %s.", path, err),
		}}
	}
	var names []string
	baseDir := filepath.Dir(path)
	if st.IsDir() {
		baseDir = path
		entries, err := os.ReadDir(path)
		if err != nil {
			return emptyConfig(baseDir), hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Cannot read configuration directory",
				Detail:   fmt.Sprintf("Listing %s: %s.", path, err),
			}}
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".hcl") || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			names = append(names, filepath.Join(path, e.Name()))
		}
		if len(names) == 0 {
			return emptyConfig(baseDir), hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "No configuration files",
				Detail:   fmt.Sprintf("The directory %s holds no .hcl files.", path),
			}}
		}
	} else {
		names = []string{path}
	}
	files := make(map[string][]byte, len(names))
	var diags hcl.Diagnostics
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read configuration file",
				Detail:   fmt.Sprintf("Reading %s: %s.", n, err),
			})
			continue
		}
		files[n] = b
	}
	cfg, more := load(files, baseDir, nil, nil)
	return cfg, append(diags, more...)
}

func emptyConfig(baseDir string) *Config {
	c := &Config{BaseDir: baseDir, Files: map[string]*hcl.File{}}
	c.Gateway = defaultGateway()
	c.Store = defaultStore()
	c.Policy = defaultPolicy()
	return c
}

func defaultGateway() Gateway {
	return Gateway{
		Listen:          DefaultListen,
		AdminListen:     DefaultAdminListen,
		DataDir:         DefaultDataDir,
		ShutdownTimeout: DefaultShutdownTimeout,
		LogLevel:        DefaultLogLevel,
		LeaseTTL:        DefaultLeaseTTL,
		MaxBacklog:      DefaultMaxBacklog,
		Partitions:      DefaultPartitions,
	}
}

func defaultStore() Store {
	return Store{
		Embedded:    true,
		ClientURL:   DefaultClientURL,
		PeerURL:     DefaultPeerURL,
		Prefix:      DefaultPrefix,
		QuotaBytes:  DefaultQuotaBytes,
		DialTimeout: DefaultDialTimeout,
	}
}

// LoadFiles is Load over in-memory files (name -> contents), with file()
// and relative paths resolved against baseDir. The files are merged in
// name order. Used by tests and fuzzing.
func LoadFiles(files map[string][]byte, baseDir string) (*Config, hcl.Diagnostics) {
	return load(files, baseDir, nil, nil)
}

// nodeBlocks are the blocks that hold a node's own settings; the rest of
// a configuration is shared by every node (see LoadVersion).
var nodeBlocks = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "gateway"}, {Type: "store"}}}

// load parses and decodes files. With node set, the files are a stored
// version: their gateway and store blocks are skipped (node's are used)
// and file() reads only stored.
func load(files map[string][]byte, baseDir string, node *Config, stored map[string]string) (*Config, hcl.Diagnostics) {
	cfg := emptyConfig(baseDir)
	cfg.reader = &fileReader{baseDir: baseDir, stored: stored}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)

	parser := hclparse.NewParser()
	ctx := cfg.EvalContext()
	l := &loader{cfg: cfg, baseDir: baseDir}
	var all fileHCL
	cfg.sources = make(map[string]string, len(files))
	for _, n := range names {
		cfg.sources[relativeName(baseDir, n)] = string(files[n])
		f, diags := parser.ParseHCL(files[n], n)
		l.diags = append(l.diags, diags...)
		if f == nil || f.Body == nil {
			continue
		}
		body := f.Body
		if node != nil {
			_, body, _ = body.PartialContent(nodeBlocks)
		}
		var fh fileHCL
		l.diags = append(l.diags, gohcl.DecodeBody(body, ctx, &fh)...)
		l.wrapBodies(&fh, f.Bytes)
		all.Gateways = append(all.Gateways, fh.Gateways...)
		all.Stores = append(all.Stores, fh.Stores...)
		all.Sources = append(all.Sources, fh.Sources...)
		all.Channels = append(all.Channels, fh.Channels...)
		all.Templates = append(all.Templates, fh.Templates...)
		all.Triggers = append(all.Triggers, fh.Triggers...)
		all.Plugins = append(all.Plugins, fh.Plugins...)
		all.Policies = append(all.Policies, fh.Policies...)
		all.Trackings = append(all.Trackings, fh.Trackings...)
	}
	cfg.Files = parser.Files()
	cfg.shared = sharedRanges(&all)

	if node != nil {
		cfg.Gateway, cfg.Store = node.Gateway, node.Store
	} else {
		l.gateway(all.Gateways)
		l.store(all.Stores)
	}
	l.sources(all.Sources)
	l.channels(all.Channels)
	l.templates(all.Templates)
	l.plugins(all.Plugins)
	l.policy(all.Policies, all.Channels) // after channels: it refers to their names and kinds
	l.tracking(all.Trackings)
	l.triggers(all.Triggers, all.Channels, all.Templates) // last: actions refer to channels and templates
	return cfg, l.diags
}

// relativeName is a configuration file's name relative to baseDir, with
// forward slashes: how a stored version names it.
func relativeName(baseDir, name string) string {
	if rel, err := filepath.Rel(baseDir, name); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(name)
}

// sharedRanges lists where the shared blocks are declared.
func sharedRanges(all *fileHCL) []hcl.Range {
	var out []hcl.Range
	for _, b := range all.Sources {
		out = append(out, b.DefRange)
	}
	for _, b := range all.Channels {
		out = append(out, b.DefRange)
	}
	for _, b := range all.Templates {
		out = append(out, b.DefRange)
	}
	for _, b := range all.Triggers {
		out = append(out, b.DefRange)
	}
	for _, b := range all.Plugins {
		out = append(out, b.DefRange)
	}
	for _, b := range all.Policies {
		out = append(out, b.DefRange)
	}
	for _, b := range all.Trackings {
		out = append(out, b.DefRange)
	}
	return out
}

// loader accumulates a Config and its diagnostics.
type loader struct {
	cfg     *Config
	baseDir string
	diags   hcl.Diagnostics
}

func (l *loader) errorf(subject hcl.Range, summary, format string, args ...any) {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...)}
	if subject != (hcl.Range{}) {
		d.Subject = subject.Ptr()
	}
	l.diags = append(l.diags, d)
}

// wrapBodies makes the bodies kept for later decoding carry their file's
// bytes, so that DecodePluginConfig can pass expressions on as source text.
func (l *loader) wrapBodies(fh *fileHCL, src []byte) {
	for _, s := range fh.Sources {
		if s.Body != nil {
			s.Body = &srcBody{Body: s.Body, src: src}
		}
	}
	wrap := func(cs []*configHCL) {
		for _, c := range cs {
			if c.Body != nil {
				c.Body = &srcBody{Body: c.Body, src: src}
			}
		}
	}
	for _, c := range fh.Channels {
		wrap(c.Configs)
	}
	for _, t := range fh.Triggers {
		wrap(t.Configs)
	}
}

// validName reports whether s matches ^[a-z][a-z0-9_-]{0,63}$: names end
// up in URLs, etcd keys and metric labels.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// names checks one block type's labels: valid and unique. It reports
// whether the name may be used (it is valid and not a duplicate).
type names struct {
	kind string
	seen map[string]hcl.Range
}

func newNames(kind string) *names { return &names{kind: kind, seen: map[string]hcl.Range{}} }

func (n *names) add(l *loader, name string, labelRange, defRange hcl.Range) bool {
	if !validName(name) {
		l.errorf(labelRange, "Invalid "+n.kind+" name",
			"The %s name %q is not valid: names must match ^[a-z][a-z0-9_-]{0,63}$ (start with a lower-case letter; then up to 63 lower-case letters, digits, '_' or '-').", n.kind, name)
		return false
	}
	if first, dup := n.seen[name]; dup {
		l.errorf(defRange, "Duplicate "+n.kind+" "+fmt.Sprintf("%q", name),
			"A %s named %q is already defined at %s:%d. Each %s needs a unique name.", n.kind, name, first.Filename, first.Start.Line, n.kind)
		return false
	}
	n.seen[name] = defRange
	return true
}

// only checks that at most one block of a kind exists, and returns it.
func only[T any](l *loader, kind string, blocks []T, def func(T) hcl.Range) (T, bool) {
	var zero T
	if len(blocks) == 0 {
		return zero, false
	}
	first := def(blocks[0])
	for _, b := range blocks[1:] {
		l.errorf(def(b), "Duplicate "+kind+" block",
			"Only one %s block is allowed; the first is at %s:%d. Merge the two.", kind, first.Filename, first.Start.Line)
	}
	return blocks[0], true
}

func (l *loader) duration(s string, rng hcl.Range, attr string) (time.Duration, bool) {
	d, err := sdk.ParseDuration(s)
	if err != nil {
		l.errorf(rng, "Invalid duration", "The %s attribute: %s.", attr, err)
		return 0, false
	}
	if d <= 0 {
		l.errorf(rng, "Invalid duration", "The %s attribute must be longer than zero, got %q.", attr, s)
		return 0, false
	}
	return d, true
}

func (l *loader) gateway(blocks []*gatewayHCL) {
	g, ok := only(l, "gateway", blocks, func(g *gatewayHCL) hcl.Range { return g.DefRange })
	if !ok {
		return
	}
	out := &l.cfg.Gateway
	out.DeclRange = g.DefRange
	addr := func(dst *string, v *string, rng hcl.Range, attr string) {
		if v == nil {
			return
		}
		if _, _, err := net.SplitHostPort(*v); err != nil {
			l.errorf(rng, "Invalid listen address", "The %s attribute must be host:port, such as \"127.0.0.1:8080\" or \":8080\"; got %q.", attr, *v)
			return
		}
		*dst = *v
	}
	addr(&out.Listen, g.Listen, g.ListenRange, "listen")
	addr(&out.AdminListen, g.AdminListen, g.AdminListenRange, "admin_listen")
	if g.AdminToken != nil {
		if t := *g.AdminToken; len(t) < minAdminToken || strings.ContainsAny(t, " \t\r\n") {
			l.errorf(g.AdminTokenRange, "Invalid admin_token",
				"The admin_token must be at least %d characters without spaces, such as the output of `openssl rand -hex 32`, best given with env(); leave it out to have one generated in the data_dir.", minAdminToken)
		} else {
			out.AdminToken = t
		}
	}
	if g.DataDir != nil {
		if *g.DataDir == "" {
			l.errorf(g.DataDirRange, "Invalid data_dir", "The data_dir attribute must not be empty; leave it out for the default %q.", DefaultDataDir)
		} else {
			out.DataDir = *g.DataDir
		}
	}
	if g.PluginDir != nil && *g.PluginDir != "" {
		out.PluginDir = l.resolve(*g.PluginDir)
	}
	if g.ShutdownTimeout != nil {
		if d, ok := l.duration(*g.ShutdownTimeout, g.ShutdownTimeoutRange, "shutdown_timeout"); ok {
			out.ShutdownTimeout = d
		}
	}
	if g.NodeID != nil {
		if *g.NodeID == "" || strings.ContainsAny(*g.NodeID, "/ \t\n") || len(*g.NodeID) > 128 {
			l.errorf(g.NodeIDRange, "Invalid node_id", "The node_id attribute names this node in the cluster: up to 128 characters without \"/\" or spaces; got %q.", *g.NodeID)
		} else {
			out.NodeID = *g.NodeID
		}
	}
	if g.LeaseTTL != nil {
		if d, ok := l.duration(*g.LeaseTTL, g.LeaseTTLRange, "lease_ttl"); ok {
			if d < time.Second {
				l.errorf(g.LeaseTTLRange, "Invalid lease_ttl", "The lease_ttl attribute must be at least 1s; got %q.", *g.LeaseTTL)
			} else {
				out.LeaseTTL = d
			}
		}
	}
	if g.MaxBacklog != nil {
		if *g.MaxBacklog < 0 {
			l.errorf(g.MaxBacklogRange, "Invalid max_backlog", "The max_backlog attribute must be 0 (no limit) or more; got %d.", *g.MaxBacklog)
		} else {
			out.MaxBacklog = *g.MaxBacklog
		}
	}
	if g.Partitions != nil {
		if *g.Partitions < 1 || *g.Partitions > MaxPartitions {
			l.errorf(g.PartitionsRange, "Invalid partitions", "The partitions attribute must be between 1 and %d; got %d.", MaxPartitions, *g.Partitions)
		} else {
			out.Partitions = *g.Partitions
		}
	}
	if a, ok := only(l, "archive", g.Archives, func(a *archiveHCL) hcl.Range { return a.DefRange }); ok {
		out.Archive = l.archive(a, out.DataDir)
	}
	if g.LogLevel != nil {
		switch *g.LogLevel {
		case "trace", "debug", "info", "warn", "error":
			out.LogLevel = *g.LogLevel
		default:
			l.errorf(g.LogLevelRange, "Invalid log_level", "The log_level attribute must be one of trace, debug, info, warn or error; got %q.", *g.LogLevel)
		}
	}
}

// archive reads the gateway's archive block.
func (l *loader) archive(a *archiveHCL, dataDir string) *Archive {
	out := &Archive{Dir: filepath.Join(dataDir, "archive"), MaxFileBytes: DefaultArchiveFileBytes, MaxFiles: DefaultArchiveFiles, DeclRange: a.DefRange}
	if a.Dir != nil {
		if *a.Dir == "" {
			l.errorf(a.DirRange, "Invalid archive dir", "The dir attribute must not be empty; leave it out for <data_dir>/archive.")
		} else {
			out.Dir = *a.Dir
		}
	}
	if a.MaxFileSize != nil {
		n, err := humanize.ParseBytes(*a.MaxFileSize)
		if err != nil || n < 1<<10 || n > 1<<40 {
			l.errorf(a.MaxFileSizeRange, "Invalid max_file_size", "The max_file_size attribute is a size between 1KiB and 1TiB, such as \"64MiB\"; got %q.", *a.MaxFileSize)
		} else {
			out.MaxFileBytes = int64(n)
		}
	}
	if a.MaxFiles != nil {
		if *a.MaxFiles < 1 {
			l.errorf(a.MaxFilesRange, "Invalid max_files", "The max_files attribute must be 1 or more; got %d.", *a.MaxFiles)
		} else {
			out.MaxFiles = *a.MaxFiles
		}
	}
	if a.MaxAge != nil {
		if d, ok := l.duration(*a.MaxAge, a.MaxAgeRange, "max_age"); ok {
			out.MaxAge = d
		}
	}
	return out
}

// resolve makes a relative path relative to the configuration's directory.
func (l *loader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(l.baseDir, p)
}

func (l *loader) store(blocks []*storeHCL) {
	s, ok := only(l, "store", blocks, func(s *storeHCL) hcl.Range { return s.DefRange })
	if !ok {
		return
	}
	out := &l.cfg.Store
	out.DeclRange = s.DefRange
	for _, e := range s.Endpoints {
		if e == "" {
			l.errorf(s.EndpointsRange, "Invalid endpoints", "The endpoints list must not contain empty strings.")
		}
	}
	out.Endpoints = s.Endpoints
	switch {
	case s.Embedded != nil && *s.Embedded && len(s.Endpoints) > 0:
		l.errorf(s.EndpointsRange, "Conflicting store settings",
			"The store sets both embedded = true and endpoints. Use embedded = true for a single node with etcd inside the gateway, or endpoints for an external etcd cluster, not both.")
	case s.Embedded != nil && !*s.Embedded && len(s.Endpoints) == 0:
		l.errorf(s.EmbeddedRange, "Missing store endpoints",
			"The store sets embedded = false but gives no endpoints. Set endpoints = [\"http://etcd-1:2379\", ...] for an external etcd cluster, or embedded = true.")
	}
	out.Embedded = len(s.Endpoints) == 0
	if s.Embedded != nil {
		out.Embedded = *s.Embedded
	}
	embeddedOnly := func(dst *string, v *string, rng hcl.Range, attr string) {
		if v == nil {
			return
		}
		if !out.Embedded {
			l.errorf(rng, "Setting for the embedded store only", "The %s attribute applies only to the embedded store; remove it when using endpoints.", attr)
			return
		}
		if *v == "" {
			l.errorf(rng, "Invalid "+attr, "The %s attribute must not be empty; leave it out for the default.", attr)
			return
		}
		*dst = *v
	}
	embeddedOnly(&out.ClientURL, s.ClientURL, s.ClientURLRange, "client_url")
	embeddedOnly(&out.PeerURL, s.PeerURL, s.PeerURLRange, "peer_url")
	if s.Prefix != nil {
		switch {
		case *s.Prefix == "":
			l.errorf(s.PrefixRange, "Invalid prefix", "The prefix attribute must not be empty; leave it out for the default %q.", DefaultPrefix)
		case !strings.HasSuffix(*s.Prefix, "/"):
			l.errorf(s.PrefixRange, "Invalid prefix", "The prefix must end in \"/\", e.g. %q.", *s.Prefix+"/")
		default:
			out.Prefix = *s.Prefix
		}
	}
	if s.QuotaMB != nil && !out.Embedded {
		l.errorf(s.QuotaMBRange, "Setting for the embedded store only", "The quota_mb attribute applies only to the embedded store; set the quota on the etcd cluster itself.")
	} else if s.QuotaMB != nil {
		const maxMB = 1 << 20 // 1 TiB, far above what etcd handles well
		if *s.QuotaMB <= 0 || *s.QuotaMB > maxMB {
			l.errorf(s.QuotaMBRange, "Invalid quota_mb", "The quota_mb attribute must be between 1 and %d (MiB); got %d.", maxMB, *s.QuotaMB)
		} else {
			out.QuotaBytes = *s.QuotaMB << 20
		}
	}
	if s.DialTimeout != nil {
		if d, ok := l.duration(*s.DialTimeout, s.DialTimeoutRange, "dial_timeout"); ok {
			out.DialTimeout = d
		}
	}
}

func (l *loader) sources(blocks []*sourceHCL) {
	seen := newNames("source")
	for _, s := range blocks {
		if !seen.add(l, s.Name, s.NameRange, s.DefRange) {
			continue
		}
		out := &Source{
			Name: s.Name, Kind: s.Kind, MaxBodyBytes: DefaultMaxBodyBytes,
			ReplayWindow: DefaultReplayWindow, DedupeWindow: DefaultDedupeWindow,
			Body: s.Body, DeclRange: s.DefRange,
		}
		if out.Body == nil {
			out.Body = hcl.EmptyBody()
		}
		if s.Secret != nil {
			if *s.Secret == "" {
				l.errorf(s.SecretRange, "Empty secret", "The secret of source %q is empty. If it comes from env(), check that the variable has a value.", s.Name)
			} else {
				out.Secrets = append(out.Secrets, *s.Secret)
			}
		}
		for i, sec := range s.Secrets {
			if sec == "" {
				l.errorf(s.SecretsRange, "Empty secret", "Secret %d of source %q is empty. If it comes from env(), check that the variable has a value.", i, s.Name)
				continue
			}
			out.Secrets = append(out.Secrets, sec)
		}
		if s.MaxBody != nil {
			const maxBytes = 1 << 30
			n, err := humanize.ParseBytes(*s.MaxBody)
			switch {
			case err != nil:
				l.errorf(s.MaxBodyRange, "Invalid max_body", "The max_body attribute is a size such as \"512KiB\" or \"2MiB\"; got %q.", *s.MaxBody)
			case n == 0 || n > maxBytes:
				l.errorf(s.MaxBodyRange, "Invalid max_body", "The max_body attribute must be between 1 byte and 1GiB; got %q.", *s.MaxBody)
			default:
				out.MaxBodyBytes = int64(n)
			}
		}
		if s.ReplayWindow != nil {
			if d, ok := l.duration(*s.ReplayWindow, s.ReplayWindowRange, "replay_window"); ok {
				out.ReplayWindow = d
			}
		}
		if s.DedupeWindow != nil {
			if d, ok := l.duration(*s.DedupeWindow, s.DedupeWindowRange, "dedupe_window"); ok {
				out.DedupeWindow = d
			}
		}
		out.EventTypes = l.checkDeclaredTypes(s.EventTypes, s.EventTypesRange)
		l.cfg.Sources = append(l.cfg.Sources, out)
	}
}

// pluginConfig returns the single optional config block's body and range.
func (l *loader) pluginConfig(kind, name string, cs []*configHCL, def hcl.Range) (hcl.Body, hcl.Range) {
	if len(cs) == 0 {
		return emptyBodyAt(def), def
	}
	for _, c := range cs[1:] {
		l.errorf(c.DefRange, "Duplicate config block",
			"The %s %q has more than one config block; the first is at %s:%d. Merge them.", kind, name, cs[0].DefRange.Filename, cs[0].DefRange.Start.Line)
	}
	body := cs[0].Body
	if body == nil {
		body = emptyBodyAt(def)
	}
	return body, cs[0].DefRange
}

func (l *loader) channels(blocks []*channelHCL) {
	seen := newNames("channel")
	for _, c := range blocks {
		if !seen.add(l, c.Name, c.NameRange, c.DefRange) {
			continue
		}
		body, rng := l.pluginConfig("channel", c.Name, c.Configs, c.DefRange)
		out := &Channel{
			Name: c.Name, Plugin: c.Plugin, PluginRange: c.PluginRange,
			Config: body, ConfigRange: rng, Kind: DefaultChannelKind(c.Plugin), DeclRange: c.DefRange,
		}
		if c.Kind != nil {
			if !validName(*c.Kind) {
				l.errorf(c.KindRange, "Invalid channel kind",
					"The kind of channel %q says what it reaches, such as \"email\", \"sms\" or \"push\": a lower-case name matching ^[a-z][a-z0-9_-]{0,63}$; got %q.", c.Name, *c.Kind)
			} else {
				out.Kind, out.KindRange = *c.Kind, c.KindRange
			}
		}
		out.Delivery = l.channelDelivery(c)
		l.cfg.Channels = append(l.cfg.Channels, out)
	}
}

func (l *loader) templates(blocks []*templateHCL) {
	seen := newNames("template")
	for _, t := range blocks {
		if !seen.add(l, t.Name, t.NameRange, t.DefRange) {
			continue
		}
		if t.Text == "" && t.HTML == "" {
			l.errorf(t.DefRange, "Empty template", "The template %q needs a text or an html body (or both).", t.Name)
		}
		l.cfg.Templates = append(l.cfg.Templates, &Template{
			Name: t.Name, Subject: t.Subject, Text: t.Text, HTML: t.HTML, DeclRange: t.DefRange,
		})
	}
}

func (l *loader) plugins(blocks []*pluginHCL) {
	seen := newNames("plugin")
	for _, p := range blocks {
		if !seen.add(l, p.Name, p.NameRange, p.DefRange) {
			continue
		}
		out := &Plugin{Name: p.Name, DeclRange: p.DefRange}
		switch {
		case p.Path == nil:
			// gohcl treats a pointer field as optional, so say it here.
			l.errorf(p.DefRange, "Missing plugin path", "The plugin %q needs a path to its binary, e.g. path = \"bin/my-plugin\".", p.Name)
		case *p.Path == "":
			l.errorf(p.PathRange, "Invalid plugin path", "The path of plugin %q must not be empty.", p.Name)
		default:
			out.Path = l.resolve(*p.Path)
		}
		if p.SHA256 != "" {
			if !isHex64(p.SHA256) {
				l.errorf(p.SHA256Range, "Invalid sha256",
					"The sha256 of plugin %q must be 64 hexadecimal characters (the output of `sha256sum`); got %d characters.", p.Name, len(p.SHA256))
			} else {
				out.SHA256 = strings.ToLower(p.SHA256)
			}
		}
		l.cfg.Plugins = append(l.cfg.Plugins, out)
	}
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// triggers checks actions against every declared channel and template,
// including ones already reported as invalid or duplicate, so that one
// mistake is reported once.
func (l *loader) triggers(blocks []*triggerHCL, declChannels []*channelHCL, declTemplates []*templateHCL) {
	channels := map[string]bool{}
	for _, c := range declChannels {
		channels[c.Name] = true
	}
	templates := map[string]bool{}
	for _, t := range declTemplates {
		templates[t.Name] = true
	}
	seen := newNames("trigger")
	for _, t := range blocks {
		if !seen.add(l, t.Name, t.NameRange, t.DefRange) {
			continue
		}
		body, rng := l.pluginConfig("trigger", t.Name, t.Configs, t.DefRange)
		out := &Trigger{
			Name: t.Name, Plugin: t.Plugin, PluginRange: t.PluginRange,
			Config: body, ConfigRange: rng, DeclRange: t.DefRange,
		}
		l.triggerPolicy(t, out)
		if len(t.Actions) == 0 {
			l.errorf(t.DefRange, "Missing action",
				"The trigger %q has no action block. Add at least one, e.g. action { channel = \"email\" }.", t.Name)
		}
		for _, a := range t.Actions {
			if a.Channel != "" && !channels[a.Channel] {
				l.errorf(a.ChannelRange, "Unknown channel",
					"No channel %q is defined. %s", a.Channel, known("channel", channels))
			}
			if a.Template != "" && !templates[a.Template] {
				l.errorf(a.TemplateRange, "Unknown template",
					"No template %q is defined. %s", a.Template, known("template", templates))
			}
			for i, st := range a.Steps {
				if !validName(st) {
					l.errorf(a.StepsRange, "Invalid step name",
						"Step %d of the action, %q, is not a step name: steps match ^[a-z][a-z0-9_-]{0,63}$.", i, st)
				}
			}
			out.Actions = append(out.Actions, Action{
				Channel: a.Channel, Template: a.Template, Variants: l.variants(a, templates), Steps: a.Steps,
				DeclRange: a.DefRange,
			})
		}
		l.cfg.Triggers = append(l.cfg.Triggers, out)
	}
}

// known lists the defined names of a kind, to help fix a typo.
func known(kind string, set map[string]bool) string {
	if len(set) == 0 {
		return fmt.Sprintf("Define it with a %s block.", kind)
	}
	var ns []string
	for n := range set {
		ns = append(ns, fmt.Sprintf("%q", n))
	}
	slices.Sort(ns)
	return fmt.Sprintf("Defined %ss: %s.", kind, strings.Join(ns, ", "))
}
