package tail

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPositionsBehind: the bytes of a followed file past its delivered
// offset, whether read or not; nothing once delivered; a rotated
// generation and a file no glob matches are not counted.
func TestPositionsBehind(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(dir)
	pos := newPositions(filepath.Join(t.TempDir(), "positions.toml"), testLogger(t))
	appendFile(t, path, "one\ntwo\nthree\n")
	f := startFollow(t, cfg, pos)
	lines := f.next(3, 5*time.Second)
	if got := pos.Behind(cfg.Globs); got != 14 {
		t.Errorf("read, not delivered: Behind = %d, want 14", got)
	}
	last := lines[len(lines)-1]
	pos.Set(last.ID, last.Path, last.Offset, last.Seq)
	if got := pos.Behind(cfg.Globs); got != 0 {
		t.Errorf("delivered: Behind = %d, want 0", got)
	}
	appendFile(t, path, "four\n")
	if got := pos.Behind(cfg.Globs); got != 5 {
		t.Errorf("written, maybe not read yet: Behind = %d, want 5", got)
	}
	if got := pos.Behind([]string{filepath.Join(dir, "*.txt")}); got != 0 {
		t.Errorf("a file no glob matches: Behind = %d, want 0", got)
	}
	f.next(1, 5*time.Second)
	f.stop()
	// Rotated away: its path names a new, empty file now.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "")
	if got := pos.Behind(cfg.Globs); got != 0 {
		t.Errorf("a rotated generation: Behind = %d, want 0", got)
	}
}
