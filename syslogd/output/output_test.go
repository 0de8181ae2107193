package output

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/format"
)

// lineServer is a hand-made TCP collector for unit tests of the retry
// logic (rsyslogd is the collector of the integration tests).
type lineServer struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
	conns []net.Conn
}

// stop takes the collector down: listener and connections.
func (s *lineServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func listen(t *testing.T, addr string) *lineServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &lineServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					s.mu.Lock()
					s.lines = append(s.lines, sc.Text())
					s.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *lineServer) wait(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	if !peertest.Until(5*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		got = append([]string(nil), s.lines...)
		return len(got) >= n
	}) {
		t.Fatalf("received %d lines, want %d: %q", len(got), n, got)
	}
	return got
}

func batch(from, n int) []syslogd.Record {
	var b []syslogd.Record
	for i := from; i < from+n; i++ {
		b = append(b, syslogd.Record{AppName: "app", Facility: 16, Severity: 6, Message: "line " + strings.Repeat("x", i%3), Seq: uint64(i)})
	}
	return b
}

func newlineOutput(t *testing.T, addr string) *Output {
	t.Helper()
	h, err := syslogd.ParseLoghost("tcp://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	s := DefaultSettings(h)
	s.Framing, s.RetryMax = format.Newline, 50*time.Millisecond
	o, err := New(h, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// TestDeliverWaitsForTheCollector: a batch given while the collector is
// down is delivered once it is back; nothing is dropped.
func TestDeliverWaitsForTheCollector(t *testing.T) {
	first := listen(t, "127.0.0.1:0")
	addr := first.ln.Addr().String()
	o := newlineOutput(t, addr)
	ctx := context.Background()
	if _, err := o.Deliver(ctx, batch(1, 10)); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 10)
	first.stop() // the collector goes away

	done := make(chan error, 1)
	go func() {
		// The first write after the close may still succeed into the
		// kernel's buffer; keep delivering until one has to retry: that
		// one waits for the collector.
		for i := 0; i < 1000 && o.Stats().Retried == 0; i++ {
			if _, err := o.Deliver(ctx, batch(100+i*5, 5)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	peertest.Eventually(t, 5*time.Second, "a delivery retrying", func() bool { return o.Stats().Retried > 0 })
	second := listen(t, addr) // back on the same port
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.Reconnects == 0 || !st.Connected {
		t.Errorf("stats %+v, want a reconnection", st)
	}
	// The first batch given after the collector went away is not lost to
	// the dead connection: the new collector has it, after the batch sent
	// just before (not yet confirmed, so written again).
	got := second.wait(t, 15)
	if !strings.Contains(got[0], `sequenceId="1"`) || !strings.Contains(got[10], `sequenceId="100"`) {
		t.Errorf("after the restart: %q ... %q, want the unconfirmed batch from 1, then the batch from 100", got[0], got[10])
	}
}

func TestDeliverGivesUpWithTheContext(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens
	o := newlineOutput(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := o.Deliver(ctx, batch(1, 1)); done <- err }()
	peertest.Eventually(t, 30*time.Second, "a failed connection", func() bool { return o.Stats().LastError != "" })
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Deliver = %v, want the context's error", err)
	}
	if st := o.Stats(); st.Connected || st.LastError == "" || st.Sent != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestUnreadBatchIsWrittenAgain: the collector accepts a batch into its
// socket and dies before reading it. The write had succeeded, and the
// kernel acknowledged the bytes; the batch is not confirmed, and is written
// again to the next connection.
func TestUnreadBatchIsWrittenAgain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // never read
		}
	}()
	o := newlineOutput(t, addr)
	ctx := context.Background()
	first, err := o.Deliver(ctx, batch(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	c := <-accepted
	// The kernel acknowledges every byte (the collector's socket took
	// them): still nothing proves a read.
	peertest.Eventually(t, 5*time.Second, "the kernel's acknowledgement of the batch", func() bool {
		o.Check()
		ti, err := tcpInfo(o.stream.raw.Conn)
		return err == nil && ti.Bytes_acked > o.stream.raw.written.Load() // Bytes_acked counts the SYN too
	})
	o.Check()
	if o.Confirmed() >= first || o.Unconfirmed() != 3 {
		t.Fatalf("confirmed %d, %d unconfirmed: a batch nobody read was confirmed", o.Confirmed(), o.Unconfirmed())
	}
	c.Close() // dies with the batch unread: the kernel drops it
	ln.Close()

	second := listen(t, addr)
	if _, err := o.Deliver(ctx, batch(4, 2)); err != nil {
		t.Fatal(err)
	}
	got := second.wait(t, 5)
	for i, want := range []string{`"1"`, `"2"`, `"3"`, `"4"`, `"5"`} {
		if !strings.Contains(got[i], `sequenceId=`+want) {
			t.Errorf("line %d: %q, want sequenceId %s", i, got[i], want)
		}
	}
}

// bigBatch is n records of about 1 KiB.
func bigBatch(from, n int) []syslogd.Record {
	b := batch(from, n)
	for i := range b {
		b[i].Message = strings.Repeat("y", 1000)
	}
	return b
}

// TestReadBatchesAreConfirmed: a collector that reads everything gets its
// batches confirmed once it has read well past them; the newest ones wait
// for more.
func TestReadBatchesAreConfirmed(t *testing.T) {
	s := listen(t, "127.0.0.1:0")
	o := newlineOutput(t, s.ln.Addr().String())
	o.idleFinish = time.Hour // rule 1 alone: no idle close
	ctx := context.Background()
	// Batches of 1 MB until 10 are confirmed while data flows: how far
	// past a batch the collector must have read depends on the largest
	// window it showed, which the kernel sizes to the load (40 MB were
	// not enough on a busy machine, with windows of 12 MiB).
	var last uint64
	for i := 0; o.Confirmed() < 10; i++ {
		if i == 1000 {
			t.Fatalf("1 GB written, %d batches confirmed; stats %+v", o.Confirmed(), o.Stats())
		}
		id, err := o.Deliver(ctx, bigBatch(i*1000, 1000))
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	// Once the collector has read everything, the newest batches still
	// wait: nothing was written after them.
	peertest.Eventually(t, 60*time.Second, "the collector to read every line", func() bool {
		s.mu.Lock()
		read := len(s.lines)
		s.mu.Unlock()
		o.Check()
		return read == int(last)*1000
	})
	o.Check()
	if o.Confirmed() == last {
		t.Errorf("the newest batch was confirmed with nothing written after it")
	}
	st := o.Stats()
	if st.Confirmed != o.Confirmed()*1000 || st.Unconfirmed != int(last-o.Confirmed())*1000 || st.Guarantee == "" {
		t.Errorf("stats %+v after %d batches confirmed", st, o.Confirmed())
	}
	s.mu.Lock()
	read := len(s.lines)
	s.mu.Unlock()
	if read < int(o.Confirmed())*1000 {
		t.Errorf("%d lines read, %d confirmed", read, o.Confirmed()*1000)
	}
}

// TestStalledCollectorHoldsDelivery: a collector that accepts and never
// reads. Nothing is confirmed, and once the unconfirmed window is full,
// Deliver waits (backpressure) until its context ends.
func TestStalledCollectorHoldsDelivery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	o := newlineOutput(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var err2 error
	written := 0
	for i := 0; err2 == nil && i < 1000; i++ {
		_, err2 = o.Deliver(ctx, bigBatch(i*100, 100))
		written++
	}
	if err2 != context.DeadlineExceeded {
		t.Fatalf("Deliver = %v after %d batches, want to wait until the context ends", err2, written)
	}
	if o.Confirmed() != 0 {
		t.Errorf("%d batches confirmed, nothing was read", o.Confirmed())
	}
	if written*100*1000 > 2*maxUnconfirmed {
		t.Errorf("%d batches written before waiting: the window is not bounded", written)
	}
}

// TestUDPCountsFailures: datagrams to a port where nothing listens are
// reported refused by the kernel (ICMP port unreachable) and counted;
// Deliver goes on, and nothing counts as confirmed.
func TestUDPCountsFailures(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close() // nothing listens
	h, _ := syslogd.ParseLoghost("udp://" + addr)
	o, err := New(h, DefaultSettings(h), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	id, err := o.Deliver(context.Background(), batch(1, 100))
	if err != nil || o.Confirmed() != id {
		t.Fatalf("Deliver = %d, %v; confirmed %d", id, err, o.Confirmed())
	}
	st := o.Stats()
	if st.SendFailures == 0 || st.Confirmed != 0 || st.Sent != 100 || st.Guarantee != "none: UDP cannot confirm delivery" || st.LastError == "" {
		t.Errorf("stats %+v: want send failures counted and no confirmation", st)
	}
}

// lineCount is how many lines the collector has read.
func (s *lineServer) lineCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// TestFinishConfirmsTheTail: the collector reads everything and closes
// when the agent does. The kernel's evidence (rule 1) never confirms the
// last batches; Finish does, on the collector's close, and the output
// carries on with a new connection.
func TestFinishConfirmsTheTail(t *testing.T) {
	s := listen(t, "127.0.0.1:0")
	o := newlineOutput(t, s.ln.Addr().String())
	o.idleFinish = time.Hour
	ctx := context.Background()
	id, err := o.Deliver(ctx, batch(1, 10))
	if err != nil {
		t.Fatal(err)
	}
	s.wait(t, 10)
	o.Check()
	if o.Confirmed() != 0 {
		t.Fatal("rule 1 confirmed the last batch with nothing written after it")
	}
	if err := o.Finish(ctx); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if o.Confirmed() != id || o.Unconfirmed() != 0 || !o.Stats().Connected {
		t.Fatalf("after Finish: confirmed %d of %d, stats %+v", o.Confirmed(), id, o.Stats())
	}
	id, err = o.Deliver(ctx, batch(11, 5))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Finish(ctx); err != nil {
		t.Fatalf("second Finish: %v", err)
	}
	// The collector closed after reading everything: all is there, once.
	if n := s.lineCount(); o.Confirmed() != id || n != 15 {
		t.Errorf("confirmed %d of %d; the collector read %d lines, want 15", o.Confirmed(), id, n)
	}
	if st := o.Stats(); st.Reconnects != 1 || st.Confirmed != 15 {
		t.Errorf("stats %+v", st)
	}
}

// silentServer accepts connections and reads everything, but never closes
// one (read is false: reads nothing either), as a stalled collector.
func silentServer(t *testing.T, read bool) (addr string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if read {
				go func() {
					buf := make([]byte, 4096)
					for {
						if _, err := c.Read(buf); err != nil {
							return // at our FIN too, but the connection stays open
						}
					}
				}()
			}
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return len(conns) }
}

// TestFinishWithoutTheCollectorsClose: a collector that reads but never
// closes gives no evidence: Finish gives up at its bound, confirms
// nothing, and the next Deliver writes it all again.
func TestFinishWithoutTheCollectorsClose(t *testing.T) {
	addr, accepted := silentServer(t, true)
	o := newlineOutput(t, addr)
	ctx := context.Background()
	if _, err := o.Deliver(ctx, batch(1, 10)); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := o.Finish(fctx)
	if err == nil || o.Confirmed() != 0 || o.Unconfirmed() != 10 {
		t.Fatalf("Finish = %v; confirmed %d, %d unconfirmed: want nothing confirmed", err, o.Confirmed(), o.Unconfirmed())
	}
	// Not a measure of speed: only that Finish ends at its bound rather
	// than waiting for a close that never comes (generous for a loaded
	// machine).
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Finish took %v, bound 300 ms", d)
	}
	if _, err := o.Deliver(ctx, batch(11, 1)); err != nil {
		t.Fatal(err)
	}
	if o.Unconfirmed() != 11 {
		t.Errorf("%d unconfirmed, want 11", o.Unconfirmed())
	}
	if !peertest.Until(5*time.Second, func() bool { return accepted() == 2 }) {
		t.Fatalf("%d connections: want the batch written again on a second one", accepted())
	}
}

// idleChecks calls Check as the idle pipeline does until done holds, and
// returns the longest call: Check must not wait for the collector.
func idleChecks(t *testing.T, o *Output, what string, done func() bool) time.Duration {
	t.Helper()
	var longest time.Duration
	if !peertest.Until(20*time.Second, func() bool {
		if done() {
			return true
		}
		start := time.Now()
		o.Check()
		longest = max(longest, time.Since(start))
		return false
	}) {
		t.Fatalf("%s: not within 20 s; stats %+v", what, o.Stats())
	}
	return longest
}

// TestIdleCloseConfirmsTheTail: with no new batch, Check closes the
// connection after about a second and confirms the tail on the
// collector's close, without blocking; the next batch reconnects.
func TestIdleCloseConfirmsTheTail(t *testing.T) {
	s := listen(t, "127.0.0.1:0")
	o := newlineOutput(t, s.ln.Addr().String())
	ctx := context.Background()
	id, err := o.Deliver(ctx, batch(1, 10))
	if err != nil {
		t.Fatal(err)
	}
	longest := idleChecks(t, o, "the tail confirmed", func() bool { return o.Confirmed() == id })
	if longest > 300*time.Millisecond {
		t.Errorf("a Check took %v: it waited for the collector", longest)
	}
	if st := o.Stats(); st.Unconfirmed != 0 || !st.Connected || st.LastError != "" {
		t.Errorf("stats %+v", st)
	}
	if _, err := o.Deliver(ctx, batch(11, 5)); err != nil {
		t.Fatal(err)
	}
	if got := s.wait(t, 15); len(got) != 15 {
		t.Errorf("%d lines, want 15: the confirmed tail was sent again", len(got))
	}
}

// TestIdleCloseWithAStalledCollector: a collector that reads nothing and
// never closes. Check's idle close gives up at its bound without blocking
// the pipeline, confirms nothing, and backs off before writing again.
func TestIdleCloseWithAStalledCollector(t *testing.T) {
	addr, accepted := silentServer(t, false)
	o := newlineOutput(t, addr)
	o.settings.RetryMax = time.Hour // the back-off's first step is 1 s
	if _, err := o.Deliver(context.Background(), batch(1, 10)); err != nil {
		t.Fatal(err)
	}
	longest := idleChecks(t, o, "the idle close given up", func() bool { return o.Stats().LastError != "" })
	if longest > 300*time.Millisecond {
		t.Errorf("a Check took %v: it waited for the collector", longest)
	}
	if o.Confirmed() != 0 || o.Unconfirmed() != 10 || o.Stats().Connected {
		t.Errorf("confirmed %d, stats %+v: want nothing confirmed", o.Confirmed(), o.Stats())
	}
	// Backing off: no new connection at once.
	o.Check()
	if st := o.Stats(); st.Reconnects != 0 || accepted() != 1 {
		t.Errorf("stats %+v right after the failed close: want no new connection yet (back-off)", st)
	}
}

// TestRecordIDs: the identity is stable (the same record, the same ID,
// cached or not), and differs with each part of the source and number.
func TestRecordIDs(t *testing.T) {
	base := syslogd.Record{Hostname: "esx01", Source: "/var/log/a.log", SourceID: "1:2:abc", Seq: 7}
	ids := NewRecordIDs("i1\x00logs")
	seen := map[string]string{}
	for _, r := range []syslogd.Record{
		base,
		{Hostname: "esx02", Source: base.Source, SourceID: base.SourceID, Seq: 7},
		{Hostname: base.Hostname, Source: "/var/log/b.log", SourceID: base.SourceID, Seq: 7},
		{Hostname: base.Hostname, Source: base.Source, SourceID: "1:3:abc", Seq: 7},
		{Hostname: base.Hostname, Source: base.Source, SourceID: base.SourceID, Seq: 8},
		{Hostname: base.Hostname, Source: base.Source, SourceID: base.SourceID, Seq: 7, Part: 2},
		// Fields run together must not collide: the separator keeps them apart.
		{Hostname: "esx01/var", Source: "/log/a.log", SourceID: base.SourceID, Seq: 7},
	} {
		id := ids.ID(&r)
		if again := RecordID("i1\x00logs", &r); again != id {
			t.Errorf("%+v: cached %s, uncached %s", r, id, again)
		}
		if prev, ok := seen[id]; ok {
			t.Errorf("%+v and %s share the ID %s", r, prev, id)
		}
		seen[id] = fmt.Sprintf("%+v", r)
	}
	if id := ids.ID(&base); id != RecordID("i1\x00logs", &base) || !strings.HasSuffix(id, "-7") || len(id) != 32+2 {
		t.Errorf("ID %q: want 32 hex digits, '-', the number", id)
	}
	for _, scope := range []string{"i2\x00logs", "i1\x00other", ""} {
		if RecordID(scope, &base) == ids.ID(&base) {
			t.Errorf("scope %q: the same ID as scope %q", scope, "i1\x00logs")
		}
	}
}
