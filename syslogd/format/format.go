// Package format writes Records as syslog messages, RFC 5424 or RFC 3164,
// and frames them for their transport (RFC 6587 octet counting or newline
// for TCP and TLS, none for UDP). It appends to a caller's buffer so that
// an output can build a whole batch without allocating per message.
package format

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hostagent/syslogd"
)

// Format is the message format of a loghost.
type Format uint8

const (
	RFC5424 Format = iota + 1
	RFC3164
)

// ParseFormat reads "rfc5424" or "rfc3164".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "rfc5424":
		return RFC5424, nil
	case "rfc3164":
		return RFC3164, nil
	}
	return 0, fmt.Errorf("format %q: must be rfc5424 or rfc3164", s)
}

func (f Format) String() string {
	if f == RFC3164 {
		return "rfc3164"
	}
	return "rfc5424"
}

// Framing separates messages on a stream.
type Framing uint8

const (
	None          Framing = iota + 1 // one message per datagram (UDP)
	OctetCounting                    // "LEN SP MSG" (RFC 6587 3.4.1, RFC 5425)
	Newline                          // "MSG LF" (RFC 6587 3.4.2, non-transparent)
)

// ParseFraming reads "octet-counting" or "newline".
func ParseFraming(s string) (Framing, error) {
	switch strings.ToLower(s) {
	case "octet-counting":
		return OctetCounting, nil
	case "newline":
		return Newline, nil
	}
	return 0, fmt.Errorf("framing %q: must be octet-counting or newline", s)
}

func (f Framing) String() string {
	switch f {
	case OctetCounting:
		return "octet-counting"
	case Newline:
		return "newline"
	}
	return "none"
}

// MaxSequenceID is where RFC 5424's meta sequenceId wraps back to 1.
const MaxSequenceID = 2147483647

// Append writes r as one message in format f, at most maxLen octets (the
// message is cut at a character boundary), and frames it.
func Append(b []byte, r *syslogd.Record, f Format, framing Framing, maxLen int) []byte {
	// With octet counting the length goes first, so the message is built
	// after room for the largest count and moved back once its size is known.
	start := len(b)
	if framing == OctetCounting {
		b = append(b, "00000000 "...)
	}
	msgStart := len(b)
	if f == RFC3164 {
		b = append3164(b, r)
	} else {
		b = append5424(b, r)
	}
	if framing == Newline {
		// A line feed inside the message would end it early: escaped as
		// rsyslog escapes control characters, before the cut so that the
		// cut message stays within maxLen.
		for i := msgStart; i < len(b); i++ {
			if b[i] == '\n' {
				b = append(b[:i], append([]byte("#012"), b[i+1:]...)...)
			}
		}
	}
	if maxLen > 0 && len(b)-msgStart > maxLen {
		b = b[:msgStart+cutPoint(b[msgStart:], maxLen)]
	}
	switch framing {
	case OctetCounting:
		n := len(b) - msgStart
		prefix := strconv.AppendInt(make([]byte, 0, 9), int64(n), 10)
		prefix = append(prefix, ' ')
		copy(b[start:], prefix)
		copy(b[start+len(prefix):], b[msgStart:])
		b = b[:start+len(prefix)+n]
	case Newline:
		b = append(b, '\n')
	}
	return b
}

// cutPoint is the largest length ≤ max that does not split a UTF-8 character.
func cutPoint(msg []byte, max int) int {
	n := max
	for n > 0 && n < len(msg) && !utf8.RuneStart(msg[n]) {
		n--
	}
	return n
}

// SDID is the SD-ID of hostagent's own structured data element, which
// names the source of a message so a collector can count per source:
//
//	[hostagent@32473 source="/var/log/vmware/hostd.log" file="2049:1311:5f0c3a9e1b2d" part="2"]
//
// RFC 5424 (7.2) reserves SD-IDs without "@" for IANA; a private one is
// name@<private enterprise number>. The project has no enterprise number
// of its own, so it uses 32473, the number RFC 5612 sets aside for
// documentation and examples, rather than borrow somebody else's.
const SDID = "hostagent@32473"

// append5424 writes <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG.
// The structured data carries [meta sequenceId="N"] (RFC 5424 7.3.1), the
// record's sequence number within its source, so a collector can spot gaps,
// and an SDID element naming the source (its path or socket, the file's
// identity, and the part of a split message).
func append5424(b []byte, r *syslogd.Record) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(syslogd.Priority(r.Facility, r.Severity)), 10)
	b = append(b, ">1 "...)
	if r.Time.IsZero() {
		b = append(b, '-')
	} else {
		b = r.Time.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	}
	b = append(b, ' ')
	b = appendHeaderField(b, r.Hostname, 255)
	b = append(b, ' ')
	b = appendHeaderField(b, r.AppName, 48)
	b = append(b, ' ')
	b = appendHeaderField(b, r.ProcID, 128)
	b = append(b, ' ')
	b = appendHeaderField(b, r.MsgID, 32)
	b = append(b, ' ')
	if r.Seq > 0 {
		b = append(b, `[meta sequenceId="`...)
		b = strconv.AppendUint(b, (r.Seq-1)%MaxSequenceID+1, 10)
		b = append(b, `"]`...)
	}
	if r.Source != "" {
		b = append(b, "["+SDID+` source="`...)
		b = appendParamValue(b, r.Source)
		if r.SourceID != "" {
			b = append(b, `" file="`...)
			b = appendParamValue(b, r.SourceID)
		}
		if r.Part > 0 {
			b = append(b, `" part="`...)
			b = strconv.AppendInt(b, int64(r.Part), 10)
		}
		b = append(b, `"]`...)
	}
	if r.Seq == 0 && r.Source == "" {
		b = append(b, '-')
	}
	if r.Message != "" {
		b = append(b, ' ')
		b = append(b, r.Message...)
	}
	return b
}

// appendParamValue writes s as an SD PARAM-VALUE (RFC 5424 6.3.3): '"',
// '\\' and ']' are escaped with a backslash. s is valid UTF-8 without
// control characters (an input's Escape made it so).
func appendParamValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', ']':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// SDLen bounds the length of what append5424 writes for r's structured
// data: an output uses it to tell, without formatting, that a message fits.
func SDLen(r *syslogd.Record) int {
	n := len(`[meta sequenceId="2147483647"]`)
	if r.Source != "" {
		// Every byte of the values may be escaped; part fits in 20 digits.
		n += len("["+SDID+` source="" file="" part=""]`) + 2*(len(r.Source)+len(r.SourceID)) + 20
	}
	return n
}

// appendHeaderField writes a header field of printable US-ASCII (RFC 5424
// 6): "-" when empty, other characters replaced by '_', cut at max.
func appendHeaderField(b []byte, s string, max int) []byte {
	if s == "" {
		return append(b, '-')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// append3164 writes <PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG (RFC 3164
// 4.1), the form older collectors expect. The timestamp has no year nor
// zone, so it is written in the host's local time, as syslogd does.
func append3164(b []byte, r *syslogd.Record) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(syslogd.Priority(r.Facility, r.Severity)), 10)
	b = append(b, '>')
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b = t.Local().AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	b = appendHeaderField(b, r.Hostname, 255)
	b = append(b, ' ')
	tag := r.AppName
	if tag == "" {
		tag = "-"
	}
	b = appendTag(b, tag)
	if r.ProcID != "" {
		b = append(b, '[')
		b = appendHeaderField(b, r.ProcID, 32)
		b = append(b, ']')
	}
	b = append(b, ':', ' ')
	return append(b, r.Message...)
}

// appendTag writes the TAG: at most 32 alphanumeric characters (RFC 3164
// 4.1.3), with '-', '_' and '.' kept as real syslogds accept them.
func appendTag(b []byte, tag string) []byte {
	n := 0
	for i := 0; i < len(tag) && n < 32; i++ {
		c := tag[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '/':
		default:
			c = '_'
		}
		b = append(b, c)
		n++
	}
	return b
}
