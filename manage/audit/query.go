package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// MaxLimit bounds how many entries one query returns.
const MaxLimit = 1000

// Results are the results an entry has.
var Results = []string{"ok", "denied", "invalid", "failed"}

// maxShown is how much of an entry's Old and New a query returns; longer
// values (a setting can be up to the API's 1 MiB body) are cut as Cut
// does, so that a page of MaxLimit entries stays a few MiB.
const maxShown = 4 << 10

// Query selects entries of the trail. Empty filters match everything;
// the others match exactly, except Action, which also matches as a prefix
// when it ends in "." ("snmp." matches "snmp.update").
type Query struct {
	User    string
	Action  string
	Setting string
	Result  string
	Limit   int // 1 to MaxLimit
}

// Check reports a query Read refuses: a Result not in Results, a Limit
// outside 1 to MaxLimit.
func (q Query) Check() error {
	if q.Result != "" && !slices.Contains(Results, q.Result) {
		return fmt.Errorf("audit query: result %q: must be one of %s", q.Result, strings.Join(Results, ", "))
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return fmt.Errorf("audit query: limit %d: must be from 1 to %d", q.Limit, MaxLimit)
	}
	return nil
}

func (q Query) matches(e Entry) bool {
	return (q.User == "" || e.User == q.User) &&
		(q.Setting == "" || e.Setting == q.Setting) &&
		(q.Result == "" || e.Result == q.Result) &&
		(q.Action == "" || e.Action == q.Action ||
			strings.HasSuffix(q.Action, ".") && strings.HasPrefix(e.Action, q.Action))
}

// needles are byte strings every matching line contains, to skip the
// others without decoding them: each filter as Record's encoder writes
// it, key and value ("user":"alice"; "action":"snmp. for a prefix). A
// key cannot match inside a value, where every quote is escaped.
func (q Query) needles() [][]byte {
	var out [][]byte
	for _, f := range []struct{ key, val string }{{"user", q.User}, {"action", q.Action}, {"setting", q.Setting}, {"result", q.Result}} {
		if f.val == "" {
			continue
		}
		quoted, err := json.Marshal(f.val)
		if err != nil { // cannot happen for a string
			continue
		}
		if f.key == "action" && strings.HasSuffix(f.val, ".") {
			quoted = quoted[:len(quoted)-1] // a prefix: no closing quote
		}
		out = append(out, append([]byte(`"`+f.key+`":`), quoted...))
	}
	return out
}

// Page is the answer to a Query: the newest matching entries first, and
// whether older ones matched too.
type Page struct {
	Entries   []Entry
	Truncated bool
}

// Query reads the log and its rotated generations, newest first, for the
// entries q selects. It reads each file backwards in chunks and stops at
// q.Limit+1 matches, so its memory is bounded by the page and the longest
// line whatever the size of the trail, and its time by the trail's size
// (at most Generations+1 files of about DefaultMaxSize) or ctx. Lines that
// do not decode (a torn write after a crash) are skipped.
func (l *Log) Query(ctx context.Context, q Query) (Page, error) {
	if err := q.Check(); err != nil {
		return Page{}, err
	}
	// Open every generation under the lock, so that a rotation cannot
	// make one file appear twice or not at all, and so that each size
	// taken ends with a whole line (writes hold the lock too). Entries
	// recorded after this are not read.
	l.mu.Lock()
	files, err := openGenerations(l.path)
	l.mu.Unlock()
	if err != nil {
		return Page{}, err
	}
	return scan(ctx, files, q)
}

// ReadTrail is Query for a log no daemon holds open: the file at path and
// its rotated generations path.1 to path.5.
func ReadTrail(ctx context.Context, path string, q Query) (Page, error) {
	if err := q.Check(); err != nil {
		return Page{}, err
	}
	files, err := openGenerations(path)
	if err != nil {
		return Page{}, err
	}
	return scan(ctx, files, q)
}

type trailFile struct {
	f    *os.File
	size int64
}

// openGenerations opens path, path.1, … path.Generations, newest first,
// skipping missing ones and one that is the same file as an earlier one.
func openGenerations(path string) ([]trailFile, error) {
	var out []trailFile
	var seen []os.FileInfo
	for i := 0; i <= Generations; i++ {
		name := path
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("audit query: %w", err)
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() || slices.ContainsFunc(seen, func(s os.FileInfo) bool { return os.SameFile(s, fi) }) {
			f.Close()
			continue
		}
		seen = append(seen, fi)
		out = append(out, trailFile{f: f, size: fi.Size()})
	}
	return out, nil
}

func closeAll(files []trailFile) {
	for _, tf := range files {
		tf.f.Close()
	}
}

func scan(ctx context.Context, files []trailFile, q Query) (Page, error) {
	defer closeAll(files)
	page := Page{Entries: []Entry{}}
	needles := q.needles()
	r := &backReader{}
	lines := 0
	for _, tf := range files {
		r.reset(tf.f, tf.size)
		for {
			line, err := r.prev()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return Page{}, fmt.Errorf("audit query: %s: %w", tf.f.Name(), err)
			}
			if lines++; lines%1024 == 0 && ctx.Err() != nil {
				return Page{}, fmt.Errorf("audit query: %w", ctx.Err())
			}
			if !containsAll(line, needles) {
				continue
			}
			var e Entry
			if json.Unmarshal(line, &e) != nil || !q.matches(e) {
				continue
			}
			if len(page.Entries) == q.Limit {
				page.Truncated = true
				return page, nil
			}
			e.Old, e.New = Cut(e.Old, maxShown), Cut(e.New, maxShown)
			page.Entries = append(page.Entries, e)
		}
	}
	return page, nil
}

func containsAll(line []byte, needles [][]byte) bool {
	for _, n := range needles {
		if !bytes.Contains(line, n) {
			return false
		}
	}
	return true
}

// chunkSize is how much backReader reads at a time.
const chunkSize = 64 << 10

// maxLine bounds a line backReader returns: an entry's Old and New are
// bounded by the API's 1 MiB body, which JSON escaping can at most
// multiply by six. A longer line cannot be an entry and is skipped.
const maxLine = 8 << 20

// backReader returns the lines of a file from the last to the first,
// holding one chunk and the line being assembled. Chunks are read into
// the buffer from its end towards its start, so that a long line is
// neither copied nor searched again for each chunk it spans.
type backReader struct {
	f    *os.File
	off  int64  // bytes before it are not read yet
	buf  []byte // buf[lo:hi]: read, not yet returned; hi ends a line
	lo   int
	hi   int
	at   int  // buf[at:hi] holds no newline: search buf[lo:at]
	skip bool // the line being assembled is over maxLine: drop it
}

func (r *backReader) reset(f *os.File, size int64) {
	if r.buf == nil {
		r.buf = make([]byte, chunkSize)
	}
	r.f, r.off, r.skip = f, size, false
	r.lo, r.hi, r.at = len(r.buf), len(r.buf), len(r.buf)
}

// prev returns the previous line without its newline (empty lines are
// skipped), valid until the next call, or io.EOF at the file's start.
func (r *backReader) prev() ([]byte, error) {
	for {
		if i := bytes.LastIndexByte(r.buf[r.lo:r.at], '\n'); i >= 0 {
			i += r.lo
			line, skip := r.buf[i+1:r.hi], r.skip
			r.hi, r.at, r.skip = i, i, false
			if len(line) == 0 || skip || len(line) > maxLine {
				continue
			}
			return line, nil
		}
		r.at = r.lo
		if r.off == 0 {
			line, skip := r.buf[r.lo:r.hi], r.skip
			r.hi, r.at, r.skip = r.lo, r.lo, false
			if len(line) == 0 || skip || len(line) > maxLine {
				return nil, io.EOF
			}
			return line, nil
		}
		if r.hi-r.lo > maxLine {
			// Keep reading to its start, then drop it.
			r.lo, r.hi, r.at, r.skip = len(r.buf), len(r.buf), len(r.buf), true
		}
		if err := r.readChunk(); err != nil {
			return nil, err
		}
	}
}

// readChunk reads the chunk before r.off into the buffer before buf[lo:hi],
// moving what is held to the end of the buffer, or of a larger one, when
// there is no room before it.
func (r *backReader) readChunk() error {
	n := int(min(int64(chunkSize), r.off))
	if r.lo < n {
		held := r.hi - r.lo
		buf := r.buf
		if held+n > len(buf) {
			buf = make([]byte, min(max(2*len(buf), held+n), maxLine+2*chunkSize))
		}
		shift := len(buf) - r.hi
		copy(buf[len(buf)-held:], r.buf[r.lo:r.hi])
		r.buf, r.lo, r.hi, r.at = buf, r.lo+shift, r.hi+shift, r.at+shift
	}
	r.off -= int64(n)
	r.lo -= n
	if _, err := r.f.ReadAt(r.buf[r.lo:r.lo+n], r.off); err != nil {
		return fmt.Errorf("reading %d bytes at %d: %w", n, r.off, err)
	}
	return nil
}
