package output_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/format"
	"hostagent/syslogd/output"
)

func deliver(t *testing.T, uri string, tune func(*output.Settings), batch []syslogd.Record) *output.Output {
	t.Helper()
	h, err := syslogd.ParseLoghost(uri)
	if err != nil {
		t.Fatal(err)
	}
	s := output.DefaultSettings(h)
	if tune != nil {
		tune(&s)
	}
	o, err := output.New(h, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := o.Deliver(ctx, batch); err != nil {
		t.Fatalf("deliver to %s: %v (%+v)", uri, err, o.Stats())
	}
	return o
}

// waitConfirmed calls Check, as the pipeline does when idle, until batch
// id is confirmed.
func waitConfirmed(t *testing.T, o *output.Output, id uint64) {
	t.Helper()
	if !peertest.Until(10*time.Second, func() bool { o.Check(); return o.Confirmed() >= id }) {
		t.Fatalf("batch %d not confirmed after 10 s: %+v", id, o.Stats())
	}
}

func records(app string, n int) []syslogd.Record {
	var out []syslogd.Record
	for i := 1; i <= n; i++ {
		out = append(out, syslogd.Record{
			Time:     time.Date(2026, 11, 25, 17, 4, 5, 123000000, time.UTC),
			Hostname: "esx01.example.com", AppName: app, ProcID: "2101", MsgID: "TASK",
			Facility: 16, Severity: 6, Seq: uint64(i),
			Message: fmt.Sprintf("line %d: Task completed, VM \"web 01\" powered on", i),
		})
	}
	return out
}

// TestRsyslogReceivesEveryField sends to a real rsyslogd over TCP (octet
// counting and newline framing), TLS, RELP and UDP, and checks each
// message field by field as rsyslog parsed it.
func TestRsyslogReceivesEveryField(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true, UDP: true, TLS: true, RELP: true})

	relp := deliver(t, "relp://"+r.RELPAddr(), nil, records("vobd", 3))
	deliver(t, "tcp://"+r.TCPAddr(), nil, records("hostd", 3))
	deliver(t, "tcp://"+r.TCPAddr(), func(s *output.Settings) { s.Framing = format.Newline }, records("vpxa", 2))
	deliver(t, "ssl://"+r.TLSAddr(), func(s *output.Settings) { s.CAFile = r.CA().CertFile }, records("fdm", 2))
	deliver(t, "udp://"+r.UDPAddr(), nil, records("vmkernel", 2))
	got := r.WaitMessages(t, 12, 10*time.Second)

	byApp := map[string][]peertest.Message{}
	for _, m := range got {
		byApp[m.AppName] = append(byApp[m.AppName], m)
	}
	for app, listener := range map[string]string{"hostd": "tcp", "vpxa": "tcp", "fdm": "tls", "vobd": "relp"} {
		ms := byApp[app]
		for i, m := range ms {
			want := peertest.Message{
				Listener: listener, Facility: 16, Severity: 6, Timestamp: "2026-11-25T17:04:05.123000Z",
				Hostname: "esx01.example.com", AppName: app, ProcID: "2101", MsgID: "TASK",
				StructuredData: fmt.Sprintf(`[meta sequenceId="%d"]`, i+1),
				Msg:            fmt.Sprintf(`line %d: Task completed, VM "web 01" powered on`, i+1), Protocol: 1,
			}
			m.Raw = ""
			if m != want {
				t.Errorf("%s message %d:\n got %+v\nwant %+v", app, i, m, want)
			}
		}
	}
	if len(byApp["hostd"]) != 3 || len(byApp["vpxa"]) != 2 || len(byApp["fdm"]) != 2 || len(byApp["vobd"]) != 3 {
		t.Errorf("counts: %d hostd, %d vpxa, %d fdm, %d vobd", len(byApp["hostd"]), len(byApp["vpxa"]), len(byApp["fdm"]), len(byApp["vobd"]))
	}
	// Every RELP message was answered 200: the batch is confirmed.
	waitConfirmed(t, relp, 1)
	if st := relp.Stats(); st.Confirmed != 3 || st.Unconfirmed != 0 || st.Guarantee != output.Guarantee("relp") {
		t.Errorf("RELP stats %+v, want 3 confirmed", st)
	}
	// UDP defaults to RFC 3164, as older collectors expect.
	for i, m := range byApp["vmkernel"] {
		if m.Listener != "udp" || m.Protocol != 0 || m.Facility != 16 || m.Severity != 6 || m.Hostname != "esx01.example.com" ||
			m.ProcID != "2101" || strings.TrimSpace(m.Msg) != fmt.Sprintf(`line %d: Task completed, VM "web 01" powered on`, i+1) {
			t.Errorf("udp message %d: %+v", i, m)
		}
	}
}

// TestTLSRefusesAnUntrustedCollector: hostname and chain verification are
// on by default; the error says why.
func TestTLSRefusesAnUntrustedCollector(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TLS: true})
	other := peertest.NewTestCA(t) // not the collector's CA
	h, _ := syslogd.ParseLoghost("ssl://" + r.TLSAddr())
	s := output.DefaultSettings(h)
	s.CAFile = other.CertFile
	o, err := output.New(h, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := o.Deliver(ctx, records("hostd", 1)); done <- err }()
	// It keeps trying; once a handshake has failed, end it.
	if !peertest.Until(30*time.Second, func() bool { return o.Stats().LastError != "" }) {
		t.Fatal("no connection attempt failed")
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("delivered to a collector whose certificate is not trusted")
	}
	if st := o.Stats(); !strings.Contains(st.LastError, "certificate") {
		t.Errorf("last error %q does not say the certificate is the problem", st.LastError)
	}
	if len(r.Messages()) != 0 {
		t.Errorf("the collector received %d messages", len(r.Messages()))
	}
}

// TestCollectorDownThenBack: rsyslogd stops; a batch given meanwhile waits,
// and arrives once it is back. No message of the stream is lost.
func TestCollectorDownThenBack(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
	o := deliver(t, "tcp://"+r.TCPAddr(), func(s *output.Settings) { s.RetryMax = 100 * time.Millisecond }, records("hostd", 5))
	r.WaitMessages(t, 5, 10*time.Second)
	r.Stop(t)
	done := make(chan error, 1)
	go func() { _, err := o.Deliver(context.Background(), records("vpxa", 5)); done <- err }()
	peertest.Eventually(t, 10*time.Second, "the batch retried while the collector is down", func() bool { return o.Stats().Retried > 0 })
	r.Start(t)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := r.WaitMessages(t, 10, 10*time.Second)
	vpxa := 0
	for _, m := range got {
		if m.AppName == "vpxa" {
			vpxa++
		}
	}
	if vpxa != 5 {
		t.Errorf("%d of 5 messages sent while the collector was down arrived", vpxa)
	}
}

// TestLongMessagesAreSplitNotCut: a message longer than the loghost's
// maximum (UDP: 2048 octets) arrives in marked parts, all of it.
func TestLongMessagesAreSplitNotCut(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{UDP: true, TCP: true})
	long := strings.Repeat("0123456789é", 500) // 6000 octets
	rec := records("vmkernel", 1)
	rec[0].Message = long
	deliver(t, "udp://"+r.UDPAddr(), nil, rec)
	deliver(t, "tcp://"+r.TCPAddr(), func(s *output.Settings) { s.MaxMessage = 1000 }, rec)
	for _, listener := range []string{"udp", "tcp"} {
		var joined strings.Builder
		parts := 0
		for _, m := range r.WaitMessages(t, 11, 10*time.Second) {
			if m.Listener != listener {
				continue
			}
			parts++
			if len(m.Raw) > 2048 {
				t.Errorf("%s: a part of %d octets", listener, len(m.Raw))
			}
			joined.WriteString(strings.TrimSuffix(strings.TrimPrefix(m.Msg, " "), output.ContinuedMarker))
		}
		if joined.String() != long {
			t.Errorf("%s: %d parts do not add up to the message (%d of %d octets)", listener, parts, joined.Len(), len(long))
		}
	}
}

// feeder delivers records numbered 1..n ("n=<number>" in MSG) in batches
// of per, from its own goroutine, as the pipeline does: Deliver for each
// batch, Check while idle. Batch id k holds numbers (k-1)*per+1 to k*per.
type feeder struct {
	o      *output.Output
	n, per int
	cancel context.CancelFunc
	done   chan error
}

func startFeeder(t *testing.T, o *output.Output, n, per int) *feeder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &feeder{o: o, n: n, per: per, cancel: cancel, done: make(chan error, 1)}
	pad := strings.Repeat("x", 80)
	go func() {
		for from := 1; from <= n; from += per {
			var b []syslogd.Record
			for i := from; i < from+per && i <= n; i++ {
				b = append(b, syslogd.Record{Time: time.Now(), Hostname: "esx01", AppName: "loss", Facility: 16, Severity: 6,
					Seq: uint64(i), Message: fmt.Sprintf("n=%d %s", i, pad)})
			}
			if _, err := o.Deliver(ctx, b); err != nil {
				f.done <- err
				return
			}
		}
		// Check as the idle pipeline does, every 20 ms: the behaviour
		// under test, not a synchronisation.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				f.done <- nil
				return
			case <-tick.C:
				o.Check()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-f.done
	})
	return f
}

func (f *feeder) batches() uint64 { return uint64((f.n + f.per - 1) / f.per) }

// received counts, per number, the records in rsyslogd's output file.
func received(t *testing.T, r *peertest.Rsyslogd, n int) []int {
	t.Helper()
	data, err := os.ReadFile(r.MessagesFile())
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, n+1)
	for line := range strings.Lines(string(data)) {
		i := strings.Index(line, `"msg":"n=`)
		if i < 0 {
			continue
		}
		line = line[i+len(`"msg":"n=`):]
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			continue // a line cut by a kill
		}
		if v, err := strconv.Atoi(line[:end]); err == nil && v >= 1 && v <= n {
			counts[v]++
		}
	}
	return counts
}

// missing returns how many of the numbers 1..upTo are not in counts, and
// the first of them.
func missing(counts []int, upTo int) (int, int) {
	lost, first := 0, 0
	for v := 1; v <= upTo; v++ {
		if counts[v] == 0 {
			if lost == 0 {
				first = v
			}
			lost++
		}
	}
	return lost, first
}

// checkConfirmedWritten fails the test if a record of a batch the output
// confirmed is not in the output file of a collector that has just been
// killed: the pipeline would never send it again.
func checkConfirmedWritten(t *testing.T, r *peertest.Rsyslogd, f *feeder, when string) {
	t.Helper()
	confirmed := f.o.Confirmed()
	upTo := min(int(confirmed)*f.per, f.n)
	if lost, first := missing(received(t, r, f.n), upTo); lost > 0 {
		t.Errorf("%s: %d of the %d records confirmed (batches 1-%d) are not in the collector's output, from number %d",
			when, lost, upTo, confirmed, first)
	}
	t.Logf("%s: %d batches (%d records) confirmed, all written", when, confirmed, upTo)
}

// waitAllReceived waits until every record arrived at least once, and
// reports duplicates.
func waitAllReceived(t *testing.T, r *peertest.Rsyslogd, f *feeder, timeout time.Duration) {
	t.Helper()
	var counts []int
	var lost, first int
	if !peertest.Until(timeout, func() bool {
		counts = received(t, r, f.n)
		lost, first = missing(counts, f.n)
		return lost == 0
	}) {
		t.Fatalf("%d of %d records lost (first: %d) after %v; stats %+v", lost, f.n, first, timeout, f.o.Stats())
	}
	dups := 0
	for _, c := range counts[1:] {
		dups += c - 1
	}
	t.Logf("all %d records received, %d duplicates; stats %+v", f.n, dups, f.o.Stats())
}

func newOutput(t *testing.T, uri string, tune func(*output.Settings)) *output.Output {
	t.Helper()
	h, err := syslogd.ParseLoghost(uri)
	if err != nil {
		t.Fatal(err)
	}
	s := output.DefaultSettings(h)
	s.RetryMax = 100 * time.Millisecond
	if tune != nil {
		tune(&s)
	}
	o, err := output.New(h, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// TestRELPCollectorKilledWhileBehind: rsyslogd (imrelp) is killed with
// SIGKILL while messages flow and some are unanswered, then started again.
// Every message it answered is in its output; every message arrives.
func TestRELPCollectorKilledWhileBehind(t *testing.T) {
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{RELP: true})
	o := newOutput(t, "relp://"+r.RELPAddr(), nil)
	f := startFeeder(t, o, 100_000, 1000)
	peertest.Eventually(t, 30*time.Second, "10 batches confirmed", func() bool { return o.Confirmed() >= 10 })
	r.Stop(t)
	if o.Confirmed() == f.batches() {
		t.Fatal("everything was confirmed before the kill: the test proves nothing; send more")
	}
	checkConfirmedWritten(t, r, f, "killed")
	r.Start(t)
	waitAllReceived(t, r, f, 60*time.Second)
	peertest.Eventually(t, 30*time.Second, "every batch confirmed", func() bool { return o.Confirmed() == f.batches() })
}

// TestStreamCollectorStalledThenKilled: rsyslogd (imtcp, plain and TLS) is
// stopped with SIGSTOP while lines flow, until the agent can write no
// more; then killed, and started again. Nothing it had not read (and
// written) was confirmed, and every line arrives.
func TestStreamCollectorStalledThenKilled(t *testing.T) {
	for _, scheme := range []string{"tcp", "ssl"} {
		t.Run(scheme, func(t *testing.T) {
			r, uri, tune := streamCollector(t, scheme)
			o := newOutput(t, uri, tune)
			f := startFeeder(t, o, 300_000, 2000)
			peertest.Eventually(t, 30*time.Second, "10 batches confirmed", func() bool { return o.Confirmed() >= 10 })
			r.Pause(t)
			// Stalled: the agent writes until its unconfirmed window or the
			// sockets are full, then waits.
			var last uint64
			since := time.Now()
			peertest.Eventually(t, 30*time.Second, "the agent held back by the stalled collector", func() bool {
				if sent := o.Stats().Sent; sent != last {
					last, since = sent, time.Now()
				}
				return time.Since(since) >= 500*time.Millisecond // without a batch going out
			})
			if o.Confirmed() == f.batches() {
				t.Fatal("everything was confirmed before the stall: the test proves nothing; send more")
			}
			r.Stop(t)
			checkConfirmedWritten(t, r, f, "stalled, then killed")
			r.Start(t)
			waitAllReceived(t, r, f, 60*time.Second)
		})
	}
}

// countApp counts the messages of app the collector has written.
func countApp(r *peertest.Rsyslogd, app string) int {
	n := 0
	for _, m := range r.Messages() {
		if m.AppName == app {
			n++
		}
	}
	return n
}

// TestStreamFinishConfirmsTheTail: rsyslogd (imtcp, plain and TLS, Direct
// queue) closes a session once it has read our end of stream, having
// written everything before it. So when Finish returns nil every message
// is already in its output file, without waiting; the same holds for the
// close Check makes on its own once the output is idle.
func TestStreamFinishConfirmsTheTail(t *testing.T) {
	for _, scheme := range []string{"tcp", "ssl"} {
		t.Run(scheme, func(t *testing.T) {
			r, uri, tune := streamCollector(t, scheme)
			o := newOutput(t, uri, tune)
			ctx := context.Background()
			id, err := o.Deliver(ctx, records("tail", 500))
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Finish(ctx); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if n := countApp(r, "tail"); o.Confirmed() != id || n != 500 {
				t.Fatalf("Finish confirmed batch %d of %d; the collector has written %d of 500", o.Confirmed(), id, n)
			}
			id, err = o.Deliver(ctx, records("idle", 300))
			if err != nil {
				t.Fatal(err)
			}
			waitConfirmed(t, o, id)
			if n := countApp(r, "idle"); n != 300 {
				t.Fatalf("confirmed on the idle close, but the collector has written %d of 300", n)
			}
			if st := o.Stats(); st.Unconfirmed != 0 || st.Confirmed != 800 || st.Reconnects != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestStreamFinishWithAStalledCollector: rsyslogd stopped (SIGSTOP) never
// closes: Finish gives up at its bound and confirms nothing; once it runs
// again, the messages are written again and confirmed.
func TestStreamFinishWithAStalledCollector(t *testing.T) {
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
	o := newOutput(t, "tcp://"+r.TCPAddr(), nil)
	ctx := context.Background()
	r.Pause(t)
	id, err := o.Deliver(ctx, records("stalled", 20))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := o.Finish(ctx); err == nil || o.Confirmed() != 0 {
		t.Fatalf("Finish = %v, confirmed %d: a stalled collector confirmed something", err, o.Confirmed())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Finish took %v, bound 2 s", d)
	}
	r.Resume(t)
	waitConfirmed(t, o, id)
	if n := countApp(r, "stalled"); n < 20 {
		t.Errorf("%d of 20 messages written", n)
	}
}

// TestRELPFinish: Finish waits for every answer and closes the session;
// everything is in the collector's output when it returns, and the output
// opens a new session for the next batch.
func TestRELPFinish(t *testing.T) {
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{RELP: true})
	o := newOutput(t, "relp://"+r.RELPAddr(), nil)
	ctx := context.Background()
	id, err := o.Deliver(ctx, records("relp", 3000)) // more than the window
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Finish(ctx); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if n := countApp(r, "relp"); o.Confirmed() != id || o.Unconfirmed() != 0 || n != 3000 {
		t.Fatalf("confirmed %d of %d, %d unconfirmed; the collector has written %d of 3000", o.Confirmed(), id, o.Unconfirmed(), n)
	}
	id, err = o.Deliver(ctx, records("again", 10))
	if err != nil {
		t.Fatal(err)
	}
	waitConfirmed(t, o, id)
	if st := o.Stats(); st.Confirmed != 3010 || st.Reconnects != 1 {
		t.Errorf("stats %+v", st)
	}
}

// streamCollector starts rsyslogd listening on scheme (tcp or ssl) and
// returns it, the loghost URI for it, and the settings its TLS needs.
func streamCollector(t *testing.T, scheme string) (*peertest.Rsyslogd, string, func(*output.Settings)) {
	t.Helper()
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: scheme == "tcp", TLS: scheme == "ssl"})
	if scheme == "ssl" {
		return r, "ssl://" + r.TLSAddr(), func(s *output.Settings) { s.CAFile = r.CA().CertFile }
	}
	return r, "tcp://" + r.TCPAddr(), func(*output.Settings) {}
}
