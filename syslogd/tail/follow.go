// Package tail reads the files of the log directory line by line: it
// follows globs, picks up new files, and knows each file by its identity
// (device, inode, fingerprint), not its path. It follows rotation by
// rename and by copytruncate, even several rotations while delivery is
// blocked or the agent is stopped (finding generations under their new
// names, in logrotate's copies and in .gz files), resumes each file where
// its lines were last delivered with their numbering, says which lines
// were really lost, and keeps the open descriptors within a budget.
package tail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	// FollowSymlinks allows a glob's symbolic links to lead out of the
	// directory they are in; by default such a link is skipped (a link to
	// a secret in the log directory must not get it forwarded).
	FollowSymlinks bool
	// MaxOpen bounds the files held open at once by this Follow; 0 shares
	// the process's budget, half its descriptor limit (see budget).
	MaxOpen int
	// OnLoss, if set, is called (from any goroutine) for lines that are
	// really gone: a file deleted or truncated before they were read, with
	// no copy of it left. The loss is logged as a warning too.
	OnLoss func(Loss)
}

// Loss is a part of a file that could not be read.
type Loss struct {
	Path   string
	ID     FileID
	From   int64 // byte offset where the lost part starts
	To     int64 // where it ends, or -1 when not known
	Reason string
}

func (l Loss) String() string {
	to := "its end (size not known)"
	if l.To >= 0 {
		to = fmt.Sprintf("%d", l.To)
	}
	return fmt.Sprintf("%s (inode %d): bytes from %d to %s were not read: %s", l.Path, l.ID.Inode, l.From, to, l.Reason)
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
	// Source names the content the line belongs to (see sourceTag): one
	// generation of the file, the same in its copies and after a restart.
	Source string
	// Seq numbers the records of one Source from 1: lines, and parts of
	// split lines. Re-reading after a restart gives a line the same number.
	Seq uint64
}

// Follow watches cfg.Globs and sends every line not yet delivered to out, in file order,
// starting each known file at its position (pos) and new files at 0, until ctx is done.
// Lines go in slices of up to 512, each from one file; the consumer owns a slice it
// receives. out is unbuffered or bounded by the caller: when it blocks, reading stops
// (backpressure) — the file is still there, nothing is lost. Returns nil on ctx done.
//
// Follow only reads positions; the consumer calls pos.Set after delivery
// and pos.Save when it likes. Follow prunes positions of files gone for
// cfg.ForgetAfter.
func Follow(ctx context.Context, cfg Config, pos *Positions, out chan<- []Line, log *slog.Logger) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if pos == nil {
		pos = newPositions("", log)
	}
	w, err := newDirWatcher(log)
	if err != nil {
		return err
	}
	defer w.close()

	fw := &follower{cfg: cfg, pos: pos, out: out, log: log, reg: newRegistry(), watch: w,
		streams: map[string]*stream{}, done: make(chan string), budget: sharedBudget(),
		since: pos.savedAt(), warned: map[string]bool{}}
	if cfg.MaxOpen > 0 {
		fw.budget = newBudget(cfg.MaxOpen)
	}
	if fw.since.IsZero() {
		// No earlier run: rotated generations older than this one are not
		// ours to send; those modified from now on may be missed ones.
		fw.since = time.Now()
	}
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
	out     chan<- []Line
	log     *slog.Logger
	reg     *registry
	watch   *dirWatcher
	targets []target

	budget *budget
	// since is where the agent's knowledge of the files ends: rotated
	// generations modified after it may hold lines never read.
	since time.Time

	streams map[string]*stream
	done    chan string // a stream's path, when it ended
	wg      sync.WaitGroup

	warnMu sync.Mutex
	warned map[string]bool // skipped symlinks already logged
}

func (fw *follower) run(ctx context.Context) {
	defer fw.wg.Wait()
	// Watch first, then list: a file created in between is seen by both
	// rather than by neither.
	fw.watchDirs()
	fw.scan(ctx)
	// A file rotated away while the agent was stopped, with no new file at
	// its path yet (logrotate's nocreate): its stream reads the unread rest
	// of the rotated generation, then ends.
	for _, path := range fw.pos.paths() {
		if _, ok := fw.streams[path]; !ok && fw.matches(path) {
			if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
				fw.startStream(ctx, path)
			}
		}
	}

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
			for _, s := range fw.streams {
				s.refresh()
			}
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
		if ev.Has(fsnotify.Create) {
			// A new file bears the path (rotation): put it in the chain
			// now, whatever reading is doing.
			s.observe()
		} else if ev.Has(fsnotify.Write) {
			s.grown()
		}
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
			if s, ok := fw.streams[path]; ok {
				s.observe()
				continue
			}
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
	if _, err := fw.stat(path); err != nil {
		return
	}
	fw.startStream(ctx, path)
}

// startStream starts following path.
func (fw *follower) startStream(ctx context.Context, path string) {
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

// stat is os.Stat of a path the globs matched, under the symlink rule: a
// link whose target lies outside the link's own directory is refused
// (errNotRegular) unless FollowSymlinks, and so is anything but a regular
// file.
func (fw *follower) stat(path string) (os.FileInfo, error) {
	target, err := fw.resolve(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, errNotRegular)
	}
	return fi, nil
}

// open opens a path the globs matched, under the same rule as stat.
func (fw *follower) open(path string) (*content, error) {
	target, err := fw.resolve(path)
	if err != nil {
		return nil, err
	}
	return openContent(target)
}

// resolve returns the file path names: itself, or an allowed link's
// target. Unless FollowSymlinks, the file must lie inside the directory
// the path's glob names before its first wildcard (/var/log/vmware for
// /var/log/vmware/*.log, /var/log for /var/log/*/*.log), symbolic links
// resolved on both sides: a link to a file, or to a directory, that leads
// out of the log tree is refused. A link inside it (hostd.log ->
// hostd-2026.log) is followed.
func (fw *follower) resolve(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return "", err
	}
	link := fi.Mode()&os.ModeSymlink != 0
	root, wild := fw.rootOf(path)
	if fw.cfg.FollowSymlinks || (!link && !wild) {
		// A plain name in a directory without wildcards: the file is in
		// the configured directory, whatever links lead to it.
		if link {
			return filepath.EvalSymlinks(path)
		}
		return path, nil
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err == nil && strings.HasPrefix(target, strings.TrimSuffix(realRoot, "/")+"/") {
		return target, nil
	}
	fw.warnMu.Lock()
	first := !fw.warned[path]
	fw.warned[path] = true
	fw.warnMu.Unlock()
	if first {
		fw.log.Warn("symbolic link in the log directory leads outside it; not followed (set follow_symlinks to allow it)",
			"path", path, "target", target, "directory", root)
	}
	return "", fmt.Errorf("%s: leads to %s, outside %s: %w", path, target, root, errNotRegular)
}

// rootOf returns the directory path's glob names before its first
// wildcard, and whether that glob has wildcards in its directory part.
func (fw *follower) rootOf(path string) (root string, wild bool) {
	for _, t := range fw.targets {
		if t.matches(path) {
			return t.root(), hasMeta(t.dir)
		}
	}
	return filepath.Dir(path), false
}

// lost reports lines that are really gone.
func (fw *follower) lost(l Loss) {
	fw.log.Warn("log lines lost", "path", l.Path, "inode", l.ID.Inode, "from", l.From, "to", l.To, "reason", l.Reason)
	if fw.cfg.OnLoss != nil {
		fw.cfg.OnLoss(l)
	}
}
