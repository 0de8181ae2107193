// Package configwatch watches the configuration directory with fsnotify and
// reports which files changed, so that the daemon applies hand edits live.
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

	"github.com/fsnotify/fsnotify"
)

// Watcher watches one directory (not the files: editors replace files by
// rename, which would silently end a watch on the old inode) with fsnotify.
type Watcher struct {
	dir      string
	debounce time.Duration
	fw       *fsnotify.Watcher

	closeOnce sync.Once
	closeErr  error
}

// NewWatcher starts watching dir; changes made after it returns are seen,
// even if Run is called later (the kernel queues them meanwhile).
func NewWatcher(dir string, debounce time.Duration) (*Watcher, error) {
	if debounce <= 0 {
		return nil, fmt.Errorf("watch %s: debounce must be positive, got %v", dir, debounce)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	return &Watcher{dir: dir, debounce: debounce, fw: fw}, nil
}

// Run blocks until ctx is done (returns nil then) and calls onChange with the
// sorted, de-duplicated base names of the *.toml files that were created,
// written, renamed into place or removed, once the directory has been quiet
// for the debounce period, so an editor's save (often truncate, several
// writes, chmod, or write-temp-then-rename) is one call. Files starting with
// "." or ending in ".tmp" or "~" are ignored. onChange runs on Run's
// goroutine; events arriving meanwhile are queued for the next call. Changes
// still pending when ctx is done are dropped. Run also returns nil once Close
// has been called. fsnotify errors (including a kernel queue overflow, after
// which events may be lost) are returned unless ctx is already done.
//
// Run must not be called concurrently with itself.
func (w *Watcher) Run(ctx context.Context, onChange func(names []string)) error {
	// Created stopped: it is only armed by a relevant event. With Go 1.23+
	// timers, Reset needs no drain and a stopped timer never fires stale.
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()

	pending := map[string]struct{}{}
	for {
		select {
		case <-ctx.Done():
			return nil

		case ev, ok := <-w.fw.Events:
			if !ok { // Close was called.
				return nil
			}
			name, ok := relevant(ev)
			if !ok {
				continue
			}
			pending[name] = struct{}{}
			quiet.Reset(w.debounce)

		case err, ok := <-w.fw.Errors:
			if !ok {
				return nil
			}
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				return fmt.Errorf("watch %s: events lost, reload everything: %w", w.dir, err)
			}
			return fmt.Errorf("watch %s: %w", w.dir, err)

		case <-quiet.C:
			names := make([]string, 0, len(pending))
			for name := range pending {
				names = append(names, name)
			}
			slices.Sort(names)
			clear(pending)
			onChange(names)
		}
	}
}

// relevant reports the base name of ev's file if it is a config file whose
// content may have changed. Chmod alone is skipped: it changes no setting.
func relevant(ev fsnotify.Event) (string, bool) {
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) &&
		!ev.Has(fsnotify.Rename) && !ev.Has(fsnotify.Remove) {
		return "", false
	}
	name := filepath.Base(ev.Name)
	// Dotfiles cover our own Save temp files and editor swap files. Requiring
	// the ".toml" suffix also rules out "*.tmp" temp files and "*~" backups.
	if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".toml") {
		return "", false
	}
	return name, true
}

// Close stops watching; safe to call twice and after Run returned. A Run in
// progress returns nil.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		if err := w.fw.Close(); err != nil {
			w.closeErr = fmt.Errorf("watch %s: close: %w", w.dir, err)
		}
	})
	return w.closeErr
}
