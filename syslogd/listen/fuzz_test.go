package listen

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hostagent/syslogd"
)

// reused is one parser kept across fuzz inputs: its machines keep state
// between calls, which must not change what a later message parses to.
var reused = newParser("h0")

// FuzzParse checks that parse never panics on a datagram, returns a
// Record whose text fields are valid UTF-8 without control characters,
// with a facility and severity in range, and that a parser which has read
// other messages before gives the same Record as a fresh one.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"<13>Nov 25 18:01:02 myapp[123]: text", "<13>Nov  5 18:01:02 myapp: text: more\n",
		"<14>Nov 25 18:01:02 myapp[123]: ", "<14>Nov 25 18:01:02 web1 myapp[123]:", "<14>Nov 25 18:01:02 - myapp: x",
		"<165>Nov 05 18:01:02 web1 su: 'su root' failed", "<13>Nov 25 18:01:02 web1 text only",
		"<13>2024-01-02T03:04:05Z web1 app[7]: x",
		"<165>1 2024-01-02T03:04:05.123Z - app - - [timeQuality isSynced=\"0\"] \xef\xbb\xbfhi",
		"<165>1 - host app 1 ID [a@1 x=\"a\\]\\\"b\"] t", "<13>", "plain",
		"<30>1 2026-11-25T18:01:02.123456+01:00 web1 myapp 12345 ID47 [ex@32473 iut=\"3\"] connection accepted",
		"<30>2026-11-25T18:01:02Z web1 myapp connection from 192.0.2.7 port 51234 accepted",
		"<191>Feb 29 23:59:59 a[: b", "<192>Nov 25 18:01:02 x: y", "<0>1 - - - - - [a@1][b@2 c=\"]\"]",
		"<13>Nov 25 18:01:02 app[1 2]: x", "\x00\x00\n", "<13>Nov 25 18:01:02 myapp[123]: bin\xff\x00ary\n\n",
		"<165>1 2024-01-02T03:04:05Z h a p m [x@1 y=\"\\", "<1>1 - - - - - [a@",
	} {
		f.Add([]byte(s))
	}
	f.Add([]byte("\u69e0\x1a")) // found by fuzzing: a control character after a multi-byte one
	{
	}
	now := time.Date(2026, 11, 25, 19, 0, 0, 0, time.Local)
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := newParser("h0").parse(raw, now)
		for name, s := range map[string]string{"hostname": got.Hostname, "app": got.AppName, "procid": got.ProcID, "msgid": got.MsgID, "message": got.Message} {
			if !utf8.ValidString(s) {
				t.Fatalf("parse(%q): %s %q is not valid UTF-8", raw, name, s)
			}
			if strings.ContainsFunc(s, func(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }) {
				t.Fatalf("parse(%q): %s %q holds a control character", raw, name, s)
			}
		}
		if got.Facility > 23 || got.Severity > 7 {
			t.Fatalf("parse(%q): facility %d severity %d out of range", raw, got.Facility, got.Severity)
		}
		if got.Hostname == "" {
			t.Fatalf("parse(%q): empty hostname", raw)
		}
		if got.Time.IsZero() {
			t.Fatalf("parse(%q): no time", raw)
		}
		again := reused.parse(raw, now)
		if !sameRecord(got, again) {
			t.Fatalf("parse(%q) depends on what the parser read before:\nfresh  %+v\nreused %+v", raw, got, again)
		}
	})
}

func sameRecord(a, b syslogd.Record) bool {
	if !a.Time.Equal(b.Time) {
		return false
	}
	a.Time = b.Time
	return a == b
}
