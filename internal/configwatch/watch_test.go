package configwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hostagent/internal/configstore"
)

const (
	// mustCome bounds waits for events that have to arrive; it is generous
	// because the machine may be busy, and a passing test never waits it out.
	mustCome = 5 * time.Second
	// fastDebounce keeps the "nothing more arrives" windows short.
	fastDebounce = 50 * time.Millisecond
	// burstDebounce is used where a test needs several writes to land in
	// one quiet period: a scheduler hiccup on a loaded machine must not be
	// able to split the burst.
	burstDebounce = 250 * time.Millisecond
)

func TestWatcher(t *testing.T) {
	tests := []struct {
		name     string
		debounce time.Duration
		setup    func(t *testing.T, dir string) // before the watcher starts
		change   func(t *testing.T, dir string)
		want     []string // nil: no call at all
	}{
		{
			name:   "write",
			setup:  func(t *testing.T, dir string) { put(t, dir, "snmp.toml", "port = 1\n") },
			change: func(t *testing.T, dir string) { put(t, dir, "snmp.toml", "port = 2\n") },
			want:   []string{"snmp.toml"},
		},
		{
			name:   "create",
			change: func(t *testing.T, dir string) { put(t, dir, "new.toml", "port = 2\n") },
			want:   []string{"new.toml"},
		},
		{
			name:  "rename into place",
			setup: func(t *testing.T, dir string) { put(t, dir, "snmp.toml", "port = 1\n") },
			change: func(t *testing.T, dir string) {
				// Deliberately not a dotfile, so only the rename can report it.
				put(t, dir, "snmp.toml.tmp", "port = 2\n")
				rename(t, dir, "snmp.toml.tmp", "snmp.toml")
			},
			want: []string{"snmp.toml"},
		},
		{
			name:  "rename away",
			setup: func(t *testing.T, dir string) { put(t, dir, "snmp.toml", "port = 1\n") },
			change: func(t *testing.T, dir string) {
				rename(t, dir, "snmp.toml", "snmp.toml.disabled")
			},
			want: []string{"snmp.toml"},
		},
		{
			name:  "remove",
			setup: func(t *testing.T, dir string) { put(t, dir, "snmp.toml", "port = 1\n") },
			change: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "snmp.toml")); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"snmp.toml"},
		},
		{
			name: "Save is one change and its temp file is ignored",
			change: func(t *testing.T, dir string) {
				if err := configstore.Save(filepath.Join(dir, "snmp.toml"), struct{ Port int }{161}, 0o640, "hi"); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"snmp.toml"},
		},
		{
			name: "temp files, dotfiles, backups and other files are ignored",
			change: func(t *testing.T, dir string) {
				for _, name := range []string{
					"snmp.toml.tmp", ".snmp.toml", ".snmp.toml.swp", "snmp.toml~", "notes.txt",
				} {
					put(t, dir, name, "x")
				}
				if err := os.Remove(filepath.Join(dir, ".snmp.toml")); err != nil {
					t.Fatal(err)
				}
			},
			want: nil,
		},
		{
			name: "ignored files do not join a real change",
			change: func(t *testing.T, dir string) {
				put(t, dir, ".snmp.toml.swp", "x")
				put(t, dir, "snmp.toml~", "x")
				put(t, dir, "snmp.toml", "port = 2\n")
				put(t, dir, "other.toml.tmp", "x")
			},
			want: []string{"snmp.toml"},
		},
		{
			name:     "ten quick writes are one call",
			debounce: burstDebounce,
			change: func(t *testing.T, dir string) {
				for i := range 10 {
					put(t, dir, "snmp.toml", fmt.Sprintf("port = %d\n", i))
				}
			},
			want: []string{"snmp.toml"},
		},
		{
			name:     "a burst over several files is one sorted, de-duplicated call",
			debounce: burstDebounce,
			setup:    func(t *testing.T, dir string) { put(t, dir, "b.toml", "") },
			change: func(t *testing.T, dir string) {
				for i := range 5 {
					put(t, dir, "c.toml", fmt.Sprint("port = ", i))
					put(t, dir, "a.toml", fmt.Sprint("port = ", i))
				}
				if err := os.Remove(filepath.Join(dir, "b.toml")); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"a.toml", "b.toml", "c.toml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debounce := tt.debounce
			if debounce == 0 {
				debounce = fastDebounce
			}
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			calls := startWatcher(t, dir, debounce)

			tt.change(t, dir)

			if tt.want != nil {
				select {
				case got := <-calls:
					if !slices.Equal(got, tt.want) {
						t.Fatalf("onChange(%q), want %q", got, tt.want)
					}
				case <-time.After(mustCome):
					t.Fatalf("no onChange within %v, want %q", mustCome, tt.want)
				}
			}
			expectQuiet(t, calls, debounce)
		})
	}
}

func TestWatcherSeesChangesBeforeRun(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWatcher(dir, fastDebounce)
	if err != nil {
		t.Fatal(err)
	}
	// NewWatcher has returned, so this must be seen even though Run starts
	// only afterwards.
	put(t, dir, "snmp.toml", "port = 1\n")

	calls := runWatcher(t, w)
	select {
	case got := <-calls:
		if !slices.Equal(got, []string{"snmp.toml"}) {
			t.Errorf("onChange(%q), want [snmp.toml]", got)
		}
	case <-time.After(mustCome):
		t.Fatal("change made before Run was never reported")
	}
}

func TestRunStops(t *testing.T) {
	tests := []struct {
		name string
		stop func(cancel context.CancelFunc, w *Watcher)
	}{
		{"context cancelled", func(cancel context.CancelFunc, w *Watcher) { cancel() }},
		{"watcher closed", func(cancel context.CancelFunc, w *Watcher) { w.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := NewWatcher(dir, fastDebounce)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			called := make(chan []string, 10)
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, func(n []string) { called <- n }) }()

			// Prove Run is up and delivering before stopping it.
			put(t, dir, "snmp.toml", "")
			select {
			case <-called:
			case <-time.After(mustCome):
				t.Fatal("Run never reported a change")
			}

			tt.stop(cancel, w)
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil", err)
				}
			case <-time.After(mustCome):
				t.Fatal("Run did not return")
			}
		})
	}
}

func TestRunReturnsWatchErrors(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWatcher(dir, fastDebounce)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background(), func([]string) {}) }()

	// Stand in for the inotify reader, which reports on this same channel.
	cause := errors.New("inotify read failed")
	select {
	case w.errs <- cause:
	case <-time.After(mustCome):
		t.Fatal("Run is not reading errors")
	}
	select {
	case err := <-done:
		if !errors.Is(err, cause) || !strings.Contains(err.Error(), dir) {
			t.Errorf("Run = %v, want %v wrapped with %s", err, cause, dir)
		}
	case <-time.After(mustCome):
		t.Fatal("Run did not return the error")
	}
}

func TestWatcherClose(t *testing.T) {
	w, err := NewWatcher(t.TempDir(), fastDebounce)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := w.Close(); err != nil {
			t.Errorf("Close #%d = %v", i+1, err)
		}
	}
	// Run on a closed watcher must not block forever.
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background(), func([]string) {}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close = %v, want nil", err)
		}
	case <-time.After(mustCome):
		t.Fatal("Run after Close did not return")
	}
}

func TestNewWatcherErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		dir      string
		debounce time.Duration
	}{
		{"missing directory", filepath.Join(dir, "missing"), fastDebounce},
		{"zero debounce", dir, 0},
		{"negative debounce", dir, -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWatcher(tt.dir, tt.debounce)
			if err == nil {
				w.Close()
				t.Fatal("NewWatcher succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.dir) {
				t.Errorf("error %q does not name %s", err, tt.dir)
			}
		})
	}
}

// startWatcher runs a Watcher on dir until the test ends and returns the
// names of every onChange call.
func startWatcher(t *testing.T, dir string, debounce time.Duration) <-chan []string {
	t.Helper()
	w, err := NewWatcher(dir, debounce)
	if err != nil {
		t.Fatal(err)
	}
	return runWatcher(t, w)
}

// runWatcher runs w until the test ends; cleanup cancels Run, checks that it
// returns nil and closes w.
func runWatcher(t *testing.T, w *Watcher) <-chan []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan []string, 100) // buffered: onChange must not block Run
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(names []string) { calls <- names }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(mustCome):
			t.Error("Run did not return after cancel")
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	return calls
}

// expectQuiet fails if onChange is called again within a short window after
// the debounce period.
func expectQuiet(t *testing.T, calls <-chan []string, debounce time.Duration) {
	t.Helper()
	select {
	case got := <-calls:
		t.Errorf("unexpected onChange(%q)", got)
	case <-time.After(debounce + 250*time.Millisecond):
	}
}

func put(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, dir, from, to string) {
	t.Helper()
	if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
		t.Fatal(err)
	}
}

// TestSlowInPlaceSaveIsReportedOnceComplete is the failing scenario of a
// slow in-place save: the writer truncates the file, writes half, pauses
// for longer than the debounce and writes the rest through the same open
// file. The change is reported once, after the close, and whoever reads
// the file then reads it whole.
func TestSlowInPlaceSaveIsReportedOnceComplete(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snmp.toml")
	put(t, dir, "snmp.toml", "enabled = true\nport = 161\n")
	w, err := NewWatcher(dir, fastDebounce)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 10) // the file as each onChange finds it
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func([]string) {
			b, _ := os.ReadFile(path)
			seen <- string(b)
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		w.Close()
	})

	const first, rest = "enabled = true\n", "port = 1161\n"
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(first); err != nil {
		t.Fatal(err)
	}
	// The writer's pause, six debounce periods: the half file must not be
	// reported meanwhile.
	select {
	case got := <-seen:
		t.Fatalf("reported while the writer still had the file open, with %q", got)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := f.WriteString(rest); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-seen:
		if got != first+rest {
			t.Errorf("reported with the file reading %q, want %q", got, first+rest)
		}
	case <-time.After(mustCome):
		t.Fatal("the completed save was never reported")
	}
	select {
	case got := <-seen:
		t.Errorf("reported twice, again with %q", got)
	case <-time.After(fastDebounce + 250*time.Millisecond):
	}
}

// TestWriterHeldOpenIsReportedAfterMaxWriting: a file kept open for
// writing is not waited for forever, and its close is reported too.
func TestWriterHeldOpenIsReportedAfterMaxWriting(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWatcher(dir, fastDebounce)
	if err != nil {
		t.Fatal(err)
	}
	w.maxWriting = 300 * time.Millisecond
	calls := runWatcher(t, w)

	f, err := os.Create(filepath.Join(dir, "snmp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("port = 1\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-calls:
		if !slices.Equal(got, []string{"snmp.toml"}) {
			t.Fatalf("onChange(%q), want [snmp.toml]", got)
		}
	case <-time.After(mustCome):
		t.Fatal("a file held open for writing was never reported")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-calls:
		if !slices.Equal(got, []string{"snmp.toml"}) {
			t.Fatalf("onChange(%q) at the close, want [snmp.toml]", got)
		}
	case <-time.After(mustCome):
		t.Fatal("the close was never reported")
	}
	expectQuiet(t, calls, fastDebounce)
}
