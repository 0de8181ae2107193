// Package snmpagent is the SNMP notification agent: it holds the targets and
// communities, filters notifications (notraps), encodes each one once per
// SNMP version and fans it out to one sender per target, each with a bounded
// queue, its own socket and counters, informs retried until acknowledged.
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
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"hostagent/internal/logging"
	"hostagent/mibs"
	"hostagent/snmpagent/snmpconfig"
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
}

// Plan is a validated configuration with its targets resolved and sockets
// open, ready to be applied without any step that can fail.
type Plan struct {
	cfg         snmpconfig.Config
	senders     []*sender
	fresh       []*sender // senders this plan created (the rest are reused)
	notraps     []mibs.OID
	sysObjectID mibs.OID
	agentAddr   [4]byte
	wantV1      bool
	level       slog.Level
}

// New returns a disabled agent logging to log.
func New(log *slog.Logger) *Agent {
	a := &Agent{started: time.Now()}
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
	p := &Plan{cfg: cfg, notraps: s.Notraps, sysObjectID: s.SysObjectID, level: s.Level}
	if !cfg.Enabled {
		return p, nil
	}
	a.mu.RLock()
	running := map[string]*sender{}
	if a.p != nil {
		for _, snd := range a.p.senders {
			running[snd.key] = snd
		}
	}
	a.mu.RUnlock()
	for _, t := range s.Targets {
		community := t.Community
		if community == "" {
			community = cfg.Communities[0]
		}
		addr, err := lookupTarget(ctx, t)
		if err != nil {
			p.Discard()
			return nil, err
		}
		timeout := time.Duration(cfg.InformTimeout)
		snd, reused := running[senderKey(t, community, addr, timeout, cfg.InformRetries, cfg.QueueSize)]
		if !reused {
			if snd, err = newSender(t, community, addr, timeout, cfg.InformRetries, cfg.QueueSize, a.log); err != nil {
				p.Discard()
				return nil, err
			}
			p.fresh = append(p.fresh, snd)
		}
		p.senders = append(p.senders, snd)
		if t.Kind == snmpconfig.TrapV1 && !p.wantV1 {
			p.wantV1, p.agentAddr = true, localIPv4(addr)
		}
	}
	return p, nil
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

	if len(removed) > 0 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
			defer cancel()
			for _, s := range removed {
				s.stop(ctx)
			}
		}()
	}
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
		enc.v1, enc.v1Err = encodeV1(nil, &n, uptime, p.sysObjectID, p.agentAddr)
	}
	for _, s := range p.senders {
		s.enqueue(item{enc: enc, done: done})
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
		return netip.AddrPort{}, fmt.Errorf("targets: %q: cannot resolve host %q: %v", t.String(), t.Host, err)
	}
	best := ips[0]
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			best = ip
			break
		}
	}
	return netip.AddrPortFrom(best.Unmap(), t.Port), nil
}

// localIPv4 is the address this host uses to reach addr: the agent-addr of
// SNMPv1 traps. Connecting a UDP socket sends nothing; it only picks a route.
func localIPv4(addr netip.AddrPort) [4]byte {
	var out [4]byte
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
