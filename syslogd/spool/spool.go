// Package spool is a bounded FIFO of Records on disk, one per loghost, for
// the messages that cannot be read again from anywhere (those of the local
// syslog socket): memory use stays the same whatever the backlog, and a
// killed agent finds its queue where it left it. Records are appended to
// segment files as JSON lines; the read position is committed to a small
// file after each delivered batch; segments fully read are deleted.
//
// The size limit counts what is still queued (appended, not yet
// committed), never what was delivered: the disk holds at most the limit
// plus one segment, the delivered head of the segment being read.
//
// A write that fails (a full disk) is cut back, so that no half record is
// left to swallow the next one; a damaged line found on reading is skipped
// without taking the records after it, and counted (Damaged).
//
// Lines of log files do not go through a spool: the files themselves are
// the queue, and each loghost keeps its own position in them.
package spool

import (
	"bufio"
	"bytes"
	"cmp"
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
	"syscall"
	"time"

	"hostagent/internal/configstore"
	"hostagent/syslogd"
)

// ErrFull is returned by Append when the records still queued fill the
// spool's maximum size.
var ErrFull = errors.New("spool full")

const (
	// Segments are a quarter of the spool, so that the delivered head of
	// the segment being read (on disk but no longer counted) adds at most
	// a quarter to the disk space the spool takes; within these bounds,
	// so that a large spool does not create and delete a file every few
	// records, and a small one still holds a few.
	maxSegmentSize = 4 << 20
	minSegmentSize = 64 << 10
	cursorFile     = "cursor.toml"
	// maxSegment bounds the segment numbers taken from file names and
	// cursor.toml: larger ones are not the spool's (the spool would need
	// to write 64 EiB to reach it), and refusing them keeps the next
	// number from overflowing.
	maxSegment = 1e12
)

// segmentSizeFor is the segment size of a spool of maxBytes.
func segmentSizeFor(maxBytes int64) int64 {
	return min(maxSegmentSize, max(minSegmentSize, maxBytes/4))
}

// cursor is the committed read position: a segment and an offset in it.
type cursor struct {
	Segment int   `toml:"segment"`
	Offset  int64 `toml:"offset"`
}

func (c cursor) compare(d cursor) int {
	return cmp.Or(cmp.Compare(c.Segment, d.Segment), cmp.Compare(c.Offset, d.Offset))
}

// segment is one segment file: its number and the bytes written to it.
type segment struct {
	n    int
	size int64
}

// segmentFile is what Append needs of the segment being written; an
// *os.File, or in a test one that fails as a full disk does.
type segmentFile interface {
	io.WriteCloser
	Truncate(size int64) error
}

// Spool is safe for one appender and one reader at a time.
type Spool struct {
	dir         string
	maxBytes    int64
	segmentSize int64

	mu      sync.Mutex
	segs    []segment // oldest first, the last one being written; segs[0].n == read.Segment
	disk    int64     // bytes in segs
	w       segmentFile
	newline bool   // a torn record ends the segment: the next write starts with '\n'
	read    cursor // committed position
	pending cursor // position after the records handed out by Read
	// scanned is the furthest position Read has looked at: a damaged line
	// before it was counted already (a Rewind reads it again).
	scanned cursor
	// torn are the starts of partial records that a failed write left and
	// could not cut: their Append returned an error, which the caller
	// counted as a drop, so Read does not count them as damaged too.
	torn    map[cursor]struct{}
	damaged uint64
	seqs    map[string]uint64 // highest Seq per Source queued at Open
	notify  chan struct{}
}

// Open opens (or creates) the spool in dir, holding at most maxBytes of
// records not yet delivered. A record torn by a crash at the end of the
// last segment is cut off (and counted as damaged).
func Open(dir string, maxBytes int64) (*Spool, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("spool %s: maximum size %d: must be positive", dir, maxBytes)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, segmentSize: segmentSizeFor(maxBytes),
		torn: map[cursor]struct{}{}, notify: make(chan struct{}, 1)}
	if _, err := configstore.Load(filepath.Join(dir, cursorFile), &s.read); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	if s.read.Segment < 0 || s.read.Segment > maxSegment {
		// Not a number the spool writes: read every segment from its
		// start, repeating records rather than losing any.
		s.read = cursor{}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	for _, e := range entries {
		n, ok := segmentNumber(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if n < s.read.Segment { // read entirely before the crash
			_ = os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		st, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("spool %s: %w", dir, err)
		}
		s.segs = append(s.segs, segment{n: n, size: st.Size()})
	}
	slices.SortFunc(s.segs, func(a, b segment) int { return cmp.Compare(a.n, b.n) })
	if len(s.segs) == 0 {
		// Numbering starts again at 1. The cursor is saved at once: an
		// older one naming a later segment would have the next Open delete
		// the new segment 1 as read already.
		s.segs = []segment{{n: 1}}
		if s.read != (cursor{Segment: 1}) {
			s.read = cursor{Segment: 1}
			if err := s.saveCursor(s.read); err != nil {
				return nil, err
			}
		}
	}
	if s.read.Segment < s.segs[0].n {
		s.read = cursor{Segment: s.segs[0].n}
	}
	if err := s.repairTail(); err != nil {
		return nil, err
	}
	// A cursor that points outside its segment (a damaged cursor.toml)
	// would stop the queue for good: read the segment again from its
	// start instead, repeating records rather than losing any.
	if s.read.Offset < 0 || s.read.Offset > s.segs[0].size {
		s.read.Offset = 0
	}
	for _, g := range s.segs {
		s.disk += g.size
	}
	last := s.segs[len(s.segs)-1]
	// O_NOFOLLOW here and in rotate: a link planted in the state dir is
	// refused, not written through as root.
	if s.w, err = os.OpenFile(s.segmentPath(last.n), os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o640); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s.pending, s.scanned = s.read, s.read
	if err := s.scanSeqs(); err != nil {
		s.w.Close()
		return nil, err
	}
	return s, nil
}

func segmentNumber(name string) (int, bool) {
	num, ok := strings.CutSuffix(name, ".jsonl")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0 && n <= maxSegment
}

func (s *Spool) segmentPath(n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%08d.jsonl", n))
}

// repairTail cuts a last record left without its newline by a crash.
func (s *Spool) repairTail() error {
	last := &s.segs[len(s.segs)-1]
	path := s.segmentPath(last.n)
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
	keep := bytes.LastIndexByte(data, '\n') + 1
	if len(bytes.TrimSpace(data[keep:])) > 0 {
		s.damaged++
	}
	if err := os.Truncate(path, int64(keep)); err != nil {
		return fmt.Errorf("spool %s: cutting a torn record: %w", s.dir, err)
	}
	last.size = int64(keep)
	return nil
}

// scanSeqs notes the highest Seq per Source of the records queued.
func (s *Spool) scanSeqs() error {
	s.seqs = map[string]uint64{}
	_, err := s.walk(s.read, func(_ cursor, r *record) bool {
		if r != nil && r.Seq > s.seqs[r.Source] {
			s.seqs[r.Source] = r.Seq
		}
		return true
	})
	return err
}

// QueuedSeqs returns the highest Seq per Source among the records that
// were queued when the spool was opened (sources with none are absent).
// A caller numbering records per source resumes above these, so that a
// crash after spooling and before its numbers were saved never has a
// number used twice. The records a spool holds are those of sockets and
// the agent's own notices, which are numbered per Source (their SourceID
// is empty).
func (s *Spool) QueuedSeqs() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]uint64, len(s.seqs))
	for k, v := range s.seqs {
		out[k] = v
	}
	return out
}

// record is a Record as stored: short keys, the time in RFC 3339.
// Offset is not kept: only socket messages are spooled, and they have none.
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
	SourceID string `json:"sid,omitempty"`
	Seq      uint64 `json:"q,omitempty"`
	Part     int    `json:"pt,omitempty"`
}

// Append adds r at the end, or returns ErrFull. The write reaches the
// kernel before Append returns: a killed agent loses nothing appended.
// A write that fails (a full disk) returns its error and leaves nothing of
// r behind: the record is not queued, and the next one is whole.
func (s *Spool) Append(r syslogd.Record) error {
	rec := record{Hostname: r.Hostname, AppName: r.AppName, ProcID: r.ProcID, MsgID: r.MsgID,
		Facility: uint8(r.Facility), Severity: uint8(r.Severity), Message: r.Message,
		Source: r.Source, SourceID: r.SourceID, Seq: r.Seq, Part: r.Part}
	if !r.Time.IsZero() {
		rec.Time = r.Time.Format("2006-01-02T15:04:05.999999999Z07:00")
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("spool %s: %w", s.dir, err)
	}
	line = append(line, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disk-s.read.Offset+int64(len(line)) > s.maxBytes {
		return ErrFull
	}
	if last := s.segs[len(s.segs)-1]; last.size > 0 && (last.size+int64(len(line)) > s.segmentSize ||
		last.size >= s.segmentSize/4 && s.read == (cursor{Segment: last.n, Offset: last.size})) {
		// Full, or delivered entirely and worth replacing: a new segment
		// lets the old one be deleted.
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if err := s.write(line); err != nil {
		return err
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

// write writes line at the end of the last segment. On an error it cuts
// the segment back to its size before the write: a short write (a full
// disk) would otherwise leave half a record for the next one to be glued
// to. If even the cut fails, the next write starts with a newline, so that
// the half record is a damaged line of its own and the next record whole.
func (s *Spool) write(line []byte) error {
	last := &s.segs[len(s.segs)-1]
	buf := line
	if s.newline {
		buf = append([]byte{'\n'}, line...)
	}
	n, err := s.w.Write(buf)
	if err == nil {
		last.size += int64(n)
		s.disk += int64(n)
		s.newline = false
		return nil
	}
	err = fmt.Errorf("spool %s: record not queued: %w", s.dir, err)
	terr := s.w.Truncate(last.size)
	if terr == nil || n == 0 {
		return err
	}
	// The bytes written stay: account for them, and make sure the next
	// record starts on a line of its own.
	prefix := 0
	if s.newline {
		prefix = 1
	}
	if n > prefix {
		s.torn[cursor{Segment: last.n, Offset: last.size + int64(prefix)}] = struct{}{}
		s.newline = true
	} else {
		s.newline = false // only the newline went out
	}
	last.size += int64(n)
	s.disk += int64(n)
	return errors.Join(err, fmt.Errorf("cutting the partial record: %w", terr))
}

// rotate starts the next segment. The last one, if delivered entirely, is
// deleted at once.
func (s *Spool) rotate() error {
	last := s.segs[len(s.segs)-1]
	next := last.n + 1
	w, err := os.OpenFile(s.segmentPath(next), os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o640)
	if err != nil {
		return fmt.Errorf("spool %s: record not queued: %w", s.dir, err)
	}
	s.w.Close()
	s.w, s.newline = w, false
	s.segs = append(s.segs, segment{n: next})
	if end := (cursor{Segment: last.n, Offset: last.size}); s.read == end {
		// Nothing handed out is pending (pending is between read and the
		// end), so the reader moves on too. The saved cursor may still
		// name the deleted segment: Open then starts at the next one.
		s.read = cursor{Segment: next}
		s.pending, s.scanned = s.read, s.read
		s.dropHead()
	}
	return nil
}

// dropHead deletes the segments before the committed one.
func (s *Spool) dropHead() {
	for len(s.segs) > 1 && s.segs[0].n < s.read.Segment {
		_ = os.Remove(s.segmentPath(s.segs[0].n))
		s.disk -= s.segs[0].size
		s.segs = s.segs[1:]
	}
	for c := range s.torn {
		if c.Segment < s.read.Segment {
			delete(s.torn, c)
		}
	}
}

// Ready is signalled after an Append: a reader waiting for records can
// wait on it instead of polling.
func (s *Spool) Ready() <-chan struct{} { return s.notify }

// Read returns up to n records after those already handed out and not yet
// committed; it returns none when the spool is empty. Damaged lines are
// skipped and counted (see Damaged).
func (s *Spool) Read(n int) ([]syslogd.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []syslogd.Record
	if n <= 0 {
		return nil, nil
	}
	end, err := s.walk(s.pending, func(at cursor, r *record) bool {
		if r != nil && len(out) == n {
			return false
		}
		if at.compare(s.scanned) >= 0 {
			s.scanned = cursor{Segment: at.Segment, Offset: at.Offset + 1} // pieces are at least a byte long
			if _, torn := s.torn[at]; r == nil && !torn {
				s.damaged++
			}
		}
		if r != nil {
			out = append(out, r.toRecord())
		}
		return true
	})
	s.pending = end
	if end.compare(s.scanned) > 0 {
		s.scanned = end
	}
	return out, err
}

// Damaged is how many damaged records were skipped so far: lines of a
// segment that are not records (a write torn by a crash, a damaged disk),
// each counted once, however often it is read. The caller announces them:
// they are lost messages.
func (s *Spool) Damaged() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.damaged
}

// walk visits the records from c on, in order, across segments: r is nil
// for a damaged piece of a line. It stops when visit returns false, and
// returns the position of what visit refused, or the end of what was
// written. An unfinished line at the end of the last segment (a partial
// record not yet followed by a newline) is left for later.
func (s *Spool) walk(c cursor, visit func(at cursor, r *record) bool) (cursor, error) {
	for {
		i, found := slices.BinarySearchFunc(s.segs, c.Segment, func(g segment, n int) int { return cmp.Compare(g.n, n) })
		if i == len(s.segs) {
			return c, nil
		}
		if !found { // a cursor before the first segment or in a gap
			c = cursor{Segment: s.segs[i].n}
		}
		last := i == len(s.segs)-1
		stopped, err := s.walkSegment(&c, last, visit)
		if errors.Is(err, os.ErrNotExist) {
			err = nil // a segment deleted by hand is passed over, not waited for
		}
		if stopped || last || err != nil {
			return c, err
		}
		c = cursor{Segment: s.segs[i+1].n}
	}
}

// walkSegment visits the lines of segment c.Segment from c.Offset on,
// moving c past each piece visited.
func (s *Spool) walkSegment(c *cursor, last bool, visit func(at cursor, r *record) bool) (stopped bool, err error) {
	f, err := os.Open(s.segmentPath(c.Segment))
	if err != nil {
		return false, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	defer f.Close()
	if _, err := f.Seek(c.Offset, io.SeekStart); err != nil {
		return false, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	br := bufio.NewReader(f)
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return false, fmt.Errorf("spool %s: %w", s.dir, rerr)
		}
		if rerr != nil && (last || len(line) == 0) {
			// The end of what was written so far; in an older segment, a
			// partial record left by a failed write is read below.
			return false, nil
		}
		start := c.Offset
		stopped = false
		pieces(line, func(off int, r *record) bool {
			c.Offset = start + int64(off)
			stopped = !visit(*c, r)
			return !stopped
		})
		if stopped {
			return true, nil
		}
		c.Offset = start + int64(len(line))
		if rerr != nil {
			return false, nil
		}
	}
}

// pieces parses one line of a segment (with its newline, if any) and calls
// each with the records in it and their offsets in line; r is nil for a
// damaged piece. A line normally holds one record; after damage it may
// hold a broken record glued to whole ones, or junk.
//
// Resynchronisation is written here by hand because encoding/json has none:
// a Decoder stops for good at the first syntax error. It is safe because
// records are written by json.Marshal as one object each, with no nested
// objects, so the two bytes `{"` appear only where a record starts: inside
// a JSON string a '"' is always escaped as `\"`, so `{"` cannot appear
// within a message, however hostile. Cutting the line before each `{"`
// gives each record its own piece, whatever damage precedes it.
func pieces(line []byte, each func(off int, r *record) bool) {
	body := bytes.TrimSuffix(line, []byte("\n"))
	var r record
	if json.Unmarshal(body, &r) == nil {
		each(0, &r)
		return
	}
	start := []byte(`{"`)
	off := 0
	if i := bytes.Index(body, start); i != 0 {
		// Junk before the first record, or a line with none.
		end := len(body)
		if i > 0 {
			end = i
		}
		if len(bytes.TrimSpace(body[:end])) > 0 && !each(0, nil) {
			return
		}
		if i < 0 {
			return
		}
		off = i
	}
	for off < len(body) {
		end := len(body)
		if i := bytes.Index(body[off+len(start):], start); i >= 0 {
			end = off + len(start) + i
		}
		var r record
		rp := &r
		if json.Unmarshal(body[off:end], rp) != nil {
			rp = nil
		}
		if !each(off, rp) {
			return
		}
		off = end
	}
}

func (r record) toRecord() syslogd.Record {
	out := syslogd.Record{Hostname: r.Hostname, AppName: r.AppName, ProcID: r.ProcID, MsgID: r.MsgID,
		Facility: syslogd.Facility(r.Facility), Severity: syslogd.Severity(r.Severity), Message: r.Message,
		Source: r.Source, SourceID: r.SourceID, Seq: r.Seq, Part: r.Part}
	if r.Time != "" {
		// A time that does not parse (a damaged line that still is JSON)
		// is left zero: the output stamps the message then, rather than
		// losing it.
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
// is written atomically and fully read segments are deleted. A position
// at or before the committed one changes nothing.
func (s *Spool) CommitTo(c Cursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.compare(s.read) <= 0 {
		return nil
	}
	i, found := slices.BinarySearchFunc(s.segs, c.Segment, func(g segment, n int) int { return cmp.Compare(g.n, n) })
	if !found {
		return fmt.Errorf("spool %s: commit to segment %d, which the spool does not hold", s.dir, c.Segment)
	}
	if i < len(s.segs)-1 && c.Offset >= s.segs[i].size {
		// The end of a segment is the start of the next: committing that
		// lets the segment be deleted now.
		c = cursor{Segment: s.segs[i+1].n}
	}
	if c.Offset > s.segs[i].size && c.Segment == s.segs[i].n {
		return fmt.Errorf("spool %s: commit to offset %d of segment %d, beyond its %d bytes", s.dir, c.Offset, c.Segment, s.segs[i].size)
	}
	if err := s.saveCursor(c); err != nil {
		return err
	}
	s.read = c
	if s.pending.compare(c) < 0 {
		s.pending = c
	}
	s.dropHead()
	return nil
}

func (s *Spool) saveCursor(c cursor) error {
	if err := configstore.Save(filepath.Join(s.dir, cursorFile), c, 0o640, "Read position of this loghost's spool."); err != nil {
		return fmt.Errorf("spool %s: %w", s.dir, err)
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

// Size is the bytes of the records queued and not yet committed: what
// counts against the spool's maximum size. Delivered records still on disk
// (the head of the segment being read) are not counted.
func (s *Spool) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disk - s.read.Offset
}

// Close closes the segment being written.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Close()
}
