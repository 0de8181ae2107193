// Package kafka is the output of a kafka:// or kafkas:// loghost: records
// produced to one topic with franz-go's idempotent producer, each counted
// delivered only when every in-sync replica has acknowledged it (acks=all).
// A record whose production fails is kept and produced again, never
// dropped; the broker's producer-ID sequence numbers drop what a retry
// repeats, and the "id" header lets a consumer drop what a restarted agent
// sends again.
package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"hostagent/syslogd"
	"hostagent/syslogd/format"
	"hostagent/syslogd/output"
)

// maxUnacked bounds the records produced and not yet acknowledged. Each is
// held in memory (its value and headers) until its acknowledgement;
// maxUnackedBytes bounds what that costs while the cluster is unreachable,
// this their number. It is 16 of the pipeline's largest batches, so
// that many batches are in flight at once and the brokers' round trips
// overlap; beyond it Deliver waits, and the pipeline's inputs with it
// (their files and spool keep the rest).
const maxUnacked = 1 << 16

// maxUnackedBytes bounds the same records by their size (values and
// headers), as the TCP output's unconfirmed window bounds its bytes: with
// long lines the count alone let one loghost hold over 500 MiB while the
// cluster was down. 16 MiB is still many batches of common lines in
// flight. A batch larger than this still goes when nothing else is
// unacknowledged, alone.
const maxUnackedBytes = 16 << 20

// maxBatchBytes is the largest batch the pipeline gives: 4096 lines of at
// most 64 KiB (max_line's limit), each with its headers (a file's path,
// the identity: a few KiB at most).
const maxBatchBytes = 4096 * (64<<10 + 8<<10)

// checkEvery is how often a Deliver waiting for room produces failed
// records again: the pipeline calls Check only between batches.
const checkEvery = 100 * time.Millisecond

// finishTimeout bounds Finish, as output.Output's: a clean stop waits for
// the last acknowledgements that long at most.
const finishTimeout = 2 * time.Second

// Output produces a loghost's records to its topic. Deliver, Check, Finish
// and Close are called by one goroutine; Stats, Confirmed and Unconfirmed
// by any.
type Output struct {
	host     syslogd.Loghost
	settings output.Settings
	log      *slog.Logger
	client   *kgo.Client
	opts     []kgo.Opt // the client's, to make it anew (see retry)
	key      func(*syslogd.Record) []byte
	bound    int // maxUnacked; lower in tests of backpressure
	bytes    int // maxUnackedBytes

	ctx    context.Context // produce's; ends with Close
	cancel context.CancelFunc

	progress chan struct{} // an acknowledgement or a failure: wakes a waiting Deliver

	mu        sync.Mutex
	acks      output.Ledger // batches and records unacknowledged
	failed    []*pending    // failed, waiting for Check to produce them again
	retryWait time.Duration
	retryAt   time.Time
	closed    bool
	down      map[string]bool // brokers whose connection failed, until one to them works again
	failing   int             // records unacknowledged that failed at least once
	failure   error           // the last record's failure
	outage    bool            // down or failing, and logged so
	lastError string
	order     uint64 // numbers records in the order first produced

	// Deliver's goroutine only: the identities and the source headers of
	// the last run of records from one source.
	ids    output.RecordIDs
	source struct {
		hostname, source, sourceID string
		headers                    []kgo.RecordHeader
	}

	connected                    atomic.Bool
	sent, confirmedRecs, retried atomic.Uint64
	failures, reconnects         atomic.Uint64
	ackLatency                   atomic.Int64 // nanoseconds
}

// pending is a record on its way: what it is produced as, and its batch.
type pending struct {
	batch   uint64
	order   uint64
	tries   int  // produce attempts
	failed  bool // failed at least once: counted in Output.failing
	size    int  // value and headers: what franz-go buffers
	key     []byte
	value   []byte
	headers []kgo.RecordHeader
}

// New prepares the output: the client connects on the first record. A
// password file is read now, so that a missing one is reported when the
// loghost is configured.
func New(h syslogd.Loghost, s output.Settings, log *slog.Logger) (*Output, error) {
	if h.Scheme != "kafka" && h.Scheme != "kafkas" {
		return nil, fmt.Errorf("loghost %s: not a Kafka loghost", h)
	}
	if h.Topic == "" {
		return nil, fmt.Errorf("loghost %s: no topic", h)
	}
	o := &Output{host: h, settings: s, log: log.With("loghost", h.String()), bound: maxUnacked, bytes: maxUnackedBytes,
		progress: make(chan struct{}, 1), down: map[string]bool{}, ids: output.NewRecordIDs(output.Scope(s.Instance, h))}
	switch s.Key {
	case "", "hostname":
		o.key = func(r *syslogd.Record) []byte { return []byte(r.Hostname) }
	case "source":
		o.key = func(r *syslogd.Record) []byte { return []byte(r.Source) }
	case "none":
		o.key = func(*syslogd.Record) []byte { return nil }
	default:
		return nil, fmt.Errorf("loghost %s: key %q: write hostname, source or none", h, s.Key)
	}
	if o.settings.RetryMax < time.Second {
		o.settings.RetryMax = time.Second
	}
	if o.settings.Format == 0 {
		o.settings.Format = format.RFC5424
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(h.Servers()...),
		kgo.DefaultProduceTopic(h.Topic),
		kgo.ClientID("hostagent"),
		// The defaults, said here because the guarantee rests on them:
		// every in-sync replica acknowledges, and the producer is
		// idempotent (a retried batch is stored once).
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Deliver keeps at most bound records unacknowledged; room for
		// more, so that Produce never blocks the pipeline's goroutine.
		kgo.MaxBufferedRecords(2 * maxUnacked),
		// Likewise for bytes: the client holds at most what Deliver keeps
		// unacknowledged (the bound, or one larger batch alone), and a
		// failed record produced again may count twice for a moment.
		// Beyond this franz-go would block Produce, or fail a record
		// larger than it outright.
		kgo.MaxBufferedBytes(maxBatchBytes + 2*maxUnackedBytes),
		kgo.WithHooks(hooks{o}),
		// The agent reports its own metrics; pushing the client's to the
		// brokers (KIP-714) would also hold Close up to a second while
		// they are unreachable.
		kgo.DisableClientMetrics(),
		kgo.WithLogger(logger{o.log}),
	}
	codec, err := compression(s.Compression)
	if err != nil {
		return nil, fmt.Errorf("loghost %s: %w", h, err)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if s.TLS || s.CAFile != "" || s.CertFile != "" {
		cfg, err := output.TLSConfig(h, s)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if s.SASL != "" {
		mech, err := mechanism(h, s)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(mech))
	}
	o.opts = opts
	o.client, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("loghost %s: %w", h, err)
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	return o, nil
}

func compression(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression %q: write none, gzip, snappy, lz4 or zstd", name)
}

// mechanism is the SASL mechanism of s, with the password from its file.
func mechanism(h syslogd.Loghost, s output.Settings) (sasl.Mechanism, error) {
	if s.Username == "" || s.PasswordFile == "" {
		return nil, fmt.Errorf("loghost %s: SASL %s needs a username and a password file", h, s.SASL)
	}
	b, err := output.ReadSecret(h, "password file", s.PasswordFile)
	if err != nil {
		return nil, err
	}
	pass := strings.TrimRight(string(b), "\r\n") // as echo and editors leave it
	switch strings.ToLower(s.SASL) {
	case "plain":
		return plain.Auth{User: s.Username, Pass: pass}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism(), nil
	case "scram-sha-512":
		return scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("loghost %s: SASL %q: write plain, scram-sha-256 or scram-sha-512", h, s.SASL)
}

// Deliver gives batch the next id and produces its records, returning once
// all are handed to the client; Confirmed says when every replica has them.
// It waits first while too many records are unacknowledged (backpressure),
// producing failed ones again meanwhile, and returns ctx.Err() if ctx ends
// then: the batch is not taken. While failed records wait for Check, the
// batch waits behind them, so that a partition keeps the order of lines.
func (o *Output) Deliver(ctx context.Context, batch []syslogd.Record) (uint64, error) {
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
	// Behind failed records, records wait their turn: produced now, they
	// would be stored before those, out of order in their partitions.
	held := len(o.failed) > 0
	if held {
		o.failed = append(o.failed, ps...)
	}
	o.mu.Unlock()
	if !held {
		for _, p := range ps {
			o.produce(p)
		}
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

// record makes what r is produced as.
func (o *Output) record(r *syslogd.Record) *pending {
	// Records come in runs from one source: the headers naming it are
	// made once per run and shared (franz-go only reads them).
	if src := &o.source; src.headers == nil || r.Hostname != src.hostname || r.Source != src.source || r.SourceID != src.sourceID {
		src.hostname, src.source, src.sourceID = r.Hostname, r.Source, r.SourceID
		src.headers = []kgo.RecordHeader{{Key: "hostname", Value: []byte(r.Hostname)}, {Key: "source", Value: []byte(r.Source)}}
		if r.SourceID != "" {
			src.headers = append(src.headers, kgo.RecordHeader{Key: "source_id", Value: []byte(r.SourceID)})
		}
	}
	headers := make([]kgo.RecordHeader, 0, len(o.source.headers)+3)
	headers = append(headers, o.source.headers...)
	headers = append(headers, kgo.RecordHeader{Key: "sequenceId", Value: strconv.AppendUint(nil, r.Seq, 10)})
	if r.Part > 0 {
		headers = append(headers, kgo.RecordHeader{Key: "part", Value: strconv.AppendInt(nil, int64(r.Part), 10)})
	}
	headers = append(headers, kgo.RecordHeader{Key: "id", Value: []byte(o.ids.ID(r))})
	p := &pending{key: o.key(r), value: output.Message(r, o.settings.Format), headers: headers}
	p.size = len(p.key) + len(p.value)
	for _, h := range headers {
		p.size += len(h.Key) + len(h.Value)
	}
	return p
}

// produce hands p to the client. Each attempt is a new kgo.Record: the
// client keeps a failed one's partition and offset.
func (o *Output) produce(p *pending) {
	p.tries++
	rec := &kgo.Record{Key: p.key, Value: p.value, Headers: p.headers}
	start := time.Now()
	o.client.Produce(o.ctx, rec, func(_ *kgo.Record, err error) { o.done(p, start, err) })
}

// done is a record's promise: called serially by the client, it must not
// block.
func (o *Output) done(p *pending, start time.Time, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return // the pipeline reads what was unacknowledged again at its next start
	}
	if err != nil {
		o.failures.Add(1)
		o.failed = append(o.failed, p)
		if o.retryWait == 0 {
			o.retryWait = time.Second
			o.retryAt = time.Now().Add(o.retryWait)
		}
		o.failedLocked(p, err)
		o.wake()
		return
	}
	o.ackLatency.Add(int64(time.Since(start)))
	o.confirmedRecs.Add(1)
	o.acks.Ack(p.batch, p.size)
	o.retryWait = 0
	o.ackedLocked(p)
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

// Unconfirmed is the number of records produced and not yet acknowledged,
// failed ones waiting to be produced again included.
func (o *Output) Unconfirmed() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.acks.Records()
}

// Check produces again the records whose production failed (and those
// Deliver held behind them), once their
// backoff (1 s, doubling up to RetryMax while they keep failing) has
// passed. franz-go retries a request itself, forever by default; what
// comes back failed did so for a reason it does not retry (the topic
// missing, authorization, a fatal producer-ID error): nothing is dropped,
// and the broker or the client tells why in Stats.
func (o *Output) Check() {
	o.mu.Lock()
	if len(o.failed) == 0 || time.Now().Before(o.retryAt) {
		o.mu.Unlock()
		return
	}
	o.retryWait = min(2*o.retryWait, o.settings.RetryMax)
	o.retryAt = time.Now().Add(o.retryWait)
	o.mu.Unlock()
	o.retry()
}

// retry produces every failed record again, and those held behind them,
// in the order they were given to Deliver, so that those of one partition
// keep their order: franz-go fails a partition's records together, those
// after a failed one included.
func (o *Output) retry() {
	o.mu.Lock()
	ps := o.failed
	o.failed = nil
	idle := len(ps) > 0 && o.acks.Records() == len(ps) // nothing in the client
	failure := o.failure
	o.mu.Unlock()
	if idle && !clientSurvives(failure) {
		o.renew()
	}
	slices.SortFunc(ps, func(a, b *pending) int { return cmp.Compare(a.order, b.order) })
	for _, p := range ps {
		if p.tries > 0 {
			o.retried.Add(1)
		}
		o.produce(p)
	}
}

// clientSurvives says whether a client that failed records with err can
// go on: an error about the topic or the record is the broker's answer,
// and the client picks up its fix (a topic created, an ACL granted) with
// its metadata. Any other error that reaches a promise may have left the
// client failed for good: franz-go keeps a non-retriable InitProducerID
// answer (CLUSTER_AUTHORIZATION_FAILED, for one) as the producer ID's
// error forever.
func clientSurvives(err error) bool {
	for _, e := range []error{kerr.UnknownTopicOrPartition, kerr.TopicAuthorizationFailed, kerr.InvalidTopicException,
		kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// renew replaces the client, while it holds no record: the new one has a
// new producer ID, which is safe only then, as no batch of the old one
// can still be retried to the brokers under its sequence numbers.
func (o *Output) renew() {
	cl, err := kgo.NewClient(o.opts...)
	if err != nil { // options that worked in New: not expected
		o.log.Error("Kafka client not renewed", "err", err)
		return
	}
	old := o.client
	o.client = cl
	old.Close()
	o.log.Info("Kafka client renewed after a failure it keeps", "err", o.Stats().LastError)
}

// Finish waits until every record produced is acknowledged, at most 2 s
// and until ctx ends: nil then, else an error saying how many stay
// unconfirmed (kept: a later Deliver or Check goes on with them). Failed
// records are produced again at once, their backoff notwithstanding: it
// is their last chance before the stop.
func (o *Output) Finish(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, finishTimeout)
	defer cancel()
	for {
		o.retry()
		err := o.client.Flush(ctx)
		o.mu.Lock()
		n, failed, last := o.acks.Records(), len(o.failed), o.lastError
		o.mu.Unlock()
		if n == 0 {
			return nil
		}
		if err != nil || ctx.Err() != nil || failed == 0 {
			if last != "" {
				last = ": " + last
			}
			return fmt.Errorf("loghost %s: %d records stay unconfirmed%s", o.host, n, last)
		}
		// Some failed during the flush: once more, while time remains.
		select {
		case <-ctx.Done():
		case <-time.After(checkEvery):
		}
	}
}

// Close closes the client without waiting for acknowledgements: what was
// not acknowledged is read again by the pipeline at its next start. Finish
// first for a clean stop.
func (o *Output) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	o.client.Close()
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

// brokerDown records an error of a broker's (unreachable, a connection
// cut): logged once per outage, kept for Stats.
func (o *Output) brokerDown(broker string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.lastError = o.describe(err)
	o.down[broker] = true
	o.health()
}

// brokerUp records a broker's working again: a new connection to it
// works. An acknowledgement is no sign: it may come on a connection opened
// before the failure, answered just before it.
func (o *Output) brokerUp(broker string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down[broker] {
		delete(o.down, broker)
		o.reconnects.Add(1)
		o.health()
	}
}

// failedLocked records p's failure; o.mu is held.
func (o *Output) failedLocked(p *pending, err error) {
	o.failure = err
	o.lastError = o.describe(err)
	if tooLarge(err) {
		// A broker refuses a partition's whole batch: p may be a small
		// record that came with the large one. The largest waiting is
		// the one to name.
		size := p.size
		for _, f := range o.failed {
			size = max(size, f.size)
		}
		o.lastError = fmt.Sprintf("record of %d bytes refused: %s (the bus's size limit: the brokers' message.max.bytes, "+
			"the topic's max.message.bytes): raise it", size, o.lastError)
	}
	if !p.failed {
		p.failed = true
		o.failing++
	}
	o.health()
}

// tooLarge says whether err refuses a record for its size: it fails
// again every time, until the operator raises the limit.
func tooLarge(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}

// ackedLocked records p's acknowledgement; o.mu is held. With nothing
// left unacknowledged, no broker is owed anything: one whose connection
// broke and that the client had no reason to call again is not counted
// down. The outage lasts while records that failed still wait (one
// refused for its size, while others go): an acknowledgement of others
// does not end it.
func (o *Output) ackedLocked(p *pending) {
	if p.failed {
		p.failed = false
		o.failing--
	}
	if o.acks.Records() == 0 {
		clear(o.down)
	}
	o.health()
}

// health sets Connected from the brokers' and records' state, and logs an
// outage once, when it begins and when it ends; o.mu is held.
func (o *Output) health() {
	trouble := o.failing > 0 || len(o.down) > 0
	o.connected.Store(!trouble)
	switch {
	case trouble && !o.outage:
		o.outage = true
		o.log.Warn("loghost failing; unacknowledged records are kept and produced again", "err", o.lastError,
			"unconfirmed", o.acks.Records())
	case !trouble && o.outage:
		o.outage = false
		o.lastError = ""
		o.log.Info("loghost acknowledges again", "unconfirmed", o.acks.Records())
	}
}

// describe says what an error means for this loghost, in words an
// operator acts on.
func (o *Output) describe(err error) string {
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return fmt.Sprintf("topic %s does not exist (%v)", o.host.Topic, err)
	case errors.Is(err, kerr.TopicAuthorizationFailed):
		return fmt.Sprintf("not allowed to write to topic %s (%v)", o.host.Topic, err)
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState),
		errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Sprintf("authentication failed (SASL %s as %s): %v", o.settings.SASL, o.settings.Username, err)
	}
	return err.Error()
}

// hooks hear the client's connections and requests: how Stats tells a
// cluster reachable from one that is not while franz-go retries on its
// own, and why. A broker is down from a failed connection, read or write
// until a connection to it succeeds again (or nothing is owed, see
// ackedLocked).
type hooks struct{ o *Output }

var (
	_ kgo.HookBrokerConnect = hooks{}
	_ kgo.HookBrokerWrite   = hooks{}
	_ kgo.HookBrokerRead    = hooks{}
)

func (k hooks) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, conn net.Conn, err error) {
	if err == nil {
		k.o.brokerUp(brokerName(meta))
		return
	}
	s := k.o.settings
	if conn != nil && s.SASL != "" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		// Connected, then cut during the handshake: some brokers
		// answer a failed login so rather than with an error code.
		err = fmt.Errorf("closed the connection during the login (SASL %s as %s): wrong username or password? (%w)",
			s.SASL, s.Username, err)
	}
	k.o.brokerDown(brokerName(meta), fmt.Errorf("broker %s: %w", brokerName(meta), err))
}

func (k hooks) OnBrokerWrite(meta kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	if err != nil && !k.closing(err) {
		k.o.brokerDown(brokerName(meta), fmt.Errorf("broker %s: %w", brokerName(meta), err))
	}
}

func (k hooks) OnBrokerRead(meta kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	if err != nil && !k.closing(err) {
		k.o.brokerDown(brokerName(meta), fmt.Errorf("broker %s: %w", brokerName(meta), err))
	}
}

// closing says whether err is the client's own closing of a connection
// (idle, or Close), not a failure.
func (k hooks) closing(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, context.Canceled)
}

func brokerName(meta kgo.BrokerMetadata) string {
	return net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port)))
}

// logger passes franz-go's own messages to the agent's log, each at
// franz-go's level, only when the agent logs at debug level: what matters
// of them is in Stats and the outage's one warning, and franz-go warns at
// every failed attempt of an outage.
type logger struct{ log *slog.Logger }

func (l logger) Level() kgo.LogLevel {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		return kgo.LogLevelInfo
	}
	return kgo.LogLevelNone
}

func (l logger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l.log.Log(context.Background(), slogLevel(level), "kafka client: "+msg, keyvals...)
}

// slogLevel is franz-go's level as slog's.
func slogLevel(level kgo.LogLevel) slog.Level {
	switch level {
	case kgo.LogLevelError:
		return slog.LevelError
	case kgo.LogLevelWarn:
		return slog.LevelWarn
	case kgo.LogLevelInfo:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
