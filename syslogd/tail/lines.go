package tail

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ContinuedMarker ends the Text of every part of a split line except the
// last, so a reader of the remote log sees that the message goes on in the
// next one. The last part has no marker; Line.Part numbers the parts.
const ContinuedMarker = " [continued]"

// escapeLine turns one line's raw bytes into text that is valid UTF-8 and
// free of control characters, dropping nothing:
//   - a byte that is not part of valid UTF-8 becomes \xNN (hex), so binary
//     garbage stays visible and RFC 5424's UTF-8 MSG stays valid;
//   - a control character (0x00-0x1F except TAB, and DEL) becomes #ooo
//     (octal), as rsyslog writes them by default
//     ($EscapeControlCharactersOnReceive), so lines look the same as those
//     relayed by rsyslog and no NUL or newline reaches a collector that
//     would cut the message there.
//
// The two prefixes differ so an escaped control character (valid text) is
// not mistaken for an escaped invalid byte. Literal "#" and "\" are left
// alone: the aim is readable and lossless-enough text, not reversibility.
func escapeLine(raw []byte) string {
	if isPlain(raw) {
		return string(raw)
	}
	var b strings.Builder
	b.Grow(len(raw) + 16)
	for i := 0; i < len(raw); {
		c := raw[i]
		if c < utf8.RuneSelf {
			if isControl(c) {
				fmt.Fprintf(&b, "#%03o", c)
			} else {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02X`, c)
			i++
			continue
		}
		b.Write(raw[i : i+size])
		i += size
	}
	return b.String()
}

func isControl(c byte) bool { return (c < 0x20 && c != '\t') || c == 0x7f }

// isPlain is the common case's fast path: nothing to escape.
func isPlain(raw []byte) bool {
	for _, c := range raw {
		if c >= utf8.RuneSelf {
			return utf8.Valid(raw)
		}
		if isControl(c) {
			return false
		}
	}
	return true
}

// splitPoint returns where to cut b (longer than max) so the first part
// holds at most max bytes without cutting a UTF-8 character in two, which
// would turn its halves into \xNN escapes on both sides of the cut.
func splitPoint(b []byte, max int) int {
	// Look back at most UTFMax-1 bytes for the start of a character that
	// would straddle the cut.
	for j := max - 1; j >= 0 && j > max-utf8.UTFMax; j-- {
		if !utf8.RuneStart(b[j]) {
			continue
		}
		r, size := utf8.DecodeRune(b[j:])
		if r != utf8.RuneError && j+size > max && j > 0 {
			return j
		}
		break
	}
	return max
}
