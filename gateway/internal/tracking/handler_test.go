package tracking_test

import (
	"bytes"
	"context"
	"errors"
	"image/gif"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/oklog/ulid/v2"

	"github.com/triggergate/triggergate/gateway/internal/tracking"
	"github.com/triggergate/triggergate/sdk"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// fakeRecorder keeps what it is given; err makes every Record fail.
type fakeRecorder struct {
	mu     sync.Mutex
	err    error
	events []sdk.Event
	ctxs   []context.Context
	// ctxErrs is each call's ctx.Err() when Record was called.
	ctxErrs []error
}

func (f *fakeRecorder) Record(ctx context.Context, ev sdk.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxs = append(f.ctxs, ctx)
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	if f.err != nil {
		return f.err
	}
	f.events = append(f.events, ev)
	return nil
}

func (f *fakeRecorder) recorded() []sdk.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sdk.Event(nil), f.events...)
}

type fixture struct {
	router *mux.Router
	rec    *fakeRecorder
	signer *tracking.Signer
}

func newFixture(t *testing.T, recErr error, opts ...tracking.Option) *fixture {
	t.Helper()
	s := newSigner(t, keyA)
	rec := &fakeRecorder{err: recErr}
	opts = append([]tracking.Option{tracking.WithClock(func() time.Time { return now })}, opts...)
	h := tracking.NewHandler(s, rec, hclog.NewNullLogger(), opts...)
	r := mux.NewRouter()
	h.Register(r)
	return &fixture{router: r, rec: rec, signer: s}
}

func (f *fixture) do(t *testing.T, method, path, contentType string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	f.router.ServeHTTP(w, req)
	return w
}

func (f *fixture) path(prefix string, c tracking.Claims) string {
	return prefix + f.signer.Token(c)
}

// checkEvent compares what the test can predict and checks the ULID.
func checkEvent(t *testing.T, got sdk.Event, typ, deliveryID string, cust sdk.Customer, props map[string]any) {
	t.Helper()
	id, err := ulid.ParseStrict(got.ID)
	if err != nil {
		t.Fatalf("event id %q is not a ULID: %v", got.ID, err)
	}
	if ulid.Time(id.Time()).UnixMilli() != now.UnixMilli() {
		t.Errorf("event id time = %v, want the clock's %v", ulid.Time(id.Time()), now)
	}
	got.ID = ""
	want := sdk.Event{
		Type: typ, Source: "tracking", SourceKind: "tracking", DeliveryID: deliveryID,
		OccurredAt: now, ReceivedAt: now, Customer: cust, Properties: props,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("event:\n got %#v\nwant %#v", got, want)
	}
}

func TestClick(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	target := "https://shop.example.com/cart?id=7&utm_source=email#checkout"
	w := f.do(t, http.MethodGet, f.path("/t/c/", withKind(baseClaims(), tracking.KindClick, target)), "", nil)
	if w.Code != http.StatusFound || w.Header().Get("Location") != target {
		t.Fatalf("click answered %d Location %q, want 302 to %q", w.Code, w.Header().Get("Location"), target)
	}
	if w.Header().Get("Referrer-Policy") != "no-referrer" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("click headers = %v", w.Header())
	}
	evs := f.rec.recorded()
	if len(evs) != 1 {
		t.Fatalf("recorded %d events, want 1", len(evs))
	}
	// 7c9ab6074e78: the first 12 hex digits of sha256(target), from sha256sum.
	checkEvent(t, evs[0], "email.clicked", "click:01J9ZQ3V6D5N2G7K8M4P1R0S9T:7c9ab6074e78",
		sdk.Customer{Email: "jane@example.com"},
		map[string]any{
			"message_id": "01J9ZQ3V6D5N2G7K8M4P1R0S9T", "trigger": "abandoned_cart", "step": "reminder_1",
			"variant": "b", "channel": "email", "url": target,
		})

	t.Run("HEAD redirects without recording", func(t *testing.T) {
		f := newFixture(t, nil)
		w := f.do(t, http.MethodHead, f.path("/t/c/", withKind(baseClaims(), tracking.KindClick, target)), "", nil)
		if w.Code != http.StatusFound || len(f.rec.recorded()) != 0 {
			t.Fatalf("HEAD answered %d and recorded %d events", w.Code, len(f.rec.recorded()))
		}
	})
	t.Run("recording has a short deadline", func(t *testing.T) {
		f := newFixture(t, nil)
		f.do(t, http.MethodGet, f.path("/t/c/", withKind(baseClaims(), tracking.KindClick, target)), "", nil)
		dl, ok := f.rec.ctxs[0].Deadline()
		if !ok || time.Until(dl) > 2*time.Second {
			t.Fatalf("record deadline = %v, %v; want within 2s", dl, ok)
		}
	})
	t.Run("distinct links of a message, distinct delivery ids", func(t *testing.T) {
		f := newFixture(t, nil)
		for _, u := range []string{"https://a.example.com/", "https://b.example.com/", "https://a.example.com/"} {
			f.do(t, http.MethodGet, f.path("/t/c/", withKind(baseClaims(), tracking.KindClick, u)), "", nil)
		}
		evs := f.rec.recorded()
		if evs[0].DeliveryID == evs[1].DeliveryID || evs[0].DeliveryID != evs[2].DeliveryID || evs[0].ID == evs[2].ID {
			t.Fatalf("delivery ids %q %q %q, ids %q %q", evs[0].DeliveryID, evs[1].DeliveryID, evs[2].DeliveryID, evs[0].ID, evs[2].ID)
		}
	})
}

func TestOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := withKind(baseClaims(), tracking.KindOpen, "")
	c.Variant, c.Customer = "", "ext:shopify:7"
	for range 2 {
		w := f.do(t, http.MethodGet, f.path("/t/o/", c), "", nil)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/gif" {
			t.Fatalf("open answered %d %q", w.Code, w.Header().Get("Content-Type"))
		}
		if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") || !strings.Contains(cc, "no-cache") {
			t.Fatalf("Cache-Control = %q", cc)
		}
		checkPixel(t, w.Body.Bytes())
	}
	evs := f.rec.recorded()
	if len(evs) != 2 {
		t.Fatalf("recorded %d events, want 2", len(evs))
	}
	for _, ev := range evs {
		checkEvent(t, ev, "email.opened", "open:01J9ZQ3V6D5N2G7K8M4P1R0S9T",
			sdk.Customer{ExternalIDs: map[string]string{"shopify": "7"}},
			map[string]any{"message_id": "01J9ZQ3V6D5N2G7K8M4P1R0S9T", "trigger": "abandoned_cart", "step": "reminder_1", "channel": "email"})
	}
	if evs[0].ID == evs[1].ID {
		t.Fatal("two opens got the same event id; the delivery id is what collapses them")
	}
}

func checkPixel(t *testing.T, b []byte) {
	t.Helper()
	img, err := gif.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the pixel is not a GIF: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 1 || r.Dy() != 1 {
		t.Fatalf("pixel is %v", r)
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Fatalf("pixel alpha = %d, want transparent", a)
	}
}

func TestUnsubscribeGetNeverUnsubscribes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, tracking.WithSenderName("Acme <Shoes>"))
	p := f.path("/t/u/", withKind(baseClaims(), tracking.KindUnsubscribe, ""))
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodGet} {
		w := f.do(t, m, p, "", nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s answered %d", m, w.Code)
		}
		if m == http.MethodGet {
			body := w.Body.String()
			for _, want := range []string{`<form method="post">`, "Acme &lt;Shoes&gt;", "Unsubscribe"} {
				if !strings.Contains(body, want) {
					t.Fatalf("page lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, "http") {
				t.Fatalf("page loads or links something external:\n%s", body)
			}
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || w.Header().Get("Content-Security-Policy") == "" {
				t.Fatalf("page headers = %v", w.Header())
			}
		}
	}
	if n := len(f.rec.recorded()); n != 0 {
		t.Fatalf("GET recorded %d events", n)
	}
}

func TestUnsubscribePost(t *testing.T) {
	t.Parallel()
	multipartBody := func(field, value string) (string, io.Reader) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField(field, value)
		_ = mw.Close()
		return mw.FormDataContentType(), &b
	}
	cases := []struct {
		name     string
		ct       func() (string, io.Reader)
		oneClick bool
	}{
		{"RFC 8058 form-encoded", func() (string, io.Reader) {
			return "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click")
		}, true},
		{"RFC 8058 multipart", func() (string, io.Reader) { return multipartBody("List-Unsubscribe", "One-Click") }, true},
		{"RFC 8058 body without a type", func() (string, io.Reader) { return "", strings.NewReader("List-Unsubscribe=One-Click\r\n") }, true},
		{"confirmation page form", func() (string, io.Reader) {
			return "application/x-www-form-urlencoded", strings.NewReader("confirm=yes")
		}, false},
		{"empty POST", func() (string, io.Reader) { return "", nil }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			ct, body := tc.ct()
			w := f.do(t, http.MethodPost, f.path("/t/u/", withKind(baseClaims(), tracking.KindUnsubscribe, "")), ct, body)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "You are unsubscribed") {
				t.Fatalf("POST answered %d:\n%s", w.Code, w.Body.String())
			}
			if w.Header().Get("Location") != "" || w.Header().Get("Set-Cookie") != "" {
				t.Fatalf("one-click must not redirect or set cookies: %v", w.Header())
			}
			evs := f.rec.recorded()
			if len(evs) != 1 {
				t.Fatalf("recorded %d events, want 1", len(evs))
			}
			checkEvent(t, evs[0], "email.unsubscribed", "unsubscribe:01J9ZQ3V6D5N2G7K8M4P1R0S9T",
				sdk.Customer{Email: "jane@example.com"},
				map[string]any{
					"message_id": "01J9ZQ3V6D5N2G7K8M4P1R0S9T", "trigger": "abandoned_cart", "step": "reminder_1",
					"variant": "b", "channel": "email", "one_click": tc.oneClick,
				})
		})
	}
}

func TestUnsubscribeSurvivesHangUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost,
		f.path("/t/u/", withKind(baseClaims(), tracking.KindUnsubscribe, "")), strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f.router.ServeHTTP(httptest.NewRecorder(), req)
	if len(f.rec.ctxErrs) != 1 || f.rec.ctxErrs[0] != nil {
		t.Fatalf("the recorder's context was cancelled with the request: %v", f.rec.ctxErrs)
	}
	if len(f.rec.recorded()) != 1 {
		t.Fatal("the unsubscribe of a client that hung up was not recorded")
	}
	if _, ok := f.rec.ctxs[0].Deadline(); !ok {
		t.Fatal("recording an unsubscribe has no deadline")
	}
}

func TestRecorderFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, errors.New("etcd unavailable"))
	target := "https://shop.example.com/p/1"

	w := f.do(t, http.MethodGet, f.path("/t/c/", withKind(baseClaims(), tracking.KindClick, target)), "", nil)
	if w.Code != http.StatusFound || w.Header().Get("Location") != target {
		t.Fatalf("click with a failing recorder answered %d %q, want the redirect", w.Code, w.Header().Get("Location"))
	}
	w = f.do(t, http.MethodGet, f.path("/t/o/", withKind(baseClaims(), tracking.KindOpen, "")), "", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("open with a failing recorder answered %d", w.Code)
	}
	checkPixel(t, w.Body.Bytes())
	w = f.do(t, http.MethodPost, f.path("/t/u/", withKind(baseClaims(), tracking.KindUnsubscribe, "")),
		"application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "try again") ||
		strings.Contains(w.Body.String(), "You are unsubscribed") {
		t.Fatalf("unsubscribe with a failing recorder answered %d:\n%s", w.Code, w.Body.String())
	}
	if len(f.rec.ctxs) != 3 {
		t.Fatalf("the recorder was called %d times, want 3", len(f.rec.ctxs))
	}
}

func TestBadTokensAre404(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, tracking.WithMaxAge(30*24*time.Hour))
	other := newSigner(t, keyB)
	click := withKind(baseClaims(), tracking.KindClick, "https://shop.example.com/")
	open := withKind(baseClaims(), tracking.KindOpen, "")
	unsub := withKind(baseClaims(), tracking.KindUnsubscribe, "")
	good := f.signer.Token(click)
	stale := open
	stale.IssuedAt = now.Add(-31 * 24 * time.Hour)
	staleClick := click
	staleClick.IssuedAt = stale.IssuedAt
	badCustomer := open
	badCustomer.Customer = "nobody"

	cases := []struct {
		name, method, path string
	}{
		{"garbage", http.MethodGet, "/t/c/not-a-token"},
		{"flipped", http.MethodGet, "/t/c/" + flipLast(good)},
		{"truncated", http.MethodGet, "/t/c/" + good[:len(good)-3]},
		{"other key", http.MethodGet, "/t/c/" + other.Token(click)},
		{"other key unsubscribe", http.MethodPost, "/t/u/" + other.Token(unsub)},
		{"oversized", http.MethodGet, "/t/o/" + strings.Repeat("A", 5000)},
		{"open token on click", http.MethodGet, f.path("/t/c/", open)},
		{"click token on open", http.MethodGet, f.path("/t/o/", click)},
		{"click token on unsubscribe page", http.MethodGet, f.path("/t/u/", click)},
		{"open token on unsubscribe", http.MethodPost, f.path("/t/u/", open)},
		{"unsubscribe token on click", http.MethodGet, f.path("/t/c/", unsub)},
		{"javascript click", http.MethodGet, f.path("/t/c/", withKind(baseClaims(), tracking.KindClick, "javascript:alert(document.cookie)"))},
		{"data click", http.MethodGet, f.path("/t/c/", withKind(baseClaims(), tracking.KindClick, "data:text/html,x"))},
		{"expired open", http.MethodGet, f.path("/t/o/", stale)},
		{"expired click", http.MethodGet, f.path("/t/c/", staleClick)},
		{"unparseable customer", http.MethodGet, f.path("/t/o/", badCustomer)},
	}
	var first string
	for _, tc := range cases {
		w := f.do(t, tc.method, tc.path, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if w.Code != http.StatusNotFound || w.Header().Get("Location") != "" {
			t.Errorf("%s: answered %d Location %q, want 404", tc.name, w.Code, w.Header().Get("Location"))
			continue
		}
		if first == "" {
			first = w.Body.String()
		} else if w.Body.String() != first {
			t.Errorf("%s: the 404 page differs, so it tells why:\n%s", tc.name, w.Body.String())
		}
	}
	if n := len(f.rec.recorded()); n != 0 {
		t.Fatalf("bad tokens recorded %d events", n)
	}
	if n := len(f.rec.ctxs); n != 0 {
		t.Fatalf("bad tokens reached the recorder %d times", n)
	}
}

func TestUnsubscribeTokensNeverExpire(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, tracking.WithMaxAge(24*time.Hour))
	c := withKind(baseClaims(), tracking.KindUnsubscribe, "")
	c.IssuedAt = now.AddDate(-2, 0, 0)
	w := f.do(t, http.MethodPost, f.path("/t/u/", c), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if w.Code != http.StatusOK || len(f.rec.recorded()) != 1 {
		t.Fatalf("old unsubscribe answered %d, recorded %d", w.Code, len(f.rec.recorded()))
	}
	fresh := withKind(baseClaims(), tracking.KindOpen, "")
	fresh.IssuedAt = now.Add(-23 * time.Hour)
	if w := f.do(t, http.MethodGet, f.path("/t/o/", fresh), "", nil); w.Code != http.StatusOK {
		t.Fatalf("an open within the max age answered %d", w.Code)
	}
}

func TestUnsubscribeBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	body := "List-Unsubscribe=One-Click&pad=" + strings.Repeat("x", 9<<10)
	w := f.do(t, http.MethodPost, f.path("/t/u/", withKind(baseClaims(), tracking.KindUnsubscribe, "")), "application/x-www-form-urlencoded", strings.NewReader(body))
	if w.Code != http.StatusRequestEntityTooLarge || len(f.rec.recorded()) != 0 {
		t.Fatalf("oversized body answered %d, recorded %d", w.Code, len(f.rec.recorded()))
	}
}

func flipLast(tok string) string {
	b := []byte(tok)
	if b[len(b)-2] == 'A' {
		b[len(b)-2] = 'B'
	} else {
		b[len(b)-2] = 'A'
	}
	return string(b)
}
