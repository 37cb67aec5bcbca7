package admin

import (
	"net/http"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/stats"
)

// KPIs is the answer to GET /v1/kpis: the counters of the days from..to
// (UTC, inclusive; default today), summed over the cluster.
type KPIs struct {
	From string      `json:"from"`
	To   string      `json:"to"`
	Rows []stats.Row `json:"rows"`
}

func (s *Server) kpis(w http.ResponseWriter, r *http.Request) {
	today := s.now().UTC().Format(time.DateOnly)
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if from == "" {
		from = today
	}
	if to == "" {
		to = today
	}
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || t.Before(f) || t.Sub(f) > 366*24*time.Hour {
		s.fail(w, r, http.StatusBadRequest, "invalid_range", "from and to are dates as YYYY-MM-DD, from <= to, at most a year apart")
		return
	}
	rows, err := stats.Read(r.Context(), s.st, f, t)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if rows == nil {
		rows = []stats.Row{}
	}
	s.reply(w, r, http.StatusOK, KPIs{From: from, To: to, Rows: rows})
}
