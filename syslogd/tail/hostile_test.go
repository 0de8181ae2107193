package tail

// Review tests (issue 8): each reproduces a way the reading or its
// checkpoints lose, repeat or misnumber lines. Written by the reviewer;
// each names, above it, what it shows.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// lossRecorder collects OnLoss reports.
type lossRecorder struct {
	mu     sync.Mutex
	losses []Loss
}

func (r *lossRecorder) add(l Loss) { r.mu.Lock(); r.losses = append(r.losses, l); r.mu.Unlock() }
func (r *lossRecorder) all() []Loss {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Loss(nil), r.losses...)
}

// stopWithDelivered runs a Follow on pos until want lines came, marks the
// first delivered of them delivered, saves and stops.
func stopWithDelivered(t *testing.T, cfg Config, posFile string, want, delivered int) []Line {
	t.Helper()
	pos, err := LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, cfg, pos)
	got := f.next(want, 5*time.Second)
	for _, l := range got[:delivered] {
		pos.Set(l.ID, l.Path, l.Offset, l.Seq)
	}
	if err := pos.Save(); err != nil {
		t.Fatal(err)
	}
	f.stop()
	return got
}

// A CRLF line whose text is exactly MaxLine bytes stays whole: the CR
// belongs to the line end, and does not count against MaxLine.
func TestCRLFLineOfExactlyMaxLineStaysWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(dir)
	cfg.MaxLine = 32
	text := strings.Repeat("a", 32)
	appendFile(t, path, text+"\r\nnext\r\n")
	f := startFollow(t, cfg, nil)
	got := f.next(2, 5*time.Second)
	if got[0].Text != text || got[0].Part != 0 {
		t.Fatalf("first record %q part %d; want the whole line %q, part 0 (second record %q part %d)",
			got[0].Text, got[0].Part, text, got[1].Text, got[1].Part)
	}
}

// Split lines must join back to the line, for lines around the 64 KiB read
// size, multibyte UTF-8 at any cut, CRLF ends, and writes in odd chunks.
func TestLongLinesJoinBack(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(dir)
	cfg.MaxLine = 1000
	rng := rand.New(rand.NewPCG(1, 2))
	runes := []string{"a", "é", "€", "𝄞", "\t"}
	var want []string
	var all bytes.Buffer
	for i := range 40 {
		n := readChunk - 3 + rng.IntN(7) // around a read's size
		if i%3 == 0 {
			n = 1000 - 2 + rng.IntN(5) // around MaxLine
		}
		var b strings.Builder
		for b.Len() < n {
			b.WriteString(runes[rng.IntN(len(runes))])
		}
		want = append(want, strings.ReplaceAll(b.String(), "\t", "\t"))
		all.WriteString(b.String())
		if i%2 == 0 {
			all.WriteString("\r\n")
		} else {
			all.WriteString("\n")
		}
	}
	appendFile(t, path, "")
	f := startFollow(t, cfg, nil)
	data := all.Bytes()
	go func() {
		for len(data) > 0 {
			k := min(len(data), 1+rng.IntN(3*readChunk/2))
			w, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			w.Write(data[:k])
			w.Close()
			data = data[k:]
		}
	}()
	var cur strings.Builder
	for i := 0; i < len(want); {
		l := f.next(1, 10*time.Second)[0]
		if strings.HasSuffix(l.Text, ContinuedMarker) {
			cur.WriteString(strings.TrimSuffix(l.Text, ContinuedMarker))
			continue
		}
		cur.WriteString(l.Text)
		if cur.String() != want[i] {
			t.Fatalf("line %d (%d bytes) joined back to %d bytes; differs", i, len(want[i]), cur.Len())
		}
		cur.Reset()
		i++
	}
}

// A symbolic link to a directory outside, matched by a glob's directory
// pattern (/var/log/*/*.log), must not lead reading out of the log tree.
func TestSymlinkedDirectoryOutsideIsNotFollowed(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	appendFile(t, filepath.Join(elsewhere, "secret.log"), "root:secret\n")
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	appendFile(t, filepath.Join(dir, "app", "a.log"), "inside\n")
	if err := os.Symlink(elsewhere, filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Globs: []string{filepath.Join(dir, "*", "*.log")}, Poll: testPoll}
	f := startFollow(t, cfg, nil)
	wantTexts(t, f.next(1, 5*time.Second), "inside")
	f.none(5 * testPoll)
}

// A truncated .gz (gzip killed, disk full, a crash before its data reached
// the disk) is read as far as it goes, the line it cut is not sent as a
// whole one, and the rest is reported lost.
func TestTruncatedGzipIsReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	posFile := filepath.Join(t.TempDir(), "positions.toml")
	var lost lossRecorder
	cfg := testConfig(dir)
	cfg.OnLoss = lost.add
	var content strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&content, "line %d end\n", i)
	}
	appendFile(t, path, content.String())
	stopWithDelivered(t, cfg, posFile, 100, 100)
	// Stopped: the file is rotated and compressed, but the .gz is cut.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(content.String()))
	zw.Close()
	if err := os.WriteFile(path+".1.gz", gz.Bytes()[:gz.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "new 0 end\n")
	pos, err := LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, cfg, pos)
	var got []Line
	for len(got) == 0 || got[len(got)-1].Text != "new 0 end" {
		got = append(got, f.next(1, 10*time.Second)...)
	}
	for _, l := range got {
		if !strings.HasSuffix(l.Text, " end") {
			t.Errorf("a cut line was sent as a whole one: %q", l.Text)
		}
	}
	if len(lost.all()) == 0 {
		t.Errorf("%d of 20000 lines read from the cut .gz, and no loss reported", len(got)-1+100)
	}
}

// The file was rotated while the agent was stopped and its new file is not
// there yet (logrotate "nocreate"; the writer creates it on its next line):
// the unread rest of the rotated generation is read at start all the same.
func TestRotatedAwayWithoutNewFileWhileStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	posFile := filepath.Join(t.TempDir(), "positions.toml")
	appendFile(t, path, numbered("line", 0, 1000))
	stopWithDelivered(t, testConfig(dir), posFile, 1000, 600)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	pos, err := LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, testConfig(dir), pos)
	f.next(400, 3*time.Second)
}

// A file closed to spare descriptors (more files than MaxOpen) and quiet
// is still followed: its position is not pruned after ForgetAfter (the
// next start would send it again from its start).
func TestSuspendedFileKeepsItsPosition(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxOpen = 1
	cfg.ForgetAfter = 4 * testPoll
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendFile(t, a, numbered("a", 0, 10))
	appendFile(t, b, numbered("b", 0, 10))
	pos, err := LoadPositions(filepath.Join(t.TempDir(), "positions.toml"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, cfg, pos)
	var ida FileID
	for _, l := range f.next(20, 5*time.Second) {
		pos.Set(l.ID, l.Path, l.Offset, l.Seq)
		if l.Path == a {
			ida = l.ID
		}
	}
	// b keeps growing, a is quiet, until Follow has pruned with a cutoff
	// two ForgetAfter periods past a's last line.
	quiet := time.Now().Add(2 * cfg.ForgetAfter)
	i := 0
	peertest.Eventually(t, 10*time.Second, "a prune long after a's last line", func() bool {
		appendFile(t, b, fmt.Sprintf("b more %d\n", i))
		i++
		for _, l := range f.next(1, 5*time.Second) {
			pos.Set(l.ID, l.Path, l.Offset, l.Seq)
		}
		pos.mu.Lock()
		defer pos.mu.Unlock()
		return pos.pruned.After(quiet)
	})
	if _, _, ok := pos.Get(ida); !ok {
		t.Fatalf("the position of %s, followed all along, was pruned", a)
	}
}

// A FIFO or a directory named like a log file, or like a rotated
// generation, must neither block nor be read; descriptors are all closed
// after Follow stops.
func TestOddFilesAndNoLeak(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	for _, p := range []string{filepath.Join(dir, "fifo.log"), path + ".1"} {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "x\n")
	f := startFollow(t, testConfig(dir), nil)
	wantTexts(t, f.next(1, 5*time.Second), "x")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o755); err != nil { // replaced by a directory
		t.Fatal(err)
	}
	f.none(5 * testPoll)
	f.stop()
	if n := openFDsIn(t, dir); n != 0 {
		t.Fatalf("%d descriptors left open in the log directory after Follow stopped", n)
	}
}

// A glob matching every file of the directory (dir/*) also matches the
// .gz generations logrotate makes: a new inode whose content was read
// before must go on where it stopped (not again from its start), and a .gz
// gzip has not written its header to yet must not be taken for a plain
// file. The timing varies: ten tries.
func TestGlobMatchingCompressedGenerations(t *testing.T) {
	for i := range 10 {
		t.Run(fmt.Sprint(i), globMatchingCompressedGenerations)
	}
}

func globMatchingCompressedGenerations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	lr := peertest.NewLogrotate(t, peertest.LogrotateOptions{Compress: true, Rotate: 5}, path)
	appendFile(t, path, numbered("line", 0, 100))
	cfg := Config{Globs: []string{filepath.Join(dir, "*")}, Poll: testPoll}
	f := startFollow(t, cfg, nil)
	got := f.next(100, 5*time.Second)
	lr.Run(t)
	appendFile(t, path, numbered("line", 100, 101))
	got = append(got, f.next(1, 5*time.Second)...)
	f.none(10 * testPoll)
	checkLines(t, got, 0, 101)
}

// Two live files where one's name looks like a generation of the other
// (worker.log and worker-1.log, one per instance): on a restart neither
// stream takes the other's file for a missed generation of its own.
//
// Which stream starts first varies: ten tries.
func TestLiveFileIsNotTakenForAGeneration(t *testing.T) {
	for i := range 10 {
		t.Run(fmt.Sprint(i), liveFileTakenForGeneration)
	}
}

func liveFileTakenForGeneration(t *testing.T) {
	dir := t.TempDir()
	main, other := filepath.Join(dir, "worker.log"), filepath.Join(dir, "worker-1.log")
	posFile := filepath.Join(t.TempDir(), "positions.toml")
	appendFile(t, main, "main 0\n")
	appendFile(t, other, "other 0\n")
	stopWithDelivered(t, testConfig(dir), posFile, 2, 2)
	appendFile(t, other, "other 1\nother 2 is being writ")
	pos, err := LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, testConfig(dir), pos)
	got := f.next(1, 5*time.Second)
	f.none(5 * testPoll) // the unfinished line waits for its newline
	appendFile(t, other, "ten\n")
	got = append(got, f.next(1, 5*time.Second)...)
	for _, l := range got {
		if !strings.HasPrefix(l.Text, "other") || l.Path != other {
			t.Errorf("%q sent under %s", l.Text, l.Path)
		}
	}
	wantTexts(t, got, "other 1", "other 2 is being written")
}

// Hostile positions: an offset past the end, a duplicate inode, a bad
// fingerprint. Expected: nothing skipped (read again from 0), no crash.
func TestHostilePositions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, numbered("line", 0, 10))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := fileKey(fi)
	data, _ := os.ReadFile(path)
	id := newFileID(k, data)
	posFile := filepath.Join(t.TempDir(), "positions.toml")
	rec := func(off int64, fp string, n int) string {
		return fmt.Sprintf("[[file]]\npath = %q\ndevice = %d\ninode = %d\nfingerprint = %q\nfingerprint_len = %d\noffset = %d\nseq = 18446744073709551615\n",
			path, k.dev, k.ino, fp, n, off)
	}
	for _, c := range []string{
		rec(1<<62, id.Fingerprint, id.FingerprintLen),
		rec(5, id.Fingerprint, id.FingerprintLen) + rec(1<<62, id.Fingerprint, id.FingerprintLen),
		rec(5, strings.Repeat("0", 64), 10),
		rec(5, "zz", 10),
	} {
		if err := os.WriteFile(posFile, []byte("saved_at = 2020-01-01T00:00:00Z\n"+c), 0o600); err != nil {
			t.Fatal(err)
		}
		pos, err := LoadPositions(posFile, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		f := startFollow(t, testConfig(dir), pos)
		got := f.next(1, 5*time.Second)
		f.stop()
		if got[0].Text != "line 0" && got[0].Text != "line 1" {
			t.Errorf("positions %q: first line %q", c, got[0].Text)
		}
	}
}
