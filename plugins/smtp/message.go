package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/textproto"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/net/idna"

	"github.com/triggergate/triggergate/sdk"
)

// Headers the plugin sets on every message.
const (
	// headerMessageID carries the host's message id, so that a received
	// email can be traced back to the fire that caused it.
	headerMessageID = "X-Triggergate-Message-Id"
	// fallbackDomain is the Message-ID domain when from's domain cannot be
	// written in ASCII.
	fallbackDomain = "triggergate.invalid"
)

// Reasons a message cannot be built. They are permanent: the same message
// would fail again.
var (
	errNoID    = errors.New("message has no id; the host must set one")
	errNoEmail = errors.New("customer has no email address")
	errNoBody  = errors.New("message has neither a text nor an html body; give the action a template with text or html")
)

// reservedHeaders are written by the plugin from the message and config;
// Message.Headers cannot replace them (canonical MIME form).
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Reply-To": true, "Sender": true,
	"Subject": true, "Date": true, "Message-Id": true, "Return-Path": true,
	"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true,
	"Content-Disposition": true, textproto.CanonicalMIMEHeaderKey(headerMessageID): true,
}

// buildMsg turns a message into an email, or explains why it cannot be sent.
func buildMsg(cfg *Config, m *sdk.Message, now time.Time) (*gomail.Msg, error) {
	if m.ID == "" {
		return nil, errNoID
	}
	if m.Profile.Email == "" {
		return nil, errNoEmail
	}
	to, err := parseAddress(m.Profile.Email)
	if err != nil {
		return nil, fmt.Errorf("customer email address: %w", err)
	}
	if m.Text == "" && m.HTML == "" {
		return nil, errNoBody
	}
	headers, err := extraHeaders(m.Headers)
	if err != nil {
		return nil, err
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(cfg.from)
	msg.ToMailAddress(to)
	if cfg.replyTo != nil {
		msg.ReplyToMailAddress(cfg.replyTo)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(messageID(m.ID, cfg.from.Address))
	msg.SetDateWithValue(now)
	msg.SetUserAgent(userAgent)
	msg.SetGenHeader(headerMessageID, m.ID)
	for _, h := range headers {
		msg.SetGenHeader(gomail.Header(h[0]), h[1])
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// extraHeaders checks the host's headers and returns them as canonical
// name/value pairs in name order, refusing anything that could inject a
// header or override one the plugin sets.
func extraHeaders(in map[string]string) ([][2]string, error) {
	out := make([][2]string, 0, len(in))
	for name, value := range in {
		if !validFieldName(name) {
			return nil, fmt.Errorf("header name %q is not a valid RFC 5322 field name", name)
		}
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if reservedHeaders[canonical] {
			return nil, fmt.Errorf("header %q is set by the smtp plugin and cannot be overridden", name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return nil, fmt.Errorf("value of header %q contains a line break or NUL; refusing a header injection", name)
		}
		out = append(out, [2]string{canonical, value})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for i := 1; i < len(out); i++ {
		if out[i][0] == out[i-1][0] {
			return nil, fmt.Errorf("header %q is given twice in different cases", out[i][0])
		}
	}
	return out, nil
}

// validFieldName reports whether s is an RFC 5322 field name: printable
// ASCII except ':'.
func validFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return s != ""
}

// messageID derives the Message-ID (without angle brackets) from the
// host's message id and the sender's domain, so that every attempt of a
// message carries the same one and receivers can spot duplicates.
func messageID(id, fromAddr string) string {
	local := id
	if !isDotAtom(local) {
		sum := sha256.Sum256([]byte(id))
		local = "tg." + hex.EncodeToString(sum[:16])
	}
	domain := fallbackDomain
	if _, d, ok := strings.Cut(fromAddr, "@"); ok {
		if ascii, err := idna.Lookup.ToASCII(d); err == nil && isDotAtom(ascii) {
			domain = strings.ToLower(ascii)
		}
	}
	return local + "@" + domain
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text, the form both
// sides of a Message-ID take.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
