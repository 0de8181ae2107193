package logwatch

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/format"
	"hostagent/syslogd/output"
)

// logged keeps every record a logger handles, with its attributes as
// strings, for tests that wait for a line while the logger still writes.
type logged struct {
	mu   sync.Mutex
	recs []loggedRecord
}

type loggedRecord struct {
	level  slog.Level
	msg    string
	fields map[string]string
}

func (l *logged) Enabled(context.Context, slog.Level) bool { return true }
func (l *logged) Handle(_ context.Context, r slog.Record) error {
	fields := map[string]string{}
	r.Attrs(func(a slog.Attr) bool { fields[a.Key] = a.Value.String(); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, loggedRecord{level: r.Level, msg: r.Message, fields: fields})
	return nil
}
func (l *logged) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logged) WithGroup(string) slog.Handler      { return l }

// find returns the records logged with msg whose fields include want.
func (l *logged) find(msg string, want map[string]string) []loggedRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loggedRecord
next:
	for _, r := range l.recs {
		if r.msg != msg {
			continue
		}
		for k, v := range want {
			if r.fields[k] != v {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

func (l *logged) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := ""
	for _, r := range l.recs {
		s += fmt.Sprintf("%v %q %v\n", r.level, r.msg, r.fields)
	}
	return s
}

// waitLogged waits until a record with msg and want is logged, and fails
// the test with everything logged when none is.
func waitLogged(t *testing.T, l *logged, msg string, want map[string]string) {
	t.Helper()
	if !peertest.Until(60*time.Second, func() bool { return len(l.find(msg, want)) > 0 }) {
		t.Fatalf("no %q with %v logged; the log:\n%s", msg, want, l)
	}
}

// publish sends one record to subject as a nats:// loghost does (its RFC
// 5424 text, the same headers), and returns once the stream acknowledged
// it. It tries again while the stream is not there yet or the server is
// away; Nats-Msg-Id makes a repeat of an already stored one a duplicate
// the stream drops.
func publish(t *testing.T, srv *peertest.NatsServer, subject string, r syslogd.Record) {
	t.Helper()
	h := nats.Header{}
	h.Set(jetstream.MsgIDHeader, output.RecordID("demo\x00"+subject, &r))
	h.Set("hostname", r.Hostname)
	h.Set("source", r.Source)
	h.Set("sequenceId", strconv.FormatUint(r.Seq, 10))
	msg := &nats.Msg{Subject: subject, Header: h, Data: format.Append(nil, &r, format.RFC5424, format.None, 0)}
	var last error
	ok := peertest.Until(60*time.Second, func() bool {
		nc, err := nats.Connect(srv.URL(), nats.NoReconnect(), nats.Timeout(2*time.Second))
		if err != nil {
			last = err
			return false
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			last = err
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, last = js.PublishMsg(ctx, msg)
		return last == nil
	})
	if !ok {
		t.Fatalf("publish to %s not acknowledged: %v", subject, last)
	}
}

func demoRecord(seq uint64, text string) syslogd.Record {
	return syslogd.Record{Time: time.Now(), Hostname: "esx01", AppName: "vmkernel",
		Facility: syslogd.Facility(16), Severity: syslogd.Severity(6), Message: text,
		Source: "/var/log/vmware/vmkernel.log", Seq: seq}
}

// TestStreamLogsEachStoredRecord publishes as a nats:// loghost does and
// reads the stored record's fields in the log; then kills nats-server,
// starts it again on the same store, and sees a record published after
// the restart logged too, and the first not logged again.
func TestStreamLogsEachStoredRecord(t *testing.T) {
	srv := peertest.StartNatsServer(t, peertest.NatsServerOptions{})
	l := &logged{}
	s, err := StartStream(srv.URL(), "hostagent.test", slog.New(l))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	publish(t, srv, "hostagent.test", demoRecord(7, "line one"))
	first := map[string]string{"subject": "hostagent.test", "seq": "1", "hostname": "esx01", "sequenceId": "7",
		"app": "vmkernel", "priority": "local0.info", "msg": "line one"}
	waitLogged(t, l, "stored log record", first)

	srv.Kill(t)
	srv.Start(t)
	publish(t, srv, "hostagent.test", demoRecord(8, "after the restart"))
	waitLogged(t, l, "stored log record", map[string]string{"seq": "2", "sequenceId": "8", "msg": "after the restart"})
	if n := len(l.find("stored log record", nil)); n != 2 {
		t.Errorf("%d records logged, want 2 (each once); the log:\n%s", n, l)
	}
}

// TestStreamWaitsForTheServer starts consuming while nats-server is
// down, as make run may start the daemon before the server listens: the
// stream is created, and its records logged, once the server is there.
// Close then returns while the server is away again.
func TestStreamWaitsForTheServer(t *testing.T) {
	srv := peertest.StartNatsServer(t, peertest.NatsServerOptions{})
	srv.Kill(t)
	l := &logged{}
	s, err := StartStream(srv.URL(), "hostagent.later", slog.New(l))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	waitLogged(t, l, "demo stream: not consuming; trying again", nil)

	srv.Start(t)
	publish(t, srv, "hostagent.later", demoRecord(1, "once the server is up"))
	waitLogged(t, l, "stored log record", map[string]string{"seq": "1", "msg": "once the server is up"})

	srv.Kill(t)
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v while the server was away", d)
	}
}

// TestStreamShowsWhatItCannotDecode: a record that is not RFC 5424 (a
// loghost set to rfc3164, another publisher) is logged with its text and
// the parser's complaint, not dropped.
func TestStreamShowsWhatItCannotDecode(t *testing.T) {
	srv := peertest.StartNatsServer(t, peertest.NatsServerOptions{})
	l := &logged{}
	s, err := StartStream(srv.URL(), "hostagent.raw", slog.New(l))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var last error
	ok := peertest.Until(60*time.Second, func() bool {
		nc, err := nats.Connect(srv.URL(), nats.NoReconnect())
		if err != nil {
			last = err
			return false
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, last = js.Publish(ctx, "hostagent.raw", []byte("not a syslog message"), jetstream.WithMsgID("raw-1"))
		return last == nil
	})
	if !ok {
		t.Fatalf("publish not acknowledged: %v", last)
	}
	waitLogged(t, l, "stored log record", map[string]string{"seq": "1", "hostname": "-", "data": "not a syslog message"})
	if r := l.find("stored log record", nil); len(r) != 1 || r[0].fields["decode_err"] == "" {
		t.Errorf("logged %v, want one record with decode_err", r)
	}
}

func TestStartStreamRefusesNoSubject(t *testing.T) {
	if _, err := StartStream("nats://127.0.0.1:1", "", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("started without a subject")
	}
}
