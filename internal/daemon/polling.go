package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"hostagent/internal/buildinfo"
	"hostagent/manage/api"
	"hostagent/mibs"
	"hostagent/snmpagent/agentx"
	"hostagent/snmpagent/mibview"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/snmpd"
	"hostagent/snmpagent/usm"
)

// Polling: hostagent answers GET, GETNEXT and GETBULK through net-snmp's
// snmpd, the engine NOCs already poll, and serves what only it knows (the
// VMware MIBs, from the collectors' live state in view) as snmpd's AgentX
// subagent. In private mode it runs a snmpd of its own, configured from
// snmp.toml (snmpagent/snmpd); in system mode it attaches to the host's
// snmpd. Applying a configuration never waits for snmpd: a worker does,
// and --show, the log and /metrics say how it went.

// vmwareSubtree is the enterprise subtree the subagent registers: every
// VMware MIB object hostagent serves lies under it.
var vmwareSubtree = mibs.MustOID("1.3.6.1.4.1.6876")

// pollingDirName is the supervisor's folder in the state directory.
const pollingDirName = "snmpd"

type polling struct {
	log  *slog.Logger
	view *mibview.View
	dir  string
	sup  *snmpd.Supervisor // nil when it could not be made (supErr)

	supErr error
	wants  chan pollingWant // the newest wanted state; the worker applies it
	stop   context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	want    pollingWant
	sub     *agentx.Subagent
	subStop context.CancelFunc
	subDone chan struct{}
	subAddr string
}

// pollingWant is what a configuration asks of polling.
type pollingWant struct {
	mode     string // snmpconfig.Polling*, or off when the agent is disabled
	why      string // why off
	cause    string // why off, one word (api.PollingState.Cause)
	settings snmpd.Settings
	socket   string // the AgentX master socket
}

func newPolling(log *slog.Logger, view *mibview.View, stateDir, binary string, clock *usm.Clock) *polling {
	// Absolute: snmpd is given paths in it, and runs from another folder.
	dir, err := filepath.Abs(filepath.Join(stateDir, pollingDirName))
	if err != nil {
		dir = filepath.Join(stateDir, pollingDirName)
	}
	p := &polling{log: log.With("subsystem", "polling"), view: view, dir: dir,
		wants: make(chan pollingWant, 1), done: make(chan struct{})}
	opts := snmpd.Options{Binary: binary, Dir: p.dir, Log: p.log}
	if clock != nil {
		// One engine, one boots: snmpd answers with the trap sender's.
		opts.Boots = snmpd.ClockBoots(clock)
	}
	p.sup, p.supErr = snmpd.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go p.work(ctx)
	return p
}

// apply asks for what cfg wants, without waiting for it.
func (p *polling) apply(cfg snmpconfig.Config, engineID []byte) {
	w := pollingWant{mode: cfg.Polling}
	switch {
	case !cfg.Enabled:
		w.mode, w.why, w.cause = snmpconfig.PollingOff, "the agent is disabled", "agent_disabled"
	case cfg.Polling == snmpconfig.PollingOff:
		w.why, w.cause = "polling = off in snmp.toml", "polling_off"
	case cfg.Polling == snmpconfig.PollingSystem:
		w.socket = cfg.AgentXSocket
	default:
		s, err := snmpd.FromConfig(cfg, engineID)
		if err != nil {
			w.mode, w.why, w.cause = snmpconfig.PollingOff, err.Error(), "config_refused"
			break
		}
		s.Listen = listenAddrs(cfg.ListenAddress, cfg.Port)
		s.AgentXSocket = filepath.Join(p.dir, "agentx.sock")
		s.SysDescr = buildinfo.Description()
		s.RealStorageUnits = !cfg.LargeStorage
		w.settings, w.socket = s, s.AgentXSocket
	}
	p.mu.Lock()
	p.want = w
	p.mu.Unlock()
	for { // the newest only
		select {
		case p.wants <- w:
			return
		default:
			select {
			case <-p.wants:
			default:
			}
		}
	}
}

// listenAddrs are addr at port, or (addr empty) every address of each
// family the host has, as ESXi's agent listens.
func listenAddrs(addr string, port int) []netip.AddrPort {
	if a, err := netip.ParseAddr(addr); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(a, uint16(port))}
	}
	out := []netip.AddrPort{netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port))}
	// A host without IPv6 would keep snmpd from starting at all.
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		c.Close()
		out = append(out, netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port)))
	}
	return out
}

// work applies each wanted state in turn: snmpd started, restarted or
// stopped, then the subagent attached to the master's socket.
func (p *polling) work(ctx context.Context) {
	defer close(p.done)
	for {
		var w pollingWant
		select {
		case <-ctx.Done():
			p.detach()
			if p.sup != nil {
				p.sup.Stop()
			}
			return
		case w = <-p.wants:
		}
		var err error
		switch w.mode {
		case snmpconfig.PollingPrivate:
			err = p.supErr
			if err == nil {
				err = p.sup.Apply(ctx, w.settings)
			}
		default:
			if p.sup != nil {
				err = p.sup.Disable(ctx)
			}
		}
		if err != nil && ctx.Err() == nil {
			p.log.Warn("polling: snmpd not running; notifications are not affected", "err", err)
		}
		if w.mode == snmpconfig.PollingOff {
			p.detach()
		} else {
			p.attach(w.socket)
		}
	}
}

// attach runs the subagent against socket (again, when it changed); it
// reconnects by itself when snmpd restarts.
func (p *polling) attach(socket string) {
	p.mu.Lock()
	same := p.sub != nil && p.subAddr == socket
	p.mu.Unlock()
	if same {
		return
	}
	p.detach()
	sub, err := agentx.New(agentx.Options{Address: socket, ID: mibs.VmwESX.OID, Description: buildinfo.Name + " VMware MIBs",
		Subtrees: []mibs.OID{vmwareSubtree}, Timeout: 5 * time.Second, Handler: p.view, Log: p.log})
	if err != nil {
		p.log.Error("polling: AgentX subagent not started", "socket", socket, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sub.Run(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("polling: AgentX subagent stopped", "socket", socket, "err", err)
		}
	}()
	p.mu.Lock()
	p.sub, p.subStop, p.subDone, p.subAddr = sub, cancel, done, socket
	p.mu.Unlock()
}

// detach ends the subagent's session (a Close to the master).
func (p *polling) detach() {
	p.mu.Lock()
	stop, done := p.subStop, p.subDone
	p.sub, p.subStop, p.subDone, p.subAddr = nil, nil, nil, ""
	p.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// close stops the subagent and snmpd.
func (p *polling) close() {
	p.stop()
	<-p.done
}

// state is polling as --show and the API report it.
func (p *polling) state() api.PollingState {
	p.mu.Lock()
	w, sub := p.want, p.sub
	p.mu.Unlock()
	st := api.PollingState{Mode: w.mode, Objects: p.view.Len()}
	if sub != nil {
		as := sub.Status()
		st.SubagentConnected = as.Connected
		if as.Err != nil {
			st.SubagentError = as.Err.Error()
		}
	}
	switch w.mode {
	case snmpconfig.PollingOff, "":
		st.Reason, st.Cause = w.why, w.cause
		if st.Reason == "" {
			st.Reason, st.Cause = "not configured yet", "polling_off"
		}
		return st
	case snmpconfig.PollingSystem:
		st.On = st.SubagentConnected
		st.Master = w.socket
		if !st.On {
			st.Reason, st.Cause = "waiting for the system's snmpd at "+w.socket, "waiting_for_master"
		}
		return st
	}
	if p.sup == nil {
		st.Reason, st.Cause = fmt.Sprint(p.supErr), "not_running"
		return st
	}
	ss := p.sup.Status()
	st.On, st.Listen, st.PID, st.Restarts = ss.Running, ss.Listen, ss.PID, ss.Restarts
	st.Master = w.socket
	switch {
	case !ss.Installed:
		st.Reason, st.Cause = ss.Reason(), "not_installed"
	case !ss.Running:
		// A refused change stops snmpd (fail closed), and a start that
		// failed is retried: the supervisor's state says which, now.
		st.Reason, st.Cause = ss.Reason(), "not_running"
	}
	return st
}
