package output

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
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
// reconnection, until there is evidence that the collector's process has
// read it and come back for more. There are two kinds of evidence.
//
// 1. While data flows: the kernel's. TCP_INFO (one getsockopt per batch,
// never per line) gives, for the connection:
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
// advertises less than its free space: before data has flowed (its
// rcv_ssthresh grows with what it receives), and by its scaling ratio,
// the share of its buffer that data fills (since Linux 6.6 measured from
// the packets it receives: a quarter, or less, for small segments). So C is
// taken as 4F (bufferPerWindow). A stress run with C taken as 2F and a
// 256 KiB slack lost 2,132 lines of an rsyslogd killed while it read a
// burst: they had been confirmed unread.
//
// The rule: a batch ending at byte E of the connection is confirmed once
//
//	E + readSlack <= A + w - 4F
//
// readSlack covering what a collector reads in one go and has not yet
// written when it is stopped: rsyslog reads its socket in chunks and, with
// a Direct queue, writes a chunk's messages before it reads again; once the
// bytes it took are readSlack beyond E, the chunk holding E was written.
// In steady flow (w = F) a batch is confirmed once 3F + readSlack more bytes
// were acknowledged and read after it: the collector came back for more.
//
// 2. For the tail: the collector's own close. The last 3F + readSlack bytes
// written are never confirmed by rule 1 if nothing follows them. Finish,
// called on a clean stop, and Check, once written data has waited
// idleFinishAfter with no new batch (the timer only decides when to ask;
// the answer is the evidence), end the connection gracefully: our side is
// shut for writing (under TLS a close_notify first, then the TCP FIN), and
// the connection is read until the collector closes its side. rsyslog's
// imtcp closes a session when its read returns end-of-stream, that is
// after it has read, and with a Direct queue written, everything sent
// before our FIN (plain and TLS: verified against rsyslogd 8.2302 by
// TestStreamFinishConfirmsTheTail). Linux answers a close() that leaves
// unread bytes with a reset, not a FIN, and answers bytes arriving after
// the close with a reset too, never an acknowledgement. So a clean
// end-of-stream (under TLS: close_notify or end-of-stream, then the TCP
// FIN) with every byte we wrote acknowledged (tcpi_bytes_acked) proves
// that the collector's process read everything: all that was written on
// the connection is confirmed. A reset, an error or no FIN within the
// bound confirms nothing: it all goes again to the next connection. The
// wait is bounded (finishTimeout for Finish, finishIdleTimeout from
// Check, where it runs in a goroutine of its own so the pipeline goes on
// reading meanwhile); after a failed attempt Check backs off as after any
// failure, so a stalled collector is not sent the tail again and again.
// The next batch opens a new connection.
//
// Limits, said plainly:
//   - A receiver whose empty buffer holds more than four times the
//     largest window it ever advertised (an application that set a large
//     SO_RCVBUF and has received little so far) could hide unread bytes:
//     they would be confirmed and lost if it died.
//   - A collector that reads but queues in memory (rsyslog's default
//     in-memory main queue, omfwd to a further hop) loses what it read and
//     did not write when it dies: TCP cannot see past its socket. Likewise
//     a collector that closes a session before it has handled what it
//     read, or that shuts its sending side while it still reads (none
//     known), would have the tail confirmed early. RELP acknowledges only
//     what the collector accepted; use relp:// where nothing may be lost.
//   - Between the last batch and the idle close (about a second), and
//     when the close fails, the tail stays unconfirmed: an agent killed
//     then sends it again (duplicates, no loss).
//   - A collector that stops reading for writeTimeout (a full window) is
//     taken as down; what it did not confirm goes again to a new
//     connection, so it may see duplicates when it resumes.
//
// What is written and not confirmed is bounded (unconfirmedCap): beyond it
// Deliver waits, polling the socket's state, until confirmations make room
// (backpressure), and never takes a batch as delivered to make room. The
// buffers of confirmed batches are used again for the next ones.
const (
	readSlack       = 1 << 20
	bufferPerWindow = 4
	// minUnconfirmed and maxUnconfirmed bound the unconfirmed window; within
	// them it is twice the lag of the rule above, so that steady flow never
	// waits on it. Whatever they say, the window always has room for the
	// lag itself plus the batch to write (see unconfirmedCap), or rule 1
	// could never confirm the oldest batch. While the window is full,
	// unsent or unacknowledged bytes remain beyond the right edge, so the
	// collector's kernel keeps reporting its window and the wait ends as
	// soon as it reads.
	minUnconfirmed = 4 << 20
	maxUnconfirmed = 16 << 20
	// pollEvery paces the polling of a full window.
	pollEvery = time.Millisecond
	// idleFinishAfter: written data unconfirmed for that long with no new
	// batch is confirmed by closing the connection (rule 2).
	idleFinishAfter = time.Second
	// finishIdleTimeout bounds the wait for the collector's FIN after an
	// idle close; finishTimeout bounds Finish. A collector starved of CPU
	// (both cores busy) took over 500 ms to read the tail and close: the
	// close failed and the tail went again, as duplicates, in runs where
	// nothing else went wrong. A new batch waits for this answer, so the
	// bound stays a few seconds.
	finishIdleTimeout = 5 * time.Second
	finishTimeout     = 2 * time.Second
	// maxFreeBytes bounds the buffers kept for reuse, maxFreeBuffer the
	// largest one kept.
	maxFreeBytes  = 4 << 20
	maxFreeBuffer = 2 << 20
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
	batches   []*streamBatch // unconfirmed, oldest first
	raw       *countingConn  // the TCP connection, under TLS if any
	inFlight  int            // bytes of batches written on this connection
	fullWnd   uint64         // F: the largest window the collector showed on this connection
	lastWrite time.Time      // when a batch was last written on this connection
	// finishing is a graceful close waiting for the collector's FIN
	// (rule 2), started by Check; nil when none.
	finishing *finishing
	free      [][]byte // buffers of confirmed batches, to reuse
	freeBytes int
}

// finishing is one graceful close: its goroutine shuts our side and reads
// until the collector's FIN; err is set before done is closed.
type finishing struct {
	conn net.Conn // the connection, under TLS if any
	done chan struct{}
	err  error
}

// reset forgets the connection: every unconfirmed batch is to be written again.
func (s *streamState) reset() {
	for _, b := range s.batches {
		b.end = 0
	}
	s.raw, s.inFlight, s.fullWnd = nil, 0, 0
}

// written tells whether batches written on the connection await confirmation.
func (s *streamState) written() bool { return len(s.batches) > 0 && s.batches[0].end != 0 }

// takeBuffer returns an empty buffer, one of a confirmed batch if any.
func (s *streamState) takeBuffer() []byte {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
		s.freeBytes -= cap(b)
		return b[:0]
	}
	return nil
}

// recycle keeps the buffer of a confirmed batch for a next one, within
// maxFreeBytes: a burst of large batches is not held on to.
func (s *streamState) recycle(b []byte) {
	if cap(b) == 0 || cap(b) > maxFreeBuffer || s.freeBytes+cap(b) > maxFreeBytes {
		return
	}
	s.free = append(s.free, b)
	s.freeBytes += cap(b)
}

// confirmWritten confirms batches written on this connection, oldest
// first, as long as ok says so.
func (o *Output) confirmWritten(ok func(b *streamBatch) bool) {
	s := &o.stream
	for len(s.batches) > 0 && s.batches[0].end != 0 && ok(s.batches[0]) {
		b := s.batches[0]
		s.batches[0] = nil
		s.batches = s.batches[1:]
		s.inFlight -= len(b.data)
		o.confirm(b.id, b.n)
		s.recycle(b.data)
	}
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
// system call for many lines. It formats into the buffer of a confirmed
// batch when there is one: the bytes are kept until confirmed anyway.
func (o *Output) encode(batch []syslogd.Record) []byte {
	b := o.stream.takeBuffer()
	for i := range batch {
		for _, part := range o.parts(&batch[i]) {
			b = format.Append(b, part, o.settings.Format, o.settings.Framing, o.settings.MaxMessage)
		}
	}
	return b
}

func (o *Output) deliverStream(ctx context.Context, id uint64, batch []syslogd.Record) error {
	s := &o.stream
	if s.finishing != nil {
		// An idle close is under way: its answer first, so that what it
		// confirms is not written again.
		_ = o.awaitFinish(ctx)
	}
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
		s.lastWrite = time.Now()
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
// window so far, when next bytes are to be written: twice the lag of
// rule 1 within [minUnconfirmed, maxUnconfirmed], and never less than the
// lag plus next, without which the oldest batch could never be confirmed.
// So what is kept follows the collector's receive window: over 7.5 MiB
// the lag passes the ceiling (on loopback, with net.ipv4.tcp_rmem's
// maximum at 32 MiB, windows of 9 MiB were seen, hence about 20 MiB kept).
func (s *streamState) unconfirmedCap(next int) int {
	lag := bufferPerWindow*int(min(s.fullWnd, 1<<30)) + readSlack
	return max(min(max(minUnconfirmed, 2*lag), maxUnconfirmed), lag+next)
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
		if s.inFlight == 0 || s.inFlight+next <= s.unconfirmedCap(next) {
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

// checkStream is Check on TCP and TLS. Once written data has waited
// idleFinishAfter unconfirmed with no new batch, it closes the connection
// gracefully for the collector's word on the tail (rule 2), in the
// background; a later Check (or Deliver) takes the answer.
func (o *Output) checkStream() error {
	s := &o.stream
	if !s.written() {
		return nil
	}
	if err := o.alive(); err != nil {
		return err
	}
	if err := o.observe(); err != nil {
		return err
	}
	if s.written() && time.Since(s.lastWrite) >= o.idleFinish {
		o.startFinish(time.Now().Add(finishIdleTimeout))
	}
	return nil
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
	if edge < bufferPerWindow*s.fullWnd+readSlack {
		return nil
	}
	read := edge - bufferPerWindow*s.fullWnd - readSlack
	o.confirmWritten(func(b *streamBatch) bool { return b.end <= read })
	return nil
}

// finishStream is Finish on TCP and TLS.
func (o *Output) finishStream(ctx context.Context) error {
	s := &o.stream
	if s.finishing == nil {
		if o.conn == nil {
			if n := o.Unconfirmed(); n > 0 {
				return fmt.Errorf("not connected: %d messages stay unconfirmed", n)
			}
			return nil
		}
		if err := o.observe(); err != nil {
			o.fail(err)
			return fmt.Errorf("%w: %d messages stay unconfirmed", err, o.Unconfirmed())
		}
		deadline, _ := ctx.Deadline()
		o.startFinish(deadline)
	}
	if err := o.awaitFinish(ctx); err != nil {
		return fmt.Errorf("%w: %d messages stay unconfirmed", err, o.Unconfirmed())
	}
	if n := o.Unconfirmed(); n > 0 {
		return fmt.Errorf("%d messages were not written: they stay unconfirmed", n)
	}
	return nil
}

// startFinish closes the connection gracefully, in a goroutine of its own
// that gives up at deadline; the connection is no longer written to.
func (o *Output) startFinish(deadline time.Time) {
	f := &finishing{conn: o.conn, done: make(chan struct{})}
	raw := o.stream.raw
	o.stream.finishing = f
	o.conn = nil
	go func() {
		defer close(f.done)
		// The deadline closes the connection, which ends a write of the
		// close_notify stuck on a full window as well as the read.
		timer := time.AfterFunc(time.Until(deadline), func() { f.conn.Close() })
		defer timer.Stop()
		f.err = closeGracefully(f.conn, raw)
	}()
}

// awaitFinish waits for the graceful close under way (until ctx ends,
// then it is abandoned) and takes its answer: on the collector's clean
// close everything written on the connection is confirmed; otherwise
// nothing is, and Check waits before it connects again.
func (o *Output) awaitFinish(ctx context.Context) error {
	f := o.stream.finishing
	select {
	case <-f.done:
	case <-ctx.Done():
		f.conn.Close()
		<-f.done // at once: the connection is closed
	}
	return o.endFinish()
}

// endFinish takes the answer of a graceful close that is done.
func (o *Output) endFinish() error {
	s := &o.stream
	f := s.finishing
	s.finishing = nil
	f.conn.Close()
	if f.err == nil {
		o.confirmWritten(func(*streamBatch) bool { return true })
		s.reset()
		o.resumeWait = 0
		return nil
	}
	s.reset()
	o.connected.Store(false)
	o.setError(f.err.Error())
	o.backOff()
	return f.err
}

// closeGracefully shuts our side of the connection and reads until the
// collector closes its own; it returns nil only if that close shows the
// collector's process read every byte written (rule 2).
func closeGracefully(conn net.Conn, raw *countingConn) error {
	tcp, ok := raw.Conn.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("%T is not a TCP connection", raw.Conn)
	}
	var buf [512]byte
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.CloseWrite(); err != nil { // close_notify
			return fmt.Errorf("closing: TLS close_notify: %w", err)
		}
		if err := tcp.CloseWrite(); err != nil {
			return fmt.Errorf("closing: %w", err)
		}
		// Up to the collector's close_notify, or its FIN.
		if err := readToEOF(tc, buf[:]); err != nil {
			return err
		}
	} else if err := tcp.CloseWrite(); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	// The collector's FIN, not a reset: it had read everything it got.
	if err := readToEOF(tcp, buf[:]); err != nil {
		return err
	}
	ti, err := tcpInfo(tcp)
	if err != nil {
		return err
	}
	// Every byte written acknowledged: none arrived after its close.
	if acked, written := ti.Bytes_acked, raw.written.Load(); acked < written+1 { // +1: the SYN
		return fmt.Errorf("the collector closed with %d of the %d bytes written acknowledged", max(acked, 1)-1, written)
	}
	return nil
}

// readToEOF reads and drops what comes until end-of-stream.
func readToEOF(r io.Reader, buf []byte) error {
	for {
		_, err := r.Read(buf)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("no clean close from the collector: %w", err)
		}
	}
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
