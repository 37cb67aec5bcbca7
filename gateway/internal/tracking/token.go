package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// Kind is what a token stands for.
type Kind string

// The kinds of token, one per route.
const (
	KindClick       Kind = "click"
	KindOpen        Kind = "open"
	KindUnsubscribe Kind = "unsubscribe"
)

// Claims identify one message (and, for a click, one link).
type Claims struct {
	Kind      Kind
	MessageID string
	// Customer is the customer key, sdk.Customer.Key(): "id:42",
	// "email:jane@example.com", "phone:+1...", "ext:<system>:<id>",
	// "anon:<id>".
	Customer                        string
	Trigger, Step, Variant, Channel string
	// URL is, for a click only, the original link (http or https).
	URL string
	// IssuedAt is when the message was sent; the handler's WithMaxAge
	// expires click and open tokens by it. Zero means the token never
	// expires. Tokens keep it to the second.
	IssuedAt time.Time
}

// Errors Parse and Validate return. A handler answers every one of them
// with the same 404.
var (
	// ErrInvalidToken is any token that is malformed, forged, signed with
	// an unknown key, or too long.
	ErrInvalidToken = errors.New("invalid tracking token")
	// ErrInvalidClaims is claims no token should carry: an unknown kind, no
	// message id, an unparseable customer key, or a click whose URL is not
	// an absolute http or https URL.
	ErrInvalidClaims = errors.New("invalid tracking claims")
)

const (
	// MaxTokenLen is the longest token Parse decodes. Decorate leaves a link
	// untracked rather than make a longer token.
	MaxTokenLen = 4096
	// MinKeyLen is the shortest signing key NewSigner accepts.
	MinKeyLen = 32

	tokenVersion = 1
	tagLen       = 16
	// macContext separates these tags from any other use of the same key.
	macContext = "triggergate/tracking/v1\x00"
)

var kindCodes = map[Kind]byte{KindClick: 1, KindOpen: 2, KindUnsubscribe: 3}

var codeKinds = map[byte]Kind{1: KindClick, 2: KindOpen, 3: KindUnsubscribe}

var b64 = base64.RawURLEncoding.Strict()

// Signer makes and checks tracking tokens. The first key signs; every key
// verifies, so keys rotate by putting the new one first.
type Signer struct {
	keys [][]byte
}

// NewSigner returns a signer over the given keys, each at least MinKeyLen
// bytes.
func NewSigner(keys ...[]byte) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("tracking needs at least one signing key")
	}
	s := &Signer{keys: make([][]byte, len(keys))}
	for i, k := range keys {
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("tracking signing key %d is %d bytes; use at least %d random bytes", i+1, len(k), MinKeyLen)
		}
		s.keys[i] = append([]byte(nil), k...)
	}
	return s, nil
}

// Token returns the URL-safe token for c, signed with the first key.
// Claims that Validate refuses yield a token Parse refuses, so an invalid
// claim (a javascript: click URL) can be signed but never followed.
func (s *Signer) Token(c Claims) string {
	payload := encodeClaims(c)
	payload = append(payload, s.tag(s.keys[0], payload)...)
	return b64.EncodeToString(payload)
}

// Parse checks token's tag against every key and returns its claims. It
// refuses tokens longer than MaxTokenLen before decoding them.
func (s *Signer) Parse(token string) (Claims, error) {
	if len(token) == 0 || len(token) > MaxTokenLen {
		return Claims{}, ErrInvalidToken
	}
	raw, err := b64.DecodeString(token)
	if err != nil || len(raw) < 2+tagLen {
		return Claims{}, ErrInvalidToken
	}
	payload, tag := raw[:len(raw)-tagLen], raw[len(raw)-tagLen:]
	ok := false
	for _, k := range s.keys {
		if hmac.Equal(tag, s.tag(k, payload)) {
			ok = true
			break
		}
	}
	if !ok {
		return Claims{}, ErrInvalidToken
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return Claims{}, ErrInvalidToken
	}
	if err := c.Validate(); err != nil {
		return Claims{}, err
	}
	return c, nil
}

func (s *Signer) tag(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macContext))
	m.Write(payload)
	return m.Sum(nil)[:tagLen]
}

// Validate reports whether c is claims a tracking route can act on.
func (c Claims) Validate() error {
	if _, ok := kindCodes[c.Kind]; !ok {
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidClaims, c.Kind)
	}
	if c.MessageID == "" {
		return fmt.Errorf("%w: no message id", ErrInvalidClaims)
	}
	if _, err := sdk.ParseCustomerKey(c.Customer); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidClaims, err)
	}
	if c.Kind == KindClick && !trackableURL(c.URL) {
		return fmt.Errorf("%w: a click's URL must be an absolute http or https URL", ErrInvalidClaims)
	}
	return nil
}

// trackableURL reports whether s is an absolute http or https URL with a
// host: the only links Decorate rewrites and the only targets a click
// redirects to.
func trackableURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme == "http" || scheme == "https"
}

func encodeClaims(c Claims) []byte {
	fields := [...]string{c.MessageID, c.Customer, c.Trigger, c.Step, c.Variant, c.Channel, c.URL}
	n := 2 + binary.MaxVarintLen64
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	b := make([]byte, 0, n+tagLen)
	b = append(b, tokenVersion, kindCodes[c.Kind]) // an unknown kind encodes as 0, which Parse refuses
	var issued uint64
	if !c.IssuedAt.IsZero() && c.IssuedAt.Unix() > 0 {
		issued = uint64(c.IssuedAt.Unix())
	}
	b = binary.AppendUvarint(b, issued)
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

func decodeClaims(b []byte) (Claims, error) {
	errShort := errors.New("truncated claims")
	if len(b) < 2 || b[0] != tokenVersion {
		return Claims{}, errors.New("unknown token version")
	}
	kind, ok := codeKinds[b[1]]
	if !ok {
		return Claims{}, errors.New("unknown token kind")
	}
	b = b[2:]
	issued, n := binary.Uvarint(b)
	if n <= 0 || issued > 1<<40 {
		return Claims{}, errShort
	}
	b = b[n:]
	var fields [7]string
	for i := range fields {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return Claims{}, errShort
		}
		fields[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if len(b) != 0 {
		return Claims{}, errors.New("trailing bytes in claims")
	}
	c := Claims{
		Kind: kind, MessageID: fields[0], Customer: fields[1], Trigger: fields[2],
		Step: fields[3], Variant: fields[4], Channel: fields[5], URL: fields[6],
	}
	if issued > 0 {
		c.IssuedAt = time.Unix(int64(issued), 0).UTC()
	}
	return c, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
