// Package syslogd is hostagent's remote syslog client: inputs (files of
// the log directory, the local syslog socket) produce Records, a spool
// keeps them until every output has them, and outputs send them to the
// loghosts as RFC 5424 or RFC 3164 over UDP, TCP, TLS or RELP. This
// package holds what every stage shares: the Record, syslog.toml and the
// loghost URI syntax; each stage lives in a sub-package.
package syslogd

import (
	"fmt"
	"strings"
	"time"
)

// Facility is the syslog facility (RFC 5424 section 6.2.1), 0 to 23.
type Facility uint8

// Severity is the syslog severity, 0 (emerg) to 7 (debug).
type Severity uint8

var facilityNames = []string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
	"ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7",
}

var severityNames = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func (f Facility) String() string {
	if int(f) < len(facilityNames) {
		return facilityNames[f]
	}
	return fmt.Sprintf("facility(%d)", uint8(f))
}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// Priority is the PRI value: facility * 8 + severity.
func Priority(f Facility, s Severity) int { return int(f)*8 + int(s) }

// ParsePriority reads "facility.severity" as syslog.conf writes it
// ("local0.info", "daemon.warning"); "warn" and "error" are accepted as
// rsyslog accepts them.
func ParsePriority(s string) (Facility, Severity, error) {
	fac, sev, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ".")
	f, fok := index(facilityNames, fac)
	switch sev {
	case "warn":
		sev = "warning"
	case "error":
		sev = "err"
	case "panic":
		sev = "emerg"
	}
	v, vok := index(severityNames, sev)
	if !ok || !fok || !vok {
		return 0, 0, fmt.Errorf("priority %q: write facility.severity, facility one of %s, severity one of %s",
			s, strings.Join(facilityNames, ", "), strings.Join(severityNames, ", "))
	}
	return Facility(f), Severity(v), nil
}

func index(names []string, s string) (int, bool) {
	for i, n := range names {
		if n == s {
			return i, true
		}
	}
	return 0, false
}

// Record is one log message on its way from an input to the loghosts.
type Record struct {
	Time     time.Time
	Hostname string
	AppName  string
	ProcID   string
	MsgID    string
	Facility Facility
	Severity Severity
	Message  string

	// Where it came from: a file path or a socket ("unix:/dev/log").
	Source string
	// For files: the offset just past the line, where reading resumes
	// once this record is delivered everywhere (the checkpoint).
	Offset int64
	// SourceID names one generation of a file source (device, inode and
	// fingerprint, see tail.FileID): app.log before and after a rotation
	// are two sources that share a path. Empty for sockets.
	SourceID string
	// Seq numbers the records of one source (Source and SourceID) from 1.
	// A record keeps its number when it is sent again, so a collector can
	// drop duplicates and trust a gap; it is sent in the structured data of
	// RFC 5424 messages, with the source.
	Seq uint64
	// Part is 0 for a whole message, and 1, 2, ... for the pieces of one
	// split by an output to fit its loghost; the pieces share Seq.
	Part int
}
