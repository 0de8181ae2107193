// Package spool is a bounded FIFO of Records on disk, one per loghost, for
// the messages that cannot be read again from anywhere (those of the local
// syslog socket): memory use stays the same whatever the backlog, and a
// killed agent finds its queue where it left it. Records are appended to
// segment files as JSON lines; the read position is committed to a small
// file after each delivered batch; segments fully read are deleted.
//
// Lines of log files do not go through a spool: the files themselves are
// the queue, and each loghost keeps its own position in them.
package spool

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"hostagent/internal/configstore"
	"hostagent/syslogd"
)

// ErrFull is returned by Append when the spool holds its maximum size.
var ErrFull = errors.New("spool full")

const (
	defaultSegmentSize = 4 << 20 // bytes per segment file before starting the next
	cursorFile         = "cursor.toml"
)

// cursor is the committed read position: a segment and an offset in it.
type cursor struct {
	Segment int   `toml:"segment"`
	Offset  int64 `toml:"offset"`
}

// Spool is safe for one appender and one reader at a time.
type Spool struct {
	dir         string
	maxBytes    int64
	segmentSize int64

	mu       sync.Mutex
	segments []int // numbers of the segment files, oldest first
	size     int64 // bytes on disk in segments
	w        *os.File
	wSize    int64
	read     cursor // committed position
	pending  cursor // position after the records handed out by Read
	notify   chan struct{}
}

// Open opens (or creates) the spool in dir, holding at most maxBytes.
// A record torn by a crash at the end of the last segment is cut off.
func Open(dir string, maxBytes int64) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, segmentSize: defaultSegmentSize, notify: make(chan struct{}, 1)}
	if _, err := configstore.Load(filepath.Join(dir, cursorFile), &s.read); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	for _, e := range entries {
		if n, ok := segmentNumber(e.Name()); ok {
			if n < s.read.Segment { // read entirely before the crash
				_ = os.Remove(filepath.Join(dir, e.Name()))
				continue
			}
			s.segments = append(s.segments, n)
		}
	}
	slices.Sort(s.segments)
	for _, n := range s.segments {
		st, err := os.Stat(s.segmentPath(n))
		if err != nil {
			return nil, fmt.Errorf("spool %s: %w", dir, err)
		}
		s.size += st.Size()
	}
	if len(s.segments) == 0 {
		s.segments = []int{max(s.read.Segment, 1)}
		s.read = cursor{Segment: s.segments[0]}
	}
	if s.read.Segment < s.segments[0] {
		s.read = cursor{Segment: s.segments[0]}
	}
	// A cursor that points outside its segment (a damaged cursor.toml)
	// would stop the queue for good: read the segment again from its
	// start instead, repeating records rather than losing any.
	if st, err := os.Stat(s.segmentPath(s.read.Segment)); err == nil && (s.read.Offset < 0 || s.read.Offset > st.Size()) {
		s.read.Offset = 0
	}
	last := s.segments[len(s.segments)-1]
	if err := s.repairTail(last); err != nil {
		return nil, err
	}
	if s.w, err = os.OpenFile(s.segmentPath(last), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	st, _ := s.w.Stat()
	s.wSize = st.Size()
	s.pending = s.read
	return s, nil
}

func segmentNumber(name string) (int, bool) {
	num, ok := strings.CutSuffix(name, ".jsonl")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

func (s *Spool) segmentPath(n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%08d.jsonl", n))
}

// repairTail cuts a last record left without its newline by a crash.
func (s *Spool) repairTail(n int) error {
	path := s.segmentPath(n)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || len(data) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool %s: %w", s.dir, err)
	}
	if data[len(data)-1] == '\n' {
		return nil
	}
	keep := strings.LastIndexByte(string(data), '\n') + 1
	s.size -= int64(len(data) - keep)
	return os.Truncate(path, int64(keep))
}

// record is a Record as stored: short keys, the time in RFC 3339.
type record struct {
	Time     string `json:"t,omitempty"`
	Hostname string `json:"h,omitempty"`
	AppName  string `json:"a,omitempty"`
	ProcID   string `json:"p,omitempty"`
	MsgID    string `json:"i,omitempty"`
	Facility uint8  `json:"f"`
	Severity uint8  `json:"s"`
	Message  string `json:"m"`
	Source   string `json:"src,omitempty"`
	Seq      uint64 `json:"q,omitempty"`
}

// Append adds r at the end, or returns ErrFull. The write reaches the
// kernel before Append returns: a killed agent loses nothing appended.
func (s *Spool) Append(r syslogd.Record) error {
	rec := record{Hostname: r.Hostname, AppName: r.AppName, ProcID: r.ProcID, MsgID: r.MsgID,
		Facility: uint8(r.Facility), Severity: uint8(r.Severity), Message: r.Message, Source: r.Source, Seq: r.Seq}
	if !r.Time.IsZero() {
		rec.Time = r.Time.Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size+int64(len(line)) > s.maxBytes {
		return ErrFull
	}
	if s.wSize > 0 && s.wSize+int64(len(line)) > s.segmentSize {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.wSize += int64(len(line))
	s.size += int64(len(line))
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (s *Spool) rotate() error {
	next := s.segments[len(s.segments)-1] + 1
	w, err := os.OpenFile(s.segmentPath(next), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.w.Close()
	s.w, s.wSize = w, 0
	s.segments = append(s.segments, next)
	return nil
}

// Ready is signalled after an Append: a reader waiting for records can
// wait on it instead of polling.
func (s *Spool) Ready() <-chan struct{} { return s.notify }

// Read returns up to n records after those already handed out and not yet
// committed; it returns none when the spool is empty.
func (s *Spool) Read(n int) ([]syslogd.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []syslogd.Record
	for len(out) < n {
		f, err := os.Open(s.segmentPath(s.pending.Segment))
		if errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("spool: %w", err)
		}
		if _, err := f.Seek(s.pending.Offset, io.SeekStart); err != nil {
			f.Close()
			return out, fmt.Errorf("spool: %w", err)
		}
		br := bufio.NewReader(f)
		for len(out) < n {
			line, err := br.ReadBytes('\n')
			if err != nil { // the end of what was written so far
				break
			}
			s.pending.Offset += int64(len(line))
			var rec record
			if json.Unmarshal(line, &rec) != nil {
				continue // a damaged line: skipped rather than blocking the queue
			}
			out = append(out, rec.toRecord())
		}
		f.Close()
		if len(out) < n && s.pending.Segment < s.segments[len(s.segments)-1] {
			s.pending = cursor{Segment: s.pending.Segment + 1}
			continue
		}
		break
	}
	return out, nil
}

func (r record) toRecord() syslogd.Record {
	out := syslogd.Record{Hostname: r.Hostname, AppName: r.AppName, ProcID: r.ProcID, MsgID: r.MsgID,
		Facility: syslogd.Facility(r.Facility), Severity: syslogd.Severity(r.Severity), Message: r.Message, Source: r.Source, Seq: r.Seq}
	if r.Time != "" {
		out.Time, _ = time.Parse(time.RFC3339Nano, r.Time)
	}
	return out
}

// Cursor is the position after the records handed out by Read so far: a
// later CommitTo of it commits them and none read after.
type Cursor = cursor

// Cursor returns the position after what Read handed out.
func (s *Spool) Cursor() Cursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Commit records that everything handed out by Read was delivered.
func (s *Spool) Commit() error { return s.CommitTo(s.Cursor()) }

// CommitTo records that the records up to c were delivered: the position
// is written atomically and fully read segments are deleted.
func (s *Spool) CommitTo(c Cursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == s.read || c.Segment < s.read.Segment || c.Segment == s.read.Segment && c.Offset < s.read.Offset {
		return nil
	}
	if err := configstore.Save(filepath.Join(s.dir, cursorFile), c, 0o640, "Read position of this loghost's spool."); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.read = c
	for len(s.segments) > 1 && s.segments[0] < s.read.Segment {
		path := s.segmentPath(s.segments[0])
		if st, err := os.Stat(path); err == nil {
			s.size -= st.Size()
		}
		_ = os.Remove(path)
		s.segments = s.segments[1:]
	}
	return nil
}

// Rewind forgets what Read handed out since the last Commit, so that it is
// read again (a batch that could not be delivered).
func (s *Spool) Rewind() {
	s.mu.Lock()
	s.pending = s.read
	s.mu.Unlock()
}

// Size is the spool's bytes on disk.
func (s *Spool) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Close closes the segment being written.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Close()
}
