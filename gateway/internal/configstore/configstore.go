// Package configstore keeps the gateway's configuration in etcd: every
// applied version (its HCL sources and the files they read with file()),
// which one is current, a bounded history, and what each node made of the
// current one (serving it, or refusing it and why).
//
// Keys, under the store's prefix:
//
//	config/versions/<id>   a Version, id zero-padded so keys sort by id
//	config/current         the current version's id
//	config/nodes/<node>    a NodeState, bound to the node's lease
//
// A version holds sources, never resolved values: env("SECRET") is stored
// as written and resolved by each node when it loads the version.
package configstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/store"
)

// Limits on what a version may hold. etcd refuses requests over 1.5 MiB
// by default; a version stays well under it.
const (
	// MaxBytes bounds the total size of a version's files.
	MaxBytes = 1 << 20
	// DefaultKeep is how many versions the history keeps (newest kept);
	// the current version is never pruned.
	DefaultKeep = 50
)

// Errors a caller can act on.
var (
	// ErrNoVersion: nothing has been applied yet.
	ErrNoVersion = errors.New("no configuration has been applied")
	// ErrNotFound: the version was pruned from the history or never was.
	ErrNotFound = errors.New("no such configuration version")
	// ErrTooLarge: the files exceed MaxBytes.
	ErrTooLarge = fmt.Errorf("configuration larger than %d bytes", MaxBytes)
	// ErrConflict: another apply changed the current version meanwhile.
	ErrConflict = errors.New("the current configuration changed while applying; try again")
)

// Version is one applied configuration.
type Version struct {
	ID     int64  `json:"id"`
	Digest string `json:"digest"`
	// Author and Message say who applied it and why.
	Author  string    `json:"author,omitempty"`
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time"`
	// RollbackOf is the version whose files this one restored, if it was
	// made by a rollback.
	RollbackOf int64 `json:"rollback_of,omitempty"`
	// Files maps a name relative to the configuration's directory to its
	// contents: the .hcl files and the files they read with file().
	Files map[string]string `json:"files,omitempty"`
}

// Summary is a version without its files, for listings.
func (v Version) Summary() Version {
	v.Files = nil
	return v
}

// FileNames lists the version's files in order.
func (v Version) FileNames() []string { return slices.Sorted(maps.Keys(v.Files)) }

// Digest is the SHA-256 of a set of files (names and contents, in name
// order): two applies of the same files have the same digest.
func Digest(files map[string]string) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		// Length-prefixed, so no two different sets hash alike.
		fmt.Fprintf(h, "%d:%s%d:", len(name), name, len(files[name]))
		h.Write([]byte(files[name]))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Store reads and writes configuration versions.
type Store struct {
	st      *store.Store
	keep    int
	timeout time.Duration
	now     func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithKeep sets how many versions the history keeps (default DefaultKeep).
func WithKeep(n int) Option {
	return func(s *Store) {
		if n > 0 {
			s.keep = n
		}
	}
}

// WithClock injects the clock that stamps versions.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns the configuration store over st.
func New(st *store.Store, opts ...Option) *Store {
	s := &Store{st: st, keep: DefaultKeep, timeout: 10 * time.Second, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Store) currentKey() string         { return s.st.Key("config", "current") }
func (s *Store) versionsPrefix() string     { return s.st.Key("config", "versions") + "/" }
func (s *Store) versionKey(id int64) string { return fmt.Sprintf("%s%020d", s.versionsPrefix(), id) }
func (s *Store) nodesPrefix() string        { return s.st.Key("config", "nodes") + "/" }
func (s *Store) nodeKey(node string) string { return s.nodesPrefix() + node }
func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// ApplyRequest is a new version to store.
type ApplyRequest struct {
	Files   map[string]string
	Author  string
	Message string
	// RollbackOf marks the version as restoring another's files.
	RollbackOf int64
	// Force stores a new version even if the files equal the current
	// version's.
	Force bool
}

// Apply stores files as the new current version and prunes the history.
// If they equal the current version's files (same digest) and Force is
// not set, nothing is written and the current version comes back with
// changed false.
func (s *Store) Apply(ctx context.Context, req ApplyRequest) (v *Version, changed bool, err error) {
	size := 0
	for name, body := range req.Files {
		size += len(name) + len(body)
	}
	if size > MaxBytes {
		return nil, false, fmt.Errorf("%w (%d bytes): keep large data out of file()", ErrTooLarge, size)
	}
	if len(req.Files) == 0 {
		return nil, false, errors.New("a configuration needs at least one file")
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.st.Client().Get(ctx, s.currentKey())
	if err != nil {
		return nil, false, fmt.Errorf("reading the current configuration: %w", err)
	}
	var curID, curRev int64
	if len(resp.Kvs) == 1 {
		curRev = resp.Kvs[0].ModRevision
		if curID, err = strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64); err != nil {
			return nil, false, fmt.Errorf("config/current holds %q, not a version id", resp.Kvs[0].Value)
		}
	}
	digest := Digest(req.Files)
	if curID > 0 && !req.Force {
		cur, err := s.Get(ctx, curID)
		if err == nil && cur.Digest == digest {
			return cur, false, nil
		}
	}
	v = &Version{ID: curID + 1, Digest: digest, Author: req.Author, Message: req.Message,
		Time: s.now().UTC(), RollbackOf: req.RollbackOf, Files: req.Files}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false, fmt.Errorf("encoding the version: %w", err)
	}
	txn, err := s.st.Client().Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(s.currentKey()), "=", curRev)).
		Then(clientv3.OpPut(s.versionKey(v.ID), string(b)), clientv3.OpPut(s.currentKey(), strconv.FormatInt(v.ID, 10))).
		Commit()
	if err != nil {
		return nil, false, fmt.Errorf("storing version %d: %w", v.ID, err)
	}
	if !txn.Succeeded {
		return nil, false, ErrConflict
	}
	if err := s.prune(ctx, v.ID); err != nil {
		return v, true, fmt.Errorf("version %d stored; pruning the history: %w", v.ID, err)
	}
	return v, true, nil
}

// prune deletes the versions older than the newest keep.
func (s *Store) prune(ctx context.Context, current int64) error {
	oldest := current - int64(s.keep) + 1
	if oldest <= 1 {
		return nil
	}
	_, err := s.st.Client().Delete(ctx, s.versionsPrefix(), clientv3.WithRange(s.versionKey(oldest)))
	return err
}

// CurrentID returns the current version's id and the revision it was
// read at (ErrNoVersion if none).
func (s *Store) CurrentID(ctx context.Context) (id, rev int64, err error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.st.Client().Get(ctx, s.currentKey())
	if err != nil {
		return 0, 0, fmt.Errorf("reading the current configuration: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return 0, resp.Header.Revision, ErrNoVersion
	}
	id, err = strconv.ParseInt(string(resp.Kvs[0].Value), 10, 64)
	if err != nil {
		return 0, resp.Header.Revision, fmt.Errorf("config/current holds %q, not a version id", resp.Kvs[0].Value)
	}
	return id, resp.Header.Revision, nil
}

// Current returns the current version with its files.
func (s *Store) Current(ctx context.Context) (*Version, error) {
	id, _, err := s.CurrentID(ctx)
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Get returns a version with its files.
func (s *Store) Get(ctx context.Context, id int64) (*Version, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.st.Client().Get(ctx, s.versionKey(id))
	if err != nil {
		return nil, fmt.Errorf("reading version %d: %w", id, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("version %d: %w", id, ErrNotFound)
	}
	return decodeVersion(resp.Kvs[0].Value)
}

// decodeVersion decodes a stored version: it may have been written by
// other means than Apply, so it is checked rather than trusted.
func decodeVersion(b []byte) (*Version, error) {
	var v Version
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decoding a configuration version: %w", err)
	}
	if v.ID <= 0 {
		return nil, fmt.Errorf("configuration version has no valid id (%d)", v.ID)
	}
	if got := Digest(v.Files); v.Digest != got {
		return nil, fmt.Errorf("configuration version %d: its files do not match its digest (stored %s, computed %s)", v.ID, v.Digest, got)
	}
	return &v, nil
}

// History returns the versions kept, newest first, without their files.
func (s *Store) History(ctx context.Context) ([]Version, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.st.Client().Get(ctx, s.versionsPrefix(), clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	if err != nil {
		return nil, fmt.Errorf("reading the configuration history: %w", err)
	}
	out := make([]Version, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		v, err := decodeVersion(kv.Value)
		if err != nil {
			// A broken entry is listed, not hidden: its id comes from the key.
			id, _ := strconv.ParseInt(strings.TrimPrefix(string(kv.Key), s.versionsPrefix()), 10, 64)
			out = append(out, Version{ID: id, Message: "unreadable: " + err.Error()})
			continue
		}
		out = append(out, v.Summary())
	}
	return out, nil
}

// Rollback makes a new current version with the files of version id.
func (s *Store) Rollback(ctx context.Context, id int64, author, message string) (*Version, error) {
	old, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if message == "" {
		message = fmt.Sprintf("rollback to version %d", id)
	}
	v, _, err := s.Apply(ctx, ApplyRequest{Files: old.Files, Author: author, Message: message, RollbackOf: id, Force: true})
	return v, err
}

// NodeState is what one node made of the configuration.
type NodeState struct {
	Node string `json:"node"`
	// Version and Digest are what the node serves (0: nothing yet).
	Version int64     `json:"version"`
	Digest  string    `json:"digest,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	// Refused is the last version the node refused, if it is newer than
	// the one it serves.
	Refused *Refusal `json:"refused,omitempty"`
}

// Refusal is a version a node would not switch to.
type Refusal struct {
	Version int64     `json:"version"`
	Error   string    `json:"error"`
	At      time.Time `json:"at"`
}

// SetNodeState records a node's state, bound to lease (the node's
// membership lease, so the state goes when the node does; 0 for none).
func (s *Store) SetNodeState(ctx context.Context, ns NodeState, lease clientv3.LeaseID) error {
	b, err := json.Marshal(ns)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var opts []clientv3.OpOption
	if lease != 0 {
		opts = append(opts, clientv3.WithLease(lease))
	}
	if _, err := s.st.Client().Put(ctx, s.nodeKey(ns.Node), string(b), opts...); err != nil {
		return fmt.Errorf("recording node %s's configuration state: %w", ns.Node, err)
	}
	return nil
}

// ForgetNodes deletes the states of nodes not in live (the cluster's
// members): a node that left, or crashed and restarted under a new id,
// leaves a state behind otherwise.
func (s *Store) ForgetNodes(ctx context.Context, live []string) error {
	states, err := s.Nodes(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	for _, ns := range states {
		if slices.Contains(live, ns.Node) {
			continue
		}
		if _, err := s.st.Client().Delete(ctx, s.nodeKey(ns.Node)); err != nil {
			return fmt.Errorf("forgetting node %s's configuration state: %w", ns.Node, err)
		}
	}
	return nil
}

// Nodes returns every node's state, by node name.
func (s *Store) Nodes(ctx context.Context) ([]NodeState, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.st.Client().Get(ctx, s.nodesPrefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("reading the nodes' configuration states: %w", err)
	}
	out := make([]NodeState, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var ns NodeState
		if err := json.Unmarshal(kv.Value, &ns); err != nil {
			ns = NodeState{Node: strings.TrimPrefix(string(kv.Key), s.nodesPrefix()),
				Refused: &Refusal{Error: "unreadable state: " + err.Error()}}
		}
		out = append(out, ns)
	}
	slices.SortFunc(out, func(a, b NodeState) int { return cmp.Compare(a.Node, b.Node) })
	return out, nil
}

// Watch calls fn with the current version's id now and whenever it
// changes, until ctx ends. fn runs on the watching goroutine: a slow fn
// delays the next call, and versions applied meanwhile collapse into the
// newest. A missing current version is reported as id 0.
func (s *Store) Watch(ctx context.Context, fn func(ctx context.Context, id int64)) error {
	for ctx.Err() == nil {
		id, rev, err := s.CurrentID(ctx)
		if err != nil && !errors.Is(err, ErrNoVersion) {
			if !sleep(ctx, time.Second) {
				break
			}
			continue
		}
		fn(ctx, id)
		wch := s.st.Client().Watch(clientv3.WithRequireLeader(ctx), s.currentKey(), clientv3.WithRev(rev+1))
		for resp := range wch {
			if resp.Err() != nil {
				break // compacted or lost the leader: re-read, re-watch
			}
			last := int64(-1)
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					last = 0
					continue
				}
				if n, err := strconv.ParseInt(string(ev.Kv.Value), 10, 64); err == nil {
					last = n
				}
			}
			if last >= 0 && last != id {
				id = last
				fn(ctx, id)
			}
		}
	}
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
