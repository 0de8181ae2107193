package tail

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// Rotation by the real logrotate, while reading is blocked (the consumer
// takes nothing: the collector is down) or while no Follow runs (the agent
// is stopped). Every line must arrive once, in order, numbered.

// rotationCases are logrotate's ways of rotating, each run several times.
var rotationCases = []struct {
	name string
	opts peertest.LogrotateOptions
	runs int
}{
	{"create, compress, delaycompress, 2 rotations", peertest.LogrotateOptions{Compress: true, DelayCompress: true, Rotate: 5}, 2},
	{"create, compress, delaycompress, 3 rotations", peertest.LogrotateOptions{Compress: true, DelayCompress: true, Rotate: 5}, 3},
	{"create, compress at once, 2 rotations", peertest.LogrotateOptions{Compress: true, Rotate: 5}, 2},
	{"create, no compress, rotate 1, 3 rotations", peertest.LogrotateOptions{Rotate: 1}, 3},
	{"copytruncate, 2 rotations", peertest.LogrotateOptions{CopyTruncate: true, Rotate: 5}, 2},
	{"copytruncate, compress, delaycompress, 2 rotations", peertest.LogrotateOptions{CopyTruncate: true, Compress: true, DelayCompress: true, Rotate: 5}, 2},
	{"copytruncate, compress at once, 1 rotation", peertest.LogrotateOptions{CopyTruncate: true, Compress: true, Rotate: 5}, 1},
}

// checkLines wants "line 0" .. "line n-1" exactly once each, in order,
// and each source numbered from 1 without a gap.
func checkLines(t *testing.T, got []Line, from, n int) {
	t.Helper()
	if len(got) != n-from {
		t.Fatalf("got %d lines, want %d", len(got), n-from)
	}
	for i, l := range got {
		if want := fmt.Sprintf("line %d", from+i); l.Text != want {
			t.Fatalf("line %d: got %q, want %q (seq %d of %s)", i, l.Text, want, l.Seq, l.Source)
		}
	}
	checkSeqs(t, got, nil)
}

// checkSeqs wants each source's Seq to go up by one from line to line,
// from 1 or from where prev says that source stopped.
func checkSeqs(t *testing.T, got []Line, prev map[string]uint64) {
	t.Helper()
	last := map[string]uint64{}
	for k, v := range prev {
		last[k] = v
	}
	for _, l := range got {
		if l.Source == "" {
			t.Fatalf("%q has no source", l.Text)
		}
		if l.Seq != last[l.Source]+1 {
			t.Fatalf("%q: seq %d of %s after %d", l.Text, l.Seq, l.Source, last[l.Source])
		}
		last[l.Source] = l.Seq
	}
}

func TestRotationsWhileReadingIsBlocked(t *testing.T) {
	for _, c := range rotationCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			lr := peertest.NewLogrotate(t, c.opts, path)
			const per = 3000 // lines per generation: more than one 64 KiB read
			appendFile(t, path, numbered("line", 0, per))
			f := startFollow(t, testConfig(dir), nil)
			got := f.next(1, 5*time.Second) // reading started; it now waits on the consumer
			n := per
			for range c.runs {
				lr.Run(t)
				appendFile(t, path, numbered("line", n, n+per))
				n += per
			}
			got = append(got, f.next(n-1, 20*time.Second)...)
			checkLines(t, got, 0, n)
			f.none(3 * testPoll)
		})
	}
}

func TestRotationsWhileStopped(t *testing.T) {
	for _, c := range rotationCases {
		if c.opts.Rotate < c.runs {
			continue // logrotate deletes generations nobody holds open: really lost
		}
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			posFile := filepath.Join(t.TempDir(), "positions.toml")
			lr := peertest.NewLogrotate(t, c.opts, path)
			appendFile(t, path, numbered("line", 0, 1000))

			pos, err := LoadPositions(posFile, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			f := startFollow(t, testConfig(dir), pos)
			got := f.next(1000, 5*time.Second)
			for _, l := range got[:600] { // delivered; the rest was in flight
				pos.Set(l.ID, l.Path, l.Offset, l.Seq)
			}
			if err := pos.Save(); err != nil {
				t.Fatal(err)
			}
			f.stop()
			delivered := map[string]uint64{got[599].Source: got[599].Seq}

			n := 1000
			for range c.runs {
				appendFile(t, path, numbered("line", n, n+1000))
				n += 1000
				lr.Run(t)
			}
			appendFile(t, path, numbered("line", n, n+1000))
			n += 1000

			pos, err = LoadPositions(posFile, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			f = startFollow(t, testConfig(dir), pos)
			again := f.next(n-600, 10*time.Second)
			for i, l := range again {
				if want := fmt.Sprintf("line %d", 600+i); l.Text != want {
					t.Fatalf("after the restart, line %d: got %q, want %q", i, l.Text, want)
				}
			}
			// Lines 600.. of the first generation keep the numbers they had.
			for i, l := range again[:400] {
				if old := got[600+i]; l.Source != old.Source || l.Seq != old.Seq {
					t.Fatalf("%q: numbered %s/%d, first sent as %s/%d", l.Text, l.Source, l.Seq, old.Source, old.Seq)
				}
			}
			checkSeqs(t, again, delivered)
			f.none(3 * testPoll)
		})
	}
}

// TestTruncationWithoutCopyIsReported: the file is cut while reading is
// blocked and no copy is kept: what was not read is reported lost, and
// the new content is read from its start.
func TestTruncationWithoutCopyIsReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	const old = 20_000 // more than one read holds
	appendFile(t, path, numbered("line", 0, old))
	var mu sync.Mutex
	var losses []Loss
	cfg := testConfig(dir)
	cfg.OnLoss = func(l Loss) {
		mu.Lock()
		losses = append(losses, l)
		mu.Unlock()
	}
	f := startFollow(t, cfg, nil)
	first := f.next(1, 5*time.Second)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, numbered("new", 0, 10))
	var got []Line
	for len(got) == 0 || got[len(got)-1].Text != "new 9" {
		got = append(got, f.next(1, 10*time.Second)...)
	}
	mu.Lock()
	defer mu.Unlock()
	size := int64(len(numbered("line", 0, old)))
	if len(losses) != 1 || losses[0].Path != path || losses[0].From <= first[0].Offset || losses[0].To != size {
		t.Fatalf("losses %+v; want one of %s, up to %d", losses, path, size)
	}
	if n := len(got) - 10; int64(n) >= old {
		t.Fatalf("%d old lines arrived, some should have been lost", n)
	}
	if tail := got[len(got)-10:]; tail[0].Text != "new 0" || tail[0].Seq != 1 {
		t.Fatalf("new content: %+v", tail[0])
	}
}

func TestSymlinksLeavingTheDirectoryAreSkipped(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	secret := filepath.Join(elsewhere, "shadow")
	appendFile(t, secret, "root:secret\n")
	appendFile(t, filepath.Join(dir, "real.txt"), "inside\n")
	if err := os.Symlink(secret, filepath.Join(dir, "secret.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.txt", filepath.Join(dir, "inside.log")); err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, testConfig(dir), nil)
	wantTexts(t, f.next(1, 5*time.Second), "inside")
	f.none(5 * testPoll)
	f.stop()

	cfg := testConfig(dir)
	cfg.FollowSymlinks = true
	f = startFollow(t, cfg, nil)
	got := f.next(2, 5*time.Second)
	if texts := texts(got); !(texts[0] == "root:secret" || texts[1] == "root:secret") {
		t.Fatalf("with FollowSymlinks: %q", texts)
	}
}

// TestDescriptorBudget: more files than descriptors allowed; every line of
// every file arrives, and no more files are open at once than allowed.
func TestDescriptorBudget(t *testing.T) {
	dir := t.TempDir()
	const files, lines, maxOpen = 60, 200, 4
	for i := range files {
		appendFile(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), numbered(fmt.Sprintf("f%02d", i), 0, lines))
	}
	cfg := testConfig(dir)
	cfg.MaxOpen = maxOpen
	f := startFollow(t, cfg, nil)
	seen := map[string]int{}
	peak := 0
	for i := 0; i < files*lines; i++ {
		l := f.next(1, 10*time.Second)[0]
		seen[l.Text]++
		if i%1000 == 0 {
			// Reading waits on this consumer meanwhile. A listing of
			// /proc/self/fd is not atomic and may count a descriptor closed
			// and another opened during it: the least count, once two
			// listings in a row agree.
			n, last := openFDsIn(t, dir), -1
			peertest.Until(time.Second, func() bool {
				c := openFDsIn(t, dir)
				n = min(n, c)
				stable := c == last
				last = c
				return stable
			})
			peak = max(peak, n)
		}
		if i == files*lines/2 { // and they grow meanwhile
			for j := range files {
				appendFile(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", j)), numbered(fmt.Sprintf("f%02d", j), lines, lines+1))
			}
		}
	}
	for range files {
		seen[f.next(1, 10*time.Second)[0].Text]++
	}
	for i := range files {
		for j := range lines + 1 {
			if n := seen[fmt.Sprintf("f%02d %d", i, j)]; n != 1 {
				t.Fatalf("f%02d %d arrived %d times", i, j, n)
			}
		}
	}
	if peak > maxOpen {
		t.Fatalf("%d files open at once, the budget is %d", peak, maxOpen)
	}
}

func TestRotationNames(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"app.log.1", true}, {"app.log.2.gz", true}, {"app.log-20261202", true}, {"app.log-20261202.gz", true},
		{"app.1.log", true}, {"app-20261202.log", true}, {"app.log_old", true},
		{"app.log", false}, {"apple.log", false}, {"app.logs", false}, {"app-x.log", false}, {"other.log.1", false},
	} {
		if got := isRotationName("app.log", c.name); got != c.want {
			t.Errorf("isRotationName(app.log, %s) = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestStoppedWhileBehindAcrossRotations: reading is behind (the collector
// is slow) while logrotate compresses a generation nobody has read a line
// of yet, positions are saved meanwhile, and the agent is killed. The
// restart finds that generation in its .gz by the identity saved for it.
func TestStoppedWhileBehindAcrossRotations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	posFile := filepath.Join(t.TempDir(), "positions.toml")
	lr := peertest.NewLogrotate(t, peertest.LogrotateOptions{Compress: true, Rotate: 5}, path)
	appendFile(t, path, numbered("line", 0, 1000))
	pos, err := LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, testConfig(dir), pos)
	got := f.next(100, 5*time.Second)

	// Both generations were written a while before the positions are saved:
	// their modification times alone do not make a restart read them.
	setMtime(t, path, time.Now().Add(-2*time.Minute))
	lr.Run(t) // app.log.1.gz; a new, empty app.log joins the queue
	appendFile(t, path, numbered("line", 1000, 2000))
	setMtime(t, path, time.Now().Add(-time.Minute))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := fileKey(fi)
	// Wait until the saved identity of the new file has followed its growth.
	peertest.Eventually(t, 5*time.Second, "the waiting generation's identity to grow", func() bool {
		pos.mu.Lock()
		defer pos.mu.Unlock()
		e, ok := pos.entries[second]
		return ok && e.id.FingerprintLen == fingerprintSize
	})
	got = append(got, f.next(300, 5*time.Second)...)
	for _, l := range got {
		pos.Set(l.ID, l.Path, l.Offset, l.Seq)
	}
	if err := pos.Save(); err != nil {
		t.Fatal(err)
	}
	lr.Run(t) // the second generation, never read, is compressed and deleted
	appendFile(t, path, numbered("line", 2000, 3000))
	f.stop()

	pos, err = LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f = startFollow(t, testConfig(dir), pos)
	again := f.next(2600, 10*time.Second)
	for i, l := range again {
		if want := fmt.Sprintf("line %d", 400+i); l.Text != want {
			t.Fatalf("after the restart, line %d: got %q, want %q", i, l.Text, want)
		}
	}
	checkSeqs(t, again, map[string]uint64{got[399].Source: got[399].Seq})
	f.none(3 * testPoll)
}

func setMtime(t *testing.T, path string, when time.Time) {
	t.Helper()
	if err := os.Chtimes(path, when, when); err != nil {
		t.Fatal(err)
	}
}

// TestCopytruncateWhileCaughtUp: logrotate copies and truncates a file
// that was read to its end, several times: the copies, older ones too,
// are known as read, and nothing is sent twice.
func TestCopytruncateWhileCaughtUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	lr := peertest.NewLogrotate(t, peertest.LogrotateOptions{CopyTruncate: true, Rotate: 5}, path)
	f := startFollow(t, testConfig(dir), nil)
	var got []Line
	for r := range 4 {
		appendFile(t, path, numbered("line", r*1000, (r+1)*1000))
		got = append(got, f.next(1000, 5*time.Second)...)
		lr.Run(t)
	}
	f.none(5 * testPoll)
	checkLines(t, got, 0, 4000)
}

// TestDescriptorBudgetEmptyFiles: files opened empty, closed to spare
// descriptors, then written: each is found again and read from its start.
func TestDescriptorBudgetEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	const files, maxOpen = 40, 3
	for i := range files {
		appendFile(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), "")
	}
	cfg := testConfig(dir)
	cfg.MaxOpen = maxOpen
	pos := newPositions("", nil)
	f := startFollow(t, cfg, pos)
	// Every file opened (its stream discovered it) and all but maxOpen
	// closed again, before they are written.
	peertest.Eventually(t, 5*time.Second, "every stream opened and suspended", func() bool {
		pos.mu.Lock()
		discovered := len(pos.entries)
		pos.mu.Unlock()
		return discovered == files && openFDsIn(t, dir) <= maxOpen
	})
	for i := range files {
		appendFile(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", i)), numbered(fmt.Sprintf("f%02d", i), 0, 5))
	}
	seen := map[string]bool{}
	for _, l := range f.next(files*5, 10*time.Second) {
		seen[l.Text] = true
	}
	if len(seen) != files*5 {
		t.Fatalf("%d distinct lines of %d", len(seen), files*5)
	}
	f.none(3 * testPoll)
}
