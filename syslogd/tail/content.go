package tail

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// content is what a tailer reads: a plain file through its descriptor
// (ReadAt, so a rename or unlink of its path changes nothing), or a
// rotated generation that logrotate compressed, through gzip.
type content struct {
	f     *os.File // nil for a sibling described but not held open
	path  string   // where it was opened
	key   inodeKey // of f: the physical file
	gz    bool     // gzip: read decompressed
	head  []byte   // its first bytes (decompressed), up to fingerprintSize
	size  int64    // plain: its size when opened; compressed: -1, not known
	mtime time.Time
	zr    *gzip.Reader // nil for a plain file
	br    *bufio.Reader
	zpos  int64 // decompressed offset zr is at
}

func (c *content) compressed() bool { return c.gz }

// ReadAt reads a plain file at off. A compressed one is read forward
// only: reading at an offset behind the last one starts again from the
// beginning, one ahead decompresses and discards up to it; a tailer reads
// forward, so this costs one pass.
func (c *content) ReadAt(p []byte, off int64) (int, error) {
	if c.zr == nil {
		return c.f.ReadAt(p, off)
	}
	if off < c.zpos {
		if err := c.rewind(); err != nil {
			return 0, err
		}
	}
	if off > c.zpos {
		n, err := io.CopyN(io.Discard, c.zr, off-c.zpos)
		c.zpos += n
		if err != nil {
			return 0, err
		}
	}
	// gzip says io.EOF at the end of intact data; io.ErrUnexpectedEOF (or a
	// checksum error) means the .gz is damaged or cut short.
	n := 0
	var err error
	for n < len(p) && err == nil {
		var k int
		k, err = c.zr.Read(p[n:])
		n += k
	}
	c.zpos += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("compressed data cut short: %w", err)
	}
	return n, err
}

func (c *content) rewind() error {
	if _, err := c.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind %s: %w", c.f.Name(), err)
	}
	c.br.Reset(c.f)
	if err := c.zr.Reset(c.br); err != nil {
		return fmt.Errorf("gzip %s: %w", c.f.Name(), err)
	}
	c.zpos = 0
	return nil
}

func (c *content) Close() error {
	if c.f == nil {
		return nil
	}
	return c.f.Close()
}

// reopen opens a sibling described by siblings again, if its path still
// names the same file.
func (c *content) reopen() (*content, error) {
	o, err := openContent(c.path)
	if err != nil {
		return nil, err
	}
	if o.key != c.key {
		o.Close()
		return nil, fmt.Errorf("%s: renamed meanwhile: %w", c.path, errGone)
	}
	return o, nil
}

// openContent opens path without following a symlink at its last element
// (the caller resolved an allowed one), as a regular file; a gzip file
// (by its magic bytes, whatever its name) is read decompressed.
func openContent(path string) (*content, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	c, err := newContent(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.path = path
	return c, nil
}

func newContent(f *os.File) (*content, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", f.Name(), errNotRegular)
	}
	k, err := fileKey(fi)
	if err != nil {
		return nil, err
	}
	c := &content{f: f, key: k, size: fi.Size(), mtime: fi.ModTime()}
	var magic [2]byte
	n, _ := f.ReadAt(magic[:], 0)
	if n < 2 && strings.HasSuffix(f.Name(), ".gz") {
		// Being written by gzip: not a plain file, and not readable yet.
		return nil, fmt.Errorf("%s: %w", f.Name(), errNotReady)
	}
	if n == 2 && magic == [2]byte{0x1f, 0x8b} {
		c.br = bufio.NewReaderSize(f, 64<<10)
		if c.zr, err = gzip.NewReader(c.br); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", f.Name(), err)
		}
		c.size, c.gz = -1, true
		c.head = make([]byte, fingerprintSize)
		n, err := c.ReadAt(c.head, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("gzip %s: %w", f.Name(), err)
		}
		c.head = c.head[:n]
		return c, nil
	}
	if c.head, err = readHead(f, c.size); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return c, nil
}

var (
	errNotRegular = errors.New("not a regular file")
	errClaimed    = errors.New("file is being read under another name")
	errGone       = errors.New("file is gone")
	errNotReady   = errors.New("compressed file still being written")
)

// isRotationName reports whether name is a rotated generation of base as
// logrotate and its kin name them: base.1, base.1.gz, base-20261202,
// base-20261202.gz, and, with logrotate's "extension" option, the name
// without its extension followed by a number or date (app.1.log,
// app-20261202.log for app.log).
func isRotationName(base, name string) bool {
	if name == base {
		return false
	}
	for _, sep := range []string{".", "-", "_"} {
		if strings.HasPrefix(name, base+sep) {
			return true
		}
	}
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if stem == base || stem == "" {
		return false
	}
	for _, sep := range []string{".", "-", "_"} {
		if rest, ok := strings.CutPrefix(name, stem+sep); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return true
		}
	}
	return false
}

// siblings describes the rotated generations of path that lie next to it,
// newest modification last: each is opened, identified and closed in turn,
// so that looking costs one descriptor at a time (reopen opens one again).
// Symbolic links are not followed: a rotated generation is a file
// logrotate made, never a link.
func siblings(path string) []*content {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []*content
	for _, e := range entries {
		if !isRotationName(base, e.Name()) || e.Type()&fs.ModeType != 0 {
			continue
		}
		c, err := openContent(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		c.Close()
		c.f, c.zr, c.br = nil, nil, nil
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b *content) int { return a.mtime.Compare(b.mtime) })
	return out
}
