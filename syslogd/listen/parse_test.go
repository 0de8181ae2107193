package listen

import (
	"testing"
	"time"

	"hostagent/syslogd"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 25, 19, 0, 0, 0, time.Local)
	at := func(mo time.Month, d, h, mi, s int) time.Time { return time.Date(2026, mo, d, h, mi, s, 0, time.Local) }
	for _, c := range []struct {
		in   string
		want syslogd.Record
	}{
		// syslog(3) to /dev/log.
		{"<13>Nov 25 18:01:02 myapp[123]: text",
			syslogd.Record{Time: at(11, 25, 18, 1, 2), Hostname: "h0", AppName: "myapp", ProcID: "123", Facility: 1, Severity: 5, Message: "text"}},
		{"<13>Nov  5 18:01:02 myapp: text: more\n",
			syslogd.Record{Time: at(11, 5, 18, 1, 2), Hostname: "h0", AppName: "myapp", Facility: 1, Severity: 5, Message: "text: more"}},
		// Empty text, which the rfc3164 machine gets wrong.
		{"<14>Nov 25 18:01:02 myapp[123]: ",
			syslogd.Record{Time: at(11, 25, 18, 1, 2), Hostname: "h0", AppName: "myapp", ProcID: "123", Facility: 1, Severity: 6}},
		{"<14>Nov 25 18:01:02 web1 myapp[123]:",
			syslogd.Record{Time: at(11, 25, 18, 1, 2), Hostname: "web1", AppName: "myapp", ProcID: "123", Facility: 1, Severity: 6}},
		{"<14>Nov 25 18:01:02 - myapp: x",
			syslogd.Record{Time: at(11, 25, 18, 1, 2), Hostname: "h0", AppName: "myapp", Facility: 1, Severity: 6, Message: "x"}},
		// RFC 3164 with HOSTNAME, zero-padded day.
		{"<165>Nov 05 18:01:02 web1 su: 'su root' failed",
			syslogd.Record{Time: at(11, 5, 18, 1, 2), Hostname: "web1", AppName: "su", Facility: 20, Severity: 5, Message: "'su root' failed"}},
		// Left to the rfc3164 machine: a tag without colon, an RFC 3339 timestamp.
		{"<13>Nov 25 18:01:02 web1 text only",
			syslogd.Record{Time: at(11, 25, 18, 1, 2), Hostname: "web1", Facility: 1, Severity: 5, Message: "text only"}},
		{"<13>2024-01-02T03:04:05Z web1 app[7]: x",
			syslogd.Record{Time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Hostname: "web1", AppName: "app", ProcID: "7", Facility: 1, Severity: 5, Message: "x"}},
		// RFC 5424: "-" fields, BOM, IANA SD dropped, private SD kept.
		{"<165>1 2024-01-02T03:04:05.123Z - app - - [timeQuality isSynced=\"0\"] \xef\xbb\xbfhi",
			syslogd.Record{Time: time.Date(2024, 1, 2, 3, 4, 5, 123e6, time.UTC), Hostname: "h0", AppName: "app", Facility: 20, Severity: 5, Message: "hi"}},
		{"<165>1 - host app 1 ID [a@1 x=\"a\\]\\\"b\"] t",
			syslogd.Record{Time: now, Hostname: "host", AppName: "app", ProcID: "1", MsgID: "ID", Facility: 20, Severity: 5, Message: `[a@1 x="a\]\"b"] t`}},
		// Neither.
		{"<13>", syslogd.Record{Time: now, Hostname: "h0", Facility: 1, Severity: 5}},
		{"plain", syslogd.Record{Time: now, Hostname: "h0", Facility: 1, Severity: 5, Message: "plain"}},
	} {
		got := newParser("h0").parse([]byte(c.in), now)
		if !got.Time.Equal(c.want.Time) {
			t.Errorf("%q: time %v, want %v", c.in, got.Time, c.want.Time)
		}
		got.Time = c.want.Time
		if got != c.want {
			t.Errorf("%q:\ngot  %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func TestStampTimeYear(t *testing.T) {
	stamp, _ := time.Parse(time.Stamp, "Dec 31 23:59:59")
	now := time.Date(2027, 1, 1, 0, 0, 5, 0, time.Local)
	if got := stampTime(stamp, now); got.Year() != 2026 {
		t.Errorf("Dec 31 read on Jan 1 2027: %v", got)
	}
	stamp, _ = time.Parse(time.Stamp, "Jan  1 00:00:01")
	if got := stampTime(stamp, now); got.Year() != 2027 || got.Location() != time.Local {
		t.Errorf("Jan 1: %v", got)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, c := range []struct{ name, msg string }{
		{"local", "<30>Nov 25 18:01:02 myapp[12345]: connection from 192.0.2.7 port 51234 accepted for user alice"},
		{"rfc5424", `<30>1 2026-11-25T18:01:02.123456+01:00 web1 myapp 12345 ID47 [ex@32473 iut="3"] connection from 192.0.2.7 accepted`},
		{"rfc3164-machine", "<30>2026-11-25T18:01:02Z web1 myapp connection from 192.0.2.7 port 51234 accepted"},
	} {
		b.Run(c.name, func(b *testing.B) {
			p, msg := newParser("h0"), []byte(c.msg)
			for range b.N {
				p.parse(msg, time.Time{})
			}
		})
	}
}
