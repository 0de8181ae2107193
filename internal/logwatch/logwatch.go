// Package logwatch is a small syslog collector built into hostagentd for
// demonstrations (make run): it accepts the forwarder's TCP connections on
// the loopback, reads RFC 5424 messages framed by octet counting (a tcp://
// loghost's default) and logs each one with its fields, as a collector's
// console would show it. Production collectors are rsyslog, syslog-ng and
// the like; this one keeps nothing.
package logwatch

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/octetcounting"
	"github.com/leodido/go-syslog/v4/rfc5424"
)

// maxConns bounds the connections served at once: the forwarder opens one
// per loghost, a demonstration needs a handful.
const maxConns = 16

// Watch receives on a TCP address until Close.
type Watch struct {
	l     net.Listener
	log   *slog.Logger
	slots chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Start listens on addr and returns once the socket is open, so the
// forwarder's first connection finds it.
func Start(addr string, log *slog.Logger) (*Watch, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo collector: %w", err)
	}
	w := &Watch{l: l, log: log, slots: make(chan struct{}, maxConns), conns: map[net.Conn]struct{}{}}
	w.wg.Add(1)
	go w.accept()
	log.Info("demo collector listening", "addr", l.Addr().String(), "loghost", "tcp://"+l.Addr().String())
	return w, nil
}

// Addr is the address it listens on.
func (w *Watch) Addr() net.Addr { return w.l.Addr() }

// Close stops listening, ends every connection and waits for them.
func (w *Watch) Close() error {
	w.mu.Lock()
	w.closed = true
	for c := range w.conns {
		c.Close()
	}
	w.mu.Unlock()
	err := w.l.Close()
	w.wg.Wait()
	return err
}

func (w *Watch) accept() {
	defer w.wg.Done()
	for {
		c, err := w.l.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				w.log.Error("demo collector stopped", "err", err)
			}
			return
		}
		select {
		case w.slots <- struct{}{}:
		default:
			w.log.Warn("demo collector: connection refused, too many open", "from", c.RemoteAddr().String(), "max", maxConns)
			c.Close()
			continue
		}
		if !w.track(c) {
			c.Close()
			return
		}
		w.wg.Add(1)
		go w.serve(c)
	}
}

// track registers c for Close; false once the watch is closed.
func (w *Watch) track(c net.Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.conns[c] = struct{}{}
	return true
}

func (w *Watch) serve(c net.Conn) {
	defer func() {
		w.mu.Lock()
		delete(w.conns, c)
		w.mu.Unlock()
		c.Close()
		<-w.slots
		w.wg.Done()
	}()
	from := c.RemoteAddr().String()
	p := octetcounting.NewParser(syslog.WithBestEffort(), syslog.WithListener(func(r *syslog.Result) {
		if r.Error != nil {
			w.log.Warn("demo collector: message not understood", "from", from, "err", r.Error)
			return
		}
		if m, ok := r.Message.(*rfc5424.SyslogMessage); ok {
			w.log.Info("received log line", describe(m)...)
		}
	}))
	p.Parse(c) // until the forwarder closes the connection or Close does
}

// describe lists the message's fields a reader of a collector looks at.
func describe(m *rfc5424.SyslogMessage) []any {
	s := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	attrs := []any{"host", s(m.Hostname), "app", s(m.Appname)}
	if f, sev := m.FacilityLevel(), m.SeverityShortLevel(); f != nil && sev != nil {
		attrs = append(attrs, "priority", *f+"."+*sev)
	}
	if m.StructuredData != nil {
		if meta, ok := (*m.StructuredData)["meta"]; ok {
			attrs = append(attrs, "sequenceId", meta["sequenceId"])
		}
	}
	return append(attrs, "msg", s(m.Message))
}
