// Package jetstream is the output of a nats:// loghost: records published
// to one subject with nats.go's JetStream API, each counted delivered only
// on the stream's publish acknowledgement (the stream has stored it).
// Every record carries its stable identity (output.RecordID) as
// Nats-Msg-Id, so the stream's duplicate window drops what is published
// again, after a lost acknowledgement or an agent's restart. A record
// whose publication fails or goes unanswered is kept and published again,
// never dropped.
//
// Records are stored in the order published, but one published again
// after a failure comes after those published meanwhile that did not fail
// (JetStream has no per-producer sequence as Kafka's idempotent producer
// has): a consumer that needs a source's order has its sequenceId header.
//
// The stream itself is the operator's: this output never creates or
// changes one. Its duplicate window (two minutes by default) bounds how
// late a repeat is still recognised: one later than that (the agent, or
// the server, down longer) is stored twice, and its Nats-Msg-Id shows it.
package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hostagent/syslogd"
	"hostagent/syslogd/format"
	"hostagent/syslogd/output"
)

// maxUnacked bounds the records published and not yet acknowledged. Each
// is held in memory (its text and headers) until its acknowledgement;
// maxUnackedBytes bounds what that costs while the server is away, this
// their number. Two of the pipeline's largest batches (4096), so that one
// batch's acknowledgements come back while the next is published. Beyond
// either bound Deliver waits, and the pipeline's inputs with it (their
// files and spool keep the rest).
const maxUnacked = 8192

// maxUnackedBytes bounds the same records by their size (text and
// headers), as the TCP output's unconfirmed window bounds its bytes: with
// lines of up to 64 KiB the count alone let one loghost hold 512 MiB while
// the server was away. A batch larger than this still goes when nothing
// else is unacknowledged, alone. nats.go's reconnection buffer is sized
// from it (see options).
const maxUnackedBytes = 16 << 20

// attemptTimeout is how long one publication waits for its
// acknowledgement before it is taken back and published again. A stream
// answers in milliseconds; this only catches answers that never come (a
// message lost with a server's crash, a reply nats.go dropped), and is long
// enough for a loaded server's burst of thousands.
const attemptTimeout = 10 * time.Second

// checkEvery is how often a Deliver waiting for room publishes failed
// records again: the pipeline calls Check only between batches.
const checkEvery = 100 * time.Millisecond

// finishTimeout bounds Finish, as output.Output's: a clean stop waits for
// the last acknowledgements that long at most.
const finishTimeout = 2 * time.Second

// reconnectWait is the pause between nats.go's attempts to reach a
// server again (it tries forever): short, as a log bus's restart is
// usually quick and records wait meanwhile.
const reconnectWait = time.Second

// Output publishes a loghost's records to its subject. Deliver, Check,
// Finish and Close are called by one goroutine; Stats, Confirmed and
// Unconfirmed by any. nats.go's callbacks (acknowledgements, failures,
// connection changes) come on its goroutines and take o.mu.
type Output struct {
	host     syslogd.Loghost
	settings output.Settings
	log      *slog.Logger
	opts     []nats.Option
	bound    int              // maxUnacked; lower in tests of backpressure
	bytes    int              // maxUnackedBytes
	timeout  time.Duration    // attemptTimeout; shorter in tests
	ids      output.RecordIDs // Deliver's goroutine only

	nc       *nats.Conn // nil until the first Deliver or Check connects
	js       jetstream.JetStream
	dialedAt time.Time // the last connection made, bounding how often one is

	progress chan struct{} // an acknowledgement or a failure: wakes a waiting Deliver

	mu      sync.Mutex
	acks    output.Ledger // batches and records unacknowledged
	failing int           // records unacknowledged that failed at least once
	// attempts are the publications awaiting an answer, by the message
	// of each: one per record at most, its latest. An answer to a message
	// not here (an attempt already taken back) is ignored, so no record
	// counts twice.
	attempts  map[*nats.Msg]*pending
	failed    []*pending // failed, waiting for Check to publish them again
	retryWait time.Duration
	retryAt   time.Time
	sweptAt   time.Time // when Check last looked for attempts past their deadline
	closed    bool
	outage    bool // an error was seen and logged, no acknowledgement since
	lastError string
	order     uint64 // numbers records in the order first published

	connected                    atomic.Bool
	sent, confirmedRecs, retried atomic.Uint64
	failures, reconnects         atomic.Uint64
	ackLatency                   atomic.Int64 // nanoseconds
}

// pending is a record on its way: what it is published as, its batch, and
// its current attempt.
type pending struct {
	batch    uint64
	order    uint64
	data     []byte
	header   nats.Header
	first    time.Time // its first publication, for AckLatency
	msg      *nats.Msg // the attempt awaiting an answer; nil when none is
	deadline time.Time // when that attempt is taken back unanswered
	size     int       // data and headers
	failed   bool      // failed at least once: counted in Output.failing
}

// errNotConnected is a publication attempted before a connection exists.
var errNotConnected = errors.New("not connected")

// New prepares the output: it connects on the first Deliver. The files it
// needs (credentials, NKey seed, password, TLS) are read now, so that a
// missing one is reported when the loghost is configured.
func New(h syslogd.Loghost, s output.Settings, log *slog.Logger) (*Output, error) {
	if h.Scheme != "nats" {
		return nil, fmt.Errorf("loghost %s: not a NATS loghost", h)
	}
	if h.Topic == "" {
		return nil, fmt.Errorf("loghost %s: no subject", h)
	}
	o := &Output{host: h, settings: s, log: log.With("loghost", h.String()), bound: maxUnacked, bytes: maxUnackedBytes,
		timeout: attemptTimeout, progress: make(chan struct{}, 1), attempts: make(map[*nats.Msg]*pending),
		ids: output.NewRecordIDs(output.Scope(s.Instance, h))}
	if o.settings.RetryMax < time.Second {
		o.settings.RetryMax = time.Second
	}
	if o.settings.Format == 0 {
		o.settings.Format = format.RFC5424
	}
	opts, err := o.options()
	if err != nil {
		return nil, err
	}
	o.opts = opts
	return o, nil
}

// options are the connection's: every server of the loghost, reconnection
// forever, TLS and credentials as Settings say.
func (o *Output) options() ([]nats.Option, error) {
	h, s := o.host, o.settings
	opts := []nats.Option{
		nats.Name("hostagent"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(reconnectWait),
		// Each attempt's bound (TCP, TLS handshake, the server's first
		// answer): nats.go's 2 s is short for TLS over a slow link.
		nats.Timeout(5 * time.Second),
		// Refused credentials are tried again too, not given up after
		// two refusals: the operator may fix the server's side.
		nats.IgnoreAuthErrorAbort(),
		nats.ConnectHandler(o.onConnect),
		nats.ReconnectHandler(o.onReconnect),
		nats.DisconnectErrHandler(o.onDisconnect),
		nats.ReconnectErrHandler(o.onReconnectError),
		nats.ErrorHandler(o.onAsyncError),
		// What is published while the server is away waits here, rather
		// than being refused: the records Deliver keeps unacknowledged,
		// with their protocol's framing.
		nats.ReconnectBufSize(2 * maxUnackedBytes),
	}
	if s.TLS || s.CAFile != "" || s.CertFile != "" || s.KeyFile != "" {
		cfg, err := output.TLSConfig(h, s)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(cfg))
	}
	if s.CredentialsFile != "" && s.NKeyFile != "" {
		return nil, fmt.Errorf("loghost %s: a credentials file or an NKey seed file, not both", h)
	}
	if s.CredentialsFile != "" {
		// nats.go reads it at each connection; read once now for the error.
		if _, err := output.ReadSecret(h, "credentials file", s.CredentialsFile); err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserCredentials(s.CredentialsFile))
	}
	if s.NKeyFile != "" {
		if _, err := output.ReadSecret(h, "NKey seed file", s.NKeyFile); err != nil {
			return nil, err
		}
		opt, err := nats.NkeyOptionFromSeed(s.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("loghost %s: NKey seed file: %w", h, err)
		}
		opts = append(opts, opt)
	}
	if s.Username != "" || s.PasswordFile != "" {
		if s.Username == "" || s.PasswordFile == "" {
			return nil, fmt.Errorf("loghost %s: a user needs a username and a password file", h)
		}
		b, err := output.ReadSecret(h, "password file", s.PasswordFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserInfo(s.Username, strings.TrimRight(string(b), "\r\n"))) // as echo and editors leave it
	}
	return opts, nil
}

// connect makes the connection, once: nats.go keeps it (reconnecting
// forever) until Close. Without a server to answer, it returns a
// connection that is still trying, and publications wait in its buffer.
func (o *Output) connect() {
	if o.nc != nil {
		if !o.nc.IsClosed() {
			return
		}
		// nats.go gave up on it: a new one, and its attempts are taken
		// back now (nats.go never answers those of a closed connection).
		o.mu.Lock()
		for msg, p := range o.attempts {
			delete(o.attempts, msg)
			o.failLocked(p, errors.New("connection closed"))
		}
		o.mu.Unlock()
		o.nc, o.js = nil, nil
	}
	if time.Since(o.dialedAt) < reconnectWait {
		return
	}
	o.dialedAt = time.Now()
	nc, err := nats.Connect(URLs(o.host), o.opts...)
	if err != nil {
		o.trouble(fmt.Errorf("connect: %w", err))
		return
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncAckHandler(o.onAck),
		jetstream.WithPublishAsyncErrHandler(o.onError),
		// nats.go's own timeout frees its table of pending answers; Check
		// has its own deadline besides (see attemptTimeout).
		jetstream.WithPublishAsyncTimeout(o.timeout),
		// Deliver keeps at most bound records in flight: room for more,
		// so that a publication never stalls on nats.go's limit.
		jetstream.WithPublishAsyncMaxPending(4*maxUnacked))
	if err != nil {
		nc.Close()
		o.trouble(fmt.Errorf("connect: %w", err))
		return
	}
	o.nc, o.js = nc, js
	switch {
	case nc.IsConnected():
		o.connected.Store(true)
	case nc.LastError() != nil: // e.g. refused credentials or certificate
		o.trouble(fmt.Errorf("connect: %w", nc.LastError()))
	default:
		o.trouble(fmt.Errorf("no server of %s answers; trying again every %v", strings.Join(o.host.Servers(), ","), reconnectWait))
	}
}

// Deliver gives batch the next id and publishes its records, returning
// once all are handed to the connection; Confirmed says when the stream
// has them all. It waits first while too many records are unacknowledged
// (backpressure), publishing failed ones again meanwhile, and returns
// ctx.Err() if ctx ends then: the batch is not taken.
func (o *Output) Deliver(ctx context.Context, batch []syslogd.Record) (uint64, error) {
	o.connect()
	// Made first, for their size: what room waits for.
	ps := make([]*pending, len(batch))
	size := 0
	for i := range batch {
		ps[i] = o.record(&batch[i])
		size += ps[i].size
	}
	if err := o.room(ctx, len(batch), size); err != nil {
		return 0, err
	}
	o.mu.Lock()
	id := o.acks.Open(len(batch), size)
	for _, p := range ps {
		o.order++
		p.batch, p.order = id, o.order
	}
	o.mu.Unlock()
	for _, p := range ps {
		o.publish(p)
	}
	o.sent.Add(uint64(len(batch)))
	return id, nil
}

// room waits until n more records of size bytes fit the bounds (or
// nothing is unacknowledged: a batch larger than the bounds still goes,
// alone).
func (o *Output) room(ctx context.Context, n, size int) error {
	timer := time.NewTimer(checkEvery)
	defer timer.Stop()
	for {
		o.mu.Lock()
		fits := o.acks.Fits(n, size, o.bound, o.bytes)
		o.mu.Unlock()
		if fits {
			return nil
		}
		o.Check()
		timer.Reset(checkEvery)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.progress:
		case <-timer.C:
		}
	}
}

// record makes what r is published as: its text, and headers that let a
// consumer route and deduplicate without parsing it.
func (o *Output) record(r *syslogd.Record) *pending {
	h := make(nats.Header, 6)
	h[jetstream.MsgIDHeader] = []string{o.ids.ID(r)}
	h["hostname"] = []string{r.Hostname}
	h["source"] = []string{r.Source}
	if r.SourceID != "" {
		h["source_id"] = []string{r.SourceID}
	}
	h["sequenceId"] = []string{strconv.FormatUint(r.Seq, 10)}
	if r.Part > 0 {
		h["part"] = []string{strconv.Itoa(r.Part)}
	}
	p := &pending{data: output.Message(r, o.settings.Format), header: h}
	p.size = len(p.data)
	for k, vs := range h {
		for _, v := range vs {
			p.size += len(k) + len(v)
		}
	}
	return p
}

// publish makes a new attempt of p. Each attempt is a new message: nats.go
// answers with the message it was given, which says which attempt an
// answer is for. The attempt is registered before it is published, as its
// answer may come before PublishMsgAsync returns.
func (o *Output) publish(p *pending) {
	msg := &nats.Msg{Subject: o.host.Topic, Data: p.data, Header: p.header}
	now := time.Now()
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	if p.first.IsZero() {
		p.first = now
	}
	p.msg, p.deadline = msg, now.Add(o.timeout)
	o.attempts[msg] = p
	o.mu.Unlock()
	if o.js == nil {
		o.onError(nil, msg, errNotConnected)
		return
	}
	// No retries within nats.go (it would publish again after "no
	// responders" on its own timer, and its table could keep such an
	// attempt forever): a failure comes back at once, and Check retries.
	if _, err := o.js.PublishMsgAsync(msg, jetstream.WithRetryAttempts(0)); err != nil {
		// Before its first connection nats.go knows no server's features,
		// and refuses headers as if the server lacked them: the server is
		// not reached yet, which says what is wrong.
		if errors.Is(err, nats.ErrHeadersNotSupported) && o.nc.ConnectedUrl() == "" {
			err = errNotConnected
		}
		o.onError(nil, msg, err)
	}
}

// onAck is an attempt's acknowledgement: the stream stored the record
// (or had it already: a duplicate counts too).
func (o *Output) onAck(_ jetstream.JetStream, msg *nats.Msg, _ *jetstream.PubAck) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.attempts[msg]
	if p == nil || o.closed {
		return // an attempt taken back, or the output closed
	}
	delete(o.attempts, msg)
	p.msg = nil
	o.ackLatency.Add(int64(time.Since(p.first)))
	o.confirmedRecs.Add(1)
	o.acks.Ack(p.batch, p.size)
	if p.failed {
		p.failed = false
		o.failing--
	}
	o.retryWait = 0
	o.healthyLocked()
	o.wake()
}

// onError is an attempt's failure (an error answer, no responders,
// nats.go's timeout or a lost connection) or its refusal by
// PublishMsgAsync: the record waits for Check to publish it again.
func (o *Output) onError(_ jetstream.JetStream, msg *nats.Msg, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.attempts[msg]
	if p == nil || o.closed {
		return
	}
	delete(o.attempts, msg)
	o.failLocked(p, err)
}

// failLocked takes p's attempt back; o.mu is held.
func (o *Output) failLocked(p *pending, err error) {
	p.msg = nil
	o.failures.Add(1)
	o.failed = append(o.failed, p)
	if o.retryWait == 0 {
		o.retryWait = time.Second
		o.retryAt = time.Now().Add(o.retryWait)
	}
	if !p.failed {
		p.failed = true
		o.failing++
	}
	// A lost connection fails every attempt in flight: its cause (the
	// disconnection's error, a refusal) is already known and stays shown.
	if tooLarge(err) {
		o.troubleLocked(fmt.Errorf("record of %d bytes refused: %w (the bus's size limit: the stream's max_msg_size, "+
			"the server's max_payload): raise it", p.size, err))
	} else if !o.outage || !errors.Is(err, nats.ErrDisconnected) {
		o.troubleLocked(err)
	}
	o.wake()
}

func (o *Output) wake() {
	select {
	case o.progress <- struct{}{}:
	default:
	}
}

// Confirmed is the id of the newest batch that, with every earlier one,
// has all its records acknowledged.
func (o *Output) Confirmed() uint64 { return o.acks.Confirmed() }

// Unconfirmed is the number of records published and not yet
// acknowledged, failed ones waiting to be published again included.
func (o *Output) Unconfirmed() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.acks.Records()
}

// Check takes back the attempts that went unanswered past their deadline,
// and publishes again the records whose attempt failed, in the order they
// were first published, once their backoff has passed (1 s, doubling up
// to RetryMax while they keep failing) and while connected: a server that
// is back is tried at once. It does not block for long.
func (o *Output) Check() {
	o.connect()
	connected := o.nc != nil && o.nc.IsConnected()
	if o.nc != nil && !connected {
		// Why the server refused the last attempt (credentials, TLS): no
		// callback tells it while nats.go retries a first connection.
		if err := o.nc.LastError(); err != nil {
			o.trouble(fmt.Errorf("connect: %w", err))
		}
	}
	now := time.Now()
	o.mu.Lock()
	if now.Sub(o.sweptAt) >= o.timeout/10 {
		o.sweptAt = now
		for msg, p := range o.attempts {
			if now.After(p.deadline) {
				delete(o.attempts, msg)
				o.failLocked(p, fmt.Errorf("no acknowledgement within %v", o.timeout))
			}
		}
	}
	if len(o.failed) == 0 || now.Before(o.retryAt) || !connected {
		o.mu.Unlock()
		return
	}
	o.retryWait = min(2*o.retryWait, o.settings.RetryMax)
	o.retryAt = now.Add(o.retryWait)
	o.mu.Unlock()
	o.retry()
}

// retry publishes every failed record again, in the order they were first
// published: after a stream full or missing, they are stored in order.
func (o *Output) retry() {
	o.mu.Lock()
	ps := o.failed
	o.failed = nil
	o.mu.Unlock()
	slices.SortFunc(ps, func(a, b *pending) int { return cmp.Compare(a.order, b.order) })
	for _, p := range ps {
		o.retried.Add(1)
		o.publish(p)
	}
}

// Finish waits until every record published is acknowledged, at most 2 s
// and until ctx ends: nil then, else an error saying how many stay
// unconfirmed (kept: a later Deliver or Check goes on with them). Failed
// records are published again at once, their backoff notwithstanding: it
// is their last chance before the stop.
func (o *Output) Finish(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, finishTimeout)
	defer cancel()
	o.connect()
	timer := time.NewTimer(checkEvery)
	defer timer.Stop()
	for {
		o.mu.Lock()
		n, failed, last := o.acks.Records(), len(o.failed), o.lastError
		o.mu.Unlock()
		if n == 0 {
			return nil
		}
		if ctx.Err() != nil {
			if last != "" {
				last = ": " + last
			}
			return fmt.Errorf("loghost %s: %d records stay unconfirmed%s", o.host, n, last)
		}
		if failed > 0 && o.nc != nil && o.nc.IsConnected() {
			o.retry()
		}
		timer.Reset(checkEvery)
		select {
		case <-ctx.Done():
		case <-o.progress:
		case <-timer.C:
		}
	}
}

// Close closes the connection without waiting for acknowledgements: what
// was not acknowledged is read again by the pipeline at its next start.
// Finish first for a clean stop.
func (o *Output) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	if o.nc != nil {
		o.nc.Close()
	}
	o.connected.Store(false)
	return nil
}

// Stats returns the counters; safe from any goroutine.
func (o *Output) Stats() output.Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return output.Stats{Loghost: o.host.String(), Connected: o.connected.Load(), Guarantee: output.Guarantee(o.host.Scheme),
		Sent: o.sent.Load(), Confirmed: o.confirmedRecs.Load(), Retried: o.retried.Load(), Reconnects: o.reconnects.Load(),
		Unconfirmed: o.acks.Records(), Failed: o.failures.Load(), AckLatency: time.Duration(o.ackLatency.Load()),
		LastError: o.lastError}
}

// onConnect is the first connection made after a failed first attempt.
func (o *Output) onConnect(*nats.Conn) { o.connected.Store(true) }

// onReconnect is a connection made again: failed records are published
// again at once, not after their backoff.
func (o *Output) onReconnect(*nats.Conn) {
	o.connected.Store(true)
	o.reconnects.Add(1)
	o.mu.Lock()
	o.retryAt = time.Time{}
	o.mu.Unlock()
	o.wake()
}

// onReconnectError is an attempt to connect again that failed: refused,
// or the server's refusal of the TLS or the credentials, which Stats shows.
func (o *Output) onReconnectError(_ *nats.Conn, err error) {
	if err != nil {
		o.trouble(fmt.Errorf("connect: %w", err))
	}
}

func (o *Output) onDisconnect(_ *nats.Conn, err error) {
	o.connected.Store(false)
	if err == nil {
		err = errors.New("connection closed by the server")
	}
	o.trouble(fmt.Errorf("connection lost: %w", err))
}

// onAsyncError is an error the server sent besides answers, e.g. a
// permissions violation: a publication it refused that way is never
// answered, and is taken back at its deadline.
func (o *Output) onAsyncError(_ *nats.Conn, _ *nats.Subscription, err error) {
	o.trouble(err)
}

// trouble records an error: logged once per outage, kept for Stats.
func (o *Output) trouble(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		o.troubleLocked(err)
	}
}

func (o *Output) troubleLocked(err error) {
	o.lastError = o.describe(err)
	if !o.outage {
		o.outage = true
		o.log.Warn("loghost unavailable; records are kept and published again", "err", o.lastError,
			"unconfirmed", o.acks.Records())
	}
}

// healthyLocked records an acknowledgement: the outage, if any, is over,
// unless the connection is down (that is a late answer, read before the
// loss of the connection was) or records that failed still wait (one
// refused for its size, say, while others go).
func (o *Output) healthyLocked() {
	if o.outage && o.connected.Load() && o.failing == 0 {
		o.outage = false
		o.lastError = ""
		o.log.Info("loghost acknowledges again", "unconfirmed", o.acks.Records())
	}
}

// describe says what an error means for this loghost, in words an
// operator acts on.
func (o *Output) describe(err error) string {
	var api *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return fmt.Sprintf("no stream takes subject %s (no responders)", o.host.Topic)
	case errors.As(err, &api) && strings.Contains(api.Description, "maximum") && strings.Contains(api.Description, "exceeded"):
		// The stream's limits (messages, bytes) with its discard policy
		// "new": it refuses until a consumer's retention or the operator
		// makes room.
		return fmt.Sprintf("stream full: %s (subject %s)", api.Description, o.host.Topic)
	case errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return fmt.Sprintf("no acknowledgement within %v", o.timeout)
	case errors.Is(err, nats.ErrDisconnected):
		return "connection lost before the acknowledgement"
	case errors.Is(err, errNotConnected):
		return fmt.Sprintf("not connected: no server of %s answers", strings.Join(o.host.Servers(), ","))
	case errors.Is(err, nats.ErrReconnectBufExceeded):
		return "not connected, and the reconnection buffer is full"
	}
	return err.Error()
}

// tooLarge says whether err refuses a record for its size (the stream's
// max_msg_size, the server's max_payload): it fails again every time,
// until the operator raises the limit.
func tooLarge(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, nats.ErrMaxPayload) ||
		errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}

// URLs is the server list of h for nats.Connect: nats://host:port each,
// comma-separated. An IPv6 zone's '%' is written %25 (RFC 6874): nats.go
// parses each with net/url, which refuses a bare '%'.
func URLs(h syslogd.Loghost) string {
	urls := make([]string, 0, 2)
	for _, s := range h.Servers() {
		urls = append(urls, "nats://"+strings.ReplaceAll(s, "%", "%25"))
	}
	return strings.Join(urls, ",")
}
