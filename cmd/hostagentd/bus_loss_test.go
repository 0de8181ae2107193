package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"hostagent/internal/peertest"
)

// These tests forward numbered lines with the real hostagentd into a log
// bus, kill the agent (SIGKILL, no chance to checkpoint) and the bus's
// server while it forwards, rotate the file meanwhile, and count every
// record the bus stored: none may be missing. A NATS JetStream stream
// stores none twice (each record's Nats-Msg-Id is its stable identity, and
// the stream drops what it already has); Kafka's idempotent producer
// dedups within one producer session only, so an agent killed while
// records are in flight may store those again, each with the same "id"
// header: the test bounds them and logs the figure.

// newBusRig is a lossRig whose loghost is a log bus: the daemon and the
// log files as newLossRig makes them, without rsyslogd.
func newBusRig(t *testing.T, loghost, options string) *lossRig {
	t.Helper()
	scheme, _, _ := strings.Cut(loghost, "://")
	r := &lossRig{t: t, opts: rigOptions{transport: scheme}, bin: binaries(t), work: t.TempDir(), logs: t.TempDir(),
		began: time.Now(), loghost: loghost}
	r.state = filepath.Join(r.work, "state")
	r.configure(options)
	t.Cleanup(func() {
		r.stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("hostagentd:\n%s", r.daemonLog.String())
		}
	})
	return r
}

// busTally counts the "loss line N" records a bus stored, by N, and checks
// that each copy carries the same numbering in its structured data and in
// its headers.
type busTally struct {
	copies   []int
	ids      map[string]int // per record identity (Nats-Msg-Id, the "id" header): copies
	seqOf    []string       // per line: file identity and sequenceId of its first copy
	records  int
	distinct int
	problems []string
}

func (b *busTally) add(data []byte, header func(string) string) {
	b.records++
	i := bytes.LastIndex(data, []byte("loss line "))
	if i < 0 {
		return // the agent's own log
	}
	n, err := strconv.Atoi(string(data[i+len("loss line "):]))
	if err != nil {
		b.problem("record with a malformed line: %q", data)
		return
	}
	for n >= len(b.copies) {
		b.copies, b.seqOf = append(b.copies, 0), append(b.seqOf, "")
	}
	seq, file := sdParam(data, `[meta sequenceId="`), sdParam(data, ` file="`)
	if seq == "" || file == "" || header("sequenceId") != seq {
		b.problem("line %d: sequenceId %q (header %q), file %q", n, seq, header("sequenceId"), file)
	}
	if id := header("id"); id != "" {
		if b.ids == nil {
			b.ids = map[string]int{}
		}
		b.ids[id]++
	}
	if b.copies[n] == 0 {
		b.distinct++
		b.seqOf[n] = file + "/" + seq
	} else if b.seqOf[n] != file+"/"+seq {
		b.problem("line %d arrived again as %s, first as %s", n, file+"/"+seq, b.seqOf[n])
	}
	b.copies[n]++
}

// sdParam is the value after key in an RFC 5424 message, up to its quote.
func sdParam(msg []byte, key string) string {
	_, rest, ok := bytes.Cut(msg, []byte(key))
	if !ok {
		return ""
	}
	v, _, _ := bytes.Cut(rest, []byte(`"`))
	return string(v)
}

func (b *busTally) problem(format string, args ...any) {
	if len(b.problems) < 5 {
		b.problems = append(b.problems, fmt.Sprintf(format, args...))
	}
}

// missing and duplicates of the lines 0..n-1.
func (b *busTally) count(n int) (missing, duplicates int, first []int) {
	for i := range n {
		c := 0
		if i < len(b.copies) {
			c = b.copies[i]
		}
		if c == 0 {
			missing++
			if len(first) < 10 {
				first = append(first, i)
			}
		}
		duplicates += max(c-1, 0)
	}
	return missing, duplicates, first
}

// TestNatsAgentKilledAndServerRestarted: lines written at full speed to a
// file forwarded into a JetStream stream; the agent is SIGKILLed four
// times while it forwards, the nats-server SIGKILLed and started again
// twice while it forwards (once with the agent down too), the file is
// rotated by rename once during an outage. Every line is in the stream
// exactly once.
func TestNatsAgentKilledAndServerRestarted(t *testing.T) {
	srv := peertest.StartNatsServer(t, peertest.NatsServerOptions{})
	srv.AddStream(t, jetstream.StreamConfig{Name: "LOGS", Subjects: []string{"logs.>"}, Duplicates: 10 * time.Minute})
	r := newBusRig(t, fmt.Sprintf("nats://127.0.0.1:%d/logs.esx", srv.Port()), "retry_max = \"200ms\"\n")
	var tl busTally
	sr := newStreamReader(t, srv.URL(), "LOGS")
	stored := func() int {
		sr.read(func(m jetstream.Msg) {
			tl.add(m.Data(), m.Headers().Get)
			if got, want := m.Headers().Get("id"), m.Headers().Get("Nats-Msg-Id"); got != "" && got != want {
				tl.problem("record %s: id header %q, Nats-Msg-Id %q", m.Subject(), got, want)
			}
		})
		return tl.distinct
	}
	waitStored := func(n int) {
		t.Helper()
		r.waitFor(fmt.Sprintf("%d lines in the stream", n), 2*time.Minute, func() bool { return stored() >= n })
	}
	r.start()
	w := r.openWriter("app.log")
	for round := range 4 {
		before := r.next
		w.write(30_000, 0)
		// Killed while forwarding: some of this round is in the stream,
		// not all of it.
		waitStored(before + 1_000)
		r.stop(syscall.SIGKILL)
		switch round {
		case 1:
			// The server killed while the agent is down, the file rotated
			// meanwhile, the agent back before the server.
			srv.Kill(t)
			if err := os.Rename(w.path, w.path+".1"); err != nil {
				t.Fatal(err)
			}
			w.reopen()
			w.write(5_000, 0)
			r.start()
			r.waitLoghostDown()
			srv.Start(t)
		case 2:
			// The server killed while the agent forwards a backlog.
			r.start()
			waitStored(r.next - 25_000)
			srv.Kill(t)
			r.waitLoghostDown()
			w.write(5_000, 0)
			srv.Start(t)
		default:
			r.start()
		}
	}
	w.write(10_000, 0)
	waitStored(r.next)
	missing, dups, first := tl.count(r.next)
	t.Logf("nats: %d lines written, %d records stored (%d of them the agent's own log), %d missing, %d duplicates, %v",
		r.next, tl.records, tl.records-tl.distinct-dups, missing, dups, time.Since(r.began).Round(100*time.Millisecond))
	if missing > 0 || dups > 0 {
		t.Errorf("%d lines missing (first %v), %d stored twice: want none", missing, first, dups)
	}
	for id, n := range tl.ids {
		if n > 1 {
			t.Errorf("record %s stored %d times", id, n)
			break
		}
	}
	for _, p := range tl.problems {
		t.Error(p)
	}
	if show := r.show(); !strings.Contains(show, "stored by the JetStream stream") {
		t.Errorf("vicfg-syslog --show does not say what a delivery is:\n%s", show)
	}
}

// streamReader reads a stream's messages in order, from where it left off,
// through an ordered consumer made again (from the next sequence) after
// the server went away.
type streamReader struct {
	t      *testing.T
	js     jetstream.JetStream
	stream string
	next   uint64 // stream sequence of the next message to read
	cons   jetstream.Consumer
}

func newStreamReader(t *testing.T, url, stream string) *streamReader {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &streamReader{t: t, js: js, stream: stream, next: 1}
}

// read hands each message stored since the last call to each; a failure
// (the server restarting) ends the call, and the next resumes.
func (s *streamReader) read(each func(jetstream.Msg)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.cons == nil {
		cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: s.next}
		cons, err := s.js.OrderedConsumer(ctx, s.stream, cfg)
		if err != nil {
			return
		}
		s.cons = cons
	}
	for {
		batch, err := s.cons.Fetch(4096, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			s.cons = nil
			return
		}
		n := 0
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil || meta.Sequence.Stream < s.next {
				continue
			}
			s.next = meta.Sequence.Stream + 1
			each(m)
			n++
		}
		if batch.Error() != nil {
			s.cons = nil
			return
		}
		if n == 0 {
			return
		}
	}
}

// TestKafkaAgentKilled: lines forwarded into a three-broker kfake cluster
// (franz-go's own test cluster: no Kafka broker is packaged for Debian);
// the agent is SIGKILLed three times while it forwards, the file rotated
// by rename once meanwhile. No line is missing; what is stored twice is
// only what was in flight at a kill, each copy with the same "id" header.
func TestKafkaAgentKilled(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "logs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	r := newBusRig(t, "kafka://"+strings.Join(cluster.ListenAddrs(), ",")+"/logs", "retry_max = \"200ms\"\n")
	consumer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("logs"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(consumer.Close)
	var tl busTally
	consume := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		consumer.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
			tl.add(rec.Value, func(key string) string {
				for _, h := range rec.Headers {
					if h.Key == key {
						return string(h.Value)
					}
				}
				return ""
			})
		})
		return tl.distinct
	}
	waitStored := func(n int) {
		t.Helper()
		r.waitFor(fmt.Sprintf("%d lines in the topic", n), 2*time.Minute, func() bool {
			// The cluster keeps every record in this process: an agent
			// producing the same records again and again would fill the
			// memory before the deadline. Stopped here, with its log.
			if got := consume(); tl.records > 4*r.next+4*(1<<16) {
				t.Fatalf("runaway: %d records stored for %d lines written (%d distinct)", tl.records, r.next, got)
			}
			return tl.distinct >= n
		})
	}
	r.start()
	w := r.openWriter("app.log")
	kills := 0
	for round := range 3 {
		before := r.next
		w.write(30_000, 0)
		waitStored(before + 1_000)
		r.stop(syscall.SIGKILL)
		kills++
		if round == 1 {
			if err := os.Rename(w.path, w.path+".1"); err != nil {
				t.Fatal(err)
			}
			w.reopen()
			w.write(5_000, 0)
		}
		r.start()
	}
	w.write(10_000, 0)
	waitStored(r.next)
	missing, dups, first := tl.count(r.next)
	// A kill may repeat what was in flight: the records produced and not
	// yet acknowledged (kafka.maxUnacked, 65,536 records at most) and the
	// batch being delivered, plus what was acknowledged in the last 250 ms
	// before the checkpoint (forward.saveEvery: at these rates, a few
	// batches).
	bound := kills * (1<<16 + 4*maxBatch)
	t.Logf("kafka: %d lines written, %d records stored, %d missing, %d duplicates (bound %d) after %d kills, %v",
		r.next, tl.records, missing, dups, bound, kills, time.Since(r.began).Round(100*time.Millisecond))
	if missing > 0 {
		t.Errorf("%d lines missing (first %v)", missing, first)
	}
	if dups > bound {
		t.Errorf("%d duplicates, more than %d", dups, bound)
	}
	for _, p := range tl.problems {
		t.Error(p)
	}
}
