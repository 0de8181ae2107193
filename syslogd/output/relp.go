package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"hostagent/syslogd"
	"hostagent/syslogd/format"
)

// RELP, rsyslog's Reliable Event Logging Protocol: every message is a
// transaction the collector answers with "rsp 200 OK" once it has taken it
// (with a Direct queue, once its actions ran), so a message counts as
// delivered on the collector's word, not on a guess.
//
// The client is written here by hand: no well-kept Go RELP library exists
// (the few on record are unmaintained and lack windowing or reconnection),
// and the protocol is small. The wire rules follow librelp, the reference
// implementation that rsyslog's imrelp and omrelp use:
//
//	frame   = TXNR SP COMMAND SP DATALEN [SP DATA] LF
//	TXNR    = 1 to 9 digits; 1 for the session's first frame, +1 per frame,
//	          back to 1 after 999999999; 0 for the server's "serverclose"
//	COMMAND = 1 to 32 letters: open, syslog, close, rsp, serverclose
//	DATALEN = 1 to 9 digits, the octets of DATA; no SP DATA when it is 0
//
// A session opens with "open" offering relp_version=0, relp_software and
// commands=syslog (offers separated by LF); the server answers "200 OK"
// and its own offers, and must offer syslog. Each message is a "syslog"
// frame; the server answers each with "rsp" and the same TXNR, "200 OK"
// when taken. Anything else (a 500, a wrong TXNR, garbage) ends the
// session: every message not yet answered 200 is sent again on the next
// one, so the collector may get duplicates, never a loss. The server's
// "serverclose" says it is going away: the client reconnects. "close"
// ends a session cleanly; librelp answers it with an empty "rsp".
//
// Throughput is bound by round trips, not by CPU: at most relpWindow
// transactions are outstanding. The window is the client's alone (librelp
// keeps it on the client side of a session, and rsyslog's documentation
// of omrelp's windowSize says there is no server parameter for it, as the
// client proposes and manages it), so imrelp takes a larger one than
// librelp's default of 128. The answers are read by a goroutine of the
// session's own, so that formatting and writing go on while they are
// awaited; it only counts answers, in order, and the goroutine that
// delivers takes them (confirming batches in order) when it next runs,
// in Deliver or Check. Each message is formatted once, straight into its
// frame ("TXNR syslog DATALEN DATA LF") in a buffer kept until it is
// answered; the frames are written with one writev per window refill, and
// framed again (copied) only when a new session gives them new TXNRs.
const (
	relpWindow = 1024
	// relpRefill: once the window is full, the writer waits until this
	// many transactions are answered, so that one write carries many frames.
	relpRefill = relpWindow / 8
	// relpMaxData bounds the DATA of a frame from the server (a reply, or
	// the offers of the open reply). A larger DATALEN is refused before
	// anything is allocated for it.
	relpMaxData = 64 << 10
	// relpMaxHeader is the longest header: two 9-digit numbers, a 32-letter
	// command, three spaces.
	relpMaxHeader = 9 + 1 + 32 + 1 + 9 + 1
	// relpAckTimeout bounds the wait for an answer: a collector that does
	// not answer for that long is taken as down.
	relpAckTimeout = writeTimeout
	relpSoftware   = "hostagent"
	relpMaxTxnr    = 999999999
	// relpFirstTxnr is the TXNR of a session's first message ("open" is 1).
	relpFirstTxnr = 2
	// relpMaxFree bounds the frame buffers kept for reuse.
	relpMaxFree = 4
)

// relpBuf holds frames, back to back: those of one batch, or those framed
// again for a new session. It is reused once all are answered.
type relpBuf struct {
	b    []byte
	left int // frames in it not yet answered
}

// relpMsg is one message, kept until the collector answered 200.
type relpMsg struct {
	buf       *relpBuf
	off, end  int    // the frame: buf.b[off:end]
	data      int    // where DATA starts in buf.b
	txnr      uint32 // the TXNR the frame carries
	confirmID uint64 // on the last message of a batch: the batch it confirms
	confirmN  int    // and its records
}

func (m *relpMsg) frame() []byte { return m.buf.b[m.off:m.end] }

// relpState is a RELP session and the messages it has not had answered;
// the delivering goroutine's alone.
type relpState struct {
	msgs     []relpMsg    // unanswered, oldest first; msgs[:sent] are outstanding on this session
	sent     int          // messages written on this session and not yet taken as answered
	sess     *relpSession // nil when no session
	nextTxnr uint32       // TXNR of the next frame on this session
	taken    uint64       // transactions of sess already taken as answered
	// busySince is when the oldest outstanding transaction was written, or
	// the last answer came, whichever is later; zero when none is outstanding.
	busySince time.Time
	lenDigits int // digits of the last DATALEN: the guess for the next frame
	free      []*relpBuf
	iov       net.Buffers // scratch for writev
}

// relpSession is what the reader goroutine of one session shares.
type relpSession struct {
	conn     net.Conn
	sent     atomic.Uint64 // transactions written: messages, then "close"
	answered atomic.Uint64 // transactions answered, in order ("200" for messages)
	closeAt  atomic.Uint64 // 1 + the index of the "close" transaction; 0 before it is sent
	wake     chan struct{} // a token once more is answered, or the reader stopped
	done     chan struct{} // closed when the reader stopped
	err      error         // why it stopped (nil: "close" was answered); set before done is closed
}

func (r *relpState) reset() {
	r.sess, r.sent, r.taken, r.busySince = nil, 0, 0, time.Time{}
}

// advance returns the TXNR n transactions after t.
func advance(t uint32, n int) uint32 {
	return uint32((uint64(t)-1+uint64(n))%relpMaxTxnr) + 1
}

func nextTxnr(t uint32) uint32 { return advance(t, 1) }

// predictTxnr is the TXNR msgs[i] will most likely carry: on this session
// if there is one, else on the next one. A wrong guess costs a copy.
func (r *relpState) predictTxnr(i int) uint32 {
	if r.sess != nil {
		return advance(r.nextTxnr, i-r.sent)
	}
	return advance(relpFirstTxnr, i)
}

func (r *relpState) takeBuf() *relpBuf {
	if n := len(r.free); n > 0 {
		b := r.free[n-1]
		r.free = r.free[:n-1]
		b.b, b.left = b.b[:0], 0
		return b
	}
	return &relpBuf{}
}

// answered drops the answered message msgs[0].
func (r *relpState) popAnswered() relpMsg {
	m := r.msgs[0]
	r.msgs[0] = relpMsg{}
	r.msgs = r.msgs[1:]
	if m.buf.left--; m.buf.left == 0 && len(r.free) < relpMaxFree && cap(m.buf.b) <= maxFreeBuffer {
		r.free = append(r.free, m.buf)
	}
	return m
}

// appendSyslogFrame appends "TXNR syslog DATALEN DATA LF" for part,
// formatting DATA in place after room for DATALEN's digits as guessed from
// the previous message; a wrong guess (lengths seldom change digits)
// moves DATA by the difference. It returns where DATA starts.
func (o *Output) appendSyslogFrame(b []byte, txnr uint32, part *syslogd.Record) ([]byte, int) {
	r := &o.relp
	guess := max(r.lenDigits, 1)
	b = strconv.AppendUint(b, uint64(txnr), 10)
	b = append(b, " syslog "...)
	lenAt := len(b)
	b = append(b, "000000000"[:guess]...)
	b = append(b, ' ')
	data := len(b)
	b = format.Append(b, part, o.settings.Format, format.None, o.settings.MaxMessage)
	n := len(b) - data
	digits := len(strconv.AppendInt(make([]byte, 0, 20), int64(n), 10))
	if shift := digits - guess; shift != 0 {
		if shift > 0 {
			b = append(b, "000000000"[:shift]...)
		}
		copy(b[data+shift:], b[data:data+n])
		b = b[:data+shift+n]
		data += shift
		b[data-1] = ' '
		r.lenDigits = digits
	}
	strconv.AppendInt(b[lenAt:lenAt], int64(n), 10) // in place: room was made for exactly these digits
	if n == 0 {
		b, data = b[:data-1], data-1 // no SP without DATA
	}
	return append(b, '\n'), data
}

func (o *Output) deliverRELP(ctx context.Context, id uint64, batch []syslogd.Record) error {
	r := &o.relp
	if err := o.takeAnswers(); err != nil {
		o.fail(err) // the retries below open a new session
	}
	buf := r.takeBuf()
	first := len(r.msgs)
	for i := range batch {
		for _, part := range o.parts(&batch[i]) {
			txnr := r.predictTxnr(len(r.msgs))
			off := len(buf.b)
			var data int
			buf.b, data = o.appendSyslogFrame(buf.b, txnr, part)
			r.msgs = append(r.msgs, relpMsg{buf: buf, off: off, end: len(buf.b), data: data, txnr: txnr})
			buf.left++
		}
	}
	o.unconfirmedMsgs.Add(int64(len(batch)))
	switch {
	case len(r.msgs) > first:
		last := &r.msgs[len(r.msgs)-1]
		last.confirmID, last.confirmN = id, len(batch)
	case len(r.msgs) > 0: // no message: confirmed with what comes before
		last := &r.msgs[len(r.msgs)-1]
		last.confirmID, last.confirmN = id, last.confirmN+len(batch)
	default:
		o.confirm(id, len(batch))
		return nil
	}
	return o.retrying(ctx, func() error { return o.flushRELP(ctx) })
}

// flushRELP opens a session if need be and sends every message not yet
// sent on it, waiting for answers while the window is full.
func (o *Output) flushRELP(ctx context.Context) error {
	r := &o.relp
	if o.conn == nil {
		if err := o.openRELP(ctx); err != nil {
			return err
		}
	}
	for {
		if err := o.takeAnswers(); err != nil {
			return err
		}
		if err := o.sendRELP(); err != nil {
			return err
		}
		if r.sent == len(r.msgs) {
			return nil // all written; their answers come later
		}
		// The window is full: wait for answers (backpressure).
		if err := o.awaitAnswers(ctx); err != nil {
			return err
		}
	}
}

// awaitAnswers waits until the reader has more answers, or has stopped.
func (o *Output) awaitAnswers(ctx context.Context) error {
	s := o.relp.sess
	timer := time.NewTimer(relpAckTimeout)
	defer timer.Stop()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("RELP: no answer from the collector for %v", relpAckTimeout)
	}
}

// takeAnswers takes the answers the reader counted: the messages answered
// leave the window, oldest first, and the batches they end are confirmed.
// It returns the error that stopped the reader, once its answers are taken.
func (o *Output) takeAnswers() error {
	r := &o.relp
	s := r.sess
	if s == nil {
		return nil
	}
	answered := s.answered.Load()
	if answered > r.taken {
		r.busySince = time.Now()
	}
	for ; r.taken < answered; r.taken++ {
		if r.sent == 0 {
			continue // the answer to "close"
		}
		m := r.popAnswered()
		r.sent--
		if m.confirmID != 0 {
			o.confirm(m.confirmID, m.confirmN)
		}
	}
	if r.sent == 0 {
		r.busySince = time.Time{}
	}
	select {
	case <-s.done:
		if s.err != nil {
			return s.err
		}
		return errors.New("RELP: the session was closed")
	default:
	}
	return nil
}

// sendRELP writes, in one writev, as many unsent messages as the window
// allows, once there is room for relpRefill of them or for all the rest.
// Frames carrying another session's TXNRs are framed again first.
func (o *Output) sendRELP() error {
	r := &o.relp
	s := r.sess
	room := relpWindow - r.sent
	unsent := len(r.msgs) - r.sent
	if room <= 0 || unsent == 0 || (room < relpRefill && room < unsent) {
		return nil
	}
	n := min(room, unsent)
	for i, t := r.sent, r.nextTxnr; i < r.sent+n; i, t = i+1, nextTxnr(t) {
		if r.msgs[i].txnr != t {
			o.reframe(i, t)
			break
		}
	}
	iov := r.iov[:0]
	var last *relpMsg
	for i := r.sent; i < r.sent+n; i++ {
		m := &r.msgs[i]
		if last != nil && m.buf == last.buf && m.off == last.end {
			iov[len(iov)-1] = m.buf.b[m.off-len(iov[len(iov)-1]) : m.end] // contiguous: one piece
		} else {
			iov = append(iov, m.frame())
		}
		last = m
	}
	if r.sent == 0 {
		r.busySince = time.Now()
	}
	r.sent += n
	r.nextTxnr = advance(r.nextTxnr, n)
	s.sent.Add(uint64(n)) // before the write: the answers may come at once
	_ = o.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	pieces := iov
	_, err := pieces.WriteTo(o.conn)
	clear(iov[:cap(iov)])
	r.iov = iov[:0]
	if err != nil {
		return fmt.Errorf("RELP write: %w", err)
	}
	return nil
}

// reframe frames msgs[from:] again with the TXNRs they get now, from t,
// copying each DATA into a new buffer: after a new session, or a guess
// gone wrong.
func (o *Output) reframe(from int, t uint32) {
	r := &o.relp
	buf := &relpBuf{}
	for i := from; i < len(r.msgs); i++ {
		m := &r.msgs[i]
		if m.txnr == t {
			t = nextTxnr(t)
			continue
		}
		data := m.buf.b[m.data : m.end-1]
		if m.buf.left--; m.buf.left == 0 {
			m.buf.b = nil // the old frames are garbage now
		}
		off := len(buf.b)
		buf.b = appendFrame(buf.b, t, "syslog", data)
		m.buf, m.off, m.end, m.data, m.txnr = buf, off, len(buf.b), len(buf.b)-1-len(data), t
		buf.left++
		t = nextTxnr(t)
	}
}

// appendFrame appends TXNR SP COMMAND SP DATALEN [SP DATA] LF.
func appendFrame(b []byte, txnr uint32, cmd string, data []byte) []byte {
	b = strconv.AppendUint(b, uint64(txnr), 10)
	b = append(b, ' ')
	b = append(b, cmd...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(data)), 10)
	if len(data) > 0 {
		b = append(b, ' ')
		b = append(b, data...)
	}
	return append(b, '\n')
}

// openRELP connects and opens a session, and starts its reader.
func (o *Output) openRELP(ctx context.Context) error {
	conn, err := o.dial(ctx)
	if err != nil {
		return err
	}
	r := &o.relp
	r.reset()
	o.conn = conn
	offers := []byte("relp_version=0\nrelp_software=" + relpSoftware + "\ncommands=syslog")
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := conn.Write(appendFrame(nil, 1, "open", offers)); err != nil {
		return fmt.Errorf("RELP open: %w", err)
	}
	fr := &frameReader{conn: conn}
	deadline, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stop := context.AfterFunc(deadline, func() { _ = conn.SetReadDeadline(time.Now()) })
	f, err := fr.next()
	stop()
	_ = conn.SetReadDeadline(time.Time{})
	if err != nil {
		if deadline.Err() != nil {
			err = fmt.Errorf("no answer from the collector: %w", deadline.Err())
		}
		return fmt.Errorf("RELP open: %w", err)
	}
	if f.command != "rsp" || f.txnr != 1 {
		return fmt.Errorf("RELP open: the collector answered %q with TXNR %d", f.command, f.txnr)
	}
	status, rest, _ := bytes.Cut(f.data, []byte("\n"))
	if !isOK(status) {
		return fmt.Errorf("RELP open refused: %q", truncate(status))
	}
	if !offersSyslog(rest) {
		return errors.New("RELP open: the collector does not offer the syslog command")
	}
	s := &relpSession{conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.sess, r.nextTxnr = s, relpFirstTxnr
	go s.read(fr)
	o.connectedTo(conn)
	return nil
}

// offersSyslog tells whether the server's offers (name=value,value lines)
// include commands=syslog.
func offersSyslog(offers []byte) bool {
	for line := range bytes.SplitSeq(offers, []byte("\n")) {
		name, values, _ := bytes.Cut(line, []byte("="))
		if string(name) != "commands" {
			continue
		}
		for v := range bytes.SplitSeq(values, []byte(",")) {
			if string(v) == "syslog" {
				return true
			}
		}
	}
	return false
}

// isOK tells whether a reply's status is 200 ("200 OK", "200").
func isOK(status []byte) bool {
	return bytes.HasPrefix(status, []byte("200")) && (len(status) == 3 || status[3] == ' ')
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// read counts the answers of the session, checking each against the
// transaction it answers, until the connection fails, the collector says
// something else than expected, or "close" is answered.
func (s *relpSession) read(fr *frameReader) {
	defer close(s.done)
	defer s.signal()
	txnr := uint32(relpFirstTxnr)
	for {
		f, err := fr.nextOrRead(s.signal)
		if err != nil {
			s.err = err
			return
		}
		i := s.answered.Load()
		switch {
		case f.command == "serverclose" && f.txnr == 0:
			s.err = errors.New("the RELP collector is closing the session (serverclose)")
			return
		case f.command != "rsp":
			s.err = fmt.Errorf("RELP: unexpected %q from the collector", f.command)
			return
		case i >= s.sent.Load():
			s.err = fmt.Errorf("RELP: answer for TXNR %d, none outstanding", f.txnr)
			return
		case f.txnr != txnr:
			s.err = fmt.Errorf("RELP: answer for TXNR %d, expected %d", f.txnr, txnr)
			return
		case i+1 == s.closeAt.Load():
			s.answered.Add(1) // "close" answered: the session is over
			return
		}
		if status, _, _ := bytes.Cut(f.data, []byte("\n")); !isOK(status) {
			// Refused: written again on the next session, as anything unanswered.
			s.err = fmt.Errorf("RELP: the collector refused a message: %q", truncate(status))
			return
		}
		s.answered.Add(1)
		txnr = nextTxnr(txnr)
	}
}

// signal wakes the delivering goroutine if it waits for answers.
func (s *relpSession) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// checkRELP is Check on RELP: it takes the answers that came, watches for
// a collector that stopped answering, and sends what the window then has
// room for. It never waits for the network.
func (o *Output) checkRELP() error {
	r := &o.relp
	if r.sess == nil {
		return nil
	}
	if err := o.takeAnswers(); err != nil {
		return err
	}
	if r.sent > 0 && time.Since(r.busySince) > relpAckTimeout {
		return fmt.Errorf("RELP: no answer from the collector for %v", relpAckTimeout)
	}
	return o.sendRELP()
}

// finishRELP is Finish on RELP: it sends what is left, waits for every
// answer, says "close" and waits for its answer, then closes the
// connection. Whatever happens, the connection is closed at the end.
func (o *Output) finishRELP(ctx context.Context) error {
	r := &o.relp
	if r.sess == nil {
		if n := o.Unconfirmed(); n > 0 {
			return fmt.Errorf("not connected: %d messages stay unconfirmed", n)
		}
		return nil
	}
	err := o.closeSession(ctx)
	if err != nil {
		o.fail(err)
		return fmt.Errorf("%w: %d messages stay unconfirmed", err, o.Unconfirmed())
	}
	s := r.sess
	o.conn.Close()
	<-s.done
	o.conn = nil
	r.reset()
	return nil
}

// closeSession sends the messages left, waits for all answers, then says
// "close" and waits for its answer.
func (o *Output) closeSession(ctx context.Context) error {
	r := &o.relp
	s := r.sess
	for {
		if err := o.takeAnswers(); err != nil {
			return err
		}
		if err := o.sendRELP(); err != nil {
			return err
		}
		if r.sent == 0 && len(r.msgs) == 0 {
			break
		}
		if err := o.awaitAnswers(ctx); err != nil {
			return err
		}
	}
	s.closeAt.Store(s.sent.Load() + 1)
	s.sent.Add(1)
	_ = o.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := o.conn.Write(appendFrame(nil, r.nextTxnr, "close", nil)); err != nil {
		return fmt.Errorf("RELP close: %w", err)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("RELP close: no answer from the collector: %w", ctx.Err())
	}
	if s.err != nil {
		return s.err
	}
	r.taken = s.answered.Load()
	return nil
}

// frameReader reads frames from a connection into a buffer of its own.
type frameReader struct {
	conn net.Conn
	in   []byte // bytes read; in[off:] not yet parsed
	off  int
}

// next returns the next complete frame, reading as needed; its data is
// valid until the next call.
func (fr *frameReader) next() (relpFrame, error) { return fr.nextOrRead(nil) }

// nextOrRead is next; before each read (when every frame read so far was
// returned) it calls idle, if any.
func (fr *frameReader) nextOrRead(idle func()) (relpFrame, error) {
	for {
		f, n, err := parseFrame(fr.in[fr.off:])
		if err == nil {
			fr.off += n
			return f, nil
		}
		if !errors.Is(err, errIncomplete) {
			return f, err
		}
		if idle != nil {
			idle()
		}
		if err := fr.readMore(); err != nil {
			return f, err
		}
	}
}

// readMore reads once into the input buffer, which never holds more than
// one frame of the largest size allowed plus what one read brings. The
// frames parsed so far (and their data) are dropped first.
func (fr *frameReader) readMore() error {
	fr.in = fr.in[:copy(fr.in, fr.in[fr.off:])]
	fr.off = 0
	const chunk = 16 << 10
	if cap(fr.in)-len(fr.in) < chunk {
		grown := make([]byte, len(fr.in), len(fr.in)+chunk+relpMaxHeader+relpMaxData+1)
		copy(grown, fr.in)
		fr.in = grown
	}
	quickAck(fr.conn)
	n, err := fr.conn.Read(fr.in[len(fr.in):cap(fr.in)])
	fr.in = fr.in[:len(fr.in)+n]
	if n > 0 {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return errors.New("RELP: the collector closed the connection")
	}
	if err != nil {
		return fmt.Errorf("RELP read: %w", err)
	}
	return nil
}

// relpFrame is a parsed frame; data points into the input buffer and is
// valid until the next read.
type relpFrame struct {
	txnr    uint32
	command string
	data    []byte
}

var errIncomplete = errors.New("incomplete RELP frame")

// parseFrame parses one frame at the start of b. It returns the frame and
// its length, errIncomplete if b holds only its beginning, or an error
// saying what is wrong. It never allocates beyond the command name, and
// refuses a DATALEN over relpMaxData before its data arrives, so a hostile
// server can neither crash the client nor make it allocate without bound.
func parseFrame(b []byte) (relpFrame, int, error) {
	var f relpFrame
	i := 0
	num := func(field string) (uint32, error) {
		start := i
		var v uint32
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start == 9 {
				return 0, fmt.Errorf("RELP: %s longer than 9 digits", field)
			}
			v = v*10 + uint32(b[i]-'0')
			i++
		}
		switch {
		case i == len(b):
			return 0, errIncomplete
		case i == start:
			return 0, fmt.Errorf("RELP: %s: a digit expected, got %q", field, b[i])
		}
		return v, nil
	}
	sp := func(after string) error {
		if i == len(b) {
			return errIncomplete
		}
		if b[i] != ' ' {
			return fmt.Errorf("RELP: a space expected after %s, got %q", after, b[i])
		}
		i++
		return nil
	}
	var err error
	if f.txnr, err = num("TXNR"); err != nil {
		return f, 0, err
	}
	if err := sp("TXNR"); err != nil {
		return f, 0, err
	}
	start := i
	for i < len(b) && (b[i]|0x20 >= 'a' && b[i]|0x20 <= 'z') {
		if i-start == 32 {
			return f, 0, errors.New("RELP: command longer than 32 letters")
		}
		i++
	}
	if i == len(b) {
		return f, 0, errIncomplete
	}
	if i == start {
		return f, 0, fmt.Errorf("RELP: a command expected, got %q", b[i])
	}
	cmd := b[start:i]
	if err := sp("the command"); err != nil {
		return f, 0, err
	}
	n, err := num("DATALEN")
	if err != nil {
		return f, 0, err
	}
	if n > relpMaxData {
		return f, 0, fmt.Errorf("RELP: DATALEN %d over the %d octets allowed", n, relpMaxData)
	}
	if n > 0 {
		if err := sp("DATALEN"); err != nil {
			return f, 0, err
		}
		if len(b)-i < int(n) {
			return f, 0, errIncomplete
		}
		f.data = b[i : i+int(n) : i+int(n)]
		i += int(n)
	}
	if i == len(b) {
		return f, 0, errIncomplete
	}
	if b[i] != '\n' {
		return f, 0, fmt.Errorf("RELP: the frame does not end with LF (got %q)", b[i])
	}
	f.command = internCommand(cmd)
	return f, i + 1, nil
}

// internCommand avoids an allocation for the commands a server sends.
func internCommand(b []byte) string {
	switch string(b) {
	case "rsp":
		return "rsp"
	case "serverclose":
		return "serverclose"
	}
	return string(b)
}

// quickAck asks the kernel to acknowledge what arrives next at once. librelp
// writes each answer with a send of its own and leaves Nagle's algorithm
// on, so its next answer waits until ours acknowledges the previous one;
// Linux delays that acknowledgement by up to 40 ms, and the window then
// crawls at a few thousand messages a second (measured: 20k messages in 7 s
// without, 0.3 s with). Linux turns quick acknowledgement off again by
// itself, hence before every read: a system call per read, which takes
// many answers, not per message.
func quickAck(c net.Conn) {
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1) })
		}
	}
}
