// Package collectors turns readings of the host (VM state, hardware
// sensors, resource counters, network links) into notifications. Every
// source delivers through a Notifier, so none of them knows about SNMP,
// targets or encodings. Each source lives in its own sub-package (vms,
// sensors, resources, links) and registers itself by name from its init;
// this package holds what they share: the Notifier and Source contracts,
// the registry that makes collectors.toml of their sections, the
// file-system roots, and the loop that polls.
package collectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"hostagent/mibs"
)

// Notifier is the one API for every producer of notifications; the SNMP
// agent (snmpagent.Agent) implements it.
type Notifier interface {
	// Notify sends n, built from the catalogue (mibs.VmwVmPoweredOn.New,
	// ...), to every configured target. It does not block on a target.
	Notify(ctx context.Context, n mibs.Notification) error
}

// Publisher takes what a source knows of the host now, for SNMP polls
// (the VMware MIBs' tables and scalars, served through snmpd): the
// objects of the source's own section, whole, each time they change, so
// that a poll never sees half of a change. snmpagent/mibview.View
// implements it.
type Publisher interface {
	Publish(section string, objects []mibs.VarBind)
}

// Discard is a Publisher for sources whose state nothing polls.
var Discard Publisher = discardObjects{}

type discardObjects struct{}

func (discardObjects) Publish(string, []mibs.VarBind) {}

// Paths are the roots of procfs and sysfs, as node_exporter's --path.procfs
// and --path.sysfs: tests point them at fixture trees.
type Paths struct {
	ProcFS string
	SysFS  string
}

// DefaultPaths are the kernel's own mount points.
var DefaultPaths = Paths{ProcFS: "/proc", SysFS: "/sys"}

// Sys joins elem under the sysfs root.
func (p Paths) Sys(elem ...string) string {
	return filepath.Join(append([]string{p.SysFS}, elem...)...)
}

// Proc joins elem under the procfs root.
func (p Paths) Proc(elem ...string) string {
	return filepath.Join(append([]string{p.ProcFS}, elem...)...)
}

// ErrAbsent says a source does not exist on this host (no hwmon chip, no
// hypervisor): logged at debug level, not counted as a failure.
var ErrAbsent = errors.New("source absent on this host")

// Poller is a source read at an interval. Poll compares what it reads with
// what it saw last time and notifies the changes.
type Poller interface {
	Poll(ctx context.Context, out Notifier) error
}

// Stats describe a collector's runs, for the API and metrics.
type Stats struct {
	Runs         uint64
	Failures     uint64
	LastDuration time.Duration
	LastError    string
	// LastRun is when the last run ended (zero before the first).
	LastRun time.Time
	// Absent says the last run found no source on this host (ErrAbsent).
	Absent bool
}

// Runner polls one Poller at its interval, records how each run went, and
// keeps a failing or panicking run from stopping the others.
type Runner struct {
	Name     string
	Interval time.Duration
	Poller   Poller
	Log      *slog.Logger
	// Wake, when set, asks for a poll before the interval is up (the
	// kernel announcing a change); a buffered channel of one coalesces
	// a burst into one more poll.
	Wake <-chan struct{}

	mu    sync.Mutex
	stats Stats
}

// Stats returns a copy of the run counters.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Run polls at once, then every Interval and on each Wake, until ctx is
// done. A run that takes longer than the interval makes the ticker drop
// ticks: runs never overlap.
func (r *Runner) Run(ctx context.Context, out Notifier) error {
	tick := time.NewTicker(r.Interval)
	defer tick.Stop()
	for {
		r.once(ctx, out)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-r.Wake:
		}
	}
}

func (r *Runner) once(ctx context.Context, out Notifier) {
	start := time.Now()
	err := r.poll(ctx, out)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Runs++
	r.stats.LastDuration = time.Since(start)
	r.stats.LastRun = start.Add(r.stats.LastDuration)
	r.stats.LastError = ""
	r.stats.Absent = false
	switch {
	case err == nil:
	case errors.Is(err, ErrAbsent):
		r.stats.Absent = true
		r.Log.Debug("collector source absent", "collector", r.Name, "err", err)
	default:
		r.stats.Failures++
		r.stats.LastError = err.Error()
		r.Log.Warn("collector run failed", "collector", r.Name, "err", err)
	}
}

func (r *Runner) poll(ctx context.Context, out Notifier) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return r.Poller.Poll(ctx, out)
}
