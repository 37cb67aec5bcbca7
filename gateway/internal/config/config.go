// Package config reads triggergate's HCL configuration: a single .hcl file
// or a directory of .hcl files merged into one configuration.
//
// Files are parsed with hclparse and decoded with gohcl so that every
// problem carries file:line:column and can be rendered with a snippet
// (see WriteDiagnostics). Plugin-specific `config { }` blocks are kept as
// raw bodies here and decoded later, once the plugin has described its
// schema, with DecodePluginConfig.
package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults applied when an attribute is not set.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultAdminListen     = "127.0.0.1:8081"
	DefaultDataDir         = "./data"
	DefaultShutdownTimeout = 15 * time.Second
	DefaultLogLevel        = "info"
	// minAdminToken is the shortest admin_token accepted.
	minAdminToken = 16

	DefaultClientURL   = "http://127.0.0.1:2379"
	DefaultPeerURL     = "http://127.0.0.1:2380"
	DefaultPrefix      = "/triggergate/"
	DefaultQuotaBytes  = int64(2) << 30
	DefaultDialTimeout = 5 * time.Second

	DefaultMaxBodyBytes = int64(1) << 20
	// DefaultArchiveFileBytes and DefaultArchiveFiles are the archive
	// block's max_file_size and max_files.
	DefaultArchiveFileBytes = int64(64) << 20
	DefaultArchiveFiles     = 168
	// DefaultLeaseTTL is the gateway's lease_ttl.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultMaxBacklog is the gateway's max_backlog.
	DefaultMaxBacklog = int64(10000)
	// DefaultPartitions is the gateway's partitions, and MaxPartitions its
	// largest value (partition numbers are three digits in etcd keys).
	DefaultPartitions = 64
	MaxPartitions     = 1000
	// DefaultReplayWindow is a source's replay_window.
	DefaultReplayWindow = 5 * time.Minute
	// DefaultDedupeWindow is a source's dedupe_window.
	DefaultDedupeWindow = 72 * time.Hour

	// DefaultTimezone is the policy's default_timezone.
	DefaultTimezone = "UTC"
	// DefaultMaxTimerLateness is the policy's max_timer_lateness.
	DefaultMaxTimerLateness = 24 * time.Hour
	// DefaultVariantWeight is a variant's weight, and MaxVariantWeight its
	// largest value (weights are summed when a variant is picked).
	DefaultVariantWeight = 1
	MaxVariantWeight     = 1_000_000
)

// The quiet_hours actions: what happens to a message due inside the window.
const (
	// QuietDefer sends it when the window ends; the default.
	QuietDefer = "defer"
	// QuietDrop does not send it.
	QuietDrop = "drop"
	// QuietFallback sends it now through the fallback channel.
	QuietFallback = "fallback"
)

// DefaultRequireOptIn is the policy's require_opt_in: SMS marketing needs
// recorded consent in most jurisdictions (TCPA, GDPR/ePrivacy). A function,
// not a variable, so that no caller can change the default for others.
func DefaultRequireOptIn() []string { return []string{"sms"} }

// DefaultChannelKind is a channel's kind when its block sets none, from
// its plugin: smtp reaches "email" and twilio "sms"; slack, webhook, log
// and every other plugin (external ones included) reach a kind named after
// the plugin. Consent, suppressions, frequency caps and quiet hours are
// kept per kind, so that two channels reaching the same people the same
// way (two SMTP relays) count as one; set kind on the channel block when
// the plugin's name does not say what it reaches.
func DefaultChannelKind(plugin string) string {
	switch plugin {
	case "smtp":
		return "email"
	case "twilio":
		return "sms"
	default:
		return plugin
	}
}

// Config is one whole configuration, merged from all its files.
type Config struct {
	// Gateway holds the process settings; defaults when no gateway block exists.
	Gateway Gateway
	// Store says where rule state lives; embedded etcd when no store block exists.
	Store Store
	// Sources are the webhook senders, in file order.
	Sources []*Source
	// Channels are the configured delivery channels, in file order.
	Channels []*Channel
	// Templates are the message templates, in file order.
	Templates []*Template
	// Triggers are the rules that decide when messages are due, in file order.
	Triggers []*Trigger
	// Plugins declare external plugin binaries, in file order.
	Plugins []*Plugin
	// Policy holds the rules every trigger's messages pass (DESIGN.md §6);
	// defaults when no policy block exists.
	Policy Policy
	// Tracking is the `tracking { }` block: click and open tracking and
	// one-click unsubscribe for email; nil when there is none (off).
	Tracking *Tracking

	// BaseDir is the directory that file() and relative plugin paths are
	// resolved against: the config file's directory, or the config
	// directory itself.
	BaseDir string
	// Files are the parsed files by name, for rendering diagnostics with snippets.
	Files map[string]*hcl.File

	// sources are the .hcl files as read, by name relative to BaseDir.
	sources map[string]string
	// reader serves file(); see EvalContext.
	reader *fileReader
	// shared lists where the blocks that belong to the shared
	// configuration (everything but gateway and store) are declared.
	shared []hcl.Range
}

// Gateway is the `gateway { }` block: how this process listens and runs.
type Gateway struct {
	// Listen is the webhook listener address (listen), default "127.0.0.1:8080".
	Listen string
	// AdminListen is the admin API listener address (admin_listen), default
	// "127.0.0.1:8081": loopback, since the admin API can erase customers.
	AdminListen string
	// AdminToken (admin_token) is the bearer token the admin API requires;
	// give it with env(). Empty means the gateway generates one at start
	// and keeps it in <data_dir>/admin-token (readable by the owner only).
	AdminToken string
	// DataDir (data_dir) holds local state such as embedded etcd's files.
	// Default "./data"; relative to the process's working directory, not the
	// config file, because operators think of it as runtime state.
	DataDir string
	// PluginDir (plugin_dir) is where built-in plugin binaries are looked
	// up. Empty means "<dir of the running executable>/plugins"; a relative
	// path has already been resolved against the config file's directory.
	PluginDir string
	// ShutdownTimeout (shutdown_timeout) bounds a graceful shutdown, default 15s.
	ShutdownTimeout time.Duration
	// LogLevel (log_level) is trace, debug, info, warn or error; default "info".
	LogLevel string
	// NodeID (node_id) names this node in the cluster; default the host
	// name and a random suffix, new at every start.
	NodeID string
	// LeaseTTL (lease_ttl) is how long a node that stops answering keeps
	// its partitions before others take them over; default 10s.
	LeaseTTL time.Duration
	// MaxBacklog (max_backlog) is the number of events waiting in one
	// partition above which deliveries to it get 429; default 10,000,
	// 0 for no limit.
	MaxBacklog int64
	// Partitions (partitions) is the partition count recorded when the
	// cluster's state is first created in etcd; default 64. It never
	// changes afterwards: a node whose value differs from the recorded
	// count uses the recorded one and logs a warning.
	Partitions int
	// Archive is the archive block: where accepted raw webhooks are kept;
	// nil when there is none (off).
	Archive *Archive
	// DeclRange is the gateway block's header, or empty when there is no block.
	DeclRange hcl.Range
}

// Archive is the gateway's `archive { }` block: every accepted webhook,
// headers and body, appended to rotating gzip files on this node's disk,
// for `triggergate replay`.
type Archive struct {
	// Dir (dir) holds the files; default <data_dir>/archive.
	Dir string
	// MaxFileBytes (max_file_size) starts a new file past this many
	// compressed bytes; default 64MiB. A new file also starts every hour.
	MaxFileBytes int64
	// MaxFiles (max_files) is how many files are kept, oldest deleted
	// first; default 168 (a week of hourly files).
	MaxFiles int
	// MaxAge (max_age) deletes files older than this; 0 (default) keeps
	// them up to MaxFiles.
	MaxAge    time.Duration
	DeclRange hcl.Range
}

// Store is the `store { }` block: the etcd that holds events and rule state.
type Store struct {
	// Embedded (embedded) runs etcd inside the gateway process: one node,
	// no cluster. True when no store block exists or no endpoints are given.
	Embedded bool
	// Endpoints (endpoints) are the client URLs of an external etcd cluster.
	Endpoints []string
	// ClientURL (client_url) is where embedded etcd serves clients,
	// default "http://127.0.0.1:2379".
	ClientURL string
	// PeerURL (peer_url) is embedded etcd's peer URL, default "http://127.0.0.1:2380".
	PeerURL string
	// Prefix (prefix) namespaces every key, so several gateways can share
	// one etcd cluster; default "/triggergate/".
	Prefix string
	// QuotaBytes is quota_mb (MiB) in bytes, etcd's backend quota; default 2 GiB.
	QuotaBytes int64
	// DialTimeout (dial_timeout) bounds connecting to etcd, default 5s.
	DialTimeout time.Duration
	// DeclRange is the store block's header, or empty when there is no block.
	DeclRange hcl.Range
}

// Source is a `source "name" { }` block: one webhook sender.
type Source struct {
	// Name is the block label; webhooks arrive at /v1/webhooks/{name}.
	Name string
	// Kind (kind, required) selects the adapter, e.g. "shopify".
	Kind string
	// Secrets are `secret` followed by `secrets`: during a rotation both the
	// new and the old secret verify signatures.
	Secrets []string
	// MaxBodyBytes (max_body, a size such as "2MiB") limits a delivery's
	// body; default 1 MiB. A gzip body may decompress to 10 times as much.
	MaxBodyBytes int64
	// ReplayWindow (replay_window) bounds how old or new a signed timestamp
	// may be, for kinds whose vendor signs one; default 5m.
	ReplayWindow time.Duration
	// DedupeWindow (dedupe_window) is how long delivery ids are remembered
	// to drop vendor retries; default 72h, longer than any vendor retries.
	DedupeWindow time.Duration
	// EventTypes (event_types) are the custom event types the source sends,
	// beyond the taxonomy: what a json or standard source's sender uses.
	// Trigger attributes of type sdk.EventTypes may name them.
	EventTypes []string
	// Body is the rest of the block (kind-specific settings), decoded by
	// package source. Expressions in it keep access to their source text.
	Body hcl.Body
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// Channel is a `channel "name" { }` block: a configured instance of a
// channel plugin.
type Channel struct {
	// Name is the block label, referred to by actions.
	Name string
	// Plugin (plugin, required) is a built-in plugin binary name or the
	// name of a `plugin` block.
	Plugin string
	// PluginRange is the plugin attribute's range, for "unknown plugin"
	// errors raised once plugins are known.
	PluginRange hcl.Range
	// Config is the body of the optional `config { }` block, decoded with
	// DecodePluginConfig against the plugin's schema. Never nil: an empty
	// body (anchored at the channel block) when the block is absent.
	Config hcl.Body
	// ConfigRange is the config block's header, or the channel block's
	// header when there is no config block.
	ConfigRange hcl.Range
	// Kind (kind) is what the channel reaches ("email", "sms", "slack",
	// "webhook", "push", ...): consent, suppressions, policy caps and quiet
	// hours are per kind. Default DefaultChannelKind(Plugin).
	Kind string
	// KindRange is the kind attribute's range, or empty when defaulted.
	KindRange hcl.Range
	// Delivery is how the host retries, paces and protects the channel's
	// sends: rate_limit, retry { } and circuit_breaker { }.
	Delivery ChannelDelivery
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// Tracking is the `tracking { }` block.
type Tracking struct {
	// BaseURL (base_url, required) is the public https URL the gateway's
	// listener is reached at by customers' mail clients; links become
	// <base_url>/t/c/..., the pixel <base_url>/t/o/..., unsubscribe
	// <base_url>/t/u/....
	BaseURL string
	// Secrets are the HMAC keys of the tokens: secret first (signs and
	// verifies), then previous_secrets (verify only, for rotation).
	Secrets []string
	// SenderName (sender_name) is shown on the unsubscribe page.
	SenderName string
	// LinkMaxAge (link_max_age) is how long click and open links work;
	// 0 (the default) means always. Unsubscribe links always work.
	LinkMaxAge time.Duration
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// ChannelDelivery are a channel's delivery settings, defaults filled in.
type ChannelDelivery struct {
	// RatePerSecond (rate_limit, "N/s", "N/m" or "N/h") is the most
	// messages per second the whole cluster sends through the channel;
	// 0 means no limit.
	RatePerSecond float64
	// MaxAttempts (retry.max_attempts, default 10) is how many times a
	// message is tried before it is dead-lettered.
	MaxAttempts int
	// MaxAge (retry.max_age, default 24h) is how long after its fire a
	// message is still tried; then it is dead-lettered.
	MaxAge time.Duration
	// MinDelay and MaxDelay (retry.min_delay, retry.max_delay; defaults
	// 1s and 15m) bound the exponential backoff between attempts.
	MinDelay, MaxDelay time.Duration
	// BreakerFailures (circuit_breaker.failures, default 5) failed sends
	// in a row open the channel's circuit breaker for BreakerCooldown
	// (circuit_breaker.cooldown, default 30s).
	BreakerFailures int
	BreakerCooldown time.Duration
}

// DefaultChannelDelivery are the settings of a channel that sets none.
var DefaultChannelDelivery = ChannelDelivery{
	MaxAttempts: 10, MaxAge: 24 * time.Hour, MinDelay: time.Second, MaxDelay: 15 * time.Minute,
	BreakerFailures: 5, BreakerCooldown: 30 * time.Second,
}

// Template is a `template "name" { }` block: a message rendered with Go
// templates. Subject is optional; at least one of Text and HTML is set.
type Template struct {
	// Name is the block label, referred to by actions.
	Name string
	// Subject (subject) is the subject line, for channels that have one.
	Subject string
	// Text (text) is the plain-text body.
	Text string
	// HTML (html) is the HTML body, rendered with html/template.
	HTML string
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// Trigger is a `trigger "name" { }` block: a configured instance of a
// trigger plugin and what to send when it fires.
type Trigger struct {
	// Name is the block label.
	Name string
	// Plugin (plugin, required) is a built-in plugin binary name or the
	// name of a `plugin` block.
	Plugin string
	// PluginRange is the plugin attribute's range.
	PluginRange hcl.Range
	// Config is the body of the optional `config { }` block; never nil.
	Config hcl.Body
	// ConfigRange is the config block's header, or the trigger block's
	// header when there is no config block.
	ConfigRange hcl.Range
	// Actions are the `action { }` blocks, at least one.
	Actions []Action
	// Transactional (transactional, default false) marks messages the
	// customer expects (order confirmation, password reset): they skip
	// consent, holdout, frequency caps and quiet hours; only suppressions
	// and dedupe apply.
	Transactional bool
	// Holdout (holdout) is the share of customers, in [0, 1), who never
	// get the trigger's messages, to measure its lift; default 0.
	Holdout float64
	// HoldoutRange is the holdout attribute's range, or empty when unset.
	HoldoutRange hcl.Range
	// FrequencyCap is the trigger's own `frequency_cap { }` block, counting
	// its messages per customer; nil for none. Its Channel is empty.
	FrequencyCap *FrequencyCap
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// Action is an `action { }` block in a trigger: where a fire is sent.
type Action struct {
	// Channel (channel, required) names a channel block.
	Channel string
	// Template (template, optional) names a template block. Empty when
	// the action has variants: the two exclude each other.
	Template string
	// Variants are the `variant "name" { }` blocks of an A/B test, none or
	// at least two; each customer gets one, picked by weight.
	Variants []Variant
	// Steps (steps, optional) limits the action to the fires of these
	// steps, so that each step of a journey can have its own template;
	// empty means every step.
	Steps []string
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// Variant is a `variant "name" { }` block in an action: one arm of an A/B
// test.
type Variant struct {
	// Name is the block label, unique in the action; it is recorded in
	// the customer's decision trace and in metrics.
	Name string
	// Template (template, required) names a template block.
	Template string
	// TemplateRange is the template attribute's range.
	TemplateRange hcl.Range
	// Weight (weight, default 1) is the variant's share relative to the
	// others' weights: 0 turns it off; at least one is above 0.
	Weight int
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// Policy is the `policy { }` block: what holds for every trigger's
// messages, in the order of DESIGN.md §6.
type Policy struct {
	// RequireOptIn (require_opt_in) lists channel kinds on which a
	// marketing message needs the customer's recorded consent; on other
	// kinds, no recorded choice counts as consent. Default ["sms"]; an
	// empty list is allowed.
	RequireOptIn []string
	// RequireOptInRange is the require_opt_in attribute's range, or empty.
	RequireOptInRange hcl.Range
	// DefaultTimezone (default_timezone) is the IANA name of the time zone
	// of customers without one, for quiet hours; default "UTC".
	DefaultTimezone string
	// DefaultLocation is DefaultTimezone loaded; never nil.
	DefaultLocation *time.Location
	// DefaultTimezoneRange is the default_timezone attribute's range, or empty.
	DefaultTimezoneRange hcl.Range
	// MaxTimerLateness (max_timer_lateness) bounds how late a timer that
	// came due while the gateway was down may fire on recovery; a later
	// one is skipped, so nobody gets last week's reminder. Default 24h.
	MaxTimerLateness time.Duration
	// MaxTimerLatenessRange is the max_timer_lateness attribute's range, or empty.
	MaxTimerLatenessRange hcl.Range
	// FrequencyCaps are the `frequency_cap "kind or channel" { }` blocks,
	// in file order, one per label: marketing messages per customer across
	// triggers.
	FrequencyCaps []FrequencyCap
	// QuietHours is the `quiet_hours { }` block; nil when there is none.
	QuietHours *QuietHours
	// DeclRange is the policy block's header, or empty when there is no block.
	DeclRange hcl.Range
}

// FrequencyCap is a `frequency_cap { }` block: at most Max messages to one
// customer in any Per.
type FrequencyCap struct {
	// Channel is the label of a policy cap: a channel kind ("email") or a
	// channel name, matched against both. Empty on a trigger's cap.
	Channel string
	// Max (max, required) is at least 1.
	Max int
	// Per (per, required) is the sliding window, above zero.
	Per time.Duration
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// QuietHours is the policy's `quiet_hours { }` block: a daily window, in
// each customer's local time, in which marketing messages are not sent.
type QuietHours struct {
	// Start (start, "HH:MM") is when the window opens, since local midnight.
	Start time.Duration
	// End (end, "HH:MM") is when it closes, since local midnight; before
	// Start when the window spans midnight ("21:00" to "08:00"). Never
	// equal to Start.
	End time.Duration
	// Action (action) is QuietDefer (default), QuietDrop or QuietFallback.
	Action string
	// Fallback (fallback) names the channel block used instead, set
	// exactly when Action is QuietFallback.
	Fallback string
	// FallbackRange is the fallback attribute's range, or empty.
	FallbackRange hcl.Range
	// Channels (channels) are the channel kinds the window applies to;
	// empty means every kind.
	Channels []string
	// DeclRange is the block header.
	DeclRange hcl.Range
}

// Plugin is a `plugin "name" { }` block: an external plugin binary.
type Plugin struct {
	// Name is the block label, used as a channel's or trigger's plugin.
	Name string
	// Path (path, required) is the binary, already resolved against the
	// config file's directory when relative.
	Path string
	// SHA256 (sha256, optional) pins the binary's checksum: 64 hex
	// characters, lower-cased here.
	SHA256 string
	// DeclRange is the block header.
	DeclRange hcl.Range
}
