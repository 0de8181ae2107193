package daemon

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// The listener hands out at most total connections at once (the next waits
// until one closes) and at most perSource from one address (the excess is
// closed unread).
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(inner, 3, 2, slog.New(slog.DiscardHandler))
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func(from string) net.Conn {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	next := func(what string) net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not accepted", what)
			return nil
		}
	}

	a1, a2 := dial("127.0.0.2"), dial("127.0.0.2")
	s1, s2 := next("first"), next("second")
	excess := dial("127.0.0.2") // third from one address: closed unread
	_ = excess.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := excess.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("third connection from one address: read %v, want EOF", err)
	}
	b1 := dial("127.0.0.3")
	s3 := next("other address")
	b2 := dial("127.0.0.3") // over the total: waits for a slot
	select {
	case <-accepted:
		t.Fatal("fourth connection accepted over a total of 3")
	case <-time.After(100 * time.Millisecond): // a negative: nothing to wait on
	}
	s1.Close()
	s4 := next("after one closed")
	for _, c := range []net.Conn{a1, a2, excess, b1, b2, s2, s3, s4} {
		c.Close()
	}
}
