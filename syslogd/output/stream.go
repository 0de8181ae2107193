package output

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"hostagent/syslogd"
	"hostagent/syslogd/format"
)

// Confirmation on TCP and TLS.
//
// A write that succeeded says only that the local kernel took the bytes. A
// collector that dies (SIGKILL, a crash, SIGTERM with unread data) takes
// with it what sat unread in its socket, and what it had read but not yet
// written. So a written batch is kept, and written again after a
// reconnection, until the kernel shows that the collector's process has
// read it and come back for more. TCP_INFO (one getsockopt per batch, never
// per line) gives, for the connection:
//
//   - A, the bytes the collector's kernel acknowledged (tcpi_bytes_acked,
//     less one for the SYN);
//   - w, the receive window it advertised with its latest acknowledgement
//     (tcpi_snd_wnd): the room left in its receive buffer, which grows
//     again only when its process reads. A + w is the window's right edge.
//
// With C the collector's receive buffer when empty, the bytes its process
// has read are at least A - (C - w) = A + w - C: what it acknowledged less
// what can still sit unread. C is not sent over the wire: F, the largest
// window the connection has shown, is at most C, and a Linux receiver
// advertises less than its free space until data has flowed (its
// rcv_ssthresh grows with what it receives), so C is taken as 2F.
//
// The rule: a batch ending at byte E of the connection is confirmed once
//
//	E + readSlack <= A + w - 2F
//
// readSlack covering what a collector reads in one go and has not yet
// written when it is stopped: rsyslog reads its socket in chunks and, with
// a Direct queue, writes a chunk's messages before it reads again; once the
// bytes it took are readSlack beyond E, the chunk holding E was written.
// In steady flow (w = F) a batch is confirmed once F + readSlack more bytes
// were acknowledged and read after it: the collector came back for more.
//
// Limits, said plainly:
//   - A receiver whose empty buffer holds more than twice the largest
//     window it ever advertised (an application that set a large
//     SO_RCVBUF and has received little so far) could hide unread bytes:
//     they would be confirmed and lost if it died.
//   - A collector that reads but queues in memory (rsyslog's default
//     in-memory main queue, omfwd to a further hop) loses what it read and
//     did not write when it dies: TCP cannot see past its socket. RELP
//     acknowledges only what the collector accepted; use relp:// where
//     nothing may be lost.
//   - The last F + readSlack bytes written are confirmed only once more is
//     written after them: a quiet log keeps its last batches unconfirmed,
//     and an agent stopped then sends them again (duplicates, no loss).
//   - A collector that stops reading for writeTimeout (a full window) is
//     taken as down; what it did not confirm goes again to a new
//     connection, so it may see duplicates when it resumes.
//
// What is written and not confirmed is bounded (unconfirmedCap): beyond it
// Deliver waits, polling the socket's state, until confirmations make room
// (backpressure), and never takes a batch as delivered to make room.
const (
	readSlack = 256 << 10
	// minUnconfirmed and maxUnconfirmed bound the unconfirmed window; within
	// them it is twice the lag of the rule above, so that steady flow never
	// waits on it. While the window is full, unsent or unacknowledged bytes
	// remain beyond the right edge, so the collector's kernel keeps
	// reporting its window and the wait ends as soon as it reads.
	minUnconfirmed = 8 << 20
	maxUnconfirmed = 64 << 20
	// pollEvery paces the polling of a full window.
	pollEvery = time.Millisecond
)

// streamBatch is a batch written (or to write) on the stream, kept until
// confirmed.
type streamBatch struct {
	id   uint64
	n    int    // messages
	data []byte // framed messages
	end  uint64 // byte of the connection after it, 0 until written on this one
}

// streamState is what a stream output keeps between batches.
type streamState struct {
	batches  []*streamBatch // unconfirmed, oldest first
	raw      *countingConn  // the TCP connection, under TLS if any
	inFlight int            // bytes of batches written on this connection
	fullWnd  uint64         // F: the largest window the collector showed on this connection
}

// reset forgets the connection: every unconfirmed batch is to be written again.
func (s *streamState) reset() {
	for _, b := range s.batches {
		b.end = 0
	}
	s.raw, s.inFlight, s.fullWnd = nil, 0, 0
}

// countingConn counts the bytes written to the TCP connection, TLS records
// included, so that a batch's end compares with the kernel's count of
// acknowledged bytes.
type countingConn struct {
	net.Conn
	written atomic.Uint64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(uint64(n))
	return n, err
}

// encode frames a batch for a stream, which gets it in one write: one
// system call for many lines.
func (o *Output) encode(batch []syslogd.Record) []byte {
	o.buf = o.buf[:0]
	for i := range batch {
		for _, part := range o.parts(&batch[i]) {
			o.buf = format.Append(o.buf, part, o.settings.Format, o.settings.Framing, o.settings.MaxMessage)
		}
	}
	return append([]byte(nil), o.buf...)
}

func (o *Output) deliverStream(ctx context.Context, id uint64, batch []syslogd.Record) error {
	s := &o.stream
	s.batches = append(s.batches, &streamBatch{id: id, n: len(batch), data: o.encode(batch)})
	o.unconfirmedMsgs.Add(int64(len(batch)))
	return o.retrying(ctx, func() error { return o.flushStream(ctx) })
}

// flushStream connects if need be and writes the batches not yet written
// on this connection, oldest first, once the unconfirmed window has room.
func (o *Output) flushStream(ctx context.Context) error {
	s := &o.stream
	if o.conn == nil {
		if err := o.dialStream(ctx); err != nil {
			return err
		}
	} else if err := o.alive(); err != nil {
		return err
	}
	if err := o.waitRoom(ctx); err != nil {
		return err
	}
	// A new connection: what the old one may have lost goes first.
	for _, b := range s.batches {
		if b.end != 0 {
			continue
		}
		if err := o.writeStream(ctx, b.data); err != nil {
			return err
		}
		b.end = s.raw.written.Load()
		s.inFlight += len(b.data)
	}
	return nil
}

// writeStream writes data whole, waiting at most writeTimeout, or until ctx
// ends: a full window (a stalled collector) blocks the write. A write cut
// short leaves half a message on the stream, so the connection is dropped.
func (o *Output) writeStream(ctx context.Context, data []byte) error {
	_ = o.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	conn := o.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Now()) })
	_, err := conn.Write(data)
	stop()
	if err != nil {
		o.fail(err)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (o *Output) dialStream(ctx context.Context) error {
	conn, err := o.dial(ctx)
	if err != nil {
		return err
	}
	raw := &countingConn{Conn: conn}
	conn = raw
	if o.tls != nil {
		tc := tls.Client(raw, o.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	o.stream.reset()
	o.stream.raw = raw
	o.connectedTo(conn)
	return nil
}

// unconfirmedCap is the unconfirmed window for the connection's largest
// window so far.
func (s *streamState) unconfirmedCap() int {
	lag := 2*int(min(s.fullWnd, maxUnconfirmed)) + readSlack
	return min(max(minUnconfirmed, 2*lag), maxUnconfirmed)
}

// waitRoom confirms what the kernel shows was read and, while the written
// and unconfirmed bytes leave no room for what is to be written, waits for
// more confirmations, watching the connection.
func (o *Output) waitRoom(ctx context.Context) error {
	s := &o.stream
	for {
		if err := o.observe(); err != nil {
			return err
		}
		next := 0
		for _, b := range s.batches {
			if b.end == 0 {
				next += len(b.data)
			}
		}
		if s.inFlight == 0 || s.inFlight+next <= s.unconfirmedCap() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
		if err := o.alive(); err != nil {
			return err
		}
	}
}

// checkStream is Check on TCP and TLS.
func (o *Output) checkStream() error {
	if len(o.stream.batches) == 0 {
		return nil
	}
	if err := o.alive(); err != nil {
		return err
	}
	return o.observe()
}

// observe reads the connection's TCP_INFO and confirms the batches the
// rule above allows.
func (o *Output) observe() error {
	s := &o.stream
	if s.raw == nil {
		return nil
	}
	ti, err := tcpInfo(s.raw.Conn)
	if err != nil {
		return err
	}
	if ti.State != unix.BPF_TCP_ESTABLISHED {
		return fmt.Errorf("the connection is closing (TCP state %d)", ti.State)
	}
	acked := ti.Bytes_acked
	if acked > 0 {
		acked-- // the SYN
	}
	wnd := uint64(ti.Snd_wnd)
	s.fullWnd = max(s.fullWnd, wnd)
	edge := acked + wnd
	if edge < 2*s.fullWnd+readSlack {
		return nil
	}
	read := edge - 2*s.fullWnd - readSlack
	for len(s.batches) > 0 && s.batches[0].end != 0 && s.batches[0].end <= read {
		b := s.batches[0]
		s.batches[0] = nil
		s.batches = s.batches[1:]
		s.inFlight -= len(b.data)
		o.confirm(b.id, b.n)
	}
	return nil
}

// tcpInfo reads TCP_INFO from a TCP connection.
func tcpInfo(conn net.Conn) (*unix.TCPInfo, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%T is not a TCP connection", conn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("the connection is closed: %w", err)
	}
	var ti *unix.TCPInfo
	var infoErr error
	if err := raw.Control(func(fd uintptr) {
		ti, infoErr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return nil, fmt.Errorf("the connection is closed: %w", err)
	}
	if infoErr != nil {
		return nil, fmt.Errorf("TCP_INFO: %w", infoErr)
	}
	return ti, nil
}

// alive tells whether a collector that was stopped or restarted has closed
// the connection since the last batch: a write would still succeed into
// the kernel's buffer and its lines would be lost with the reset that
// follows. It peeks at the socket without waiting and without consuming
// anything (under TLS the bytes belong to the TLS layer); a read with a
// past deadline would not do, as Go then returns without asking the kernel.
// On RELP the reader consumes replies itself; alive is for TCP and TLS.
func (o *Output) alive() error {
	conn := o.conn
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	if cc, ok := conn.(*countingConn); ok {
		conn = cc.Conn
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var n int
	var peekErr error
	var b [1]byte
	if err := raw.Read(func(fd uintptr) bool {
		n, _, peekErr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait
	}); err != nil {
		return fmt.Errorf("the connection is closed: %w", err)
	}
	switch {
	case errors.Is(peekErr, syscall.EAGAIN):
		return nil // open, nothing to read: the usual case
	case peekErr != nil:
		return fmt.Errorf("the connection failed: %w", peekErr)
	case n == 0:
		return errors.New("the collector closed the connection")
	}
	return nil // the collector sent something (a TLS ticket): still open
}
