package jetstream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/format"
	"hostagent/syslogd/output"
)

const (
	testStream   = "LOGS"
	testSubject  = "logs.esx"
	testInstance = "test-instance"
)

// testScope is the scope of the records' identities of h's output with
// testSettings.
func testScope(h syslogd.Loghost) string { return output.Scope(testInstance, h) }

// startServer runs a nats-server, with stream if not nil.
func startServer(t testing.TB, opts peertest.NatsServerOptions, stream *jetstream.StreamConfig) *peertest.NatsServer {
	t.Helper()
	s := peertest.StartNatsServer(t, opts)
	if stream != nil {
		s.AddStream(t, *stream)
	}
	return s
}

func testStreamConfig() *jetstream.StreamConfig {
	return &jetstream.StreamConfig{Name: testStream, Subjects: []string{"logs.>"}, Storage: jetstream.FileStorage}
}

func loghost(t testing.TB, s *peertest.NatsServer) syslogd.Loghost {
	t.Helper()
	h, err := syslogd.ParseLoghost(fmt.Sprintf("nats://127.0.0.1:%d/%s", s.Port(), testSubject))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testSettings(h syslogd.Loghost) output.Settings {
	s := output.DefaultSettings(h)
	s.RetryMax = time.Second
	s.Instance = testInstance
	return s
}

func newOutput(t testing.TB, h syslogd.Loghost, s output.Settings) *Output {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	o, err := New(h, s, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// records makes n records of a few hosts and files, numbered per source
// as the pipeline numbers them, from the from-th on (records(a+b)[a:] ==
// recordsFrom(a, b)).
func records(n int) []syslogd.Record { return recordsFrom(0, n) }

func recordsFrom(from, n int) []syslogd.Record {
	out := make([]syslogd.Record, n)
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for k := range out {
		i := from + k
		// 15 sources, each numbered 1, 2, ... in the order of i.
		out[k] = syslogd.Record{Time: t0.Add(time.Duration(i) * time.Millisecond), Hostname: fmt.Sprintf("esx-%d", i%5),
			AppName: "app", Facility: 1, Severity: 6, Message: fmt.Sprintf("line %d of the test", i),
			Source: fmt.Sprintf("/var/log/vmware/app%d.log", i%3), SourceID: "2049:" + strconv.Itoa(i%3),
			Seq: uint64(i/15 + 1), Part: i % 7 / 6}
	}
	return out
}

// deliver hands recs to o in batches of size, as the pipeline does
// (Check between them), calling between after each, and returns the last
// batch's id.
func deliver(t testing.TB, o *Output, recs []syslogd.Record, size int, between func(batch int)) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var last uint64
	for i := 0; i < len(recs); i += size {
		id, err := o.Deliver(ctx, recs[i:min(i+size, len(recs))])
		if err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if last != 0 && id != last+1 {
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

// verify checks that every record of sent is stored exactly once, counted
// both by Nats-Msg-Id and by content, whole and with its headers, and
// (when ordered) in the order sent.
func verify(t testing.TB, scope string, sent []syslogd.Record, got []peertest.NatsMessage, ordered bool) {
	t.Helper()
	byID := make(map[string]int, len(sent))
	byData := make(map[string]int, len(sent))
	for i := range sent {
		byID[output.RecordID(scope, &sent[i])] = i
		byData[string(format.Append(nil, &sent[i], format.RFC5424, format.None, 0))] = i
	}
	seenID := make(map[string]int, len(sent))
	seenData := make(map[string]int, len(sent))
	last := -1
	dupIDs, dupData, foreign, disorder := 0, 0, 0, 0
	for _, g := range got {
		if g.Subject != testSubject {
			t.Errorf("message %d: subject %q", g.Seq, g.Subject)
		}
		if seenData[string(g.Data)]++; seenData[string(g.Data)] > 1 {
			dupData++
		}
		id := g.Header.Get(jetstream.MsgIDHeader)
		i, ok := byID[id]
		if !ok {
			foreign++
			continue
		}
		if seenID[id]++; seenID[id] > 1 {
			dupIDs++
			continue
		}
		if j, ok := byData[string(g.Data)]; !ok || j != i {
			t.Errorf("message %d (record %d): data %q is not the record's", g.Seq, i, g.Data)
		}
		r := &sent[i]
		want := map[string]string{"hostname": r.Hostname, "source": r.Source, "source_id": r.SourceID,
			"sequenceId": strconv.FormatUint(r.Seq, 10), "part": ""}
		if r.Part > 0 {
			want["part"] = strconv.Itoa(r.Part)
		}
		for k, v := range want {
			if got := g.Header.Get(k); got != v {
				t.Errorf("message %d (record %d): header %s = %q, want %q", g.Seq, i, k, got, v)
			}
		}
		if i < last {
			disorder++
		}
		last = i
	}
	lost := 0
	var missing []int
	for i := range sent {
		if seenID[output.RecordID(scope, &sent[i])] == 0 {
			lost++
			if len(missing) < 10 {
				missing = append(missing, i)
			}
		}
	}
	if lost > 0 || dupIDs > 0 || dupData > 0 || foreign > 0 {
		t.Errorf("%d records sent, %d stored: %d lost (first: %v), %d duplicates by Nats-Msg-Id, %d by content, %d not sent by the test",
			len(sent), len(got), lost, missing, dupIDs, dupData, foreign)
	}
	if ordered && disorder > 0 {
		t.Errorf("%d records stored before an earlier one", disorder)
	}
}
