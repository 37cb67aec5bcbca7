package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxValueLen bounds the date values the rule reads and keeps in its state.
// The longest accepted form (RFC 3339 with nanoseconds and an offset) is 35
// bytes; anything longer is not a date.
const maxValueLen = 64

// unixMillisFrom is the magnitude from which a Unix time is read as
// milliseconds rather than seconds: 1e11 seconds is the year 5138, 1e11
// milliseconds is March 1973.
const unixMillisFrom = 1e11

// errNoDate is what parseDate reports for a value that is not a date.
var errNoDate = errors.New("not a date: write it as YYYY-MM-DD, an RFC 3339 timestamp, MM-DD, or a Unix time (a number)")

// civil is a calendar date without a time of day or a zone. A zero Year
// means a month and day that recur every year, such as a birthday written
// "03-14".
type civil struct {
	Year  int
	Month time.Month
	Day   int
}

// String writes the date as ISO 8601 does: "1990-03-14", or "--03-14"
// without a year.
func (c civil) String() string {
	if c.Year == 0 {
		return fmt.Sprintf("--%02d-%02d", int(c.Month), c.Day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", c.Year, int(c.Month), c.Day)
}

// parseDate reads a date as traits and event properties carry it. loc is
// the customer's timezone: it gives the calendar date of an instant. An
// instant at exactly midnight of its own UTC offset is taken at its written
// date instead, since that is how many CRMs write a plain date
// ("1990-03-14T00:00:00Z") and converting it would move birthdays a day
// back west of Greenwich.
func parseDate(s string, loc *time.Location) (civil, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxValueLen {
		return civil{}, errNoDate
	}
	switch {
	case s[0] == '@':
		t, err := parseUnix(s[1:])
		if err != nil {
			return civil{}, err
		}
		return instantDate(t, loc)
	case len(s) == 5 && s[2] == '-':
		return parseMonthDay(s)
	case len(s) == 7 && strings.HasPrefix(s, "--"):
		return parseMonthDay(s[2:])
	case len(s) == len("2006-01-02"):
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return civil{}, errNoDate
		}
		return dateOf(t)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return civil{}, errNoDate
	}
	return instantDate(t, loc)
}

// parseOccurredAt reads an event's own occurred_at as observe keeps it
// (RFC 3339 in UTC). It is always an instant, whose date is the one in the
// customer's timezone: the midnight rule of parseDate is for plain dates
// that CRMs write as timestamps, and an order placed at 00:00 UTC is on the
// previous day in Los Angeles.
func parseOccurredAt(s string, loc *time.Location) (civil, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return civil{}, errNoDate
	}
	return dateOf(t.In(loc))
}

// parseMonthDay reads "MM-DD". February 29 is allowed: in years without
// it, the occurrence falls on February 28.
func parseMonthDay(s string) (civil, error) {
	// 2000 is a leap year, so every real month-day parses.
	t, err := time.Parse(time.DateOnly, "2000-"+s)
	if err != nil {
		return civil{}, errNoDate
	}
	return civil{Month: t.Month(), Day: t.Day()}, nil
}

// parseUnix reads a Unix time in seconds, or in milliseconds from
// unixMillisFrom on, as JSON numbers carry it (Stripe's current_period_end,
// HubSpot's date properties).
func parseUnix(s string) (time.Time, error) {
	for i, r := range s {
		if (r < '0' || r > '9') && r != '.' && !(i == 0 && r == '-') {
			return time.Time{}, errNoDate
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1e15 {
		return time.Time{}, errNoDate
	}
	if math.Abs(v) >= unixMillisFrom {
		return time.UnixMilli(int64(v)).UTC(), nil
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// instantDate is the calendar date of an instant for the customer: its
// written date when it is exactly midnight in its own offset, else its
// date in loc.
func instantDate(t time.Time, loc *time.Location) (civil, error) {
	if h, m, s := t.Clock(); h != 0 || m != 0 || s != 0 || t.Nanosecond() != 0 {
		t = t.In(loc)
	}
	return dateOf(t)
}

func dateOf(t time.Time) (civil, error) {
	y, m, d := t.Date()
	if y < 1 || y > 9999 {
		return civil{}, errNoDate
	}
	return civil{Year: y, Month: m, Day: d}, nil
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// occurrence is one moment the rule is due for a customer.
type occurrence struct {
	// Key is the local calendar date of At in the customer's timezone. It
	// is the fire's key, so the host sends each occurrence at most once.
	Key string `json:"key"`
	// At is when the occurrence is due, in UTC.
	At time.Time `json:"at"`
	// Year is the year of the date the occurrence stands for (before the
	// offset), e.g. 2027 for the reminder a week before the 2027 birthday.
	Year int `json:"year"`
}

// same reports whether two occurrences are the same moment for the same
// date.
func (o occurrence) same(other occurrence) bool {
	return o.Key == other.Key && o.At.Equal(other.At) && o.Year == other.Year
}

// schedule is a rule's timing applied to one customer's date.
type schedule struct {
	date   civil
	yearly bool
	// days are the whole days of the offset, added as calendar days so
	// that 09:00 stays 09:00 across a DST change; rest is the remainder
	// (under a day), added as elapsed time.
	days   int
	rest   time.Duration
	hour   int
	minute int
	loc    *time.Location
}

// in returns the occurrence for the date in a given year. February 29
// falls on February 28 in years without it.
func (s *schedule) in(year int) (occurrence, bool) {
	if year < 1 || year > 9999 {
		return occurrence{}, false
	}
	m, d := s.date.Month, s.date.Day
	if m == time.February && d == 29 && !isLeap(year) {
		d = 28
	}
	at := time.Date(year, m, d+s.days, s.hour, s.minute, 0, 0, s.loc).Add(s.rest)
	local := at.In(s.loc)
	if local.Year() < 1 || local.Year() > 9999 {
		return occurrence{}, false
	}
	return occurrence{Key: local.Format(time.DateOnly), At: at.UTC(), Year: year}, true
}

// after returns the first occurrence strictly after t. Yearly dates recur
// on their anniversaries, from the year after their own (a date without a
// year recurs every year); other dates occur once, in their own year.
func (s *schedule) after(t time.Time) (occurrence, bool) {
	if !s.yearly {
		o, ok := s.in(s.date.Year)
		return o, ok && o.At.After(t)
	}
	first := 1
	if s.date.Year != 0 {
		first = s.date.Year + 1
	}
	// Start a couple of years before the one whose occurrence lands near t
	// (the offset moves it by days/365.2425 years) and walk forward:
	// occurrences strictly increase with the year.
	y := max(first, t.In(s.loc).Year()-s.days/365-2)
	for n := 0; n < 8 && y <= 9999; n, y = n+1, y+1 {
		if o, ok := s.in(y); ok && o.At.After(t) {
			return o, true
		}
	}
	return occurrence{}, false
}

// holds reports whether o is still an occurrence of this schedule: the
// date, the timezone and the rule's timing all still give it.
func (s *schedule) holds(o occurrence) bool {
	got, ok := s.after(o.At.Add(-time.Nanosecond))
	return ok && got.At.Equal(o.At) && got.Key == o.Key
}
