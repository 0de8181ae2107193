// Package tail reads the files of the log directory line by line: it follows globs, picks up new files, follows rotation by rename and by copytruncate, and resumes each file where its lines were last delivered.
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxLine     = 8192
	DefaultPoll        = time.Second
	DefaultForgetAfter = 24 * time.Hour
)

// Config says which files to follow.
type Config struct {
	Globs []string // e.g. ["/var/log/vmware/*.log"]; wildcards in directories are allowed
	// MaxLine is the longest line sent whole, in bytes of the file; longer
	// lines are split into parts (see Line.Part and ContinuedMarker).
	// Default 8192. Escaping may make a part's Text up to 4 times longer.
	MaxLine int
	// Poll is the re-check interval beside fsnotify (missed events, NFS),
	// and how long a rotated or deleted file must stay unchanged before it
	// is considered finished. Default 1s.
	Poll time.Duration
	// ForgetAfter is how long a file may be gone before its position is
	// pruned. Default 24h.
	ForgetAfter time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Globs) == 0 {
		return c, errors.New("tail: no globs to follow")
	}
	for _, g := range c.Globs {
		if _, err := filepath.Match(g, ""); err != nil {
			return c, fmt.Errorf("tail: glob %q: %w", g, err)
		}
	}
	if c.MaxLine <= 0 {
		c.MaxLine = DefaultMaxLine
	}
	// Below a few bytes a part could not hold one UTF-8 character.
	c.MaxLine = max(c.MaxLine, 16)
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.ForgetAfter <= 0 {
		c.ForgetAfter = DefaultForgetAfter
	}
	return c, nil
}

// Line is one line of a file, or one part of a line longer than MaxLine.
type Line struct {
	// Path is the name the file had when it was opened: lines written to
	// app.log before a rotation keep Path app.log after it is renamed.
	Path string
	ID   FileID
	// Offset is just past this line (or part) in the file: the checkpoint
	// to give Positions.Set once the line is delivered.
	Offset int64
	// Text is the line without its newline (and without the CR of a CRLF),
	// escaped: invalid UTF-8 bytes as \xNN, control characters other than
	// TAB as #ooo (octal); nothing is dropped.
	Text string
	// Part is 0 for a whole line, and 1, 2, ... for the parts of a line
	// longer than MaxLine; every part but the last ends in ContinuedMarker.
	// After a restart in the middle of a split line, its rest arrives as a
	// new line.
	Part int
}

// Follow watches cfg.Globs and sends every line not yet delivered to out, in file order,
// starting each known file at its position (pos) and new files at 0, until ctx is done.
// out is unbuffered or bounded by the caller: when it blocks, reading stops (backpressure)
// — the file is still there, nothing is lost. Returns nil on ctx done.
//
// Follow only reads positions; the consumer calls pos.Set after delivery
// and pos.Save when it likes. Follow prunes positions of files gone for
// cfg.ForgetAfter.
func Follow(ctx context.Context, cfg Config, pos *Positions, out chan<- Line, log *slog.Logger) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if pos == nil {
		pos = &Positions{log: log, entries: map[inodeKey]*position{}}
	}
	w, err := newDirWatcher(log)
	if err != nil {
		return err
	}
	defer w.close()

	fw := &follower{cfg: cfg, pos: pos, out: out, log: log, reg: newRegistry(), watch: w,
		streams: map[string]*stream{}, done: make(chan string)}
	for _, g := range cfg.Globs {
		fw.targets = append(fw.targets, newTarget(g))
	}
	fw.run(ctx)
	return nil
}

// follower is one Follow: the owner of the watcher and of the streams, one
// per path. Only its goroutine touches streams.
type follower struct {
	cfg     Config
	pos     *Positions
	out     chan<- Line
	log     *slog.Logger
	reg     *registry
	watch   *dirWatcher
	targets []target

	streams map[string]*stream
	done    chan string // a stream's path, when it ended
	wg      sync.WaitGroup
}

func (fw *follower) run(ctx context.Context) {
	defer fw.wg.Wait()
	// Watch first, then list: a file created in between is seen by both
	// rather than by neither.
	fw.watchDirs()
	fw.scan(ctx)

	tick := time.NewTicker(fw.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-fw.watch.events():
			fw.handle(ctx, ev)
		case err := <-fw.watch.errors():
			// An overflow means events were lost: look at everything again.
			fw.log.Warn("file watcher error; rescanning", "err", err)
			fw.scan(ctx)
		case <-tick.C:
			fw.watchDirs()
			fw.scan(ctx)
			if n := fw.pos.Prune(fw.cfg.ForgetAfter); n > 0 {
				fw.log.Info("forgot positions of log files gone for a while", "files", n, "after", fw.cfg.ForgetAfter)
			}
			fw.reg.prune(fw.cfg.ForgetAfter)
		case path := <-fw.done:
			delete(fw.streams, path)
			// It may have ended just as a new file took its name.
			fw.startIfFile(ctx, path)
		}
	}
}

func (fw *follower) handle(ctx context.Context, ev fsnotify.Event) {
	if s, ok := fw.streams[ev.Name]; ok {
		s.poke()
		return
	}
	if ev.Has(fsnotify.Create) {
		// Maybe a directory that a glob's directory pattern matches.
		fw.watchDirs()
	}
	if fw.matches(ev.Name) && (ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write)) {
		fw.startIfFile(ctx, ev.Name)
	}
}

func (fw *follower) matches(path string) bool {
	for _, t := range fw.targets {
		if t.matches(path) {
			return true
		}
	}
	return false
}

// scan starts a stream for every matching file that has none. It is the
// safety net under fsnotify: whatever an event missed, a scan finds.
func (fw *follower) scan(ctx context.Context) {
	for _, t := range fw.targets {
		for _, path := range t.files() {
			fw.startIfFile(ctx, path)
		}
	}
}

func (fw *follower) watchDirs() {
	for _, t := range fw.targets {
		for _, dir := range t.dirs() {
			fw.watch.ensure(dir)
		}
	}
}

func (fw *follower) startIfFile(ctx context.Context, path string) {
	if _, ok := fw.streams[path]; ok || ctx.Err() != nil || !fw.matches(path) {
		return
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	s := newStream(path, fw)
	fw.streams[path] = s
	fw.wg.Go(func() {
		s.run(ctx)
		select {
		case fw.done <- path:
		case <-ctx.Done():
		}
	})
}
