package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Status of the current (or last) journey instance.
const (
	statusActive    = "active"    // waiting for its next step
	statusCompleted = "completed" // went past its last step
	statusConverted = "converted" // reached its goal
	statusExited    = "exited"    // ended by an exit event
)

// Bounds on state read back from the host, which is untrusted.
const (
	maxStateSize = 64 << 10 // bytes
	maxIDLen     = 128      // start event ids longer than this are kept as a hash
)

// state is what the journey keeps per rule and customer: the current or
// last instance, and enough history for the re-entry rules. Its size is
// bounded by the config (at most 100 step names in Fired, 16 carried
// values of at most 1 KB each).
type state struct {
	// Entries counts the customer's entries; it is the current (or last)
	// instance's number.
	Entries int `json:"entries"`
	// Status is the instance's status; empty when Entries is 0.
	Status string `json:"status,omitempty"`
	// EnteredAt is when the instance began, on the host's clock.
	EnteredAt time.Time `json:"entered_at,omitzero"`
	// StartID is the id of the event that began the instance (a hash when
	// long), so that a redelivery of it does not begin another.
	StartID string `json:"start_id,omitempty"`
	// StartOccurredAt is when that event happened: start events that
	// happened before it are out of order and ignored.
	StartOccurredAt time.Time `json:"start_occurred_at,omitzero"`
	// Step and StepIndex are the pending step, and DueAt when it is due;
	// Step is empty when no step is pending.
	Step      string    `json:"step,omitempty"`
	StepIndex int       `json:"step_index"`
	DueAt     time.Time `json:"due_at,omitzero"`
	// Seq numbers the timers set, so that a timer fires its step only if it
	// is the latest one.
	Seq int `json:"seq"`
	// Fired counts the fires of each step in this instance: a step that an
	// else loop brings round again gets a new fire key.
	Fired map[string]int `json:"fired,omitempty"`
	// Carried holds the start event properties named in carry.
	Carried map[string]any `json:"carried,omitempty"`
	// EndedAt is when the last instance ended.
	EndedAt time.Time `json:"ended_at,omitzero"`
}

// errCorruptState is returned for state that does not decode or is out of
// bounds.
var errCorruptState = errors.New("journey state is corrupt")

// decodeState reads the state the host kept. Nil or empty is a customer
// never seen.
func decodeState(b []byte) (*state, error) {
	st := &state{}
	if len(b) == 0 {
		return st, nil
	}
	if len(b) > maxStateSize {
		return &state{}, fmt.Errorf("%w: %d bytes, more than %d", errCorruptState, len(b), maxStateSize)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return &state{}, fmt.Errorf("%w: %w", errCorruptState, err)
	}
	if err := st.check(); err != nil {
		return &state{}, fmt.Errorf("%w: %w", errCorruptState, err)
	}
	return st, nil
}

// check rejects values this plugin never writes.
func (s *state) check() error {
	switch {
	case s.Entries < 0 || s.Seq < 0 || s.StepIndex < 0:
		return errors.New("negative counter")
	case s.Entries == 0 && s.Status != "":
		return errors.New("status without an entry")
	case len(s.Fired) > maxSteps:
		return fmt.Errorf("%d fired steps", len(s.Fired))
	case len(s.Carried) > maxCarry:
		return fmt.Errorf("%d carried values", len(s.Carried))
	case len(s.StartID) > maxIDLen:
		return errors.New("start id too long")
	case len(s.Step) > maxNameLen:
		return errors.New("step name too long")
	}
	switch s.Status {
	case "", statusActive, statusCompleted, statusConverted, statusExited:
	default:
		return fmt.Errorf("unknown status %q", s.Status)
	}
	for _, n := range s.Fired {
		if n < 0 {
			return errors.New("negative fire count")
		}
	}
	return nil
}

// encode writes the state; a customer who never entered keeps none.
func (s *state) encode() ([]byte, error) {
	if s.Entries == 0 {
		return nil, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding journey state: %w", err)
	}
	return b, nil
}

// active reports whether an instance is running.
func (s *state) active() bool { return s.Entries > 0 && s.Status == statusActive }

// startID is how an event id is kept: as is when short, else as a hash.
func startID(id string) string {
	if len(id) <= maxIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// carry picks the named properties of a start event, dropping values whose
// JSON is larger than maxCarrySize. It returns nil when none is kept.
func carry(names []string, props map[string]any) map[string]any {
	if len(names) == 0 || len(props) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, name := range names {
		v, ok := props[name]
		if !ok {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil || len(b) > maxCarrySize {
			continue
		}
		// Keep the JSON form, as it will read back from the stored state.
		var plain any
		if err := json.Unmarshal(b, &plain); err != nil {
			continue
		}
		out[name] = plain
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
