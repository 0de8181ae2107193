package tail

import (
	"strings"
	"testing"

	"hostagent/syslogd"
)

func TestEscapeLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tkept", "tab\tkept"},
		{"nul\x00here", "nul#000here"},
		{"bell\x07 esc\x1b del\x7f", "bell#007 esc#033 del#177"},
		{"cr\rmid", "cr#015mid"},
		{"latin1 caf\xe9", `latin1 caf\xE9`},
		{"valid café ✓", "valid café ✓"},
		{"truncated \xe2\x9c", `truncated \xE2\x9C`},
		{"literal \ufffd stays", "literal \ufffd stays"},
		{"", ""},
	} {
		if got := syslogd.Escape([]byte(tc.in)); got != tc.want {
			t.Errorf("syslogd.Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitPointKeepsCharactersWhole(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want int
	}{
		{strings.Repeat("a", 20), 16, 16},
		{strings.Repeat("a", 15) + "é" + "b", 16, 15},
		{strings.Repeat("a", 14) + "✓" + "b", 16, 14},
		{strings.Repeat("a", 13) + "✓" + "b", 16, 16},
		{strings.Repeat("a", 15) + "\xff\xff", 16, 16}, // invalid bytes: cut anywhere
		{"é" + strings.Repeat("a", 20), 1, 1},          // no room: cut rather than loop
	} {
		if got := splitPoint([]byte(tc.in), tc.max); got != tc.want {
			t.Errorf("splitPoint(%q, %d) = %d, want %d", tc.in, tc.max, got, tc.want)
		}
	}
}

func FuzzEscapeLine(f *testing.F) {
	f.Add([]byte("a\x00b\xffc"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := syslogd.Escape(raw)
		for _, r := range s {
			if r == '\ufffd' && !strings.Contains(string(raw), "\ufffd") {
				t.Fatalf("syslogd.Escape(%q) = %q: invalid UTF-8 left", raw, s)
			}
			if r < 0x20 && r != '\t' || r == 0x7f {
				t.Fatalf("syslogd.Escape(%q) = %q: control character left", raw, s)
			}
		}
		if len(s) < len(raw) {
			t.Fatalf("syslogd.Escape(%q) = %q: bytes dropped", raw, s)
		}
	})
}
