package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hostagent/syslogd"
	"io"
	"os"
)

// readChunk is how much one read asks for: large enough that a busy file
// is read in few syscalls, small enough to stay cheap per open file.
const readChunk = 64 << 10

// tailer reads one file (one inode) through its open descriptor, so it
// keeps reading the same file after the path is renamed or unlinked.
type tailer struct {
	path    string // the name its lines are reported under
	f       *os.File
	key     inodeKey
	head    []byte // the file's first bytes as last seen, up to fingerprintSize
	id      FileID
	maxLine int

	readOff   int64  // bytes of the file consumed into pending or sent
	lineStart int64  // file offset of pending[0]
	pending   []byte // the start of a line whose newline has not arrived
	part      int    // parts of the current line already sent
	buf       []byte
}

func newTailer(path string, f *os.File, k inodeKey, head []byte, start int64, maxLine int) *tailer {
	return &tailer{
		path: path, f: f, key: k, head: head, id: newFileID(k, head), maxLine: maxLine,
		readOff: start, lineStart: start, buf: make([]byte, readChunk),
	}
}

// checkTruncated notices copytruncate: the file got shorter than what was
// read, or its first bytes changed (truncated and already rewritten past
// our offset). It returns the file's current first bytes; on truncation the
// caller flushes what is pending (it belongs to the old content, under the
// old FileID) and then calls restart. It also lets the fingerprint of a
// short file grow with the file.
func (t *tailer) checkTruncated() (truncated bool, head []byte, err error) {
	fi, err := t.f.Stat()
	if err != nil {
		return false, nil, fmt.Errorf("stat %s: %w", t.f.Name(), err)
	}
	size := fi.Size()
	head, err = readHead(t.f, size)
	if err != nil {
		return false, nil, err
	}
	rewritten := len(head) < len(t.head) || !bytes.Equal(head[:len(t.head)], t.head)
	if size < t.readOff || rewritten {
		return true, head, nil
	}
	if len(head) > len(t.head) {
		t.head = head
		t.id = newFileID(t.key, head)
	}
	return false, head, nil
}

// restart reads the file again from 0: what is there now was written after
// the truncation.
func (t *tailer) restart(head []byte) {
	t.head, t.id = head, newFileID(t.key, head)
	t.readOff, t.lineStart, t.pending, t.part = 0, 0, t.pending[:0], 0
}

// readToEOF sends every complete line (and every MaxLine part of an
// over-long one) up to the current end of the file. It blocks while out
// blocks: that is the backpressure, nothing is read ahead. It reports
// whether any bytes were read.
func (t *tailer) readToEOF(ctx context.Context, out chan<- Line) (grew bool, err error) {
	for {
		n, err := t.f.ReadAt(t.buf, t.readOff)
		if n > 0 {
			grew = true
			t.readOff += int64(n)
			t.pending = append(t.pending, t.buf[:n]...)
			if serr := t.sendLines(ctx, out); serr != nil {
				return grew, serr
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return grew, nil
		}
		if err != nil {
			return grew, fmt.Errorf("read %s: %w", t.f.Name(), err)
		}
	}
}

// sendLines sends what pending holds of complete lines and full parts,
// keeping the unfinished rest.
func (t *tailer) sendLines(ctx context.Context, out chan<- Line) error {
	start := 0
	for {
		rest := t.pending[start:]
		nl := bytes.IndexByte(rest, '\n')
		// A part is cut only once more than MaxLine bytes are there without
		// a newline, so a line of exactly MaxLine bytes stays whole even if
		// its newline arrives in a later read.
		if (nl < 0 && len(rest) > t.maxLine) || nl > t.maxLine {
			cut := splitPoint(rest, t.maxLine)
			t.part++
			line := Line{Path: t.path, ID: t.id, Offset: t.lineStart + int64(start+cut),
				Text: syslogd.Escape(rest[:cut]) + ContinuedMarker, Part: t.part}
			if err := send(ctx, out, line); err != nil {
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
func (t *tailer) sendLast(ctx context.Context, out chan<- Line, raw []byte, end int64) error {
	raw = bytes.TrimSuffix(raw, []byte{'\r'}) // CRLF files: the CR belongs to the line end
	part := 0
	if t.part > 0 {
		part = t.part + 1
	}
	t.part = 0
	return send(ctx, out, Line{Path: t.path, ID: t.id, Offset: end, Text: syslogd.Escape(raw), Part: part})
}

// flush sends a last line that never got its newline; called only when the
// file will not be read again (its writer is gone, or it was truncated).
func (t *tailer) flush(ctx context.Context, out chan<- Line) error {
	if len(t.pending) == 0 {
		return nil
	}
	err := t.sendLast(ctx, out, t.pending, t.lineStart+int64(len(t.pending)))
	t.lineStart += int64(len(t.pending))
	t.pending = t.pending[:0]
	return err
}

func send(ctx context.Context, out chan<- Line, l Line) error {
	select {
	case out <- l:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
