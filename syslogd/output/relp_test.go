package output

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
)

func TestParseFrame(t *testing.T) {
	for _, c := range []struct {
		in      string
		txnr    uint32
		command string
		data    string
		n       int
	}{
		{"1 rsp 6 200 OK\n", 1, "rsp", "200 OK", 15},
		{"0 serverclose 0\n", 0, "serverclose", "", 16},
		{"999999999 rsp 3 200\nmore", 999999999, "rsp", "200", 20},
		{"12 rsp 10 200 OK\nx=y\n", 12, "rsp", "200 OK\nx=y", 21}, // LF inside DATA
		{"5 RSP 0\n", 5, "RSP", "", 8},
	} {
		f, n, err := parseFrame([]byte(c.in))
		if err != nil || f.txnr != c.txnr || f.command != c.command || string(f.data) != c.data || n != c.n {
			t.Errorf("parseFrame(%q) = %d %q %q, %d, %v", c.in, f.txnr, f.command, f.data, n, err)
		}
	}
	for _, in := range []string{"", "1", "1 ", "1 rsp", "1 rsp ", "1 rsp 6", "1 rsp 6 200 O", "1 rsp 6 200 OK", "123456789"} {
		if _, _, err := parseFrame([]byte(in)); !errors.Is(err, errIncomplete) {
			t.Errorf("parseFrame(%q) = %v, want incomplete", in, err)
		}
	}
	for in, says := range map[string]string{
		"x rsp 0\n":                    "TXNR: a digit expected",
		"1234567890 rsp 0\n":           "TXNR longer than 9 digits",
		"1\trsp 0\n":                   "space expected after TXNR",
		"1 r5p 0\n":                    "space expected after the command",
		"1  rsp 0\n":                   "a command expected",
		"1 " + strings.Repeat("a", 33): "command longer than 32 letters",
		"1 rsp x\n":                    "DATALEN: a digit expected",
		"1 rsp 65537 ":                 "DATALEN 65537 over",
		"1 rsp 999999999 ":             "DATALEN 999999999 over",
		"1 rsp 1234567890":             "DATALEN longer than 9 digits",
		"1 rsp 2 ab\r\n":               "does not end with LF",
		"1 rsp 0 \n":                   "does not end with LF",
		"1 rsp 2\nab\n":                "space expected after DATALEN",
		"-1 rsp 0\n":                   "TXNR: a digit expected",
	} {
		_, _, err := parseFrame([]byte(in))
		if err == nil || errors.Is(err, errIncomplete) || !strings.Contains(err.Error(), says) {
			t.Errorf("parseFrame(%q) = %v, want an error saying %s", in, err, says)
		}
	}
}

func TestAppendFrame(t *testing.T) {
	if got := string(appendFrame(nil, 7, "syslog", []byte("<13>1 - - - - - - hi"))); got != "7 syslog 20 <13>1 - - - - - - hi\n" {
		t.Errorf("got %q", got)
	}
	if got := string(appendFrame(nil, 3, "close", nil)); got != "3 close 0\n" {
		t.Errorf("got %q", got)
	}
	if nextTxnr(999999999) != 1 || nextTxnr(1) != 2 {
		t.Error("TXNR does not wrap at 999999999 to 1")
	}
}

// FuzzParseFrame: whatever a server sends, the parser neither panics nor
// returns more than it was given, and a frame it accepts, written back by
// appendFrame, parses the same.
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{"1 rsp 6 200 OK\n", "0 serverclose 0\n", "2 rsp 10 200 OK\nx=y\n", "1 rsp 999999999 ",
		"1 rsp 65536 ", "12345 rsp 3 500\n", "1 rsp 2 a", "\n\n\n", "1 rsp 0\n2 rsp 0\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := parseFrame(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with length %d", err, n)
			}
			return
		}
		if n <= 0 || n > len(b) || len(fr.data) > relpMaxData || fr.txnr > relpMaxTxnr || len(fr.command) == 0 || len(fr.command) > 32 {
			t.Fatalf("parseFrame(%q) = %+v, %d", b, fr, n)
		}
		// Written back (without leading zeros), it parses the same.
		again := appendFrame(nil, fr.txnr, fr.command, fr.data)
		fr2, n2, err := parseFrame(again)
		if err != nil || n2 != len(again) || fr2.txnr != fr.txnr || fr2.command != fr.command || string(fr2.data) != string(fr.data) {
			t.Fatalf("parseFrame(%q) = %+v; written back as %q it parses as %+v, %v", b[:n], fr, again, fr2, err)
		}
	})
}

// hostileServer answers a RELP open properly, then sends what answer
// returns for each syslog frame it reads.
func hostileServer(t *testing.T, answer func(txnr int) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				rd := bufio.NewReader(c)
				for {
					var txnr, n int
					var cmd string
					if _, err := fmt.Fscanf(rd, "%d %s %d", &txnr, &cmd, &n); err != nil {
						return
					}
					if _, err := rd.Discard(n + 1 + min(n, 1)); err != nil {
						return
					}
					switch cmd {
					case "open":
						fmt.Fprintf(c, "%d rsp 22 200 OK\ncommands=syslog\n", txnr)
					case "syslog":
						if _, err := c.Write([]byte(answer(txnr))); err != nil {
							return
						}
					case "close": // as librelp: an empty answer, then the end
						fmt.Fprintf(c, "%d rsp 0\n", txnr)
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestHostileRELPServer: answers that are garbage, a huge DATALEN, a wrong
// TXNR or a refusal never confirm anything, never crash the client, and
// make it reconnect and send again.
func TestHostileRELPServer(t *testing.T) {
	for name, answer := range map[string]func(int) string{
		"huge datalen": func(txnr int) string { return fmt.Sprintf("%d rsp 999999999 ", txnr) },
		"garbage":      func(int) string { return "\x00\xff garbage\n" },
		"wrong txnr":   func(txnr int) string { return fmt.Sprintf("%d rsp 6 200 OK\n", txnr+1) },
		"refused":      func(txnr int) string { return fmt.Sprintf("%d rsp 18 500 queue is full\n", txnr) },
		"other":        func(txnr int) string { return fmt.Sprintf("%d syslog 6 200 OK\n", txnr) },
		"serverclose":  func(int) string { return "0 serverclose 0\n" },
	} {
		t.Run(name, func(t *testing.T) {
			addr := hostileServer(t, answer)
			h, _ := syslogd.ParseLoghost("relp://" + addr)
			s := DefaultSettings(h)
			s.RetryMax = 20 * time.Millisecond
			o, err := New(h, s, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			// More messages than the window, so Deliver reads answers.
			go func() { _, err := o.Deliver(ctx, batch(1, relpWindow+200)); done <- err }()
			// It keeps retrying: wait until it has reconnected and sent
			// again, however long a loaded machine takes, then end it.
			peertest.Eventually(t, 30*time.Second, "a reconnection and a retry", func() bool {
				st := o.Stats()
				return st.Reconnects > 0 && st.Retried > 0
			})
			cancel()
			if err := <-done; err != context.Canceled {
				t.Errorf("Deliver = %v, want to keep retrying until the context ends", err)
			}
			// LastError is cleared by each new session, which may be the last
			// thing before the context ends.
			if st := o.Stats(); o.Confirmed() != 0 || st.Confirmed != 0 {
				t.Errorf("stats %+v: want nothing confirmed", st)
			}
		})
	}
}

// TestRELPConfirmsInOrder: a server that answers "200 OK" confirms each
// batch once all of its messages were answered, across several Delivers.
func TestRELPConfirmsInOrder(t *testing.T) {
	addr := hostileServer(t, func(txnr int) string { return fmt.Sprintf("%d rsp 6 200 OK\n", txnr) })
	h, _ := syslogd.ParseLoghost("relp://" + addr)
	o, err := New(h, DefaultSettings(h), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	for i := range 5 {
		if _, err := o.Deliver(ctx, batch(i*300, 300)); err != nil {
			t.Fatal(err)
		}
	}
	peertest.Eventually(t, 5*time.Second, "5 batches confirmed", func() bool { o.Check(); return o.Confirmed() >= 5 })
	if st := o.Stats(); st.Confirmed != 1500 || st.Unconfirmed != 0 || st.Reconnects != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSyslogFrame: a message is framed in place whatever the digits of its
// length, as guessed from the one before, and parses back.
func TestSyslogFrame(t *testing.T) {
	h, _ := syslogd.ParseLoghost("relp://127.0.0.1")
	o, err := New(h, DefaultSettings(h), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	var want []string
	for i, n := range []int{1, 100, 5, 5000, 5000, 10, 999} { // digits go up and down
		r := batch(0, 1)[0]
		r.Message = strings.Repeat("m", n)
		start := len(b)
		var data int
		b, data = o.appendSyslogFrame(b, uint32(i+2), &r)
		msg := string(b[data : len(b)-1])
		if !strings.HasSuffix(msg, r.Message) {
			t.Fatalf("frame %d: DATA %q does not end with the message", i, msg)
		}
		want = append(want, msg)
		if got := string(b[start:]); got != string(appendFrame(nil, uint32(i+2), "syslog", []byte(msg))) {
			t.Errorf("frame %d: %q", i, got)
		}
	}
	for i, w := range want {
		f, n, err := parseFrame(b)
		if err != nil || f.command != "syslog" || f.txnr != uint32(i+2) || string(f.data) != w {
			t.Fatalf("frame %d parses as %+v, %v", i, f, err)
		}
		b = b[n:]
	}
}
