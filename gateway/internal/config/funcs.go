package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// maxFileBytes bounds what file() reads: templates, not data sets.
const maxFileBytes = 1 << 20

// EvalContext returns the evaluation context for static attributes: the
// functions env() and file(), with file() reading what the configuration
// may read (its directory on disk, or a stored version's files). It has no
// variables, so `event` and `customer` are only usable in attributes a
// plugin declares as expressions.
func (c *Config) EvalContext() *hcl.EvalContext {
	if c.reader == nil {
		c.reader = &fileReader{baseDir: c.BaseDir}
	}
	return &hcl.EvalContext{
		Functions: map[string]function.Function{
			"env":  envFunc(),
			"file": fileFunc(c.reader),
		},
	}
}

// envFunc is env("NAME") or env("NAME", "default"). An unset variable
// without a default is an error rather than "", so a missing secret stops
// the configuration instead of accepting unsigned webhooks.
func envFunc() function.Function {
	return function.New(&function.Spec{
		Description: `Returns the environment variable NAME; env("NAME", "default") returns default when it is unset.`,
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one default")
			}
			name := args[0].AsString()
			if name == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the variable name must not be empty")
			}
			if v, ok := os.LookupEnv(name); ok {
				return cty.StringVal(v), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.NilVal, fmt.Errorf("environment variable %q is not set; set it, or give a default with env(%q, \"default\")", name, name)
		},
	})
}

// fileFunc is file("path"): a UTF-8 file's contents, relative to the
// configuration's directory.
func fileFunc(r *fileReader) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a UTF-8 text file, relative to the configuration's directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := r.read(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(s), nil
		},
	})
}

// fileReader is where file() reads: the disk, remembering what it read
// (the files a stored version must carry), or a stored version's files.
type fileReader struct {
	baseDir string
	stored  map[string]string // non-nil: read only these

	mu   sync.Mutex
	seen map[string]string // name as written (cleaned) → contents
}

func (r *fileReader) read(name string) (string, error) {
	if name == "" {
		return "", errors.New("the file name must not be empty")
	}
	key := filepath.ToSlash(filepath.Clean(name))
	if r.stored != nil {
		s, ok := r.stored[key]
		if !ok {
			return "", fmt.Errorf("file %q is not part of this configuration version (apply stores the files the configuration reads with file())", name)
		}
		return s, nil
	}
	s, err := readFile(r.baseDir, name)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]string{}
	}
	r.seen[key] = s
	return s, nil
}

func readFile(baseDir, name string) (string, error) {
	if name == "" {
		return "", errors.New("the file name must not be empty")
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	// Stat before opening: opening a FIFO or a device would block.
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("file %q does not exist (looked for %s; relative paths are relative to the configuration's directory)", name, p)
	}
	if err != nil {
		return "", fmt.Errorf("reading %q: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%q is not a regular file", name)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("opening %q: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading %q: %w", name, err)
	}
	if len(b) > maxFileBytes {
		return "", fmt.Errorf("file %q is larger than the 1 MiB that file() reads", name)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("file %q is not UTF-8 text", name)
	}
	return string(b), nil
}
