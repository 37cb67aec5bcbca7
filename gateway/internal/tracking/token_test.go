package tracking_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/tracking"
)

var (
	keyA = bytes.Repeat([]byte("a"), 32)
	keyB = bytes.Repeat([]byte("b"), 40)
)

func newSigner(t testing.TB, keys ...[]byte) *tracking.Signer {
	t.Helper()
	s, err := tracking.NewSigner(keys...)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func baseClaims() tracking.Claims {
	return tracking.Claims{
		MessageID: "01J9ZQ3V6D5N2G7K8M4P1R0S9T",
		Customer:  "email:jane@example.com",
		Trigger:   "abandoned_cart", Step: "reminder_1", Variant: "b", Channel: "email",
	}
}

func withKind(c tracking.Claims, k tracking.Kind, url string) tracking.Claims {
	c.Kind, c.URL = k, url
	return c
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSigner(t, keyA)
	issued := time.Date(2026, 3, 1, 12, 30, 45, 0, time.UTC)
	cases := []struct {
		name string
		c    tracking.Claims
	}{
		{"click", withKind(baseClaims(), tracking.KindClick, "https://shop.example.com/cart?id=7&utm_source=email#top")},
		{"click http", withKind(baseClaims(), tracking.KindClick, "http://shop.example.com/")},
		{"open", withKind(baseClaims(), tracking.KindOpen, "")},
		{"unsubscribe", withKind(baseClaims(), tracking.KindUnsubscribe, "")},
		{"issued at", func() tracking.Claims {
			c := withKind(baseClaims(), tracking.KindOpen, "")
			c.IssuedAt = issued
			return c
		}()},
		{"external id and empty fields", tracking.Claims{Kind: tracking.KindOpen, MessageID: "m", Customer: "ext:shopify:12:34"}},
		{"unicode", withKind(tracking.Claims{MessageID: "m", Customer: "anon:ü-1", Trigger: "größe"}, tracking.KindClick, "https://例え.jp/パス")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := s.Token(tc.c)
			if strings.ContainsFunc(tok, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
			}) {
				t.Fatalf("token %q is not URL-safe base64", tok)
			}
			got, err := s.Parse(tok)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tc.c {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.c)
			}
		})
	}
}

func TestTokenIssuedAtKeepsSeconds(t *testing.T) {
	t.Parallel()
	s := newSigner(t, keyA)
	c := withKind(baseClaims(), tracking.KindOpen, "")
	c.IssuedAt = time.Date(2026, 3, 1, 12, 30, 45, 999, time.FixedZone("x", 3600))
	got, err := s.Parse(s.Token(c))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 1, 11, 30, 45, 0, time.UTC); !got.IssuedAt.Equal(want) || got.IssuedAt.Location() != time.UTC {
		t.Fatalf("IssuedAt = %v, want %v", got.IssuedAt, want)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	s := newSigner(t, keyA)
	good := s.Token(withKind(baseClaims(), tracking.KindClick, "https://shop.example.com/"))
	raw, err := base64.RawURLEncoding.DecodeString(good)
	if err != nil {
		t.Fatal(err)
	}
	long := baseClaims()
	long.URL, long.Kind = "https://shop.example.com/?q="+strings.Repeat("x", 3100), tracking.KindClick
	cases := map[string]string{
		"empty":                   "",
		"not base64":              "!!!!" + good[4:],
		"padded":                  good + "=",
		"truncated by one":        good[:len(good)-1],
		"truncated to half":       good[:len(good)/2],
		"tag only":                base64.RawURLEncoding.EncodeToString(raw[len(raw)-16:]),
		"other key":               newSigner(t, keyB).Token(withKind(baseClaims(), tracking.KindClick, "https://shop.example.com/")),
		"appended bytes":          base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0)),
		"oversized garbage":       strings.Repeat("A", tracking.MaxTokenLen+1),
		"oversized but signed":    s.Token(long),
		"unknown kind":            s.Token(withKind(baseClaims(), "bounce", "")),
		"javascript click":        s.Token(withKind(baseClaims(), tracking.KindClick, "javascript:alert(1)")),
		"javascript click spaced": s.Token(withKind(baseClaims(), tracking.KindClick, " JavaScript://x.example/%0Aalert(1)")),
		"data click":              s.Token(withKind(baseClaims(), tracking.KindClick, "data:text/html,<script>alert(1)</script>")),
		"relative click":          s.Token(withKind(baseClaims(), tracking.KindClick, "/cart")),
		"schemeless click":        s.Token(withKind(baseClaims(), tracking.KindClick, "//evil.example/")),
		"click without url":       s.Token(withKind(baseClaims(), tracking.KindClick, "")),
		"no message id":           s.Token(tracking.Claims{Kind: tracking.KindOpen, Customer: "id:1"}),
		"unknown customer kind":   s.Token(tracking.Claims{Kind: tracking.KindOpen, MessageID: "m", Customer: "user:1"}),
		"empty customer":          s.Token(tracking.Claims{Kind: tracking.KindOpen, MessageID: "m"}),
	}
	if len(s.Token(long)) <= tracking.MaxTokenLen {
		t.Fatalf("the oversized case is only %d bytes", len(s.Token(long)))
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if c, err := s.Parse(tok); err == nil {
				t.Fatalf("Parse accepted %q: %+v", tok, c)
			}
		})
	}
	t.Run("every flipped byte", func(t *testing.T) {
		t.Parallel()
		for i := range raw {
			for _, bit := range []byte{0x01, 0x80} {
				b := bytes.Clone(raw)
				b[i] ^= bit
				if c, err := s.Parse(base64.RawURLEncoding.EncodeToString(b)); err == nil {
					t.Fatalf("byte %d ^ %#x accepted: %+v", i, bit, c)
				}
			}
		}
	})
	t.Run("errors are the package's", func(t *testing.T) {
		t.Parallel()
		_, err := s.Parse(cases["other key"])
		if !errors.Is(err, tracking.ErrInvalidToken) {
			t.Fatalf("forged token error = %v", err)
		}
		_, err = s.Parse(cases["javascript click"])
		if !errors.Is(err, tracking.ErrInvalidClaims) {
			t.Fatalf("javascript click error = %v", err)
		}
	})
}

func TestSignerRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := keyA, keyB
	c := withKind(baseClaims(), tracking.KindUnsubscribe, "")
	before := newSigner(t, oldKey).Token(c)
	rotated := newSigner(t, newKey, oldKey)
	if got, err := rotated.Parse(before); err != nil || got != c {
		t.Fatalf("old token after rotation: %+v, %v", got, err)
	}
	after := rotated.Token(c)
	if after == before {
		t.Fatal("the rotated signer still signs with the old key")
	}
	if _, err := newSigner(t, newKey).Parse(after); err != nil {
		t.Fatalf("new token with only the new key: %v", err)
	}
	if _, err := newSigner(t, oldKey).Parse(after); err == nil {
		t.Fatal("a token signed with the new key parsed with only the old key")
	}
}

func TestNewSignerKeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		keys [][]byte
		ok   bool
	}{
		{"none", nil, false},
		{"short", [][]byte{make([]byte, 31)}, false},
		{"second short", [][]byte{keyA, []byte("short")}, false},
		{"32 bytes", [][]byte{keyA}, true},
		{"two", [][]byte{keyA, keyB}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tracking.NewSigner(tc.keys...)
			if (err == nil) != tc.ok {
				t.Fatalf("NewSigner error = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	t.Run("keys are copied", func(t *testing.T) {
		t.Parallel()
		k := bytes.Clone(keyA)
		s := newSigner(t, k)
		tok := s.Token(withKind(baseClaims(), tracking.KindOpen, ""))
		k[0] ^= 1
		if _, err := s.Parse(tok); err != nil {
			t.Fatalf("changing the caller's key slice changed the signer: %v", err)
		}
	})
}
