package peertest

import (
	"crypto/tls"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// RFC 5424's own example, with two SD elements, an escaped ']' and a BOM.
const rfc5424SD = `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 ` +
	`[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][x@1 a="b\]c"] ` +
	"\ufeffAn application event log entry..."

// octetCounted frames msg for TCP and TLS as RFC 6587 3.4.1 and RFC 5425 say.
func octetCounted(msg string) string { return strconv.Itoa(len(msg)) + " " + msg }

func send(t *testing.T, network, addr string, conf *tls.Config, data string) {
	t.Helper()
	var c net.Conn
	var err error
	if conf != nil {
		c, err = tls.Dial(network, addr, conf)
	} else {
		c, err = net.Dial(network, addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
}

func TestRsyslogdParsesMessages(t *testing.T) {
	r := StartRsyslogd(t, RsyslogdOptions{TCP: true, UDP: true, TLS: true})
	// No ServerName: the client checks the certificate's IP SAN 127.0.0.1.
	tls13 := &tls.Config{RootCAs: r.CA().Pool, MinVersion: tls.VersionTLS13}
	tls12 := &tls.Config{RootCAs: r.CA().Pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12}
	sd := `[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][x@1 a="b\]c"]`
	want5424 := func(listener string) Message {
		return Message{
			Listener: listener, Facility: 20, Severity: 5, Timestamp: "2003-10-11T22:14:15.003Z",
			Hostname: "mymachine.example.com", AppName: "evntslog", ProcID: "1234", MsgID: "ID47",
			StructuredData: sd, Msg: "\ufeffAn application event log entry...", Protocol: 1, Raw: rfc5424SD,
		}
	}
	tests := []struct {
		name          string
		network, addr string
		tls           *tls.Config
		data          string
		want          Message
		timestamp     *regexp.Regexp // instead of want.Timestamp, if the year is guessed
	}{
		{name: "tcp octet-counted", network: "tcp", addr: r.TCPAddr(), data: octetCounted(rfc5424SD), want: want5424("tcp")},
		{name: "tcp newline", network: "tcp", addr: r.TCPAddr(), data: rfc5424SD + "\n", want: want5424("tcp")},
		{name: "udp", network: "udp", addr: r.UDPAddr(), data: rfc5424SD, want: want5424("udp")},
		{name: "tls 1.3 octet-counted", network: "tcp", addr: r.TLSAddr(), tls: tls13, data: octetCounted(rfc5424SD), want: want5424("tls")},
		{name: "tls 1.2 octet-counted", network: "tcp", addr: r.TLSAddr(), tls: tls12, data: octetCounted(rfc5424SD), want: want5424("tls")},
		{
			name: "rfc3164", network: "udp", addr: r.UDPAddr(),
			data: "<34>Oct 11 22:14:15 mymachine su[77]: 'su root' failed for lonvick on /dev/pts/8",
			want: Message{
				Listener: "udp", Facility: 4, Severity: 2, Hostname: "mymachine", AppName: "su", ProcID: "77",
				MsgID: "-", StructuredData: "-", Msg: " 'su root' failed for lonvick on /dev/pts/8", Protocol: 0,
				Raw: "<34>Oct 11 22:14:15 mymachine su[77]: 'su root' failed for lonvick on /dev/pts/8",
			},
			// RFC 3164 has no year, so rsyslog guesses it; the zone is rsyslogd's.
			timestamp: regexp.MustCompile(`^\d{4}-10-11T22:14:15[+-]\d\d:\d\d$`),
		},
		{
			// Documents rsyslog's defaults: control characters escaped as #ooo
			// (Raw too), one separator space dropped, a trailing LF dropped.
			name: "escaping and spaces", network: "tcp", addr: r.TCPAddr(),
			data: octetCounted("<14>1 2024-02-03T04:05:06.5+02:00 h app - - -  two\tlines\nend\n"),
			want: Message{
				Listener: "tcp", Facility: 1, Severity: 6, Timestamp: "2024-02-03T04:05:06.5+02:00", Hostname: "h",
				AppName: "app", ProcID: "-", MsgID: "-", StructuredData: "-", Msg: " two#011lines#012end", Protocol: 1,
				Raw: "<14>1 2024-02-03T04:05:06.5+02:00 h app - - -  two#011lines#012end",
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			send(t, tc.network, tc.addr, tc.tls, tc.data)
			msgs := r.WaitMessages(t, i+1, 10*time.Second)
			got := msgs[len(msgs)-1]
			if tc.timestamp != nil {
				if !tc.timestamp.MatchString(got.Timestamp) {
					t.Errorf("Timestamp %q does not match %s", got.Timestamp, tc.timestamp)
				}
				got.Timestamp = ""
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if t.Failed() {
		return
	}
	if n := len(r.Messages()); n != len(tests) {
		t.Errorf("%d messages, want %d: probes must not show", n, len(tests))
	}
}

func TestRsyslogdStopStart(t *testing.T) {
	r := StartRsyslogd(t, RsyslogdOptions{TCP: true, UDP: true, TLS: true})
	tcp, udp, tlsAddr := r.TCPAddr(), r.UDPAddr(), r.TLSAddr()
	send(t, "tcp", tcp, nil, "<13>1 - h app - before - first\n")
	r.WaitMessages(t, 1, 10*time.Second)

	r.Stop(t)
	if c, err := net.Dial("tcp", tcp); err == nil {
		c.Close()
		t.Fatal("TCP listener still accepts after Stop")
	}
	r.Start(t)
	if r.TCPAddr() != tcp || r.UDPAddr() != udp || r.TLSAddr() != tlsAddr {
		t.Fatalf("addresses changed: %s %s %s, were %s %s %s", r.TCPAddr(), r.UDPAddr(), r.TLSAddr(), tcp, udp, tlsAddr)
	}
	send(t, "tcp", tcp, nil, "<13>1 - h app - after - tcp\n")
	send(t, "udp", udp, nil, "<13>1 - h app - after - udp")
	send(t, "tcp", tlsAddr, &tls.Config{RootCAs: r.CA().Pool, ServerName: "localhost"}, octetCounted("<13>1 - h app - after - tls"))
	msgs := r.WaitMessages(t, 4, 10*time.Second)
	got := map[string]bool{}
	for _, m := range msgs {
		got[m.MsgID+" "+m.Listener+" "+m.Msg] = true
	}
	for _, want := range []string{"before tcp first", "after tcp tcp", "after udp udp", "after tls tls"} {
		if !got[want] {
			t.Errorf("no message %q in %+v", want, msgs)
		}
	}
}
