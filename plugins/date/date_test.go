package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// start is a winter Sunday: Paris is on CET (UTC+1) until 2027-03-28.
var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func jane() sdk.Customer { return sdk.Customer{ID: "c1", Email: "jane@example.com"} }

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

// logBuf is a log sink safe to read while the plugin's gRPC goroutines
// write to it.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (hclog.Logger, *logBuf) {
	buf := &logBuf{}
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Trace}), buf
}

// newHarness plays the host for one rule, with jane's profile in tz.
func newHarness(t *testing.T, cfg map[string]any, tz string, at time.Time) (*plugintest.TriggerHarness, *logBuf) {
	t.Helper()
	log, buf := newLogger()
	h := plugintest.NewTriggerHarness(t, New(log), "r", plugintest.MustConfig(t, cfg), at)
	h.SetProfile(sdk.Profile{Customer: jane(), Timezone: tz})
	return h, buf
}

var birthday = map[string]any{"trait": "birthday"}

// identify sends a profile update setting the birthday trait (nil removes it).
func identify(h *plugintest.TriggerHarness, id string, value any) []sdk.Fire {
	return h.Send(sdk.Event{ID: id, Type: "identify", Customer: jane(), Traits: map[string]any{"birthday": value}})
}

// wantTimer checks the one pending timer: its time and the key it carries.
func wantTimer(t *testing.T, h *plugintest.TriggerHarness, at time.Time, key string) {
	t.Helper()
	tm := h.Timers(jane())
	if len(tm) != 1 || tm[0].ID != timerID || !tm[0].At.Equal(at) || tm[0].Data["key"] != key {
		t.Fatalf("timers = %+v, want one at %s keyed %s", tm, at, key)
	}
}

func wantNoTimer(t *testing.T, h *plugintest.TriggerHarness) {
	t.Helper()
	if tm := h.Timers(jane()); len(tm) != 0 {
		t.Fatalf("timers = %+v, want none", tm)
	}
}

// wantFire checks that fires holds exactly one fire with key and step.
func wantFire(t *testing.T, fires []sdk.Fire, step, key string) sdk.Fire {
	t.Helper()
	if len(fires) != 1 || fires[0].Step != step || fires[0].Key != key {
		t.Fatalf("fires = %+v, want one %s/%s", fires, step, key)
	}
	return fires[0]
}

func wantNoFire(t *testing.T, fires []sdk.Fire) {
	t.Helper()
	if len(fires) != 0 {
		t.Fatalf("fires = %+v, want none", fires)
	}
}

func TestBirthdayFiresAtNineLocal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		birthday string
		first    time.Time // 09:00 Paris, in UTC
		next     time.Time // a year later
	}{
		{"winter (CET, UTC+1)", "1990-03-14", utc(2027, 3, 14, 8, 0), utc(2028, 3, 14, 8, 0)},
		{"summer (CEST, UTC+2)", "1990-07-14", utc(2027, 7, 14, 7, 0), utc(2028, 7, 14, 7, 0)},
		{"clocks go forward that night", "1985-03-28", utc(2027, 3, 28, 7, 0), utc(2028, 3, 28, 7, 0)},
		{"clocks go back that night", "1985-10-31", utc(2027, 10, 31, 8, 0), utc(2028, 10, 31, 8, 0)},
		{"month-day without a year", "03-14", utc(2027, 3, 14, 8, 0), utc(2028, 3, 14, 8, 0)},
		{"RFC 3339 midnight keeps its written date", "1990-03-14T00:00:00Z", utc(2027, 3, 14, 8, 0), utc(2028, 3, 14, 8, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newHarness(t, birthday, "Europe/Paris", start)
			wantNoFire(t, identify(h, "e1", tc.birthday))
			key := tc.first.In(mustZone(t, "Europe/Paris")).Format(time.DateOnly)
			wantTimer(t, h, tc.first, key)

			wantNoFire(t, h.Advance(tc.first.Sub(h.Clock.Now())-time.Second))
			f := wantFire(t, h.Advance(time.Second), "default", key)
			if got := h.Fires[0].At; !got.Equal(tc.first) {
				t.Errorf("fired at %s, want %s", got, tc.first)
			}
			if f.Data["occurs_on"] != key {
				t.Errorf("data = %+v, want occurs_on %s", f.Data, key)
			}

			nextKey := tc.next.In(mustZone(t, "Europe/Paris")).Format(time.DateOnly)
			wantTimer(t, h, tc.next, nextKey)
			wantNoFire(t, h.Advance(tc.next.Sub(h.Clock.Now())-time.Second))
			wantFire(t, h.Advance(time.Second), "default", nextKey)
			if len(h.Fires) != 2 {
				t.Errorf("fires = %+v, want two", h.Fires)
			}
		})
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestBirthdayFireData(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, map[string]any{"trait": "birthday", "step": "happy_birthday", "offset": "-7d"}, "Europe/Paris", start)
	identify(h, "e1", "1990-03-14")
	f := wantFire(t, h.Advance(365*24*time.Hour), "happy_birthday", "2027-03-07")
	// Data crosses the wire as JSON: numbers come back float64.
	want := map[string]any{"date": "1990-03-14", "occurs_on": "2027-03-14", "years": float64(37)}
	if len(f.Data) != len(want) {
		t.Fatalf("data = %+v, want %+v", f.Data, want)
	}
	for k, v := range want {
		if f.Data[k] != v {
			t.Errorf("data[%s] = %v, want %v", k, f.Data[k], v)
		}
	}
}

func TestBirthdayMovesWithTheTrait(t *testing.T) {
	t.Parallel()
	h, logs := newHarness(t, birthday, "Europe/Paris", start)
	identify(h, "e1", "1990-03-14")
	wantTimer(t, h, utc(2027, 3, 14, 8, 0), "2027-03-14")

	// Any event re-reads the trait; an unchanged one changes nothing.
	before := string(h.State(jane()))
	h.Send(sdk.Event{ID: "e2", Type: "page.viewed", Customer: jane()})
	if got := string(h.State(jane())); got != before {
		t.Errorf("state changed on an unrelated event: %s -> %s", before, got)
	}

	identify(h, "e3", "1990-05-01")
	wantTimer(t, h, utc(2027, 5, 1, 7, 0), "2027-05-01")
	wantNoFire(t, h.Advance(utc(2027, 4, 30, 0, 0).Sub(h.Clock.Now()))) // 03-14 passes quietly

	// Removed: the timer is cancelled and the state deleted.
	identify(h, "e4", nil)
	wantNoTimer(t, h)
	if st := h.State(jane()); st != nil {
		t.Errorf("state = %s, want deleted", st)
	}
	wantNoFire(t, h.Advance(48*time.Hour))

	// Back, then unreadable: cancelled and logged once, not on every event.
	identify(h, "e5", "1990-05-20")
	wantTimer(t, h, utc(2027, 5, 20, 7, 0), "2027-05-20")
	identify(h, "e6", "the fourteenth of March")
	identify(h, "e7", "the fourteenth of March")
	wantNoTimer(t, h)
	if n := strings.Count(logs.String(), "date cannot be read"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), "fourteenth") {
		t.Errorf("the trait's value reached the log:\n%s", logs)
	}
	if f := h.Advance(2 * 365 * 24 * time.Hour); len(f) != 0 || len(h.Fires) != 0 {
		t.Fatalf("fires = %+v, want none ever", h.Fires)
	}
}

func TestTraitNestedAndTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		traits map[string]any
		want   time.Time // zero: nothing scheduled
	}{
		{"nested trait", map[string]any{"dates": map[string]any{"birthday": "1990-03-14"}}, utc(2027, 3, 14, 9, 0)},
		{"Unix seconds at UTC midnight", map[string]any{"dates.birthday": float64(637372800)}, utc(2027, 3, 14, 9, 0)},
		{"Unix milliseconds (HubSpot)", map[string]any{"dates.birthday": float64(637372800000)}, utc(2027, 3, 14, 9, 0)},
		{"a bool is not a date", map[string]any{"dates.birthday": true}, time.Time{}},
		{"empty string is no date", map[string]any{"dates.birthday": ""}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newHarness(t, map[string]any{"trait": "dates.birthday"}, "", start)
			h.Send(sdk.Event{ID: "e1", Type: "identify", Customer: jane(), Traits: tc.traits})
			if tc.want.IsZero() {
				wantNoTimer(t, h)
				return
			}
			wantTimer(t, h, tc.want, tc.want.Format(time.DateOnly))
		})
	}
}

func TestFebruary29(t *testing.T) {
	t.Parallel()
	for _, value := range []string{"2000-02-29", "02-29", "--02-29"} {
		t.Run(value, func(t *testing.T) {
			t.Parallel()
			h, _ := newHarness(t, birthday, "UTC", start)
			identify(h, "e1", value)
			var keys []string
			for range 3 {
				for _, f := range h.Advance(366 * 24 * time.Hour) {
					keys = append(keys, f.Key)
				}
			}
			// 2027 is not a leap year, 2028 is, 2029 is not.
			want := []string{"2027-02-28", "2028-02-29", "2029-02-28"}
			if strings.Join(keys, ",") != strings.Join(want, ",") {
				t.Errorf("fired %v, want %v", keys, want)
			}
			for i, f := range h.Fires {
				if wantAt := utc(2027+i, 2, 28+i%2, 9, 0); !f.At.Equal(wantAt) {
					t.Errorf("fire %d at %s, want %s", i, f.At, wantAt)
				}
			}
		})
	}
}

func TestFebruary29Once(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"on": []string{"plan.started"}, "property": "ends_at"}
	h, logs := newHarness(t, cfg, "UTC", start)
	// 2028-02-29 exists and fires on its day; 2027-02-29 does not exist.
	h.Send(sdk.Event{ID: "e1", Type: "plan.started", Customer: jane(), Properties: map[string]any{"ends_at": "2028-02-29"}})
	wantTimer(t, h, utc(2028, 2, 29, 9, 0), "2028-02-29")
	h.Send(sdk.Event{ID: "e2", Type: "plan.started", Customer: jane(), Properties: map[string]any{"ends_at": "2027-02-29"}})
	wantNoTimer(t, h)
	if !strings.Contains(logs.String(), "date cannot be read") {
		t.Errorf("unreadable date not logged:\n%s", logs)
	}
}

func TestTimezone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tz       string
		want     time.Time
		wantWarn bool
	}{
		{"", utc(2027, 3, 14, 9, 0), false},
		{"UTC", utc(2027, 3, 14, 9, 0), false},
		{"America/New_York", utc(2027, 3, 14, 13, 0), false}, // EDT from 2027-03-14 02:00
		{"Asia/Tokyo", utc(2027, 3, 14, 0, 0), false},
		{"Mars/Olympus_Mons", utc(2027, 3, 14, 9, 0), true},
		{"Local", utc(2027, 3, 14, 9, 0), true},
		{"../../etc/passwd", utc(2027, 3, 14, 9, 0), true},
	}
	for _, tc := range tests {
		t.Run(tc.tz, func(t *testing.T) {
			t.Parallel()
			h, logs := newHarness(t, birthday, tc.tz, start)
			identify(h, "e1", "1990-03-14")
			wantTimer(t, h, tc.want, "2027-03-14")
			warned := strings.Contains(logs.String(), "customer timezone is not a valid IANA name; using UTC")
			if warned != tc.wantWarn {
				t.Errorf("warned = %v, want %v:\n%s", warned, tc.wantWarn, logs)
			}
			wantFire(t, h.Advance(tc.want.Sub(h.Clock.Now())), "default", "2027-03-14")
		})
	}
}

func TestTimezoneChangeMovesTheTimer(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, birthday, "Europe/Paris", start)
	identify(h, "e1", "1990-03-14")
	wantTimer(t, h, utc(2027, 3, 14, 8, 0), "2027-03-14")
	p := h.Profile(jane())
	p.Timezone = "America/Los_Angeles"
	h.SetProfile(p)
	h.Send(sdk.Event{ID: "e2", Type: "page.viewed", Customer: jane()})
	wantTimer(t, h, utc(2027, 3, 14, 16, 0), "2027-03-14") // PDT, UTC-7
}

func TestRenewalReminder(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{
		"on": []string{"subscription.renewed"}, "property": "renews_at", "offset": "-7d",
		"cancel_on": []string{"subscription.cancelled"}, "step": "renewal_reminder",
	}
	renewed := func(id string, occurred time.Time, renewsAt any) sdk.Event {
		return sdk.Event{ID: id, Type: "subscription.renewed", Customer: jane(), OccurredAt: occurred,
			Properties: map[string]any{"renews_at": renewsAt}}
	}
	// 2027-04-01 09:00 Paris is CEST; 7 calendar days earlier is CET: the
	// reminder is still at 09:00 local.
	reminder := utc(2027, 3, 25, 8, 0)

	t.Run("fires once, seven days before, and never again", func(t *testing.T) {
		t.Parallel()
		h, _ := newHarness(t, cfg, "Europe/Paris", start)
		h.Send(renewed("e1", start, "2027-04-01T10:00:00+02:00"))
		wantTimer(t, h, reminder, "2027-03-25")
		wantNoFire(t, h.Advance(reminder.Sub(h.Clock.Now())-time.Minute))
		f := wantFire(t, h.Advance(time.Minute), "renewal_reminder", "2027-03-25")
		if f.Data["occurs_on"] != "2027-04-01" || f.Data["years"] != nil {
			t.Errorf("data = %+v", f.Data)
		}
		wantNoTimer(t, h)
		// The same event redelivered after the reminder: nothing new.
		wantNoFire(t, h.Send(renewed("e1", start, "2027-04-01T10:00:00+02:00")))
		wantNoTimer(t, h)
		wantNoFire(t, h.Advance(3*365*24*time.Hour))

		// Renewed for another year: a new reminder.
		h.Send(renewed("e2", h.Clock.Now(), "2030-04-01"))
		wantTimer(t, h, utc(2030, 3, 25, 8, 0), "2030-03-25")
	})

	t.Run("Stripe Unix seconds", func(t *testing.T) {
		t.Parallel()
		h, _ := newHarness(t, cfg, "Europe/Paris", start)
		// 1806408000 is 2027-03-30T12:00:00Z: the date in Paris is 03-30.
		h.Send(renewed("e1", start, float64(1806408000)))
		wantTimer(t, h, utc(2027, 3, 23, 8, 0), "2027-03-23")
	})

	t.Run("an older event arriving late is ignored", func(t *testing.T) {
		t.Parallel()
		h, _ := newHarness(t, cfg, "Europe/Paris", start)
		h.Send(renewed("new", start, "2027-04-01"))
		h.Send(renewed("old", start.Add(-30*24*time.Hour), "2026-12-20"))
		wantTimer(t, h, reminder, "2027-03-25")
	})

	t.Run("an event without the property changes nothing", func(t *testing.T) {
		t.Parallel()
		h, logs := newHarness(t, cfg, "Europe/Paris", start)
		h.Send(renewed("e1", start, "2027-04-01"))
		h.Send(sdk.Event{ID: "e2", Type: "subscription.renewed", Customer: jane()})
		h.Send(renewed("e3", start.Add(time.Hour), nil))
		wantTimer(t, h, reminder, "2027-03-25")
		if n := strings.Count(logs.String(), "event has no date in its property; ignored"); n != 2 {
			t.Errorf("logged %d warnings, want 2:\n%s", n, logs)
		}
	})

	t.Run("other event types are ignored", func(t *testing.T) {
		t.Parallel()
		h, _ := newHarness(t, cfg, "Europe/Paris", start)
		h.Send(sdk.Event{ID: "e1", Type: "order.placed", Customer: jane(), Properties: map[string]any{"renews_at": "2027-04-01"}})
		wantNoTimer(t, h)
		if st := h.State(jane()); st != nil {
			t.Errorf("state = %s, want none", st)
		}
	})

	t.Run("cancel_on cancels, and an older cancellation does not", func(t *testing.T) {
		t.Parallel()
		h, _ := newHarness(t, cfg, "Europe/Paris", start)
		h.Send(renewed("e1", start, "2027-04-01"))
		h.Send(sdk.Event{ID: "c0", Type: "subscription.cancelled", Customer: jane(), OccurredAt: start.Add(-time.Hour)})
		wantTimer(t, h, reminder, "2027-03-25")
		h.Clock.Set(start.Add(time.Hour))
		h.Send(sdk.Event{ID: "c1", Type: "subscription.cancelled", Customer: jane()})
		wantNoTimer(t, h)
		wantNoFire(t, h.Advance(365*24*time.Hour))
		// A renewal that happened before the cancellation, delivered late,
		// does not bring the reminder back.
		h.Send(renewed("e0", start.Add(30*time.Minute), "2028-04-01"))
		wantNoTimer(t, h)
	})
}

func TestWarrantyOnceNeverFiresTwice(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"on": []string{"warranty.registered"}, "property": "expires_at", "offset": "-30d", "at": "10:30"}
	h, _ := newHarness(t, cfg, "UTC", start)
	registered := sdk.Event{ID: "w1", Type: "warranty.registered", Customer: jane(), OccurredAt: start,
		Properties: map[string]any{"expires_at": "2027-06-30"}}
	h.Send(registered)
	due := utc(2027, 5, 31, 10, 30)
	wantTimer(t, h, due, "2027-05-31")
	wantFire(t, h.Advance(due.Sub(h.Clock.Now())), "default", "2027-05-31")
	stateAfter := h.State(jane())

	// Redelivered event, and the timer delivered a second time: no fire.
	wantNoFire(t, h.Send(registered))
	wantNoTimer(t, h)
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": plugintest.MustConfig(t, cfg)},
		Items: []sdk.EvaluateItem{{
			Rule: "r", Event: sdk.Event{ID: "timer-date", Type: timerFired, Customer: jane()},
			Timer:   &sdk.Timer{ID: timerID, At: due, Data: map[string]any{"key": "2027-05-31"}},
			Profile: sdk.Profile{Customer: jane()}, State: stateAfter, Now: due.Add(time.Minute),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Results[0]; len(r.Fires) != 0 || len(r.SetTimers) != 0 || r.Err != "" {
		t.Fatalf("second delivery of the timer = %+v, want nothing", r)
	}
	wantNoFire(t, h.Advance(5*365*24*time.Hour))
	if len(h.Fires) != 1 {
		t.Fatalf("fires = %+v, want exactly one", h.Fires)
	}
}

func TestPastDateOnceNeverFires(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"on": []string{"warranty.registered"}, "property": "expires_at"}
	for _, expires := range []string{"2026-11-21", "2026-11-22"} { // yesterday; today, 09:00 < now 10:00
		t.Run(expires, func(t *testing.T) {
			t.Parallel()
			h, _ := newHarness(t, cfg, "UTC", start)
			h.Send(sdk.Event{ID: "w1", Type: "warranty.registered", Customer: jane(), Properties: map[string]any{"expires_at": expires}})
			wantNoTimer(t, h)
			wantNoFire(t, h.Advance(3*365*24*time.Hour))
			if len(h.Fires) != 0 {
				t.Fatalf("fires = %+v", h.Fires)
			}
		})
	}
}

func TestOccurrenceExactlyNow(t *testing.T) {
	t.Parallel()
	due := utc(2027, 3, 14, 9, 0)

	t.Run("first seen at the very moment: strictly after now, so next year", func(t *testing.T) {
		t.Parallel()
		h, _ := newHarness(t, birthday, "UTC", due)
		wantNoFire(t, identify(h, "e1", "1990-03-14"))
		wantTimer(t, h, utc(2028, 3, 14, 9, 0), "2028-03-14")
	})

	t.Run("an event at the due moment keeps the pending occurrence", func(t *testing.T) {
		t.Parallel()
		h, _ := newHarness(t, birthday, "UTC", start)
		identify(h, "e1", "1990-03-14")
		h.Clock.Set(due)
		identify(h, "e2", "1990-03-14")
		wantTimer(t, h, due, "2027-03-14")
		// The scheduler runs late: another event a minute later, before it.
		h.Clock.Set(due.Add(time.Minute))
		h.Send(sdk.Event{ID: "e3", Type: "page.viewed", Customer: jane()})
		wantTimer(t, h, due, "2027-03-14")
		wantFire(t, h.Advance(0), "default", "2027-03-14")
		wantTimer(t, h, utc(2028, 3, 14, 9, 0), "2028-03-14")
	})

	t.Run("once, an event at the due moment keeps it", func(t *testing.T) {
		t.Parallel()
		cfg := map[string]any{"on": []string{"subscription.renewed"}, "property": "renews_at", "offset": "-7d"}
		h, _ := newHarness(t, cfg, "UTC", start)
		ev := sdk.Event{ID: "e1", Type: "subscription.renewed", Customer: jane(), OccurredAt: start,
			Properties: map[string]any{"renews_at": "2027-03-21"}}
		h.Send(ev)
		h.Clock.Set(due)
		ev.ID, ev.OccurredAt = "e2", due
		h.Send(ev)
		wantTimer(t, h, due, "2027-03-14")
		wantFire(t, h.Advance(0), "default", "2027-03-14")
		wantNoTimer(t, h)
	})
}

func TestPurchaseAnniversary(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{
		"on": []string{"order.placed"}, "property": "occurred_at", "first_only": true,
		"repeat": "yearly", "at": "18:00", "step": "anniversary",
	}
	first := utc(2026, 3, 14, 10, 0)
	order := func(id string, at time.Time) sdk.Event {
		return sdk.Event{ID: id, Type: "order.placed", Customer: jane(), OccurredAt: at}
	}
	h, _ := newHarness(t, cfg, "UTC", first)
	// 18:00 on the order's own day is later today: the first anniversary
	// is a year on, never the day of the order.
	wantNoFire(t, h.Send(order("o1", first)))
	wantTimer(t, h, utc(2027, 3, 14, 18, 0), "2027-03-14")

	h.Clock.Set(utc(2026, 6, 1, 12, 0))
	h.Send(order("o2", h.Clock.Now()))
	wantTimer(t, h, utc(2027, 3, 14, 18, 0), "2027-03-14")

	// An earlier order delivered late is the first one.
	h.Send(order("o0", utc(2026, 1, 5, 23, 30)))
	wantTimer(t, h, utc(2027, 1, 5, 18, 0), "2027-01-05")

	f := wantFire(t, h.Advance(utc(2027, 1, 5, 18, 0).Sub(h.Clock.Now())), "anniversary", "2027-01-05")
	if f.Data["years"] != float64(1) || f.Data["date"] != "2026-01-05" {
		t.Errorf("data = %+v, want the first anniversary of 2026-01-05", f.Data)
	}
	wantTimer(t, h, utc(2028, 1, 5, 18, 0), "2028-01-05")
}

// An order's occurred_at is an instant: one placed at exactly midnight UTC
// is on the previous day west of Greenwich, unlike a plain date that a CRM
// writes as a midnight timestamp.
func TestOccurredAtAtMidnightUTC(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"on": []string{"order.placed"}, "property": "occurred_at", "repeat": "yearly", "at": "10:00"}
	placed := utc(2026, 1, 6, 0, 0) // 2026-01-05 16:00 in Los Angeles
	h, _ := newHarness(t, cfg, "America/Los_Angeles", placed)
	h.Send(sdk.Event{ID: "o1", Type: "order.placed", Customer: jane(), OccurredAt: placed})
	wantTimer(t, h, utc(2027, 1, 5, 18, 0), "2027-01-05")
	f := wantFire(t, h.Advance(utc(2027, 1, 5, 18, 0).Sub(h.Clock.Now())), "default", "2027-01-05")
	if f.Data["date"] != "2026-01-05" {
		t.Errorf("data = %+v, want the date 2026-01-05", f.Data)
	}

	// The same instant written in a property is read as a plain date.
	cfg = map[string]any{"on": []string{"order.placed"}, "property": "placed_at", "repeat": "yearly", "at": "10:00"}
	h, _ = newHarness(t, cfg, "America/Los_Angeles", placed)
	h.Send(sdk.Event{ID: "o1", Type: "order.placed", Customer: jane(), Properties: map[string]any{"placed_at": "2026-01-06T00:00:00Z"}})
	wantTimer(t, h, utc(2027, 1, 6, 18, 0), "2027-01-06")
}

func TestFirstOnlyIgnoresUnreadableDates(t *testing.T) {
	t.Parallel()
	cfg := map[string]any{"on": []string{"order.placed"}, "property": "placed_on", "first_only": true, "repeat": "yearly"}
	h, logs := newHarness(t, cfg, "UTC", start)
	h.Send(sdk.Event{ID: "o1", Type: "order.placed", Customer: jane(), Properties: map[string]any{"placed_on": "yesterday"}})
	wantNoTimer(t, h)
	h.Send(sdk.Event{ID: "o2", Type: "order.placed", Customer: jane(), Properties: map[string]any{"placed_on": "2026-11-20"}})
	wantTimer(t, h, utc(2027, 11, 20, 9, 0), "2027-11-20")
	if !strings.Contains(logs.String(), "date cannot be read; event ignored") {
		t.Errorf("unreadable date not logged:\n%s", logs)
	}
}

func TestOffsets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		offset string
		want   time.Time
		key    string
	}{
		{"0", utc(2027, 4, 1, 7, 0), "2027-04-01"},
		{"-7d", utc(2027, 3, 25, 8, 0), "2027-03-25"}, // across the DST change: still 09:00 local
		{"+3d", utc(2027, 4, 4, 7, 0), "2027-04-04"},
		{"30d", utc(2027, 5, 1, 7, 0), "2027-05-01"},
		{"-36h", utc(2027, 3, 30, 19, 0), "2027-03-30"}, // a calendar day, then 12 hours, before 09:00
		{"-90m", utc(2027, 4, 1, 5, 30), "2027-04-01"},
	}
	for _, tc := range tests {
		t.Run(tc.offset, func(t *testing.T) {
			t.Parallel()
			cfg := map[string]any{"on": []string{"subscription.renewed"}, "property": "renews_at", "offset": tc.offset}
			h, _ := newHarness(t, cfg, "Europe/Paris", start)
			h.Send(sdk.Event{ID: "e1", Type: "subscription.renewed", Customer: jane(), Properties: map[string]any{"renews_at": "2027-04-01"}})
			wantTimer(t, h, tc.want, tc.key)
		})
	}
}

// evaluateOne runs one item through the plugin over gRPC.
func evaluateOne(t *testing.T, log hclog.Logger, cfg map[string]any, item sdk.EvaluateItem) sdk.Result {
	t.Helper()
	item.Rule = "r"
	resp, err := plugintest.Trigger(t, New(log)).Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": plugintest.MustConfig(t, cfg)},
		Items: []sdk.EvaluateItem{item},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 1 || resp.Results[0].Err != "" {
		t.Fatalf("results = %+v", resp.Results)
	}
	return resp.Results[0]
}

func TestStaleTimerDoesNotFire(t *testing.T) {
	t.Parallel()
	old := sdk.Timer{ID: timerID, At: utc(2027, 3, 14, 8, 0), Data: map[string]any{"key": "2027-03-14"}}
	oldState := `{"date":"1990-03-14","next":{"key":"2027-03-14","at":"2027-03-14T08:00:00Z","year":2027}}`
	movedState := `{"date":"1990-05-01","next":{"key":"2027-05-01","at":"2027-05-01T07:00:00Z","year":2027}}`
	tests := []struct {
		name      string
		cfg       map[string]any
		traits    map[string]any
		tz        string
		state     string
		timer     sdk.Timer
		wantFire  bool
		wantTimer time.Time // zero: no SetTimers
	}{
		{
			name: "current timer fires", cfg: birthday, tz: "Europe/Paris", state: oldState, timer: old,
			traits: map[string]any{"birthday": "1990-03-14"}, wantFire: true, wantTimer: utc(2028, 3, 14, 8, 0),
		},
		{
			name: "replaced timer delivered anyway: the date moved", cfg: birthday, tz: "Europe/Paris", state: movedState, timer: old,
			traits: map[string]any{"birthday": "1990-05-01"},
		},
		{
			name: "trait changed since the timer was set", cfg: birthday, tz: "Europe/Paris", state: oldState, timer: old,
			traits: map[string]any{"birthday": "1990-05-01"}, wantTimer: utc(2027, 5, 1, 7, 0),
		},
		{
			name: "timezone changed since", cfg: birthday, tz: "Asia/Tokyo", state: oldState, timer: old,
			traits: map[string]any{"birthday": "1990-03-14"}, wantTimer: utc(2028, 3, 14, 0, 0),
		},
		{
			// at moved from 09:00 to 10:00: today's occurrence is an hour on.
			name: "config changed since", cfg: map[string]any{"trait": "birthday", "at": "10:00"}, tz: "Europe/Paris", state: oldState, timer: old,
			traits: map[string]any{"birthday": "1990-03-14"}, wantTimer: utc(2027, 3, 14, 9, 0),
		},
		{
			// Not a timer this rule sets: it does not fire, but the due
			// occurrence it stands for is set again, properly keyed.
			name: "timer without its key", cfg: birthday, tz: "Europe/Paris", state: oldState,
			timer:  sdk.Timer{ID: timerID, At: old.At},
			traits: map[string]any{"birthday": "1990-03-14"}, wantTimer: old.At,
		},
		{
			name: "another rule's timer id is not ours", cfg: birthday, tz: "Europe/Paris", state: oldState,
			timer:  sdk.Timer{ID: "other", At: old.At, Data: old.Data},
			traits: map[string]any{"birthday": "1990-03-14"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			timer := tc.timer
			res := evaluateOne(t, hclog.NewNullLogger(), tc.cfg, sdk.EvaluateItem{
				Event: sdk.Event{ID: "timer-date", Type: timerFired, Customer: jane()}, Timer: &timer,
				Profile: sdk.Profile{Customer: jane(), Timezone: tc.tz, Traits: tc.traits},
				State:   []byte(tc.state), Now: timer.At,
			})
			if fired := len(res.Fires) == 1; fired != tc.wantFire || len(res.Fires) > 1 {
				t.Errorf("fires = %+v, want fired %v", res.Fires, tc.wantFire)
			}
			if tc.wantTimer.IsZero() {
				if len(res.SetTimers) != 0 {
					t.Errorf("SetTimers = %+v, want none", res.SetTimers)
				}
			} else if len(res.SetTimers) != 1 || !res.SetTimers[0].At.Equal(tc.wantTimer) {
				t.Errorf("SetTimers = %+v, want one at %s", res.SetTimers, tc.wantTimer)
			}
			if len(res.CancelTimers) != 0 {
				t.Errorf("CancelTimers = %v: the timer that fired is already gone, the pending one must stay", res.CancelTimers)
			}
		})
	}
}

func TestStaleTimerPropertyDateRemoved(t *testing.T) {
	t.Parallel()
	// The renewal was cancelled after the reminder's timer had been taken
	// off the queue: it comes due with no date left, and must not fire.
	cfg := map[string]any{"on": []string{"subscription.renewed"}, "property": "renews_at", "cancel_on": []string{"subscription.cancelled"}}
	res := evaluateOne(t, hclog.NewNullLogger(), cfg, sdk.EvaluateItem{
		Event: sdk.Event{ID: "timer-date", Type: timerFired, Customer: jane()},
		Timer: &sdk.Timer{ID: timerID, At: utc(2027, 4, 1, 9, 0), Data: map[string]any{"key": "2027-04-01"}},
		State: []byte(`{"seen_at":"2027-03-30T00:00:00Z"}`), Now: utc(2027, 4, 1, 9, 0),
		Profile: sdk.Profile{Customer: jane()},
	})
	if len(res.Fires) != 0 || len(res.SetTimers) != 0 {
		t.Fatalf("result = %+v, want no fire and no timer", res)
	}
}

func TestCorruptState(t *testing.T) {
	t.Parallel()
	corrupt := [][]byte{
		[]byte("not json"),
		[]byte(`{"date":5}`),
		[]byte(`{"next":{"key":"` + strings.Repeat("x", 40) + `"}}`),
		[]byte(`[]`),
	}
	for _, st := range corrupt {
		t.Run(string(st), func(t *testing.T) {
			t.Parallel()
			log, logs := newLogger()
			// Trait: the date is in the profile, so the schedule is rebuilt.
			res := evaluateOne(t, log, birthday, sdk.EvaluateItem{
				Event: sdk.Event{ID: "e1", Type: "page.viewed", Customer: jane()}, State: st, Now: start,
				Profile: sdk.Profile{Customer: jane(), Traits: map[string]any{"birthday": "1990-03-14"}},
			})
			if len(res.SetTimers) != 1 || !res.SetTimers[0].At.Equal(utc(2027, 3, 14, 9, 0)) {
				t.Errorf("SetTimers = %+v, want the schedule rebuilt", res.SetTimers)
			}
			var got state
			if err := json.Unmarshal(res.State, &got); err != nil || got.Date != "1990-03-14" {
				t.Errorf("state = %s (%v)", res.State, err)
			}
			if !strings.Contains(logs.String(), "rule state does not decode; starting afresh") {
				t.Errorf("not logged:\n%s", logs)
			}

			// Property: the date is lost with the state. An event that is
			// not about the date leaves the state alone; the pending timer
			// comes due stale and does not fire; the next on event
			// starts afresh.
			property := map[string]any{"on": []string{"subscription.renewed"}, "property": "renews_at"}
			res = evaluateOne(t, hclog.NewNullLogger(), property, sdk.EvaluateItem{
				Event: sdk.Event{ID: "e1", Type: "page.viewed", Customer: jane()}, State: st, Now: start,
				Profile: sdk.Profile{Customer: jane()},
			})
			if string(res.State) != string(st) || len(res.SetTimers)+len(res.CancelTimers)+len(res.Fires) != 0 {
				t.Errorf("unrelated event: %+v, want the state handed back and nothing else", res)
			}
			due := utc(2027, 4, 1, 9, 0)
			res = evaluateOne(t, hclog.NewNullLogger(), property, sdk.EvaluateItem{
				Event: sdk.Event{ID: "timer-date", Type: timerFired, Customer: jane()},
				Timer: &sdk.Timer{ID: timerID, At: due, Data: map[string]any{"key": "2027-04-01"}},
				State: st, Now: due, Profile: sdk.Profile{Customer: jane()},
			})
			if res.State != nil || len(res.Fires)+len(res.SetTimers) != 0 {
				t.Errorf("timer: %+v, want no fire and the state deleted", res)
			}
			res = evaluateOne(t, hclog.NewNullLogger(), property, sdk.EvaluateItem{
				Event: sdk.Event{ID: "e2", Type: "subscription.renewed", Customer: jane(), OccurredAt: start,
					Properties: map[string]any{"renews_at": "2027-04-01"}},
				State: st, Now: start, Profile: sdk.Profile{Customer: jane()},
			})
			if len(res.SetTimers) != 1 || !res.SetTimers[0].At.Equal(due) {
				t.Errorf("on event: %+v, want the reminder scheduled", res)
			}
		})
	}
}

func TestEvaluateBatch(t *testing.T) {
	t.Parallel()
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	profile := sdk.Profile{Customer: jane(), Traits: map[string]any{"birthday": "1990-03-14"}}
	resp, err := trig.Evaluate(context.Background(), &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{
			"birthday": plugintest.MustConfig(t, birthday),
			"renewal":  plugintest.MustConfig(t, map[string]any{"on": []string{"subscription.renewed"}, "property": "renews_at"}),
			"broken":   plugintest.MustConfig(t, map[string]any{"trait": "birthday", "at": "9am"}),
		},
		Items: []sdk.EvaluateItem{
			{Rule: "birthday", Event: sdk.Event{ID: "a", Type: "identify", Customer: jane()}, Profile: profile, Now: start},
			{Rule: "renewal", Event: sdk.Event{ID: "a", Type: "identify", Customer: jane()}, Profile: profile, Now: start, State: []byte(`{"date":"2027-04-01"}`)},
			{Rule: "broken", Event: sdk.Event{ID: "a", Type: "identify", Customer: jane()}, Profile: profile, Now: start, State: []byte("kept")},
			{Rule: "missing", Event: sdk.Event{ID: "a", Type: "identify", Customer: jane()}, Profile: profile, Now: start},
		},
	})
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if len(resp.Results) != 4 {
		t.Fatalf("results = %+v, want 4", resp.Results)
	}
	if r := resp.Results[0]; r.Err != "" || len(r.SetTimers) != 1 {
		t.Errorf("birthday: %+v", r)
	}
	if r := resp.Results[1]; r.Err != "" || string(r.State) != `{"date":"2027-04-01"}` || len(r.SetTimers)+len(r.CancelTimers) != 0 {
		t.Errorf("renewal, unrelated event: %+v, want the state handed back and nothing else", r)
	}
	if r := resp.Results[2]; !strings.Contains(r.Err, "at:") || string(r.State) != "kept" {
		t.Errorf("broken: %+v, want an error naming at", r)
	}
	if r := resp.Results[3]; r.Err == "" {
		t.Errorf("missing rule: %+v, want an error", r)
	}
}

func TestEvaluateCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(hclog.NewNullLogger()).Evaluate(ctx, &sdk.EvaluateRequest{
		Rules: map[string]sdk.RawConfig{"r": plugintest.MustConfig(t, birthday)},
		Items: []sdk.EvaluateItem{{Rule: "r", Event: sdk.Event{Type: "identify"}, Now: start}},
	})
	if err == nil {
		t.Fatal("Evaluate with a cancelled context succeeded")
	}
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	const root = "(block)"
	tests := []struct {
		name     string
		config   string
		wantPath string // empty: valid
	}{
		{"trait", `{"trait":"birthday"}`, ""},
		{"trait with all", `{"trait":"birthday","offset":"-7d","at":"18:30","repeat":"once","step":"s"}`, ""},
		{"property", `{"on":["subscription.renewed"],"property":"renews_at","offset":"+30d","cancel_on":["subscription.cancelled"]}`, ""},
		{"occurred_at first_only", `{"on":["order.*"],"property":"occurred_at","first_only":true,"repeat":"yearly"}`, ""},
		{"offset hours", `{"trait":"b","offset":"-36h"}`, ""},
		{"both trait and property", `{"trait":"birthday","on":["x"],"property":"renews_at"}`, "property"},
		{"neither", `{}`, root},
		{"on without property", `{"on":["x"]}`, "property"},
		{"property without on", `{"property":"renews_at"}`, "on"},
		{"blank trait", `{"trait":"  "}`, "trait"},
		{"blank property", `{"on":["x"],"property":" "}`, "property"},
		{"on with trait", `{"trait":"birthday","on":["identify"]}`, "on"},
		{"first_only with trait", `{"trait":"birthday","first_only":true}`, "first_only"},
		{"cancel_on with trait", `{"trait":"birthday","cancel_on":["x"]}`, "cancel_on"},
		{"empty on entry", `{"on":["x",""],"property":"p"}`, "on[1]"},
		{"timer.fired in on", `{"on":["timer.fired"],"property":"p"}`, "on[0]"},
		{"cancel_on also in on", `{"on":["x"],"property":"p","cancel_on":["y","x"]}`, "cancel_on[1]"},
		{"at 9am", `{"trait":"b","at":"9am"}`, "at"},
		{"at without leading zero", `{"trait":"b","at":"9:00"}`, "at"},
		{"at 24:00", `{"trait":"b","at":"24:00"}`, "at"},
		{"at empty", `{"trait":"b","at":""}`, "at"},
		{"at not a string", `{"trait":"b","at":9}`, "at"},
		{"offset words", `{"trait":"b","offset":"7 days before"}`, "offset"},
		{"offset double sign", `{"trait":"b","offset":"--7d"}`, "offset"},
		{"offset sign after plus", `{"trait":"b","offset":"+-7d"}`, "offset"},
		{"offset empty", `{"trait":"b","offset":""}`, "offset"},
		{"repeat monthly", `{"trait":"b","repeat":"monthly"}`, "repeat"},
		{"repeat empty", `{"trait":"b","repeat":""}`, "repeat"},
		{"empty step", `{"trait":"b","step":""}`, "step"},
		{"first_only not a bool", `{"on":["x"],"property":"p","first_only":"yes"}`, "first_only"},
	}
	trig := plugintest.Trigger(t, New(hclog.NewNullLogger()))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := trig.ValidateConfig(context.Background(), &sdk.ValidateConfigRequest{Config: sdk.RawConfig(tc.config)})
			if err != nil {
				t.Fatalf("ValidateConfig: %v", err)
			}
			if tc.wantPath == "" {
				if len(resp.Diagnostics) != 0 {
					t.Fatalf("diagnostics = %+v, want none", resp.Diagnostics)
				}
				return
			}
			if len(resp.Diagnostics) != 1 || !resp.Diagnostics.HasErrors() {
				t.Fatalf("diagnostics = %+v, want one error", resp.Diagnostics)
			}
			got := resp.Diagnostics[0].Path.String()
			if got == "" {
				got = root
			}
			if got != tc.wantPath {
				t.Errorf("path = %q, want %q (%+v)", got, tc.wantPath, resp.Diagnostics)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		config     string
		wantRepeat string
	}{
		{`{"trait":"birthday"}`, RepeatYearly},
		{`{"on":["x"],"property":"p"}`, RepeatOnce},
		{`{"on":["x"],"property":"p","repeat":"yearly"}`, RepeatYearly},
	}
	for _, tc := range tests {
		cfg, resp := decodeConfig(sdk.RawConfig(tc.config))
		if resp.Diagnostics.HasErrors() {
			t.Fatalf("%s: %+v", tc.config, resp.Diagnostics)
		}
		if cfg.Repeat != tc.wantRepeat || cfg.At != "09:00" || cfg.hour != 9 || cfg.minute != 0 || cfg.offsetDays != 0 || cfg.offsetRest != 0 || cfg.Step != DefaultStep {
			t.Errorf("%s: decoded %+v, want repeat %s, 09:00, no offset, step %s", tc.config, cfg, tc.wantRepeat, DefaultStep)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	d, err := plugintest.Trigger(t, New(hclog.NewNullLogger())).Describe(context.Background())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Name != "date" || d.Kind != sdk.KindTrigger || d.Version != pluginVersion || d.ProtocolVersion != sdk.ProtocolVersion || d.Description == "" {
		t.Errorf("identity = %+v", d)
	}
	want := map[string]sdk.AttrType{
		"trait": sdk.TypeString, "on": sdk.TypeEventTypes, "property": sdk.TypeString,
		"first_only": sdk.TypeBool, "cancel_on": sdk.TypeEventTypes, "offset": sdk.TypeString,
		"at": sdk.TypeString, "repeat": sdk.TypeString, "step": sdk.TypeString,
	}
	if len(d.Schema.Attributes) != len(want) || len(d.Schema.Blocks) != 0 {
		t.Fatalf("schema = %+v", d.Schema)
	}
	for _, a := range d.Schema.Attributes {
		if typ, ok := want[a.Name]; !ok || a.Type != typ || a.Required || a.Description == "" {
			t.Errorf("attribute %+v, want optional %s with a description", a, typ)
		}
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		in   string
		want string // empty: not a date
	}{
		{"1990-03-14", "1990-03-14"},
		{" 1990-03-14 ", "1990-03-14"},
		{"03-14", "--03-14"},
		{"--03-14", "--03-14"},
		{"02-29", "--02-29"},
		{"1990-03-14T00:00:00Z", "1990-03-14"},      // midnight: the written date
		{"1990-03-14T00:00:00+05:00", "1990-03-14"}, // midnight in its own offset
		{"1990-03-14T03:00:00Z", "1990-03-13"},      // an instant: the date in New York
		{"2027-04-01T10:00:00.5+02:00", "2027-04-01"},
		{"@637372800", "1990-03-14"},     // UTC midnight, seconds
		{"@637372800000", "1990-03-14"},  // milliseconds
		{"@637390800", "1990-03-14"},     // 05:00Z is 00:00 in New York
		{"@637387200", "1990-03-13"},     // 04:00Z is 23:00 the day before
		{"@-315619200", "1960-01-01"},    // before 1970
		{"@-315619200000", "1960-01-01"}, // ms before 1970
		{"@1806580800.75", "2027-04-01"}, // fractions of a second
		{"2023-02-29", ""},               // no such day
		{"13-01", ""},                    // no such month
		{"02-30", ""},                    // no such day in any year
		{"1990/03/14", ""},               //
		{"14.03.1990", ""},               //
		{"1990-03-14T25:00:00Z", ""},     //
		{"0000-01-01", ""},               // year 0
		{"@", ""},                        //
		{"@1e9", ""},                     // exponents are not Unix times here
		{"@0x10", ""},                    //
		{"@1--2", ""},                    //
		{"@99999999999999999", ""},       // out of range
		{"", ""},                         //
		{"next tuesday", ""},             //
		{strings.Repeat("1", 100), ""},   //
		{"1990-03-14" + strings.Repeat(" x", 40), ""},
	}
	for _, tc := range tests {
		got, err := parseDate(tc.in, ny)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("parseDate(%q) = %s, want an error", tc.in, got)
		case tc.want != "" && (err != nil || got.String() != tc.want):
			t.Errorf("parseDate(%q) = %s, %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestValueString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"", ""},
		{" 1990-03-14 ", "1990-03-14"},
		{float64(637372800), "@637372800"},
		{float64(1.5), "@1.5"},
		{true, "true"},
		{map[string]any{"y": 1990.0}, `{"y":1990}`},
		{strings.Repeat("é", 40), strings.Repeat("é", 32) + "…"},
		{"a\xffb", "a\uFFFDb"}, // as it reads back from JSON state
	}
	for _, tc := range tests {
		if got := valueString(tc.in); got != tc.want {
			t.Errorf("valueString(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMonthDayNeedsYearly(t *testing.T) {
	t.Parallel()
	h, logs := newHarness(t, map[string]any{"trait": "birthday", "repeat": "once"}, "UTC", start)
	identify(h, "e1", "03-14")
	wantNoTimer(t, h)
	if !strings.Contains(logs.String(), "the date has no year") {
		t.Errorf("not logged:\n%s", logs)
	}
	identify(h, "e2", "2027-03-14")
	wantTimer(t, h, utc(2027, 3, 14, 9, 0), "2027-03-14")
}

func TestStateAfterFiringAndRemoval(t *testing.T) {
	t.Parallel()
	h, _ := newHarness(t, birthday, "UTC", start)
	identify(h, "e1", "1990-03-14")
	wantFire(t, h.Advance(utc(2027, 3, 14, 9, 0).Sub(start)), "default", "2027-03-14")
	want := `{"date":"1990-03-14","next":{"key":"2028-03-14","at":"2028-03-14T09:00:00Z","year":2028},"fired":"2027-03-14"}`
	if got := string(h.State(jane())); got != want {
		t.Errorf("state = %s, want %s", got, want)
	}
	identify(h, "e2", nil)
	wantNoTimer(t, h)
	if st := h.State(jane()); st != nil {
		t.Errorf("state = %s, want deleted once the date is gone", st)
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{[]string{"order.placed"}, "order.placed", true},
		{[]string{"order.placed"}, "order.paid", false},
		{[]string{"order.*"}, "order.paid", true},
		{[]string{"order.*"}, "orders.paid", false},
		{[]string{"*"}, "anything", true},
		{[]string{"*"}, timerFired, false},
		{nil, "order.placed", false},
	}
	for _, tc := range tests {
		if got := matches(tc.patterns, tc.typ); got != tc.want {
			t.Errorf("matches(%v, %q) = %v, want %v", tc.patterns, tc.typ, got, tc.want)
		}
	}
}
