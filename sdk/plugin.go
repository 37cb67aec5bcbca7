package sdk

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ProtocolVersion is the version of the host–plugin wire protocol. The host
// refuses plugins built against another version, at handshake time.
const ProtocolVersion = 1

// Plugin kinds, as reported by Describe.
const (
	KindTrigger = "trigger"
	KindChannel = "channel"
)

// Describer is the base every plugin answers before its own kind's calls.
type Describer interface {
	// Describe reports the plugin's identity and config schema. The SDK
	// fills in Kind and ProtocolVersion.
	Describe(ctx context.Context) (*DescribeResponse, error)
	// ValidateConfig checks one configured instance's config. Problems are
	// returned as diagnostics with the path of the offending attribute; the
	// host maps the path to a file:line in the HCL.
	ValidateConfig(ctx context.Context, req *ValidateConfigRequest) (*ValidateConfigResponse, error)
}

// DescribeResponse identifies a plugin.
type DescribeResponse struct {
	Name            string
	Kind            string
	Version         string
	ProtocolVersion int
	Description     string
	// Schema describes the plugin's config block; build it with SchemaOf.
	Schema Schema
}

// ValidateConfigRequest carries one instance's decoded config.
type ValidateConfigRequest struct {
	Config RawConfig
}

// ValidateConfigResponse lists what is wrong with a config.
type ValidateConfigResponse struct {
	Diagnostics Diagnostics
}

// RawConfig is a config block as JSON, with attribute names as keys.
// Durations and expressions arrive as their source strings.
type RawConfig []byte

// Severity of a diagnostic.
type Severity int

const (
	// SeverityError makes the configuration invalid.
	SeverityError Severity = iota + 1
	// SeverityWarning is reported but does not stop the configuration.
	SeverityWarning
)

// Diagnostic is a problem found in a config, anchored at an attribute path.
type Diagnostic struct {
	Severity Severity
	Summary  string
	Detail   string
	// Path locates the attribute; empty means the whole config block.
	Path Path
}

// Diagnostics is a list of problems.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (d Diagnostics) HasErrors() bool {
	for _, x := range d {
		if x.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errorf builds an error diagnostic at path.
func Errorf(path Path, format string, args ...any) Diagnostic {
	return Diagnostic{Severity: SeverityError, Summary: fmt.Sprintf(format, args...), Path: path}
}

// PathStep is one step of a Path: an attribute or block name, or an index
// into a list of blocks.
type PathStep struct {
	Name  string
	Index int
}

// IsIndex reports whether the step is a list index.
func (s PathStep) IsIndex() bool { return s.Name == "" }

// Path locates an attribute within a config block, e.g. step[1].delay.
type Path []PathStep

// Attr starts a path at an attribute or block name.
func Attr(name string) Path { return Path{{Name: name}} }

// Attr extends the path with a name.
func (p Path) Attr(name string) Path {
	return append(p[:len(p):len(p)], PathStep{Name: name})
}

// Index extends the path with a list index.
func (p Path) Index(i int) Path {
	return append(p[:len(p):len(p)], PathStep{Index: i})
}

// String renders the path as HCL would write it: step[1].delay.
func (p Path) String() string {
	var b strings.Builder
	for i, s := range p {
		if s.IsIndex() {
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Name)
	}
	return b.String()
}

// Validator is implemented by config structs that check themselves after
// decoding; see CheckConfig.
type Validator interface {
	Validate() Diagnostics
}

// CheckConfig decodes raw into cfg and, if cfg is a Validator, validates
// it. It is the usual body of a plugin's ValidateConfig.
func CheckConfig(raw RawConfig, cfg any) *ValidateConfigResponse {
	if err := DecodeConfig(raw, cfg); err != nil {
		var diags Diagnostics
		if de, ok := err.(*DecodeError); ok {
			diags = append(diags, Errorf(de.Path, "%s", de.Err))
		} else {
			diags = append(diags, Errorf(nil, "%s", err))
		}
		return &ValidateConfigResponse{Diagnostics: diags}
	}
	if v, ok := cfg.(Validator); ok {
		return &ValidateConfigResponse{Diagnostics: v.Validate()}
	}
	return &ValidateConfigResponse{}
}
