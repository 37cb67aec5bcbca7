package engine_test

import (
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/triggergate/triggergate/gateway/internal/engine"
	"github.com/triggergate/triggergate/gateway/internal/outbox"
	"github.com/triggergate/triggergate/sdk"
)

func (f *timerFixture) sendAs(t *testing.T, id, typ string, c sdk.Customer, props, traits map[string]any) {
	t.Helper()
	ev := sdk.Event{ID: id, Type: typ, Source: "test", DeliveryID: id, Customer: c,
		Properties: props, Traits: traits, OccurredAt: f.clock.Now()}
	if _, err := f.log.Append(t.Context(), "test", []sdk.Event{ev}, 0); err != nil {
		t.Fatal(err)
	}
}

func (f *timerFixture) view(t *testing.T, key string) *engine.CustomerView {
	t.Helper()
	v, err := engine.ReadCustomer(t.Context(), f.st, key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// gone asserts no record is stored under key itself.
func (f *timerFixture) gone(t *testing.T, key string) {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key("customers", url.PathEscape(key)))
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("record %s: %v, %d keys; want none", key, err, len(resp.Kvs))
	}
}

func (f *timerFixture) index(t *testing.T, kind, value string) string {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key("identity", kind, value))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

// messagesFor lists the outbox entries of one customer key.
func (f *timerFixture) messagesFor(t *testing.T, key string) []*outbox.Entry {
	t.Helper()
	resp, err := f.st.Client().Get(t.Context(), f.st.Key("outbox")+"/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var out []*outbox.Entry
	for _, kv := range resp.Kvs {
		e, err := outbox.Decode(kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		if e.Customer == key {
			out = append(out, e)
		}
	}
	return out
}

// TestIdentifyMergesAnonymousVisitor: an anonymous visitor starts a cart
// and gets traits; when they sign in (an event carrying both their account
// id and their anonymous id) the anonymous record, in another partition,
// merges into the account's: traits, figures, and the pending reminder,
// which then fires for the account. Later anonymous-only events land on
// the account too.
func TestIdentifyMergesAnonymousVisitor(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{})
	if f.log.Partition("anon:a1") == f.log.Partition("id:c1") {
		t.Fatal("the test needs anon:a1 and id:c1 in different partitions")
	}
	e := f.engine()
	anon := sdk.Customer{AnonymousID: "a1"}
	f.sendAs(t, "e1", "start", anon, nil, map[string]any{"first_name": "Jane"})
	f.drain(t, e)
	if v := f.view(t, "anon:a1"); len(v.Timers["cart"]) != 1 {
		t.Fatalf("anonymous record timers %v, want the cart reminder", v.Timers)
	}

	f.clock.Add(10 * time.Minute)
	f.sendAs(t, "e2", "identify", sdk.Customer{ID: "c1", Email: "jane@example.com", AnonymousID: "a1"}, nil,
		map[string]any{"plan": "pro"})
	f.drain(t, e)

	f.gone(t, "anon:a1")
	v := f.view(t, "id:c1")
	if v.Profile.Traits["first_name"] != "Jane" || v.Profile.Traits["plan"] != "pro" {
		t.Fatalf("merged traits %v, want first_name from the visit and plan from the sign-in", v.Profile.Traits)
	}
	if v.Profile.AnonymousID != "a1" || v.Profile.Email != "jane@example.com" {
		t.Fatalf("merged identity %+v", v.Profile.Customer)
	}
	if !v.Profile.Stats.FirstSeenAt.Equal(f.clock.Now().Add(-10 * time.Minute)) {
		t.Fatalf("first seen %s, want the anonymous visit", v.Profile.Stats.FirstSeenAt)
	}
	if len(v.Timers["cart"]) != 1 {
		t.Fatalf("merged timers %v, want the visit's reminder", v.Timers)
	}
	for kind, value := range map[string]string{"anon": "a1", "email": "jane@example.com"} {
		if got := f.index(t, kind, value); got != "id:c1" {
			t.Fatalf("identity/%s/%s → %q, want id:c1", kind, value, got)
		}
	}

	// The reminder set while anonymous fires, once, for the account.
	f.clock.Add(50 * time.Minute)
	f.drain(t, e)
	msgs := f.messagesFor(t, "id:c1")
	if len(msgs) != 1 || msgs[0].Message.Step != "reminder" || f.trig.timerFires() != 1 {
		t.Fatalf("after the due time: %d messages for id:c1 (%v), %d timer fires; want the reminder once", len(msgs), msgs, f.trig.timerFires())
	}
	if n := f.count(t, "timers"); n != 0 {
		t.Fatalf("%d timer keys left", n)
	}

	// An anonymous-only event after the merge is the account's.
	f.sendAs(t, "e3", "ping", anon, nil, nil)
	f.drain(t, e)
	f.gone(t, "anon:a1")
	msgs = f.messagesFor(t, "id:c1")
	if len(msgs) != 2 {
		t.Fatalf("%d messages for id:c1 after an anonymous ping, want 2", len(msgs))
	}
}

// TestEmailBuyerMergesIntoAccount: orders placed with an email only are
// kept under the email; when the account appears with that email, the
// figures add up on the account and later email-only events resolve to
// it.
func TestEmailBuyerMergesIntoAccount(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{})
	e := f.engine()
	guest := sdk.Customer{Email: "bob@example.com"}
	f.sendAs(t, "o1", "order.placed", guest, map[string]any{"value": 30.0}, nil)
	f.drain(t, e)
	f.sendAs(t, "s1", "account.signed_up", sdk.Customer{ID: "c2", Email: "bob@example.com"}, nil, nil)
	f.drain(t, e)
	f.sendAs(t, "o2", "order.placed", guest, map[string]any{"value": 50.0}, nil)
	f.drain(t, e)

	if v := f.view(t, "email:bob@example.com"); v.Key != "id:c2" {
		t.Fatalf("looking up the email finds %s, want the account it merged into", v.Key)
	}
	f.gone(t, "email:bob@example.com")
	st := f.view(t, "id:c2").Profile.Stats
	if st.OrdersCount != 2 || st.LifetimeValue != 80 || st.AverageOrderValue != 40 {
		t.Fatalf("account stats %+v, want 2 orders worth 80", st)
	}
}

// TestTwoAccountsNeverMerge: an email already indexed to one account stays
// with it when another account uses it.
func TestTwoAccountsNeverMerge(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{})
	e := f.engine()
	f.sendAs(t, "a", "identify", sdk.Customer{ID: "c3", Email: "shared@example.com"}, nil, map[string]any{"n": 3.0})
	f.sendAs(t, "b", "identify", sdk.Customer{ID: "c4", Email: "shared@example.com"}, nil, map[string]any{"n": 4.0})
	f.drain(t, e)
	if f.view(t, "id:c3").Profile.Traits["n"] != 3.0 || f.view(t, "id:c4").Profile.Traits["n"] != 4.0 {
		t.Fatal("the two accounts' records were mixed")
	}
	if got := f.index(t, "email", "shared@example.com"); got != "id:c3" {
		t.Fatalf("identity/email → %q, want the first account", got)
	}
}

// TestEraseForgetsIdentifiers: erasing a customer removes the index
// entries that pointed to them, so no identifier of theirs is kept.
func TestEraseForgetsIdentifiers(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{})
	e := f.engine()
	f.sendAs(t, "a", "identify", sdk.Customer{ID: "c5", Email: "eve@example.com", Phone: "+15550100", AnonymousID: "a5"}, nil, nil)
	f.drain(t, e)
	if f.count(t, "identity") != 3 {
		t.Fatalf("%d identity keys, want email, phone and anonymous id", f.count(t, "identity"))
	}
	if _, err := engine.Erase(t.Context(), f.log, "id:c5", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.drain(t, e)
	f.gone(t, "id:c5")
	if n := f.count(t, "identity"); n != 0 {
		t.Fatalf("%d identity keys after the erasure, want 0", n)
	}
}

// TestMergeChain: an anonymous visitor gives their email, then signs up,
// all before the gateway gets to process any of it. Everything ends on
// the account, whatever order the hand-overs arrive in.
func TestMergeChain(t *testing.T) {
	t.Parallel()
	f := newTimerFixture(t, engine.Rule{})
	e := f.engine()
	f.sendAs(t, "v", "start", sdk.Customer{AnonymousID: "a9"}, nil, map[string]any{"seen": "visit"})
	f.sendAs(t, "n", "newsletter", sdk.Customer{Email: "zed@example.com", AnonymousID: "a9"}, nil, map[string]any{"src": "footer"})
	f.sendAs(t, "s", "account.signed_up", sdk.Customer{ID: "c9", Email: "zed@example.com"}, nil, nil)
	f.drain(t, e)

	f.gone(t, "anon:a9")
	f.gone(t, "email:zed@example.com")
	v := f.view(t, "id:c9")
	if v.Profile.Traits["seen"] != "visit" || v.Profile.Traits["src"] != "footer" || len(v.Timers["cart"]) != 1 {
		t.Fatalf("account record: traits %v, timers %v; want both earlier records in it", v.Profile.Traits, v.Timers)
	}
	for kind, value := range map[string]string{"anon": "a9", "email": "zed@example.com"} {
		if got := f.index(t, kind, value); got != "id:c9" {
			t.Fatalf("identity/%s/%s → %q, want id:c9", kind, value, got)
		}
	}
}
