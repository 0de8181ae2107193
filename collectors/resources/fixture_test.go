package resources

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/collectors"
	"hostagent/mibs"
)

// procFixture is a /proc tree in a temporary directory.
type procFixture struct {
	t     testing.TB
	paths collectors.Paths
}

// newProcFixture copies testdata/proc, a host at rest, for a test to
// change: two CPUs 10% busy (stat as stat writes cpuTicks{100, 900} and
// {50, 450} twice), memory 50% used of 1000 kB, swap 2000 kB unused
// (meminfo(1000, 500, 2000, 2000)), load 0.50 (loadavg(0.5)), and mounts
// that mix real file systems with the kernel's and containers'. The real
// ones, in order, are /, /var/lib/libvirt and "/mnt/vm images" (escaped
// as the kernel writes a space), dskIndex 1, 2 and 3.
func newProcFixture(t testing.TB) *procFixture {
	dir := t.TempDir()
	f := &procFixture{t: t, paths: collectors.Paths{ProcFS: filepath.Join(dir, "proc"), SysFS: filepath.Join(dir, "sys")}}
	if err := os.CopyFS(f.paths.ProcFS, os.DirFS(filepath.Join("testdata", "proc"))); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *procFixture) write(name, content string) {
	f.t.Helper()
	if err := os.WriteFile(f.paths.Proc(name), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// cpuTicks are the USER_HZ ticks of one cpu line, split in busy (written as
// user and system) and idle (written as idle and iowait).
type cpuTicks struct{ busy, idle uint64 }

// stat writes /proc/stat with the total line then one line per CPU.
func (f *procFixture) stat(total cpuTicks, cpus ...cpuTicks) {
	var b strings.Builder
	line := func(name string, c cpuTicks) {
		// user nice system idle iowait irq softirq steal guest guest_nice;
		// guest ticks are inside user, so a correct reader ignores them.
		fmt.Fprintf(&b, "%s %d 0 %d %d %d 0 0 0 %d 0\n", name, c.busy-c.busy/2, c.busy/2, c.idle-c.idle/4, c.idle/4, c.busy/4)
	}
	line("cpu", total)
	for i, c := range cpus {
		line(fmt.Sprintf("cpu%d", i), c)
	}
	b.WriteString("intr 12345 0 0\nctxt 999\nbtime 1700000000\nprocesses 4242\nprocs_running 2\nprocs_blocked 0\nsoftirq 10 1 1 1 1 1 1 1 1 1 1\n")
	f.write("stat", b.String())
}

// meminfo writes /proc/meminfo; sizes in kB.
func (f *procFixture) meminfo(total, available, swapTotal, swapFree uint64) {
	f.write("meminfo", fmt.Sprintf("MemTotal:       %d kB\nMemFree:        %d kB\nMemAvailable:   %d kB\nBuffers:        0 kB\nCached:         0 kB\nSwapTotal:      %d kB\nSwapFree:       %d kB\nHugepagesize:       2048 kB\n",
		total, available/2, available, swapTotal, swapFree))
}

func (f *procFixture) loadavg(load1 float64) {
	f.write("loadavg", fmt.Sprintf("%.2f 0.40 0.30 2/345 6789\n", load1))
}

// fakeStatfs answers statfs from a table keyed by path and counts calls.
type fakeStatfs struct {
	mu    sync.Mutex
	usage map[string]fsUsage
	calls map[string]int
}

func newFakeStatfs(usage map[string]fsUsage) *fakeStatfs {
	return &fakeStatfs{usage: usage, calls: map[string]int{}}
}

func (f *fakeStatfs) statfs(path string) (fsUsage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[path]++
	u, ok := f.usage[path]
	if !ok {
		return fsUsage{}, os.ErrNotExist
	}
	return u, nil
}

func (f *fakeStatfs) set(path string, u fsUsage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.usage[path] = u
}

func (f *fakeStatfs) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

// usedFS is a file system of 1000 blocks, used percent used, no root reserve.
func usedFS(used uint64) fsUsage {
	return fsUsage{blocks: 1000, free: 1000 - used*10, avail: 1000 - used*10}
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

// recorder is a Notifier that keeps what it is given.
type recorder struct {
	mu   sync.Mutex
	sent []sent
}

// sent is the part of a notification the tests check.
type sent struct {
	kind  string // mteTriggerRising or mteTriggerFalling
	rule  string // mteHotTrigger
	oid   string // mteHotOID
	value int64  // mteHotValue
}

func (r *recorder) Notify(_ context.Context, n mibs.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	vb := n.VarBinds
	r.sent = append(r.sent, sent{kind: n.Type.Name, rule: string(vb[0].Bytes), oid: vb[3].Object.String(), value: vb[4].Int})
	return nil
}

// take returns and clears what was sent.
func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sent
	r.sent = nil
	return s
}

// newTestResources builds Resources on the fixture with a fake clock and
// statfs, file systems read under /host.
func newTestResources(t testing.TB, cfg Config, f *procFixture, fs *fakeStatfs) (*Resources, *fakeClock) {
	t.Helper()
	r, err := New(cfg, f.paths, nil, WithRootFS("/host"))
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	r.now = clock.now
	r.guard.statfs = fs.statfs
	return r, clock
}
