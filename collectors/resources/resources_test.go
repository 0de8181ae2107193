package resources

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"hostagent/internal/configstore"
	"hostagent/mibs"
)

const (
	rise = "mteTriggerRising"
	fall = "mteTriggerFalling"
)

func fixtureStatfs() *fakeStatfs {
	return newFakeStatfs(map[string]fsUsage{
		"/host":                  usedFS(95),
		"/host/var/lib/libvirt":  usedFS(50),
		"/host/mnt/vm images":    usedFS(10),
		"/host/run":              usedFS(5),
		"/host/var/lib/lxcfs":    {}, // a pseudo file system has no blocks
		"/host/var/lib/docker/x": usedFS(99),
	})
}

func poll(t *testing.T, r *Resources, out *recorder) []sent {
	t.Helper()
	if err := r.Poll(context.Background(), out); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	return out.take()
}

func expectSent(t *testing.T, step string, got []sent, want ...sent) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: sent\n  %v\nwant\n  %v", step, got, want)
	}
}

func TestPollEndToEnd(t *testing.T) {
	f := newProcFixture(t)
	fs := fixtureStatfs()
	r, clock := newTestResources(t, DefaultConfig(), f, fs)
	out := &recorder{}

	// Startup: cpu only primes; memory 50%, swap 0%, load 25% are below
	// falling and say nothing; / at 95% is above rising and says so.
	// mteHotValue is in the unit of mteHotOID: a percent for
	// hrProcessorLoad and dskPercent, kB for hrStorageUsed, load × 100 for
	// laLoadInt.
	expectSent(t, "startup", poll(t, r, out),
		sent{rise, "filesystem", "1.3.6.1.4.1.2021.9.1.9.1", 95})

	// Two CPUs 95% busy in the interval, memory 97% used, load 5 on 2
	// CPUs, / down to 70%.
	f.stat(cpuTicks{busy: 195, idle: 905}, cpuTicks{busy: 100, idle: 450}, cpuTicks{busy: 95, idle: 455})
	f.meminfo(1000, 30, 2000, 2000)
	f.loadavg(5)
	fs.set("/host", usedFS(70))
	clock.advance(30 * time.Second)
	expectSent(t, "busy", poll(t, r, out),
		sent{rise, "cpu", "1.3.6.1.2.1.25.3.3.1.2.196608", 95},
		sent{rise, "memory", "1.3.6.1.2.1.25.2.3.1.6.1", 970},
		sent{fall, "filesystem", "1.3.6.1.4.1.2021.9.1.9.1", 70},
		sent{rise, "load", "1.3.6.1.4.1.2021.10.1.5.1", 500})

	// Still busy: no repeat. /proc/stat unchanged gives no cpu figure, which
	// must not reset the cpu trigger either.
	clock.advance(30 * time.Second)
	expectSent(t, "still busy", poll(t, r, out))
	f.stat(cpuTicks{busy: 295, idle: 905}, cpuTicks{busy: 150, idle: 450}, cpuTicks{busy: 145, idle: 455})
	clock.advance(30 * time.Second)
	expectSent(t, "cpu at 100%, already risen", poll(t, r, out))

	// Memory back to 84.6% (846 kB used, rounded 85%: at falling), swap
	// filling to 60% (1200 kB).
	f.meminfo(1000, 154, 2000, 800)
	clock.advance(30 * time.Second)
	expectSent(t, "recovering", poll(t, r, out),
		sent{fall, "memory", "1.3.6.1.2.1.25.2.3.1.6.1", 846},
		sent{rise, "swap", "1.3.6.1.2.1.25.2.3.1.6.10", 1200})

	// Polls in between intervals read nothing.
	fs.set("/host", usedFS(99))
	clock.advance(10 * time.Second)
	expectSent(t, "between intervals", poll(t, r, out))
	clock.advance(20 * time.Second)
	expectSent(t, "next interval", poll(t, r, out),
		sent{rise, "filesystem", "1.3.6.1.4.1.2021.9.1.9.1", 99})
}

func TestPollFilesystemSelection(t *testing.T) {
	f := newProcFixture(t)
	fs := fixtureStatfs()
	for _, p := range []string{"/host", "/host/var/lib/libvirt", "/host/mnt/vm images", "/host/run", "/host/var/lib/lxcfs"} {
		fs.set(p, usedFS(99))
	}
	cfg := Config{Enabled: true, Rules: []Rule{
		{Name: "all", Resource: Filesystem, Rising: 90, Falling: 80},
		{Name: "run", Resource: Filesystem, Mount: "/run/", Rising: 90, Falling: 80},
	}}
	r, _ := newTestResources(t, cfg, f, fs)
	out := &recorder{}
	// tmpfs /run is watched only by the rule naming it, numbered in file
	// order among the watched mounts; lxcfs, overlay, squashfs, proc and
	// the others are never read.
	expectSent(t, "all real file systems", poll(t, r, out),
		sent{rise, "all", "1.3.6.1.4.1.2021.9.1.9.1", 99},
		sent{rise, "all", "1.3.6.1.4.1.2021.9.1.9.3", 99},
		sent{rise, "all", "1.3.6.1.4.1.2021.9.1.9.4", 99},
		sent{rise, "run", "1.3.6.1.4.1.2021.9.1.9.2", 99})
	for _, p := range []string{"/host/var/lib/docker/overlay2/abc/merged", "/host/snap/core22/1380", "/host/proc", "/host/sys/fs/cgroup"} {
		if n := fs.count(p); n != 0 {
			t.Errorf("%s read %d times", p, n)
		}
	}
}

func TestPollReportsFailuresAndGoesOn(t *testing.T) {
	f := newProcFixture(t)
	fs := fixtureStatfs()
	fs.set("/host/var/lib/libvirt", usedFS(99))
	delete(fs.usage, "/host/mnt/vm images")
	cfg := Config{Enabled: true, Rules: []Rule{
		{Name: "gone", Resource: Filesystem, Mount: "/srv", Rising: 90, Falling: 80},
		{Name: "all", Resource: Filesystem, Rising: 90, Falling: 80},
		{Name: "swap", Resource: Swap, Rising: 1, Falling: 0},
	}}
	f.meminfo(1000, 500, 0, 0) // no swap: nothing to compare, no error
	r, _ := newTestResources(t, cfg, f, fs)
	out := &recorder{}
	err := r.Poll(context.Background(), out)
	for _, want := range []string{`rule "gone"`, "mount point /srv is not mounted", `rule "all"`, "mount point /mnt/vm images", "statfs"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "swap") {
		t.Errorf("a host without swap is an error: %v", err)
	}
	expectSent(t, "the readable mounts still notify", out.take(),
		sent{rise, "all", "1.3.6.1.4.1.2021.9.1.9.1", 95},
		sent{rise, "all", "1.3.6.1.4.1.2021.9.1.9.2", 99})
}

type failingNotifier struct{ calls int }

func (n *failingNotifier) Notify(context.Context, mibs.Notification) error {
	n.calls++
	return errors.New("queue full")
}

func TestPollNotifyFailureStillMovesTheTrigger(t *testing.T) {
	f := newProcFixture(t)
	f.meminfo(1000, 10, 0, 0)
	r, clock := newTestResources(t, Config{Enabled: true, Rules: []Rule{{Name: "mem", Resource: Memory, Rising: 90, Falling: 80}}}, f, fixtureStatfs())
	out := &failingNotifier{}
	err := r.Poll(context.Background(), out)
	if err == nil || !strings.Contains(err.Error(), `rule "mem": notify mteTriggerRising: queue full`) {
		t.Errorf("error %v", err)
	}
	clock.advance(30 * time.Second)
	if err := r.Poll(context.Background(), out); err != nil || out.calls != 1 {
		t.Errorf("second poll: %v, %d notifications in all, want no resend", err, out.calls)
	}
}

func TestPollPerRuleIntervals(t *testing.T) {
	f := newProcFixture(t)
	fs := fixtureStatfs()
	cfg := Config{Enabled: true, Rules: []Rule{
		{Name: "root", Resource: Filesystem, Mount: "/", Rising: 99, Falling: 1, Interval: configstore.Duration(time.Second)},
		{Name: "libvirt", Resource: Filesystem, Mount: "/var/lib/libvirt", Rising: 99, Falling: 1, Interval: configstore.Duration(5 * time.Second)},
		{Name: "images", Resource: Filesystem, Mount: "/mnt/vm images", Rising: 99, Falling: 1}, // default 30s
	}}
	r, clock := newTestResources(t, cfg, f, fs)
	if got := r.PollInterval(); got != time.Second {
		t.Errorf("PollInterval %s, want 1s", got)
	}
	out := &recorder{}
	for range 21 { // 0s to 10s every 500ms
		poll(t, r, out)
		clock.advance(500 * time.Millisecond)
	}
	counts := []int{fs.count("/host"), fs.count("/host/var/lib/libvirt"), fs.count("/host/mnt/vm images")}
	if !slices.Equal(counts, []int{11, 3, 1}) {
		t.Errorf("samples of /, /var/lib/libvirt, /mnt/vm images over 10s: %v, want [11 3 1]", counts)
	}
}

func TestScheduleToleratesJitterAndStalls(t *testing.T) {
	s := newRuleState(Rule{Interval: configstore.Duration(30 * time.Second)})
	start := newFakeClock().t
	at := func(d time.Duration) bool { return s.due(start.Add(d)) }
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{29990 * time.Millisecond, true}, // a tick 10ms early still samples
		{45 * time.Second, false},
		{59980 * time.Millisecond, true}, // and the grid does not drift
		{89970 * time.Millisecond, true},
		{300 * time.Second, true}, // after a stall, sample at once
		{310 * time.Second, false},
		{330 * time.Second, true},
	}
	for _, st := range steps {
		if got := at(st.at); got != st.want {
			t.Errorf("due at %s: %v, want %v", st.at, got, st.want)
		}
	}
}

func TestPollIntervalIsTheGCD(t *testing.T) {
	f := newProcFixture(t)
	rules := func(intervals ...time.Duration) Config {
		cfg := Config{Enabled: true}
		for i, d := range intervals {
			cfg.Rules = append(cfg.Rules, Rule{Name: string(rune('a' + i)), Resource: Memory, Rising: 2, Falling: 1, Interval: configstore.Duration(d)})
		}
		return cfg
	}
	for _, tc := range []struct {
		cfg  Config
		want time.Duration
	}{
		{rules(30*time.Second, 45*time.Second), 15 * time.Second},
		{rules(0, time.Minute), 30 * time.Second},
		{rules(1500*time.Millisecond, 2*time.Second), time.Second},
		{Config{Enabled: true}, 30 * time.Second},
	} {
		r, _ := newTestResources(t, tc.cfg, f, newFakeStatfs(nil))
		if got := r.PollInterval(); got != tc.want {
			t.Errorf("PollInterval of %+v: %s, want %s", tc.cfg.Rules, got, tc.want)
		}
	}
}

func TestPollDisabledReadsNothing(t *testing.T) {
	f := newProcFixture(t)
	cfg := DefaultConfig()
	cfg.Enabled = false
	fs := fixtureStatfs()
	r, _ := newTestResources(t, cfg, f, fs)
	f.write("stat", "garbage")
	if err := r.Poll(context.Background(), &recorder{}); err != nil || fs.count("/host") != 0 {
		t.Errorf("disabled: %v, %d reads", err, fs.count("/host"))
	}
}

func TestNewNeedsProcFS(t *testing.T) {
	f := newProcFixture(t)
	f.paths.ProcFS += "/missing"
	if _, err := New(DefaultConfig(), f.paths, nil); err == nil || !strings.Contains(err.Error(), "procfs") {
		t.Errorf("missing procfs: %v", err)
	}
}

func BenchmarkPoll(b *testing.B) {
	f := newProcFixture(b)
	fs := fixtureStatfs()
	r, clock := newTestResources(b, DefaultConfig(), f, fs)
	out := &recorder{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		clock.advance(30 * time.Second) // every rule due at every poll
		if err := r.Poll(ctx, out); err != nil {
			b.Fatal(err)
		}
		out.take()
	}
}
