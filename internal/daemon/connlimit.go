package daemon

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Connection bounds of the HTTPS listener. Every connection costs a
// goroutine and TLS buffers before anyone is authenticated; the timeouts
// (see httpTimeouts) make each one end, these bound how many live at once.
const (
	// maxConns is the most connections served at once; more wait in the
	// kernel's backlog until one closes.
	maxConns = 256
	// maxConnsPerSource is the most from one address (IPv6: one /64), so
	// that one client cannot take all of maxConns; its excess is closed at
	// once.
	maxConnsPerSource = 32
)

// limitListener caps the connections it hands out, globally (Accept waits
// for a free slot) and per source address (an excess connection is closed
// without a byte read).
type limitListener struct {
	net.Listener
	slots     chan struct{}
	perSource int
	log       *slog.Logger

	mu       sync.Mutex
	bySource map[netip.Prefix]int
	lastWarn time.Time
	refusedN int
}

func newLimitListener(ln net.Listener, total, perSource int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, total), perSource: perSource, log: log, bySource: map[netip.Prefix]int{}}
}

// Accept returns the next connection within the caps.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		l.slots <- struct{}{}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.slots
			return nil, err
		}
		key := connSource(c.RemoteAddr())
		l.mu.Lock()
		if l.bySource[key] >= l.perSource {
			l.refused(key)
			l.mu.Unlock()
			c.Close()
			<-l.slots
			continue
		}
		l.bySource[key]++
		l.mu.Unlock()
		return &limitConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

// refused logs refused connections at most once a minute, with their
// count, so that a flood does not flood the log. l.mu is held.
func (l *limitListener) refused(key netip.Prefix) {
	l.refusedN++
	if now := time.Now(); now.Sub(l.lastWarn) >= time.Minute {
		l.log.Warn("HTTPS connections refused: too many from one address", "source", key.String(), "limit", l.perSource, "refused", l.refusedN)
		l.lastWarn, l.refusedN = now, 0
	}
}

func (l *limitListener) release(key netip.Prefix) {
	l.mu.Lock()
	if l.bySource[key]--; l.bySource[key] <= 0 {
		delete(l.bySource, key)
	}
	l.mu.Unlock()
	<-l.slots
}

// connSource is the address a connection counts against: the IPv4
// address, or the IPv6 /64 (one subscriber's block).
func connSource(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// limitConn gives its slot back once, on the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
