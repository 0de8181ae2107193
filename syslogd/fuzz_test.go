package syslogd

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParsePriority checks that an accepted priority is in range and that
// its canonical "facility.severity" form parses to the same values, and
// that a refused one is named in the error.
func FuzzParsePriority(f *testing.F) {
	for _, s := range []string{
		"local0.info", "DAEMON.Warning", "kern.emerg", "local7.debug", "user.warn", "auth.error",
		"user.panic", " mail.crit ", "", "local0", "local8.info", "local0.loud", ".info",
		"local0.info.x", "solaris-cron.notice", "local0.", "LOCAL0.INFO",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fac, sev, err := ParsePriority(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Errorf("ParsePriority(%q): error %q does not name the value", s, err)
			}
			return
		}
		if int(fac) >= len(facilityNames) || int(sev) >= len(severityNames) {
			t.Fatalf("ParsePriority(%q) = %d.%d: out of range", s, fac, sev)
		}
		canon := fac.String() + "." + sev.String()
		f2, s2, err := ParsePriority(canon)
		if err != nil || f2 != fac || s2 != sev {
			t.Fatalf("ParsePriority(%q) = %d.%d, but ParsePriority(%q) = %d.%d, %v", s, fac, sev, canon, f2, s2, err)
		}
		if p := Priority(fac, sev); p < 0 || p > 191 {
			t.Fatalf("Priority(%d, %d) = %d", fac, sev, p)
		}
	})
}

// FuzzEscape checks Escape's contract: the output is valid UTF-8, holds no
// control character (0x00-0x1F except TAB, and DEL) and keeps every valid,
// non-control character of the input in order, so it is never shorter
// than the input; text that needs no escaping is returned unchanged.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{
		"", "plain text", "tab\there", "line\n", "nul\x00byte", "del\x7f", "\xff\xfe binary",
		"caf\xc3\xa9", "caf\xc3", "\xef\xbb\xbfbom", "\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 too big",
		"\xc0\xaf overlong", "#012 and \\x0A literal", "\xef\xbf\xbd replacement", "\u0085 NEL", "\u2028 LS",
		"message 1 with \"quotes\" and \x00 bytes",
		// Found by fuzzing: a control character after a multi-byte one.
		"\u00e9\nnext", "caf\u00e9\x00x", "\xc6\xb8\x7f",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := Escape(raw)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q: not valid UTF-8", raw, out)
		}
		for i := 0; i < len(out); i++ {
			if isControl(out[i]) {
				t.Fatalf("Escape(%q) = %q: control byte 0x%02x at %d", raw, out, out[i], i)
			}
		}
		if len(out) < len(raw) {
			t.Fatalf("Escape(%q) = %q: shorter than the input", raw, out)
		}
		// The input's valid, non-control characters appear in the output
		// in order (escapes only add text around them).
		rest := out
		for i := 0; i < len(raw); {
			r, size := utf8.DecodeRune(raw[i:])
			if (r == utf8.RuneError && size == 1) || (size == 1 && isControl(raw[i])) {
				i++
				continue
			}
			j := strings.Index(rest, string(raw[i:i+size]))
			if j < 0 {
				t.Fatalf("Escape(%q) = %q: lost %q at input offset %d", raw, out, raw[i:i+size], i)
			}
			rest = rest[j+size:]
			i += size
		}
		if utf8.Valid(raw) && !strings.ContainsFunc(string(raw), func(r rune) bool { return r < utf8.RuneSelf && isControl(byte(r)) }) {
			if out != string(raw) {
				t.Fatalf("Escape(%q) = %q: plain text changed", raw, out)
			}
		}
		if again := Escape([]byte(out)); again != out {
			t.Fatalf("Escape is not idempotent on its output: %q -> %q -> %q", raw, out, again)
		}
	})
}
