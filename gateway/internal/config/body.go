package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// srcBody is a body that remembers the bytes of the file it was parsed
// from, so that expression attributes can be handed to plugins as their
// exact source text. Nested blocks' bodies are wrapped the same way, so
// the bytes follow however deep a caller decodes.
type srcBody struct {
	hcl.Body
	src []byte
}

// Content implements hcl.Body.
func (b *srcBody) Content(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Diagnostics) {
	c, diags := b.Body.Content(schema)
	return b.wrapContent(c), diags
}

// PartialContent implements hcl.Body.
func (b *srcBody) PartialContent(schema *hcl.BodySchema) (*hcl.BodyContent, hcl.Body, hcl.Diagnostics) {
	c, rest, diags := b.Body.PartialContent(schema)
	if rest != nil {
		rest = &srcBody{Body: rest, src: b.src}
	}
	return b.wrapContent(c), rest, diags
}

func (b *srcBody) wrapContent(c *hcl.BodyContent) *hcl.BodyContent {
	if c == nil {
		return nil
	}
	blocks := make(hcl.Blocks, len(c.Blocks))
	for i, blk := range c.Blocks {
		cp := *blk
		if cp.Body != nil {
			cp.Body = &srcBody{Body: cp.Body, src: b.src}
		}
		blocks[i] = &cp
	}
	out := *c
	out.Blocks = blocks
	return &out
}

// unwrap returns the native-syntax body under b, if there is one, and the
// source bytes it was parsed from, if known.
func unwrap(b hcl.Body) (*hclsyntax.Body, []byte) {
	var src []byte
	for {
		sb, ok := b.(*srcBody)
		if !ok {
			break
		}
		if src == nil {
			src = sb.src
		}
		b = sb.Body
	}
	syn, _ := b.(*hclsyntax.Body)
	return syn, src
}

// emptyBodyAt is an empty body whose "missing item" range is rng, so that
// "required argument missing" errors for an absent config block point at
// the channel or trigger rather than nowhere.
func emptyBodyAt(rng hcl.Range) hcl.Body {
	return &hclsyntax.Body{
		Attributes: hclsyntax.Attributes{},
		SrcRange:   rng,
		EndRange:   hcl.Range{Filename: rng.Filename, Start: rng.End, End: rng.End},
	}
}
