package format

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hostagent/syslogd"
)

// FuzzAppend checks that Append never panics, leaves the caller's buffer
// alone, respects maxLen (the message proper, whatever the framing), cuts
// only at character boundaries of the uncut message, writes an octet count
// equal to the message's length, and ends a newline-framed message with its
// only line feed.
func FuzzAppend(f *testing.F) {
	r := record()
	for _, c := range []struct {
		prefix                          string
		host, app, proc, msgid, message string
		fac, sev                        uint8
		seq                             uint64
		nanos                           int64
		format, framing                 uint8
		maxLen                          int
	}{
		{"", r.Hostname, r.AppName, r.ProcID, "", r.Message, 16, 6, 42, when.UnixNano(), 1, 1, 0},
		{"previous", r.Hostname, r.AppName, r.ProcID, "ID47", r.Message, 16, 6, 42, when.UnixNano(), 1, 2, 480},
		{"", "bad host\x00", strings.Repeat("a", 60), "2101", "", "one\ntwo lines", 1, 5, MaxSequenceID + 5, 0, 1, 3, 0},
		{"x", "", "", "", "", "", 0, 0, 0, 0, 2, 1, 0},
		{"", "esx01", "vmkernel.log", "", "", "Task: \u00e9\u00e9\u00e9\u20ac\u20ac", 16, 6, 1, when.UnixNano(), 2, 3, 40},
		{"", "esx01", "hostd", "1", "", strings.Repeat("\u20ac", 300), 23, 7, 7, when.UnixNano(), 1, 2, 481},
		{"", "esx01", "hostd", "1", "", "\xff\xfe\xfd", 5, 6, 1, when.UnixNano(), 1, 1, 1},
		// Found by fuzzing: escaped line feeds pushed a cut message past maxLen.
		{"", "", "", "", "", "a\nb", 0, 0, 0, 0, 1, 3, 20},
	} {
		f.Add([]byte(c.prefix), c.host, c.app, c.proc, c.msgid, c.message, c.fac, c.sev, c.seq, c.nanos, c.format, c.framing, c.maxLen)
	}
	f.Fuzz(func(t *testing.T, prefix []byte, host, app, proc, msgid, message string, fac, sev uint8, seq uint64, nanos int64, fm, fr uint8, maxLen int) {
		rec := &syslogd.Record{Hostname: host, AppName: app, ProcID: proc, MsgID: msgid, Message: message,
			Facility: syslogd.Facility(fac), Severity: syslogd.Severity(sev), Seq: seq}
		if nanos != 0 {
			rec.Time = time.Unix(0, nanos).UTC()
		}
		form, framing := Format(fm%3), Framing(fr%4)
		if form == RFC3164 && rec.Time.IsZero() {
			rec.Time = when // a zero time is "now", which would differ between calls
		}
		full := Append(nil, rec, form, None, 0)
		// The caller's buffer, with spare capacity so overlapping moves show.
		buf := append(make([]byte, 0, len(prefix)+7), prefix...)
		out := Append(buf, rec, form, framing, maxLen)
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("Append changed the caller's bytes %q: %q", prefix, out)
		}
		body := out[len(prefix):]
		var msg []byte
		switch framing {
		case OctetCounting:
			sp := bytes.IndexByte(body, ' ')
			if sp <= 0 {
				t.Fatalf("octet-counted %q: no count", body)
			}
			n, err := strconv.Atoi(string(body[:sp]))
			if err != nil || strconv.Itoa(n) != string(body[:sp]) {
				t.Fatalf("octet-counted %q: bad count %q", body, body[:sp])
			}
			msg = body[sp+1:]
			if n != len(msg) {
				t.Fatalf("octet count %d, message is %d octets: %q", n, len(msg), body)
			}
		case Newline:
			if len(body) == 0 || body[len(body)-1] != '\n' || bytes.IndexByte(body, '\n') != len(body)-1 {
				t.Fatalf("newline-framed %q: not one line ending in LF", body)
			}
			msg = body[:len(body)-1]
		default:
			msg = body
		}
		if maxLen > 0 && len(msg) > maxLen {
			t.Fatalf("Append(maxLen %d, framing %v) wrote a %d-octet message: %q", maxLen, framing, len(msg), msg)
		}
		// The message is the uncut one, cut at a character boundary; with
		// newline framing, the uncut one with its line feeds escaped (the
		// escaping comes before the cut, so that maxLen holds).
		plain := msg
		if framing == Newline {
			full = bytes.ReplaceAll(full, []byte("\n"), []byte("#012"))
		}
		if !bytes.HasPrefix(full, plain) {
			t.Fatalf("message %q is not a prefix of the uncut %q", plain, full)
		}
		if (maxLen <= 0 || len(full) <= maxLen) && len(plain) != len(full) && framing != Newline {
			t.Fatalf("message cut to %d octets though it fits in %d: %q", len(plain), maxLen, full)
		}
		if utf8.Valid(full) && !utf8.Valid(plain) {
			t.Fatalf("cut inside a character: %q of %q", plain, full)
		}
	})
}
