// Package links watches network interfaces in sysfs and notifies linkUp and linkDown (IF-MIB) when an interface's operational status changes.
//
// The rules follow net-snmp's linkUpDownNotifications: linkUp when
// ifOperStatus becomes up(1), linkDown when it leaves up(1) for any other
// value; moves between two non-up states (down to lowerlayerdown, say) and
// changes of ifAdminStatus alone send nothing. Beyond net-snmp, which says
// nothing about interfaces that come and go:
//
//   - an interface that appears after the first poll already up sends
//     linkUp, so a receiver learns of a bond or VLAN created at run time;
//   - an interface that disappears while up sends linkDown with
//     ifOperStatus notPresent(6) and its last ifAdminStatus, so a receiver
//     does not keep believing a removed link is still up; one that was not
//     up when it went sends nothing, as it was already reported down;
//   - an interface deleted and re-created under the same name between two
//     polls (its ifIndex changed) counts as one that went and one that came.
package links

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"hostagent/collectors"
	"hostagent/internal/configstore"
	"hostagent/mibs"
)

// Config is the [links] section of the configuration.
type Config struct {
	Enabled bool `toml:"enabled"`
	// Interval is the regular poll. Run also polls on every netlink link
	// message, so the interval only bounds how late a missed change is seen.
	Interval configstore.Duration `toml:"interval"`
	// Interfaces are filepath.Match patterns of the names to watch.
	Interfaces []string `toml:"interfaces"`
	// Exclude are patterns of names not to watch even if Interfaces match.
	Exclude []string `toml:"exclude"`
}

// DefaultExclude leaves out what is not a host link an operator wants
// paged about, as ESXi reports its vmnics but not the VMs' virtual NICs:
//
//   - lo: loopback, always up;
//   - veth*: container pairs, created and destroyed with each container;
//   - vnet*: libvirt's VM tap devices, tap*: QEMU and Proxmox ones; they go
//     up and down with every VM start and stop, which the VM collector
//     already reports;
//   - virbr*-nic: the dummy device libvirt adds to hold a bridge's MAC
//     address, never up.
//
// Physical NICs, bonds, bridges and VLANs stay watched.
var DefaultExclude = []string{"lo", "veth*", "vnet*", "virbr*-nic", "tap*"}

// Interval limits. Below 100ms the poll would be busy work; above an hour a
// change netlink missed would go unreported too long.
const (
	defaultInterval = 5 * time.Second
	minInterval     = 100 * time.Millisecond
	maxInterval     = time.Hour
)

// DefaultConfig watches every interface but DefaultExclude every 5s. It is
// enabled: nothing is sent unless the agent itself is enabled with targets,
// and ESXi sends linkUp and linkDown whenever its agent is on.
func DefaultConfig() Config {
	return Config{
		Enabled:    true,
		Interval:   configstore.Duration(defaultInterval),
		Interfaces: []string{"*"},
		Exclude:    slices.Clone(DefaultExclude),
	}
}

// Validate returns every problem at once, each naming the setting and the
// value.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if d := time.Duration(c.Interval); d < minInterval || d > maxInterval {
		bad("interval %q: must be from 100ms to 1h", d)
	}
	if len(c.Interfaces) == 0 {
		bad(`interfaces: empty, so no interface would be watched; write ["*"] for all`)
	}
	for _, set := range []struct {
		key      string
		patterns []string
	}{{"interfaces", c.Interfaces}, {"exclude", c.Exclude}} {
		for _, p := range set.patterns {
			// Match checks the whole pattern even when the name does not
			// match, so an empty name finds every syntax error.
			if _, err := filepath.Match(p, ""); err != nil {
				bad("%s: pattern %q: %w", set.key, p, err)
			} else if p == "" {
				bad("%s: pattern %q: must not be empty", set.key, p)
			}
		}
	}
	return errors.Join(errs...)
}

// IF-MIB ifOperStatus and ifAdminStatus values.
const (
	statusUp         = 1
	statusDown       = 2
	statusNotPresent = 6
)

// operStatus maps the kernel's operstate words (RFC 2863 names, see
// Documentation/networking/operstates.rst) to ifOperStatus.
var operStatus = map[string]int64{
	"up": 1, "down": 2, "testing": 3, "unknown": 4,
	"dormant": 5, "notpresent": 6, "lowerlayerdown": 7,
}

// link is what one poll read of an interface.
type link struct {
	index uint32 // ifIndex
	admin int64  // ifAdminStatus
	oper  int64  // ifOperStatus
}

// Links is a collectors.Poller over /sys/class/net. Poll is safe for
// concurrent use; Run polls on a timer and on netlink messages, which makes
// it a collectors.Source.
type Links struct {
	cfg   Config
	paths collectors.Paths
	log   *slog.Logger
	// kick asks runner for a poll when netlink announces a change. One
	// slot: a burst of messages (a bond and its slaves going down
	// together) while a poll runs costs one more poll, not one per message.
	kick   chan struct{}
	runner *collectors.Runner

	mu     sync.Mutex
	primed bool            // the baseline has been read
	last   map[string]link // by interface name, as sysfs lists them
}

var (
	_ collectors.Poller = (*Links)(nil)
	_ collectors.Source = (*Links)(nil)
)

// New returns a Links for cfg, which should have passed Validate; an
// interval out of range is replaced by the default so Run cannot spin or
// panic.
func New(cfg Config, paths collectors.Paths, log *slog.Logger) *Links {
	if d := time.Duration(cfg.Interval); d < minInterval || d > maxInterval {
		cfg.Interval = configstore.Duration(defaultInterval)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Links{cfg: cfg, paths: paths, log: log, kick: make(chan struct{}, 1)}
	l.runner = &collectors.Runner{Name: "links", Interval: time.Duration(cfg.Interval), Poller: l, Log: log, Wake: l.kick}
	return l
}

// Stats are the counters of Run's polls.
func (l *Links) Stats() collectors.Stats { return l.runner.Stats() }

// watched says whether name is in Interfaces and not in Exclude. Patterns
// that fail to parse match nothing (Validate reports them).
func (l *Links) watched(name string) bool {
	match := func(patterns []string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool {
			ok, _ := filepath.Match(p, name)
			return ok
		})
	}
	return match(l.cfg.Interfaces) && !match(l.cfg.Exclude)
}

// Poll reads every watched interface and notifies the changes since the
// previous poll; the first poll only records the baseline. It returns
// collectors.ErrAbsent when sysfs has no class/net.
func (l *Links) Poll(ctx context.Context, out collectors.Notifier) error {
	l.mu.Lock()
	defer l.mu.Unlock()

	dir := l.paths.Sys("class", "net")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", dir, collectors.ErrAbsent)
	}
	if err != nil {
		return err
	}

	var errs []error
	notify := func(t *mibs.NotificationType, name string, s link) {
		n, err := t.New(mibs.Int(int64(s.index)).At(s.index), mibs.Int(s.admin).At(s.index), mibs.Int(s.oper).At(s.index))
		if err == nil {
			err = out.Notify(ctx, n)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", t.Name, name, err))
		}
	}
	gone := func(name string, s link) {
		if s.oper == statusUp {
			s.oper = statusNotPresent
			notify(mibs.LinkDown, name, s)
		}
	}

	now := make(map[string]link, len(l.last))
	var buf [64]byte
	for _, e := range entries {
		name := e.Name()
		if !l.watched(name) {
			continue
		}
		prev, had := l.last[name]
		cur, err := readLink(filepath.Join(dir, name), buf[:])
		switch {
		case errors.Is(err, unix.ENOTDIR):
			continue // bonding_masters, a file beside the interfaces
		case err != nil:
			// Unreadable this time (garbage, or removed while being read):
			// keep what was known so that it neither goes nor comes.
			l.log.Debug("links: skipping unreadable interface", "interface", name, "err", err)
			if had {
				now[name] = prev
			}
			continue
		}
		now[name] = cur
		if !l.primed {
			continue
		}
		if had && prev.index != cur.index {
			gone(name, prev)
			had = false
		}
		switch {
		case cur.oper == statusUp && (!had || prev.oper != statusUp):
			notify(mibs.LinkUp, name, cur)
		case had && prev.oper == statusUp && cur.oper != statusUp:
			notify(mibs.LinkDown, name, cur)
		}
	}
	if l.primed {
		for _, name := range slices.Sorted(maps.Keys(l.last)) {
			if _, ok := now[name]; !ok {
				gone(name, l.last[name])
			}
		}
	}
	// The new state is kept even if a notification failed: retrying it on
	// every poll would report an old change as if it were new.
	l.last, l.primed = now, true
	return errors.Join(errs...)
}

// readLink reads one interface directory.
func readLink(dir string, buf []byte) (link, error) {
	var s link
	v, err := readAttr(filepath.Join(dir, "ifindex"), buf)
	if err != nil {
		return s, err
	}
	// InterfaceIndex is 1 to 2147483647.
	index, err := strconv.ParseUint(v, 10, 31)
	if err != nil || index == 0 {
		return s, fmt.Errorf("ifindex %q: not an interface index", v)
	}
	s.index = uint32(index)

	if v, err = readAttr(filepath.Join(dir, "operstate"), buf); err != nil {
		return s, err
	}
	oper, ok := operStatus[v]
	if !ok {
		return s, fmt.Errorf("operstate %q: not a known state", v)
	}
	s.oper = oper

	if v, err = readAttr(filepath.Join(dir, "flags"), buf); err != nil {
		return s, err
	}
	flags, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 32)
	if err != nil || !strings.HasPrefix(v, "0x") {
		return s, fmt.Errorf("flags %q: not a hexadecimal number", v)
	}
	s.admin = statusDown
	if flags&unix.IFF_UP != 0 {
		s.admin = statusUp
	}
	return s, nil
}

// readAttr reads a short sysfs attribute into buf, trimmed. The attributes
// read here are a few bytes; reading into a fixed buffer spares
// os.ReadFile's stat and page-sized allocation, three times per interface
// per poll.
func readAttr(path string, buf []byte) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	n, err := f.Read(buf)
	if err != nil && err != io.EOF {
		return "", err
	}
	if n == len(buf) {
		return "", fmt.Errorf("%s: longer than %d bytes", path, len(buf)-1)
	}
	return strings.TrimSpace(string(buf[:n])), nil
}
