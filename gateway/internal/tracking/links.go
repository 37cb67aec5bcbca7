package tracking

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// The routes' path prefixes, under the base URL.
const (
	clickPath       = "/t/c/"
	openPath        = "/t/o/"
	unsubscribePath = "/t/u/"
)

// Links decorates messages for one public base URL.
type Links struct {
	base   string // without a trailing slash
	scheme string // lower-case
	host   string // lower-case
	path   string // the base's path, without a trailing slash
	signer *Signer
}

// NewLinks returns the decorator for base, the gateway's public URL such
// as "https://t.example.com". RFC 8058 requires https; http is accepted
// only for a loopback host, for development.
func NewLinks(base string, s *Signer) (*Links, error) {
	if s == nil {
		return nil, errors.New("tracking links need a signer")
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("parsing tracking base URL %q: %w", base, err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case u.Host == "" || (scheme != "https" && scheme != "http"):
		return nil, fmt.Errorf("tracking base URL %q must be an absolute https URL such as https://t.example.com", base)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("tracking base URL %q must have no user, query or fragment", base)
	case scheme == "http" && !loopback(u.Hostname()):
		return nil, fmt.Errorf("tracking base URL %q must use https: one-click unsubscribe (RFC 8058) requires it; http is allowed only for localhost", base)
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	return &Links{
		base:   scheme + "://" + u.Host + path,
		scheme: scheme, host: strings.ToLower(u.Host), path: path,
		signer: s,
	}, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// UnsubscribeURL returns <base>/t/u/<token> for c's message.
func (l *Links) UnsubscribeURL(c Claims) string {
	c.Kind, c.URL = KindUnsubscribe, ""
	return l.base + unsubscribePath + l.signer.Token(c)
}

// Headers returns the RFC 8058 one-click unsubscribe headers for c's
// message. The relay's DKIM signature must cover both (see the package
// doc).
func (l *Links) Headers(c Claims) map[string]string {
	return map[string]string{
		"List-Unsubscribe":      "<" + l.UnsubscribeURL(c) + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
}

func (l *Links) clickURL(c Claims, target string) (string, bool) {
	c.Kind, c.URL = KindClick, target
	tok := l.signer.Token(c)
	if len(tok) > MaxTokenLen {
		return "", false
	}
	return l.base + clickPath + tok, true
}

func (l *Links) openURL(c Claims) string {
	c.Kind, c.URL = KindOpen, ""
	return l.base + openPath + l.signer.Token(c)
}

// under reports whether s is a URL under the base whose path starts with
// prefix: "/t/" for the gateway's own tracking links, "/t/o/" for a pixel.
func (l *Links) under(s string, prefix string) bool {
	u, err := url.Parse(s)
	if err != nil || !strings.EqualFold(u.Scheme, l.scheme) || !strings.EqualFold(u.Host, l.host) {
		return false
	}
	return strings.HasPrefix(u.EscapedPath(), l.path+prefix)
}

// Decorate rewrites the href of every <a> and <area> that is an absolute
// http(s) URL to a click-tracking URL, and adds the open pixel just before
// </body> (at the end when there is none). It leaves mailto:, tel:,
// fragment and relative links alone, as well as links already under the
// base, links of an element with a data-notrack attribute, and links so
// long their token would pass MaxTokenLen. Every other byte of html is
// kept as it was. c's Kind and URL are ignored.
func (l *Links) Decorate(doc string, c Claims) (string, error) {
	c.Kind, c.URL = KindOpen, ""
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("decorating message %q: %w", c.MessageID, err)
	}
	var out strings.Builder
	out.Grow(len(doc) + 512)
	pixel := `<img src="` + html.EscapeString(l.openURL(c)) + `" width="1" height="1" alt="" style="display:none">`
	pixelDone := false
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if err := z.Err(); err != io.EOF {
				return "", fmt.Errorf("decorating message %q: reading its HTML: %w", c.MessageID, err)
			}
			// A document cut short inside a tag or comment leaves its tail
			// here, not in a token: keep it.
			out.Write(z.Raw())
			break
		}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			raw := bytes.Clone(z.Raw()) // Token lower-cases names in the buffer
			tok := z.Token()
			switch tok.Data {
			case "a", "area":
				raw = l.rewriteLink(raw, tok, c)
			case "img":
				if src, ok := attr(tok, "src"); ok && l.under(strings.Trim(src, " \t\n\f\r"), openPath) {
					pixelDone = true // decorated before: one pixel is enough
				}
			}
			out.Write(raw)
		case html.EndTagToken:
			raw := bytes.Clone(z.Raw()) // TagName lower-cases the name in the buffer
			if name, _ := z.TagName(); !pixelDone && string(name) == "body" {
				out.WriteString(pixel)
				pixelDone = true
			}
			out.Write(raw)
		default:
			out.Write(z.Raw())
		}
	}
	if !pixelDone {
		out.WriteString(pixel)
	}
	return out.String(), nil
}

func attr(tok html.Token, key string) (string, bool) {
	for _, a := range tok.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// rewriteLink returns raw, the bytes of an <a> or <area> start tag, with
// its href replaced by a click-tracking URL when the link is to be tracked.
func (l *Links) rewriteLink(raw []byte, tok html.Token, c Claims) []byte {
	if _, ok := attr(tok, "data-notrack"); ok {
		return raw
	}
	href, ok := attr(tok, "href")
	if !ok {
		return raw
	}
	// Browsers ignore leading and trailing white space in a URL attribute.
	target := strings.Trim(href, " \t\n\f\r")
	if !trackableURL(target) || l.under(target, "/t/") {
		return raw
	}
	attrs := scanAttrs(raw)
	// Only splice when this scan agrees with the tokenizer about every
	// attribute; otherwise leave the tag (and the link) as it was.
	if len(attrs) != len(tok.Attr) {
		return raw
	}
	var span *attrSpan
	for i := range attrs {
		if attrs[i].key != tok.Attr[i].Key {
			return raw
		}
		if attrs[i].key == "href" {
			span = &attrs[i]
		}
	}
	if span == nil || !span.hasVal {
		return raw
	}
	tracked, ok := l.clickURL(c, target)
	if !ok {
		return raw
	}
	esc := html.EscapeString(tracked) // escapes both quote characters
	out := make([]byte, 0, len(raw)+len(esc))
	out = append(out, raw[:span.valStart]...)
	if span.quoted {
		out = append(out, esc...)
	} else {
		out = append(out, '"')
		out = append(out, esc...)
		out = append(out, '"')
	}
	return append(out, raw[span.valEnd:]...)
}

// attrSpan locates one attribute in a raw start tag.
type attrSpan struct {
	key              string // lower-case
	valStart, valEnd int    // the value's bytes, inside any quotes
	quoted           bool
	hasVal           bool
}

// scanAttrs finds the attributes of raw, one complete start tag ("<a ...>"),
// following the same steps as golang.org/x/net/html's Tokenizer.readTag, so
// that the spans it returns are the attributes TagAttr reports: empty keys
// and repeated keys (after the first) are dropped.
func scanAttrs(raw []byte) []attrSpan {
	isSpace := func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' }
	i, n := 1, len(raw) // past '<'
	skipSpace := func() {
		for i < n && isSpace(raw[i]) {
			i++
		}
	}
	// Tag name: the first letter is taken, then up to white space (taken)
	// or '/' or '>' (left).
	if i < n {
		i++
	}
	for i < n {
		c := raw[i]
		if isSpace(c) {
			i++
			break
		}
		if c == '/' || c == '>' {
			break
		}
		i++
	}
	skipSpace()
	var attrs []attrSpan
	seen := map[string]bool{}
	for i < n && raw[i] != '>' {
		// Key.
		keyStart := i
		for i < n {
			c := raw[i]
			if c == '=' && i == keyStart {
				i++ // an '=' opening a key belongs to it
				continue
			}
			if c == '=' || isSpace(c) || c == '/' || c == '>' {
				break
			}
			i++
		}
		span := attrSpan{key: asciiLower(raw[keyStart:i]), valStart: i, valEnd: i}
		// Value. A key left empty by a '/' has that '/' consumed here.
		skipSpace()
		if i < n {
			switch c := raw[i]; {
			case c == '/':
				i++
			case c == '=':
				i++
				skipSpace()
				if i < n && raw[i] != '>' {
					if q := raw[i]; q == '"' || q == '\'' {
						i++
						span.valStart, span.quoted, span.hasVal = i, true, true
						for i < n && raw[i] != q {
							i++
						}
						span.valEnd = i
						if i < n {
							i++
						}
					} else {
						span.valStart, span.hasVal = i, true
						for i < n && !isSpace(raw[i]) && raw[i] != '>' {
							i++
						}
						span.valEnd = i
					}
				}
			}
		}
		if span.key != "" && !seen[span.key] {
			seen[span.key] = true
			attrs = append(attrs, span)
		}
		skipSpace()
	}
	return attrs
}

// asciiLower lower-cases as the tokenizer does: ASCII letters only.
func asciiLower(b []byte) string {
	out := []byte(string(b))
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}
