// Package vms watches libvirt's domains and notifies their power and
// heartbeat changes as VMware's VM notifications (VMWARE-VMINFO-MIB):
// vmwVmPoweredOn, vmwVmPoweredOff, vmwVmSuspended, vmwVmHBDetected and
// vmwVmHBLost. It is event-driven: it subscribes to libvirt's lifecycle and
// guest-agent events, and after every (re)connection compares the state of
// every domain with what it last reported, so that a change made while
// libvirtd or the agent was down is reported exactly once.
package vms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"hostagent/collectors"
	"hostagent/mibs"
)

// RegistryFile is the collector's file in the state directory.
const RegistryFile = "vms.toml"

// VMs is the VM state collector.
type VMs struct {
	cfg Config
	log *slog.Logger
	reg *registry
	// baseline is set until the first resync of a first start: VMs that
	// exist then are recorded, not announced.
	baseline bool
	// stats count resyncs as runs (one per (re)connection) and failed
	// connections or lost sessions as failures.
	mu    sync.Mutex
	stats collectors.Stats
	// saves holds the newest registry snapshot for the saver goroutine:
	// writing (with its fsyncs) is kept off the path from event to trap.
	saves chan registryFile
	// publisher takes the tables polls read (table.go); details hold,
	// by UUID, what they show beyond the registry. Both are used by the
	// session's goroutine only.
	publisher collectors.Publisher
	details   map[string]details
	// snapshot is what publish last published, for VMs (any goroutine):
	// replaced whole, never changed in place.
	snapshot atomic.Pointer[[]collectors.VM]
}

var (
	_ collectors.Source     = (*VMs)(nil)
	_ collectors.VMReporter = (*VMs)(nil)
)

// Resyncs counts the completed comparisons of libvirt's domains with the
// registry: one per (re)connection. Tests wait on it.
func (v *VMs) Resyncs() uint64 { return v.Stats().Runs }

// Stats are the collector's counters: Runs are resyncs, LastDuration the
// last one's, Failures the connections that failed or were lost.
func (v *VMs) Stats() collectors.Stats {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stats
}

// New loads the VM registry from stateDir.
func New(cfg Config, stateDir string, log *slog.Logger) (*VMs, error) {
	reg, err := loadRegistry(filepath.Join(stateDir, RegistryFile))
	if err != nil {
		return nil, err
	}
	return &VMs{cfg: cfg, log: log.With("collector", "vms"), reg: reg, baseline: !reg.loaded, saves: make(chan registryFile, 1), details: map[string]details{}}, nil
}

var errDisconnected = errors.New("connection to libvirtd lost")

// Run connects to libvirtd and follows its events until ctx is done,
// reconnecting with a backoff (1 s doubling up to reconnect_max) whenever
// the connection fails or is lost.
func (v *VMs) Run(ctx context.Context, out collectors.Notifier) error {
	// The saver stops when Run returns, not when ctx ends: the session may
	// still be handling an event then (its notification sent, its
	// snapshot not yet handed over), and that last snapshot must be
	// written, or the next start would report the change again.
	stopSaver, saved := make(chan struct{}), make(chan struct{})
	go v.saver(stopSaver, saved)
	defer func() { close(stopSaver); <-saved }() // the last snapshot is on disk before Run returns
	backoff := min(time.Second, time.Duration(v.cfg.ReconnectMax))
	down := false // warned of this outage already: the retries log at debug
	for {
		l, err := v.connect()
		if err == nil {
			v.log.Info("connected to libvirtd", "uri", v.cfg.URI, "socket", v.cfg.Socket)
			backoff, down = min(time.Second, time.Duration(v.cfg.ReconnectMax)), false
			err = v.session(ctx, l, out)
			_ = l.Disconnect()
		}
		if ctx.Err() != nil {
			return nil
		}
		v.failed(err)
		level := slog.LevelWarn
		if down {
			level = slog.LevelDebug
		}
		down = true
		v.log.Log(ctx, level, "libvirtd unavailable; reconnecting", "uri", v.cfg.URI, "socket", v.cfg.Socket, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Duration(v.cfg.ReconnectMax))
	}
}

func (v *VMs) connect() (*libvirt.Libvirt, error) {
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(v.cfg.Socket), dialers.WithLocalTimeout(5*time.Second)))
	if err := l.ConnectToURI(libvirt.ConnectURI(v.cfg.URI)); err != nil {
		return nil, fmt.Errorf("connect to %s on %s: %w", v.cfg.URI, v.cfg.Socket, err)
	}
	return l, nil
}

// session subscribes first and reads the domains' states second, so that
// no change can fall between the two: a change seen by both is reported by
// whichever comes first, and the other finds nothing new.
func (v *VMs) session(ctx context.Context, l *libvirt.Libvirt, out collectors.Notifier) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	life, err := l.LifecycleEvents(ctx)
	if err != nil {
		return fmt.Errorf("subscribe to lifecycle events: %w", err)
	}
	agent, err := l.SubscribeEvents(ctx, libvirt.DomainEventIDAgentLifecycle, nil)
	if err != nil {
		v.log.Debug("no guest agent events from this driver", "err", err)
	}
	if err := v.resync(ctx, l, out); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.Disconnected():
			return errDisconnected
		case e, ok := <-life:
			if !ok {
				return errDisconnected
			}
			v.lifecycle(ctx, l, e, out)
		case e, ok := <-agent:
			if !ok {
				agent = nil
				continue
			}
			if m, isAgent := e.(*libvirt.DomainEventCallbackAgentLifecycleMsg); isAgent {
				v.agentLifecycle(ctx, m.Dom, heartbeatOfAgent(m.State), out)
			}
		}
	}
}

// listsByPower are the domain lists read at each resync, by the power
// state their members are in: three calls instead of one per domain.
var listsByPower = []struct {
	flags libvirt.ConnectListAllDomainsFlags
	power power
}{
	{libvirt.ConnectListDomainsRunning, powerOn},
	{libvirt.ConnectListDomainsPaused, powerSuspended},
	{libvirt.ConnectListDomainsShutoff, powerOff},
	{libvirt.ConnectListDomainsOther, powerUnknown}, // asked one by one
}

// resync compares every domain's state with what was last reported.
func (v *VMs) resync(ctx context.Context, l *libvirt.Libvirt, out collectors.Notifier) error {
	start := time.Now()
	seen := map[string]bool{}
	changed := false
	for _, list := range listsByPower {
		doms, _, err := l.ConnectListAllDomains(1, list.flags)
		if err != nil {
			return fmt.Errorf("list domains: %w", err)
		}
		for _, d := range doms {
			p := list.power
			if p == powerUnknown {
				state, _, err := l.DomainGetState(d, 0)
				if err != nil {
					continue // gone meanwhile: its event follows
				}
				p = powerOfState(libvirt.DomainState(state))
			}
			seen[uuidString(d.UUID)] = true
			changed = v.observe(ctx, d, p, out) || changed
			v.readDetails(l, d)
		}
	}
	// Domains that vanished while we were away: announce the power-off of
	// those we last saw running, then forget them.
	for uuid, rec := range v.reg.byUUID {
		if !seen[uuid] {
			if rec.Power == powerOn || rec.Power == powerSuspended {
				v.notify(ctx, rec, powerOff, out)
			}
			v.reg.forget(uuid)
			v.forgetDetails(uuid)
			changed = true
		}
	}
	v.publish()
	v.baseline = false
	if changed || !v.reg.loaded {
		v.reg.loaded = true // written once at a first start, so the next start is not one
		v.save()
	}
	v.mu.Lock()
	v.stats.Runs++
	v.stats.LastDuration = time.Since(start)
	v.stats.LastRun = start.Add(v.stats.LastDuration)
	v.stats.LastError = ""
	v.mu.Unlock()
	return nil
}

// failed counts a connection that failed or was lost.
func (v *VMs) failed(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stats.Failures++
	if err != nil {
		v.stats.LastError = err.Error()
	}
}

// observe records that d is in power state p, notifying a change; it
// reports whether the registry changed.
func (v *VMs) observe(ctx context.Context, d libvirt.Domain, p power, out collectors.Notifier) bool {
	rec, isNew := v.reg.get(uuidString(d.UUID), d.Name)
	if p == powerUnknown || p == rec.Power {
		return isNew
	}
	// A VM that first shows up powered off needs no announcement; one that
	// shows up running was started while we were not looking.
	announce := !v.baseline && !(isNew && p == powerOff)
	rec.Power = p
	if announce {
		v.notify(ctx, rec, p, out)
	}
	return true
}

func (v *VMs) lifecycle(ctx context.Context, l *libvirt.Libvirt, e libvirt.DomainEventLifecycleMsg, out collectors.Notifier) {
	event := libvirt.DomainEventType(e.Event)
	switch event {
	case libvirt.DomainEventUndefined:
		v.reg.forget(uuidString(e.Dom.UUID))
		v.forgetDetails(uuidString(e.Dom.UUID))
	case libvirt.DomainEventDefined:
		// Its state too, for vmwVmState: a new domain found off is
		// recorded, not announced (observe); one already started by
		// the time this event is read is announced once, and its own
		// event then finds nothing new.
		if state, _, err := l.DomainGetState(e.Dom, 0); err == nil {
			v.observe(ctx, e.Dom, powerOfState(libvirt.DomainState(state)), out)
		} else {
			v.reg.get(uuidString(e.Dom.UUID), e.Dom.Name)
		}
		v.readDetails(l, e.Dom)
	default:
		changed := v.observe(ctx, e.Dom, powerOfEvent(event), out)
		// Memory, vCPUs and adapters may have changed with the state
		// (a domain started with a new definition).
		v.readDetails(l, e.Dom)
		if !changed {
			v.publish()
			return
		}
	}
	v.publish()
	v.save()
}

func (v *VMs) agentLifecycle(ctx context.Context, d libvirt.Domain, hb heartbeat, out collectors.Notifier) {
	rec, _ := v.reg.get(uuidString(d.UUID), d.Name)
	if hb == heartbeatUnknown || hb == rec.Heartbeat {
		return
	}
	rec.Heartbeat = hb
	v.publish() // vmwVmGuestState
	t := mibs.VmwVmHBDetected
	if hb == heartbeatDown {
		t = mibs.VmwVmHBLost
	}
	v.send(ctx, t, rec, out)
	v.save()
}

var notificationOfPower = map[power]*mibs.NotificationType{
	powerOn:        mibs.VmwVmPoweredOn,
	powerOff:       mibs.VmwVmPoweredOff,
	powerSuspended: mibs.VmwVmSuspended,
}

func (v *VMs) notify(ctx context.Context, rec *record, p power, out collectors.Notifier) {
	v.send(ctx, notificationOfPower[p], rec, out)
}

// send builds the notification with the varbinds of VMWARE-VMINFO-MIB:
// vmwVmID, vmwVmConfigFilePath and vmwVmDisplayName indexed by the id.
func (v *VMs) send(ctx context.Context, t *mibs.NotificationType, rec *record, out collectors.Notifier) {
	n, err := t.New(
		mibs.Int(int64(rec.ID)),
		mibs.String(truncate(filepath.Join(v.cfg.ConfigDir, rec.Name+".xml"))),
		mibs.String(truncate(rec.Name)).At(uint32(rec.ID)),
	)
	if err == nil {
		err = out.Notify(ctx, n)
	}
	if err != nil {
		v.log.Error("VM notification not sent", "vm", rec.Name, "notification", t.Name, "err", err)
		return
	}
	v.log.Debug("VM notification", "vm", rec.Name, "vmid", rec.ID, "notification", t.Name)
}

// save hands the registry to the saver, replacing a snapshot not yet
// written: only the newest one matters.
func (v *VMs) save() {
	snap := v.reg.snapshot()
	for {
		select {
		case v.saves <- snap:
			return
		default:
			select {
			case <-v.saves:
			default:
			}
		}
	}
}

// saver writes registry snapshots until stop is closed, then the last one.
func (v *VMs) saver(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	write := func(f registryFile) {
		if err := writeRegistry(v.reg.path, f); err != nil {
			v.log.Warn("VM registry not saved; ids and states are kept in memory", "err", err)
		}
	}
	for {
		select {
		case f := <-v.saves:
			write(f)
		case <-stop:
			select {
			case f := <-v.saves:
				write(f)
			default:
			}
			return
		}
	}
}

// truncate keeps a string within DisplayString's 255 octets.
func truncate(s string) string {
	if len(s) <= 255 {
		return s
	}
	return s[:255]
}

func uuidString(u libvirt.UUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
