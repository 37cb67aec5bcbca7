package simulate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/archive"
	"github.com/triggergate/triggergate/sdk"
)

// MaxLine bounds one input line, so that a runaway file cannot make the
// simulation allocate without limit.
const MaxLine = 32 << 20

// Item is one line of simulation input: a canonical event, or a raw
// webhook as recorded by the archive, which the configuration's source
// verifies and maps as the ingest would.
type Item struct {
	// Pos is where the line came from: "file:line".
	Pos string
	// Event is the canonical event, when the line is one.
	Event *sdk.Event
	// Raw is the recorded webhook, when the line is one.
	Raw *archive.Record
}

// Time is when the item reached the gateway: the webhook's received_at,
// the event's received_at, else its occurred_at; zero when it says none.
func (it Item) Time() time.Time {
	switch {
	case it.Raw != nil:
		return it.Raw.ReceivedAt
	case it.Event == nil:
		return time.Time{}
	case !it.Event.ReceivedAt.IsZero():
		return it.Event.ReceivedAt
	}
	return it.Event.OccurredAt
}

// probe is what DecodeLine looks at to tell a raw webhook from an event.
type probe struct {
	Type   *json.RawMessage `json:"type"`
	Source *json.RawMessage `json:"source"`
	Body   *json.RawMessage `json:"body"`
}

// DecodeLine decodes one input line that is neither blank nor a comment:
// a JSON object holding "source" and "body" but no "type" is a raw
// webhook, anything else must be a canonical event. Events are checked as
// the ingest checks them: a type that is not reserved, a customer
// identity, ids and source names the event log can key.
func DecodeLine(line []byte) (Item, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return Item{}, errors.New("want a JSON object (a canonical event or a raw webhook record)")
	}
	var p probe
	if err := json.Unmarshal(line, &p); err != nil {
		return Item{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if p.Type == nil && p.Source != nil && p.Body != nil {
		raw, err := decodeRaw(line)
		if err != nil {
			return Item{}, err
		}
		return Item{Raw: raw}, nil
	}
	ev, err := decodeEvent(line)
	if err != nil {
		return Item{}, err
	}
	return Item{Event: ev}, nil
}

func decodeRaw(line []byte) (*archive.Record, error) {
	var r archive.Record
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("raw webhook record: %w", err)
	}
	if err := checkRaw(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// checkRaw checks a raw webhook record and fills in its defaults.
func checkRaw(r *archive.Record) error {
	if r.Source == "" || strings.Contains(r.Source, "/") {
		return fmt.Errorf("raw webhook record: source %q is not a source name", clip(r.Source))
	}
	if r.Method == "" {
		r.Method = http.MethodPost
	}
	if r.URL == "" {
		r.URL = "/v1/webhooks/" + r.Source
	}
	if _, err := url.ParseRequestURI(r.URL); err != nil {
		return fmt.Errorf("raw webhook record: url: %w", err)
	}
	h := make(http.Header, len(r.Header))
	for k, vs := range r.Header {
		for _, v := range vs {
			h.Add(k, v) // canonicalises the name, as net/http would
		}
	}
	r.Header = h
	r.ReceivedAt = r.ReceivedAt.UTC()
	return nil
}

func decodeEvent(line []byte) (*sdk.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields() // a misspelt field would silently drop data
	var ev sdk.Event
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("canonical event: %w", err)
	}
	if dec.More() {
		return nil, errors.New("canonical event: more than one JSON value on the line")
	}
	switch {
	case ev.Type == "":
		return nil, errors.New("canonical event: no type (a raw webhook record needs \"source\" and \"body\")")
	case sdk.ReservedType(ev.Type):
		return nil, fmt.Errorf("event type %q is reserved for events the gateway makes itself", clip(ev.Type))
	case ev.Customer.Key() == "":
		return nil, errors.New("event has no customer identity (customer.id, email, phone, external_ids or anonymous_id)")
	case strings.Contains(ev.ID, "/"):
		return nil, fmt.Errorf("event id %q must not contain \"/\"", clip(ev.ID))
	case strings.Contains(ev.Source, "/"):
		return nil, fmt.Errorf("event source %q must not contain \"/\"", clip(ev.Source))
	}
	ev.Customer.Email = strings.ToLower(ev.Customer.Email)
	ev.OccurredAt, ev.ReceivedAt = ev.OccurredAt.UTC(), ev.ReceivedAt.UTC()
	return &ev, nil
}

// ReadArchive reads raw webhook records with archive.Read: gzip-compressed
// or plain archive files, or directories of them. Positions count the
// records of each file ("webhooks.jsonl.gz: record 3").
func ReadArchive(path string, fn func(Item) error) error {
	n := 0
	return archive.Read([]string{path}, archive.Filter{}, func(rec *archive.Record) error {
		n++
		pos := fmt.Sprintf("%s: record %d", path, n)
		if err := checkRaw(rec); err != nil {
			return fmt.Errorf("%s: %w", pos, err)
		}
		return fn(Item{Pos: pos, Raw: rec})
	})
}

// ReadLines reads JSON-lines input from r, calling fn with each item in
// order. Blank lines and lines starting with # are skipped. name is the
// file's name in positions ("events.jsonl:3"); every error names the
// line. Reading stops at the first error, fn's included.
func ReadLines(r io.Reader, name string, fn func(Item) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		pos := fmt.Sprintf("%s:%d", name, n)
		it, err := DecodeLine(line)
		if err != nil {
			return fmt.Errorf("%s: %w", pos, err)
		}
		it.Pos = pos
		if err := fn(it); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d MiB", name, n+1, MaxLine>>20)
		}
		return fmt.Errorf("reading %s after line %d: %w", name, n, err)
	}
	return nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
