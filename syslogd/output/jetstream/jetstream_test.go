package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/output"
)

// TestDeliversOnceInOrder: 20,000 records in several batches are stored
// once each, in order, with their headers; the counters agree; Finish has
// nothing left to wait for.
func TestDeliversOnceInOrder(t *testing.T) {
	srv := startServer(t, peertest.NatsServerOptions{}, testStreamConfig())
	h := loghost(t, srv)
	o := newOutput(t, h, testSettings(h))
	recs := records(20000)
	last := deliver(t, o, recs, 4096, nil)
	if last != 5 {
		t.Fatalf("last batch id %d, want 5", last)
	}
	waitConfirmed(t, o, last, time.Minute)
	if err := o.Finish(context.Background()); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	verify(t, testScope(h), recs, srv.Messages(t, testStream), true)
	st := o.Stats()
	if st.Sent != 20000 || st.Confirmed != 20000 || st.Unconfirmed != 0 || o.Unconfirmed() != 0 || st.Retried != 0 ||
		st.Failed != 0 || !st.Connected || st.AckLatency <= 0 || st.LastError != "" || st.Loghost != h.String() ||
		!strings.Contains(st.Guarantee, "JetStream") {
		t.Errorf("stats %+v", st)
	}
}

// TestServerKilled: the server is SIGKILLed twice while records are
// published (some in flight, some published while it is away), and
// started again: every record is stored exactly once.
func TestServerKilled(t *testing.T) {
	srv := startServer(t, peertest.NatsServerOptions{}, testStreamConfig())
	h := loghost(t, srv)
	o := newOutput(t, h, testSettings(h))
	recs := records(20000)
	last := deliver(t, o, recs, 1000, func(batch int) {
		switch batch {
		case 3, 11:
			// Room for the two batches published while the server is away
			// (else Deliver would wait for it, and the test with it)...
			if !peertest.Until(time.Minute, func() bool { o.Check(); return o.Unconfirmed() <= maxUnacked-2000 }) {
				t.Fatalf("no room before the crash: %+v", o.Stats())
			}
			// ... and a crash right after a Deliver: records in flight.
			srv.Kill(t)
		case 5, 13: // what came meanwhile waits in nats.go's buffer or failed
			srv.Start(t)
		}
	})
	waitConfirmed(t, o, last, 2*time.Minute)
	verify(t, testScope(h), recs, srv.Messages(t, testStream), false)
	st := o.Stats()
	if st.Sent != 20000 || st.Confirmed < 20000 || st.Unconfirmed != 0 || st.Reconnects < 2 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("stats after two crashes: %+v", st)
}

// TestSentAgainAfterRestart: a new Output (as after the agent's restart)
// publishes batches the stream already has, and more: the stream keeps one
// of each, and the repeats count as acknowledged.
func TestSentAgainAfterRestart(t *testing.T) {
	srv := startServer(t, peertest.NatsServerOptions{}, testStreamConfig())
	h := loghost(t, srv)
	recs := records(3000)
	first := newOutput(t, h, testSettings(h))
	waitConfirmed(t, first, deliver(t, first, recs[:2000], 500, nil), time.Minute)
	first.Close()

	again := newOutput(t, h, testSettings(h))
	last := deliver(t, again, recs[1000:], 500, nil)
	waitConfirmed(t, again, last, time.Minute)
	verify(t, testScope(h), recs, srv.Messages(t, testStream), true)
	if st := again.Stats(); st.Confirmed != 2000 || st.Unconfirmed != 0 {
		t.Errorf("stats of the second output %+v", st)
	}
}

// TestStreamFull: a stream with its limit reached and discard policy new
// refuses records: nothing is counted acknowledged that is not stored,
// Deliver stops taking batches (backpressure), Stats says why. Once the
// operator raises the limit, everything is stored, once.
func TestStreamFull(t *testing.T) {
	cfg := testStreamConfig()
	cfg.MaxMsgs, cfg.Discard = 100, jetstream.DiscardNew
	srv := startServer(t, peertest.NatsServerOptions{}, cfg)
	h := loghost(t, srv)
	o := newOutput(t, h, testSettings(h))
	o.bound = 1000
	recs := records(1101)
	deliver(t, o, recs[:1000], 250, nil)
	peertest.Eventually(t, 30*time.Second, "the stream full in Stats", func() bool {
		o.Check()
		return strings.Contains(o.Stats().LastError, "stream full")
	})
	// 900 unacknowledged, and 101 more do not fit the bound of 1000:
	// Deliver waits, and gives up when its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if id, err := o.Deliver(ctx, recs[1000:]); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Deliver into a full stream: id %d, err %v; want it to wait until its context ends", id, err)
	}
	st := o.Stats()
	if o.Confirmed() != 0 || st.Confirmed != 100 || st.Unconfirmed != 900 || o.Unconfirmed() != 900 || st.Failed == 0 {
		t.Fatalf("full stream: confirmed batch %d, stats %+v; want batch 0, 100 records confirmed, 900 not", o.Confirmed(), st)
	}
	if n := len(srv.Messages(t, testStream)); n != 100 {
		t.Fatalf("%d messages stored, want the stream's 100", n)
	}

	cfg.MaxMsgs = -1
	srv.UpdateStream(t, *cfg)
	waitConfirmed(t, o, 4, time.Minute)
	last := deliver(t, o, recs[1000:], 250, nil)
	waitConfirmed(t, o, last, time.Minute)
	verify(t, testScope(h), recs, srv.Messages(t, testStream), false)
	if st := o.Stats(); st.Confirmed != 1101 || st.Unconfirmed != 0 || st.LastError != "" || st.Retried == 0 {
		t.Errorf("stats after the limit was raised: %+v", st)
	}
}

// TestNoStream: without a stream for the subject the server has no
// responder; Stats says so, nothing is confirmed, and the records are
// stored once a stream is added.
func TestNoStream(t *testing.T) {
	srv := startServer(t, peertest.NatsServerOptions{}, nil)
	h := loghost(t, srv)
	o := newOutput(t, h, testSettings(h))
	recs := records(50)
	last := deliver(t, o, recs, 20, nil)
	peertest.Eventually(t, 30*time.Second, "no stream in Stats", func() bool {
		o.Check()
		return strings.Contains(o.Stats().LastError, "no stream takes subject "+testSubject)
	})
	if o.Confirmed() != 0 || o.Unconfirmed() != 50 {
		t.Fatalf("without a stream: confirmed %d, unconfirmed %d", o.Confirmed(), o.Unconfirmed())
	}
	if err := o.Finish(context.Background()); err == nil || !strings.Contains(err.Error(), "50 records stay unconfirmed") {
		t.Fatalf("Finish without a stream: %v", err)
	}
	srv.AddStream(t, *testStreamConfig())
	waitConfirmed(t, o, last, time.Minute)
	verify(t, testScope(h), recs, srv.Messages(t, testStream), false)
	if st := o.Stats(); st.Confirmed != 50 || st.LastError != "" {
		t.Errorf("stats %+v", st)
	}
}

// TestTLSAndNKey: a server that requires TLS (the test CA's certificate)
// and an NKey user; the output verifies the server against the CA and
// signs with the user's seed file; a user with a password works too.
// Without credentials the server refuses, and Stats says so.
func TestTLSAndCredentials(t *testing.T) {
	ca := peertest.NewTestCA(t)
	cert, key := ca.Issue(t)
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := user.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	nkeyOpt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, peertest.NatsServerOptions{
		Config: fmt.Sprintf("tls {\n  cert_file: %q\n  key_file: %q\n}\n"+
			"authorization {\n  users: [ { nkey: %q }, { user: \"esx\", password: \"s3cret\" } ]\n}\n", cert, key, pub),
		ClientOptions: []nats.Option{nats.RootCAs(ca.CertFile), nkeyOpt},
	}, testStreamConfig())
	h := loghost(t, srv)
	s := testSettings(h)
	s.TLS, s.CAFile, s.NKeyFile = true, ca.CertFile, seedFile
	o := newOutput(t, h, s)
	recs := records(500)
	waitConfirmed(t, o, deliver(t, o, recs, 100, nil), time.Minute)
	if err := o.Finish(context.Background()); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	verify(t, testScope(h), recs, srv.Messages(t, testStream), true)

	// A user with a password, from a file as an editor leaves it.
	passFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(passFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.NKeyFile, s.Username, s.PasswordFile = "", "esx", passFile
	more := recordsFrom(500, 100)
	withPassword := newOutput(t, h, s)
	waitConfirmed(t, withPassword, deliver(t, withPassword, more, 100, nil), time.Minute)
	verify(t, testScope(h), append(recs, more...), srv.Messages(t, testStream), true)

	s.Username, s.PasswordFile = "", ""
	stranger := newOutput(t, h, s)
	deliver(t, stranger, records(1), 1, nil)
	if !peertest.Until(30*time.Second, func() bool {
		stranger.Check()
		return strings.Contains(strings.ToLower(stranger.Stats().LastError), "authorization")
	}) {
		t.Fatalf("no refusal in Stats: %+v", stranger.Stats())
	}
	if stranger.Confirmed() != 0 || stranger.Stats().Connected {
		t.Errorf("an output without the NKey: %+v", stranger.Stats())
	}
}

// TestNew refuses what cannot work, naming the loghost.
func TestNew(t *testing.T) {
	h, err := syslogd.ParseLoghost("nats://127.0.0.1:4222/logs")
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	for name, mod := range map[string]func(*syslogd.Loghost, *output.Settings){
		"not nats":            func(h *syslogd.Loghost, _ *output.Settings) { h.Scheme = "tcp" },
		"no subject":          func(h *syslogd.Loghost, _ *output.Settings) { h.Topic = "" },
		"missing credentials": func(_ *syslogd.Loghost, s *output.Settings) { s.CredentialsFile = missing },
		"missing seed":        func(_ *syslogd.Loghost, s *output.Settings) { s.NKeyFile = missing },
		"both":                func(_ *syslogd.Loghost, s *output.Settings) { s.NKeyFile, s.CredentialsFile = missing, missing },
		"missing password":    func(_ *syslogd.Loghost, s *output.Settings) { s.Username, s.PasswordFile = "u", missing },
		"user only":           func(_ *syslogd.Loghost, s *output.Settings) { s.Username = "u" },
		"missing CA":          func(_ *syslogd.Loghost, s *output.Settings) { s.TLS, s.CAFile = true, missing },
	} {
		hh, s := h, testSettings(h)
		mod(&hh, &s)
		if _, err := New(hh, s, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "loghost ") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// TestUnanswered: publications that reach a subscriber that never answers
// (not a stream) are taken back at their deadline and published again,
// and stored once when a stream takes the subject.
func TestUnanswered(t *testing.T) {
	srv := startServer(t, peertest.NatsServerOptions{}, nil)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	swallowed := make(chan *nats.Msg, 1000)
	sub, err := nc.ChanSubscribe(testSubject, swallowed)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	h := loghost(t, srv)
	o := newOutput(t, h, testSettings(h))
	o.timeout = 300 * time.Millisecond
	recs := records(10)
	last := deliver(t, o, recs, 5, nil)
	if !peertest.Until(30*time.Second, func() bool {
		o.Check()
		st := o.Stats()
		return st.Failed >= 20 && st.Retried >= 10 && strings.Contains(st.LastError, "no acknowledgement within 300ms") &&
			len(swallowed) >= 20 // each record published twice at least
	}) {
		t.Fatalf("unanswered publications not taken back and retried: %d seen, stats %+v", len(swallowed), o.Stats())
	}
	if o.Confirmed() != 0 || o.Unconfirmed() != 10 {
		t.Fatalf("unanswered: confirmed %d, unconfirmed %d, %d publications seen", o.Confirmed(), o.Unconfirmed(), len(swallowed))
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	srv.AddStream(t, *testStreamConfig())
	waitConfirmed(t, o, last, time.Minute)
	verify(t, testScope(h), recs, srv.Messages(t, testStream), false)
}
