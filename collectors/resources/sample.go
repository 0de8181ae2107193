package resources

import (
	"errors"
	"fmt"

	"github.com/prometheus/procfs"
)

// snapshot reads each /proc file at most once per Poll, however many rules
// need it: two cpu rules and a load rule due together share one /proc/stat.
type snapshot struct {
	fs      procfs.FS
	stat    lazy[procfs.Stat]
	meminfo lazy[procfs.Meminfo]
	loadavg lazy[*procfs.LoadAvg]
	mounts  lazy[[]mount]
}

// lazy memoizes one read, error included.
type lazy[T any] struct {
	done bool
	v    T
	err  error
}

func (l *lazy[T]) get(read func() (T, error)) (T, error) {
	if !l.done {
		l.v, l.err = read()
		l.done = true
	}
	return l.v, l.err
}

func (s *snapshot) Stat() (procfs.Stat, error) {
	st, err := s.stat.get(s.fs.Stat)
	if err != nil {
		return st, fmt.Errorf("read /proc/stat: %w", err)
	}
	return st, nil
}

func (s *snapshot) Meminfo() (procfs.Meminfo, error) {
	m, err := s.meminfo.get(s.fs.Meminfo)
	if err != nil {
		return m, fmt.Errorf("read /proc/meminfo: %w", err)
	}
	return m, nil
}

func (s *snapshot) LoadAvg() (*procfs.LoadAvg, error) {
	l, err := s.loadavg.get(s.fs.LoadAvg)
	if err != nil {
		return nil, fmt.Errorf("read /proc/loadavg: %w", err)
	}
	return l, nil
}

// cpuLoad is the busy percent between two /proc/stat samples, overall and
// per CPU (keyed by the number in "cpuN").
type cpuLoad struct {
	overall float64
	perCPU  map[int64]float64
}

// busiest returns the CPU with the highest busy percent, for logs.
func (c cpuLoad) busiest() (cpu int64, percent float64) {
	cpu = -1
	for n, p := range c.perCPU {
		if cpu < 0 || p > percent || p == percent && n < cpu {
			cpu, percent = n, p
		}
	}
	return cpu, percent
}

// cpuBusy computes the load between prev and cur. ok is false when no time
// passed between them (the same sample twice), when there is nothing to
// compare.
func cpuBusy(prev, cur procfs.Stat) (load cpuLoad, ok bool) {
	load.overall, ok = busyPercent(prev.CPUTotal, cur.CPUTotal)
	if !ok {
		return cpuLoad{}, false
	}
	load.perCPU = make(map[int64]float64, len(cur.CPU))
	for n, c := range cur.CPU {
		// A CPU brought online since prev has nothing to compare with.
		if p, seen := prev.CPU[n]; seen {
			if busy, ok := busyPercent(p, c); ok {
				load.perCPU[n] = busy
			}
		}
	}
	return load, true
}

// busyPercent is the share of non-idle time between two samples of one
// CPU's counters, as top and hrProcessorLoad count it: iowait is idle time
// (the CPU could have run something else), guest time is already inside
// user and nice so it is not added again.
func busyPercent(prev, cur procfs.CPUStat) (float64, bool) {
	total := func(c procfs.CPUStat) float64 {
		return c.User + c.Nice + c.System + c.Idle + c.Iowait + c.IRQ + c.SoftIRQ + c.Steal
	}
	idle := func(c procfs.CPUStat) float64 { return c.Idle + c.Iowait }
	dTotal := total(cur) - total(prev)
	if dTotal <= 0 {
		return 0, false
	}
	busy := (dTotal - (idle(cur) - idle(prev))) / dTotal * 100
	// iowait can go backwards on tickless kernels; keep the result a percent.
	return min(max(busy, 0), 100), true
}

// kBUsage is an amount used out of a total, in kB as /proc/meminfo gives
// them: the unit of net-snmp's hrStorageTable rows for memory and swap.
type kBUsage struct{ used, total uint64 }

// percent is the share used, the figure a memory or swap rule compares.
func (u kBUsage) percent() float64 { return float64(u.used) / float64(u.total) * 100 }

// memoryUsed is MemTotal - MemAvailable: memory the kernel cannot hand out
// without swapping. Kernels before 3.14 lack MemAvailable; MemFree + Buffers
// + Cached is the estimate free(1) used then.
func memoryUsed(m procfs.Meminfo) (kBUsage, error) {
	if m.MemTotal == nil || *m.MemTotal == 0 {
		return kBUsage{}, errors.New("/proc/meminfo has no MemTotal")
	}
	total := *m.MemTotal
	var available uint64
	switch {
	case m.MemAvailable != nil:
		available = *m.MemAvailable
	case m.MemFree != nil:
		available = *m.MemFree + deref(m.Buffers) + deref(m.Cached)
	default:
		return kBUsage{}, errors.New("/proc/meminfo has neither MemAvailable nor MemFree")
	}
	return kBUsage{used: total - min(available, total), total: total}, nil
}

// swapUsed is SwapTotal - SwapFree; ok is false on a host without swap,
// where a swap rule has nothing to compare.
func swapUsed(m procfs.Meminfo) (u kBUsage, ok bool, err error) {
	if m.SwapTotal == nil || *m.SwapTotal == 0 {
		return kBUsage{}, false, nil
	}
	if m.SwapFree == nil {
		return kBUsage{}, false, errors.New("/proc/meminfo has SwapTotal but no SwapFree")
	}
	total := *m.SwapTotal
	return kBUsage{used: total - min(*m.SwapFree, total), total: total}, true, nil
}

// loadPerCorePercent is the 1-minute load average per online CPU as a
// percent of one core: 100 means one runnable task per core.
func loadPerCorePercent(l *procfs.LoadAvg, cpus int) (float64, error) {
	if cpus <= 0 {
		return 0, errors.New("/proc/stat lists no cpuN line to divide the load average by")
	}
	return l.Load1 / float64(cpus) * 100, nil
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}
