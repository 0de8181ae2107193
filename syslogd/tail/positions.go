package tail

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"hostagent/internal/configstore"
)

// Positions remembers, per file, the offset just past the last line that
// was delivered everywhere. Only the consumer moves it (Set, after
// delivery), so a crash repeats at most the undelivered lines and never
// skips one. Files are keyed by device and inode; the fingerprint tells
// whether the file on that inode is still the one the offset belongs to.
type Positions struct {
	path string
	log  *slog.Logger

	// now is the clock of the entries' seen times and of Prune: time.Now,
	// or a test's, which ages entries without waiting.
	now func() time.Time

	mu      sync.Mutex
	entries map[inodeKey]*position
	// pruned is the cutoff of the last Prune: tests wait on it.
	pruned time.Time
	// loadedSavedAt is when the positions file was last written before this
	// process loaded it: a rotated generation modified since then may bear
	// lines the previous run never read (see stream.restore).
	loadedSavedAt time.Time

	// saveMu orders Saves so an older snapshot can never be renamed over
	// a newer one.
	saveMu sync.Mutex
}

type position struct {
	id     FileID
	path   string
	offset int64
	seq    uint64 // records (lines and parts) up to offset: the last one's Seq
	// seen is when Follow last found this file; not persisted, so the
	// grace period counts from when this process started looking.
	seen time.Time
}

// positionsFile is the TOML layout of the positions file.
type positionsFile struct {
	SavedAt time.Time        `toml:"saved_at"`
	Files   []positionRecord `toml:"file"`
}

type positionRecord struct {
	Path           string `toml:"path"`
	Device         uint64 `toml:"device"`
	Inode          uint64 `toml:"inode"`
	Fingerprint    string `toml:"fingerprint"`
	FingerprintLen int    `toml:"fingerprint_len"`
	Offset         int64  `toml:"offset"`
	Seq            uint64 `toml:"seq"`
}

const positionsHeader = `hostagent log file positions: where the delivered lines of each file end.
Written by the agent. Deleting it makes every file be read again from its
start (lines repeat, none are lost).`

// newPositions is an empty set, saved to path (none: never saved).
func newPositions(path string, log *slog.Logger) *Positions {
	return &Positions{path: path, log: log, now: time.Now, entries: map[inodeKey]*position{}}
}

// LoadPositions reads the positions file at path (a missing file is an
// empty set). A corrupt file is logged, renamed to path+".corrupt" and
// replaced by an empty set: reading every file from 0 repeats lines but
// loses none, whereas refusing to start would lose everything logged until
// someone intervenes. Only an I/O error (e.g. permission denied) is returned.
func LoadPositions(path string, log *slog.Logger) (*Positions, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := newPositions(path, log)

	var pf positionsFile
	_, err := configstore.Load(path, &pf)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return nil, fmt.Errorf("positions: %w", err)
	}
	if err == nil {
		err = pf.validate()
	}
	if err != nil {
		aside := path + ".corrupt"
		log.Warn("positions file is corrupt; set aside, files are read again from their start",
			"path", path, "moved_to", aside, "err", err)
		if rerr := os.Rename(path, aside); rerr != nil {
			log.Warn("could not set corrupt positions file aside; the next save overwrites it",
				"path", path, "err", rerr)
		}
		return p, nil
	}

	now := p.now()
	p.loadedSavedAt = pf.SavedAt
	for _, r := range pf.Files {
		id := FileID{Device: r.Device, Inode: r.Inode, Fingerprint: r.Fingerprint, FingerprintLen: r.FingerprintLen}
		p.entries[id.key()] = &position{id: id, path: r.Path, offset: r.Offset, seq: r.Seq, seen: now}
	}
	return p, nil
}

func (pf *positionsFile) validate() error {
	for i, r := range pf.Files {
		switch {
		case r.Offset < 0:
			return fmt.Errorf("file %d (%s): negative offset %d", i+1, r.Path, r.Offset)
		case r.FingerprintLen < 0 || r.FingerprintLen > fingerprintSize:
			return fmt.Errorf("file %d (%s): fingerprint_len %d outside 0..%d", i+1, r.Path, r.FingerprintLen, fingerprintSize)
		case len(r.Fingerprint) != 64 || strings.Trim(r.Fingerprint, "0123456789abcdef") != "":
			return fmt.Errorf("file %d (%s): fingerprint is not a hex SHA-256", i+1, r.Path)
		}
	}
	return nil
}

// Get returns the delivered offset, and the Seq of the last delivered
// record, recorded for exactly this identity (as carried by Line.ID).
func (p *Positions) Get(id FileID) (offset int64, seq uint64, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.entries[id.key()]
	if !ok || e.id != id {
		return 0, 0, false
	}
	return e.offset, e.seq, true
}

// Set records that the lines of the file id up to offset were delivered,
// seq being the Seq of the last of them: a restart numbers the next line
// seq+1, so a line keeps its number however often it is sent.
// For the same file it only ever moves forward, so late or repeated calls
// are harmless. A different file on the same inode (its fingerprint differs
// and it is not the same file grown) replaces the entry.
//
// Lines of one file carry fingerprints that only grow in length as the
// offsets grow, which is how a grown fingerprint is told from a new file:
//   - same fingerprint: forward only;
//   - longer fingerprint and offset not behind: the same file, grown;
//   - shorter fingerprint and offset not ahead: a stale call, ignored;
//   - anything else: another file (or the file truncated and rewritten),
//     whose lines restarted from 0: replace.
//
// One case is ambiguous and resolved towards tolerating late calls: after a
// copytruncate, the new content's first lines carry a shorter fingerprint
// and smaller offsets, which looks stale, so the entry keeps the old file's
// until the new content's lines carry a different or longer fingerprint. A
// restart in that window finds the old fingerprint no longer matching and
// reads the file from 0: under 256 bytes of lines repeat, none are lost.
func (p *Positions) Set(id FileID, path string, offset int64, seq uint64) {
	if offset < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	e, ok := p.entries[id.key()]
	if !ok {
		p.entries[id.key()] = &position{id: id, path: path, offset: offset, seq: seq, seen: now}
		return
	}
	e.seen = now
	switch {
	case e.id == id:
		if offset > e.offset || (offset == e.offset && seq > e.seq) {
			e.offset, e.seq, e.path = offset, seq, path
		}
	case id.FingerprintLen > e.id.FingerprintLen && offset >= e.offset:
		e.id, e.offset, e.seq, e.path = id, offset, seq, path
	case id.FingerprintLen < e.id.FingerprintLen && offset <= e.offset:
		// Stale: this file was already recorded further, with a longer head.
	default:
		e.id, e.offset, e.seq, e.path = id, offset, seq, path
	}
}

// discover records a file that bore a followed path, at offset 0 unless
// it is known: saved with the next Save, it tells a restart that this
// generation existed and was not read yet, even if it has been rotated
// away since.
func (p *Positions) discover(id FileID, path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.entries[id.key()]; !ok {
		p.entries[id.key()] = &position{id: id, path: path, seen: p.now()}
	}
}

// grow lets the fingerprint of the file on inode k follow its growth
// (head being its first bytes now) before any of its lines is delivered:
// a generation waiting to be read must be recognisable, in its .gz, by a
// restart, even though it was empty when it was discovered.
func (p *Positions) grow(k inodeKey, head []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.entries[k]; ok && len(head) > e.id.FingerprintLen && e.id.matches(head) {
		e.id = newFileID(k, head)
	}
}

// minContentMatch is the shortest fingerprint trusted to find a file's
// content under another inode (a copy, a .gz): a few bytes could be the
// start of many files; 32 usually hold a timestamp and a host name.
const minContentMatch = 32

// content finds a recorded file whose content starts with head: the file
// logrotate copied (copytruncate) or compressed. Of several, the one read
// furthest.
func (p *Positions) content(head []byte) (id FileID, offset int64, seq uint64, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.entries {
		if e.id.FingerprintLen >= minContentMatch && e.id.matches(head) && (!ok || e.offset > offset) {
			id, offset, seq, ok = e.id, e.offset, e.seq, true
		}
	}
	return id, offset, seq, ok
}

// paths lists the paths of the recorded files, each once.
func (p *Positions) paths() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, e := range p.entries {
		if !seen[e.path] {
			seen[e.path] = true
			out = append(out, e.path)
		}
	}
	return out
}

// Behind is how many bytes of the files the globs match lie past their
// recorded offsets: what is not delivered yet of each file still under
// the path it was recorded with, up to its end (a last line not ended
// yet included). A generation rotated away is not counted (its path names
// another file now), nor a file no glob matches any more. It costs a stat
// per recorded file, taken outside the lock.
func (p *Positions) Behind(globs []string) int64 {
	type entry struct {
		key    inodeKey
		path   string
		offset int64
	}
	p.mu.Lock()
	entries := make([]entry, 0, len(p.entries))
	for k, e := range p.entries {
		entries = append(entries, entry{key: k, path: e.path, offset: e.offset})
	}
	p.mu.Unlock()
	var behind int64
	for _, e := range entries {
		if !slices.ContainsFunc(globs, func(g string) bool { ok, _ := filepath.Match(g, e.path); return ok }) {
			continue
		}
		fi, err := os.Stat(e.path)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if k, ok := statKey(fi); ok && k == e.key && fi.Size() > e.offset {
			behind += fi.Size() - e.offset
		}
	}
	return behind
}

// savedAt is when the positions file was written before it was loaded;
// zero when there was none.
func (p *Positions) savedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loadedSavedAt
}

// resume returns where to start reading the file on inode k whose first
// bytes are head and whose size is size, if a position for it is known and
// the file is still the one it was recorded for.
func (p *Positions) resume(k inodeKey, head []byte, size int64) (int64, uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.entries[k]
	if !ok {
		return 0, 0, false
	}
	e.seen = p.now()
	if !e.id.matches(head) {
		return 0, 0, false // another file on a reused inode, or rewritten
	}
	if size >= 0 && e.offset > size {
		return 0, 0, false // truncated while we were not looking
	}
	return e.offset, e.seq, true
}

// touch notes that the file on inode k still exists, so Prune keeps it.
func (p *Positions) touch(k inodeKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.entries[k]; ok {
		e.seen = p.now()
	}
}

// Prune forgets the files not seen for longer than grace (deleted, or
// rotated out of the globs) and returns how many it forgot. A grace period,
// rather than forgetting at once, covers a file that is briefly missing
// while it is being rotated.
func (p *Positions) Prune(grace time.Duration) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	cutoff := p.now().Add(-grace)
	p.pruned = cutoff
	n := 0
	for k, e := range p.entries {
		if e.seen.Before(cutoff) {
			delete(p.entries, k)
			n++
		}
	}
	return n
}

// Save writes the positions atomically (temp file, fsync, rename).
func (p *Positions) Save() error {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()

	p.mu.Lock()
	pf := positionsFile{SavedAt: time.Now().UTC().Truncate(time.Millisecond), Files: make([]positionRecord, 0, len(p.entries))}
	for _, e := range p.entries {
		pf.Files = append(pf.Files, positionRecord{
			Path: e.path, Device: e.id.Device, Inode: e.id.Inode,
			Fingerprint: e.id.Fingerprint, FingerprintLen: e.id.FingerprintLen, Offset: e.offset, Seq: e.seq,
		})
	}
	p.mu.Unlock()

	// Sorted so the file diffs cleanly and reads well by hand.
	slices.SortFunc(pf.Files, func(a, b positionRecord) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.Inode, b.Inode)
	})
	if err := configstore.Save(p.path, &pf, 0o600, positionsHeader); err != nil {
		return fmt.Errorf("save positions: %w", err)
	}
	return nil
}
