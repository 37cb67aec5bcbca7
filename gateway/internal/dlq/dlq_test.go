package dlq_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/dlq"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/gateway/internal/store"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
	"github.com/triggergate/triggergate/sdk"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func put(t *testing.T, st *store.Store, id, channel string, at time.Time) {
	t.Helper()
	d := outbox.DeadLetter{
		Entry: outbox.Entry{Message: sdk.Message{ID: id, Trigger: "t", Step: "default"}, Partition: 7, Channel: channel,
			Attempts: 3, LastError: "503", NextAttemptAt: at},
		Reason: "gave up", At: at,
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Client().Put(t.Context(), st.Key("dlq", id), string(b)); err != nil {
		t.Fatal(err)
	}
}

func TestListRetryDrop(t *testing.T) {
	t.Parallel()
	st := storetest.Start(t)
	put(t, st, "m2", "email", t0.Add(time.Minute))
	put(t, st, "m1", "email", t0)
	put(t, st, "m3", "sms", t0.Add(2*time.Minute))
	if _, err := st.Client().Put(t.Context(), st.Key("dlq", "undecodable", "42"), "{garbage"); err != nil {
		t.Fatal(err)
	}

	all, err := dlq.List(t.Context(), st, dlq.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range all {
		ids = append(ids, l.ID)
	}
	// Oldest first; the raw letter has no time and comes first.
	if want := []string{"undecodable/42", "m1", "m2", "m3"}; !slices.Equal(ids, want) {
		t.Fatalf("List ids = %v, want %v", ids, want)
	}
	if all[0].Raw != "{garbage" || all[1].Reason != "gave up" || all[1].Attempts != 3 {
		t.Fatalf("letters = %+v", all[:2])
	}
	sms, _ := dlq.List(t.Context(), st, dlq.Filter{Channel: "sms"})
	if len(sms) != 1 || sms[0].ID != "m3" {
		t.Fatalf("sms letters = %+v", sms)
	}
	if n, _ := dlq.Count(t.Context(), st); n != 4 {
		t.Fatalf("Count = %d", n)
	}

	now := t0.Add(time.Hour)
	res := dlq.Retry(t.Context(), st, []string{"m1", "nope", "undecodable/42", "../x"}, now)
	if res[0].Error != "" || res[1].Error != dlq.ErrNotFound.Error() || res[2].Error == "" || res[3].Error != "invalid id" {
		t.Fatalf("Retry results = %+v", res)
	}
	resp, err := st.Client().Get(t.Context(), st.Key(outbox.KeyParts(7, "m1")...))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("m1 not back in its partition's outbox: %v", err)
	}
	e, err := outbox.Decode(resp.Kvs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if e.Attempts != 0 || !e.NextAttemptAt.Equal(now) || e.Message.ID != "m1" || e.Channel != "email" {
		t.Fatalf("requeued entry = %+v", e)
	}
	// Retried twice (two operators at once): the second finds nothing.
	if res := dlq.Retry(t.Context(), st, []string{"m1"}, now); res[0].Error != dlq.ErrNotFound.Error() {
		t.Fatalf("second retry = %+v", res)
	}
	// A message of the same id already waiting is not overwritten.
	put(t, st, "m1", "email", t0)
	if res := dlq.Retry(t.Context(), st, []string{"m1"}, now); res[0].Error == "" {
		t.Fatalf("retry over a waiting message succeeded: %+v", res)
	}

	if res := dlq.Drop(t.Context(), st, []string{"m2", "undecodable/42", "m2"}); res[0].Error != "" || res[1].Error != "" || res[2].Error == "" {
		t.Fatalf("Drop results = %+v", res)
	}
	left, _ := dlq.List(t.Context(), st, dlq.Filter{})
	if len(left) != 2 || left[0].ID != "m1" || left[1].ID != "m3" {
		t.Fatalf("left = %+v", left)
	}
}
