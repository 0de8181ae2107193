// Package audit records every change made to the daemon's configuration — who, from where, what, old and new value, and the result — in an append-only log in the state dir, and hands each entry to the syslog forwarder.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/sys/unix"

	"hostagent/syslogd"
)

// Syslog fields of forwarded entries.
const (
	Facility = syslogd.Facility(13) // "log audit"
	AppName  = "hostagentd-audit"

	severityNotice  = syslogd.Severity(5)
	severityWarning = syslogd.Severity(4)
)

// DefaultMaxSize is the size past which the log is rotated.
const DefaultMaxSize = 16 << 20

// Generations is how many rotated files are kept: path.1 (newest) to path.5.
const Generations = 5

// Hidden replaces the values of settings that hold passwords.
const Hidden = "(hidden)"

// Entry is one audited action.
type Entry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`              // "root" on the local socket, else the user name
	Source  string    `json:"source"`            // "unix" or the client's address
	Action  string    `json:"action"`            // e.g. "snmp.update", "syslog.update", "user.add", "login"
	Setting string    `json:"setting,omitempty"` // e.g. "communities"
	Old     string    `json:"old,omitempty"`
	New     string    `json:"new,omitempty"`
	Result  string    `json:"result"`           // "ok", "denied", "invalid", "failed"
	Detail  string    `json:"detail,omitempty"` // the error, the missing privilege
}

// Log is an open audit log. Its methods are safe for concurrent use.
type Log struct {
	path    string
	forward func(syslogd.Record)
	procID  string

	refused     refusals
	burstWindow time.Duration // BurstWindow; tests shorten it

	mu      sync.Mutex
	f       *os.File
	size    int64
	maxSize int64
}

// Open opens (creating, mode 0600) the audit log file (JSON lines,
// append-only). forward, if not nil, receives every entry as a syslog
// Record; it is called outside the log's lock, so it may block briefly but
// should not call back into the Log.
func Open(path string, forward func(syslogd.Record)) (*Log, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	return &Log{path: path, forward: forward, procID: strconv.Itoa(os.Getpid()),
		f: f, size: size, maxSize: DefaultMaxSize, burstWindow: BurstWindow}, nil
}

// openFile opens path for appending, mode 0600 whatever the umask or the
// mode of an existing file, and returns its size. A symbolic link at path
// is refused, not followed (O_NOFOLLOW): the daemon writes as root, and a
// link planted in the state directory would have it append to, and chmod,
// whatever file the link names. So is anything but a regular file.
func openFile(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, 0, fmt.Errorf("audit: %s is a symbolic link, which the audit log does not follow; remove it (the daemon creates the file itself): %w", path, err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("audit: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (%s); remove it (the daemon creates the file itself)", path, fi.Mode().Type())
	}
	if err == nil && fi.Mode().Perm() != 0o600 {
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("audit: %w", err)
	}
	syncDir(filepath.Dir(path))
	return f, fi.Size(), nil
}

// syncDir makes a newly created or renamed file's directory entry durable;
// best effort, as not every file system supports it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// SetMaxSize sets the size past which the log is rotated (n <= 0 restores
// DefaultMaxSize).
func (l *Log) SetMaxSize(n int64) {
	if n <= 0 {
		n = DefaultMaxSize
	}
	l.mu.Lock()
	l.maxSize = n
	l.mu.Unlock()
}

// Path is the file the log writes to.
func (l *Log) Path() string { return l.path }

// Record appends e (its Time set to now if zero; user, source, setting,
// action and detail cut to a bounded length, see Cut) as one JSON line, with one
// write followed by fsync so that the entry survives a crash, then forwards
// it as a syslog Record: facility 13 (log audit), severity notice for
// result "ok" and warning otherwise, app-name "hostagentd-audit", and e in
// the one-line form of Message as its message. The values of settings that
// hold passwords are replaced by "(hidden)" in both.
//
// The entry is forwarded even if writing it failed; the error is returned.
// If rotating the log fails, the entry is still written to the current file
// and the rotation error is returned.
func (l *Log) Record(e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e = Sanitize(bound(e))
	line, err := json.Marshal(e)
	if err != nil { // cannot happen for strings and a time
		return fmt.Errorf("audit: %w", err)
	}
	line = append(line, '\n')

	err = l.write(line)
	if l.forward != nil {
		l.forward(l.syslogRecord(e))
	}
	return err
}

func (l *Log) write(line []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit: log closed")
	}
	var rotErr error
	if l.size > l.maxSize {
		rotErr = l.rotate()
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		return errors.Join(fmt.Errorf("audit: %w", err), rotErr)
	}
	return rotErr
}

// rotate shifts path.1 … path.4 to path.2 … path.5 (dropping path.5), renames
// the log to path.1 and opens a new one. On failure the current file stays
// open, so that no entry is lost. l.mu is held.
func (l *Log) rotate() error {
	gen := func(i int) string { return l.path + "." + strconv.Itoa(i) }
	if err := os.Remove(gen(Generations)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("audit: rotate: %w", err)
	}
	for i := Generations - 1; i >= 1; i-- {
		if err := os.Rename(gen(i), gen(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("audit: rotate: %w", err)
		}
	}
	if err := os.Rename(l.path, gen(1)); err != nil {
		return fmt.Errorf("audit: rotate: %w", err)
	}
	f, size, err := openFile(l.path)
	if err != nil {
		// Keep appending to the renamed file rather than losing entries.
		return fmt.Errorf("audit: rotate: %w", err)
	}
	l.f.Close()
	l.f, l.size = f, size
	return nil
}

// Close writes the refusals counted so far and closes the log; Record
// fails afterwards.
func (l *Log) Close() error {
	_ = l.FlushRefused()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func (l *Log) syslogRecord(e Entry) syslogd.Record {
	sev := severityWarning
	if e.Result == "ok" {
		sev = severityNotice
	}
	return syslogd.Record{
		Time:     e.Time,
		AppName:  AppName,
		ProcID:   l.procID,
		Facility: Facility,
		Severity: sev,
		Message:  Message(e),
		Source:   "audit:" + l.path,
	}
}

// Message is the readable one-line form of e, e.g.
//
//	user=alice source=192.0.2.4:5123 action=snmp.update setting=communities old="public" new="public,ops" result=ok
//
// setting, old and new appear when Setting is set, detail when Detail is.
// Old, New and Detail are always quoted; other values are quoted when
// empty or when they hold spaces, quotes, '=' or control characters.
// Password values are hidden.
func Message(e Entry) string {
	e = Sanitize(e)
	var b strings.Builder
	kv := func(k, v string, quote bool) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		if quote || needsQuote(v) {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	kv("user", e.User, false)
	kv("source", e.Source, false)
	kv("action", e.Action, false)
	if e.Setting != "" {
		kv("setting", e.Setting, false)
		kv("old", e.Old, true)
		kv("new", e.New, true)
	}
	kv("result", e.Result, false)
	if e.Detail != "" {
		kv("detail", e.Detail, true)
	}
	return b.String()
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == '"' || r == '=' || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// Sanitize returns e with Old and New replaced by "(hidden)" when its
// Setting names a password or another secret (see Sensitive). Empty values
// stay empty, so that setting and clearing a password remain visible.
func Sanitize(e Entry) Entry {
	if Sensitive(e.Setting) {
		if e.Old != "" {
			e.Old = Hidden
		}
		if e.New != "" {
			e.New = Hidden
		}
	}
	return e
}

// sensitiveWords mark setting names whose values are never recorded. SNMP
// communities are among them: a community string is a password in all but
// name (it grants reading the agent, and targets carry it after the '/').
var sensitiveWords = []string{"password", "passwd", "passphrase", "secret", "communit", "targets"}

// Sensitive reports whether a setting named name holds a password or a
// secret: its name, case-insensitively, contains "password", "passwd",
// "passphrase" or "secret" (e.g. "password", "root_password",
// "users.Password", "auth-secret").
func Sensitive(name string) bool {
	name = strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
