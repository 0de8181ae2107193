package tail

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

func TestNewFileIsReadFromStart(t *testing.T) {
	dir := t.TempDir()
	f := startFollow(t, testConfig(dir), nil)
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, "one\ntwo\n")
	got := f.next(2, 5*time.Second)
	wantTexts(t, got, "one", "two")
	if got[0].Path != path || got[0].Offset != 4 || got[1].Offset != 8 || got[0].Part != 0 {
		t.Fatalf("lines %+v", got)
	}
	appendFile(t, path, "three\n")
	wantTexts(t, f.next(1, 5*time.Second), "three")
}

func TestExistingFileWithoutPositionIsReadFromStart(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, filepath.Join(dir, "old.log"), "written while the agent was down\n")
	appendFile(t, filepath.Join(dir, "ignored.txt"), "not matched\n")
	f := startFollow(t, testConfig(dir), nil)
	wantTexts(t, f.next(1, 5*time.Second), "written while the agent was down")
	f.none(3 * testPoll)
}

func TestLastLineWaitsForItsNewline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, "whole\nhal")
	f := startFollow(t, testConfig(dir), nil)
	wantTexts(t, f.next(1, 5*time.Second), "whole")
	f.none(5 * testPoll)
	appendFile(t, path, "f done\n")
	got := f.next(1, 5*time.Second)
	wantTexts(t, got, "half done")
	if got[0].Offset != int64(len("whole\nhalf done\n")) {
		t.Fatalf("offset %d", got[0].Offset)
	}
}

func TestDeletedFileSendsLastLineAndIsClosed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, "first\nno newline")
	f := startFollow(t, testConfig(dir), nil)
	wantTexts(t, f.next(1, 5*time.Second), "first")
	if n := openFDsTo(t, path); n != 1 {
		t.Fatalf("%d descriptors open on %s while following, want 1", n, path)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	got := f.next(1, 5*time.Second)
	wantTexts(t, got, "no newline")
	if got[0].Offset != int64(len("first\nno newline")) {
		t.Fatalf("offset %d", got[0].Offset)
	}
	peertest.Eventually(t, 5*time.Second, "the deleted file to be closed", func() bool { return openFDsTo(t, path) == 0 })
	// A new file under the same name is a new file: read from 0.
	appendFile(t, path, "reborn\n")
	wantTexts(t, f.next(1, 5*time.Second), "reborn")
}

// writeRotating writes lines 0..n-1 to path like an application whose
// logrotate renames the file: after line rotateAt it renames path to
// rotated, writes a few more lines to the old descriptor (it has not yet
// been told to reopen), then reopens path.
func writeRotating(t *testing.T, path, rotated string, n, rotateAt, lateLines int) {
	t.Helper()
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Error(err)
		return
	}
	defer func() { w.Close() }()
	for i := range n {
		if i == rotateAt {
			if err := os.Rename(path, rotated); err != nil {
				t.Error(err)
				return
			}
		}
		if i == rotateAt+lateLines {
			w.Close()
			if w, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
				t.Error(err)
				return
			}
		}
		if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
			t.Error(err)
			return
		}
		if i%50 == 0 {
			// A writer's pause, so that reading interleaves with the
			// writing and the rotation at times: the behaviour under test,
			// not a synchronisation (the lines are counted all the same).
			time.Sleep(time.Millisecond)
		}
	}
}

func TestRotationByRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	f := startFollow(t, testConfig(dir), nil)
	const n = 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		writeRotating(t, path, path+".1", n, 700, 20) // app.log.1 is not matched by *.log
	}()
	got := f.next(n, 20*time.Second)
	<-done
	for i, l := range got {
		if want := fmt.Sprintf("line %d", i); l.Text != want || l.Path != path {
			t.Fatalf("line %d: got %q from %s, want %q from %s", i, l.Text, l.Path, want, path)
		}
	}
	f.none(4 * testPoll)
}

func TestRotationByRenameToMatchingName(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Globs = []string{filepath.Join(dir, "app*")}
	path := filepath.Join(dir, "app.log")
	f := startFollow(t, cfg, nil)
	const n = 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		writeRotating(t, path, path+".1", n, 1200, 20) // app.log.1 matches app* too
	}()
	got := f.next(n, 20*time.Second)
	<-done
	f.none(6 * testPoll) // nothing read twice under the new name
	seen := map[string]bool{}
	last := map[string]int{}
	for _, l := range got {
		if seen[l.Text] {
			t.Fatalf("%q sent twice", l.Text)
		}
		seen[l.Text] = true
		var i int
		fmt.Sscanf(l.Text, "line %d", &i)
		if prev, ok := last[l.Path]; ok && i <= prev {
			t.Fatalf("%s: %q after line %d", l.Path, l.Text, prev)
		}
		last[l.Path] = i
	}
}

func TestCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f := startFollow(t, testConfig(dir), nil)
	fmt.Fprint(w, numbered("before", 0, 50))
	before := f.next(50, 5*time.Second)

	// logrotate copytruncate: copy aside, truncate in place; the writer's
	// O_APPEND descriptor then writes from 0.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, numbered("after", 0, 30))
	after := f.next(30, 5*time.Second)
	for i, l := range after {
		if want := fmt.Sprintf("after %d", i); l.Text != want {
			t.Fatalf("line %d after truncation: %q, want %q", i, l.Text, want)
		}
	}
	if after[0].ID == before[0].ID {
		t.Errorf("file rewritten after truncation kept its FileID %v", after[0].ID)
	}
	if last := after[len(after)-1].Offset; last != int64(len(numbered("after", 0, 30))) {
		t.Errorf("offset after truncation %d", last)
	}
	f.none(3 * testPoll)
}

func TestTruncatedAndRewrittenPastOffsetIsNoticed(t *testing.T) {
	// The truncation and the rewrite both happen between two looks at the
	// file, so the size never shows it; the changed first bytes do.
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, "old 1\nold 2\n")
	c, err := openContent(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tl := newTailer(path, c, c.key, c.head, 0, 0, DefaultMaxLine)
	out := make(chan []Line, 10)
	if _, err := tl.readToEOF(t.Context(), out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("new content, longer than before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated, head, err := tl.checkTruncated()
	if err != nil || !truncated {
		t.Fatalf("checkTruncated = %v, %v; want true", truncated, err)
	}
	tl.restart(head)
	if _, err := tl.readToEOF(t.Context(), out); err != nil {
		t.Fatal(err)
	}
	close(out)
	var got []Line
	for ls := range out {
		got = append(got, ls...)
	}
	wantTexts(t, got, "old 1", "old 2", "new content, longer than before")
}

func TestRestartResumesAfterDeliveredLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	posFile := filepath.Join(dir, "state", "positions.toml")
	if err := os.Mkdir(filepath.Dir(posFile), 0o755); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, numbered("line", 0, 10))

	pos, err := LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, testConfig(dir), pos)
	got := f.next(10, 5*time.Second)
	for _, l := range got[:6] { // lines 0..5 delivered; 6..9 were in flight
		pos.Set(l.ID, l.Path, l.Offset, l.Seq)
	}
	if err := pos.Save(); err != nil {
		t.Fatal(err)
	}
	f.stop()

	appendFile(t, path, numbered("line", 10, 15))
	pos2, err := LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f2 := startFollow(t, testConfig(dir), pos2)
	got = f2.next(9, 5*time.Second)
	for i, l := range got {
		if want := fmt.Sprintf("line %d", i+6); l.Text != want {
			t.Fatalf("after restart line %d: %q, want %q", i, l.Text, want)
		}
		pos2.Set(l.ID, l.Path, l.Offset, l.Seq)
	}
	f2.none(3 * testPoll)
	if err := pos2.Save(); err != nil {
		t.Fatal(err)
	}
	f2.stop()

	// Everything delivered: a third run sends nothing old.
	appendFile(t, path, "line 15\n")
	pos3, err := LoadPositions(posFile, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	f3 := startFollow(t, testConfig(dir), pos3)
	wantTexts(t, f3.next(1, 5*time.Second), "line 15")
	f3.none(3 * testPoll)
}

func TestLongLineIsSplitIntoParts(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxLine = 16
	path := filepath.Join(dir, "app.log")
	// "é" (2 bytes) straddles the first 16-byte cut: it must move whole
	// into the second part rather than be escaped in halves.
	long := "0123456789abcdeé-0123456789abcdef-xyz"
	exact := strings.Repeat("x", 16)
	appendFile(t, path, long+"\n"+exact+"\n")
	f := startFollow(t, cfg, nil)
	got := f.next(4, 5*time.Second)
	wantTexts(t, got,
		"0123456789abcde"+ContinuedMarker,
		"é-0123456789abc"+ContinuedMarker,
		"def-xyz",
		exact)
	for i, want := range []int{1, 2, 3, 0} {
		if got[i].Part != want {
			t.Errorf("line %d: Part %d, want %d", i, got[i].Part, want)
		}
	}
	for i, want := range []int64{15, 31, int64(len(long) + 1), int64(len(long) + 1 + 17)} {
		if got[i].Offset != want {
			t.Errorf("line %d: Offset %d, want %d", i, got[i].Offset, want)
		}
	}
}

func TestLongLineWithoutNewlineIsSplitAsItArrives(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxLine = 16
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, strings.Repeat("a", 40))
	f := startFollow(t, cfg, nil)
	// Parts are sent once more than MaxLine bytes are there: two full ones.
	got := f.next(2, 5*time.Second)
	wantTexts(t, got, strings.Repeat("a", 16)+ContinuedMarker, strings.Repeat("a", 16)+ContinuedMarker)
	f.none(3 * testPoll)
	appendFile(t, path, "b\n")
	got = f.next(1, 5*time.Second)
	wantTexts(t, got, "aaaaaaaab")
	if got[0].Part != 3 {
		t.Fatalf("last part numbered %d, want 3", got[0].Part)
	}
}

func TestInvalidUTF8AndControlBytesAreEscaped(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, filepath.Join(dir, "bin.log"), "a\x00b\xffc\x1b[0m\tend\r\n\xc3\n")
	f := startFollow(t, testConfig(dir), nil)
	wantTexts(t, f.next(2, 5*time.Second), `a#000b\xFFc#033[0m`+"\tend", `\xC3`)
}

func TestEqualShortFilesAreNotConfused(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendFile(t, a, "same\n")
	appendFile(t, b, "same\n")
	pos, err := LoadPositions(filepath.Join(dir, "positions.toml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := startFollow(t, testConfig(dir), pos)
	got := f.next(2, 5*time.Second)
	if got[0].ID == got[1].ID || got[0].ID.Fingerprint != got[1].ID.Fingerprint {
		t.Fatalf("IDs %v and %v: want same fingerprint, different identity", got[0].ID, got[1].ID)
	}
	// Delivering a's line says nothing about b's.
	for _, l := range got {
		if l.Path == a {
			pos.Set(l.ID, l.Path, l.Offset, l.Seq)
		}
	}
	for _, l := range got {
		// Both are known (discovered) from their start; only a's moved.
		want := int64(0)
		if l.Path == a {
			want = 5
		}
		if off, _, ok := pos.Get(l.ID); !ok || off != want {
			t.Fatalf("%s: Get = %d, %v", l.Path, off, ok)
		}
	}
}

func TestManyFilesWrittenConcurrently(t *testing.T) {
	const files, lines = 50, 1000
	dir := t.TempDir()
	f := startFollow(t, testConfig(dir), nil)
	for i := range files {
		go func() {
			path := filepath.Join(dir, fmt.Sprintf("f%02d.log", i))
			w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				t.Error(err)
				return
			}
			defer w.Close()
			for j := range lines {
				if _, err := fmt.Fprintf(w, "f%02d line %d\n", i, j); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := map[string]int{}
	for _, l := range f.next(files*lines, 60*time.Second) {
		want := fmt.Sprintf("%s line %d", strings.TrimSuffix(filepath.Base(l.Path), ".log"), next[l.Path])
		if l.Text != want {
			t.Fatalf("%s: got %q, want %q", l.Path, l.Text, want)
		}
		next[l.Path]++
	}
	if len(next) != files {
		t.Fatalf("lines from %d files, want %d", len(next), files)
	}
	f.none(3 * testPoll)
}

func TestCancelWhileConsumerIsBlocked(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		appendFile(t, filepath.Join(dir, fmt.Sprintf("%d.log", i)), numbered("x", 0, 100))
	}
	f := startFollow(t, testConfig(dir), nil)
	f.next(3, 5*time.Second) // the first file's lines
	// Backpressure: the four other streams wait to hand theirs over.
	peertest.Eventually(t, 5*time.Second, "4 streams blocked on the consumer", func() bool { return handOffsWaiting() == 4 })
	f.stop() // returns nil, no goroutine left
}

// handOffsWaiting counts the streams waiting for the consumer to take
// their lines, from the goroutines' stacks: nothing else tells.
func handOffsWaiting() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "tail.(*tailer).handOff(")
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{}, {Globs: []string{"/var/log/[.log"}}} {
		if err := Follow(t.Context(), cfg, nil, make(chan []Line), nil); err == nil {
			t.Errorf("Follow(%+v) = nil, want an error", cfg)
		}
	}
}
