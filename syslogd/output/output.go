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

// Output writes to one loghost. Deliver is called by one goroutine.
type Output struct {
	host     Loghost
	settings Settings
	tls      *tls.Config
	log      *slog.Logger

	conn net.Conn
	buf  []byte

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

// Deliver sends batch and returns once every message is written to the
// connection (TCP, TLS) or sent (UDP). On a failure it reconnects, with a
// backoff doubling from 1 s up to RetryMax, and writes the whole batch
// again: the collector may get part of a batch twice, never lose it.
// It returns ctx.Err() if ctx ends first.
func (o *Output) Deliver(ctx context.Context, batch []syslogd.Record) error {
	backoff := min(time.Second, o.settings.RetryMax)
	for attempt := 0; ; attempt++ {
		err := o.write(ctx, batch)
		if err == nil {
			o.sent.Add(uint64(len(batch)))
			return nil
		}
		o.fail(err)
		if attempt == 0 {
			o.log.Warn("loghost unavailable; retrying", "err", err)
		}
		o.retried.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, o.settings.RetryMax)
	}
}

func (o *Output) write(ctx context.Context, batch []syslogd.Record) error {
	if o.conn != nil && o.host.Scheme != "udp" {
		if err := o.alive(); err != nil {
			o.fail(err)
		}
	}
	if o.conn == nil {
		if err := o.dial(ctx); err != nil {
			return err
		}
	}
	if o.host.Scheme == "udp" {
		for i := range batch {
			o.buf = format.Append(o.buf[:0], &batch[i], o.settings.Format, format.None, o.settings.MaxMessage)
			if _, err := o.conn.Write(o.buf); err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
		return nil
	}
	// A stream gets the whole batch in one write: one system call for
	// many lines.
	o.buf = o.buf[:0]
	for i := range batch {
		o.buf = format.Append(o.buf, &batch[i], o.settings.Format, o.settings.Framing, o.settings.MaxMessage)
	}
	_ = o.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := o.conn.Write(o.buf); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
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
