package jsonkind

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// verifyHexHMACSHA256 checks that header carries the hex HMAC-SHA256 of
// body under any of secrets. The hex may be upper or lower case and may be
// prefixed "sha256=". Every secret is tried, so the time taken does not
// tell which one matched.
func verifyHexHMACSHA256(h http.Header, header string, body []byte, secrets []string) error {
	value := strings.TrimSpace(h.Get(header))
	if value == "" {
		return fmt.Errorf("%w: missing %s header; sign the raw body with HMAC-SHA256 and send it hex-encoded", source.ErrBadSignature, header)
	}
	if len(value) > len("sha256=") && strings.EqualFold(value[:len("sha256=")], "sha256=") {
		value = value[len("sha256="):]
	}
	got, err := hex.DecodeString(value)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s header is not a hex HMAC-SHA256 (64 hex digits, optionally prefixed sha256=)", source.ErrBadSignature, header)
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
		return fmt.Errorf("%w: %s header does not match the body signed with the source's secret", source.ErrBadSignature, header)
	}
	return nil
}
