package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/triggergate/triggergate/gateway/internal/configstore"
)

// Redacted replaces a secret in an answer.
const Redacted = "[redacted]"

// minSecret is the shortest value treated as a secret: shorter ones
// would redact ordinary words.
const minSecret = 6

// redactor replaces known secrets in the API's answers. Its secrets are
// the literal values of secret attributes in every kept configuration
// version (env() values are never stored, so they come from extra), the
// admin token, and extra's. Versions are immutable, so each is scanned
// once; the set is rebuilt when the current version changes.
type redactor struct {
	configs *configstore.Store
	token   string
	extra   func() []string
	logger  hclog.Logger

	mu        sync.Mutex
	current   int64              // the current version when last scanned; -1 before
	byVersion map[int64][]string // secret literals per version id
	literals  []string           // union of byVersion
}

func newRedactor(configs *configstore.Store, token string, extra func() []string, logger hclog.Logger) *redactor {
	return &redactor{configs: configs, token: token, extra: extra, logger: logger, current: -1, byVersion: map[int64][]string{}}
}

// apply returns b with every known secret replaced, in raw and in JSON
// escaped form.
func (r *redactor) apply(ctx context.Context, b []byte) []byte {
	secrets := append(r.refresh(ctx), r.token)
	if r.extra != nil {
		secrets = append(secrets, r.extra()...)
	}
	return redact(b, secrets)
}

// redact replaces each secret (of at least minSecret bytes) in b, longest
// first so that a secret containing another goes whole.
func redact(b []byte, secrets []string) []byte {
	var olds []string
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		olds = append(olds, s)
		if q, err := json.Marshal(s); err == nil {
			if esc := string(q[1 : len(q)-1]); esc != s {
				olds = append(olds, esc)
			}
		}
	}
	slices.SortFunc(olds, func(a, b string) int { return len(b) - len(a) })
	olds = slices.Compact(olds)
	var pairs []string
	for _, s := range olds {
		if bytes.Contains(b, []byte(s)) {
			pairs = append(pairs, s, Redacted)
		}
	}
	if len(pairs) == 0 {
		return b
	}
	return []byte(strings.NewReplacer(pairs...).Replace(string(b)))
}

// refresh returns the secret literals of the kept versions, rescanning
// when the current version has changed. When etcd does not answer, the
// last known set stands.
func (r *redactor) refresh(ctx context.Context) []string {
	id, _, err := r.configs.CurrentID(ctx)
	if err != nil && !errors.Is(err, configstore.ErrNoVersion) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.literals
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == r.current {
		return r.literals
	}
	hist, err := r.configs.History(ctx)
	if err != nil {
		return r.literals
	}
	complete := true
	for _, h := range hist {
		if _, ok := r.byVersion[h.ID]; ok {
			continue
		}
		v, err := r.configs.Get(ctx, h.ID)
		if err != nil {
			// A version that does not decode has no files to scan; one
			// that could not be read is tried again next time.
			if errors.Is(err, configstore.ErrNotFound) || !unavailable(err) {
				r.byVersion[h.ID] = nil
			} else {
				complete = false
			}
			continue
		}
		r.byVersion[h.ID] = secretLiterals(v.Files)
	}
	// Pruned versions' secrets stay: an old dead letter may quote them.
	var all []string
	for _, ls := range r.byVersion {
		all = append(all, ls...)
	}
	slices.Sort(all)
	r.literals = slices.Compact(all)
	if complete {
		r.current = id
	}
	return r.literals
}

// secretLiterals returns the literal values of the secret attributes
// (secret, token, password, api_key, webhook_url, ...) in the .hcl files
// of a configuration. Files that do not parse give what parses of them.
func secretLiterals(files map[string]string) []string {
	var out []string
	for name, src := range files {
		if !strings.HasSuffix(name, ".hcl") {
			continue
		}
		f, _ := hclsyntax.ParseConfig([]byte(src), name, hcl.InitialPos)
		if f == nil {
			continue
		}
		if body, ok := f.Body.(*hclsyntax.Body); ok {
			out = bodySecrets(body, out, 0)
		}
	}
	return out
}

// maxDepth bounds the walk over nested blocks and values.
const maxDepth = 32

func bodySecrets(b *hclsyntax.Body, out []string, depth int) []string {
	if b == nil || depth > maxDepth {
		return out
	}
	for name, attr := range b.Attributes {
		if !secretName(name) {
			continue
		}
		// Only what evaluates without variables or functions is a
		// literal: env("X") is resolved on each node and never stored.
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() {
			continue
		}
		out = stringLeaves(v, out, 0)
	}
	for _, blk := range b.Blocks {
		out = bodySecrets(blk.Body, out, depth+1)
	}
	return out
}

func stringLeaves(v cty.Value, out []string, depth int) []string {
	if v.IsNull() || !v.IsKnown() || depth > maxDepth {
		return out
	}
	switch {
	case v.Type() == cty.String:
		if s := v.AsString(); len(s) >= minSecret {
			out = append(out, s)
		}
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = stringLeaves(e, out, depth+1)
		}
	}
	return out
}

// secretName reports whether an attribute's name says it holds a secret.
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"secret", "token", "password", "passwd", "credential", "apikey", "webhook_url", "dsn", "auth"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return strings.HasSuffix(n, "_key")
}
