package standard

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

const (
	// maxSignatures bounds the entries of webhook-signature that are
	// checked, so a header of thousands of v1a entries cannot make us run
	// thousands of ed25519 verifications. Senders send one per key, two or
	// three during a rotation.
	maxSignatures = 16
	// maxIDLen bounds webhook-id, the delivery id kept for dedupe.
	maxIDLen = 256
)

// verify checks the Standard Webhooks signature: the signed content is
// "<webhook-id>.<webhook-timestamp>.<raw body>"; webhook-signature is a
// space-separated list of "v1,<base64 HMAC-SHA256>" and "v1a,<base64
// ed25519 signature>" entries; the delivery is authentic when any entry
// verifies under any configured key of its scheme. Other versions are
// ignored. webhook-timestamp must be within the replay window. It returns
// the webhook-id.
func (a *adapter) verify(h http.Header, body []byte, now time.Time) (string, error) {
	id := h.Get("webhook-id")
	ts := h.Get("webhook-timestamp")
	sigHeader := h.Get("webhook-signature")
	for _, hv := range []struct{ name, value string }{{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", sigHeader}} {
		if strings.TrimSpace(hv.value) == "" {
			return "", fmt.Errorf("%w: missing %s header; Standard Webhooks senders send webhook-id, webhook-timestamp and webhook-signature",
				source.ErrBadSignature, hv.name)
		}
	}
	if len(id) > maxIDLen {
		return "", fmt.Errorf("%w: webhook-id is %d bytes, more than %d", source.ErrBadSignature, len(id), maxIDLen)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || unix < 0 || unix >= 253402300800 {
		return "", fmt.Errorf("%w: webhook-timestamp %q is not unix seconds", source.ErrBadSignature, source.Truncate(ts, 24))
	}

	var hmacs, eds [][]byte
	entries := strings.Fields(sigHeader)
	if len(entries) > maxSignatures {
		return "", fmt.Errorf("%w: webhook-signature lists %d signatures; at most %d are accepted", source.ErrBadSignature, len(entries), maxSignatures)
	}
	for _, e := range entries {
		version, sig, _ := strings.Cut(e, ",")
		switch version {
		case "v1":
			if b := source.DecodeBase64(sig); len(b) == sha256.Size {
				hmacs = append(hmacs, b)
			}
		case "v1a":
			if b := source.DecodeBase64(sig); len(b) == ed25519.SignatureSize {
				eds = append(eds, b)
			}
		}
	}
	if len(hmacs) == 0 && len(eds) == 0 {
		return "", fmt.Errorf("%w: webhook-signature has no v1 (base64 HMAC-SHA256) or v1a (base64 ed25519) signature", source.ErrBadSignature)
	}
	if err := source.CheckTimestamp(now, time.Unix(unix, 0), a.window); err != nil {
		return "", err
	}

	prefix := []byte(id + "." + ts + ".")
	ok := false
	if len(hmacs) > 0 && len(a.keys) > 0 {
		expected := func(key []byte) []byte { return source.HMAC(sha256.New, key, prefix, body) }
		ok = source.MatchAny(a.keys, expected, hmacs...)
	}
	if !ok && len(eds) > 0 && len(a.publicKeys) > 0 {
		msg := make([]byte, 0, len(prefix)+len(body))
		msg = append(append(msg, prefix...), body...)
	check:
		for _, pk := range a.publicKeys {
			for _, sig := range eds {
				// Public-key verification holds no secret, so stopping at
				// the first match leaks nothing.
				if ed25519.Verify(pk, msg, sig) {
					ok = true
					break check
				}
			}
		}
	}
	if !ok {
		return "", fmt.Errorf("%w: %s", source.ErrBadSignature, a.mismatch(len(hmacs), len(eds)))
	}
	return id, nil
}

// mismatch explains a failed verification without echoing any signature.
func (a *adapter) mismatch(hmacs, eds int) string {
	const content = `"<webhook-id>.<webhook-timestamp>.<body>"`
	switch {
	case hmacs > 0 && len(a.keys) == 0 && eds == 0:
		return "webhook-signature has only v1 (HMAC) signatures, but the source has no secret; set secret, or have the sender sign with ed25519 (v1a)"
	case eds > 0 && len(a.publicKeys) == 0 && hmacs == 0:
		return "webhook-signature has only v1a (ed25519) signatures, but the source has no public_keys; add the sender's whpk_ key"
	}
	return "no signature in webhook-signature verifies " + content +
		" under the source's keys; check that secret (whsec_...) or public_keys match the sender's and that nothing re-encoded the body"
}
