package listen

import (
	"bytes"
	"strings"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"hostagent/syslogd"
)

// parser turns datagrams into Records. Its machines keep state between
// calls, so each reading goroutine has its own parser.
type parser struct {
	hostname string // for messages that carry none
	rfc5424  syslog.Machine
	rfc3164  syslog.Machine
}

func newParser(hostname string) *parser {
	return &parser{
		hostname: hostname,
		rfc5424:  rfc5424.NewMachine(rfc5424.WithBestEffort()),
		// No WithYear nor WithLocaleTimezone: the machine would fix the
		// year when it is built and use it for as long as hostagent
		// runs; stampTime places each timestamp instead.
		rfc3164: rfc3164.NewMachine(rfc3164.WithBestEffort(),
			rfc3164.WithLenientDay(), rfc3164.WithRFC3339()),
	}
}

// parse never fails: a message that is neither RFC 5424 nor RFC 3164 is
// kept whole, as rsyslog does, so nothing a program logs is lost.
func (p *parser) parse(raw []byte, now time.Time) syslogd.Record {
	// Escaping first leaves the parsers only printable text: the RFC 3164
	// machine stops at a control byte and would return a message cut
	// there. Header fields never legitimately hold such bytes.
	b := []byte(syslogd.Escape(bytes.TrimRight(raw, "\n\x00")))

	if m, err := p.rfc5424.Parse(b); m != nil {
		// Best effort returns what it got before an error; it is used
		// when that includes the text, otherwise the text would be lost.
		if m := m.(*rfc5424.SyslogMessage); err == nil || m.Message != nil {
			return p.from5424(m, b, now)
		}
	}
	if r, ok := p.parseBSD(b, now); ok {
		return r
	}
	if m, err := p.rfc3164.Parse(b); m != nil {
		// An RFC 3164 message ends with its text, so a result with an
		// error or without a timestamp or text lacks part of it.
		if m := m.(*rfc3164.SyslogMessage); err == nil && m.Timestamp != nil && m.Message != nil {
			return p.from3164(m, now)
		}
	}
	return p.unparsed(b, now)
}

func (p *parser) from5424(m *rfc5424.SyslogMessage, b []byte, now time.Time) syslogd.Record {
	r := p.record(&m.Base, now)
	// A BOM only marks the text as UTF-8, which every Message is.
	msg := strings.TrimPrefix(r.Message, "\ufeff")
	if m.StructuredData != nil {
		if sd := privateSD(b); sd != "" {
			msg = strings.TrimSuffix(sd+" "+msg, " ")
		}
	}
	r.Message = msg
	return r
}

func (p *parser) from3164(m *rfc3164.SyslogMessage, now time.Time) syslogd.Record {
	r := p.record(&m.Base, now)
	if m.Timestamp.Year() == 0 { // a Stamp ("Jan _2 15:04:05"), not RFC 3339
		r.Time = stampTime(*m.Timestamp, now)
	}
	return r
}

// record copies the fields the parsers share.
func (p *parser) record(m *syslog.Base, now time.Time) syslogd.Record {
	r := syslogd.Record{
		Time:     now,
		Hostname: orDefault(m.Hostname, p.hostname),
		AppName:  orDefault(m.Appname, ""),
		ProcID:   orDefault(m.ProcID, ""),
		MsgID:    orDefault(m.MsgID, ""),
		Facility: 1, // user.notice, as for a message without PRI
		Severity: 5,
		Message:  orDefault(m.Message, ""),
	}
	if m.Timestamp != nil {
		r.Time = *m.Timestamp
	}
	if m.Facility != nil && m.Severity != nil {
		r.Facility, r.Severity = syslogd.Facility(*m.Facility), syslogd.Severity(*m.Severity)
	}
	return r
}

func orDefault(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

// parseBSD reads "<PRI>Mmm dd hh:mm:ss [HOSTNAME ]TAG[PID]: MSG", what
// syslog(3) of glibc and musl and logger(1) write to /dev/log (without
// HOSTNAME) and what most RFC 3164 senders write. The rfc3164 machine
// reads the common case right, but when MSG is empty ("myapp[123]: ", as
// syslog(LOG_INFO, "") sends) it returns part of the tag as the message
// ("123]: "): its alternatives for TAG and MSG run together. This form is
// unambiguous, so it is read here, and the machine is left the rarer
// forms (RFC 3339 timestamp, a tag without a colon).
func (p *parser) parseBSD(b []byte, now time.Time) (syslogd.Record, bool) {
	pri, rest, ok := splitPRI(b)
	if !ok || len(rest) < len(time.Stamp)+1 || rest[len(time.Stamp)] != ' ' {
		return syslogd.Record{}, false
	}
	t, err := time.Parse(time.Stamp, string(rest[:len(time.Stamp)]))
	if err != nil {
		return syslogd.Record{}, false
	}
	rest = rest[len(time.Stamp)+1:]
	host := p.hostname
	tag, pid, msg, ok := splitTag(rest)
	if !ok {
		// "HOSTNAME TAG: MSG"? The first word is not a tag.
		sp := bytes.IndexByte(rest, ' ')
		if sp <= 0 || bytes.ContainsAny(rest[:sp], ":[") {
			return syslogd.Record{}, false
		}
		if tag, pid, msg, ok = splitTag(rest[sp+1:]); !ok {
			return syslogd.Record{}, false
		}
		if rest[0] != '-' || sp != 1 { // "-" is RFC 5424's "none", seen in 3164 too
			host = string(rest[:sp])
		}
	}
	return syslogd.Record{
		Time:     stampTime(t, now),
		Hostname: host,
		AppName:  tag,
		ProcID:   pid,
		Facility: syslogd.Facility(pri / 8),
		Severity: syslogd.Severity(pri % 8),
		Message:  msg,
	}, true
}

// splitTag splits "TAG: MSG" or "TAG[PID]: MSG"; TAG is not empty and
// holds no space, colon or bracket.
func splitTag(b []byte) (tag, pid, msg string, ok bool) {
	i := bytes.IndexAny(b, " :[")
	if i <= 0 || b[i] == ' ' {
		return "", "", "", false
	}
	tag, b = string(b[:i]), b[i:]
	if b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 0 || bytes.IndexByte(b[:end], ' ') >= 0 {
			return "", "", "", false
		}
		pid, b = string(b[1:end]), b[end+1:]
	}
	if len(b) == 0 || b[0] != ':' {
		return "", "", "", false
	}
	b = bytes.TrimPrefix(b[1:], []byte(" "))
	return tag, pid, string(b), true
}

// splitPRI splits "<PRI>" off b; PRI is 0 to 191.
func splitPRI(b []byte) (pri int, rest []byte, ok bool) {
	end := bytes.IndexByte(b, '>')
	if len(b) < 3 || b[0] != '<' || end < 2 || end > 4 {
		return 0, nil, false
	}
	for _, c := range b[1:end] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		pri = pri*10 + int(c-'0')
	}
	return pri, b[end+1:], pri <= 191
}

// stampTime places an RFC 3164 timestamp, which has neither year nor zone:
// it is the sender's local time (the sender is on this host) in the
// current year, or in the last one if that would put it more than a day
// ahead (a December 31 message read on January 1).
func stampTime(t, now time.Time) time.Time {
	at := func(year int) time.Time {
		return time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.Local)
	}
	if r := at(now.Year()); !r.After(now.Add(24 * time.Hour)) {
		return r
	}
	return at(now.Year() - 1)
}

// unparsed keeps a message that follows neither RFC: its PRI if it starts
// with a valid one (the priority is all a syslog(3) caller surely sent),
// else user.notice; the rest of the text as the Message.
func (p *parser) unparsed(b []byte, now time.Time) syslogd.Record {
	r := syslogd.Record{Time: now, Hostname: p.hostname, Facility: 1, Severity: 5, Message: string(b)}
	if pri, rest, ok := splitPRI(b); ok {
		r.Facility, r.Severity, r.Message = syslogd.Facility(pri/8), syslogd.Severity(pri%8), string(rest)
	}
	return r
}

// privateSD returns the private SD-ELEMENTs (an SD-ID with "@", the
// sender's own data) of the well-formed RFC 5424 message b, as written.
// Record has no structured data field, so they are kept at the head of
// the Message rather than lost. The IANA ones (timeQuality, origin, meta)
// describe the hop to this host, which the forwarder redoes with its own.
func privateSD(b []byte) string {
	// The six header fields before SD are single words separated by
	// single spaces (the machine has checked).
	for range 6 {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			return ""
		}
		b = b[sp+1:]
	}
	var kept []string
	for len(b) > 0 && b[0] == '[' {
		end := elementEnd(b)
		el := b[:end]
		if id := el[1:bytes.IndexAny(el, " ]")]; bytes.IndexByte(id, '@') >= 0 {
			kept = append(kept, string(el))
		}
		b = b[end:]
	}
	return strings.Join(kept, "")
}

// elementEnd returns the index just past the "]" that closes the
// SD-ELEMENT at the start of b; inside a quoted PARAM-VALUE, `\"`, `\\` and
// `\]` are escapes and "]" does not close it.
func elementEnd(b []byte) int {
	quoted := false
	for i := 1; i < len(b); i++ {
		switch {
		case quoted && b[i] == '\\':
			i++
		case b[i] == '"':
			quoted = !quoted
		case !quoted && b[i] == ']':
			return i + 1
		}
	}
	return len(b)
}
