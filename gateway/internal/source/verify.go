package source

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// checkJSONContentType accepts application/json and application/*+json,
// with any parameters (charset).
func checkJSONContentType(h http.Header) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		return fmt.Errorf("%w: missing Content-Type; send application/json", ErrUnsupportedType)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%w: cannot parse Content-Type %q; send application/json", ErrUnsupportedType, ct)
	}
	if mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return fmt.Errorf("%w: Content-Type %q is not JSON; send application/json", ErrUnsupportedType, mt)
}

// verifyHexHMACSHA256 checks that header carries the hex HMAC-SHA256 of
// body under any of secrets. The hex may be upper or lower case and may be
// prefixed "sha256=". Every secret is tried, so the time taken does not
// tell which one matched.
func verifyHexHMACSHA256(h http.Header, header string, body []byte, secrets []string) error {
	value := strings.TrimSpace(h.Get(header))
	if value == "" {
		return fmt.Errorf("%w: missing %s header; sign the raw body with HMAC-SHA256 and send it hex-encoded", ErrBadSignature, header)
	}
	if len(value) > len("sha256=") && strings.EqualFold(value[:len("sha256=")], "sha256=") {
		value = value[len("sha256="):]
	}
	got, err := hex.DecodeString(value)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s header is not a hex HMAC-SHA256 (64 hex digits, optionally prefixed sha256=)", ErrBadSignature, header)
	}
	matched := false
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if hmac.Equal(got, mac.Sum(nil)) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("%w: %s header does not match the body signed with the source's secret", ErrBadSignature, header)
	}
	return nil
}
