package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"hostagent/syslogd"
)

// readChunk is how much one read asks for: large enough that a busy file
// is read in few syscalls, small enough to stay cheap per open file.
const readChunk = 64 << 10

// tailer reads one file's content from where its lines were last sent,
// line by line, numbering them. The content is usually one inode read
// through its descriptor, so renames and unlinks do not matter; it can also
// be the same content found elsewhere (logrotate's copy, or the .gz a
// rotated file became), read under the identity it was first read with.
type tailer struct {
	path    string   // the name its lines are reported under
	src     *content // nil while suspended (closed to spare descriptors)
	key     inodeKey // identity of the content: the original's for a copy
	head    []byte   // the content's first bytes as last seen, up to fingerprintSize
	id      FileID
	tag     string // Line.Source; "" until the first line is complete
	final   bool   // content that does not grow (a copy, a .gz): done at its end
	maxLine int

	readOff   int64     // bytes of the file consumed into pending or sent
	lineStart int64     // file offset of pending[0]
	pending   []byte    // the start of a line whose newline has not arrived
	part      int       // parts of the current line already sent
	seq       uint64    // records sent of this content: lines and parts
	lastSize  int64     // the size at the last look, to tell what a truncation cut
	lastLook  time.Time // when the file was last seen not truncated
	buf       []byte
	ready     []Line // lines made and not yet handed to the consumer
}

// maxHandOff bounds the lines handed to the consumer at once: lines go in
// slices, one channel operation per read rather than per line.
const maxHandOff = 512

// handOff gives the consumer the lines made so far; it blocks while the
// consumer does (backpressure).
func (t *tailer) handOff(ctx context.Context, out chan<- []Line) error {
	if len(t.ready) == 0 {
		return nil
	}
	select {
	case out <- t.ready:
		t.ready = make([]Line, 0, maxHandOff)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newTailer(path string, src *content, k inodeKey, head []byte, start int64, seq uint64, maxLine int) *tailer {
	t := &tailer{
		path: path, src: src, key: k, head: head, id: newFileID(k, head), maxLine: maxLine,
		readOff: start, lineStart: start, seq: seq, lastSize: start, lastLook: time.Now(), buf: make([]byte, readChunk),
	}
	t.tag = t.stableTag(head)
	return t
}

// stableTag is the content's source tag if head holds enough of it to be
// final (see sourceTag), else "".
func (t *tailer) stableTag(head []byte) string {
	cap := min(fingerprintSize, t.maxLine)
	if bytes.IndexByte(head, '\n') >= 0 || len(head) >= cap || (t.final && len(head) > 0) {
		return sourceTag(t.key, head, cap)
	}
	return ""
}

// checkTruncated notices copytruncate: the file got shorter than what was
// read, or its first bytes changed (truncated and already rewritten past
// our offset). It returns the file's current first bytes; on truncation the
// caller looks for the rest of the old content in logrotate's copy, and
// then calls restart. It also lets the fingerprint of a short file grow
// with the file.
func (t *tailer) checkTruncated() (truncated bool, head []byte, err error) {
	fi, err := t.src.f.Stat()
	if err != nil {
		return false, nil, fmt.Errorf("stat %s: %w", t.src.f.Name(), err)
	}
	size := fi.Size()
	head, err = readHead(t.src.f, size)
	if err != nil {
		return false, nil, err
	}
	rewritten := len(head) < len(t.head) || !bytes.Equal(head[:len(t.head)], t.head)
	if size < t.readOff || rewritten {
		return true, head, nil
	}
	t.lastSize, t.lastLook = size, time.Now()
	if len(head) > len(t.head) {
		t.head = head
		t.id = newFileID(t.key, head)
	}
	return false, head, nil
}

// replaced reports whether the file's first bytes are no longer those of
// the content being read. Checked after every read, so that no byte read
// after a copytruncate is taken for the old content: a pread of 256 bytes
// per 64 KiB read.
func (t *tailer) replaced() bool {
	var b [fingerprintSize]byte
	n, err := t.src.f.ReadAt(b[:len(t.head)], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return false // the read that follows reports it
	}
	return n < len(t.head) || !bytes.Equal(b[:n], t.head)
}

// learnHead lets the content's first bytes, and so its fingerprint, grow
// with the bytes read (b, read at readOff), up to fingerprintSize. A
// content taken up while it was empty or short (restart after a
// copytruncate seen before the writer wrote again) starts with a
// fingerprint of nothing or of a few bytes; checkTruncated lets it grow,
// but only between reads, and a reader that never catches up with its
// writer reads the whole generation in one readToEOF. Its fingerprint then
// stayed that of nothing: replaced could not see the next copytruncate (the
// next content, grown past the offset, was read on as this one), and the
// copy of this content, looked for by that fingerprint, could not be told
// from any other: a whole generation lost, silently. The bytes read are
// the content's own, so they are its head. It reports false if b does not
// start with what is known of the head: not this content any more.
func (t *tailer) learnHead(b []byte) bool {
	known := int64(len(t.head))
	if known >= fingerprintSize || t.readOff > known || t.readOff+int64(len(b)) <= known {
		return true
	}
	if !bytes.Equal(b[:known-t.readOff], t.head[t.readOff:]) {
		return false
	}
	end := min(int64(len(b)), fingerprintSize-t.readOff)
	t.head = append(bytes.Clone(t.head), b[known-t.readOff:end]...)
	t.id = newFileID(t.key, t.head)
	return true
}

// restart reads the file again from 0: what is there now was written after
// the truncation, a new content with its own identity and numbering.
func (t *tailer) restart(head []byte) {
	t.head, t.id = head, newFileID(t.src.key, head)
	t.key = t.src.key
	t.readOff, t.lineStart, t.pending, t.part, t.seq, t.lastSize = 0, 0, t.pending[:0], 0, 0, 0
	t.tag = t.stableTag(head)
}

// readToEOF sends every complete line (and every MaxLine part of an
// over-long one) up to the current end of the file. It blocks while out
// blocks: that is the backpressure, nothing is read ahead. It reports
// whether any bytes were read.
func (t *tailer) readToEOF(ctx context.Context, out chan<- []Line) (grew bool, err error) {
	for {
		n, err := t.src.ReadAt(t.buf, t.readOff)
		if n > 0 && !t.final && (t.replaced() || !t.learnHead(t.buf[:n])) {
			// Truncated and written again (copytruncate) since the last
			// look: these bytes belong to the new content, not at this
			// offset. Left for follow, which reads the rest of the old
			// content from the copy, then the new one from its start.
			return grew, nil
		}
		if n > 0 {
			grew = true
			t.readOff += int64(n)
			t.pending = append(t.pending, t.buf[:n]...)
			if serr := t.sendLines(ctx, out); serr != nil {
				return grew, serr
			}
			if serr := t.handOff(ctx, out); serr != nil {
				return grew, serr
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			t.lastSize = max(t.lastSize, t.readOff)
			return grew, nil
		}
		if err != nil {
			return grew, fmt.Errorf("read %s: %w", t.src.f.Name(), err)
		}
	}
}

// sendLines sends what pending holds of complete lines and full parts,
// keeping the unfinished rest.
func (t *tailer) sendLines(ctx context.Context, out chan<- []Line) error {
	start := 0
	for {
		rest := t.pending[start:]
		nl := bytes.IndexByte(rest, '\n')
		// A part is cut only once more than MaxLine bytes are there without
		// a newline, so a line of exactly MaxLine bytes stays whole even if
		// its newline arrives in a later read.
		// The CR of a CRLF line end does not count against MaxLine.
		long := nl > t.maxLine && !(nl == t.maxLine+1 && rest[t.maxLine] == '\r')
		if nl < 0 && len(rest) > t.maxLine && !(len(rest) == t.maxLine+1 && rest[t.maxLine] == '\r') {
			long = true
		}
		if long {
			cut := splitPoint(rest, t.maxLine)
			t.part++
			if err := t.send(ctx, out, syslogd.Escape(rest[:cut])+ContinuedMarker, t.lineStart+int64(start+cut), t.part); err != nil {
				return err
			}
			start += cut
			continue
		}
		if nl < 0 {
			break
		}
		if err := t.sendLast(ctx, out, rest[:nl], t.lineStart+int64(start+nl+1)); err != nil {
			return err
		}
		start += nl + 1
	}
	t.lineStart += int64(start)
	t.pending = t.pending[:copy(t.pending, t.pending[start:])]
	return nil
}

// sendLast sends a whole line, or the last part of a split one.
func (t *tailer) sendLast(ctx context.Context, out chan<- []Line, raw []byte, end int64) error {
	raw = bytes.TrimSuffix(raw, []byte{'\r'}) // CRLF files: the CR belongs to the line end
	part := 0
	if t.part > 0 {
		part = t.part + 1
	}
	t.part = 0
	return t.send(ctx, out, syslogd.Escape(raw), end, part)
}

func (t *tailer) send(ctx context.Context, out chan<- []Line, text string, end int64, part int) error {
	if t.tag == "" {
		// The first record: the content's first line is complete now (or
		// longer than MaxLine), so its tag is final. Plain files only; a
		// copy or .gz is tagged when opened.
		if head, err := readHead(t.src, min(int64(fingerprintSize), end)); err == nil {
			t.tag = sourceTag(t.key, head, min(fingerprintSize, t.maxLine))
		}
	}
	t.seq++
	t.ready = append(t.ready, Line{Path: t.path, ID: t.id, Source: t.tag, Offset: end, Seq: t.seq, Text: text, Part: part})
	if len(t.ready) >= maxHandOff {
		return t.handOff(ctx, out)
	}
	return nil
}

// flush sends a last line that never got its newline; called only when the
// file will not be read again (its writer is gone, or it was truncated).
func (t *tailer) flush(ctx context.Context, out chan<- []Line) error {
	if len(t.pending) == 0 {
		return nil
	}
	err := t.sendLast(ctx, out, t.pending, t.lineStart+int64(len(t.pending)))
	t.lineStart += int64(len(t.pending))
	t.pending = t.pending[:0]
	if err != nil {
		return err
	}
	return t.handOff(ctx, out)
}

// suspend closes the file to give its descriptor back; reading resumes
// where it stopped once the file is found again by its identity.
func (t *tailer) suspend(b *budget) {
	if t.src != nil {
		t.src.Close()
		t.src = nil
		b.release()
	}
}

// close ends reading for good.
func (t *tailer) close(b *budget) { t.suspend(b) }
