//go:build linux

package configwatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// On Linux the directory is watched with inotify directly rather than
// through fsnotify: fsnotify v1.10.1 keeps IN_CLOSE_WRITE unexported
// (xUnportableCloseWrite), and only that event tells that an in-place
// writer is done (see Run). Everything this needs is one watch on one
// directory, read in one goroutine.
const watchMask = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_CLOSE_WRITE |
	unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_ONLYDIR

// watchDir starts an inotify watch on dir whose events and errors go to
// events and errs until the returned close is called; events is closed then.
func watchDir(dir string, events chan<- event, errs chan<- error) (func() error, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, watchMask); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "inotify_add_watch", Path: dir, Err: err}
	}
	// Non-blocking, so os.File reads through the runtime's poller and
	// Close wakes a Read in progress.
	f := os.NewFile(uintptr(fd), "inotify "+dir)
	done := make(chan struct{})
	go readEvents(f, done, events, errs)
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			close(done)
			err = f.Close()
		})
		return err
	}, nil
}

// readEvents decodes the inotify records read from f until f is closed.
func readEvents(f *os.File, done <-chan struct{}, events chan<- event, errs chan<- error) {
	defer close(events)
	send := func(ev event) bool {
		select {
		case events <- ev:
			return true
		case <-done:
			return false
		}
	}
	fail := func(err error) {
		select {
		case errs <- err:
		default: // one error is enough: Run returns on it
		}
	}
	// Room for many records of the longest name.
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				fail(fmt.Errorf("read inotify: %w", err))
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			// struct inotify_event: wd int32, mask, cookie, len uint32, name[len].
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			start := off + unix.SizeofInotifyEvent
			if start+nameLen > n {
				fail(fmt.Errorf("read inotify: a record of %d bytes overruns the %d read", unix.SizeofInotifyEvent+nameLen, n))
				return
			}
			name := strings.TrimRight(string(buf[start:start+nameLen]), "\x00")
			off = start + nameLen
			if mask&unix.IN_Q_OVERFLOW != 0 {
				fail(errOverflow)
				return
			}
			if name == "" { // the directory itself (IN_IGNORED once it is gone)
				continue
			}
			ev := event{name: name}
			switch {
			case mask&(unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_DELETE) != 0,
				mask&unix.IN_CREATE != 0 && mask&unix.IN_ISDIR != 0:
				ev.op = opChanged
			case mask&(unix.IN_CREATE|unix.IN_MODIFY) != 0:
				ev.op = opWriting
			case mask&unix.IN_CLOSE_WRITE != 0:
				ev.op = opClosed
			default:
				continue
			}
			if !send(ev) {
				return
			}
		}
	}
}
