package output_test

import (
	"context"
	"fmt"
	"log/slog"
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
	h, err := output.ParseLoghost(uri)
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
// counting and newline framing), TLS and UDP, and checks each message
// field by field as rsyslog parsed it.
func TestRsyslogReceivesEveryField(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true, UDP: true, TLS: true})

	deliver(t, "tcp://"+r.TCPAddr(), nil, records("hostd", 3))
	deliver(t, "tcp://"+r.TCPAddr(), func(s *output.Settings) { s.Framing = format.Newline }, records("vpxa", 2))
	deliver(t, "ssl://"+r.TLSAddr(), func(s *output.Settings) { s.CAFile = r.CA().CertFile }, records("fdm", 2))
	deliver(t, "udp://"+r.UDPAddr(), nil, records("vmkernel", 2))
	got := r.WaitMessages(t, 9, 10*time.Second)

	byApp := map[string][]peertest.Message{}
	for _, m := range got {
		byApp[m.AppName] = append(byApp[m.AppName], m)
	}
	for app, listener := range map[string]string{"hostd": "tcp", "vpxa": "tcp", "fdm": "tls"} {
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
	if len(byApp["hostd"]) != 3 || len(byApp["vpxa"]) != 2 || len(byApp["fdm"]) != 2 {
		t.Errorf("counts: %d hostd, %d vpxa, %d fdm", len(byApp["hostd"]), len(byApp["vpxa"]), len(byApp["fdm"]))
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
	h, _ := output.ParseLoghost("ssl://" + r.TLSAddr())
	s := output.DefaultSettings(h)
	s.CAFile = other.CertFile
	o, err := output.New(h, s, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := o.Deliver(ctx, records("hostd", 1)); err == nil {
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
	time.Sleep(300 * time.Millisecond)
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
