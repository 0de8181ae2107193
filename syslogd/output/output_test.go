package output

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

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
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		got := append([]string(nil), s.lines...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d lines, want %d: %q", len(got), n, got)
		}
	}
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
	h, err := ParseLoghost("tcp://" + addr)
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
		// kernel's buffer; keep delivering until one has to retry.
		for i := 0; i < 50; i++ {
			if _, err := o.Deliver(ctx, batch(100+i*5, 5)); err != nil {
				done <- err
				return
			}
			if o.Stats().Retried > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		done <- nil
	}()
	time.Sleep(200 * time.Millisecond)
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
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := o.Deliver(ctx, batch(1, 1)); err != context.DeadlineExceeded {
		t.Errorf("Deliver = %v, want the context's error", err)
	}
	if st := o.Stats(); st.Connected || st.LastError == "" || st.Sent != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestUnreadBatchIsWrittenAgain: the collector accepts a batch into its
// socket and dies before reading it. The write had succeeded; the batch,
// not yet confirmed, is written again to the next connection.
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
	if o.Confirmed() >= first {
		t.Fatal("a batch was confirmed as soon as written")
	}
	c := <-accepted
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
	time.Sleep(confirmAfter + 50*time.Millisecond)
	o.Check()
	if o.Confirmed() != 2 {
		t.Errorf("confirmed %d after the connection stayed open, want 2", o.Confirmed())
	}
}
