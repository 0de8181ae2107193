package tail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

var (
	errNotRegular = errors.New("not a regular file")
	errClaimed    = errors.New("file is being read under another name")
)

// stream follows one path through the files that successively bear it:
// it reads a file until the path names another file (rotation by rename)
// or none (deletion), drains the old file to its end, and only then reads
// the new one, so the path's lines arrive in the order they were written.
// The new file is opened as soon as the rotation is seen, and held: a
// writer fast enough to rotate it again while the old one drains must not
// make it vanish under another name before it is read.
type stream struct {
	path string
	wake chan struct{}
	fw   *follower
	held []heldFile // files that bore the path after the one being read, oldest first
}

type heldFile struct {
	f   *os.File
	key inodeKey
}

func newStream(path string, fw *follower) *stream {
	return &stream{path: path, wake: make(chan struct{}, 1), fw: fw}
}

// poke wakes the stream without blocking; a pending wake-up is enough.
func (s *stream) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run returns when the path names no file any more, or ctx is done.
func (s *stream) run(ctx context.Context) {
	tick := time.NewTicker(s.fw.cfg.Poll)
	defer tick.Stop()
	defer s.releaseHeld()
	failing := false
	for ctx.Err() == nil {
		t, err := s.next()
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular):
			return
		case errors.Is(err, errClaimed):
			// The other stream releases it once drained; retry then.
		case err != nil:
			if !failing {
				s.fw.log.Warn("cannot open log file; retrying", "path", s.path, "err", err)
			}
			failing = true
		default:
			failing = false
			err = s.follow(ctx, t, tick.C)
			t.f.Close()
			s.fw.reg.release(t.key, t.head, t.lineStart)
			if err == nil || ctx.Err() != nil {
				continue // the path may already name the next file
			}
			s.fw.log.Warn("reading log file failed; reopening", "path", s.path, "err", err)
		}
		if !s.wait(ctx, tick.C) {
			return
		}
	}
}

func (s *stream) wait(ctx context.Context, tick <-chan time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-s.wake:
	case <-tick:
	}
	return true
}

// next opens the oldest held file, or else the file the path names now.
func (s *stream) next() (*tailer, error) {
	if len(s.held) == 0 {
		return s.open()
	}
	h := s.held[0]
	s.held = s.held[1:]
	t, err := s.start(h.f)
	if err != nil {
		h.f.Close()
		return nil, err
	}
	return t, nil
}

// hold opens the file the path names now if it is neither the one being
// read (key) nor one already held.
func (s *stream) hold(key inodeKey) {
	f, err := os.Open(s.path)
	if err != nil {
		return
	}
	fi, err := f.Stat()
	var k inodeKey
	if err == nil {
		k, err = fileKey(fi)
	}
	if err != nil || k == key || !fi.Mode().IsRegular() {
		f.Close()
		return
	}
	for _, h := range s.held {
		if h.key == k {
			f.Close()
			return
		}
	}
	s.held = append(s.held, heldFile{f: f, key: k})
}

func (s *stream) releaseHeld() {
	for _, h := range s.held {
		h.f.Close()
	}
	s.held = nil
}

// open opens the file the path names now and decides where to start:
// where this Follow stopped reading it, else where its lines were last
// delivered (Positions), else 0 — a file nobody has seen may have appeared
// while the agent was down, and starting at its end would lose its lines.
func (s *stream) open() (*tailer, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	t, err := s.start(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

func (s *stream) start(f *os.File) (*tailer, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", s.path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", s.path, errNotRegular)
	}
	k, err := fileKey(fi)
	if err != nil {
		return nil, err
	}
	head, err := readHead(f, fi.Size())
	if err != nil {
		return nil, err
	}
	if !s.fw.reg.claim(k, s.path) {
		return nil, errClaimed
	}
	start, from := int64(0), "start"
	if off, ok := s.fw.reg.resume(k, head, fi.Size()); ok {
		start, from = off, "where this run stopped"
	} else if off, ok := s.fw.pos.resume(k, head, fi.Size()); ok {
		start, from = off, "saved position"
	}
	t := newTailer(s.path, f, k, head, start, s.fw.cfg.MaxLine)
	s.fw.log.Debug("following log file", "path", s.path, "id", t.id, "offset", start, "from", from)
	return t, nil
}

// follow reads t until its file is done: renamed or unlinked and then
// quiet (no growth) for one Poll interval, which is taken to mean the
// writer has reopened the new file. Only then is a last line without its
// newline sent, since until then the writer may still finish it.
func (s *stream) follow(ctx context.Context, t *tailer, tick <-chan time.Time) error {
	out, poll := s.fw.out, s.fw.cfg.Poll
	lastGrowth := time.Now()
	var movedAt time.Time
	for {
		s.fw.pos.touch(t.key)
		truncated, head, err := t.checkTruncated()
		if err != nil {
			return err
		}
		if truncated {
			s.fw.log.Info("log file truncated (copytruncate); reading it again from the start",
				"path", s.path, "id", t.id, "was_at", t.readOff)
			if err := t.flush(ctx, out); err != nil {
				return err
			}
			t.restart(head)
			lastGrowth = time.Now()
		}
		grew, err := t.readToEOF(ctx, out)
		if err != nil {
			return err
		}
		if grew {
			lastGrowth = time.Now()
		}
		if !s.namesFile(t.key) {
			s.hold(t.key)
			if movedAt.IsZero() {
				movedAt = time.Now()
				s.fw.log.Debug("log file rotated or deleted; reading it to its end", "path", s.path, "id", t.id)
			}
			if time.Since(later(lastGrowth, movedAt)) >= poll {
				return t.flush(ctx, out)
			}
		}
		if !s.wait(ctx, tick) {
			return ctx.Err()
		}
	}
}

// namesFile reports whether the path still names the file on inode k. An
// error other than "does not exist" (say a transient EACCES) counts as yes:
// giving up a file that is still there would lose its next lines.
func (s *stream) namesFile(k inodeKey) bool {
	fi, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		return true
	}
	now, err := fileKey(fi)
	return err != nil || now == k
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
