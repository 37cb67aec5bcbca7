package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/triggergate/triggergate/gateway/internal/dlq"
	"github.com/triggergate/triggergate/gateway/internal/engine"
)

// DeadLetters is the answer to GET /v1/deadletters: the events the engine
// gave up on (a rule's plugin failed on them too often), oldest key
// first. They are events, not messages: messages that could not be
// delivered are in the DLQ (/v1/dlq).
type DeadLetters struct {
	DeadLetters []engine.DeadLetter `json:"dead_letters"`
	// Total is how many there are beyond the limit.
	Total int `json:"total"`
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.limit(w, r, defaultLimit)
	if !ok {
		return
	}
	dead, err := engine.ListDeadLetters(r.Context(), s.st)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	out := DeadLetters{DeadLetters: dead, Total: len(dead)}
	if len(dead) > limit {
		out.DeadLetters = dead[:limit]
	}
	if out.DeadLetters == nil {
		out.DeadLetters = []engine.DeadLetter{}
	}
	s.reply(w, r, http.StatusOK, out)
}

// Requeue is the body of POST /v1/deadletters/requeue. Force requeues an
// event that only one rule failed on, which the other rules then process
// again.
type Requeue struct {
	IDs   []string `json:"ids"`
	Force bool     `json:"force,omitempty"`
}

// RequeueResults is the answer to a requeue: one result per id, in order.
type RequeueResults struct {
	Results []dlq.Result `json:"results"`
}

func (s *Server) requeueDeadLetters(w http.ResponseWriter, r *http.Request) {
	var req Requeue
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, r, http.StatusBadRequest, "invalid_body", fmt.Sprintf("the body must be JSON {\"ids\": [...], \"force\": false}: %v", err))
		return
	}
	if err := checkIDs(req.IDs); err != nil {
		s.fail(w, r, http.StatusBadRequest, "invalid_body", err.Error())
		return
	}
	lg, err := s.partitioner(r.Context())
	if err != nil {
		s.failRead(w, r, err)
		return
	}
	if lg == nil {
		s.fail(w, r, http.StatusConflict, "no_partitions", "no gateway has joined the cluster yet, so there is no event log to requeue into")
		return
	}
	out := RequeueResults{Results: make([]dlq.Result, 0, len(req.IDs))}
	for _, id := range req.IDs {
		res := dlq.Result{ID: id}
		if err := engine.Requeue(r.Context(), s.st, lg, id, req.Force); err != nil {
			res.Error = err.Error()
			if errors.Is(err, engine.ErrPartlyProcessed) {
				res.Error += " (requeue with force to do it anyway)"
			}
		}
		out.Results = append(out.Results, res)
	}
	s.reply(w, r, http.StatusOK, out)
}

// checkIDs validates a list of record ids from a request body.
func checkIDs(ids []string) error {
	switch {
	case len(ids) == 0:
		return errors.New("give the ids to act on")
	case len(ids) > maxIDs:
		return fmt.Errorf("at most %d ids at once", maxIDs)
	}
	for _, id := range ids {
		if id == "" || len(id) > 512 {
			return fmt.Errorf("id %.64q: want 1 to 512 bytes", id)
		}
		for _, c := range id {
			if c < 0x20 || c == 0x7f {
				return fmt.Errorf("id %.64q holds a control character", id)
			}
		}
	}
	return nil
}
