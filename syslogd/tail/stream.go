package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"
)

// stream follows one path through the files that successively bear it.
// Discovery (the follower, and the stream itself) appends each new file
// that bears the path to the chain the moment it is seen, and holds it
// open when the descriptor budget allows, whether or not reading is
// blocked: a writer fast enough to rotate several times while delivery
// stalls must not make a generation vanish before it is read. Reading
// takes the chain in order, draining each file to its end before the next,
// so the path's lines arrive in the order they were written.
type stream struct {
	path string
	wake chan struct{}
	fw   *follower

	mu       sync.Mutex
	chain    []*gen   // files that bore the path, not yet read to their end, oldest first
	last     inodeKey // the newest file seen at path
	haveLast bool
}

// gen is one file in a stream's chain.
type gen struct {
	key  inodeKey
	held *content // opened when discovered, holding a budget slot; or nil
	head []byte   // first bytes when discovered, to find it compressed
	// origin is set for content found under another inode at start-up (a
	// copy or a .gz of a file read before): its lines go on under the
	// original's identity, from offset and seq.
	origin *FileID
	offset int64
	seq    uint64
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

// observe looks at what the path names now and appends it to the chain if
// it is new. It reports whether the path names a file. It never blocks on
// reading, so the follower calls it for every creation and rename.
func (s *stream) observe() bool {
	fi, err := s.fw.stat(s.path)
	if err != nil {
		// An error other than "does not exist" (say a transient EACCES)
		// counts as there: giving up a file still there would lose lines.
		return !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNotRegular)
	}
	k, err := fileKey(fi)
	if err != nil {
		return true
	}
	s.mu.Lock()
	known := s.haveLast && s.last == k
	s.mu.Unlock()
	if known {
		return true
	}
	// Held open at once if a descriptor is free, so that a later rotation
	// or deletion cannot take it; otherwise known by its inode only, and
	// looked for by it when its turn comes.
	g := &gen{key: k}
	if s.fw.budget.tryAcquire() {
		c, err := s.fw.open(s.path)
		switch {
		case err == nil && c.key == k:
			g.held, g.head = c, c.head
		case errors.Is(err, errNotReady):
			s.fw.budget.release()
			return true // a .gz being written: looked at again once it is
		default:
			if err == nil {
				c.Close()
			}
			s.fw.budget.release()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last, s.haveLast = k, true
	for _, o := range s.chain {
		if o.key == k {
			s.drop(g)
			return true
		}
	}
	s.chain = append(s.chain, g)
	s.fw.pos.discover(newFileID(k, g.head), s.path)
	s.poke()
	return true
}

// acquire waits for a descriptor slot for the file to read now. A stream
// that holds later generations open first gives up the newest of them (it
// is found again by its inode when its turn comes): streams waiting for a
// slot while each holds some could otherwise wait for each other forever.
func (s *stream) acquire(ctx context.Context) error {
	if s.fw.budget.tryAcquire() {
		return nil
	}
	s.mu.Lock()
	for i := len(s.chain) - 1; i >= 0; i-- {
		if s.chain[i].held != nil {
			s.drop(s.chain[i])
			break
		}
	}
	s.mu.Unlock()
	return s.fw.budget.acquire(ctx)
}

// drop closes a generation's held descriptor, giving its slot back.
func (s *stream) drop(g *gen) {
	if g.held != nil {
		g.held.Close()
		g.held = nil
		s.fw.budget.release()
	}
}

// refresh lets the saved identity of each generation held open while it
// waits its turn follow that file's growth (see Positions.grow).
func (s *stream) refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, g := range s.chain {
		s.fw.pos.touch(g.key)
		switch {
		case g.held != nil && !g.held.compressed():
			if head, err := readHead(g.held.f, fingerprintSize); err == nil && len(head) > len(g.head) {
				g.head = head
				s.fw.pos.grow(g.key, head)
			}
		case g.held == nil && i > 0 && len(g.head) < fingerprintSize:
			// Not held (no descriptor was free): its first bytes are read
			// through a brief open by its inode, so that it can still be
			// found in its .gz if logrotate compresses it before its turn.
			if c, err := s.locate(g.key, nil); err == nil {
				if !c.compressed() && len(c.head) > len(g.head) {
					g.head = c.head
					s.fw.pos.grow(g.key, c.head)
				}
				c.Close()
			}
		}
	}
}

// grown is told by the follower that the path's file was written: if that
// file waits its turn without a descriptor and its first bytes are not
// all known yet, they are read now through a brief open, so that it can be
// found in its .gz even if logrotate compresses it before the next tick.
func (s *stream) grown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.chain)
	if n < 2 {
		return
	}
	g := s.chain[n-1]
	if g.held != nil || len(g.head) >= fingerprintSize {
		return
	}
	if c, err := s.fw.open(s.path); err == nil {
		if c.key == g.key && !c.compressed() && len(c.head) > len(g.head) {
			g.head = c.head
			s.fw.pos.grow(g.key, c.head)
		}
		c.Close()
	}
}

func (s *stream) front() *gen {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.chain) == 0 {
		return nil
	}
	return s.chain[0]
}

// pop removes the generation read to its end, or whose reading failed.
// A failed one that is still the newest seen at the path is forgotten as
// such, so the next observe takes it up again; one read to its end (a .gz
// a glob matches) is not read again.
func (s *stream) pop(g *gen, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.chain) > 0 && s.chain[0] == g {
		s.chain = s.chain[1:]
	}
	s.drop(g)
	if failed && s.haveLast && s.last == g.key && len(s.chain) == 0 {
		s.haveLast = false
	}
}

// newer reports whether a file bore the path after the front one.
func (s *stream) newer() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.chain) > 1
}

func (s *stream) releaseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.chain {
		s.drop(g)
	}
	s.chain = nil
}

// run returns when the path names no file any more and every file that
// bore it was read, or when ctx is done.
func (s *stream) run(ctx context.Context) {
	tick := time.NewTicker(s.fw.cfg.Poll)
	defer tick.Stop()
	defer s.releaseAll()
	// Holding nothing yet, wait for one descriptor to look next to the
	// path with, one file at a time.
	if s.fw.budget.acquire(ctx) != nil {
		return
	}
	s.restore()
	s.fw.budget.release()
	s.observe()
	failing := false
	for ctx.Err() == nil {
		g := s.front()
		if g == nil {
			if !s.observe() {
				return
			}
			if s.front() == nil && !s.wait(ctx, tick.C) {
				return
			}
			continue
		}
		t, err := s.open(ctx, g)
		switch {
		case err == nil:
			failing = false
			err = s.follow(ctx, t, tick.C)
			s.fw.reg.sentTo(t.key, t.head, t.lineStart, t.seq)
			if t.src != nil {
				s.fw.reg.unclaim(t.src.key)
			}
			t.close(s.fw.budget)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.fw.log.Warn("reading log file failed; reopening", "path", s.path, "err", err)
			}
			s.pop(g, err != nil)
			continue
		case ctx.Err() != nil:
			return
		case errors.Is(err, errGone):
			s.pop(g, false)
			continue
		case errors.Is(err, errNotReady):
			// Being compressed: read once gzip has finished it.
		case errors.Is(err, errClaimed):
			if s.newer() {
				s.pop(g, false) // read under its other name by the stream that holds it
				continue
			}
			// The other stream releases it once drained; retry then.
		default:
			if !failing {
				s.fw.log.Warn("cannot open log file; retrying", "path", s.path, "err", err)
			}
			failing = true
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

// open makes a tailer for g, starting where its lines were last sent in
// this run, else where they were last delivered (Positions), else at 0 —
// a file nobody has seen may have appeared while the agent was down, and
// starting at its end would lose its lines.
func (s *stream) open(ctx context.Context, g *gen) (*tailer, error) {
	s.mu.Lock()
	c, head := g.held, g.head
	g.held = nil
	s.mu.Unlock()
	if c == nil {
		if err := s.acquire(ctx); err != nil {
			return nil, err
		}
		var err error
		if c, err = s.locate(g.key, head); err != nil {
			s.fw.budget.release()
			if errors.Is(err, errGone) && g.origin == nil {
				from, _, _ := s.fw.reg.resume(g.key, head, -1)
				if off, _, ok := s.fw.pos.resume(g.key, head, -1); ok && off > from {
					from = off
				}
				s.fw.lost(Loss{Path: s.path, ID: newFileID(g.key, head), From: from, To: -1,
					Reason: "the file was rotated away and deleted before it could be read (it was not held open: too many files)"})
			}
			return nil, err
		}
	}
	if !s.fw.reg.claim(c.key, s.path) {
		c.Close()
		s.fw.budget.release()
		return nil, errClaimed
	}
	key, start, seq, from := c.key, int64(0), uint64(0), "start"
	switch {
	case g.origin != nil:
		key, start, seq, from = g.origin.key(), g.offset, g.seq, "its copy"
	case c.compressed() && s.compressedFrom(c, &key, &start, &seq):
		// A .gz a glob matches: the content of a file read before goes
		// on under that file's identity, not again from its start, and
		// only once that file's own stream is done with it.
		if s.fw.reg.claimed(key) {
			s.fw.reg.unclaim(c.key)
			c.Close()
			s.fw.budget.release()
			return nil, errClaimed
		}
		from = "the file it was compressed from"
	default:
		if off, n, ok := s.fw.reg.resume(c.key, c.head, c.size); ok {
			start, seq, from = off, n, "where this run stopped"
		} else if off, n, ok := s.fw.pos.resume(c.key, c.head, c.size); ok {
			start, seq, from = off, n, "saved position"
		}
	}
	t := newTailer(s.path, c, key, c.head, start, seq, s.fw.cfg.MaxLine)
	if g.origin != nil || c.compressed() {
		t.final = true
		t.tag = t.stableTag(c.head)
	}
	s.fw.log.Debug("following log file", "path", s.path, "file", c.f.Name(), "id", t.id, "offset", start, "from", from)
	return t, nil
}

// compressedFrom finds the file a .gz was made from among those read
// before, and where its lines went on.
func (s *stream) compressedFrom(c *content, key *inodeKey, start *int64, seq *uint64) bool {
	if k, m, ok := s.fw.reg.content(c.head); ok {
		*key, *start, *seq = k, m.offset, m.seq
		return true
	}
	if id, off, n, ok := s.fw.pos.content(c.head); ok {
		*key, *start, *seq = id.key(), off, n
		return true
	}
	return false
}

// locate opens the file on inode k: at the path, or rotated next to it.
// Failing that, a .gz whose decompressed start is head: logrotate's
// compress made it from the file, which is then deleted.
func (s *stream) locate(k inodeKey, head []byte) (*content, error) {
	if c, err := s.fw.open(s.path); err == nil {
		if c.key == k {
			return c, nil
		}
		c.Close()
	} else if errors.Is(err, errNotReady) {
		return nil, err
	}
	sibs := siblings(s.path)
	for _, c := range sibs {
		if c.key == k {
			return c.reopen()
		}
	}
	if len(head) >= minContentMatch {
		for _, c := range sibs {
			if c.compressed() && len(c.head) >= len(head) && string(c.head[:len(head)]) == string(head) {
				return c.reopen()
			}
		}
	}
	return nil, fmt.Errorf("%s (inode %d): %w", s.path, k.ino, errGone)
}

// restoreSlack allows for file systems whose modification times are
// coarser than the clock (a generation written just before the positions
// were saved must not be taken as older).
const restoreSlack = 2 * time.Second

// restore puts before the current file the earlier generations of the
// path found next to it, oldest first: those known with lines not yet
// sent (the agent was stopped, or blocked, across a rotation), their
// content found in logrotate's copy or .gz, and those unknown but
// modified since this run's knowledge ends (rotated more than once while
// the agent was down).
func (s *stream) restore() {
	since := s.fw.since
	var found []*gen
	for _, c := range siblings(s.path) {
		g := s.earlier(c, since)
		if g == nil {
			continue
		}
		if s.fw.budget.tryAcquire() {
			if h, err := c.reopen(); err == nil {
				g.held = h
			} else {
				s.fw.budget.release()
			}
		}
		found = append(found, g)
	}
	if len(found) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chain = append(found, slices.DeleteFunc(s.chain, func(g *gen) bool {
		for _, f := range found {
			if f.key == g.key && f.origin == nil {
				s.drop(g)
				return true
			}
		}
		return false
	})...)
	for _, g := range found {
		s.fw.log.Info("reading a rotated generation not read before", "path", s.path, "inode", g.key.ino, "offset", g.offset)
	}
}

// earlier decides whether the sibling c is a generation to read before the
// current file, and from where.
func (s *stream) earlier(c *content, since time.Time) *gen {
	if s.fw.matches(c.path) || s.fw.reg.claimed(c.key) {
		// A file a glob matches has its own stream (worker-1.log may be a
		// live file beside worker.log), which reads it under its own name.
		return nil
	}
	if !c.compressed() {
		if off, _, ok := s.fw.reg.resume(c.key, c.head, c.size); ok {
			return s.unread(c, off)
		}
		if off, _, ok := s.fw.pos.resume(c.key, c.head, c.size); ok {
			return s.unread(c, off)
		}
	}
	if k, m, ok := s.fw.reg.content(c.head); ok {
		id := newFileID(k, m.head)
		return s.copyOf(c, id, m.offset, m.seq)
	}
	if id, off, seq, ok := s.fw.pos.content(c.head); ok {
		return s.copyOf(c, id, off, seq)
	}
	if !since.IsZero() && !c.mtime.Before(since.Add(-restoreSlack)) {
		return &gen{key: c.key, head: c.head}
	}
	return nil
}

// unread is c, to be read from off, unless nothing is left there.
func (s *stream) unread(c *content, off int64) *gen {
	if off >= c.size {
		return nil
	}
	return &gen{key: c.key, head: c.head}
}

// copyOf is c, holding the content of id (read up to off), to be read on
// from there under id.
func (s *stream) copyOf(c *content, id FileID, off int64, seq uint64) *gen {
	if !c.compressed() && off >= c.size {
		return nil
	}
	return &gen{key: c.key, head: c.head, origin: &id, offset: off, seq: seq}
}

// follow reads t until its file is done: another file bears the path (or
// none does), and this one has been quiet (no growth) for one Poll
// interval, which is taken to mean the writer has reopened the new file.
// Only then is a last line without its newline sent, since until then the
// writer may still finish it. Content that does not grow is done at its end.
func (s *stream) follow(ctx context.Context, t *tailer, tick <-chan time.Time) error {
	out, poll := s.fw.out, s.fw.cfg.Poll
	lastGrowth := time.Now()
	var movedAt time.Time
	for {
		if t.src == nil {
			if err := s.reopen(ctx, t); err != nil {
				return err
			}
		}
		s.fw.pos.touch(t.key)
		if !t.final {
			truncated, head, err := t.checkTruncated()
			if err != nil {
				return err
			}
			if truncated {
				if err := s.truncated(ctx, t, head); err != nil {
					return err
				}
				lastGrowth = time.Now()
			} else {
				// Short, or grown by the last read (learnHead): a no-op once
				// the saved identity is as long.
				s.fw.pos.grow(t.key, t.head)
			}
		}
		grew, err := t.readToEOF(ctx, out)
		if err != nil && t.final && t.src.compressed() && ctx.Err() == nil {
			// A damaged .gz: what could be read was sent; the rest, and the
			// line it cut, are gone.
			s.fw.lost(Loss{Path: s.path, ID: t.id, From: t.lineStart, To: -1,
				Reason: fmt.Sprintf("the compressed generation %s is damaged: %v", t.src.path, err)})
			t.pending = t.pending[:0]
			return nil
		}
		if err != nil {
			return err
		}
		if t.final {
			return t.flush(ctx, out)
		}
		if grew {
			lastGrowth = time.Now()
		}
		named := s.observe()
		if !named || s.newer() {
			if movedAt.IsZero() {
				movedAt = time.Now()
				s.fw.log.Debug("log file rotated or deleted; reading it to its end", "path", s.path, "id", t.id)
			}
			if time.Since(later(lastGrowth, movedAt)) >= poll {
				return t.flush(ctx, out)
			}
		} else if s.fw.budget.contended() {
			// Read to its end and still the path's file: its descriptor is
			// better used by a stream waiting for one. It is opened again,
			// by its identity, when it grows.
			s.fw.reg.unclaim(t.src.key)
			t.suspend(s.fw.budget)
		}
		if !s.wait(ctx, tick) {
			return ctx.Err()
		}
		if t.src == nil && !s.changed(t) {
			// Suspended and nothing new: stay closed until the next wake,
			// still followed (its position is not pruned).
			for !s.changed(t) {
				s.fw.pos.touch(t.key)
				if !s.wait(ctx, tick) {
					return ctx.Err()
				}
			}
		}
	}
}

// changed reports whether a suspended tailer's file may have more to read:
// the path names another file, or none, or this one grew.
func (s *stream) changed(t *tailer) bool {
	fi, err := os.Stat(s.path)
	if err != nil {
		return true
	}
	k, err := fileKey(fi)
	return err != nil || k != t.key || fi.Size() != t.readOff || s.newer()
}

// reopen finds a suspended tailer's file again by its identity: at the
// path, rotated next to it, or compressed.
func (s *stream) reopen(ctx context.Context, t *tailer) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	c, err := s.locate(t.key, t.head)
	if err == nil && !s.fw.reg.claim(c.key, s.path) {
		c.Close()
		err = errClaimed
	}
	if err != nil {
		s.fw.budget.release()
		if errors.Is(err, errGone) {
			s.fw.lost(Loss{Path: s.path, ID: t.id, From: t.readOff, To: -1,
				Reason: "the file was rotated away and deleted while it was closed to spare descriptors"})
		}
		return err
	}
	if c.compressed() {
		// Rotated and compressed meanwhile: what was pending is read again
		// from the .gz, which does not grow.
		t.readOff, t.pending, t.part, t.final = t.lineStart, t.pending[:0], 0, true
	}
	// Content rewritten on the same inode while it was closed (copytruncate
	// of a quiet file) is the truncation follow's next look handles.
	t.src = c
	return nil
}

// truncated handles copytruncate: the file was copied aside, then cut to
// nothing, possibly before all of it was read. The unread rest is looked
// for in the copy (plain or compressed, found by its first bytes), and
// sent under the old identity; then the file is read from 0 as new
// content. Without a copy, what was unread is counted lost.
func (s *stream) truncated(ctx context.Context, t *tailer, head []byte) error {
	s.fw.log.Info("log file truncated (copytruncate); reading the rest of its old content from the copy, then the file from its start",
		"path", s.path, "id", t.id, "was_at", t.readOff)
	// The copy and any missed copies are read one at a time, each with one
	// descriptor beyond the budget for that moment: truncations are rare,
	// and waiting for a slot while holding one could deadlock.
	var copyOf *content
	sibs := siblings(s.path)
	before := map[inodeKey]bool{}
	for _, c := range sibs {
		before[c.key] = true
	}
	for i := len(sibs) - 1; i >= 0; i-- { // the newest copy first
		c := sibs[i]
		if c.key != t.src.key && t.id.matches(c.head) && (c.compressed() || c.size >= t.lineStart) {
			if o, err := c.reopen(); err == nil {
				copyOf, sibs[i] = o, nil
			}
			break
		}
	}
	if copyOf != nil {
		ct := &tailer{path: t.path, src: copyOf, key: t.key, head: t.head, id: t.id, tag: t.tag, final: true,
			maxLine: t.maxLine, readOff: t.lineStart, lineStart: t.lineStart, part: t.part, seq: t.seq, buf: t.buf}
		_, err := ct.readToEOF(ctx, s.fw.out)
		if err == nil {
			err = ct.flush(ctx, s.fw.out)
		}
		copyOf.Close()
		if err != nil {
			return err
		}
		s.fw.reg.sentTo(t.key, t.head, ct.lineStart, ct.seq)
	} else {
		if t.lastSize > t.lineStart {
			s.fw.lost(Loss{Path: s.path, ID: t.id, From: t.lineStart, To: t.lastSize,
				Reason: "the file was truncated before these bytes were read, and no copy of it was found"})
		}
		if err := t.flush(ctx, s.fw.out); err != nil {
			return err
		}
	}
	// Truncated more than once since the last look (the collector was down,
	// reading stalled): the contents in between are in newer copies.
	for i, c := range sibs {
		if c == nil || c.key == t.src.key {
			continue
		}
		g := s.earlier(c, t.lastLook)
		if g == nil {
			continue
		}
		sibs[i] = nil
		if g.held, _ = c.reopen(); g.held == nil {
			continue
		}
		if err := s.readNow(ctx, g); err != nil {
			return err
		}
	}
	// Reading the copy waits on the consumer, and may take long: meanwhile
	// the file may have been written, copied and truncated again, once or
	// more. head, taken when the truncation was seen, then names content
	// no longer there; if the file was empty then, head is empty and
	// nothing (replaced, checkTruncated) could tell the later content from
	// that one: restarting at 0 read the file as it is now and the
	// generations copied meanwhile were never read. So look again: a copy
	// that appeared since is content the file held after the truncation,
	// read now from its start, under the file's inode as it would have
	// been read in place.
	if err := s.copiedMeanwhile(ctx, t, before); err != nil {
		return err
	}
	if fi, err := t.src.f.Stat(); err == nil {
		if now, err := readHead(t.src.f, fi.Size()); err == nil && len(now) > len(head) && bytes.HasPrefix(now, head) {
			head = now
		}
	}
	t.restart(head)
	return nil
}

// copiedMeanwhile reads, oldest first, the siblings that appeared (new
// inodes) since the truncation of t's file was seen, before whose content
// nothing was read: logrotate's copies of contents the file held since.
// Known content (a copy compressed meanwhile) goes on where it was sent
// up to; a copy whose content is still the file's (copied, not yet
// truncated) is left to the truncation that follows, which finds it.
func (s *stream) copiedMeanwhile(ctx context.Context, t *tailer, before map[inodeKey]bool) error {
	for _, c := range siblings(s.path) {
		if before[c.key] || c.key == t.src.key || s.fw.matches(c.path) || s.fw.reg.claimed(c.key) {
			continue
		}
		if len(c.head) == 0 {
			continue // a copy of the file while empty: nothing to read
		}
		g := s.earlier(c, time.Time{})
		if g == nil {
			if known := s.known(c); known {
				continue
			}
			if s.stillCurrent(t, c) {
				continue
			}
			id := newFileID(t.src.key, c.head)
			g = &gen{key: c.key, head: c.head, origin: &id}
		}
		if g.held, _ = c.reopen(); g.held == nil {
			continue
		}
		s.fw.log.Info("log file copied and truncated again while its previous copy was read; reading that copy",
			"path", s.path, "file", c.path)
		if err := s.readNow(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

// known reports whether c's content was read before (earlier found it
// read to its end).
func (s *stream) known(c *content) bool {
	if _, _, ok := s.fw.reg.content(c.head); ok {
		return true
	}
	if _, _, _, ok := s.fw.pos.content(c.head); ok {
		return true
	}
	if !c.compressed() {
		if _, _, ok := s.fw.reg.resume(c.key, c.head, c.size); ok {
			return true
		}
		if _, _, ok := s.fw.pos.resume(c.key, c.head, c.size); ok {
			return true
		}
	}
	return false
}

// stillCurrent reports whether the copy c holds what t's file holds now
// (logrotate copied it and has not truncated it yet).
func (s *stream) stillCurrent(t *tailer, c *content) bool {
	fi, err := t.src.f.Stat()
	if err != nil {
		return false
	}
	now, err := readHead(t.src.f, fi.Size())
	if err != nil || (!c.compressed() && fi.Size() < c.size) {
		return false
	}
	return len(c.head) > 0 && bytes.HasPrefix(now, c.head)
}

// readNow reads the whole of g (content that does not grow: a copy left
// by copytruncate) at once, from where its lines were last sent.
func (s *stream) readNow(ctx context.Context, g *gen) error {
	c := g.held
	defer c.Close()
	key, start, seq := c.key, int64(0), uint64(0)
	if g.origin != nil {
		key, start, seq = g.origin.key(), g.offset, g.seq
	} else if off, n, ok := s.fw.reg.resume(c.key, c.head, c.size); ok {
		start, seq = off, n
	} else if off, n, ok := s.fw.pos.resume(c.key, c.head, c.size); ok {
		start, seq = off, n
	}
	s.fw.log.Info("reading a rotated copy not read before", "path", s.path, "file", c.f.Name(), "offset", start)
	t := newTailer(s.path, c, key, c.head, start, seq, s.fw.cfg.MaxLine)
	t.final = true
	t.tag = t.stableTag(c.head)
	_, err := t.readToEOF(ctx, s.fw.out)
	if err == nil {
		err = t.flush(ctx, s.fw.out)
	}
	s.fw.reg.sentTo(key, c.head, t.lineStart, t.seq)
	return err
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
