package tail

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

const testPoll = 50 * time.Millisecond

func testConfig(dir string) Config {
	return Config{Globs: []string{filepath.Join(dir, "*.log")}, Poll: testPoll}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// following is one Follow run under test. stop cancels it and checks that
// it returned nil and left no goroutine behind (a small goleak).
type following struct {
	t       testing.TB
	out     chan []Line
	queued  []Line // received and not yet taken by next
	cancel  context.CancelFunc
	errc    chan error
	base    int
	stopped bool
	logged  peertest.Buffer // what Follow logged, for waitLog
}

func startFollow(t testing.TB, cfg Config, pos *Positions) *following {
	t.Helper()
	f := &following{t: t, out: make(chan []Line), errc: make(chan error, 1), base: runtime.NumGoroutine()}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	log := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, &f.logged), &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { f.errc <- Follow(ctx, cfg, pos, f.out, log) }()
	t.Cleanup(f.stop)
	return f
}

func (f *following) stop() {
	f.t.Helper()
	if f.stopped {
		return
	}
	f.stopped = true
	f.cancel()
	select {
	case err := <-f.errc:
		if err != nil {
			f.t.Errorf("Follow returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		f.t.Fatal("Follow did not return within 5s of cancel")
	}
	checkGoroutines(f.t, f.base)
}

// checkGoroutines waits (with a grace period: exiting goroutines take a
// moment to be counted out) for the count to fall back to base.
func checkGoroutines(t testing.TB, base int) {
	t.Helper()
	if !peertest.Until(3*time.Second, func() bool { return runtime.NumGoroutine() <= base }) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutine leak: %d running, %d before Follow\n%s", runtime.NumGoroutine(), base, buf)
	}
}

// waitLog waits for Follow to log a message containing text: a step of
// its own that no line shows (a truncation seen).
func (f *following) waitLog(text string, timeout time.Duration) {
	f.t.Helper()
	peertest.Eventually(f.t, timeout, "the log to say "+text, func() bool { return strings.Contains(f.logged.String(), text) })
}

// next returns the next n lines, failing after timeout.
func (f *following) next(n int, timeout time.Duration) []Line {
	f.t.Helper()
	var got []Line
	deadline := time.After(timeout)
	for len(got) < n {
		if len(f.queued) > 0 {
			k := min(n-len(got), len(f.queued))
			got, f.queued = append(got, f.queued[:k]...), f.queued[k:]
			continue
		}
		select {
		case ls := <-f.out:
			f.queued = ls
		case <-deadline:
			f.t.Fatalf("got %d of %d lines within %v: %v", len(got), n, timeout, summary(got))
		}
	}
	return got
}

// none checks that no line arrives for d.
func (f *following) none(d time.Duration) {
	f.t.Helper()
	if len(f.queued) > 0 {
		f.t.Fatalf("unexpected line %+v", f.queued[0])
	}
	select {
	case ls := <-f.out:
		f.t.Fatalf("unexpected line %+v", ls[0])
	case <-time.After(d):
	}
}

// summary is the first and last few lines' texts, for a failure message.
func summary(ls []Line) []string {
	if len(ls) <= 10 {
		return texts(ls)
	}
	return append(append(texts(ls[:5]), "..."), texts(ls[len(ls)-5:])...)
}

func texts(ls []Line) []string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = l.Text
	}
	return s
}

func appendFile(t testing.TB, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

func wantTexts(t testing.TB, got []Line, want ...string) {
	t.Helper()
	g := texts(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n got %q\nwant %q", g, want)
	}
}

// openFDsTo counts this process's descriptors open on path (deleted or not).
func openFDsTo(t testing.TB, path string) int {
	t.Helper()
	return openFDs(t, func(target string) bool { return target == path })
}

// openFDsIn counts this process's descriptors open on files in dir.
func openFDsIn(t testing.TB, dir string) int {
	t.Helper()
	return openFDs(t, func(target string) bool { return filepath.Dir(target) == dir })
}

// openFDs counts this process's descriptors open on a file that match.
func openFDs(t testing.TB, match func(target string) bool) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && match(strings.TrimSuffix(target, " (deleted)")) {
			n++
		}
	}
	return n
}
