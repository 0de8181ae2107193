// Package resources samples host resource counters (CPU, memory, swap, file systems, load) and applies threshold rules armed and re-armed like RMON and DISMAN-EVENT-MIB, notifying mteTriggerRising and mteTriggerFalling.
//
// Each notification carries mteHotTrigger = the rule's name, empty
// mteHotTargetName and mteHotContextName, mteHotOID = the object net-snmp's
// snmpd serves for the same figure, and mteHotValue = that object's value
// at the sample, in the object's own unit (DISMAN-EVENT-MIB: "the value of
// the object at mteTriggerValueID"), rounded:
//
//	cpu         HOST-RESOURCES-MIB::hrProcessorLoad.196608  overall busy %
//	memory      HOST-RESOURCES-MIB::hrStorageUsed.1         kB used (MemTotal - MemAvailable)
//	swap        HOST-RESOURCES-MIB::hrStorageUsed.10        kB used (SwapTotal - SwapFree)
//	filesystem  UCD-SNMP-MIB::dskPercent.N                  % used as df shows it; N = 1, 2, ... per mount point
//	load        UCD-SNMP-MIB::laLoadInt.1                   1-minute load average × 100
//
// hrStorageUsed counts hrStorageAllocationUnits, 1024 bytes in net-snmp's
// memory and swap rows; neither HOST-RESOURCES-MIB nor UCD-SNMP-MIB has a
// percent of memory. Values beyond Integer32 (more than 2 TiB used) are
// sent as its largest value.
//
// The thresholds are not in those units: a rule compares percents (load:
// the load per core in percent), so that one rule fits every host size.
// The log line of each crossing gives both the percent and the value sent.
//
// The cpu rule watches the busy percent of all CPUs together, not each CPU:
// a hypervisor's scheduler moves a spinning vCPU from core to core, and per
// core triggers would flap with it, while a saturated 64-core host would
// send 64 notifications at once. hrProcessorLoad has no "all processors"
// row, so the first processor's row (196608, net-snmp's hrDeviceIndex of
// cpu0) names the object; the log names the busiest CPU.
package resources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/procfs"

	"hostagent/collectors"
	"hostagent/mibs"
)

// Resources is the Poller of the resource rules.
type Resources struct {
	log         *slog.Logger
	enabled     bool
	procfs      procfs.FS
	mountsPath  string
	root        string // file systems are read at root + mount point
	namedMounts map[string]bool
	storage     *storageIndex
	guard       *hangGuard
	now         func() time.Time

	mu    sync.Mutex // Poll is not meant to run concurrently; this makes it safe
	rules []*ruleState

	publisher collectors.Publisher // VMWARE-RESOURCES-MIB's scalars, for polls (host.go)
}

var _ collectors.Poller = (*Resources)(nil)

// Option adjusts what New builds.
type Option func(*Resources)

// WithRootFS reads file systems under dir instead of /: an agent running in
// a container with the host's / mounted at /host passes "/host" (with
// Paths.ProcFS "/host/proc"), as node_exporter's --path.rootfs.
func WithRootFS(dir string) Option { return func(r *Resources) { r.root = dir } }

// New validates cfg and prepares its rules; nothing is read until Poll.
func New(cfg Config, paths collectors.Paths, log *slog.Logger, opts ...Option) (*Resources, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("resources configuration: %w", err)
	}
	fs, err := procfs.NewFS(paths.ProcFS)
	if err != nil {
		return nil, fmt.Errorf("resources: procfs at %s: %w", paths.ProcFS, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Resources{
		log:         log,
		enabled:     cfg.Enabled,
		procfs:      fs,
		mountsPath:  paths.Proc("mounts"),
		root:        "/",
		namedMounts: map[string]bool{},
		storage:     newStorageIndex(),
		guard:       &hangGuard{statfs: statfs, timeout: statfsTimeout, busy: map[string]bool{}},
		now:         time.Now,
		publisher:   collectors.Discard,
	}
	for _, rule := range cfg.Rules {
		if rule.Mount != "" {
			rule.Mount = filepath.Clean(rule.Mount)
			r.namedMounts[rule.Mount] = true
		}
		r.rules = append(r.rules, newRuleState(rule))
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// PollInterval is how often to call Poll so that every rule samples on
// time: the greatest common divisor of the rule intervals (30s and 45s give
// 15s), but at least a second; with no rule, the default interval.
func (r *Resources) PollInterval() time.Duration {
	var g time.Duration
	for _, s := range r.rules {
		g = gcd(g, s.interval)
	}
	switch {
	case g == 0:
		return DefaultInterval
	case g < MinInterval:
		return MinInterval
	}
	return g
}

func gcd(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Poll samples the rules whose interval has elapsed and notifies the
// thresholds crossed. A failing rule does not stop the others; the errors
// are returned together. A notification that fails to send still moves its
// trigger on: resending a stale crossing at the next sample would mislead
// more than the lost notification.
func (r *Resources) Poll(ctx context.Context, out collectors.Notifier) error {
	if !r.enabled {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	snap := &snapshot{fs: r.procfs}
	var errs []error
	if err := r.publishHost(snap); err != nil {
		errs = append(errs, err)
	}
	for _, s := range r.rules {
		if !s.due(now) {
			continue
		}
		readings, err := r.sample(ctx, s, snap)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("rule %q (%s): %w", s.rule.Name, s.rule.Resource, err))
		case s.instancesComeAndGo():
			s.forgetAllBut(readings)
		}
		for _, rd := range readings {
			if err := r.observe(ctx, out, s, rd); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// observe feeds one reading to its trigger and sends the crossing, if any.
func (r *Resources) observe(ctx context.Context, out collectors.Notifier, s *ruleState, rd reading) error {
	e := s.trigger(rd.instance).observe(s.threshold, rd.percent)
	if e == noEdge {
		return nil
	}
	r.log.Info("resource threshold crossed", append([]any{
		"rule", s.rule.Name, "resource", s.rule.Resource, "edge", e.String(),
		"percent", saturate(rd.percent), "rising", s.threshold.rising, "falling", s.threshold.falling,
		"oid", rd.oid.String(), "value", rd.value}, rd.detail...)...)
	n, err := crossing(e, s.rule.Name, rd.oid, rd.value)
	if err != nil {
		return fmt.Errorf("rule %q: build %s notification: %w", s.rule.Name, e, err)
	}
	if err := out.Notify(ctx, n); err != nil {
		return fmt.Errorf("rule %q: notify %s: %w", s.rule.Name, n.Type.Name, err)
	}
	return nil
}

// crossing builds the DISMAN-EVENT-MIB notification of one edge.
func crossing(e edge, rule string, oid mibs.OID, value int64) (mibs.Notification, error) {
	t := mibs.MteTriggerRising
	if e == falling {
		t = mibs.MteTriggerFalling
	}
	return t.New(mibs.String(rule), mibs.String(""), mibs.String(""), mibs.ObjectID(oid), mibs.Int(value))
}

// saturate rounds v to a whole number within Integer32, the syntax of
// mteHotValue and of every object sent as mteHotOID, whatever /proc says:
// beyond the range the largest (or smallest) value is sent, never a wrapped
// one.
func saturate(v float64) int64 {
	return int64(min(max(math.Round(v), math.MinInt32), math.MaxInt32))
}
