package stripe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
)

// maxSignatures bounds the v1 entries of one header that are checked;
// Stripe sends one, two while a secret is being rolled.
const maxSignatures = 16

// verify checks a Stripe-Signature header ("t=<unix>,v1=<hex>,v1=<hex>,
// v0=<hex>") as Stripe documents it: the expected signature is the hex
// HMAC-SHA256, keyed with the endpoint secret exactly as shown (whsec_
// included), of "<t>.<raw body>"; the delivery is authentic when any v1
// entry equals the expected signature of any secret. v0 (and any other
// scheme) is ignored. The timestamp must be within window of now.
func verify(header string, body []byte, secrets []string, now time.Time, window time.Duration) error {
	if strings.TrimSpace(header) == "" {
		return fmt.Errorf("%w: missing Stripe-Signature header; Stripe signs every webhook, "+
			"so this delivery did not come from Stripe (or a proxy dropped the header)", source.ErrBadSignature)
	}
	var ts string
	var sigs [][]byte
	for item := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: Stripe-Signature has more than one t= timestamp", source.ErrBadSignature)
			}
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size && len(sigs) < maxSignatures {
				sigs = append(sigs, sig)
			}
		}
	}
	if ts == "" {
		return fmt.Errorf("%w: Stripe-Signature has no t= timestamp", source.ErrBadSignature)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || unix < 0 || unix >= maxUnix {
		return fmt.Errorf("%w: Stripe-Signature timestamp t=%q is not unix seconds", source.ErrBadSignature, source.Truncate(ts, 20))
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: Stripe-Signature has no v1= signature (64 hex digits); "+
			"test-mode v0 signatures are not accepted", source.ErrBadSignature)
	}
	if err := source.CheckTimestamp(now, time.Unix(unix, 0), window); err != nil {
		return err
	}
	prefix := []byte(ts + ".")
	expected := func(secret []byte) []byte { return source.HMAC(sha256.New, secret, prefix, body) }
	if !source.MatchAny(secrets, expected, sigs...) {
		return fmt.Errorf("%w: no v1 signature in Stripe-Signature matches the hex HMAC-SHA256 of \"<t>.<body>\" "+
			"under the source's signing secret(s); check that secret is this endpoint's whsec_... secret "+
			"and that nothing re-encoded the body", source.ErrBadSignature)
	}
	return nil
}
