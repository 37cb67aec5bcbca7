package simulate_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/simulate"
)

func TestReadLines(t *testing.T) {
	t.Parallel()
	input := `# a comment, then a blank line

{"id":"e1","type":"checkout.updated","occurred_at":"2026-01-05T10:00:00Z","customer":{"id":"c-1","email":"Jane@Example.com"},"properties":{"checkout_id":"k1","value":40}}
   # an indented comment
{"source":"shop","received_at":"2026-01-05T10:05:00Z","header":{"x-signature-256":["abc"]},"body":"eyJ0eXBlIjoib3JkZXIucGxhY2VkIn0="}
{"type":"page.viewed","customer":{"anonymous_id":"a-9"}}
`
	var got []simulate.Item
	err := simulate.ReadLines(strings.NewReader(input), "events.jsonl", func(it simulate.Item) error {
		got = append(got, it)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d items, want 3: %+v", len(got), got)
	}

	ev := got[0]
	if ev.Pos != "events.jsonl:3" || ev.Event == nil || ev.Raw != nil {
		t.Fatalf("item 1: %+v", ev)
	}
	if ev.Event.Type != "checkout.updated" || ev.Event.Customer.Key() != "id:c-1" || ev.Event.Customer.Email != "jane@example.com" {
		t.Fatalf("event 1: %+v", ev.Event)
	}
	if v, _ := ev.Event.Properties["value"].(float64); v != 40 {
		t.Fatalf("event 1 value %#v, want float64 40", ev.Event.Properties["value"])
	}
	if want := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC); !ev.Time().Equal(want) {
		t.Fatalf("event 1 time %s, want its occurred_at %s", ev.Time(), want)
	}

	raw := got[1]
	if raw.Pos != "events.jsonl:5" || raw.Raw == nil || raw.Event != nil {
		t.Fatalf("item 2: %+v", raw)
	}
	if raw.Raw.Source != "shop" || string(raw.Raw.Body) != `{"type":"order.placed"}` ||
		raw.Raw.Method != "POST" || raw.Raw.URL != "/v1/webhooks/shop" {
		t.Fatalf("raw webhook: %+v", raw.Raw)
	}
	if raw.Raw.Header.Get("X-Signature-256") != "abc" {
		t.Fatalf("raw webhook header not canonicalised: %v", raw.Raw.Header)
	}
	if want := time.Date(2026, 1, 5, 10, 5, 0, 0, time.UTC); !raw.Time().Equal(want) {
		t.Fatalf("raw time %s, want %s", raw.Time(), want)
	}
	if !got[2].Time().IsZero() || got[2].Event.Customer.Key() != "anon:a-9" {
		t.Fatalf("item 3: %+v", got[2].Event)
	}
}

func TestReadLinesErrors(t *testing.T) {
	t.Parallel()
	good := `{"type":"order.placed","customer":{"id":"c-1"}}`
	cases := []struct {
		name, line, want string
	}{
		{"not json", `{"type":`, "invalid JSON"},
		{"not an object", `[1,2]`, "want a JSON object"},
		{"reserved type", `{"type":"timer.fired","customer":{"id":"c-1"}}`, `"timer.fired" is reserved`},
		{"gateway type", `{"type":"triggergate.merged","customer":{"id":"c-1"}}`, "reserved"},
		{"no customer", `{"type":"order.placed","customer":{}}`, "no customer identity"},
		{"no type", `{"customer":{"id":"c-1"}}`, "no type"},
		{"misspelt field", `{"type":"order.placed","customer":{"id":"c-1"},"propertes":{}}`, `unknown field "propertes"`},
		{"slash in id", `{"id":"a/b","type":"order.placed","customer":{"id":"c-1"}}`, `must not contain "/"`},
		{"bad time", `{"type":"order.placed","occurred_at":"yesterday","customer":{"id":"c-1"}}`, "canonical event"},
		{"raw without source name", `{"source":"","body":""}`, "is not a source name"},
		{"raw with bad body", `{"source":"shop","body":"not base64!"}`, "raw webhook record"},
		{"raw with bad url", `{"source":"shop","body":"","url":"::"}`, "url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			input := good + "\n# comment\n" + c.line + "\n" + good + "\n"
			n := 0
			err := simulate.ReadLines(strings.NewReader(input), "in.jsonl", func(simulate.Item) error { n++; return nil })
			if err == nil || !strings.HasPrefix(err.Error(), "in.jsonl:3: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one starting in.jsonl:3: containing %q", err, c.want)
			}
			if n != 1 {
				t.Fatalf("%d items before the error, want 1 (reading stops at the bad line)", n)
			}
		})
	}
}

func TestReadLinesStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	input := `{"type":"a","customer":{"id":"1"}}` + "\n" + `{"type":"b","customer":{"id":"1"}}` + "\n"
	n := 0
	err := simulate.ReadLines(strings.NewReader(input), "x", func(simulate.Item) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("error %v after %d items, want stop after 1", err, n)
	}
}

func TestReadLinesTooLong(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString(`{"type":"a","customer":{"id":"1"}}` + "\n")
	b.WriteString(`{"type":"a","customer":{"id":"1"},"properties":{"x":"`)
	b.Write(bytes.Repeat([]byte("x"), simulate.MaxLine))
	b.WriteString(`"}}` + "\n")
	n := 0
	err := simulate.ReadLines(&b, "big.jsonl", func(simulate.Item) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "big.jsonl:2: line longer than 32 MiB") {
		t.Fatalf("error %v, want big.jsonl:2: line longer than 32 MiB", err)
	}
	if n != 1 {
		t.Fatalf("%d items read, want 1", n)
	}
}

// FuzzDecodeLine checks that no line panics the decoder and that what it
// accepts is something the simulation can send.
func FuzzDecodeLine(f *testing.F) {
	for _, seed := range []string{
		`{"id":"e1","type":"checkout.updated","occurred_at":"2026-01-05T10:00:00Z","customer":{"id":"c-1"},"properties":{"value":40}}`,
		`{"type":"page.viewed","customer":{"anonymous_id":"a"},"traits":{"first_name":"Jane"}}`,
		`{"source":"shop","received_at":"2026-01-05T10:05:00Z","header":{"X-A":["b"]},"body":"e30="}`,
		`{"source":"shop","body":"e30=","url":"/v1/webhooks/shop?x=1","method":"PUT"}`,
		`{"type":"timer.fired","customer":{"id":"c"}}`,
		`{"type":"x","customer":{"external_ids":{"shop":"1"}}}`,
		`{}`, `[]`, `null`, `{"type":1}`, `{"source":"a","body":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		it, err := simulate.DecodeLine(line)
		if err != nil {
			return
		}
		switch {
		case it.Event != nil && it.Raw != nil, it.Event == nil && it.Raw == nil:
			t.Fatalf("decoded %q to %+v: want exactly one of event and raw webhook", line, it)
		case it.Event != nil:
			if it.Event.Type == "" || it.Event.Customer.Key() == "" || strings.Contains(it.Event.ID, "/") {
				t.Fatalf("accepted an event the log cannot take: %+v", it.Event)
			}
		case it.Raw != nil:
			if it.Raw.Source == "" || strings.Contains(it.Raw.Source, "/") {
				t.Fatalf("accepted a raw webhook without a usable source: %+v", it.Raw)
			}
			if _, err := it.Raw.Request(); err != nil {
				t.Fatalf("accepted a raw webhook that makes no request: %v", err)
			}
		}
	})
}
