// Package output sends Records to one loghost each (a URI as
// syslogd.ParseLoghost reads it): it keeps the connection (UDP, TCP, TLS or
// RELP), writes a batch in one go, and counts
// a batch as delivered only on evidence: the collector's RELP
// acknowledgements, or on TCP and TLS the kernel's word that the
// collector's process read it. Until then it is kept, and after a failure
// written again to a new connection, so a batch is either delivered or
// still pending.
package output

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
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
	Framing    format.Framing // ignored for UDP (one message per datagram) and RELP (its own frames)
	MaxMessage int            // octets per message; longer ones are split
	RetryMax   time.Duration  // cap of the reconnection backoff
	// TLS (ssl://): the collector's certificate is verified against CAFile
	// (the system's roots when empty) and the loghost's name.
	CAFile, CertFile, KeyFile string
	InsecureSkipVerify        bool

	// A log bus (kafka://, kafkas://, nats://); see the sub-packages kafka
	// and jetstream. TLS is always on for kafkas://.
	TLS bool
	// Kafka's SASL: "" (none), "plain", "scram-sha-256" or "scram-sha-512",
	// with Username and the password read from PasswordFile.
	SASL, Username, PasswordFile string
	// Key is what a Kafka record's key holds: "hostname" (the default: a
	// host's lines stay in order in one partition), "source" or "none".
	Key string
	// Compression of Kafka batches: "none" (the default), "gzip",
	// "snappy", "lz4" or "zstd".
	Compression string
	// NATS: a credentials file (JWT and NKey seed, as nsc writes it) or an
	// NKey seed file; at most one.
	CredentialsFile, NKeyFile string
	// Instance names this agent's installation (random, kept in its state
	// directory): part of every record's identity on a log bus (Scope).
	Instance string
}

// DefaultSettings are ESXi's: RFC 5424 with octet counting on TCP and TLS,
// RFC 3164 on UDP within RFC 5426's 2048 octets, a 180 s retry cap. RELP
// carries RFC 5424 in its own frames, within the 8 KiB that rsyslog's
// imrelp accepts by default (its maxDataSize is rsyslog's maxMessageSize).
func DefaultSettings(h syslogd.Loghost) Settings {
	s := Settings{Format: format.RFC5424, Framing: format.OctetCounting, MaxMessage: 8192, RetryMax: 180 * time.Second}
	switch h.Scheme {
	case "udp":
		s.Format, s.Framing, s.MaxMessage = format.RFC3164, format.None, 2048
	case "relp":
		s.Framing = format.None
	case "kafka", "kafkas", "nats":
		// One record per message, whole: a log bus carries up to its own
		// limit (1 MiB by default), far above a line's (max_line).
		s.Framing, s.MaxMessage, s.Key = format.None, 0, "hostname"
		s.TLS = h.Scheme == "kafkas"
	}
	return s
}

// Guarantee says in a sentence what counts as delivered on a scheme, for
// vicfg-syslog --show.
func Guarantee(scheme string) string {
	switch scheme {
	case "udp":
		return "none: UDP cannot confirm delivery"
	case "tcp", "ssl":
		return "read by the collector's process (TCP acknowledgements and window)"
	case "relp":
		return "acknowledged by the collector (RELP)"
	case "kafka", "kafkas":
		return "acknowledged by every in-sync replica (Kafka acks=all, idempotent producer)"
	case "nats":
		return "stored by the JetStream stream (publish acknowledgement; Nats-Msg-Id deduplicates)"
	}
	return ""
}

// Stats are an output's counters, for vicfg-syslog --show.
type Stats struct {
	Loghost string `json:"loghost"`
	// Connected: the last connection worked and has not failed since. On
	// TCP and TLS an idle connection is closed once what it carried is
	// confirmed (see Finish) and opened again for the next message; it
	// still counts as connected meanwhile.
	Connected  bool   `json:"connected"`
	Guarantee  string `json:"guarantee"`  // what "confirmed" means on this scheme (see Guarantee)
	Sent       uint64 `json:"sent"`       // messages written (TCP, TLS, RELP) or sent (UDP)
	Confirmed  uint64 `json:"confirmed"`  // messages confirmed delivered; always 0 on UDP
	Retried    uint64 `json:"retried"`    // batches written again after a failure
	Reconnects uint64 `json:"reconnects"` // connections made after the first
	// Unconfirmed are messages written and not yet confirmed: kept, and
	// written again after a reconnection.
	Unconfirmed int `json:"unconfirmed"`
	// SendFailures are UDP datagrams lost on the way out: refused by the
	// local kernel even after retries (a full queue, no route), or reported
	// refused by the collector's host (ICMP port unreachable).
	SendFailures uint64 `json:"send_failures"`
	LastError    string `json:"last_error,omitempty"`

	// A log bus's: records whose publication failed (each is published
	// again: nothing is dropped), and the time from a record's publication
	// to its acknowledgement, summed over Confirmed records.
	Failed     uint64        `json:"failed,omitempty"`
	AckLatency time.Duration `json:"ack_latency_sum_ns,omitempty"`
}

// Output writes to one loghost. Deliver, Check and Close are called by one
// goroutine; Stats by any.
//
// What counts as delivered depends on the scheme (see the README's "What
// each transport guarantees"): on RELP the collector's acknowledgement of
// every message (relp.go), on TCP and TLS the kernel's evidence that the
// collector's process read the bytes (stream.go), on UDP nothing: a batch
// counts as delivered once sent (udp.go), and Stats says so.
type Output struct {
	host     syslogd.Loghost
	settings Settings
	tls      *tls.Config
	log      *slog.Logger

	conn net.Conn
	buf  []byte

	nextID    uint64
	confirmed atomic.Uint64 // id of the newest batch confirmed

	resumeAt   time.Time     // Check's next reconnection attempt
	resumeWait time.Duration // and its backoff
	idleFinish time.Duration // idleFinishAfter; longer in tests of rule 1 alone

	stream streamState // tcp, ssl
	relp   relpState   // relp
	udp    udpState    // udp

	connected                 atomic.Bool
	sent, retried, reconnects atomic.Uint64
	confirmedMsgs, sendFails  atomic.Uint64
	unconfirmedMsgs           atomic.Int64
	dials                     atomic.Uint64
	mu                        sync.Mutex
	lastError                 string
}

// writeTimeout bounds one write: a collector that stops reading for that
// long (a full TCP window) is taken as down, and what it has not
// confirmed is written again to a new connection.
const writeTimeout = 30 * time.Second

// New prepares the output; it connects on the first Deliver.
func New(h syslogd.Loghost, s Settings, log *slog.Logger) (*Output, error) {
	if _, ok := syslogd.DefaultPort(h.Scheme); !ok {
		return nil, fmt.Errorf("loghost %s: scheme %q is not %s", h, h.Scheme, syslogd.SchemeList)
	}
	if syslogd.IsBus(h.Scheme) {
		return nil, fmt.Errorf("loghost %s: a log bus has its own output (packages kafka and jetstream)", h)
	}
	o := &Output{host: h, settings: s, log: log.With("loghost", h.String()), idleFinish: idleFinishAfter}
	if h.Scheme == "ssl" {
		cfg, err := TLSConfig(h, s)
		if err != nil {
			return nil, err
		}
		o.tls = cfg
	}
	return o, nil
}

// TLSConfig is the client configuration for a loghost's TLS: the server's
// certificate verified against CAFile (the system's roots when empty) and
// the loghost's name (each server's own, for a log bus: ServerName is left
// to the dialer then), a client certificate when one is set.
func TLSConfig(h syslogd.Loghost, s Settings) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.InsecureSkipVerify}
	if !syslogd.IsBus(h.Scheme) {
		cfg.ServerName = h.Host
	}
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
	return cfg, nil
}

// RecordID is a record's stable identity: the same for the same line
// whenever it is sent again, after a failure or a restart, and different
// for any other record. It names the source (host name, source, file
// generation) by a hash, so that it stays short (NATS's Nats-Msg-Id, a
// Kafka header), then the record's number and part: 32 hex digits,
// "-SEQ", and "-PART" for a piece of a split message.
//
// The scope (see NewRecordIDs) goes into the hash too, so that two
// loghosts publishing into one stream, or two hosts of the same name, do
// not share identities: a stream would drop the second as a duplicate.
func RecordID(scope string, r *syslogd.Record) string {
	ids := NewRecordIDs(scope)
	return ids.ID(r)
}

// Scope is what RecordIDs hash besides the record's source: the agent's
// instance (Settings.Instance, kept in its state directory) and the
// loghost's topic or subject.
func Scope(instance string, h syslogd.Loghost) string { return instance + "\x00" + h.Topic }

// RecordIDs makes RecordIDs for records that come in runs from one source
// (a batch's lines of one file), hashing each source once per run: the
// hash was a tenth of a log bus output's time per record. Not for
// concurrent use.
type RecordIDs struct {
	scope                      string
	hostname, source, sourceID string
	prefix                     []byte // the source's hash in hex, and '-'
}

// NewRecordIDs makes the identities of one scope (see Scope).
func NewRecordIDs(scope string) RecordIDs { return RecordIDs{scope: scope} }

// ID is RecordID(scope, r).
func (c *RecordIDs) ID(r *syslogd.Record) string {
	if c.prefix == nil || r.Hostname != c.hostname || r.Source != c.source || r.SourceID != c.sourceID {
		h := sha256.New()
		for _, s := range []string{c.scope, r.Hostname, r.Source, r.SourceID} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		var sum [sha256.Size]byte
		c.prefix = append(hex.AppendEncode(c.prefix[:0], h.Sum(sum[:0])[:16]), '-')
		c.hostname, c.source, c.sourceID = r.Hostname, r.Source, r.SourceID
	}
	b := make([]byte, 0, len(c.prefix)+24)
	b = append(b, c.prefix...)
	b = strconv.AppendUint(b, r.Seq, 10)
	if r.Part > 0 {
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(r.Part), 10)
	}
	return string(b)
}

// Message is r formatted whole for a log bus, in a buffer sized for it at
// once: growing it from nothing copied each message several times.
func Message(r *syslogd.Record, f format.Format) []byte {
	n := len(r.Message) + len(r.Hostname) + len(r.AppName) + len(r.ProcID) + len(r.MsgID) + maxFixedHeader + format.SDLen(r)
	return format.Append(make([]byte, 0, n), r, f, format.None, 0)
}

// Deliver sends batch and returns its id once every message is written to
// the connection (TCP, TLS, RELP) or sent (UDP); Confirmed says when it
// counts as delivered. It may wait first, while too much is written and
// not yet confirmed (backpressure). On a failure it reconnects, with a
// backoff doubling from 1 s up to RetryMax, and writes everything not yet
// confirmed again: the collector may get messages twice, never lose them.
// It returns ctx.Err() if ctx ends first.
func (o *Output) Deliver(ctx context.Context, batch []syslogd.Record) (uint64, error) {
	o.nextID++
	id := o.nextID
	var err error
	switch o.host.Scheme {
	case "udp":
		err = o.sendUDP(ctx, id, batch)
	case "relp":
		err = o.deliverRELP(ctx, id, batch)
	default:
		err = o.deliverStream(ctx, id, batch)
	}
	if err == nil {
		o.sent.Add(uint64(len(batch)))
	}
	return id, err
}

// Confirmed is the id of the newest batch counted as delivered: every
// batch up to it may be checkpointed.
func (o *Output) Confirmed() uint64 { return o.confirmed.Load() }

// Unconfirmed is the number of messages written and not yet confirmed.
func (o *Output) Unconfirmed() int { return int(o.unconfirmedMsgs.Load()) }

// Check looks for evidence of delivery without writing (RELP
// acknowledgements, the TCP connection's state), so that batches are
// confirmed while no new line comes. It does not block for long. On TCP
// and TLS, once written data has waited about a second unconfirmed with
// no new batch, it closes the connection gracefully, and a later Check
// confirms that data on the collector's own close (see stream.go); the
// next Deliver connects again.
func (o *Output) Check() {
	if f := o.stream.finishing; f != nil {
		select {
		case <-f.done:
			_ = o.endFinish() // a failure is in Stats; Check backs off
		default:
		}
		return
	}
	if o.conn == nil {
		o.resume()
		return
	}
	var err error
	switch o.host.Scheme {
	case "relp":
		err = o.checkRELP()
	case "tcp", "ssl":
		err = o.checkStream()
	}
	if err != nil {
		o.fail(err) // the next Deliver writes what is unconfirmed again
	}
}

// resumeTimeout bounds Check's attempt to reconnect.
const resumeTimeout = 500 * time.Millisecond

// resume reconnects, from Check, an output whose connection failed while
// messages wait for confirmation, and writes them again: no new line may
// come to make Deliver do it, and the collector would lack them meanwhile.
// Attempts back off as Deliver's do.
func (o *Output) resume() {
	if o.Unconfirmed() == 0 || o.host.Scheme == "udp" || time.Now().Before(o.resumeAt) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), resumeTimeout)
	defer cancel()
	var err error
	if o.host.Scheme == "relp" {
		// One window now; Check sends the rest as answers come.
		if err = o.openRELP(ctx); err == nil {
			err = o.sendRELP()
		}
	} else {
		err = o.flushStream(ctx)
	}
	if err == nil {
		o.resumeWait = 0
		return
	}
	o.fail(err)
	o.backOff()
}

// backOff puts Check's next reconnection further off, doubling from 1 s up
// to RetryMax.
func (o *Output) backOff() {
	o.resumeWait = min(max(2*o.resumeWait, time.Second), o.settings.RetryMax)
	o.resumeAt = time.Now().Add(o.resumeWait)
}

// Finish ends the connection cleanly and returns nil once everything
// written is confirmed, or an error saying what stays unconfirmed (kept,
// and written again by a later Deliver). Call it on a clean stop, before
// the last checkpoint and Close: without it the tail of a TCP or TLS
// stream (the last hundreds of KiB, see stream.go) is never confirmed, and
// is sent again at the next start.
//
// On TCP and TLS it shuts the sending side (TLS: close_notify, then the
// TCP FIN) and waits for the collector to close its side, which it does
// once it has read everything: that close confirms every batch written. A
// reset, or no close within the bound, confirms nothing. On RELP it waits
// for the answers still due and sends "close". It waits until ctx ends,
// at most 2 s. The Output stays usable: the next Deliver connects again.
func (o *Output) Finish(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, finishTimeout)
	defer cancel()
	switch o.host.Scheme {
	case "relp":
		return o.finishRELP(ctx)
	case "tcp", "ssl":
		return o.finishStream(ctx)
	}
	return nil
}

// retrying runs try until it succeeds, reconnecting after each failure
// with a backoff doubling from 1 s up to RetryMax; it returns ctx.Err()
// once ctx ends.
func (o *Output) retrying(ctx context.Context, try func() error) error {
	backoff := min(time.Second, o.settings.RetryMax)
	for attempt := 0; ; attempt++ {
		err := try()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
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

// confirm records batch id, of n messages, as delivered.
func (o *Output) confirm(id uint64, n int) {
	o.confirmed.Store(id)
	o.confirmedMsgs.Add(uint64(n))
	o.unconfirmedMsgs.Add(-int64(n))
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

// dial connects (and under TLS shakes hands). Keep-alive probes after 1 s
// of silence make the collector's kernel send its current window while
// nothing else flows, which stream.go reads as evidence (see there).
func (o *Output) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 30}}
	conn, err := d.DialContext(ctx, o.network(), o.host.Addr())
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if o.dials.Add(1) > 1 {
		o.reconnects.Add(1)
		o.log.Info("loghost connected again")
	}
	return conn, nil
}

func (o *Output) network() string {
	if o.host.Scheme == "udp" {
		return "udp"
	}
	return "tcp"
}

// connectedTo records a working connection.
func (o *Output) connectedTo(conn net.Conn) {
	o.conn = conn
	o.connected.Store(true)
	o.setError("")
}

// fail drops the connection after an error so the next attempt dials.
func (o *Output) fail(err error) {
	if o.conn != nil {
		o.conn.Close()
		o.conn = nil
	}
	o.stream.reset()
	o.relp.reset()
	o.connected.Store(false)
	o.setError(err.Error())
}

func (o *Output) setError(s string) {
	o.mu.Lock()
	o.lastError = s
	o.mu.Unlock()
}

// Close ends the connection; on RELP it says so to the collector first,
// waiting at most a second. Finish first to confirm the tail.
func (o *Output) Close() error {
	if f := o.stream.finishing; f != nil {
		f.conn.Close()
		<-f.done
		_ = o.endFinish()
	}
	if o.conn == nil {
		return nil
	}
	if o.host.Scheme == "relp" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = o.finishRELP(ctx)
		cancel()
		if o.conn == nil {
			return nil
		}
	}
	err := o.conn.Close()
	o.conn = nil
	o.stream.reset()
	o.relp.reset()
	o.connected.Store(false)
	return err
}

// Stats returns the counters; safe from any goroutine.
func (o *Output) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Stats{Loghost: o.host.String(), Connected: o.connected.Load(), Guarantee: Guarantee(o.host.Scheme),
		Sent: o.sent.Load(), Confirmed: o.confirmedMsgs.Load(), Retried: o.retried.Load(), Reconnects: o.reconnects.Load(),
		Unconfirmed: int(o.unconfirmedMsgs.Load()), SendFailures: o.sendFails.Load(), LastError: o.lastError}
}

// MaxSecretFile bounds a password, credentials or NKey seed file: far
// more than any holds, and a FIFO or a device named by mistake cannot
// hang or bloat the start.
const MaxSecretFile = 64 << 10

// ReadSecret reads a secret file of h's: a regular file (a FIFO would
// block New, a device never end) of at most MaxSecretFile bytes. The file
// is opened without blocking, then checked, so that it cannot be swapped
// for a FIFO between the check and the reading.
func ReadSecret(h syslogd.Loghost, what, path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("loghost %s: %s %s: %w", h, what, path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("loghost %s: %s %s: %w", h, what, path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("loghost %s: %s %s: not a regular file (%s)", h, what, path, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("loghost %s: %s %s: %w", h, what, path, err)
	}
	if len(b) > MaxSecretFile {
		return nil, fmt.Errorf("loghost %s: %s %s: larger than %d KiB: not a secret", h, what, path, MaxSecretFile>>10)
	}
	return b, nil
}
