package tail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testID(ino uint64, head string) FileID {
	return newFileID(inodeKey{dev: 1, ino: ino}, []byte(head))
}

func TestPositionsSaveAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "positions.toml")
	p, err := LoadPositions(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := testID(10, "hello\n"), testID(11, strings.Repeat("x", 300)[:256])
	p.Set(a, "/var/log/a.log", 6, 1)
	p.Set(b, "/var/log/b.log", 4096, 1)
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	q, err := LoadPositions(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[FileID]int64{a: 6, b: 4096} {
		if got, _, ok := q.Get(id); !ok || got != want {
			t.Errorf("Get(%v) = %d, %v; want %d", id, got, ok, want)
		}
	}
	if _, _, ok := q.Get(testID(12, "hello\n")); ok {
		t.Error("Get of an unknown inode found a position")
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("positions file mode %v, %v", info.Mode(), err)
	}
}

func TestPositionsMissingFileIsEmpty(t *testing.T) {
	p, err := LoadPositions(filepath.Join(t.TempDir(), "none.toml"), nil)
	if err != nil || len(p.entries) != 0 {
		t.Fatalf("LoadPositions = %v, %v", p, err)
	}
}

func TestPositionsCorruptFileIsSetAside(t *testing.T) {
	for name, content := range map[string]string{
		"syntax":      "[[file]\npath = ",
		"unknown key": "[[file]]\npaht = \"/x\"\n",
		"bad offset":  "[[file]]\npath = \"/x\"\noffset = -1\nfingerprint = \"" + strings.Repeat("0", 64) + "\"\n",
		"bad hash":    "[[file]]\npath = \"/x\"\noffset = 5\nfingerprint = \"zz\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "positions.toml")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := LoadPositions(path, testLogger(t))
			if err != nil || len(p.entries) != 0 {
				t.Fatalf("LoadPositions = %v, %v; want empty, nil", p, err)
			}
			if got, err := os.ReadFile(path + ".corrupt"); err != nil || string(got) != content {
				t.Fatalf("corrupt file not set aside: %q, %v", got, err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("corrupt file still in place: %v", err)
			}
		})
	}
}

func TestPositionsSetMovesForwardOnly(t *testing.T) {
	p, _ := LoadPositions(filepath.Join(t.TempDir(), "p.toml"), nil)
	id := testID(1, strings.Repeat("a", 256))
	p.Set(id, "/a.log", 100, 1)
	p.Set(id, "/a.log", 50, 1) // late or repeated call
	if got, _, _ := p.Get(id); got != 100 {
		t.Fatalf("offset %d after a backward Set, want 100", got)
	}
	p.Set(id, "/a.log", 150, 1)
	if got, _, _ := p.Get(id); got != 150 {
		t.Fatalf("offset %d, want 150", got)
	}
}

func TestPositionsFingerprintGrowsWithShortFile(t *testing.T) {
	p, _ := LoadPositions(filepath.Join(t.TempDir(), "p.toml"), nil)
	short, grown := testID(1, "first\n"), testID(1, "first\nsecond\n")
	p.Set(short, "/a.log", 6, 1)
	p.Set(grown, "/a.log", 13, 1)
	if got, _, ok := p.Get(grown); !ok || got != 13 {
		t.Fatalf("Get(grown) = %d, %v", got, ok)
	}
	p.Set(short, "/a.log", 6, 1) // stale
	if got, _, ok := p.Get(grown); !ok || got != 13 {
		t.Fatalf("stale Set moved the position: %d, %v", got, ok)
	}
	// Resuming checks the recorded fingerprint against the file's start,
	// however much the file has grown since.
	if off, _, ok := p.resume(short.key(), []byte("first\nsecond\nthird\n"), 19); !ok || off != 13 {
		t.Fatalf("resume on the grown file = %d, %v; want 13", off, ok)
	}
}

func TestPositionsOtherFileOnSameInode(t *testing.T) {
	p, _ := LoadPositions(filepath.Join(t.TempDir(), "p.toml"), nil)
	old, reused := testID(7, strings.Repeat("o", 256)), testID(7, strings.Repeat("n", 256))
	p.Set(old, "/a.log", 5000, 1)
	p.Set(reused, "/a.log", 40, 1) // a new file, started from 0
	if got, _, ok := p.Get(reused); !ok || got != 40 {
		t.Fatalf("Get(reused) = %d, %v; want 40", got, ok)
	}
	if _, _, ok := p.Get(old); ok {
		t.Fatal("old identity still answered")
	}
	// On restart a file whose first bytes differ from the recorded ones
	// is read from 0, even with the same device and inode...
	if _, _, ok := p.resume(old.key(), []byte(strings.Repeat("x", 256)), 10000); ok {
		t.Fatal("resume matched a different file on the same inode")
	}
	// ...and so is one that is now shorter than the recorded offset.
	if _, _, ok := p.resume(old.key(), []byte(strings.Repeat("n", 256)), 39); ok {
		t.Fatal("resume past the end of a truncated file")
	}
	// Two short files with equal content differ by inode.
	a, b := testID(100, "x\n"), testID(101, "x\n")
	p.Set(a, "/a.log", 2, 1)
	if _, _, ok := p.Get(b); ok {
		t.Fatal("equal short content confused two files")
	}
}

func TestPositionsPrune(t *testing.T) {
	p, _ := LoadPositions(filepath.Join(t.TempDir(), "p.toml"), nil)
	now := time.Now()
	p.now = func() time.Time { return now }
	gone, here := testID(1, "gone\n"), testID(2, "here\n")
	p.Set(gone, "/gone.log", 5, 1)
	p.Set(here, "/here.log", 5, 1)
	now = now.Add(30 * time.Millisecond)
	p.touch(here.key())
	if n := p.Prune(20 * time.Millisecond); n != 1 {
		t.Fatalf("pruned %d, want 1", n)
	}
	if _, _, ok := p.Get(gone); ok {
		t.Fatal("gone file kept")
	}
	if _, _, ok := p.Get(here); !ok {
		t.Fatal("present file pruned")
	}
}
