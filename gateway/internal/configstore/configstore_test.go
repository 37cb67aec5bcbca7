package configstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/configstore"
	"github.com/triggergate/triggergate/gateway/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.CloseShared()
	os.Exit(code)
}

func files(body string) map[string]string {
	return map[string]string{"gateway.hcl": body, "templates/a.html": "<p>hi</p>"}
}

func TestApplyHistoryRollback(t *testing.T) {
	ctx := t.Context()
	cs := configstore.New(storetest.Shared(t), configstore.WithKeep(3))
	if _, err := cs.Current(ctx); !errors.Is(err, configstore.ErrNoVersion) {
		t.Fatalf("Current on an empty store = %v, want ErrNoVersion", err)
	}

	v1, changed, err := cs.Apply(ctx, configstore.ApplyRequest{Files: files("a"), Author: "ann", Message: "first"})
	if err != nil || !changed || v1.ID != 1 {
		t.Fatalf("first apply = %+v, %v, %v", v1, changed, err)
	}
	// The same files again: no new version.
	again, changed, err := cs.Apply(ctx, configstore.ApplyRequest{Files: files("a"), Author: "bob"})
	if err != nil || changed || again.ID != 1 || again.Author != "ann" {
		t.Fatalf("re-apply of the same files = %+v, changed %v, %v; want version 1 unchanged", again, changed, err)
	}
	for i := 2; i <= 5; i++ {
		if _, _, err := cs.Apply(ctx, configstore.ApplyRequest{Files: files(fmt.Sprint(i)), Author: "ann"}); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := cs.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, v := range hist {
		if v.Files != nil {
			t.Errorf("history entry %d carries its files", v.ID)
		}
		ids = append(ids, v.ID)
	}
	if fmt.Sprint(ids) != "[5 4 3]" {
		t.Fatalf("history ids = %v, want the newest 3: [5 4 3]", ids)
	}
	if _, err := cs.Get(ctx, 1); !errors.Is(err, configstore.ErrNotFound) {
		t.Fatalf("Get(1) after pruning = %v, want ErrNotFound", err)
	}

	rb, err := cs.Rollback(ctx, 3, "ann", "")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := cs.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rb.ID != 6 || cur.ID != 6 || cur.RollbackOf != 3 || cur.Files["gateway.hcl"] != "3" || cur.Message != "rollback to version 3" {
		t.Fatalf("after rollback current = %+v", cur)
	}
	if cur.Digest != configstore.Digest(files("3")) {
		t.Fatalf("digest %s does not match the files", cur.Digest)
	}
}

func TestVersionWrittenByOtherMeansIsChecked(t *testing.T) {
	ctx := t.Context()
	st := storetest.Shared(t)
	cs := configstore.New(st)
	v, _, err := cs.Apply(ctx, configstore.ApplyRequest{Files: files("a")})
	if err != nil {
		t.Fatal(err)
	}
	// Someone edits the stored files with etcdctl without fixing the digest.
	key := fmt.Sprintf("%s/%020d", st.Key("config", "versions"), v.ID)
	if _, err := st.Client().Put(ctx, key, `{"id":1,"digest":"sha256:00","files":{"gateway.hcl":"b"}}`); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Get(ctx, v.ID); err == nil {
		t.Fatal("a version whose files do not match its digest was accepted")
	}
	if _, err := st.Client().Put(ctx, key, `not json`); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Current(ctx); err == nil {
		t.Fatal("an undecodable version was accepted")
	}
	hist, err := cs.History(ctx)
	if err != nil || len(hist) != 1 || hist[0].ID != 1 {
		t.Fatalf("history with a broken entry = %+v, %v; want it listed as unreadable", hist, err)
	}
}

func TestApplyRefusesOversizedAndEmpty(t *testing.T) {
	cs := configstore.New(storetest.Shared(t))
	big := map[string]string{"a.hcl": string(make([]byte, configstore.MaxBytes+1))}
	if _, _, err := cs.Apply(t.Context(), configstore.ApplyRequest{Files: big}); !errors.Is(err, configstore.ErrTooLarge) {
		t.Fatalf("oversized apply = %v, want ErrTooLarge", err)
	}
	if _, _, err := cs.Apply(t.Context(), configstore.ApplyRequest{}); err == nil {
		t.Fatal("an empty configuration was stored")
	}
}

func TestWatchSeesEveryNewCurrent(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cs := configstore.New(storetest.Shared(t))
	seen := make(chan int64, 10)
	done := make(chan error, 1)
	go func() { done <- cs.Watch(ctx, func(_ context.Context, id int64) { seen <- id }) }()
	want := func(id int64) {
		t.Helper()
		select {
		case got := <-seen:
			if got != id {
				t.Fatalf("watch reported %d, want %d", got, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("watch did not report version %d", id)
		}
	}
	want(0) // nothing applied yet
	for i := int64(1); i <= 2; i++ {
		if _, _, err := cs.Apply(ctx, configstore.ApplyRequest{Files: files(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
		want(i)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v after cancel", err)
	}
}

func TestNodeStates(t *testing.T) {
	ctx := t.Context()
	cs := configstore.New(storetest.Shared(t))
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	if err := cs.SetNodeState(ctx, configstore.NodeState{Node: "b", Version: 2, Since: at}, 0); err != nil {
		t.Fatal(err)
	}
	if err := cs.SetNodeState(ctx, configstore.NodeState{Node: "a", Version: 2, Refused: &configstore.Refusal{Version: 3, Error: "bad", At: at}}, 0); err != nil {
		t.Fatal(err)
	}
	ns, err := cs.Nodes(ctx)
	if err != nil || len(ns) != 2 || ns[0].Node != "a" || ns[0].Refused == nil || ns[0].Refused.Version != 3 || ns[1].Version != 2 {
		t.Fatalf("nodes = %+v, %v", ns, err)
	}
}

func TestForgetNodes(t *testing.T) {
	ctx := t.Context()
	cs := configstore.New(storetest.Shared(t))
	for _, n := range []string{"a", "b", "c"} {
		if err := cs.SetNodeState(ctx, configstore.NodeState{Node: n, Version: 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.ForgetNodes(ctx, []string{"b", "z"}); err != nil {
		t.Fatal(err)
	}
	ns, err := cs.Nodes(ctx)
	if err != nil || len(ns) != 1 || ns[0].Node != "b" {
		t.Fatalf("after forgetting all but b: %+v, %v", ns, err)
	}
}
