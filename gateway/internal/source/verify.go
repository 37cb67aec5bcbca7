package source

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CheckJSON accepts application/json and application/*+json, with any
// parameters (charset).
func CheckJSON(h http.Header) error {
	return checkContentType(h, "application/json", func(mt string) bool {
		return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
	})
}

// CheckForm accepts application/x-www-form-urlencoded.
func CheckForm(h http.Header) error {
	return checkContentType(h, "application/x-www-form-urlencoded", func(mt string) bool {
		return mt == "application/x-www-form-urlencoded"
	})
}

// CheckXML accepts text/xml and application/xml (and +xml types).
func CheckXML(h http.Header) error {
	return checkContentType(h, "text/xml", func(mt string) bool {
		return mt == "text/xml" || mt == "application/xml" ||
			(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+xml"))
	})
}

func checkContentType(h http.Header, want string, ok func(mediaType string) bool) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		return fmt.Errorf("%w: missing Content-Type; send %s", ErrUnsupportedType, want)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%w: cannot parse Content-Type %q; send %s", ErrUnsupportedType, Truncate(ct, 64), want)
	}
	if !ok(mt) {
		return fmt.Errorf("%w: Content-Type %q is not accepted here; send %s", ErrUnsupportedType, mt, want)
	}
	return nil
}

// HMAC returns the HMAC of the concatenated parts under key.
func HMAC(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// MatchAny reports whether any candidate signature equals the expected
// signature of any secret. expected computes a secret's signature. Every
// pair is compared in constant time and none is skipped, so the time taken
// does not tell which secret or candidate matched (or how close a forgery
// came). Both sides are hashed first: a plain comparison returns early on
// a length mismatch, which would tell a credential's length.
func MatchAny(secrets []string, expected func(secret []byte) []byte, candidates ...[]byte) bool {
	matched := 0
	hashed := make([][sha256.Size]byte, len(candidates))
	for i, c := range candidates {
		hashed[i] = sha256.Sum256(c)
	}
	for _, s := range secrets {
		want := sha256.Sum256(expected([]byte(s)))
		for i := range hashed {
			matched |= subtle.ConstantTimeCompare(want[:], hashed[i][:])
		}
	}
	return matched == 1
}

// DecodeBase64 decodes standard or URL-safe base64, padded or not; a
// signature header that does not decode simply matches nothing.
func DecodeBase64(s string) []byte {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// CheckTimestamp refuses a signed timestamp further than window from now,
// in either direction: a replayed old delivery, or one from a skewed or
// forged future.
func CheckTimestamp(now, signed time.Time, window time.Duration) error {
	d := now.Sub(signed)
	if d > window {
		return fmt.Errorf("%w: the signed timestamp %s is %s old, more than the replay window of %s",
			ErrBadSignature, signed.UTC().Format(time.RFC3339), d.Round(time.Second), window)
	}
	if -d > window {
		return fmt.Errorf("%w: the signed timestamp %s is %s in the future, more than the replay window of %s",
			ErrBadSignature, signed.UTC().Format(time.RFC3339), (-d).Round(time.Second), window)
	}
	return nil
}

// maxUnixSeconds is 9999-12-31T23:59:59Z: later times cannot be written
// as RFC 3339, so they could not be stored.
const maxUnixSeconds = 253402300799

// ParseUnix parses a Unix timestamp in seconds, or in milliseconds when it
// has 13 digits or more (HubSpot's request timestamp, JavaScript vendors).
// Times before 1970 or after the year 9999 are refused.
func ParseUnix(s string) (time.Time, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("timestamp %q is not a Unix time", Truncate(s, 32))
	}
	if n >= 1e12 {
		if n/1000 > maxUnixSeconds {
			return time.Time{}, fmt.Errorf("timestamp %q is beyond the year 9999", Truncate(s, 32))
		}
		return time.UnixMilli(n).UTC(), nil
	}
	if n > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("timestamp %q is beyond the year 9999", Truncate(s, 32))
	}
	return time.Unix(n, 0).UTC(), nil
}

// CheckBasicAuth accepts a request whose HTTP basic credentials equal one
// of creds ("user:password"), compared in constant time.
func CheckBasicAuth(h http.Header, creds []string) error {
	req := http.Request{Header: h}
	user, pass, ok := req.BasicAuth()
	if !ok {
		return fmt.Errorf("%w: missing or malformed HTTP basic credentials", ErrBadSignature)
	}
	got := []byte(user + ":" + pass)
	if !MatchAny(creds, func(c []byte) []byte { return c }, got) {
		return fmt.Errorf("%w: HTTP basic credentials do not match the source's", ErrBadSignature)
	}
	return nil
}

// DecodeJSON decodes a JSON body into v, refusing trailing data. Failures
// wrap ErrBadPayload with the decoder's reason.
func DecodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: body is empty; send JSON", ErrBadPayload)
		}
		return fmt.Errorf("%w: body is not valid JSON: %v", ErrBadPayload, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: body has data after the JSON value", ErrBadPayload)
	}
	return nil
}

// Truncate shortens sender-supplied text quoted in an error (or used as a
// key) to its first n bytes, marking the cut with "...".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
