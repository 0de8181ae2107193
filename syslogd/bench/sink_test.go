package bench

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The sinks: what every forwarder sends to in this benchmark. Each one
// counts the distinct line numbers it received, so a run is complete when
// every line of the file arrived at least once, however often some were
// sent again.

// framing is how a sink reads its connections.
type framing int

const (
	octetCounted framing = iota // RFC 6587 octet counting, over TCP or TLS
	relpFraming                 // RELP, each syslog command acknowledged
)

// appName is the APP-NAME of every forwarded line: imfile's tag, and
// hostagentd's app_name. hostagentd also forwards its own log records
// (APP-NAME hostagentd); the sink counts those apart and they are no error.
const appName = "hostd"

// sink listens on 127.0.0.1 and counts the distinct line numbers at the end
// of the MSG of the messages it receives.
type sink struct {
	ln      net.Listener
	framing framing
	want    int

	mu          sync.Mutex
	seen        []uint64 // bitmap of line numbers
	distinct    int
	total       int   // messages from appName, line number or not
	bytes       int64 // their size, without framing or a trailing LF
	other       int   // messages from another app (hostagentd's own log)
	bad         int
	badExample  string
	example     string    // the first message counted, for the log
	first, last time.Time // first message; the one that completed the set
	err         error     // a framing or protocol error
	done        chan struct{}
}

// startSink listens on a free port of 127.0.0.1; with tlsConf, over TLS.
func startSink(t testing.TB, want int, f framing, tlsConf *tls.Config) *sink {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s := &sink{ln: ln, framing: f, want: want, seen: make([]uint64, (want+63)/64), done: make(chan struct{})}
	go s.accept()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *sink) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *sink) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if s.framing == relpFraming {
			go s.serveRELP(c)
		} else {
			go s.serveOctets(c)
		}
	}
}

// maxFrame bounds a message; the file's lines are about 100 bytes.
const maxFrame = 256 << 10

// serveOctets reads frames "LEN SP MSG" until the connection ends.
func (s *sink) serveOctets(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, maxFrame)
	for {
		n, _, err := readNumber(r, "octet counting: MSG-LEN", 6, ' ')
		if err != nil {
			if !connEnded(err) {
				s.fail(err)
			}
			return
		}
		if n > maxFrame {
			s.fail(fmt.Errorf("frame of %d octets, more than this sink takes", n))
			return
		}
		msg, err := r.Peek(n)
		if err != nil {
			s.fail(fmt.Errorf("frame of %d octets cut short: %w", n, err))
			return
		}
		s.count(msg)
		_, _ = r.Discard(n)
	}
}

// serveRELP is a minimal RELP server, the same for both senders (it is a
// benchmark sink, not a collector): it answers "open" with "200 OK" and the
// offers relp_version=0 and commands=syslog, answers every "syslog" with
// "rsp 200 OK" and the same TXNR once it has counted the message, and
// answers "close" with an empty "rsp" and ends the session, as librelp's
// server (imrelp) does. It checks that TXNRs follow each other (1, 2, ...,
// back to 1 after 999999999), so a client that skipped or repeated one
// fails the run. Unlike librelp, which writes each answer with a send of
// its own, it gathers the answers and writes them before it waits for
// more input: one write for everything one read brought.
func (s *sink) serveRELP(c net.Conn) {
	defer c.Close()
	w := bufio.NewWriterSize(c, 64<<10)
	// The answers go out before every read of the connection, not only
	// between frames: a sender that writes each frame with a send of its
	// own under Nagle's algorithm (librelp) holds back the rest of a frame
	// until what it sent is acknowledged, so waiting for that rest with
	// answers unsent stalls both sides for a delayed acknowledgement.
	r := bufio.NewReaderSize(flushingReader{c, w}, maxFrame)
	var prev uint64
	for {
		txnr, _, err := readNumber(r, "RELP: TXNR", 9, ' ')
		if err != nil {
			if !connEnded(err) {
				s.fail(err)
			}
			return
		}
		cmd, err := r.ReadSlice(' ')
		if err != nil || len(cmd) < 2 || len(cmd) > 33 {
			s.fail(fmt.Errorf("RELP: bad command after TXNR %d: %q (%v)", txnr, cmd, err))
			return
		}
		command := string(cmd[:len(cmd)-1])
		// DATALEN ends with SP when DATA follows, with LF when it is 0
		// (librelp's parser also takes "0 LF").
		n, end, err := readNumber(r, "RELP: DATALEN", 9, ' ', '\n')
		if err != nil {
			s.fail(err)
			return
		}
		var data []byte
		switch {
		case n == 0 && end == ' ':
			if b, err := r.ReadByte(); err != nil || b != '\n' {
				s.fail(fmt.Errorf("RELP: frame TXNR %d with no data does not end with LF", txnr))
				return
			}
		case n > 0:
			if n > maxFrame-1 {
				s.fail(fmt.Errorf("RELP: DATALEN %d, more than this sink takes", n))
				return
			}
			if data, err = r.Peek(n + 1); err != nil {
				s.fail(fmt.Errorf("RELP: frame of %d octets cut short: %w", n, err))
				return
			}
			if data[n] != '\n' {
				s.fail(fmt.Errorf("RELP: frame TXNR %d does not end with LF", txnr))
				return
			}
			data = data[:n]
		}
		want := uint64(1)
		if prev != 0 && prev < 999999999 {
			want = prev + 1
		}
		if uint64(txnr) != want {
			s.fail(fmt.Errorf("RELP: TXNR %d after %d", txnr, prev))
			return
		}
		prev = uint64(txnr)
		switch command {
		case "open":
			rsp(w, txnr, "200 OK\nrelp_version=0\nrelp_software=hostagent-bench\ncommands=syslog")
		case "syslog":
			s.count(data)
			rsp(w, txnr, "200 OK")
		case "close":
			rsp(w, txnr, "")
			_ = w.Flush()
			return
		default:
			s.fail(fmt.Errorf("RELP: unexpected command %q", command))
			return
		}
		if n > 0 {
			_, _ = r.Discard(n + 1)
		}
	}
}

// connEnded tells whether err is the end of a connection rather than a
// protocol error: EOF, the listener closed, or a reset (a sender killed at
// the end of its run with our answers unread resets the connection; one
// that resets during a run sends again what was not answered).
func connEnded(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET)
}

// flushingReader writes w's buffered answers before each read of r.
type flushingReader struct {
	r io.Reader
	w *bufio.Writer
}

func (f flushingReader) Read(p []byte) (int, error) {
	if err := f.w.Flush(); err != nil {
		return 0, err
	}
	return f.r.Read(p)
}

// rsp appends the answer to transaction txnr.
func rsp(w *bufio.Writer, txnr int, data string) {
	b := w.AvailableBuffer()
	b = strconv.AppendInt(b, int64(txnr), 10)
	b = append(b, " rsp "...)
	b = strconv.AppendInt(b, int64(len(data)), 10)
	if data != "" {
		b = append(b, ' ')
		b = append(b, data...)
	}
	b = append(b, '\n')
	_, _ = w.Write(b)
}

// readNumber reads up to maxDigits decimal digits and the byte that ends
// them, one of ends, which it returns.
func readNumber(r *bufio.Reader, what string, maxDigits int, ends ...byte) (int, byte, error) {
	n, digits := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			if digits > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, 0, err
		}
		switch {
		case b >= '0' && b <= '9' && digits < maxDigits:
			n = n*10 + int(b-'0')
			digits++
		case digits > 0 && bytes.IndexByte(ends, b) >= 0:
			if b == '\n' {
				// Only a DATALEN of 0 may end the header.
				if n != 0 {
					return 0, 0, fmt.Errorf("%s %d followed by LF, not by its data", what, n)
				}
			}
			return n, b, nil
		default:
			return 0, 0, fmt.Errorf("%s: unexpected byte %q after %d digits", what, b, digits)
		}
	}
}

// count checks that msg is RFC 5424 ("<PRI>1 TIMESTAMP HOSTNAME APP-NAME
// ...") and, when APP-NAME is appName, notes its line number, the seven
// digits that end it (a trailing LF, which rsyslog's template adds, is
// ignored).
func (s *sink) count(msg []byte) {
	now := time.Now()
	m := bytes.TrimRight(msg, "\n")
	num, app := -1, []byte(nil)
	if gt := bytes.IndexByte(m, '>'); len(m) > 8 && m[0] == '<' && gt > 0 && bytes.HasPrefix(m[gt+1:], []byte("1 ")) {
		rest := m[gt+3:]
		for range 2 { // TIMESTAMP, HOSTNAME
			_, rest, _ = bytes.Cut(rest, []byte(" "))
		}
		app, _, _ = bytes.Cut(rest, []byte(" "))
		if v, err := strconv.Atoi(string(m[len(m)-7:])); err == nil && v >= 0 && v < s.want {
			num = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if app != nil && string(app) != appName {
		s.other++
		return
	}
	s.total++
	s.bytes += int64(len(m))
	if s.first.IsZero() {
		s.first, s.example = now, string(m)
	}
	if num < 0 {
		if s.bad == 0 {
			s.badExample = string(msg)
		}
		s.bad++
		return
	}
	word, bit := num/64, uint64(1)<<(num%64)
	if s.seen[word]&bit != 0 {
		return
	}
	s.seen[word] |= bit
	s.distinct++
	if s.distinct == s.want {
		s.last = now
		close(s.done)
	}
}

func (s *sink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

type sinkState struct {
	distinct, total, other, bad int
	bytes                       int64
	badExample, example         string
	first, last                 time.Time
	err                         error
}

func (s *sink) state() sinkState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sinkState{s.distinct, s.total, s.other, s.bad, s.bytes, s.badExample, s.example, s.first, s.last, s.err}
}
