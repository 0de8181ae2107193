// Package agentx is hostagent's AgentX subagent (RFC 2741): it attaches to
// net-snmp's snmpd, the master agent, registers the subtrees only hostagent
// knows (VMware's MIBs) and answers the master's Get, GetNext and GetBulk
// for them from a Handler, reconnecting whenever the master goes away.
//
// It is written here rather than taken from posteo/go-agentx (v0.3.0), which
// was reviewed and found unsound: it loses buffered bytes (a new bufio.Reader
// per loop, Read instead of io.ReadFull for framing), panics on PDUs it does
// not expect such as TestSet, answers only the first varbind of a Get, shares
// unlocked maps between goroutines and has no context or shutdown.
package agentx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"hostagent/mibs"
)

// Handler answers the master agent for the subtrees the session registers.
// A session calls it from one goroutine at a time; several sessions (or a
// reconnecting one) may share it, so it must be safe for concurrent use if
// the caller runs several Subagents on it.
type Handler interface {
	// Get returns the object at exactly oid; false: noSuchObject.
	Get(oid mibs.OID) (mibs.VarBind, bool)
	// Next returns the first object after from (at from too when include) and,
	// when end is not empty, before end; false: endOfMibView for that range.
	Next(from mibs.OID, include bool, end mibs.OID) (mibs.VarBind, bool)
}

// Options configures a Subagent.
type Options struct {
	// Network and Address name the master's AgentX socket: "unix" and a
	// path (net-snmp's default is /var/agentx/master), or "tcp" and
	// host:port. An empty Network is "unix".
	Network, Address string
	// ID identifies the subagent to the master (o.id of the Open-PDU),
	// e.g. the product's sysObjectID; it may be empty.
	ID mibs.OID
	// Description is o.descr, shown by the master in its logs.
	Description string
	// Subtrees are registered, in order, once the session is open. At
	// least one is needed.
	Subtrees []mibs.OID
	// Priority of the registrations: 1 is the most preferred, 0 means
	// RFC 2741's default, 127.
	Priority uint8
	// Timeout is how long the master waits for an answer of this
	// subagent before it gives up on the request (o.timeout, whole
	// seconds, at most 255); 0 leaves the master's default (net-snmp: 1 s).
	Timeout time.Duration
	// PingInterval is how often the subagent pings the master to notice a
	// master that hangs or vanished without closing the socket; 0 is 15 s.
	PingInterval time.Duration
	// Handler serves the registered subtrees.
	Handler Handler
	// Log receives connection changes and protocol errors; nil discards.
	Log *slog.Logger
}

const (
	defaultPriority     = 127
	defaultPingInterval = 15 * time.Second
	// callTimeout bounds the wait for the master's answer to Open,
	// Register, Ping and Close, and a write to the socket.
	callTimeout = 5 * time.Second
	// The reconnect delay starts small, so a restarted snmpd is served
	// again at once, and doubles to a ceiling that keeps a missing one from
	// filling the log.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// stableSession is how long a session must have been up for the next
	// reconnect to start again from minBackoff.
	stableSession = 10 * time.Second
)

// Status is the state of a Subagent.
type Status struct {
	// Connected is true while a session is open and every subtree is
	// registered, i.e. while the master forwards polls to the Handler.
	Connected bool
	// SessionID is the master's h.sessionID of the current session.
	SessionID uint32
	// Sessions counts the sessions that reached Connected since Run
	// started: a reconnection increments it, so a waiter can tell a new
	// session from the one that was lost.
	Sessions uint64
	// Err says why the last session failed or ended (nil before any
	// failure and while connected); a *RegistrationError when the master
	// refused a subtree.
	Err error
}

// RegistrationError is a Register-PDU the master refused, e.g.
// duplicateRegistration when another subagent holds the subtree at the
// same priority.
type RegistrationError struct {
	Subtree mibs.OID
	Code    uint16 // res.error
}

func (e *RegistrationError) Error() string {
	return fmt.Sprintf("agentx: master refused the registration of %s: %s", e.Subtree, errorName(e.Code))
}

// Subagent keeps one AgentX session with a master agent; see Run.
type Subagent struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	status  Status
	changed chan struct{}
}

// New checks opts and returns a Subagent ready to Run.
func New(opts Options) (*Subagent, error) {
	if opts.Network == "" {
		opts.Network = "unix"
	}
	switch {
	case opts.Network != "unix" && opts.Network != "tcp" && opts.Network != "tcp4" && opts.Network != "tcp6":
		return nil, fmt.Errorf("agentx: network %q: must be unix or tcp", opts.Network)
	case opts.Address == "":
		return nil, errors.New("agentx: no master address (AgentX socket)")
	case len(opts.Subtrees) == 0:
		return nil, errors.New("agentx: no subtree to register")
	case opts.Handler == nil:
		return nil, errors.New("agentx: no handler")
	case opts.Timeout < 0 || opts.Timeout > 255*time.Second:
		return nil, fmt.Errorf("agentx: timeout %v: must be 0 to 255s", opts.Timeout)
	case opts.PingInterval < 0:
		return nil, fmt.Errorf("agentx: ping interval %v: must not be negative", opts.PingInterval)
	case len(opts.ID) > maxSubIDs:
		return nil, fmt.Errorf("agentx: ID %s: more than %d sub-identifiers", opts.ID, maxSubIDs)
	case len(opts.Description) > 1024:
		return nil, fmt.Errorf("agentx: description of %d bytes: at most 1024", len(opts.Description))
	}
	for _, s := range opts.Subtrees {
		if len(s) == 0 || len(s) > maxSubIDs {
			return nil, fmt.Errorf("agentx: subtree %q: must have 1 to %d sub-identifiers", s.String(), maxSubIDs)
		}
	}
	if opts.Priority == 0 {
		opts.Priority = defaultPriority
	}
	if opts.PingInterval == 0 {
		opts.PingInterval = defaultPingInterval
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Subagent{opts: opts, log: log.With("master", opts.Address), changed: make(chan struct{})}, nil
}

// Run is New(opts) followed by Run(ctx).
func Run(ctx context.Context, opts Options) error {
	a, err := New(opts)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// Status returns the current state.
func (a *Subagent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

// Connected reports whether the subtrees are registered with the master now.
func (a *Subagent) Connected() bool { return a.Status().Connected }

// Changed returns a channel closed at the next change of Status: wait on it,
// then read Status again.
func (a *Subagent) Changed() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changed
}

func (a *Subagent) update(f func(*Status)) {
	a.mu.Lock()
	f(&a.status)
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
}

// Run keeps a session with the master until ctx ends: it connects, opens
// the session, registers every subtree and serves the master's requests.
// When the master goes away (snmpd stopped or restarted, the socket closed,
// pings unanswered) or refuses a registration, Run logs why and starts over
// after a delay growing from 100 ms to 5 s. When ctx ends it closes the
// session (Close-PDU, reasonShutdown) and returns nil. A Subagent runs once
// at a time.
func (a *Subagent) Run(ctx context.Context) error {
	backoff := minBackoff
	failures := 0
	for {
		start := time.Now()
		up, err := a.session(ctx)
		if ctx.Err() != nil {
			a.update(func(s *Status) { s.Connected, s.SessionID = false, 0 })
			return nil
		}
		a.update(func(s *Status) { s.Connected, s.SessionID, s.Err = false, 0, err })
		if up && time.Since(start) >= stableSession {
			backoff, failures = minBackoff, 0
		}
		failures++
		var refused *RegistrationError
		switch {
		case errors.As(err, &refused):
			a.log.Error("agentx registration refused; retrying", "err", err, "retry_in", backoff)
		case up:
			a.log.Warn("agentx session lost; reconnecting", "err", err, "retry_in", backoff)
		case failures == 1:
			a.log.Warn("agentx master unreachable; retrying", "err", err, "retry_in", backoff)
		default:
			// The same failure every few seconds while snmpd is down says
			// nothing new.
			a.log.Debug("agentx master still unreachable", "err", err, "retry_in", backoff, "attempts", failures)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session runs one session; up reports whether it got as far as
// Connected.
func (a *Subagent) session(ctx context.Context) (up bool, err error) {
	c, err := dial(ctx, a)
	if err != nil {
		return false, err
	}
	defer c.shutdown()

	timeout := uint8((a.opts.Timeout + time.Second - 1) / time.Second)
	open := &pdu{header: header{Type: typeOpen}, Timeout: timeout, ID: a.opts.ID, Description: []byte(a.opts.Description)}
	res, err := c.call(ctx, open)
	if err != nil {
		return false, fmt.Errorf("agentx open: %w", err)
	}
	if res.Error != errNoError {
		return false, fmt.Errorf("agentx open: master answered %s", errorName(res.Error))
	}
	c.setSession(res.SessionID)

	for _, sub := range a.opts.Subtrees {
		reg := &pdu{header: header{Type: typeRegister}, Timeout: timeout, Priority: a.opts.Priority, Subtree: sub}
		res, err := c.call(ctx, reg)
		if err != nil {
			return false, fmt.Errorf("agentx register %s: %w", sub, err)
		}
		if res.Error != errNoError {
			c.close(ctx, reasonOther)
			return false, &RegistrationError{Subtree: sub, Code: res.Error}
		}
	}
	a.update(func(s *Status) {
		s.Connected, s.SessionID, s.Err = true, c.sessionID(), nil
		s.Sessions++
	})
	a.log.Info("agentx session open", "session", c.sessionID(), "subtrees", len(a.opts.Subtrees))

	ping := time.NewTicker(a.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			c.close(context.Background(), reasonShutdown)
			return true, ctx.Err()
		case <-c.dead:
			return true, c.deathCause()
		case <-ping.C:
			res, err := c.call(ctx, &pdu{header: header{Type: typePing}})
			if err != nil {
				if ctx.Err() != nil {
					continue // the ctx case closes the session
				}
				return true, fmt.Errorf("agentx ping: %w", err)
			}
			if res.Error != errNoError {
				// notOpen: the master has forgotten the session.
				return true, fmt.Errorf("agentx ping: master answered %s", errorName(res.Error))
			}
		}
	}
}
