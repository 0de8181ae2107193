package syslogd

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape turns a message's raw bytes (a line of a file, a datagram of the
// local socket) into text that is valid UTF-8 and
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
func Escape(raw []byte) string {
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

// isPlain is the common case's fast path: nothing to escape. Every byte
// is checked for control characters, before and after any multi-byte
// character.
func isPlain(raw []byte) bool {
	ascii := true
	for _, c := range raw {
		if c >= utf8.RuneSelf {
			ascii = false
		} else if isControl(c) {
			return false
		}
	}
	return ascii || utf8.Valid(raw)
}
