// Package listen receives local syslog messages — on a unix datagram socket, as /dev/log does, and optionally on a UDP port of the loopback — and parses them (RFC 5424 or RFC 3164) into Records.
//
// Parsing uses github.com/leodido/go-syslog/v4, the maintained RFC 5424 and
// RFC 3164 parser; the design's gopkg.in/mcuadros/go-syslog.v2 cannot be had
// here (the module proxy refuses it). The /dev/log form of syslog(3) is read
// by hand first, because the RFC 3164 parser mis-reads it when the message
// is empty (see parse.go).
package listen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"hostagent/syslogd"
)

// MaxMessage is the largest message kept whole; the rest of a longer
// datagram is cut off by the kernel (the Record keeps the first MaxMessage
// bytes and the cut is logged).
const MaxMessage = 64 << 10

// Config says where to listen.
type Config struct {
	// Socket is the path of a unix datagram socket ("" = none), such as
	// /dev/log. It is created (parent directory too) with mode 0666 so any
	// local program can log, as /dev/log allows; an existing socket file
	// nobody listens on (left by a crash) is replaced, a live socket or
	// anything else at the path is refused with an error naming it.
	Socket string
	// UDP is a loopback address to listen on, "127.0.0.1:514" or
	// "[::1]:514" ("" = none). Other addresses are refused: syslog over
	// UDP has no authentication, so anyone who reaches the port could
	// write into the forwarded log.
	UDP string
	// Hostname goes into a Record whose message carries none (RFC 3164
	// as syslog(3) writes it, or "-" in RFC 5424); "" = os.Hostname().
	Hostname string
}

// Listener holds the open sockets.
type Listener struct {
	hostname string
	log      *slog.Logger
	inputs   []*input

	// socketFile identifies the socket file we created, so Close removes
	// it but not one that another process has since put at the path.
	socketPath string
	socketFile os.FileInfo

	closeOnce sync.Once
	closeErr  error
}

// input is one socket and what Run needs to read it.
type input struct {
	source string // Record.Source
	conn   net.Conn
	// read reads one datagram and reports whether the kernel cut it to fit b.
	read func(b []byte) (n int, truncated bool, err error)
}

// Listen opens the sockets (errors name the path/address) and returns once they
// are open; Run delivers each message as a Record to out until ctx is done.
func Listen(cfg Config, log *slog.Logger) (*Listener, error) {
	if cfg.Socket == "" && cfg.UDP == "" {
		return nil, errors.New("syslog listener: neither a socket path nor a UDP address is configured")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Listener{hostname: cfg.Hostname, log: log}
	if l.hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("syslog listener: hostname: %w", err)
		}
		l.hostname = h
	}
	if cfg.Socket != "" {
		if err := l.listenUnix(cfg.Socket); err != nil {
			return nil, err
		}
	}
	if cfg.UDP != "" {
		if err := l.listenUDP(cfg.UDP); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *Listener) listenUnix(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("syslog socket %s: %w", path, err)
	}
	if err := removeStaleSocket(path); err != nil {
		return err
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("syslog socket %s: %w", path, err)
	}
	// bind(2) applies the umask; every local program must be able to log.
	fi, err := os.Lstat(path)
	if err == nil {
		err = os.Chmod(path, 0o666)
	}
	if err != nil {
		conn.Close()
		os.Remove(path)
		return fmt.Errorf("syslog socket %s: %w", path, err)
	}
	l.socketPath, l.socketFile = path, fi
	l.inputs = append(l.inputs, &input{
		source: "unix:" + path,
		conn:   conn,
		read: func(b []byte) (int, bool, error) {
			n, _, flags, _, err := conn.ReadMsgUnix(b, nil)
			return n, flags&syscall.MSG_TRUNC != 0, err
		},
	})
	return nil
}

// removeStaleSocket clears the path for bind: a socket file nobody listens
// on is what a crashed daemon leaves behind and is removed; a socket in use
// (say journald's /dev/log) or a file of another kind is refused, as
// taking it over would steal another program's messages or destroy data.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("syslog socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("syslog socket %s: the path holds something other than a socket (%s); not replacing it", path, fi.Mode().Type())
	}
	c, err := net.Dial("unixgram", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("syslog socket %s: another process is listening on it", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("syslog socket %s: cannot tell whether it is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("syslog socket %s: removing the stale socket: %w", path, err)
	}
	return nil
}

func (l *Listener) listenUDP(address string) error {
	addr, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return fmt.Errorf("syslog UDP %s: %w", address, err)
	}
	if !addr.IP.IsLoopback() {
		return fmt.Errorf("syslog UDP %s: not a loopback address; use 127.0.0.1:PORT or [::1]:PORT", address)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("syslog UDP %s: %w", address, err)
	}
	// A burst that overflows the receive buffer is lost (UDP senders do
	// not wait), so ask for more than the default; the kernel may cap it.
	_ = conn.SetReadBuffer(4 << 20)
	l.inputs = append(l.inputs, &input{
		source: "udp:" + conn.LocalAddr().String(),
		conn:   conn,
		read: func(b []byte) (int, bool, error) {
			n, _, flags, _, err := conn.ReadMsgUDP(b, nil)
			return n, flags&syscall.MSG_TRUNC != 0, err
		},
	})
	return nil
}

// Run delivers each message as a Record to out until ctx is done, then
// returns nil; it returns an error if a socket fails. out is called from
// one goroutine at a time and must not block for long: programs that log
// to a unix socket wait while its queue is full, and UDP messages are lost,
// so the caller decides to queue or drop.
func (l *Listener) Run(ctx context.Context, out func(syslogd.Record)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, in := range l.inputs {
		in.conn.SetReadDeadline(time.Time{}) // a previous Run's stop
	}
	// Reads do not watch ctx; an expired deadline wakes them.
	stop := context.AfterFunc(ctx, func() {
		for _, in := range l.inputs {
			in.conn.SetReadDeadline(time.Unix(1, 0))
		}
	})
	defer stop()

	var mu sync.Mutex
	deliver := func(r syslogd.Record) {
		mu.Lock()
		defer mu.Unlock()
		out(r)
	}
	errs := make(chan error, len(l.inputs))
	for _, in := range l.inputs {
		go func() {
			err := l.serve(ctx, in, deliver)
			if err != nil {
				cancel() // one socket failing stops Run, which reports it
			}
			errs <- err
		}()
	}
	var first error
	for range l.inputs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (l *Listener) serve(ctx context.Context, in *input, deliver func(syslogd.Record)) error {
	buf := make([]byte, MaxMessage)
	p := newParser(l.hostname)
	var seq uint64
	warned := false
	for {
		n, truncated, err := in.read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("syslog %s: %w", in.source, err)
		}
		if n == 0 {
			continue // an empty datagram holds no message
		}
		if truncated && !warned {
			// Once per socket: a program that keeps sending huge
			// messages would otherwise flood hostagent's own log.
			l.log.Warn("syslog message longer than the limit was cut; further cuts on this socket are not logged",
				"source", in.source, "limit", MaxMessage)
			warned = true
		}
		r := p.parse(buf[:n], time.Now())
		seq++
		r.Source, r.Seq = in.source, seq
		deliver(r)
	}
}

// Close closes the sockets and removes the socket file; it is safe to call
// twice. A running Run returns nil.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		var errs []error
		for _, in := range l.inputs {
			if err := in.conn.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if l.socketFile != nil {
			if fi, err := os.Lstat(l.socketPath); err == nil && os.SameFile(fi, l.socketFile) {
				if err := os.Remove(l.socketPath); err != nil {
					errs = append(errs, err)
				}
			}
		}
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}
