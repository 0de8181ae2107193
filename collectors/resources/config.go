package resources

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hostagent/internal/configstore"
)

// The resources a rule can watch.
const (
	CPU        = "cpu"
	Memory     = "memory"
	Swap       = "swap"
	Filesystem = "filesystem"
	Load       = "load"
)

// ResourceNames lists the values Rule.Resource accepts, in the order messages
// show them.
var ResourceNames = []string{CPU, Memory, Swap, Filesystem, Load}

// Limits of a rule's settings.
const (
	DefaultInterval = 30 * time.Second
	MinInterval     = time.Second
	MaxInterval     = 24 * time.Hour
	maxNameLen      = 32
	maxPercent      = 100
	// maxLoadPercent allows a load average of 100 per core: beyond any
	// threshold an operator would set, yet bounded so typos are caught.
	maxLoadPercent = 10000
)

// Rule is one threshold on one resource. Values are percents: busy time
// (cpu), used space (memory, swap, filesystem), or the 1-minute load
// average per core as a percent of one core's capacity (load: loadavg1 /
// ncpu * 100, so 100 means every core has one runnable task).
type Rule struct {
	Name     string               `toml:"name"`     // 1–32 chars [A-Za-z0-9_.-], unique; sent as mteHotTrigger
	Resource string               `toml:"resource"` // cpu, memory, swap, filesystem, load
	Mount    string               `toml:"mount"`    // filesystem only: a mount point; "" = every real filesystem (see realFilesystem)
	Rising   float64              `toml:"rising"`   // notify mteTriggerRising when a sample is >= rising
	Falling  float64              `toml:"falling"`  // notify mteTriggerFalling when a sample is <= falling; below rising
	Interval configstore.Duration `toml:"interval"` // sample interval, 1s–24h; unset (0) means 30s
}

// Config is the resource collector's section of the configuration.
type Config struct {
	Enabled bool   `toml:"enabled"`
	Rules   []Rule `toml:"rules"`
}

// DefaultConfig watches what a virtualization host runs out of, with a gap
// of at least 10 points between rising and falling so that a value
// hovering near the threshold does not flap:
//
//   - cpu 90/80: overall busy time; a host that busy leaves no headroom for
//     vCPU bursts.
//   - memory 95/85: MemAvailable already counts reclaimable cache, so 95%
//     used is real pressure, not a full page cache.
//   - swap 50/25: a hypervisor that swaps slows every guest; half the swap
//     in use is worth knowing early.
//   - filesystem 90/80 on every real filesystem: disk images grow.
//   - load 200/150: two runnable tasks per core for a minute means guests
//     wait for CPU.
//
// The rules are enabled: they only send through the SNMP agent, which is off
// until configured, as on ESXi.
func DefaultConfig() Config {
	rule := func(name, resource string, rising, falling float64) Rule {
		return Rule{Name: name, Resource: resource, Rising: rising, Falling: falling, Interval: configstore.Duration(DefaultInterval)}
	}
	return Config{
		Enabled: true,
		Rules: []Rule{
			rule("cpu", CPU, 90, 80),
			rule("memory", Memory, 95, 85),
			rule("swap", Swap, 50, 25),
			rule("filesystem", Filesystem, 90, 80),
			rule("load", Load, 200, 150),
		},
	}
}

// interval is the rule's sample interval with the default applied.
func (r Rule) interval() time.Duration {
	if r.Interval == 0 {
		return DefaultInterval
	}
	return time.Duration(r.Interval)
}

// Validate checks every rule and returns all problems at once, each naming
// the setting, its value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	firstUse := map[string]int{}
	for i, r := range c.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		if !validName(r.Name) {
			bad("%s.name %q: must be 1 to %d characters of A-Z, a-z, 0-9, '_', '.' and '-'", key, r.Name, maxNameLen)
		} else if j, used := firstUse[r.Name]; used {
			bad("%s.name %q: already used by rules[%d]; names must be unique", key, r.Name, j)
		} else {
			firstUse[r.Name] = i
		}

		limit := float64(maxPercent)
		if r.Resource == Load {
			limit = maxLoadPercent
		}
		switch {
		case !slices.Contains(ResourceNames, r.Resource):
			bad("%s.resource %q: must be one of %s", key, r.Resource, strings.Join(ResourceNames, ", "))
		case r.Resource != Filesystem && r.Mount != "":
			bad("%s.mount %q: only a %s rule takes a mount, this rule's resource is %q", key, r.Mount, Filesystem, r.Resource)
		case r.Resource == Filesystem && r.Mount != "" && !strings.HasPrefix(r.Mount, "/"):
			bad("%s.mount %q: must be an absolute mount point such as / or /var/lib/libvirt, or empty for every filesystem", key, r.Mount)
		}
		// !(v >= 0 && v <= limit) also rejects NaN.
		if !(r.Rising >= 0 && r.Rising <= limit) {
			bad("%s.rising %g: must be from 0 to %g", key, r.Rising, limit)
		}
		if !(r.Falling >= 0 && r.Falling <= limit) {
			bad("%s.falling %g: must be from 0 to %g", key, r.Falling, limit)
		}
		if !(r.Falling < r.Rising) {
			bad("%s.falling %g: must be below rising %g", key, r.Falling, r.Rising)
		}
		if d := time.Duration(r.Interval); d != 0 && (d < MinInterval || d > MaxInterval) {
			bad("%s.interval %q: must be from 1s to 24h (unset means 30s)", key, d.String())
		}
	}
	return errors.Join(errs...)
}

func validName(name string) bool {
	if len(name) < 1 || len(name) > maxNameLen {
		return false
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
