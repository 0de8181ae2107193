package kafka

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/format"
	"hostagent/syslogd/output"
)

const (
	testTopic      = "logs"
	testPartitions = 6
)

// cluster is a kfake cluster whose brokers listen through faultListeners:
// the test can cut their connections, lose their responses, or take a
// broker away and bring it back.
type cluster struct {
	*kfake.Cluster
	brokers []*faultListener // by node id: kfake listens for node i i-th
}

func newCluster(t testing.TB, opts ...kfake.Opt) *cluster {
	t.Helper()
	c := &cluster{}
	var mu sync.Mutex
	listen := func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		fl := &faultListener{addr: ln.Addr().String(), ln: ln, up: make(chan struct{})}
		close(fl.up)
		mu.Lock()
		c.brokers = append(c.brokers, fl)
		mu.Unlock()
		return fl, nil
	}
	opts = append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(testPartitions, testTopic), kfake.ListenFn(listen)}, opts...)
	kc, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake cluster: %v", err)
	}
	c.Cluster = kc
	t.Cleanup(kc.Close)
	return c
}

// loghost is the kafka:// loghost of the cluster's brokers and topic.
func (c *cluster) loghost(t testing.TB, topic string) syslogd.Loghost {
	t.Helper()
	h, err := syslogd.ParseLoghost("kafka://" + strings.Join(c.ListenAddrs(), ",") + "/" + topic)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// dropConnections closes every broker's open connections, as a network
// failure would: what a connection carried is lost, responses included.
func (c *cluster) dropConnections() {
	for _, b := range c.brokers {
		b.dropConns()
	}
}

// faultListener is a broker's listening socket and its connections.
//
// A broker gone (its process killed, its host down) is modelled by down:
// the listening socket is closed, so that connecting is refused, and the
// open connections are closed, so that requests in flight get no answer
// whether or not the broker applied them; up listens again on the same
// address, the broker's log intact, as a restarted broker with its disk.
// kfake's RemoveNode is not that: it closes the listener only, the cluster
// goes on answering on the connections already open, and it deals the
// partitions anew, so the client sees a broker absent from the metadata
// that still answers, and moves on with errors a real cluster never gives.
type faultListener struct {
	addr string

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*faultConn]struct{}
	up       chan struct{} // closed while the broker is up
	closed   bool
	loseNext int // responses to lose, with their connection, after the request was applied
	lost     atomic.Int64
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		ln, up, closed := l.ln, l.up, l.closed
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		<-up
		conn, err := ln.Accept()
		if err != nil {
			l.mu.Lock()
			closed, down := l.closed, l.ln != ln
			l.mu.Unlock()
			if closed || !down {
				return nil, err
			}
			continue // taken down: wait for up, on the new socket
		}
		fc := &faultConn{Conn: conn, l: l}
		l.mu.Lock()
		if l.ln != ln { // accepted just as the broker went down: it never was
			l.mu.Unlock()
			conn.Close()
			continue
		}
		if l.conns == nil {
			l.conns = map[*faultConn]struct{}{}
		}
		l.conns[fc] = struct{}{}
		l.mu.Unlock()
		return fc, nil
	}
}

func (l *faultListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.up != nil {
		select {
		case <-l.up:
		default:
			close(l.up)
		}
	}
	return l.ln.Close()
}

func (l *faultListener) Addr() net.Addr { return l.ln.Addr() }

func (l *faultListener) dropConns() {
	l.mu.Lock()
	conns := make([]*faultConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// down takes the broker away: connections refused, open ones cut.
func (l *faultListener) down(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	l.up = make(chan struct{})
	old := l.ln
	l.ln = downListener{}
	l.mu.Unlock()
	old.Close()
	l.dropConns()
}

// back brings the broker back on its address.
func (l *faultListener) back(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		t.Fatalf("broker %s back: %v", l.addr, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		ln.Close()
		return
	}
	l.ln = ln
	close(l.up)
}

// loseResponses makes the next n produce responses of the broker be lost with
// their connection: their requests were applied, their answers never
// arrive, as when a broker's host is cut off just after appending.
func (l *faultListener) loseResponses(n int) {
	l.mu.Lock()
	l.loseNext += n
	l.mu.Unlock()
}

// downListener stands for the closed socket of a broker that is down.
type downListener struct{}

func (downListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (downListener) Close() error              { return nil }
func (downListener) Addr() net.Addr            { return &net.TCPAddr{} }

type faultConn struct {
	net.Conn
	l    *faultListener
	once sync.Once

	// The requests read, parsed as far as their key and correlation ID:
	// which responses answer a produce request.
	mu       sync.Mutex
	frame    []byte // the size, then the header, of the request being read
	left     int    // bytes of the request's body still to come
	produce  map[int32]bool
	answered int // produce responses written
}

// Read notes the correlation IDs of produce requests. kfake reads a
// request's 4-byte size, then its body, which starts with the key (2
// bytes), the version (2) and the correlation ID (4).
func (c *faultConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	for b := p[:n]; len(b) > 0; {
		if c.left == 0 && len(c.frame) < 4 { // the size
			k := min(4-len(c.frame), len(b))
			c.frame, b = append(c.frame, b[:k]...), b[k:]
			if len(c.frame) == 4 {
				c.left = int(binary.BigEndian.Uint32(c.frame))
			}
			continue
		}
		k := min(c.left, len(b))
		if h := len(c.frame); h < 12 {
			c.frame = append(c.frame, b[:min(k, 12-h)]...)
			if len(c.frame) == 12 && int16(binary.BigEndian.Uint16(c.frame[4:])) == int16(kmsg.Produce) {
				if c.produce == nil {
					c.produce = map[int32]bool{}
				}
				c.produce[int32(binary.BigEndian.Uint32(c.frame[8:]))] = true
			}
		}
		c.left -= k
		b = b[k:]
		if c.left == 0 {
			c.frame = c.frame[:0]
		}
	}
	return n, err
}

// Write is kfake's writing of one response (one Write each, size and
// correlation ID first): a produce response is lost, with the connection,
// while the listener's loseNext says so. The request was applied.
func (c *faultConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	isProduce := false
	if len(p) >= 8 {
		corr := int32(binary.BigEndian.Uint32(p[4:]))
		isProduce = c.produce[corr]
		delete(c.produce, corr)
	}
	c.mu.Unlock()
	lose := false
	// The first produce response of a connection is never lost: franz-go
	// takes a connection closed before its first answer for a broker that
	// wants SASL, and waits for fresh metadata (5 s at least) before
	// trying again, which would only slow the test.
	if isProduce && c.answered > 0 {
		c.l.mu.Lock()
		if lose = c.l.loseNext > 0; lose {
			c.l.loseNext--
		}
		c.l.mu.Unlock()
	}
	if lose {
		c.l.lost.Add(1)
		c.Close()
		return 0, io.ErrClosedPipe
	}
	if isProduce {
		c.answered++
	}
	return c.Conn.Write(p)
}

func (c *faultConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// records makes n records of a few hosts and files, numbered per source
// as the pipeline numbers them.
func records(n int, host string) []syslogd.Record {
	out := make([]syslogd.Record, n)
	seq := map[string]uint64{}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := range out {
		h := fmt.Sprintf("%s-%d", host, i%5)
		src := fmt.Sprintf("/var/log/vmware/app%d.log", i%3)
		seq[h+src]++
		out[i] = syslogd.Record{Time: t0.Add(time.Duration(i) * time.Millisecond), Hostname: h, AppName: "app",
			Facility: 1, Severity: 6, Message: fmt.Sprintf("line %d of the test", i), Source: src,
			SourceID: "2049:" + strconv.Itoa(i%3), Seq: seq[h+src]}
	}
	return out
}

func testSettings(h syslogd.Loghost) output.Settings {
	s := output.DefaultSettings(h)
	s.RetryMax = 2 * time.Second
	s.Instance = "test-instance"
	return s
}

func newOutput(t testing.TB, h syslogd.Loghost, s output.Settings, log *slog.Logger) *Output {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o, err := New(h, s, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// deliver hands recs to o in batches of size, as the pipeline does
// (Check between them), and returns the last batch's id.
func deliver(t testing.TB, o *Output, recs []syslogd.Record, size int, between func(i int)) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o.mu.Lock()
	last := o.acks.LastID()
	o.mu.Unlock()
	for i := 0; i < len(recs); i += size {
		id, err := o.Deliver(ctx, recs[i:min(i+size, len(recs))])
		if err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if id != last+1 {
			t.Fatalf("batch id %d after %d", id, last)
		}
		last = id
		o.Check()
		if between != nil {
			between(i / size)
		}
	}
	return last
}

// waitConfirmed waits for batch id to be confirmed, calling Check as the
// pipeline does while idle.
func waitConfirmed(t testing.TB, o *Output, id uint64, timeout time.Duration) {
	t.Helper()
	if !peertest.Until(timeout, func() bool { o.Check(); return o.Confirmed() >= id }) {
		t.Fatalf("batch %d not confirmed after %v: confirmed %d, stats %+v", id, timeout, o.Confirmed(), o.Stats())
	}
}

// waitStats waits for o's Stats to meet cond, calling Check as the
// pipeline does while idle.
func waitStats(t testing.TB, o *Output, timeout time.Duration, what string, cond func(output.Stats) bool) {
	t.Helper()
	if !peertest.Until(timeout, func() bool { o.Check(); return cond(o.Stats()) }) {
		t.Fatalf("timed out after %v waiting for %s: stats %+v", timeout, what, o.Stats())
	}
}

// stored is a record read back from the topic.
type stored struct {
	partition int32
	offset    int64
	key       string
	value     string
	headers   map[string]string
}

// consume reads the whole topic: every partition up to its end offset,
// asked of the leaders first, so that a duplicate stored anywhere is read.
func consume(t testing.TB, addrs []string, topic string, opts ...kgo.Opt) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends := endOffsets(t, ctx, cl, topic)
	start := map[string]map[int32]kgo.Offset{topic: {}}
	want := 0
	for p, end := range ends {
		if end > 0 {
			start[topic][p] = kgo.NewOffset().AtStart()
			want += int(end)
		}
	}
	var out []stored
	if want == 0 {
		return out
	}
	cl.AddConsumePartitions(start)
	next := map[int32]int64{}
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records: %v", len(out), want, ctx.Err())
		}
		fs.EachError(func(_ string, p int32, err error) { t.Logf("fetch partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return
			}
			if r.Offset != next[r.Partition] {
				t.Errorf("partition %d: offset %d after %d", r.Partition, r.Offset, next[r.Partition]-1)
			}
			next[r.Partition] = r.Offset + 1
			s := stored{partition: r.Partition, offset: r.Offset, key: string(r.Key), value: string(r.Value), headers: map[string]string{}}
			for _, h := range r.Headers {
				s.headers[h.Key] = string(h.Value)
			}
			out = append(out, s)
		})
	}
	return out
}

func endOffsets(t testing.TB, ctx context.Context, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = append(meta.Topics, mt)
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	for _, mt := range mresp.Topics {
		for _, p := range mt.Partitions {
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Partition = p.Partition
			lp.Timestamp = -1 // the end
			lt.Partitions = append(lt.Partitions, lp)
		}
	}
	req.Topics = append(req.Topics, lt)
	ends := map[int32]int64{}
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			t.Fatalf("list offsets: %v", shard.Err)
		}
		for _, rt := range shard.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, rp := range rt.Partitions {
				if rp.ErrorCode != 0 {
					t.Fatalf("list offsets of partition %d: error %d", rp.Partition, rp.ErrorCode)
				}
				ends[rp.Partition] = rp.Offset
			}
		}
	}
	if len(ends) == 0 {
		t.Fatalf("topic %s has no partitions", topic)
	}
	return ends
}

// verify checks that every record of sent is stored exactly once, whole,
// and (when ordered) in the order sent within its partition.
func verify(t testing.TB, h syslogd.Loghost, sent []syslogd.Record, got []stored, s output.Settings, ordered bool) {
	t.Helper()
	scope := output.Scope(s.Instance, h)
	index := make(map[string]int, len(sent))
	for i := range sent {
		index[output.RecordID(scope, &sent[i])] = i
	}
	seen := make(map[string]int, len(sent))
	lastIndex := map[int32]int{}
	dups, foreign := 0, 0
	for _, g := range got {
		id := g.headers["id"]
		i, ok := index[id]
		if !ok {
			foreign++
			continue
		}
		seen[id]++
		if seen[id] > 1 {
			dups++
			continue
		}
		r := &sent[i]
		if want := string(format.Append(nil, r, s.Format, format.None, 0)); g.value != want {
			t.Errorf("record %s: value %q, want %q", id, g.value, want)
		}
		if (s.Key == "" || s.Key == "hostname") && g.key != r.Hostname {
			t.Errorf("record %s: key %q, want %q", id, g.key, r.Hostname)
		}
		for k, want := range map[string]string{"hostname": r.Hostname, "source": r.Source, "source_id": r.SourceID,
			"sequenceId": strconv.FormatUint(r.Seq, 10)} {
			if g.headers[k] != want {
				t.Errorf("record %s: header %s = %q, want %q", id, k, g.headers[k], want)
			}
		}
		if ordered {
			if last, ok := lastIndex[g.partition]; ok && i < last {
				t.Errorf("partition %d: record %d stored after record %d", g.partition, i, last)
			}
			lastIndex[g.partition] = i
		}
	}
	lost := 0
	var missing []int
	for i := range sent {
		if seen[output.RecordID(scope, &sent[i])] == 0 {
			lost++
			if len(missing) < 10 {
				missing = append(missing, i)
			}
		}
	}
	if lost > 0 || dups > 0 || foreign > 0 {
		t.Errorf("%d records sent, %d stored: %d lost (first: %v), %d duplicates, %d not sent by the test",
			len(sent), len(got), lost, missing, dups, foreign)
	}
}

// partitionsOf are the partitions of the test topic, in order.
func partitionsOf() []int32 {
	var ps []int32
	for p := range int32(testPartitions) {
		ps = append(ps, p)
	}
	return slices.Clip(ps)
}
