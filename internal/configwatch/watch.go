// Package configwatch watches the configuration directory and reports
// which files changed, once each change is complete, so that the daemon
// applies hand edits live and never a file caught half-written.
package configwatch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxWriting bounds the wait for a writer to close a file it has written:
// past it the file is reported anyway (see Run).
const MaxWriting = 30 * time.Second

// op is what happened to a file, as far as settling goes.
type op uint8

const (
	// opChanged: the name's content changed at once (a file renamed into
	// place or away, removed); nothing is left to wait for.
	opChanged op = iota
	// opWriting: the file is being written in place (written, created by
	// open); the change is complete only when the writer closes it.
	opWriting
	// opClosed: a writer closed the file.
	opClosed
)

// event is one change of a file of the directory.
type event struct {
	name string // base name
	op   op
}

// errOverflow is the kernel's event queue overflowing: changes were lost.
var errOverflow = errors.New("event queue overflow")

// Watcher watches one directory (not the files: editors replace files by
// rename, which would silently end a watch on the old inode).
type Watcher struct {
	dir        string
	debounce   time.Duration
	maxWriting time.Duration // MaxWriting; tests shorten it

	// Filled by the platform's source (inotify on Linux) until closed.
	events chan event
	errs   chan error
	close  func() error

	closeOnce sync.Once
	closeErr  error
}

// NewWatcher starts watching dir; changes made after it returns are seen,
// even if Run is called later (the kernel queues them meanwhile).
func NewWatcher(dir string, debounce time.Duration) (*Watcher, error) {
	if debounce <= 0 {
		return nil, fmt.Errorf("watch %s: debounce must be positive, got %v", dir, debounce)
	}
	w := &Watcher{dir: dir, debounce: debounce, maxWriting: MaxWriting,
		events: make(chan event), errs: make(chan error, 1)}
	closeFn, err := watchDir(dir, w.events, w.errs)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	w.close = closeFn
	return w, nil
}

// Run blocks until ctx is done (returns nil then) and calls onChange with the
// sorted, de-duplicated base names of the *.toml files that were created,
// written, renamed into place or removed, once the change is complete and
// the directory has been quiet for the debounce period, so an editor's save
// (often truncate, several writes, chmod, or write-temp-then-rename) is one
// call.
//
// A file written in place is complete when its writer closes it (on Linux,
// inotify's IN_CLOSE_WRITE): a writer that truncates the file, writes half,
// pauses for longer than the debounce and writes the rest is reported once,
// after the close, and never with its first half. The quiet period alone
// cannot tell a pause from the end of a save, whatever its length; a parse
// check cannot either, since half a file is often valid TOML (with the
// settings of the other half at their defaults: the agent off). A file
// still open for writing after MaxWriting (a writer that holds it open, a
// hard link, which has no close) is reported anyway, and again once it is
// closed. Where the platform has no close event, the quiet period is all
// there is.
//
// Files starting with "." or ending in ".tmp" or "~" are ignored. onChange
// runs on Run's goroutine; events arriving meanwhile are queued for the
// next call. Changes still pending when ctx is done are dropped. Run also
// returns nil once Close has been called. Watch errors (including a kernel
// queue overflow, after which events may be lost) are returned unless ctx
// is already done.
//
// Run must not be called concurrently with itself.
func (w *Watcher) Run(ctx context.Context, onChange func(names []string)) error {
	// Created stopped: it is only armed by a relevant event. With Go 1.23+
	// timers, Reset needs no drain and a stopped timer never fires stale.
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()

	pending := map[string]struct{}{}
	writing := map[string]time.Time{} // name → since when a writer has it open
	for {
		select {
		case <-ctx.Done():
			return nil

		case ev, ok := <-w.events:
			if !ok { // Close was called.
				return nil
			}
			if !relevant(ev.name) {
				continue
			}
			switch ev.op {
			case opChanged:
				delete(writing, ev.name) // the name is another file now
			case opWriting:
				if _, ok := writing[ev.name]; !ok {
					writing[ev.name] = time.Now()
				}
			case opClosed:
				if _, ok := writing[ev.name]; !ok {
					continue // opened for writing, closed, nothing written
				}
				delete(writing, ev.name)
			}
			pending[ev.name] = struct{}{}
			quiet.Reset(w.debounce)

		case err, ok := <-w.errs:
			if !ok {
				return nil
			}
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, errOverflow) {
				return fmt.Errorf("watch %s: events lost, reload everything: %w", w.dir, err)
			}
			return fmt.Errorf("watch %s: %w", w.dir, err)

		case <-quiet.C:
			now := time.Now()
			var names []string
			var next time.Duration // until the first writer's wait is over
			for name := range pending {
				if since, ok := writing[name]; ok {
					if wait := w.maxWriting - now.Sub(since); wait > 0 {
						if next == 0 || wait < next {
							next = wait
						}
						continue // not settled: the writer is still at work
					}
					writing[name] = now // reported now, and again at its close
				}
				names = append(names, name)
				delete(pending, name)
			}
			if next > 0 {
				quiet.Reset(next)
			}
			if len(names) == 0 {
				continue
			}
			slices.Sort(names)
			onChange(names)
		}
	}
}

// relevant reports whether name is a config file.
func relevant(name string) bool {
	name = filepath.Base(name)
	// Dotfiles cover our own Save temp files and editor swap files. Requiring
	// the ".toml" suffix also rules out "*.tmp" temp files and "*~" backups.
	return !strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".toml")
}

// Close stops watching; safe to call twice and after Run returned. A Run in
// progress returns nil.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		if err := w.close(); err != nil {
			w.closeErr = fmt.Errorf("watch %s: close: %w", w.dir, err)
		}
	})
	return w.closeErr
}
