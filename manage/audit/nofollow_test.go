package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenRefusesSymlink: a link planted at the log's path, or at its
// path when the log rotates, is refused and never written through; the
// entry still goes to the file already open.
func TestOpenRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(victim, []byte("untouched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	untouched := func() {
		t.Helper()
		data, _ := os.ReadFile(victim)
		fi, _ := os.Stat(victim)
		if string(data) != "untouched\n" || fi.Mode().Perm() != 0o644 {
			t.Errorf("written through the link: %q, mode %v", data, fi.Mode().Perm())
		}
	}
	path := filepath.Join(dir, "audit.log")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, nil); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Open on a link: %v", err)
	}
	untouched()

	// A FIFO planted there is refused too, without blocking the daemon.
	fifo := filepath.Join(dir, "fifo.log")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(fifo, nil); err == nil {
		t.Errorf("Open on a FIFO: no error")
	}

	// Rotation renames the log and opens path again through openFile: a
	// link planted there in between (a racing attacker) is refused the same
	// way, and rotate keeps appending to the renamed file.
	if _, _, err := openFile(path); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("openFile on a link: %v", err)
	}
	untouched()
}
