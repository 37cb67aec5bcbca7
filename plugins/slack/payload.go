package main

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/triggergate/triggergate/sdk"
)

// Slack's Block Kit limits, counted in characters. Slack does not say
// whether a character is a code point or a UTF-16 unit; counting UTF-16
// units (see width) is the stricter reading, so a message never trips the
// limit on emoji.
const (
	// maxHeaderChars is the limit of a header block's text.
	maxHeaderChars = 150
	// maxSectionChars is the limit of a section block's text.
	maxSectionChars = 3000
	// maxContextChars is the limit of a context element's text.
	maxContextChars = 3000
	// maxBlocks is the number of blocks a message may carry.
	maxBlocks = 50
	// maxFallbackChars bounds the top-level text, which Slack shows in
	// notifications and in clients that cannot render blocks.
	maxFallbackChars = 300
)

// ellipsis marks text the plugin cut to fit a limit.
const ellipsis = "…"

// Payload is the JSON body posted to the incoming webhook.
type Payload struct {
	// Text is the notification fallback: the subject, or the start of the
	// text, after the mention.
	Text string `json:"text"`
	// Blocks are the message's Block Kit layout.
	Blocks []Block `json:"blocks"`
}

// Block is a header, section or context block.
type Block struct {
	Type string `json:"type"`
	// Text is set on header and section blocks.
	Text *TextObject `json:"text,omitempty"`
	// Elements is set on context blocks.
	Elements []TextObject `json:"elements,omitempty"`
}

// TextObject is a Block Kit text object.
type TextObject struct {
	// Type is "plain_text" or "mrkdwn".
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackEscaper turns Slack's three control characters into the entities
// Slack decodes for display, so that user text cannot open a link or a
// mention such as <!channel>. Nothing else may be entity-encoded.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes s safe for any Slack text object.
func escape(s string) string { return slackEscaper.Replace(s) }

// width is how many characters Slack's limits count for r once escaped.
func width(r rune) int {
	switch r {
	case '&':
		return len("&amp;")
	case '<', '>':
		return len("&lt;")
	}
	if r > 0xFFFF {
		return 2 // a surrogate pair in UTF-16
	}
	return 1
}

// escapedLen is the length Slack counts for escape(s).
func escapedLen(s string) int {
	n := 0
	for _, r := range s {
		n += width(r)
	}
	return n
}

// fit returns the length in bytes of the longest prefix of s whose escaped
// form takes at most limit characters.
func fit(s string, limit int) int {
	n := 0
	for i, r := range s {
		if n+width(r) > limit {
			return i
		}
		n += width(r)
	}
	return len(s)
}

// truncate escapes s and cuts it to limit characters, ending in an
// ellipsis when something was cut. It never splits an entity.
func truncate(s string, limit int) string {
	if escapedLen(s) <= limit {
		return escape(s)
	}
	cut := strings.TrimRightFunc(s[:fit(s, limit-width('…'))], unicode.IsSpace)
	return escape(cut) + ellipsis
}

// split escapes s into at most maxChunks pieces of at most limit
// characters each; the first piece has first characters instead (room is
// kept for the mention). It breaks at a line end, else at a space, in the
// second half of a piece, else inside a word. When s does not fit in
// maxChunks pieces, the last one is truncated with an ellipsis.
func split(s string, first, limit, maxChunks int) []string {
	var chunks []string
	budget := first
	for s != "" && len(chunks) < maxChunks {
		if len(chunks) == maxChunks-1 {
			chunks = append(chunks, truncate(s, budget))
			break
		}
		p := fit(s, budget)
		if p == 0 { // budget below one character: never loop forever
			_, p = utf8.DecodeRuneInString(s)
		}
		if p == len(s) {
			chunks = append(chunks, escape(s))
			break
		}
		chunk, rest := s[:p], s[p:]
		if i := strings.LastIndexByte(chunk, '\n'); i > p/2 {
			chunk, rest = s[:i], s[i+1:]
		} else if i := strings.LastIndexByte(chunk, ' '); i > p/2 {
			chunk, rest = s[:i], s[i+1:]
		}
		if strings.TrimSpace(chunk) != "" {
			chunks = append(chunks, escape(chunk))
		}
		s, budget = rest, limit
	}
	return chunks
}

// buildPayload lays m out as Slack blocks: a header with the subject, the
// text in as many mrkdwn sections as it needs, and a context line naming
// the trigger and step. mention, already in Slack's syntax, opens the first
// section and the fallback text. ok is false when m has nothing to show.
func buildPayload(m *sdk.Message, mention string) (p Payload, ok bool) {
	subject := strings.TrimSpace(m.Subject)
	text := strings.TrimSpace(m.Text)
	if subject == "" && text == "" {
		return Payload{}, false
	}

	prefix := ""
	if mention != "" {
		prefix = mention + " "
	}
	fallback := subject
	if fallback == "" {
		fallback = text
	}
	p.Text = prefix + truncate(fallback, maxFallbackChars)

	if subject != "" {
		p.Blocks = append(p.Blocks, Block{Type: "header", Text: &TextObject{Type: "plain_text", Text: truncate(subject, maxHeaderChars)}})
	}
	room := maxBlocks - len(p.Blocks) - 1 // keep one for the context
	// len counts bytes, never fewer than Slack's characters.
	sections := split(text, maxSectionChars-len(prefix), maxSectionChars, room)
	switch {
	case len(sections) > 0:
		sections[0] = prefix + sections[0]
	case mention != "":
		sections = []string{mention}
	}
	for _, s := range sections {
		p.Blocks = append(p.Blocks, Block{Type: "section", Text: &TextObject{Type: "mrkdwn", Text: s}})
	}

	origin := "triggergate · " + m.Trigger + " · " + m.Step
	if m.Variant != "" {
		origin += " · variant " + m.Variant
	}
	p.Blocks = append(p.Blocks, Block{Type: "context", Elements: []TextObject{{Type: "plain_text", Text: truncate(origin, maxContextChars)}}})
	return p, true
}
