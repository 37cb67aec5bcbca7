package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/configstore"
)

// ConfigVersion is a stored configuration version as the API shows it:
// who applied it, when and why, and its files' names and sizes, never
// their contents (a file may hold a literal secret).
type ConfigVersion struct {
	ID      int64     `json:"id"`
	Digest  string    `json:"digest"`
	Author  string    `json:"author,omitempty"`
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time,omitzero"`
	// RollbackOf is the version whose files this one restored.
	RollbackOf int64 `json:"rollback_of,omitempty"`
	// Files is set for the current version only.
	Files []ConfigFile `json:"files,omitempty"`
}

// ConfigFile is one file of a version.
type ConfigFile struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

func versionOf(v *configstore.Version) ConfigVersion {
	out := ConfigVersion{ID: v.ID, Digest: v.Digest, Author: v.Author, Message: v.Message, Time: v.Time, RollbackOf: v.RollbackOf}
	for _, name := range v.FileNames() {
		out.Files = append(out.Files, ConfigFile{Name: name, Size: len(v.Files[name])})
	}
	return out
}

// ConfigStatus is the answer to GET /v1/config.
type ConfigStatus struct {
	// Current is the current version, null when none was ever applied.
	Current *ConfigVersion `json:"current"`
	// Nodes is what each node made of it: the version it serves, and the
	// last one it refused, with why.
	Nodes []configstore.NodeState `json:"nodes"`
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	var out ConfigStatus
	cur, err := s.configs.Current(r.Context())
	switch {
	case err == nil:
		v := versionOf(cur)
		out.Current = &v
	case !errors.Is(err, configstore.ErrNoVersion):
		s.failRead(w, r, err)
		return
	}
	if out.Nodes, err = s.configs.Nodes(r.Context()); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, out)
}

// ConfigVersions is the answer to GET /v1/config/versions.
type ConfigVersions struct {
	// Versions are the kept versions, newest first, without files.
	Versions []ConfigVersion `json:"versions"`
	// Total is how many versions are kept, beyond the limit.
	Total int `json:"total"`
}

func (s *Server) configVersions(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.limit(w, r, defaultLimit)
	if !ok {
		return
	}
	hist, err := s.configs.History(r.Context())
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := ConfigVersions{Versions: []ConfigVersion{}, Total: len(hist)}
	for i := range hist[:min(limit, len(hist))] {
		v := versionOf(&hist[i])
		v.Files = nil
		out.Versions = append(out.Versions, v)
	}
	s.reply(w, r, http.StatusOK, out)
}
