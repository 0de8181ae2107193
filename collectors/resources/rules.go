package resources

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/procfs"

	"hostagent/mibs"
)

// ruleState is a rule with what it remembers between samples.
type ruleState struct {
	rule      Rule
	threshold threshold
	interval  time.Duration
	next      time.Time           // when the rule is next due; zero: at once
	prevStat  *procfs.Stat        // cpu: the previous /proc/stat, for deltas
	triggers  map[string]*trigger // by instance ("" or the mount point)
}

func newRuleState(r Rule) *ruleState {
	return &ruleState{
		rule:      r,
		threshold: threshold{rising: r.Rising, falling: r.Falling},
		interval:  r.interval(),
		triggers:  map[string]*trigger{},
	}
}

// due reports whether the rule samples at now, and if so schedules the next
// sample. The schedule keeps to a grid of the interval from the first sample
// rather than from each poll, so a 30s rule polled every second samples
// every 30s, not every 31s. A poll up to a tenth of the interval early still
// counts, because the Runner's ticker and the clock read inside Poll jitter
// by a few milliseconds and would otherwise skip a whole tick.
func (s *ruleState) due(now time.Time) bool {
	if !s.next.IsZero() && now.Before(s.next.Add(-s.interval/10)) {
		return false
	}
	if s.next.IsZero() {
		s.next = now
	}
	s.next = s.next.Add(s.interval)
	if !s.next.After(now) { // fell behind (a long stall): restart the grid
		s.next = now.Add(s.interval)
	}
	return true
}

// trigger returns the instance's trigger, starting one at first sight.
func (s *ruleState) trigger(instance string) *trigger {
	t, ok := s.triggers[instance]
	if !ok {
		t = &trigger{}
		s.triggers[instance] = t
	}
	return t
}

// instancesComeAndGo is true of the resources whose instances appear and
// disappear (file systems mount and unmount, swap is turned on and off), so
// that a sample without an instance means it is gone. A cpu sample without
// a reading only means no time passed, and must not reset the trigger.
func (s *ruleState) instancesComeAndGo() bool {
	return s.rule.Resource == Filesystem || s.rule.Resource == Swap
}

// forgetAllBut drops the triggers of instances that are gone (an unmounted
// file system, swap turned off): if they come back they start afresh.
func (s *ruleState) forgetAllBut(readings []reading) {
	for instance := range s.triggers {
		if !containsInstance(readings, instance) {
			delete(s.triggers, instance)
		}
	}
}

func containsInstance(readings []reading, instance string) bool {
	for _, r := range readings {
		if r.instance == instance {
			return true
		}
	}
	return false
}

// reading is one instance's value at one sample.
type reading struct {
	instance string   // "" or the mount point
	oid      mibs.OID // sent as mteHotOID
	percent  float64  // what the rule's thresholds compare
	value    int64    // sent as mteHotValue: the value of oid, in its unit
	detail   []any    // extra log attributes
}

// sample reads the rule's resource. A filesystem rule may return readings
// together with an error for the mounts it could not read.
func (r *Resources) sample(ctx context.Context, s *ruleState, snap *snapshot) ([]reading, error) {
	switch s.rule.Resource {
	case CPU:
		return sampleCPU(s, snap)
	case Memory:
		m, err := snap.Meminfo()
		if err != nil {
			return nil, err
		}
		u, err := memoryUsed(m)
		if err != nil {
			return nil, err
		}
		return []reading{{oid: memoryOID, percent: u.percent(), value: saturate(float64(u.used))}}, nil
	case Swap:
		m, err := snap.Meminfo()
		if err != nil {
			return nil, err
		}
		u, ok, err := swapUsed(m)
		if err != nil || !ok {
			return nil, err
		}
		return []reading{{oid: swapOID, percent: u.percent(), value: saturate(float64(u.used))}}, nil
	case Load:
		return sampleLoad(snap)
	case Filesystem:
		return r.sampleFilesystems(ctx, s, snap)
	}
	return nil, fmt.Errorf("unknown resource %q", s.rule.Resource) // Validate prevents it
}

// sampleCPU compares /proc/stat with the rule's previous sample: the first
// sample only primes. The rule watches the overall busy percent, sent as
// hrProcessorLoad of the first processor; per-CPU figures go to the log.
func sampleCPU(s *ruleState, snap *snapshot) ([]reading, error) {
	cur, err := snap.Stat()
	if err != nil {
		return nil, err
	}
	prev := s.prevStat
	s.prevStat = &cur
	if prev == nil {
		return nil, nil
	}
	load, ok := cpuBusy(*prev, cur)
	if !ok {
		return nil, nil
	}
	cpu, busiest := load.busiest()
	return []reading{{oid: cpuOID, percent: load.overall, value: saturate(load.overall), detail: []any{"busiest_cpu", cpu, "busiest_cpu_percent", saturate(busiest)}}}, nil
}

func sampleLoad(snap *snapshot) ([]reading, error) {
	st, err := snap.Stat()
	if err != nil {
		return nil, err
	}
	l, err := snap.LoadAvg()
	if err != nil {
		return nil, err
	}
	p, err := loadPerCorePercent(l, len(st.CPU))
	if err != nil {
		return nil, err
	}
	// laLoadInt is the whole host's load × 100, not the rule's per-core
	// percent; rounding rather than truncating keeps 2.29 at 229 where
	// floating point gives 228.99999...
	return []reading{{oid: loadOID, percent: p, value: saturate(l.Load1 * 100), detail: []any{"load1", l.Load1, "cpus", len(st.CPU)}}}, nil
}

// sampleFilesystems reads the rule's mount, or every real file system when
// the rule names none. One unreadable mount does not hide the others.
func (r *Resources) sampleFilesystems(ctx context.Context, s *ruleState, snap *snapshot) ([]reading, error) {
	watched, err := r.watchedMounts(snap)
	if err != nil {
		return nil, err
	}
	var targets []watchedMount
	if s.rule.Mount != "" {
		w, ok := findMount(watched, s.rule.Mount)
		if !ok {
			return nil, fmt.Errorf("mount point %s is not mounted (not in %s)", s.rule.Mount, r.mountsPath)
		}
		targets = []watchedMount{w}
	} else {
		for _, w := range watched {
			if realFilesystem(w.mount) {
				targets = append(targets, w)
			}
		}
	}
	var readings []reading
	var errs []error
	for _, w := range targets {
		u, err := r.guard.usage(ctx, filepath.Join(r.root, w.mount.point))
		if err != nil {
			errs = append(errs, fmt.Errorf("mount point %s: %w", w.mount.point, err))
			continue
		}
		p, ok := u.usedPercent()
		if !ok { // no blocks: a pseudo file system not in virtualFilesystems
			continue
		}
		readings = append(readings, reading{
			instance: w.mount.point, oid: filesystemOID(w.index), percent: p, value: saturate(p),
			detail: []any{"mount", w.mount.point, "device", w.mount.device, "type", w.mount.fsType},
		})
	}
	return readings, errors.Join(errs...)
}

// watchedMount is a mount point some rule watches, with its dskIndex.
type watchedMount struct {
	mount mount
	index uint32
}

// watchedMounts lists, in mounts-file order, the mount points that are real
// file systems or named by a rule, numbering them in that order. Every real
// file system is numbered whether or not a rule watches all of them, so a
// mount's index does not change with the rules; only a rule naming a
// virtual file system (a tmpfs) adds it to the numbering.
// A mount point listed twice (a mount stacked over another) appears once,
// at its first position, with the type of the last, visible, mount.
//
// A block device mounted at several points is one file system, with one
// usage: it is watched at its first mount point only, unless a rule names
// another. Under the systemd unit's sandbox, /proc/mounts lists the
// service's own mount namespace, where ReadWritePaths=, StateDirectory=
// and PrivateTmp= bind-mount directories of the root file system onto
// themselves: each would otherwise be a file system of its own, with a
// trap of its own when the root fills up.
func (r *Resources) watchedMounts(snap *snapshot) ([]watchedMount, error) {
	mounts, err := snap.mounts.get(func() ([]mount, error) { return readMounts(r.mountsPath) })
	if err != nil {
		return nil, err
	}
	visible := make(map[string]mount, len(mounts))
	for _, m := range mounts {
		visible[m.point] = m
	}
	var watched []watchedMount
	devices := map[string]bool{}
	for _, m := range mounts {
		top, pending := visible[m.point]
		if !pending {
			continue // already listed
		}
		delete(visible, m.point)
		named := r.namedMounts[top.point]
		if !realFilesystem(top) && !named {
			continue
		}
		// Only block devices: "overlay", "nas:/export" and the like name
		// no single file system.
		if strings.HasPrefix(top.device, "/dev/") {
			if devices[top.device] && !named {
				continue // a bind mount, or the same device mounted again
			}
			devices[top.device] = true
		}
		watched = append(watched, watchedMount{mount: top, index: r.storage.of(top.point)})
	}
	return watched, nil
}

func findMount(watched []watchedMount, point string) (watchedMount, bool) {
	for _, w := range watched {
		if w.mount.point == point {
			return w, true
		}
	}
	return watchedMount{}, false
}
