package stats_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/stats"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

func TestReadSumsPartitionsAndDays(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	d1 := time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)
	d2 := d1.Add(2 * time.Hour) // the next UTC day
	promo := stats.Key{Trigger: "promo", Step: "default", Channel: "email"}
	odd := stats.Key{Trigger: "t|x", Step: "a/b", Variant: "v%1", Channel: "email"}
	put := func(day time.Time, partition int, d stats.Day) {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Client().Put(t.Context(), stats.DayKey(st, day, partition), string(b)); err != nil {
			t.Fatal(err)
		}
	}
	day := func(f func(stats.Day)) stats.Day { d := stats.Day{}; f(d); return d }
	put(d1, 0, day(func(d stats.Day) {
		d.Count(promo, func(c *stats.Counts) { c.Queued, c.Sent = 3, 2 })
		d.Count(odd, func(c *stats.Counts) { c.Clicked = 1 })
	}))
	put(d1, 7, day(func(d stats.Day) {
		d.Count(promo, func(c *stats.Counts) { c.Queued = 1; c.Suppressed = map[string]int64{"consent": 2} })
	}))
	put(d2, 7, day(func(d stats.Day) {
		d.Count(promo, func(c *stats.Counts) {
			c.Sent, c.Failed = 1, 1
			c.Suppressed = map[string]int64{"consent": 1, "holdout": 4}
		})
	}))
	put(d2.Add(24*time.Hour), 1, day(func(d stats.Day) { d.Count(promo, func(c *stats.Counts) { c.Queued = 100 }) }))

	rows, err := stats.Read(t.Context(), st, d1, d2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	p := rows[0]
	if p.Key != promo || p.Queued != 4 || p.Sent != 3 || p.Failed != 1 || p.Suppressed["consent"] != 3 || p.Suppressed["holdout"] != 4 {
		t.Errorf("promo row = %+v", p)
	}
	if o := rows[1]; o.Key != odd || o.Clicked != 1 {
		t.Errorf("row with separators in its names = %+v", o)
	}
	one, err := stats.Read(t.Context(), st, d2, d2)
	if err != nil || len(one) != 1 || one[0].Queued != 0 || one[0].Sent != 1 {
		t.Errorf("one day = %+v, %v", one, err)
	}
	if _, err := stats.Read(t.Context(), st, d2, d1); err == nil {
		t.Error("a backwards range was accepted")
	}
}
