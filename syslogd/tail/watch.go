package tail

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// target is one glob: which files it matches, and which directories must
// be watched to hear of them.
type target struct {
	glob string
	dir  string // the glob's directory part, itself possibly a pattern
}

func newTarget(glob string) target {
	glob = filepath.Clean(glob)
	return target{glob: glob, dir: filepath.Dir(glob)}
}

// root is the glob's directory before its first wildcard.
func (t target) root() string {
	root := t.dir
	for hasMeta(root) {
		root = filepath.Dir(root)
	}
	return root
}

func (t target) matches(path string) bool {
	ok, _ := filepath.Match(t.glob, path)
	return ok
}

// files lists the regular files the glob matches now.
func (t target) files() []string {
	paths, _ := filepath.Glob(t.glob) // the pattern was checked in Config
	return paths
}

// dirs lists the existing directories whose entries the glob can match.
func (t target) dirs() []string {
	if !hasMeta(t.dir) {
		return []string{t.dir}
	}
	dirs, _ := filepath.Glob(t.dir)
	return slices.DeleteFunc(dirs, func(d string) bool {
		fi, err := os.Stat(d)
		return err != nil || !fi.IsDir()
	})
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// dirWatcher owns the one fsnotify watcher. It watches directories, not
// files: a directory watch reports writes to the files in it as well as
// creations and renames, survives the files' rotation, and costs one
// inotify watch per directory instead of one per file.
type dirWatcher struct {
	w      *fsnotify.Watcher
	log    *slog.Logger
	failed map[string]bool // directories whose Add failed, so that is logged once
}

func newDirWatcher(log *slog.Logger) (*dirWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("tail: start file watcher: %w", err)
	}
	return &dirWatcher{w: w, log: log, failed: map[string]bool{}}, nil
}

// ensure watches dir unless it already is. A missing directory is retried
// on the next poll; the scan covers its files meanwhile if it appears.
func (d *dirWatcher) ensure(dir string) {
	if slices.Contains(d.w.WatchList(), dir) {
		return
	}
	if err := d.w.Add(dir); err != nil {
		if !d.failed[dir] {
			d.log.Warn("cannot watch log directory; polling it", "dir", dir, "err", err)
			d.failed[dir] = true
		}
		return
	}
	delete(d.failed, dir)
}

func (d *dirWatcher) events() <-chan fsnotify.Event { return d.w.Events }
func (d *dirWatcher) errors() <-chan error          { return d.w.Errors }

func (d *dirWatcher) close() {
	if err := d.w.Close(); err != nil {
		d.log.Debug("closing file watcher", "err", err)
	}
}
