package jetstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/output"
)

// TestSubjectsShareStream: two loghosts of one agent, subjects x.a and
// x.b, publish the same records into one stream: each stores all of
// them, as their identities differ by subject (the stream would drop the
// second's as duplicates otherwise).
func TestSubjectsShareStream(t *testing.T) {
	srv := startServer(t, peertest.NatsServerOptions{},
		&jetstream.StreamConfig{Name: "X", Subjects: []string{"x.>"}, Storage: jetstream.FileStorage})
	recs := records(300)
	ids := map[string]map[string]bool{}
	for _, subject := range []string{"x.a", "x.b"} {
		h, err := syslogd.ParseLoghost(fmt.Sprintf("nats://127.0.0.1:%d/%s", srv.Port(), subject))
		if err != nil {
			t.Fatal(err)
		}
		o := newOutput(t, h, testSettings(h))
		waitConfirmed(t, o, deliver(t, o, recs, 100, nil), time.Minute)
		ids[subject] = map[string]bool{}
		for i := range recs {
			ids[subject][output.RecordID(testScope(h), &recs[i])] = true
		}
	}
	stored := map[string]int{}
	for _, m := range srv.Messages(t, "X") {
		if !ids[m.Subject][m.Header.Get(jetstream.MsgIDHeader)] {
			t.Errorf("message %d on %s: identity %q not of its subject's records", m.Seq, m.Subject, m.Header.Get(jetstream.MsgIDHeader))
		}
		stored[m.Subject]++
	}
	if stored["x.a"] != len(recs) || stored["x.b"] != len(recs) {
		t.Errorf("stored %v, want %d records on each subject", stored, len(recs))
	}
}

// bigRecords makes n records of a line of size bytes each (one string
// shared: only what the output makes of them takes memory).
func bigRecords(n, size int) []syslogd.Record {
	recs := records(n)
	line := strings.Repeat("x", size)
	for i := range recs {
		recs[i].Message = line
	}
	return recs
}

// TestMemoryBound: with the server unreachable and lines of 8 KiB,
// Deliver stops taking batches once about maxUnackedBytes are
// unacknowledged (long before maxUnacked records), and the heap stays
// bounded.
func TestMemoryBound(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port nobody listens on
	h, err := syslogd.ParseLoghost("nats://" + addr + "/" + testSubject)
	if err != nil {
		t.Fatal(err)
	}
	o := newOutput(t, h, testSettings(h))
	const size, batch = 8 << 10, 256
	recs := bigRecords(batch, size)
	taken := 0
	for range 64 { // 128 MiB offered
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := o.Deliver(ctx, recs)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		taken++
	}
	held := o.Unconfirmed() * size
	t.Logf("%d batches of %d records of %d bytes taken: %d unacknowledged, %d MiB of lines; stats %+v",
		taken, batch, size, o.Unconfirmed(), held>>20, o.Stats())
	if held > maxUnackedBytes+batch*size || held < maxUnackedBytes-2*batch*size {
		t.Errorf("%d bytes of lines unacknowledged; want about %d (within a batch of %d)", held, maxUnackedBytes, batch*size)
	}
	if o.Confirmed() != 0 {
		t.Errorf("confirmed %d without a server", o.Confirmed())
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use: %d MiB", ms.HeapInuse>>20)
	if ms.HeapInuse > 100<<20 {
		t.Errorf("heap in use %d MiB with %d MiB of lines unacknowledged", ms.HeapInuse>>20, held>>20)
	}
}

// TestRefusedForSize: a record larger than the stream's max_msg_size is
// refused every time: kept and published again (never dropped), its
// batch never confirmed, and the outage stays shown, said once, while
// other records are stored; once the limit is raised it is stored.
func TestRefusedForSize(t *testing.T) {
	cfg := testStreamConfig()
	cfg.MaxMsgSize = 2000
	srv := startServer(t, peertest.NatsServerOptions{}, cfg)
	h := loghost(t, srv)
	var logBuf peertest.Buffer
	o, err := New(h, testSettings(h), slog.New(slog.NewTextHandler(&logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	recs := records(300)
	recs[150].Message = strings.Repeat("y", 4000)
	deliver(t, o, recs[:200], 100, nil) // batch 2 holds the large record
	peertest.Eventually(t, 30*time.Second, "the refusal in Stats", func() bool {
		o.Check()
		return strings.Contains(o.Stats().LastError, "bytes refused")
	})
	// Records after it are stored, while it is refused again and again.
	last := deliver(t, o, recs[200:], 100, nil)
	retried := o.Stats().Retried
	peertest.Eventually(t, 30*time.Second, "the others stored, the large one refused thrice more", func() bool {
		o.Check()
		st := o.Stats()
		return st.Confirmed == uint64(len(recs)-1) && st.Retried >= retried+3
	})
	st := o.Stats()
	t.Logf("stats %+v", st)
	if !strings.Contains(st.LastError, "record of ") || !strings.Contains(st.LastError, "raise it") ||
		!strings.Contains(st.LastError, "size limit") {
		t.Errorf("last error %q: want the record's size and what to do", st.LastError)
	}
	if o.Confirmed() >= 2 || st.Unconfirmed != 1 || st.Connected != true {
		t.Errorf("confirmed batch %d (want 1), stats %+v", o.Confirmed(), st)
	}
	if n := strings.Count(logBuf.String(), "\n"); n > 2 || strings.Contains(logBuf.String(), "acknowledges again") {
		t.Errorf("%d lines logged, want the outage's warning once:\n%s", n, logBuf.String())
	}

	cfg.MaxMsgSize = -1
	srv.UpdateStream(t, *cfg)
	waitConfirmed(t, o, last, time.Minute)
	verify(t, testScope(h), recs, srv.Messages(t, testStream), false)
	if st := o.Stats(); st.LastError != "" || st.Unconfirmed != 0 {
		t.Errorf("after the limit was raised: %+v", st)
	}
	if n := strings.Count(logBuf.String(), "acknowledges again"); n != 1 {
		t.Errorf("the outage's end logged %d times:\n%s", n, logBuf.String())
	}
}

// TestURLsWithZone: an IPv6 link-local server with its zone gives URLs
// nats.go (net/url) parses, naming the zone.
func TestURLsWithZone(t *testing.T) {
	h, err := syslogd.ParseLoghost("nats://[fe80::1%25lo]:4222,[fe80::2%25eth0],127.0.0.1:4223/x")
	if err != nil {
		t.Fatal(err)
	}
	got := URLs(h)
	var hosts []string
	for _, s := range strings.Split(got, ",") {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("URL %q of %s: %v", s, got, err)
		}
		hosts = append(hosts, u.Host)
		if u.Scheme != "nats" {
			t.Errorf("URL %q: scheme %q", s, u.Scheme)
		}
	}
	if want := "[fe80::1%lo]:4222 [fe80::2%eth0]:4222 127.0.0.1:4223"; strings.Join(hosts, " ") != want {
		t.Errorf("URLs %q: hosts %q, want %q", got, hosts, want)
	}
}

// TestSecretFileKinds: a FIFO or an oversized file named as a credentials,
// seed or password file is refused at once, the error naming the loghost
// and the file.
func TestSecretFileKinds(t *testing.T) {
	h, err := syslogd.ParseLoghost("nats://127.0.0.1:4222/logs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, output.MaxSecretFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{fifo, big} {
		for what, set := range map[string]func(*output.Settings){
			"credentials": func(s *output.Settings) { s.CredentialsFile = file },
			"seed":        func(s *output.Settings) { s.NKeyFile = file },
			"password":    func(s *output.Settings) { s.Username, s.PasswordFile = "u", file },
		} {
			s := testSettings(h)
			set(&s)
			done := make(chan error, 1)
			go func() {
				_, err := New(h, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), h.String()) {
					t.Errorf("%s file %s: err %v, want one naming the loghost and the file", what, filepath.Base(file), err)
				} else {
					t.Logf("%s file %s: %v", what, filepath.Base(file), err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s file %s: New still reading after 10 s", what, filepath.Base(file))
			}
		}
	}
}
