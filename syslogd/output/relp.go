package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
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
// one, so the collector may get duplicates, never a loss. At most
// relpWindow transactions are outstanding, librelp's default window,
// which imrelp's sessions are sized for. The server's "serverclose" says
// it is going away: the client reconnects. "close" ends a session cleanly.
const (
	relpWindow = 128
	// relpRefill: the window is refilled once this many transactions are
	// answered, so that one write carries many frames.
	relpRefill = relpWindow / 4
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
)

// relpMsg is one message, kept until the collector answered 200.
type relpMsg struct {
	body []byte
	// On the last message of a batch: the batch it confirms, and its
	// records.
	confirmID uint64
	confirmN  int
}

// relpState is a RELP session and the messages it has not had answered.
type relpState struct {
	msgs     []relpMsg // unanswered, oldest first; msgs[:sent] are outstanding on this session
	sent     int
	headTxnr uint32 // TXNR of msgs[0] when sent > 0
	nextTxnr uint32 // TXNR of the next frame
	in       []byte // bytes read; in[off:] not yet parsed
	off      int
	open     bool
}

func (r *relpState) reset() {
	r.sent, r.headTxnr, r.nextTxnr, r.in, r.off, r.open = 0, 0, 0, r.in[:0], 0, false
}

func (r *relpState) takeTxnr() uint32 {
	t := r.nextTxnr
	r.nextTxnr = nextTxnr(t)
	return t
}

func nextTxnr(t uint32) uint32 {
	if t >= relpMaxTxnr {
		return 1
	}
	return t + 1
}

func (o *Output) deliverRELP(ctx context.Context, id uint64, batch []syslogd.Record) error {
	r := &o.relp
	// One buffer for the batch's messages, kept until answered.
	var data []byte
	var ends []int
	for i := range batch {
		for _, part := range o.parts(&batch[i]) {
			data = format.Append(data, part, o.settings.Format, format.None, o.settings.MaxMessage)
			ends = append(ends, len(data))
		}
	}
	o.unconfirmedMsgs.Add(int64(len(batch)))
	start := 0
	for _, end := range ends {
		r.msgs = append(r.msgs, relpMsg{body: data[start:end:end]})
		start = end
	}
	switch {
	case len(ends) > 0:
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
		if err := o.sendRELP(); err != nil {
			return err
		}
		if r.sent == len(r.msgs) {
			return nil // all written; their answers come later
		}
		// The window is full: wait for answers (backpressure).
		if err := o.readRELP(ctx, relpRefill); err != nil {
			return err
		}
	}
}

// sendRELP writes, in one write, as many unsent messages as the window
// allows, once there is room for relpRefill of them or for all the rest.
func (o *Output) sendRELP() error {
	r := &o.relp
	room := relpWindow - r.sent
	unsent := len(r.msgs) - r.sent
	if room <= 0 || unsent == 0 || (room < relpRefill && room < unsent) {
		return nil
	}
	o.buf = o.buf[:0]
	for _, m := range r.msgs[r.sent : r.sent+min(room, unsent)] {
		t := r.takeTxnr()
		if r.sent == 0 {
			r.headTxnr = t
		}
		r.sent++
		o.buf = appendFrame(o.buf, t, "syslog", m.body)
	}
	_ = o.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := o.conn.Write(o.buf); err != nil {
		return fmt.Errorf("RELP write: %w", err)
	}
	return nil
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

// openRELP connects and opens a session.
func (o *Output) openRELP(ctx context.Context) error {
	conn, err := o.dial(ctx)
	if err != nil {
		return err
	}
	r := &o.relp
	r.reset()
	r.nextTxnr = 1
	o.conn = conn
	offers := []byte("relp_version=0\nrelp_software=" + relpSoftware + "\ncommands=syslog")
	t := r.takeTxnr()
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := conn.Write(appendFrame(nil, t, "open", offers)); err != nil {
		return fmt.Errorf("RELP open: %w", err)
	}
	deadline, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	f, err := o.nextFrame(deadline)
	if err != nil {
		return fmt.Errorf("RELP open: %w", err)
	}
	if f.command != "rsp" || f.txnr != t {
		return fmt.Errorf("RELP open: the collector answered %q with TXNR %d", f.command, f.txnr)
	}
	status, rest, _ := bytes.Cut(f.data, []byte("\n"))
	if !isOK(status) {
		return fmt.Errorf("RELP open refused: %q", truncate(status))
	}
	if !offersSyslog(rest) {
		return errors.New("RELP open: the collector does not offer the syslog command")
	}
	r.open = true
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

// readRELP reads answers until at least want outstanding transactions were
// answered (or none is outstanding), then takes whatever else was read.
func (o *Output) readRELP(ctx context.Context, want int) error {
	r := &o.relp
	ctx, cancel := context.WithTimeout(ctx, relpAckTimeout)
	defer cancel()
	answered := 0
	for answered < want && r.sent > 0 {
		f, err := o.nextFrame(ctx)
		if err != nil {
			return err
		}
		if err := o.handleFrame(f); err != nil {
			return err
		}
		answered++
	}
	return o.drainRELP()
}

// drainRELP handles the frames already read, without reading.
func (o *Output) drainRELP() error {
	for {
		f, n, err := parseFrame(o.relp.in[o.relp.off:])
		if errors.Is(err, errIncomplete) {
			return nil
		}
		if err != nil {
			return err
		}
		o.consume(n)
		if err := o.handleFrame(f); err != nil {
			return err
		}
	}
}

// checkRELP is Check on RELP: it takes the answers that arrived, waiting
// at most a few milliseconds, and sends what the window then has room for.
func (o *Output) checkRELP() error {
	if o.relp.sent == 0 {
		return o.sendRELP()
	}
	if err := o.drainRELP(); err != nil {
		return err
	}
	_ = o.conn.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
	if err := o.readMore(); err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			return o.sendRELP()
		}
		return err
	}
	if err := o.drainRELP(); err != nil {
		return err
	}
	return o.sendRELP()
}

// handleFrame takes one frame from the server.
func (o *Output) handleFrame(f relpFrame) error {
	r := &o.relp
	switch {
	case f.command == "serverclose" && f.txnr == 0:
		return errors.New("the RELP collector is closing the session (serverclose)")
	case f.command != "rsp":
		return fmt.Errorf("RELP: unexpected %q from the collector", f.command)
	case r.sent == 0 || f.txnr != r.headTxnr:
		return fmt.Errorf("RELP: answer for TXNR %d, expected %d", f.txnr, r.headTxnr)
	}
	status, _, _ := bytes.Cut(f.data, []byte("\n"))
	if !isOK(status) {
		// Refused: written again on the next session, as anything unanswered.
		return fmt.Errorf("RELP: the collector refused a message: %q", truncate(status))
	}
	m := r.msgs[0]
	r.msgs[0] = relpMsg{}
	r.msgs = r.msgs[1:]
	r.sent--
	r.headTxnr = nextTxnr(r.headTxnr)
	if m.confirmID != 0 {
		o.confirm(m.confirmID, m.confirmN)
	}
	return nil
}

// nextFrame returns the next complete frame, reading as needed until ctx
// ends.
func (o *Output) nextFrame(ctx context.Context) (relpFrame, error) {
	for {
		f, n, err := parseFrame(o.relp.in[o.relp.off:])
		if err == nil {
			o.consume(n)
			return f, nil
		}
		if !errors.Is(err, errIncomplete) {
			return f, err
		}
		if dl, ok := ctx.Deadline(); ok {
			_ = o.conn.SetReadDeadline(dl)
		}
		if err := o.readMore(); err != nil {
			if ctx.Err() != nil {
				return f, fmt.Errorf("RELP: no answer from the collector: %w", ctx.Err())
			}
			return f, err
		}
	}
}

// readMore reads once into the input buffer, which never holds more than
// one frame of the largest size allowed plus what one read brings. The
// frames parsed so far (and their data) are dropped first.
func (o *Output) readMore() error {
	r := &o.relp
	r.in = r.in[:copy(r.in, r.in[r.off:])]
	r.off = 0
	const chunk = 16 << 10
	if cap(r.in)-len(r.in) < chunk {
		grown := make([]byte, len(r.in), len(r.in)+chunk+relpMaxHeader+relpMaxData+1)
		copy(grown, r.in)
		r.in = grown
	}
	quickAck(o.conn)
	n, err := o.conn.Read(r.in[len(r.in):cap(r.in)])
	r.in = r.in[:len(r.in)+n]
	if n > 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("RELP read: %w", err)
	}
	return nil
}

// consume marks n bytes of the input buffer parsed; the frame's data stays
// valid until the next read.
func (o *Output) consume(n int) { o.relp.off += n }

// closeRELP ends the session politely: it takes the answers already sent
// and says "close", waiting a moment for the collector's answer.
func (o *Output) closeRELP() {
	r := &o.relp
	if !r.open {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for r.sent > 0 {
		f, err := o.nextFrame(ctx)
		if err != nil || o.handleFrame(f) != nil {
			return
		}
	}
	t := r.takeTxnr()
	_ = o.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := o.conn.Write(appendFrame(nil, t, "close", nil)); err != nil {
		return
	}
	for {
		f, err := o.nextFrame(ctx)
		if err != nil || (f.command == "rsp" && f.txnr == t) {
			return
		}
	}
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
