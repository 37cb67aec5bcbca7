package config

import (
	"fmt"
	"maps"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// A configuration has two parts. A node's own settings, the gateway and
// store blocks, come from the file the node is started with. Everything
// else (sources, channels, templates, triggers, plugins, policy, tracking)
// is shared by every node: `triggergate apply` stores it in etcd as a
// version, and each node loads it from there with LoadVersion.
//
// A version holds sources, not values: env() is resolved by each node when
// it loads the version, so secrets never reach etcd.

// VersionFiles returns what a stored version of the configuration holds: its
// .hcl files and every file it read with file(), each by its name relative
// to BaseDir. file() calls in plugin config blocks are evaluated when the
// configuration is prepared, so call VersionFiles after preparing it.
func (c *Config) VersionFiles() map[string]string {
	out := maps.Clone(c.sources)
	if out == nil {
		out = map[string]string{}
	}
	if c.reader != nil {
		c.reader.mu.Lock()
		defer c.reader.mu.Unlock()
		maps.Copy(out, c.reader.seen)
		maps.Copy(out, c.reader.stored)
	}
	return out
}

// SharedBlocks returns where the configuration declares shared blocks: a
// cluster node's own file must have none (they come from etcd).
func (c *Config) SharedBlocks() []hcl.Range { return c.shared }

// IsConfigFile reports whether a stored version's file name is one of the
// configuration's .hcl files (top level), rather than a file read with
// file().
func IsConfigFile(name string) bool {
	return strings.HasSuffix(name, ".hcl") && !strings.Contains(name, "/")
}

// LoadVersion loads a stored version's files as the shared configuration
// of node: node's gateway and store settings and directory (for plugin
// paths) apply, the version's own gateway and store blocks are ignored,
// and file() reads only the version's files.
func LoadVersion(files map[string]string, node *Config) (*Config, hcl.Diagnostics) {
	hclFiles := map[string][]byte{}
	for name, body := range files {
		if IsConfigFile(name) {
			hclFiles[name] = []byte(body)
		}
	}
	if len(hclFiles) == 0 {
		return emptyConfig(node.BaseDir), hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   fmt.Sprintf("The stored version holds no .hcl files (it holds %d other files).", len(files)),
		}}
	}
	stored := maps.Clone(files)
	if stored == nil {
		stored = map[string]string{}
	}
	return load(hclFiles, node.BaseDir, node, stored)
}
