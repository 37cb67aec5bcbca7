package tracking

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

var fuzzKey = bytes.Repeat([]byte("k"), 32)

func fuzzClaims() Claims {
	return Claims{MessageID: "01J9ZQ3V6D5N2G7K8M4P1R0S9T", Customer: "email:jane@example.com", Trigger: "t", Step: "s", Channel: "email"}
}

// FuzzParse feeds Parse arbitrary tokens, and arbitrary payloads correctly
// signed (what only a key holder could make), so the decoder behind the
// MAC is exercised too. Parse must never panic, and whatever it accepts
// must be valid claims that encode back to the same payload.
func FuzzParse(f *testing.F) {
	s, err := NewSigner(fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	c := fuzzClaims()
	c.Kind, c.URL = KindClick, "https://shop.example.com/?a=1"
	f.Add([]byte(s.Token(c)))
	c.Kind, c.URL = KindUnsubscribe, ""
	f.Add([]byte(s.Token(c)))
	f.Add(encodeClaims(c))
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := s.Parse(string(data)); err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted invalid claims %+v: %v", c, err)
			}
		}
		signed := b64.EncodeToString(append(bytes.Clone(data), s.tag(s.keys[0], data)...))
		c, err := s.Parse(signed)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted invalid claims %+v: %v", c, err)
		}
		if c.Kind == KindClick && !trackableURL(c.URL) {
			t.Fatalf("Parse accepted a click to %q", c.URL)
		}
		again, err := decodeClaims(encodeClaims(c))
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("claims do not survive a round trip: %+v -> %+v, %v", c, again, err)
		}
	})
}

// FuzzDecorate checks that Decorate never panics and changes nothing but
// what it means to: with the pixel taken out, the output tokenizes to the
// input's tokens, byte for byte, except that tracked links' hrefs now hold
// tokens that parse back to the link's URL.
func FuzzDecorate(f *testing.F) {
	s, err := NewSigner(fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	l, err := NewLinks("https://t.example.com", s)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		`<html><body><a href="https://shop.example.com/a?x=1&amp;y=2" class=b>x</a></body></html>`,
		`<A HREF='https://shop.example.com/A'>x</A><area href=https://x.example.com/m>`,
		`<a href="mailto:x@example.com">m</a><a data-notrack href="https://x.example.com/">n</a>`,
		`<a =href="https://x.example.com/" href = "https://y.example.com/"/>`,
		`<a href="https://x.example.com/" href="https://y.example.com/">`,
		`<script><a href="https://x.example.com/"></script><a href="https://x.example.com/`,
		`<img src="https://t.example.com/t/o/x"></body>`,
		"<a\x00href=\"https://x.example.com/\">",
		"",
	} {
		f.Add(seed)
	}
	c := fuzzClaims()
	pixel := `<img src="` + l.openURL(c) + `" width="1" height="1" alt="" style="display:none">`
	f.Fuzz(func(t *testing.T, in string) {
		out, err := l.Decorate(in, c)
		if err != nil {
			t.Fatalf("Decorate: %v", err)
		}
		if _, err := html.Parse(strings.NewReader(out)); err != nil {
			t.Fatalf("the output does not parse: %v", err)
		}
		stripped := out
		i := strings.Index(out, pixel)
		if i >= 0 {
			stripped = out[:i] + out[i+len(pixel):]
		} else if !strings.Contains(strings.ToLower(in), "/t/o/") {
			t.Fatalf("no pixel added to %q:\n%q", in, out)
		}
		compareTokens(t, s, in, stripped)
	})
}

// compareTokens checks that out tokenizes as in does, except for hrefs
// rewritten to click-tracking URLs for the same target.
func compareTokens(t *testing.T, s *Signer, in, out string) {
	t.Helper()
	zi, zo := html.NewTokenizer(strings.NewReader(in)), html.NewTokenizer(strings.NewReader(out))
	for {
		ti, to := zi.Next(), zo.Next()
		if ti != to {
			t.Fatalf("token types differ: %v vs %v\nin  %q\nout %q", ti, to, in, out)
		}
		if ti == html.ErrorToken {
			if !bytes.Equal(zi.Raw(), zo.Raw()) {
				t.Fatalf("trailing bytes differ: %q vs %q", zi.Raw(), zo.Raw())
			}
			return
		}
		ri, ro := bytes.Clone(zi.Raw()), bytes.Clone(zo.Raw())
		if bytes.Equal(ri, ro) {
			continue
		}
		a, b := zi.Token(), zo.Token()
		if (a.Data != "a" && a.Data != "area") || a.Data != b.Data || len(a.Attr) != len(b.Attr) {
			t.Fatalf("token changed:\nin  %q\nout %q", ri, ro)
		}
		for i := range a.Attr {
			if a.Attr[i] == b.Attr[i] {
				continue
			}
			if a.Attr[i].Key != "href" || b.Attr[i].Key != "href" {
				t.Fatalf("attribute %d changed: %q -> %q", i, ri, ro)
			}
			tok, ok := strings.CutPrefix(b.Attr[i].Val, "https://t.example.com/t/c/")
			if !ok {
				t.Fatalf("href rewritten to %q", b.Attr[i].Val)
			}
			cl, err := s.Parse(tok)
			if err != nil {
				t.Fatalf("rewritten href %q does not parse: %v", b.Attr[i].Val, err)
			}
			if want := strings.Trim(a.Attr[i].Val, " \t\n\f\r"); cl.URL != want || cl.Kind != KindClick {
				t.Fatalf("click leads to %q, the link was %q", cl.URL, want)
			}
		}
	}
}
