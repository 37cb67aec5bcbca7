package segment

import (
	"strings"
	"unicode/utf8"
)

// snakeCase turns a Segment name ("Course Clicked", "subscriptionPlan",
// "postalCode", "HTMLVersion") into snake_case ASCII: a word boundary
// (space, punctuation, a change to upper case, the end of an acronym)
// becomes one "_"; characters outside [A-Za-z0-9] are boundaries.
func snakeCase(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	sep := false
	var prev rune
	for i, r := range s {
		upper := r >= 'A' && r <= 'Z'
		lowerOrDigit := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !upper && !lowerOrDigit {
			sep = b.Len() > 0
			prev = r
			continue
		}
		if upper && b.Len() > 0 {
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			switch {
			case (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9'):
				sep = true // subscriptionPlan
			case prev >= 'A' && prev <= 'Z' && next >= 'a' && next <= 'z':
				sep = true // HTMLVersion
			}
		}
		if sep {
			b.WriteByte('_')
			sep = false
		}
		prev = r
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
		if b.Len() > 120 {
			break
		}
	}
	return b.String()
}
