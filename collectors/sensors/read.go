package sensors

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// fileReader reads small sysfs attributes into one reused buffer. A poll
// reads thousands of them; os.ReadFile would allocate a File, a buffer and a
// stat for each, which is most of a poll's cost.
type fileReader struct {
	buf [128]byte
}

// read returns the attribute at path without surrounding white space; the
// slice is valid until the next read.
func (r *fileReader) read(path string) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var n int
	for {
		n, err = syscall.Read(fd, r.buf[:])
		if err != syscall.EINTR {
			break
		}
	}
	// A driver reports a sensor it cannot read as a read error (EIO,
	// ENODATA, EAGAIN): that is an answer about the sensor, not about the file.
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if n == len(r.buf) {
		// No number or state word is this long.
		return nil, &garbageError{path: path, content: truncate(string(r.buf[:32]), 32) + "..."}
	}
	return bytes.TrimSpace(r.buf[:n]), nil
}

// garbageError is an attribute that does not hold what its name promises.
type garbageError struct {
	path    string
	content string
}

// Error names the file only: it becomes part of a sensor's description,
// whose title already names the chip.
func (e *garbageError) Error() string {
	return fmt.Sprintf("bad value %q in %s", e.content, filepath.Base(e.path))
}

// readInt reads an integer attribute. Its errors are a *fs.PathError when the
// file cannot be read (fs.ErrNotExist when it is gone) and a *garbageError
// when it holds something else.
func (r *fileReader) readInt(path string) (int64, error) {
	b, err := r.read(path)
	if err != nil {
		return 0, err
	}
	v, ok := parseInt(b)
	if !ok {
		return 0, &garbageError{path: path, content: truncate(string(b), 32)}
	}
	return v, nil
}

// readWord reads a string attribute (a type, a status, a health).
func (r *fileReader) readWord(path string) (string, error) {
	b, err := r.read(path)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// parseInt parses a decimal integer without allocating (strconv needs a
// string, and converting would allocate for every attribute of every poll).
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 { // 18 digits cannot overflow an int64
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// listDir returns the names in dir, unsorted.
func listDir(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	return names, nil
}

// isGone says err means the file or directory no longer exists.
func isGone(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// isGarbage says err, from readInt or readWord, is an attribute with content
// of the wrong form. A type assertion, not errors.As: it runs for every
// attribute of every poll, and errors.As makes its target escape.
func isGarbage(err error) bool {
	_, ok := err.(*garbageError)
	return ok
}

// unwrapPath strips the path from a *fs.PathError, for descriptions that
// name the file themselves.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
