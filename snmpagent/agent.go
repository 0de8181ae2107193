// Package snmpagent is the SNMP notification agent: it holds the targets and
// communities, filters notifications (notraps), encodes each one once per
// SNMP version and fans it out to one sender per target, each with a bounded
// queue, its own socket and counters, informs retried until acknowledged.
// SNMPv3 targets (v3targets) share the SNMPv2 encoding: its scoped PDU is
// built once per notification, and each target's sender wraps it with its
// user's keys (package usm), stamped with the agent's engine boots and time;
// SNMPv3 informs are stamped with the receiver's engine (the authoritative
// one for informs), learnt by engine discovery (inform_v3.go).
//
// Producers only see Notify; nothing outside this package touches SNMP
// encoding or sockets.
package snmpagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"hostagent/internal/logging"
	"hostagent/mibs"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// Errors of Test.
var (
	ErrDisabled  = errors.New("the SNMP agent is disabled; enable it first (vicfg-snmp --enable)")
	ErrNoTargets = errors.New("no notification targets are configured (vicfg-snmp --targets)")
)

// stopGrace is how long removed targets get to deliver what they have queued.
const stopGrace = 2 * time.Second

// Agent sends notifications to the configured targets.
type Agent struct {
	log   *slog.Logger
	level slog.LevelVar

	mu      sync.RWMutex // guards p and started; held for reading while fanning out
	p       *Plan
	started time.Time // sysUpTime counts from here: the agent's (re)start

	filtered atomic.Uint64

	// informDir keeps the informs not yet acknowledged, one store per
	// target (see pendingStore); "" keeps none.
	informDir string
	storesMu  sync.Mutex
	stores    map[string]*pendingStore // open, by target
	stopping  map[*sender]bool         // removed senders still delivering

	// The SNMPv3 engine: the generated engine ID (used when the
	// configuration sets none) and engineBoots/engineTime; see SetEngine.
	engineID []byte
	clock    *usm.Clock

	// observer, when set, is told of every notification handed to the
	// targets (SetObserver).
	observer atomic.Pointer[func(Sent)]
}

// Sent is a notification as the agent handed it to its targets.
type Sent struct {
	Time         time.Time
	Notification mibs.Notification // the producer's: an observer keeping it must not change it
	Targets      []string          // each target as snmpconfig.Target.String has it; shared, read only
}

// SetObserver makes the agent call observe with every notification it
// hands to its targets, test notifications included; nil stops it.
// observe runs on the producer's goroutine while the agent fans out: it
// must return at once (copy what it keeps, never wait).
func (a *Agent) SetObserver(observe func(Sent)) {
	if observe == nil {
		a.observer.Store(nil)
		return
	}
	a.observer.Store(&observe)
}

// SetEngine gives the agent its SNMPv3 engine: the engine ID the daemon
// generated and keeps (used unless engineid is set) and the clock of
// engineBoots and engineTime. Without it, v3targets are refused. Call it
// before the first Prepare.
func (a *Agent) SetEngine(generatedID []byte, clock *usm.Clock) {
	a.engineID = slices.Clone(generatedID)
	a.clock = clock
}

// EngineID is the SNMPv3 engine ID in force: the configured one, else the
// generated one (nil when the agent has no engine).
func (a *Agent) EngineID() []byte {
	cfg := a.Config()
	return a.engineFor(cfg)
}

// EngineIDFor is the engine ID cfg would put in force: its engineid, else
// the generated one.
func (a *Agent) EngineIDFor(cfg snmpconfig.Config) []byte { return a.engineFor(cfg) }

// engineFor is the engine ID cfg puts in force.
func (a *Agent) engineFor(cfg snmpconfig.Config) []byte {
	if cfg.EngineID != "" {
		if id, err := usm.ParseEngineID(cfg.EngineID); err == nil {
			return id
		}
	}
	return a.engineID
}

// SetStateDir makes the agent keep unacknowledged informs in dir, and
// resend them after a restart. Call it before the first Prepare.
func (a *Agent) SetStateDir(dir string) {
	a.informDir = dir
}

// Plan is a validated configuration with its targets resolved and sockets
// open, ready to be applied without any step that can fail.
type Plan struct {
	cfg         snmpconfig.Config
	senders     []*sender
	fresh       []*sender // senders this plan created (the rest are reused)
	notraps     []mibs.OID
	sysObjectID mibs.OID
	wantV1      bool
	engineID    []byte // SNMPv3: ours, the context engine ID of the scoped PDUs
	wantV3      bool
	level       slog.Level
	// noAgentAddr lists the new v1 targets whose traps will carry
	// agent-addr 0.0.0.0 (no IPv4 route found), warned about at Apply.
	noAgentAddr []string
	// targets are the senders' targets as strings, in order, for the
	// observer: made once here rather than per notification.
	targets []string
}

// New returns a disabled agent logging to log.
func New(log *slog.Logger) *Agent {
	a := &Agent{started: time.Now(), stores: map[string]*pendingStore{}, stopping: map[*sender]bool{}}
	a.log = slog.New(logging.WithLevel(log.Handler(), &a.level)).With("subsystem", "snmp")
	return a
}

// Config is the configuration in force (the factory default before any Apply).
func (a *Agent) Config() snmpconfig.Config {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.p == nil {
		return snmpconfig.DefaultConfig()
	}
	return a.p.cfg
}

// Prepare validates cfg and does all that can fail (resolving target
// hosts, opening sockets) without touching the running agent. Prepare and
// Apply of one plan must not interleave with another's.
func (a *Agent) Prepare(ctx context.Context, cfg snmpconfig.Config, r snmpconfig.Resolver) (*Plan, error) {
	s, err := cfg.Parse(r)
	if err != nil {
		return nil, err
	}
	p := &Plan{cfg: cfg, notraps: s.Notraps, sysObjectID: s.SysObjectID, level: s.Level, engineID: a.engineFor(cfg)}
	// Enabled or not: users kept with keys for another engine would be
	// refused by every receiver once the agent is enabled.
	a.mu.RLock()
	old := a.p
	a.mu.RUnlock()
	if old != nil {
		if err := snmpconfig.CheckKeysKept(old.cfg, cfg, old.engineID, p.engineID); err != nil {
			return nil, err
		}
	}
	if !cfg.Enabled {
		return p, nil
	}
	if len(s.V3.Targets) > 0 && (p.engineID == nil || a.clock == nil) {
		return nil, errors.New("v3targets: SNMPv3 needs the daemon's SNMP engine (engine ID and engineBoots, kept in its state directory), which this agent was not given")
	}
	a.mu.RLock()
	running := map[string]*sender{}
	if a.p != nil {
		for _, snd := range a.p.senders {
			running[snd.key] = snd
		}
	}
	a.mu.RUnlock()

	addrs := make([]netip.AddrPort, len(s.Targets))
	for i, t := range s.Targets {
		var err error
		if addrs[i], err = lookupTarget(ctx, t); err != nil {
			return nil, err
		}
	}
	agentAddrs := newAgentAddrs(addrs)
	for i, t := range s.Targets {
		community := t.Community
		if community == "" {
			community = cfg.Communities[0]
		}
		var agentAddr [agentAddrSize]byte
		if t.Kind == snmpconfig.TrapV1 {
			p.wantV1 = true
			agentAddr = agentAddrs.of(addrs[i])
		}
		timeout := time.Duration(cfg.InformTimeout)
		snd, reused := running[senderKey(t, community, addrs[i], agentAddr, timeout, cfg.InformRetries, cfg.QueueSize)]
		if !reused {
			var err error
			if snd, err = newSender(t, community, addrs[i], agentAddr, timeout, cfg.InformRetries, cfg.QueueSize, a.log); err != nil {
				p.Discard()
				return nil, err
			}
			if t.Kind == snmpconfig.InformV2c {
				if snd.store, err = a.store(t.String()); err != nil {
					snd.conn.Close()
					p.Discard()
					return nil, err
				}
			}
			p.fresh = append(p.fresh, snd)
			if t.Kind == snmpconfig.TrapV1 && agentAddr == [agentAddrSize]byte{} {
				p.noAgentAddr = append(p.noAgentAddr, t.String())
			}
		}
		p.senders = append(p.senders, snd)
	}
	if err := a.prepareV3(ctx, p, s.V3, running, time.Duration(cfg.InformTimeout), cfg.InformRetries, cfg.QueueSize); err != nil {
		p.Discard()
		return nil, err
	}
	for _, snd := range p.senders {
		p.targets = append(p.targets, snd.target.String())
	}
	return p, nil
}

// prepareV3 adds a sender per SNMPv3 target, each with a Wrapper holding
// its user's keys, localized to our engine ID.
func (a *Agent) prepareV3(ctx context.Context, p *Plan, v3 snmpconfig.V3, running map[string]*sender, timeout time.Duration, retries, queueSize int) error {
	for _, t := range v3.Targets {
		addr, err := lookupTarget(ctx, t)
		if err != nil {
			return fmt.Errorf("v3%w", err)
		}
		if t.Kind == snmpconfig.InformV3 {
			snd, err := a.prepareV3Inform(p, v3, t, addr, running, timeout, retries, queueSize)
			if err != nil {
				return err
			}
			p.wantV3 = true
			p.senders = append(p.senders, snd)
			continue
		}
		u, ok := v3.User(t.User)
		if !ok { // Parse refused it already
			return fmt.Errorf("v3targets: %s: no user %q", t, t.User)
		}
		u.Level = t.Level
		key := senderKey(t, "", addr, [agentAddrSize]byte{}, timeout, retries, queueSize) + "|" + v3Key(u, p.engineID)
		snd, reused := running[key]
		if !reused {
			w, err := usm.NewWrapper(u, p.engineID)
			if err != nil {
				return fmt.Errorf("v3targets: %s: %w", t, err)
			}
			if snd, err = newSender(t, "", addr, [agentAddrSize]byte{}, timeout, retries, queueSize, a.log); err != nil {
				return err
			}
			snd.key, snd.wrapper, snd.clock = key, w, a.clock
			p.fresh = append(p.fresh, snd)
		}
		p.wantV3 = true
		p.senders = append(p.senders, snd)
	}
	return nil
}

// v3Key is what a v3 sender's identity adds to senderKey: the engine and
// the user's protocols and keys, so that a sender whose keys changed is
// replaced rather than reused. It stays in memory, as the keys do.
func v3Key(u usm.User, engineID []byte) string {
	return fmt.Sprintf("%x|%s|%s|%s|%x|%x", engineID, u.Level, u.Auth, u.Priv, u.AuthKey, u.PrivKey)
}

// Discard releases a plan that will not be applied.
func (p *Plan) Discard() {
	for _, s := range p.fresh {
		s.conn.Close()
	}
	p.fresh = nil
}

// Apply puts a prepared plan in force. An agent that becomes enabled
// (re)starts its sysUpTime and sends coldStart; an enabled agent whose
// configuration changed sends warmStart.
func (a *Agent) Apply(p *Plan) {
	a.mu.Lock()
	old := a.p
	a.p = p
	a.level.Set(p.level)
	wasEnabled := old != nil && old.cfg.Enabled
	if p.cfg.Enabled && !wasEnabled {
		a.started = time.Now()
	}
	kept := map[*sender]bool{}
	for _, s := range p.senders {
		kept[s] = true
	}
	var removed []*sender
	if old != nil {
		for _, s := range old.senders {
			if !kept[s] {
				close(s.queue) // under the write lock: no Notify is enqueueing
				removed = append(removed, s)
			}
		}
	}
	for _, s := range p.fresh {
		s.start()
	}
	a.mu.Unlock()
	for _, t := range p.noAgentAddr {
		a.log.Warn("this host has no IPv4 route for the agent-addr of SNMPv1 traps (IPv4 only); they carry 0.0.0.0", "target", snmpconfig.MaskTarget(t))
	}

	a.storesMu.Lock()
	for _, s := range removed {
		a.stopping[s] = true
	}
	a.storesMu.Unlock()
	if p.cfg.Enabled {
		a.dropUnconfigured(p)
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		for _, s := range removed {
			s.stop(ctx)
		}
		a.storesMu.Lock()
		for _, s := range removed {
			delete(a.stopping, s)
		}
		a.storesMu.Unlock()
		a.closeUnusedStores()
	}()
	switch {
	case p.cfg.Enabled && !wasEnabled:
		a.log.Info("SNMP agent enabled", "targets", len(p.senders))
		a.send(mibs.ColdStart.MustNew(), nil)
	case p.cfg.Enabled && !reflect.DeepEqual(old.cfg, p.cfg):
		a.log.Info("SNMP agent reconfigured", "targets", len(p.senders))
		a.send(mibs.WarmStart.MustNew(), nil)
	case !p.cfg.Enabled && wasEnabled:
		a.log.Info("SNMP agent disabled")
	}
}

// Close stops every target, giving queued notifications until ctx is done.
func (a *Agent) Close(ctx context.Context) {
	a.mu.Lock()
	var senders []*sender
	if a.p != nil {
		senders = a.p.senders
		for _, s := range senders {
			close(s.queue)
		}
		a.p = &Plan{cfg: a.p.cfg}
		a.p.cfg.Enabled = false
	}
	a.mu.Unlock()
	for _, s := range senders {
		s.stop(ctx)
	}
	a.closeUnusedStores()
}

// store returns the open store of target, opening it (and reading what
// the last run left in it) on first use.
func (a *Agent) store(target string) (*pendingStore, error) {
	if a.informDir == "" {
		return nil, nil
	}
	a.storesMu.Lock()
	defer a.storesMu.Unlock()
	if st := a.stores[target]; st != nil {
		return st, nil
	}
	st, live, err := openPending(a.informDir, target)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", snmpconfig.MaskTarget(target), err)
	}
	if len(live) > 0 {
		a.log.Info("informs left unacknowledged by the last run are sent again", "target", snmpconfig.MaskTarget(target), "informs", len(live))
	}
	a.stores[target] = st
	return st, nil
}

// closeUnusedStores closes the stores no sender uses any more (a target
// removed, the agent disabled or closed); their files stay, for when the
// target comes back. Stores of plans prepared and discarded go too.
func (a *Agent) closeUnusedStores() {
	used := map[*pendingStore]bool{}
	a.mu.RLock()
	if a.p != nil {
		for _, s := range a.p.senders {
			used[s.store] = true
		}
	}
	a.mu.RUnlock()
	a.storesMu.Lock()
	defer a.storesMu.Unlock()
	for s := range a.stopping {
		used[s.store] = true
	}
	for target, st := range a.stores {
		if !used[st] {
			if err := st.close(); err != nil {
				a.log.Warn("pending informs not written", "target", snmpconfig.MaskTarget(target), "err", err)
			}
			delete(a.stores, target)
		}
	}
}

// dropUnconfigured removes, once an enabled configuration is in force,
// the files of informs pending for targets it no longer has: nobody will
// send them. Each is logged with its count.
func (a *Agent) dropUnconfigured(p *Plan) {
	if a.informDir == "" {
		return
	}
	keep := map[string]bool{}
	for _, s := range p.senders {
		if s.target.Kind.IsInform() {
			keep[pendingFile(a.informDir, s.target.String())] = true
		}
	}
	files, _ := filepath.Glob(filepath.Join(a.informDir, "informs-*.jsonl"))
	for _, f := range files {
		if keep[f] {
			continue
		}
		st, live, err := openPendingFile(f)
		if err == nil {
			st.close()
		}
		if err := os.Remove(f); err != nil {
			a.log.Warn("pending informs of a removed target not removed", "file", f, "err", err)
			continue
		}
		if len(live) > 0 {
			a.log.Warn("informs pending for a target no longer configured are dropped", "informs", len(live), "file", f)
		}
	}
}

// Notify sends n to every target, unless the agent is disabled or n is in
// notraps. It never blocks on a target: a full queue counts a drop there.
func (a *Agent) Notify(ctx context.Context, n mibs.Notification) error {
	if n.Type == nil {
		return errors.New("notify: notification has no type")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, filtered := a.send(n, nil); filtered {
		a.filtered.Add(1)
	}
	return nil
}

// send encodes n once and queues it on every target; done (if not nil)
// receives one result per target. It reports how many targets it reached
// and whether notraps filtered n (done bypasses the filter: a test
// notification is an explicit request).
func (a *Agent) send(n mibs.Notification, done chan<- snmpconfig.TestResult) (int, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	p := a.p
	if p == nil || !p.cfg.Enabled || len(p.senders) == 0 {
		return 0, false
	}
	if done == nil && slices.ContainsFunc(p.notraps, n.Type.OID.Equal) {
		return 0, true
	}
	uptime := uint32(time.Since(a.started) / (10 * time.Millisecond))
	enc := &encoded{name: n.Type.QualifiedName()}
	enc.v2 = encodeV2(make([]byte, 0, 96+48*len(n.VarBinds)), &n, uptime)
	enc.reqAt = requestIDOffset(enc.v2)
	if p.wantV1 {
		if enc.v1, enc.v1Err = encodeV1(nil, &n, uptime, p.sysObjectID); enc.v1Err == nil {
			enc.addrAt = agentAddrOffset(enc.v1)
		}
	}
	if p.wantV3 {
		// Once for every SNMPv3 target; each wraps it with its own user.
		enc.scoped, enc.v3Err = usm.NewScopedPDU(p.engineID, nil, enc.v2)
	}
	for _, s := range p.senders {
		s.enqueue(item{enc: enc, done: done})
	}
	if observe := a.observer.Load(); observe != nil {
		(*observe)(Sent{Time: time.Now(), Notification: n, Targets: p.targets})
	}
	return len(p.senders), false
}

// Test sends warmStart to every target and waits for each result: sent for
// traps, acknowledged or failed (after the retries) for informs.
func (a *Agent) Test(ctx context.Context) ([]snmpconfig.TestResult, error) {
	a.mu.RLock()
	p := a.p
	a.mu.RUnlock()
	switch {
	case p == nil || !p.cfg.Enabled:
		return nil, ErrDisabled
	case len(p.senders) == 0:
		return nil, ErrNoTargets
	}
	results := make(chan snmpconfig.TestResult, len(p.senders))
	n, _ := a.send(mibs.WarmStart.MustNew(), results)
	byTarget := map[string]snmpconfig.TestResult{}
	for range n {
		select {
		case r := <-results:
			byTarget[r.Target] = r
		case <-ctx.Done():
			return nil, fmt.Errorf("test notification: %w", ctx.Err())
		}
	}
	out := make([]snmpconfig.TestResult, 0, len(byTarget))
	for _, s := range p.senders {
		if r, ok := byTarget[s.target.String()]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Stats returns the counters of every target, in configuration order.
func (a *Agent) Stats() []snmpconfig.TargetStats {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.p == nil {
		return nil
	}
	out := make([]snmpconfig.TargetStats, len(a.p.senders))
	for i, s := range a.p.senders {
		out[i] = s.stats()
	}
	return out
}

// Filtered counts notifications not sent because notraps lists them.
func (a *Agent) Filtered() uint64 { return a.filtered.Load() }

// Uptime is the agent's sysUpTime.
func (a *Agent) Uptime() time.Duration {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return time.Since(a.started)
}

// lookupTarget finds the address of a target, preferring IPv4 like net-snmp.
func lookupTarget(ctx context.Context, t snmpconfig.Target) (netip.AddrPort, error) {
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), t.Port), nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host)
	if err != nil || len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("targets: %q: cannot resolve host %q: %v", snmpconfig.MaskTarget(t.String()), t.Host, err)
	}
	best := ips[0]
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			best = ip
			break
		}
	}
	// A literal address was checked when the target was parsed; a name
	// may still resolve to one that reaches no single receiver.
	if err := snmpconfig.CheckReceiverAddr(best); err != nil {
		return netip.AddrPort{}, fmt.Errorf("targets: %q: host %q resolves to %s, which %w", snmpconfig.MaskTarget(t.String()), t.Host, best.Unmap(), err)
	}
	return netip.AddrPortFrom(best.Unmap(), t.Port), nil
}

// agentAddrs finds the agent-addr of SNMPv1 traps, per target: the IPv4
// address this host uses to reach it, so that targets behind different
// interfaces each see the host by the address on their side.
//
// agent-addr is an IpAddress, IPv4 only (RFC 1157), so an IPv6 target gets
// an IPv4 address of the host chosen as a NOC would know it: the one
// towards the first IPv4 target of the configuration, whatever its kind
// (the source of the host's IPv4 notifications), or else the source
// address of the IPv4 default route. Loopback stays with loopback: ::1
// gets 127.0.0.1, and a remote IPv6 target never gets the address towards
// a local IPv4 receiver. The receiver itself knows the agent by the
// datagram's IPv6 source; agent-addr is what RFC 3584 proxies and NOC
// consoles show as the host. Only a host with no such IPv4 route sends
// 0.0.0.0, and Apply says so at WARN.
type agentAddrs struct {
	firstIPv4 netip.AddrPort // the first non-loopback IPv4 target; invalid when none
	remote    *[agentAddrSize]byte
}

func newAgentAddrs(targets []netip.AddrPort) *agentAddrs {
	a := &agentAddrs{}
	for _, t := range targets {
		if t.Addr().Is4() && !t.Addr().IsLoopback() {
			a.firstIPv4 = t
			break
		}
	}
	return a
}

// defaultRouteProbe is an address no host routes locally (TEST-NET-3, RFC
// 5737): the route to it is the IPv4 default route.
var defaultRouteProbe = netip.MustParseAddrPort("203.0.113.1:162")

var ipv4Loopback = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 162)

func (a *agentAddrs) of(target netip.AddrPort) [agentAddrSize]byte {
	switch {
	case target.Addr().Is4():
		return localIPv4(target)
	case target.Addr().IsLoopback():
		return localIPv4(ipv4Loopback)
	}
	if a.remote == nil {
		addr := [agentAddrSize]byte{}
		if a.firstIPv4.IsValid() {
			addr = localIPv4(a.firstIPv4)
		}
		if addr == ([agentAddrSize]byte{}) {
			addr = localIPv4(defaultRouteProbe)
		}
		a.remote = &addr
	}
	return *a.remote
}

// localIPv4 is the address this host uses to reach addr, an IPv4 address;
// 0.0.0.0 when no route leads there. Connecting a UDP socket sends nothing;
// it only picks a route.
func localIPv4(addr netip.AddrPort) [agentAddrSize]byte {
	var out [agentAddrSize]byte
	if !addr.Addr().Is4() {
		return out
	}
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return out
	}
	defer c.Close()
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok {
		copy(out[:], la.IP.To4())
	}
	return out
}
