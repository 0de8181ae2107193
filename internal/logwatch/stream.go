package logwatch

// The log bus side of the demonstration: what a nats:// loghost publishes
// is stored by a JetStream stream, and a consumer of that stream logs each
// record stored, as an indexer reading the bus would see it.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc5424"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// streamName is the JetStream stream StartStream creates (or updates) to
// take the demo subject.
const streamName = "HOSTAGENT_DEMO"

// The stream's limits keep a demonstration small: the oldest records are
// discarded beyond them (its publishers are acknowledged all the same).
const (
	streamMaxMsgs  = 10000
	streamMaxBytes = 64 << 20
)

// pullBatch bounds the records the consumer holds fetched and not yet
// logged: its memory, a few hundred bytes each.
const pullBatch = 64

// apiTimeout bounds one JetStream API request (creating the stream or
// the consumer). A request made while the server is away waits in nats.go's
// reconnection buffer, for that long at most.
const apiTimeout = 5 * time.Second

// Retry pauses after the consumer stopped (the server away, JetStream
// not ready, the subject taken by another stream): short at first, as a
// server's restart is quick, then no more than a request every few
// seconds for as long as it takes.
const (
	retryFirst = 500 * time.Millisecond
	retryMax   = 5 * time.Second
)

// Stream consumes the demo stream until Close.
type Stream struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	subject string
	log     *slog.Logger
	parser  syslog.Machine // used by run's goroutine only
	cancel  context.CancelFunc
	done    chan struct{} // closed when run has returned
	once    sync.Once
}

// StartStream connects to the NATS servers of url (nats://host:port,
// several separated by commas), creates or updates the stream
// HOSTAGENT_DEMO taking subject, and logs each record the stream stores,
// from its first, with an ordered consumer. It returns at once: the
// server may be away, or start later; the consumer connects, and again
// after each loss, for as long as it runs.
//
// log must not be the daemon's forwarded log: each record logged would be
// forwarded to the stream again.
func StartStream(url, subject string, log *slog.Logger) (*Stream, error) {
	if subject == "" {
		return nil, errors.New("demo stream: no subject")
	}
	s := &Stream{subject: subject, log: log, parser: rfc5424.NewParser(rfc5424.WithBestEffort()),
		done: make(chan struct{})}
	nc, err := nats.Connect(url,
		nats.Name("hostagent demo stream"),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(time.Second),
		nats.ConnectHandler(func(*nats.Conn) { log.Info("demo stream: connected", "url", url) }),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("demo stream: reconnected", "url", url) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("demo stream: disconnected; reconnecting", "url", url, "err", err)
			}
		}))
	if err != nil {
		return nil, fmt.Errorf("demo stream %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("demo stream %s: %w", url, err)
	}
	s.nc, s.js = nc, js
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(ctx)
	log.Info("demo stream consuming", "url", url, "subject", subject, "stream", streamName)
	return s, nil
}

// Close stops consuming and closes the connection. Closing the
// connection first ends at once any request still waiting for the server.
func (s *Stream) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.nc.Close()
		<-s.done
	})
	return nil
}

// run consumes until ctx ends, starting again after each failure after
// the last record it logged, so that each is logged once.
func (s *Stream) run(ctx context.Context) {
	defer close(s.done)
	var last uint64 // the stream sequence of the last record logged
	pause, outage := retryFirst, false
	for {
		before := last
		err := s.consume(ctx, &last)
		if ctx.Err() != nil {
			return
		}
		if last != before {
			pause, outage = retryFirst, false
		}
		// Once per outage at WARN: a server away for long would
		// otherwise fill the console.
		level := slog.LevelDebug
		if !outage {
			level, outage = slog.LevelWarn, true
		}
		s.log.Log(ctx, level, "demo stream: not consuming; trying again", "stream", streamName, "err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, retryMax)
	}
}

// consume makes sure the stream exists and takes the subject, then logs
// its records after *last until an error.
func (s *Stream) consume(ctx context.Context, last *uint64) error {
	actx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	st, err := s.js.CreateOrUpdateStream(actx, jetstream.StreamConfig{
		Name:     streamName,
		Subjects: []string{s.subject},
		Storage:  jetstream.FileStorage,
		MaxMsgs:  streamMaxMsgs,
		MaxBytes: streamMaxBytes,
		Discard:  jetstream.DiscardOld,
	})
	if err != nil {
		return fmt.Errorf("create or update stream %s taking %s: %w", streamName, s.subject, err)
	}
	// One reset attempt: the ordered consumer would otherwise retry on
	// its own, without end and deaf to Close; run retries instead.
	cfg := jetstream.OrderedConsumerConfig{MaxResetAttempts: 1}
	if *last > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, *last+1
	}
	cons, err := st.OrderedConsumer(actx, cfg)
	if err != nil {
		return fmt.Errorf("consumer of stream %s: %w", streamName, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(pullBatch))
	if err != nil {
		return fmt.Errorf("consumer of stream %s: %w", streamName, err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read stream %s: %w", streamName, err)
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("read stream %s: %w", streamName, err)
		}
		*last = md.Sequence.Stream
		s.show(m, md.Sequence.Stream)
	}
}

// show logs a record: where the stream stored it, the headers a bus
// consumer routes and deduplicates on, and its message decoded as the
// demo collector decodes what it receives.
func (s *Stream) show(m jetstream.Msg, seq uint64) {
	h := m.Headers()
	header := func(k string) string {
		if v := h.Get(k); v != "" {
			return v
		}
		return "-"
	}
	attrs := []any{"subject", m.Subject(), "seq", seq, "hostname", header("hostname"), "sequenceId", header("sequenceId")}
	msg, err := s.parser.Parse(m.Data())
	if sm, ok := msg.(*rfc5424.SyslogMessage); ok && sm != nil {
		// The message's own host and sequenceId are the headers': shown once.
		d := describe(sm)
		for i := 0; i+1 < len(d); i += 2 {
			if k := d[i]; k != "host" && k != "sequenceId" {
				attrs = append(attrs, d[i], d[i+1])
			}
		}
	}
	if err != nil {
		attrs = append(attrs, "decode_err", err.Error(), "data", string(m.Data()))
	}
	s.log.Info("stored log record", attrs...)
}
