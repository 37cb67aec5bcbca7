// Package tracking measures email engagement and takes unsubscribes: it
// rewrites a rendered email's links for click tracking, adds an open pixel,
// makes the RFC 8058 one-click List-Unsubscribe headers, and serves the
// public routes those point at, turning each hit into a canonical event
// (email.clicked, email.opened, email.unsubscribed) for the event log.
//
// # Tokens
//
// Every tracking URL carries one token: base64url (no padding) of
//
//	version (1 byte, 1) | kind (1 byte) | issued-at (uvarint Unix seconds, 0 = unset) |
//	message id | customer key | trigger | step | variant | channel | url
//	(each a uvarint length then the bytes) | tag (16 bytes)
//
// where tag is HMAC-SHA256 under the signing key of a fixed context string
// followed by every byte before the tag, truncated to 128 bits. Tokens are
// signed, not encrypted: whoever holds the link can read the customer key
// and the original URL, which is the recipient (or whoever the email was
// forwarded to) and nobody else; tracking pages send no Referer onward.
//
// # Threat model
//
//   - Forgery: without a key nobody can make a token the gateway accepts,
//     so nobody can unsubscribe someone else, invent clicks or opens, or
//     change a link's destination; the tag is checked in constant time
//     (hmac.Equal) before a byte of the payload is interpreted.
//   - Enumeration: tokens are not sequential ids; guessing one means
//     guessing a 128-bit tag, so walking /t/u/ tokens to unsubscribe a list
//     is infeasible. Every failure answers the same 404, which says nothing
//     about why.
//   - Open redirect: /t/c/ only redirects to a URL the gateway itself
//     signed, and only to an absolute http or https URL, checked again after
//     the token is parsed, so javascript:, data: and the like can never be
//     followed even if a token for one were signed.
//   - Scanners: mail security scanners fetch every link. GET of an
//     unsubscribe URL only shows a confirmation page; only POST unsubscribes
//     (RFC 8058). Clicks and opens by scanners are recorded: they cannot be
//     told apart from people here.
//   - Abuse of size: tokens over 4 KiB are refused before decoding, POST
//     bodies are limited to 8 KiB.
//
// Keys rotate by listing the new key first and the old ones after it:
// NewSigner(newKey, oldKey) signs with newKey and accepts both.
//
// # RFC 8058
//
// Headers gives List-Unsubscribe with one HTTPS URI and
// List-Unsubscribe-Post: List-Unsubscribe=One-Click. The receiver POSTs
// "List-Unsubscribe=One-Click" (form-encoded or multipart) to the URI,
// without cookies or authentication, which is why the token alone
// identifies the recipient and the list; the answer is a 200, never a
// redirect. Receivers offer one-click only when the message carries a
// valid DKIM signature whose h= tag covers both List-Unsubscribe and
// List-Unsubscribe-Post: signing is the mail relay's job (or the SMTP
// channel's), not this package's, and the relay must be configured to
// sign those two headers.
//
// The handler serves /t/c/, /t/o/ and /t/u/ at the root of the router it is
// registered on; a base URL with a path needs that prefix stripped by a
// proxy or a mux subrouter.
package tracking
