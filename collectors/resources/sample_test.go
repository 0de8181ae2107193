package resources

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"hostagent/internal/configstore"
	"hostagent/internal/peertest"
)

func readFixture(t *testing.T, f *procFixture) *snapshot {
	t.Helper()
	fs, err := procfs.NewFS(f.paths.ProcFS)
	if err != nil {
		t.Fatal(err)
	}
	return &snapshot{fs: fs}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestCPUBusyFromTwoSamples(t *testing.T) {
	f := newProcFixture(t)
	f.stat(cpuTicks{busy: 100, idle: 900}, cpuTicks{busy: 50, idle: 450}, cpuTicks{busy: 50, idle: 450})
	prev, err := readFixture(t, f).Stat()
	if err != nil {
		t.Fatal(err)
	}
	// In between, cpu0 was 90% busy and cpu1 10%: 50% overall.
	f.stat(cpuTicks{busy: 200, idle: 1000}, cpuTicks{busy: 140, idle: 460}, cpuTicks{busy: 60, idle: 540})
	cur, err := readFixture(t, f).Stat()
	if err != nil {
		t.Fatal(err)
	}
	load, ok := cpuBusy(prev, cur)
	if !ok {
		t.Fatal("no load from two different samples")
	}
	if !near(load.overall, 50) || !near(load.perCPU[0], 90) || !near(load.perCPU[1], 10) {
		t.Errorf("load %+v, want 50 overall, cpu0 90, cpu1 10", load)
	}
	if cpu, p := load.busiest(); cpu != 0 || !near(p, 90) {
		t.Errorf("busiest cpu%d at %g, want cpu0 at 90", cpu, p)
	}
	if _, ok := cpuBusy(cur, cur); ok {
		t.Error("the same sample twice gave a load")
	}
}

func TestCPUBusyNewCPUAndBackwardsIowait(t *testing.T) {
	prev := procfs.Stat{CPUTotal: procfs.CPUStat{User: 10, Idle: 90, Iowait: 10}, CPU: map[int64]procfs.CPUStat{0: {User: 10, Idle: 90}}}
	// iowait went backwards more than everything else moved forward.
	cur := procfs.Stat{CPUTotal: procfs.CPUStat{User: 20, Idle: 90, Iowait: 5}, CPU: map[int64]procfs.CPUStat{0: {User: 20, Idle: 90}, 1: {User: 5}}}
	load, ok := cpuBusy(prev, cur)
	if !ok || load.overall < 0 || load.overall > 100 {
		t.Errorf("load %+v ok %v: want a percent", load, ok)
	}
	if _, has := load.perCPU[1]; has {
		t.Error("cpu1, new since the previous sample, has a load")
	}
}

func TestMemoryAndSwap(t *testing.T) {
	f := newProcFixture(t)
	f.meminfo(1000, 150, 2000, 500)
	m, err := readFixture(t, f).Meminfo()
	if err != nil {
		t.Fatal(err)
	}
	if u, err := memoryUsed(m); err != nil || u != (kBUsage{used: 850, total: 1000}) || !near(u.percent(), 85) {
		t.Errorf("memory %+v %v, want 850 of 1000 kB, 85%%", u, err)
	}
	if u, ok, err := swapUsed(m); err != nil || !ok || u != (kBUsage{used: 1500, total: 2000}) || !near(u.percent(), 75) {
		t.Errorf("swap %+v %v %v, want 1500 of 2000 kB, 75%%", u, ok, err)
	}

	f.meminfo(1000, 150, 0, 0)
	m, _ = readFixture(t, f).Meminfo()
	if _, ok, err := swapUsed(m); ok || err != nil {
		t.Errorf("no swap: ok %v err %v, want nothing to compare and no error", ok, err)
	}
}

func TestMemoryWithoutMemAvailable(t *testing.T) {
	// A kernel before 3.14.
	f := newProcFixture(t)
	f.write("meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n")
	m, err := readFixture(t, f).Meminfo()
	if err != nil {
		t.Fatal(err)
	}
	if u, err := memoryUsed(m); err != nil || u.used != 600 || !near(u.percent(), 60) {
		t.Errorf("memory %+v %v, want 600 kB (60%%) from MemFree+Buffers+Cached", u, err)
	}
	f.write("meminfo", "MemFree: 100 kB\n")
	m, _ = readFixture(t, f).Meminfo()
	if _, err := memoryUsed(m); err == nil || !strings.Contains(err.Error(), "MemTotal") {
		t.Errorf("no MemTotal: %v", err)
	}
}

func TestLoadPerCore(t *testing.T) {
	f := newProcFixture(t)
	f.loadavg(3)
	snap := readFixture(t, f)
	readings, err := sampleLoad(snap)
	if err != nil {
		t.Fatal(err)
	}
	// 3 runnable tasks on 2 CPUs.
	if len(readings) != 1 || !near(readings[0].percent, 150) || readings[0].value != 300 || readings[0].oid.String() != "1.3.6.1.4.1.2021.10.1.5.1" {
		t.Errorf("readings %+v, want 150%% per core, sent as laLoadInt.1 = 300", readings)
	}
	if _, err := loadPerCorePercent(&procfs.LoadAvg{Load1: 1}, 0); err == nil {
		t.Error("no CPUs: no error")
	}
}

func TestReadMounts(t *testing.T) {
	f := newProcFixture(t)
	mounts, err := readMounts(f.paths.Proc("mounts"))
	if err != nil {
		t.Fatal(err)
	}
	var real []string
	for _, m := range mounts {
		if realFilesystem(m) {
			real = append(real, m.point+" "+m.fsType)
		}
	}
	// lxcfs is dropped by name here; unlisted pseudo file systems are
	// dropped later for having no blocks.
	want := "/ ext4|/var/lib/libvirt xfs|/mnt/vm images nfs4"
	if got := strings.Join(real, "|"); got != want {
		t.Errorf("real file systems %q, want %q", got, want)
	}
	f.write("mounts", "/dev/sda1 /\n")
	if _, err := readMounts(f.paths.Proc("mounts")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("short line: %v", err)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/mnt/a\040b`:  "/mnt/a b",
		`/a\011b\012c`: "/a\tb\nc",
		`/back\134sl`:  `/back\sl`,
		`/plain`:       "/plain",
		`/short\04`:    `/short\04`,
		`/not\0x9`:     `/not\0x9`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStorageIndexIsStable(t *testing.T) {
	f := newProcFixture(t)
	r, _ := newTestResources(t, Config{Enabled: true}, f, newFakeStatfs(nil))
	index := func() map[string]uint32 {
		watched, err := r.watchedMounts(&snapshot{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]uint32{}
		for _, w := range watched {
			m[w.mount.point] = w.index
		}
		return m
	}
	first := index()
	if first["/"] != 1 || first["/var/lib/libvirt"] != 2 || first["/mnt/vm images"] != 3 || len(first) != 3 {
		t.Errorf("indices %v, want / 1, /var/lib/libvirt 2, /mnt/vm images 3", first)
	}
	// A new mount listed first, and libvirt unmounted then remounted last:
	// everyone keeps its number, the newcomer takes the next.
	f.write("mounts", "/dev/sdc1 /srv ext4 rw 0 0\n/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /var/lib/libvirt xfs rw 0 0\n")
	second := index()
	if second["/"] != 1 || second["/var/lib/libvirt"] != 2 || second["/srv"] != 4 {
		t.Errorf("indices after remount %v, want / 1, /var/lib/libvirt 2, /srv 4", second)
	}
}

// TestBindMountsWatchedOnce: the mount table of the systemd unit's
// sandbox, where directories of the root file system are bind-mounted onto
// themselves (ReadWritePaths=, StateDirectory=, PrivateTmp=), watches the
// root once; a second device and a mount a rule names are still watched.
func TestBindMountsWatchedOnce(t *testing.T) {
	f := newProcFixture(t)
	f.write("mounts", "/dev/vda1 / ext4 rw 0 0\n"+
		"/dev/vda1 /etc/hostagent ext4 rw 0 0\n"+
		"/dev/vda1 /var/lib/hostagent ext4 rw 0 0\n"+
		"/dev/vda1 /tmp ext4 rw 0 0\n"+
		"/dev/vdb1 /var/lib/libvirt xfs rw 0 0\n"+
		"/dev/vda1 /var/tmp ext4 rw 0 0\n"+
		"nas:/a /mnt/a nfs4 rw 0 0\n"+
		"nas:/a /mnt/b nfs4 rw 0 0\n")
	r, _ := newTestResources(t, Config{Enabled: true, Rules: []Rule{
		{Name: "tmp", Resource: "filesystem", Mount: "/var/tmp", Rising: 90, Falling: 80, Interval: configstore.Duration(30 * time.Second)},
	}}, f, newFakeStatfs(nil))
	watched, err := r.watchedMounts(&snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	var points []string
	for _, w := range watched {
		points = append(points, w.mount.point)
	}
	if want := []string{"/", "/var/lib/libvirt", "/var/tmp", "/mnt/a", "/mnt/b"}; !slices.Equal(points, want) {
		t.Errorf("watched %q, want %q", points, want)
	}
}

func TestFilesystemUsedPercentAsDf(t *testing.T) {
	// 1000 blocks, 300 free of which 50 reserved for root: df shows
	// 700 / (700 + 250) = 73.7%.
	p, ok := fsUsage{blocks: 1000, free: 300, avail: 250}.usedPercent()
	if !ok || !near(p, 700.0/950*100) {
		t.Errorf("used %g, want %g", p, 700.0/950*100)
	}
	if _, ok := (fsUsage{}).usedPercent(); ok {
		t.Error("a file system without blocks has a percent")
	}
}

func TestHungStatfsIsSkipped(t *testing.T) {
	release := make(chan struct{})
	expired := make(chan time.Time)
	close(expired)
	g := &hangGuard{timeout: 5 * time.Second, busy: map[string]bool{}, statfs: func(path string) (fsUsage, error) {
		if path == "/nfs" {
			<-release
		}
		return usedFS(10), nil
	}}
	// The timeout is up at once: /nfs, which does not answer, has hung.
	g.after = func(time.Duration) <-chan time.Time { return expired }
	ctx := context.Background()
	if _, err := g.usage(ctx, "/nfs"); !errors.Is(err, errHung) || !strings.Contains(err.Error(), "no answer within 5s") {
		t.Fatalf("hung statfs: %v", err)
	}
	// From here the timeout never comes: answers are waited for.
	g.after = func(time.Duration) <-chan time.Time { return nil }
	if _, err := g.usage(ctx, "/nfs"); !errors.Is(err, errHung) || !strings.Contains(err.Error(), "skipped") {
		t.Errorf("while still hung: %v", err)
	}
	if _, err := g.usage(ctx, "/"); err != nil {
		t.Errorf("another path while /nfs hangs: %v", err)
	}
	close(release)
	// The hung call returns on its own goroutine; /nfs is read again once
	// it has.
	peertest.Eventually(t, 5*time.Second, "/nfs read again after the server answered", func() bool {
		_, err := g.usage(ctx, "/nfs")
		return err == nil
	})
}
