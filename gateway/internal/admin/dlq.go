package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/dlq"
	"github.com/triggergate/triggergate/gateway/internal/store"
)

// DLQList is the answer to GET /v1/dlq.
type DLQList struct {
	Letters []dlq.Letter `json:"letters"`
	// Total is how many dead letters there are in all, beyond the filter
	// and limit.
	Total int64 `json:"total"`
}

func (s *Server) listDLQ(w http.ResponseWriter, r *http.Request) {
	f := dlq.Filter{Channel: r.URL.Query().Get("channel")}
	if f.Channel != "" && !validName(f.Channel) {
		s.fail(w, r, http.StatusBadRequest, "invalid_channel", "channel must be a channel block's name (letters, digits, '_' and '-')")
		return
	}
	if r.URL.Query().Get("limit") != "" {
		n, ok := s.limit(w, r, maxLimit)
		if !ok {
			return
		}
		f.Limit = n
	}
	letters, err := dlq.List(r.Context(), s.st, f)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	total, err := dlq.Count(r.Context(), s.st)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if letters == nil {
		letters = []dlq.Letter{}
	}
	s.reply(w, r, http.StatusOK, DLQList{Letters: letters, Total: total})
}

// DLQAction is the body of POST /v1/dlq/retry and /v1/dlq/drop: either
// ids, or all (optionally of one channel).
type DLQAction struct {
	IDs     []string `json:"ids,omitempty"`
	All     bool     `json:"all,omitempty"`
	Channel string   `json:"channel,omitempty"`
}

// DLQResults is the answer to a DLQ action: one result per id.
type DLQResults struct {
	Results []dlq.Result `json:"results"`
}

func (s *Server) actDLQ(act func(context.Context, *store.Store, []string, time.Time) []dlq.Result) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req DLQAction
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.fail(w, r, http.StatusBadRequest, "invalid_body", fmt.Sprintf("the body must be JSON {\"ids\": [...]} or {\"all\": true}: %v", err))
			return
		}
		switch {
		case req.All == (len(req.IDs) > 0):
			s.fail(w, r, http.StatusBadRequest, "invalid_body", "give either ids or all = true")
			return
		case len(req.IDs) > maxIDs:
			s.fail(w, r, http.StatusBadRequest, "invalid_body", fmt.Sprintf("at most %d ids at once", maxIDs))
			return
		case req.Channel != "" && !req.All:
			s.fail(w, r, http.StatusBadRequest, "invalid_body", "channel selects with all = true; with ids, leave it out")
			return
		}
		ids := req.IDs
		if req.All {
			letters, err := dlq.List(r.Context(), s.st, dlq.Filter{Channel: req.Channel})
			if err != nil {
				s.storeError(w, r, err)
				return
			}
			for _, l := range letters {
				ids = append(ids, l.ID)
			}
		}
		res := act(r.Context(), s.st, ids, s.now())
		if res == nil {
			res = []dlq.Result{}
		}
		s.reply(w, r, http.StatusOK, DLQResults{Results: res})
	}
}
