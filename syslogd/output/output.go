package output

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"hostagent/syslogd"
	"hostagent/syslogd/format"
)

// Settings are how one loghost is written to.
type Settings struct {
	Format     format.Format
	Framing    format.Framing // ignored for UDP: one message per datagram
	MaxMessage int            // octets per message; longer ones are cut
	RetryMax   time.Duration  // cap of the reconnection backoff
	// TLS (ssl://): the collector's certificate is verified against CAFile
	// (the system's roots when empty) and the loghost's name.
	CAFile, CertFile, KeyFile string
	InsecureSkipVerify        bool
}

// DefaultSettings are ESXi's: RFC 5424 with octet counting on TCP and TLS,
// RFC 3164 on UDP within RFC 5426's 2048 octets, a 180 s retry cap.
func DefaultSettings(h Loghost) Settings {
	s := Settings{Format: format.RFC5424, Framing: format.OctetCounting, MaxMessage: 8192, RetryMax: 180 * time.Second}
	if h.Scheme == "udp" {
		s.Format, s.Framing, s.MaxMessage = format.RFC3164, format.None, 2048
	}
	return s
}

// Stats are an output's counters, for vicfg-syslog --show.
type Stats struct {
	Loghost    string `json:"loghost"`
	Connected  bool   `json:"connected"`
	Sent       uint64 `json:"sent"`       // messages written (TCP, TLS) or sent (UDP)
	Retried    uint64 `json:"retried"`    // batches written again after a failure
	Reconnects uint64 `json:"reconnects"` // connections made after the first
	LastError  string `json:"last_error,omitempty"`
}

// A stream collector that dies takes with it what it had not read yet,
// although the writes succeeded: TCP says nothing of what the application
// read. So a written batch counts as delivered (confirmed) only once the
// connection was seen alive confirmAfter later; until then it is kept, and
// written again after a reconnection. At most maxUnconfirmed bytes wait:
// beyond that the oldest batch is taken as confirmed.
const (
	confirmAfter   = 250 * time.Millisecond
	maxUnconfirmed = 1 << 20
)

// written is a batch written to the connection, not yet confirmed.
type written struct {
	id   uint64
	data []byte
	at   time.Time
}

// Output writes to one loghost. Deliver and Check are called by one
// goroutine.
type Output struct {
	host     Loghost
	settings Settings
	tls      *tls.Config
	log      *slog.Logger

	conn net.Conn
	buf  []byte

	nextID      uint64
	unconfirmed []written
	pending     int // bytes in unconfirmed
	confirmed   atomic.Uint64

	connected                 atomic.Bool
	sent, retried, reconnects atomic.Uint64
	dials                     atomic.Uint64
	mu                        sync.Mutex
	lastError                 string
}

// writeTimeout bounds one write: a collector that stops reading (a full
// TCP window) is treated as down rather than stalling forever.
const writeTimeout = 30 * time.Second

// New prepares the output; it connects on the first Deliver.
func New(h Loghost, s Settings, log *slog.Logger) (*Output, error) {
	o := &Output{host: h, settings: s, log: log.With("loghost", h.String())}
	if h.Scheme == "ssl" {
		cfg := &tls.Config{ServerName: h.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.InsecureSkipVerify}
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				return nil, fmt.Errorf("loghost %s: CA file: %w", h, err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("loghost %s: CA file %s holds no PEM certificate", h, s.CAFile)
			}
		}
		if s.CertFile != "" || s.KeyFile != "" {
			cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("loghost %s: client certificate: %w", h, err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		o.tls = cfg
	}
	return o, nil
}

// Deliver sends batch and returns its id once every message is written to
// the connection (TCP, TLS) or sent (UDP); Confirmed says when it counts as
// delivered. On a failure it reconnects, with a backoff doubling from 1 s
// up to RetryMax, and writes the unconfirmed batches and this one again:
// the collector may get messages twice, never lose them. It returns
// ctx.Err() if ctx ends first.
func (o *Output) Deliver(ctx context.Context, batch []syslogd.Record) (uint64, error) {
	o.nextID++
	id := o.nextID
	var data []byte
	if o.host.Scheme != "udp" {
		data = o.encode(batch)
	}
	backoff := min(time.Second, o.settings.RetryMax)
	for attempt := 0; ; attempt++ {
		var err error
		if o.host.Scheme == "udp" {
			err = o.sendUDP(ctx, id, batch)
		} else {
			err = o.write(ctx, id, data)
		}
		if err == nil {
			o.sent.Add(uint64(len(batch)))
			return id, nil
		}
		o.fail(err)
		if attempt == 0 {
			o.log.Warn("loghost unavailable; retrying", "err", err)
		}
		o.retried.Add(1)
		select {
		case <-ctx.Done():
			return id, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, o.settings.RetryMax)
	}
}

// Confirmed is the id of the newest batch counted as delivered: every
// batch up to it may be checkpointed.
func (o *Output) Confirmed() uint64 { return o.confirmed.Load() }

// Check looks at the connection without writing, so that batches are
// confirmed while no new line comes.
func (o *Output) Check() {
	if o.conn == nil || len(o.unconfirmed) == 0 {
		return
	}
	if err := o.alive(); err != nil {
		o.fail(err) // the next Deliver writes them again
		return
	}
	o.confirm(time.Now().Add(-confirmAfter))
}

// encode frames a batch for a stream, which gets it in one write: one
// system call for many lines. It is kept until confirmed.
func (o *Output) encode(batch []syslogd.Record) []byte {
	o.buf = o.buf[:0]
	for i := range batch {
		for _, part := range o.parts(&batch[i]) {
			o.buf = format.Append(o.buf, part, o.settings.Format, o.settings.Framing, o.settings.MaxMessage)
		}
	}
	return append([]byte(nil), o.buf...)
}

// maxFixedHeader bounds what a header holds besides its variable fields
// and its structured data (format.SDLen): "<191>1 " (7), an RFC 3339 time
// with microseconds and offset (32), five separators.
const maxFixedHeader = 7 + 32 + 5

// ContinuedMarker ends every part of a message split to fit the loghost's
// maximum but the last, as the file tailer marks the parts of long lines.
const ContinuedMarker = " [continued]"

// parts returns r, or r split into records that each fit MaxMessage with
// its header, every part but the last marked: a message too long for the
// loghost is sent in pieces, never cut short in silence.
func (o *Output) parts(r *syslogd.Record) []*syslogd.Record {
	max := o.settings.MaxMessage
	// The header's length is bounded by its fields' lengths plus the fixed
	// parts (PRI, version, timestamp, separators, the sequence element):
	// most messages fit by far, and are not formatted twice to find out.
	if max <= 0 || len(r.Message)+len(r.Hostname)+len(r.AppName)+len(r.ProcID)+len(r.MsgID)+maxFixedHeader+format.SDLen(r) <= max {
		return []*syslogd.Record{r}
	}
	empty := *r
	empty.Message = ""
	empty.Part = 99999                                                               // room for the part number of any piece
	header := len(format.Append(nil, &empty, o.settings.Format, format.None, 0)) + 1 // and the space before MSG
	if header+len(r.Message) <= max {
		return []*syslogd.Record{r}
	}
	room := max - header - len(ContinuedMarker)
	if room < 16 { // a header nearly as long as the maximum: cut, as format does
		return []*syslogd.Record{r}
	}
	var out []*syslogd.Record
	for msg := r.Message; msg != ""; {
		n := len(msg)
		if header+n > max {
			n = room
			for n > 0 && !utf8.RuneStart(msg[n]) {
				n--
			}
		}
		part := *r
		part.Part = len(out) + 1
		part.Message = msg[:n]
		if n < len(msg) {
			part.Message += ContinuedMarker
		}
		out = append(out, &part)
		msg = msg[n:]
	}
	return out
}

func (o *Output) write(ctx context.Context, id uint64, data []byte) error {
	if o.conn != nil {
		if err := o.alive(); err != nil {
			return err
		}
		o.confirm(time.Now().Add(-confirmAfter))
	}
	if o.conn == nil {
		if err := o.dial(ctx); err != nil {
			return err
		}
		// A new connection: what the old one may have lost goes first.
		for _, w := range o.unconfirmed {
			if err := o.writeAll(w.data); err != nil {
				return err
			}
		}
	}
	if err := o.writeAll(data); err != nil {
		return err
	}
	o.unconfirmed = append(o.unconfirmed, written{id: id, data: data, at: time.Now()})
	o.pending += len(data)
	for o.pending > maxUnconfirmed && len(o.unconfirmed) > 1 {
		o.confirmFirst()
	}
	return nil
}

func (o *Output) writeAll(data []byte) error {
	_ = o.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := o.conn.Write(data); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// sendUDP sends each message as a datagram. UDP has no delivery to
// confirm: a batch counts as delivered once sent.
func (o *Output) sendUDP(ctx context.Context, id uint64, batch []syslogd.Record) error {
	if o.conn == nil {
		if err := o.dial(ctx); err != nil {
			return err
		}
	}
	for i := range batch {
		for _, part := range o.parts(&batch[i]) {
			o.buf = format.Append(o.buf[:0], part, o.settings.Format, format.None, o.settings.MaxMessage)
			if _, err := o.conn.Write(o.buf); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
	}
	o.confirmed.Store(id)
	return nil
}

// confirm takes as delivered the batches written before cut.
func (o *Output) confirm(cut time.Time) {
	for len(o.unconfirmed) > 0 && !o.unconfirmed[0].at.After(cut) {
		o.confirmFirst()
	}
}

func (o *Output) confirmFirst() {
	w := o.unconfirmed[0]
	o.unconfirmed = o.unconfirmed[1:]
	o.pending -= len(w.data)
	o.confirmed.Store(w.id)
}

// alive tells whether a collector that was stopped or restarted has closed
// the connection since the last batch: a write would still succeed into
// the kernel's buffer and its lines would be lost with the reset that
// follows. It peeks at the socket without waiting and without consuming
// anything (under TLS the bytes belong to the TLS layer); a read with a
// past deadline would not do, as Go then returns without asking the kernel.
func (o *Output) alive() error {
	conn := o.conn
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
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

func (o *Output) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	network := o.host.Scheme
	if network == "ssl" {
		network = "tcp"
	}
	conn, err := d.DialContext(ctx, network, o.host.Addr())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if o.tls != nil {
		tc := tls.Client(conn, o.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	if o.dials.Add(1) > 1 {
		o.reconnects.Add(1)
		o.log.Info("loghost connected again")
	}
	o.conn = conn
	o.connected.Store(true)
	o.setError("")
	return nil
}

// fail drops the connection after an error so the next attempt dials.
func (o *Output) fail(err error) {
	if o.conn != nil {
		o.conn.Close()
		o.conn = nil
	}
	o.connected.Store(false)
	o.setError(err.Error())
}

func (o *Output) setError(s string) {
	o.mu.Lock()
	o.lastError = s
	o.mu.Unlock()
}

// Close ends the connection.
func (o *Output) Close() error {
	if o.conn == nil {
		return nil
	}
	err := o.conn.Close()
	o.conn = nil
	o.connected.Store(false)
	return err
}

// Stats returns the counters; safe from any goroutine.
func (o *Output) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Stats{Loghost: o.host.String(), Connected: o.connected.Load(), Sent: o.sent.Load(),
		Retried: o.retried.Load(), Reconnects: o.reconnects.Load(), LastError: o.lastError}
}
