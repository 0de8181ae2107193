package peertest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RsyslogdOptions says which listeners StartRsyslogd opens, each on its own
// free port on 127.0.0.1.
type RsyslogdOptions struct {
	TCP bool // imtcp, plain; accepts octet-counted (RFC 6587) and newline framing
	UDP bool // imudp
	TLS bool // imtcp with the gtls driver (RFC 5425); server certificate from CA()
	// RELP is imrelp (rsyslog's Reliable Event Logging Protocol), from the
	// Debian package rsyslog-relp. It answers each message "200 OK" only
	// after the message was written to the output file: see StartRsyslogd
	// on the Direct main queue.
	RELP bool
}

// Message is one received message, field by field as rsyslog parsed it.
//
// rsyslog's defaults are kept, because tests want to see what a real
// collector makes of the bytes sent. Seen with rsyslog 8.2302:
//   - control characters (below 0x20, so tab, CR, LF and NUL too; not DEL)
//     are escaped on reception as '#' and three octal digits, e.g. "#011"
//     for a tab, "#012" for a LF inside an octet-counted frame; this is done
//     to the whole message, so Raw has them too;
//   - a trailing LF is dropped (UDP and octet-counted TCP); trailing spaces
//     are kept;
//   - RFC 5424: the SP after the header/STRUCTURED-DATA is not part of Msg,
//     further spaces are; RFC 3164: Msg is everything after "TAG:" or
//     "TAG[PID]:", including the space that usually follows;
//   - only the first run of adjacent SD elements is StructuredData: a
//     "[...]" after a space belongs to Msg; rsyslog does not check the SD
//     syntax beyond the brackets;
//   - bytes that are not UTF-8 are written as they are, and encoding/json
//     turns them into U+FFFD; a BOM at the start of MSG is kept;
//   - a message longer than 64 KiB is cut there (imtcp logs "oversize
//     message"), and with octet counting the rest of the frame becomes a
//     message of its own; over UDP the datagram limit (65507 bytes) is lower.
type Message struct {
	Listener       string // "tcp", "udp", "tls" or "relp": the input that received it
	Facility       int
	Severity       int
	Timestamp      string // RFC 3339 (date-rfc3339); if sent as "-", the time of reception; RFC 3164: year guessed, in rsyslogd's zone
	Hostname       string // "-" stays "-"; RFC 3164 without a HOSTNAME: the sender's IP
	AppName        string // RFC 3164: the TAG without "[PID]:"
	ProcID         string // "-" when none
	MsgID          string // "-" when none (RFC 3164 too)
	StructuredData string // "-" when none, as rsyslog gives it
	Msg            string
	Protocol       int    // protocol-version: 1 for RFC 5424, 0 for anything else
	Raw            string // rawmsg: the message without framing, after the escaping above
}

// Rsyslogd is a private rsyslogd; see StartRsyslogd.
type Rsyslogd struct {
	bin, dir                    string
	tcpPort, udpPort, tlsPort   int
	relpPort                    int
	ca                          *TestCA
	probe                       string // APP-NAME of readiness probes, left out of Messages
	runs                        int    // how often rsyslogd was started
	cmd                         *exec.Cmd
	exited                      chan struct{} // closed when cmd has exited
	waitErr                     error         // set before exited is closed
	messagesFile, logFile, conf string
}

// StartRsyslogd runs rsyslogd as a child on free ports of 127.0.0.1 and
// returns once every listener has delivered a probe message to the output
// file. Everything is in t.TempDir(): config (-f), pid file (-i), work
// directory, output and log. rsyslogd never touches the host's logging: it
// loads neither imuxsock (so /dev/log is not opened) nor imklog, and it
// processes its own messages (processInternalMessages="on") instead of sending
// them to the system's syslog socket. The process is killed in t.Cleanup; if
// the test failed, rsyslogd's own messages and stderr are logged with t.Log.
//
// The main queue is Direct (main_queue(queue.type="Direct")): no queue at
// all, the thread of the input that read a message runs the ruleset's
// action (omfile, itself with rsyslog's default Direct action queue, and
// flushOnTXEnd on) before it returns for more. So what rsyslogd has
// acknowledged, or read and come back for more after, is in the output
// file: a test that kills it loses nothing it confirmed, as a collector
// with a disk queue would behave, and unlike rsyslog's default in-memory
// main queue, which loses what it holds. For RELP this is what makes
// "200 OK" mean written: librelp calls imrelp's receive callback for each
// "syslog" frame and sends the "rsp 200 OK" only when it returns, and with
// a Direct queue the callback's submit runs the action within it.
func StartRsyslogd(t testing.TB, opts RsyslogdOptions) *Rsyslogd {
	t.Helper()
	bin := RequireCommand(t, "rsyslogd", "rsyslog")
	if !opts.TCP && !opts.UDP && !opts.TLS && !opts.RELP {
		t.Fatal("peertest: StartRsyslogd needs at least one of TCP, UDP, TLS, RELP")
	}
	// gtls is a separate package, and rsyslogd only complains in its log.
	if opts.TLS && !gtlsInstalled() {
		unavailable(t, "rsyslog's gtls driver (lmnsd_gtls.so) is missing; it is in the Debian package rsyslog-gnutls (apt-get install rsyslog-gnutls)")
	}
	if opts.RELP && !rsyslogModuleInstalled("imrelp.so") {
		unavailable(t, "rsyslog's RELP input (imrelp.so) is missing; it is in the Debian package rsyslog-relp (apt-get install rsyslog-relp)")
	}
	// The free ports are found by binding and releasing them, so another
	// process may take one before rsyslogd binds; then try new ports.
	for attempt := 1; ; attempt++ {
		r := &Rsyslogd{bin: bin, dir: t.TempDir(), probe: "peertest-probe-" + randomHex(4)}
		err := r.configure(t, opts)
		if err == nil {
			err = r.start(t)
		}
		if err == nil {
			t.Cleanup(func() {
				r.Stop(t)
				if t.Failed() {
					t.Logf("rsyslogd (%s) wrote:\n%s", r.conf, r.diagnostics())
				}
			})
			return r
		}
		r.Stop(t)
		if !errors.Is(err, errListenFailed) || attempt == 3 {
			t.Fatalf("peertest: %v\nrsyslogd wrote:\n%s", err, r.diagnostics())
		}
	}
}

var errListenFailed = errors.New("rsyslogd could not listen")

func gtlsInstalled() bool { return rsyslogModuleInstalled("lmnsd_gtls.so") }

// rsyslogModuleInstalled tells whether rsyslog's module file is where
// Debian (or a build from source) puts it.
func rsyslogModuleInstalled(name string) bool {
	matches, _ := filepath.Glob("/usr/lib/*/rsyslog/" + name)
	more, _ := filepath.Glob("/usr/lib/rsyslog/" + name)
	return len(matches)+len(more) > 0
}

// configure picks the ports and writes the config file.
func (r *Rsyslogd) configure(t testing.TB, opts RsyslogdOptions) error {
	r.conf = filepath.Join(r.dir, "rsyslog.conf")
	r.messagesFile = filepath.Join(r.dir, "messages.json")
	r.logFile = filepath.Join(r.dir, "rsyslogd.log")
	var err error
	port := func(free func() (int, error)) int {
		var p int
		if err == nil {
			p, err = free()
		}
		return p
	}
	if opts.TCP {
		r.tcpPort = port(freeTCPPort)
	}
	if opts.UDP {
		r.udpPort = port(freeUDPPort)
	}
	if opts.TLS {
		r.tlsPort = port(freeTCPPort)
		r.ca = NewTestCA(t)
	}
	if opts.RELP {
		r.relpPort = port(freeTCPPort)
	}
	if err != nil {
		return err
	}
	return os.WriteFile(r.conf, []byte(r.config(t)), 0o600)
}

// config returns rsyslog.conf. All inputs feed the ruleset "peertest", which
// writes one JSON object per message; rsyslogd's own messages go to the
// default ruleset and from there to rsyslogd.log.
func (r *Rsyslogd) config(t testing.TB) string {
	var b strings.Builder
	b.WriteString("# Written by hostagent/internal/peertest.\n")
	// maxMessageSize must come before the inputs, which size their buffers
	// by it. DNS off: fromhost lookups only slow things down.
	fmt.Fprintf(&b, "global(workDirectory=%q maxMessageSize=\"64k\" processInternalMessages=\"on\" net.enableDNS=\"off\"", r.dir)
	if r.ca != nil {
		cert, key := r.ca.Issue(t)
		fmt.Fprintf(&b, "\n  defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q",
			r.ca.CertFile, cert, key)
	}
	b.WriteString(")\n")
	b.WriteString("main_queue(queue.type=\"Direct\")\n")
	if r.tcpPort != 0 || r.tlsPort != 0 {
		b.WriteString("module(load=\"imtcp\")\n")
	}
	if r.udpPort != 0 {
		b.WriteString("module(load=\"imudp\")\n")
	}
	if r.relpPort != 0 {
		b.WriteString("module(load=\"imrelp\")\n")
	}
	b.WriteString(`template(name="peertest_json" type="list" option.jsonf="on") {
  property(outname="listener" name="inputname" format="jsonf")
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="structured_data" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="protocol" name="protocol-version" format="jsonf")
  property(outname="raw" name="rawmsg" format="jsonf")
}
`)
	fmt.Fprintf(&b, "ruleset(name=\"peertest\") {\n  action(type=\"omfile\" file=%q template=\"peertest_json\")\n}\n", r.messagesFile)
	// name sets the inputname property, which becomes Message.Listener.
	if r.tcpPort != 0 {
		fmt.Fprintf(&b, "input(type=\"imtcp\" name=\"tcp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"peertest\")\n", r.tcpPort)
	}
	if r.tlsPort != 0 {
		// mode 1 is TLS; anon: clients need no certificate (one they send
		// is accepted). With authMode anon, gtls uses a priority string of its
		// own that has no TLS 1.3 cipher suites ("No supported cipher suites
		// have been found"); "NORMAL" offers TLS 1.2 and 1.3.
		fmt.Fprintf(&b, "input(type=\"imtcp\" name=\"tls\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"peertest\"\n"+
			"  streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\" gnutlsPriorityString=\"NORMAL\")\n", r.tlsPort)
	}
	if r.udpPort != 0 {
		fmt.Fprintf(&b, "input(type=\"imudp\" name=\"udp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"peertest\")\n", r.udpPort)
	}
	if r.relpPort != 0 {
		// maxDataSize defaults to maxMessageSize (64k above).
		fmt.Fprintf(&b, "input(type=\"imrelp\" name=\"relp\" address=\"127.0.0.1\" port=\"%d\" ruleset=\"peertest\")\n", r.relpPort)
	}
	fmt.Fprintf(&b, "*.* action(type=\"omfile\" file=%q)\n", r.logFile)
	return b.String()
}

// TCPAddr returns the plain TCP listener's "127.0.0.1:PORT", or "".
func (r *Rsyslogd) TCPAddr() string { return addr(r.tcpPort) }

// UDPAddr returns the UDP listener's "127.0.0.1:PORT", or "".
func (r *Rsyslogd) UDPAddr() string { return addr(r.udpPort) }

// TLSAddr returns the TLS listener's "127.0.0.1:PORT", or "".
func (r *Rsyslogd) TLSAddr() string { return addr(r.tlsPort) }

// RELPAddr returns the RELP listener's "127.0.0.1:PORT", or "".
func (r *Rsyslogd) RELPAddr() string { return addr(r.relpPort) }

// CA returns the CA that signed the TLS listener's certificate (whose SANs
// are localhost, 127.0.0.1 and ::1); nil without TLS.
func (r *Rsyslogd) CA() *TestCA { return r.ca }

func addr(port int) string {
	if port == 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// Start starts rsyslogd again after Stop, on the same ports and appending to
// the same output, so that Messages keeps what was received before.
func (r *Rsyslogd) Start(t testing.TB) {
	t.Helper()
	if r.cmd != nil {
		t.Fatal("peertest: rsyslogd is already running")
	}
	if err := r.start(t); err != nil {
		t.Fatalf("peertest: %v\nrsyslogd wrote:\n%s", err, r.diagnostics())
	}
}

func (r *Rsyslogd) start(t testing.TB) error {
	t.Helper()
	pid := filepath.Join(r.dir, "rsyslogd.pid")
	// A killed rsyslogd leaves its pid file, and a new one refuses to start
	// if that pid has been reused.
	_ = os.Remove(pid)
	// It may also have left half a line, which would spoil the next one.
	if data, _ := os.ReadFile(r.messagesFile); len(data) > 0 && data[len(data)-1] != '\n' {
		if f, err := os.OpenFile(r.messagesFile, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			_, _ = f.WriteString("\n")
			f.Close()
		}
	}
	stderr, err := os.OpenFile(filepath.Join(r.dir, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer stderr.Close()
	// -n: stay in the foreground, so that we own the process; -f, -i: our
	// config and pid file only. No -d: debug output is huge and slow.
	cmd := exec.Command(r.bin, "-n", "-f", r.conf, "-i", pid)
	cmd.Env = RsyslogEnv()
	// Errors found before the config is loaded (e.g. syntax errors) only go
	// to stderr.
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start rsyslogd: %w", err)
	}
	r.cmd, r.exited = cmd, make(chan struct{})
	exited := r.exited
	go func() {
		r.waitErr = cmd.Wait()
		close(exited)
	}()
	return r.awaitProbes()
}

// Stop kills rsyslogd (a collector going down, without a chance to flush
// anything) and waits until it has exited. It does nothing if rsyslogd is
// not running.
func (r *Rsyslogd) Stop(t testing.TB) {
	t.Helper()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// RsyslogEnv is this process's environment without the variables that
// would turn on rsyslog's debug output or make it talk to systemd (socket
// activation, sd_notify): for every rsyslogd a test starts.
func RsyslogEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RSYSLOG_") || strings.HasPrefix(name, "LISTEN_") || name == "NOTIFY_SOCKET" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// awaitProbes sends a probe message to each listener until rsyslogd has
// written it: this proves the listener is up and the output works.
func (r *Rsyslogd) awaitProbes() error {
	// Earlier runs' probes are in the output too: each run has its own MSG.
	r.runs++
	probeMsg := func(listener string) string { return fmt.Sprintf("probe %s run %d", listener, r.runs) }
	pending := map[string]func(msg string) error{}
	if r.tcpPort != 0 {
		pending["tcp"] = func(msg string) error { return sendStream(r.TCPAddr(), nil, msg) }
	}
	if r.udpPort != 0 {
		pending["udp"] = func(msg string) error { return sendUDP(r.UDPAddr(), msg) }
	}
	if r.tlsPort != 0 {
		conf := &tls.Config{RootCAs: r.ca.Pool, ServerName: "localhost"}
		pending["tls"] = func(msg string) error { return sendStream(r.TLSAddr(), conf, msg) }
	}
	if r.relpPort != 0 {
		pending["relp"] = func(msg string) error { return sendRELP(r.RELPAddr(), msg) }
	}
	var off int64 // the probes of this run are in what rsyslogd writes from now on
	if st, err := os.Stat(r.messagesFile); err == nil {
		off = st.Size()
	}
	deadline := time.After(startTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, m := range r.probesFrom(&off) {
			if m.AppName == r.probe && m.Msg == probeMsg(m.Listener) {
				delete(pending, m.Listener)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		// Only TCP: imudp sets SO_REUSEADDR, so its bind succeeds even if
		// another such socket (another rsyslogd) holds the port.
		if strings.Contains(r.diagnostics(), "Address already in use") {
			return fmt.Errorf("%w: address already in use", errListenFailed)
		}
		for name, send := range pending {
			// Errors only mean "not listening yet".
			_ = send(fmt.Sprintf("<13>1 - - %s - - - %s", r.probe, probeMsg(name)))
		}
		select {
		case <-tick.C:
		case <-r.exited:
			return fmt.Errorf("rsyslogd exited: %v", r.waitErr)
		case <-deadline:
			return fmt.Errorf("no probe message written within %v", startTimeout)
		}
	}
}

// sendStream sends one newline-framed message over TCP, or TLS if conf is
// not nil.
func sendStream(addr string, conf *tls.Config, msg string) error {
	d := &net.Dialer{Timeout: time.Second}
	var c net.Conn
	var err error
	if conf != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, conf)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(msg + "\n"))
	return err
}

// sendRELP sends one message in a RELP session of its own (open, syslog,
// close), each frame answered before the next: enough for a probe. The
// full client, with windowing and reconnection, is hostagent's
// syslogd/output; this one must not depend on the code it tests.
func sendRELP(addr, msg string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	rd := bufio.NewReader(c)
	for i, f := range [][2]string{{"open", "relp_version=0\nrelp_software=peertest\ncommands=syslog"}, {"syslog", msg}, {"close", ""}} {
		txnr := i + 1
		frame := fmt.Sprintf("%d %s %d", txnr, f[0], len(f[1]))
		if f[1] != "" {
			frame += " " + f[1]
		}
		if _, err := io.WriteString(c, frame+"\n"); err != nil {
			return err
		}
		// The answer: TXNR SP "rsp" SP DATALEN [SP DATA] LF, DATA starting
		// with the status.
		var rtx, n int
		var cmd string
		if _, err := fmt.Fscanf(rd, "%d %s %d", &rtx, &cmd, &n); err != nil {
			return fmt.Errorf("RELP %s: %w", f[0], err)
		}
		if n < 0 || n > 1<<16 {
			return fmt.Errorf("RELP %s: DATALEN %d", f[0], n)
		}
		rest := make([]byte, 1+n+1) // SP DATA LF
		if n == 0 {
			rest = rest[:1] // LF
		}
		if _, err := io.ReadFull(rd, rest); err != nil {
			return fmt.Errorf("RELP %s: %w", f[0], err)
		}
		if rtx != txnr || cmd != "rsp" || (f[0] != "close" && !strings.HasPrefix(string(rest), " 200")) {
			return fmt.Errorf("RELP %s: answer %d %s %q", f[0], rtx, cmd, rest)
		}
	}
	return nil
}

func sendUDP(addr, msg string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(msg))
	return err
}

// MessagesFile is where rsyslogd writes what it receives, one JSON object
// per line: for tests that count hundreds of thousands of messages faster
// than Messages parses them.
func (r *Rsyslogd) MessagesFile() string { return r.messagesFile }

// Messages returns the messages written so far, probes left out.
func (r *Rsyslogd) Messages() []Message { return r.read(false) }

// WaitMessages waits until at least n messages were written or the timeout
// passes; then it calls t.Fatalf with what was received.
func (r *Rsyslogd) WaitMessages(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	// rsyslogd tells nothing but its output file: the file is polled.
	var msgs []Message
	if Until(timeout, func() bool { msgs = r.Messages(); return len(msgs) >= n }) {
		return msgs
	}
	var got strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&got, "\n  %d: %+v", i+1, m)
	}
	t.Fatalf("rsyslogd: want %d messages, got %d after %v:%s", n, len(msgs), timeout, got.String())
	return nil
}

// read parses the output file; a last line still being written is left for
// later. A line that is not valid JSON (which would be a bug here) becomes a
// Message whose Raw is the line and whose Msg says what is wrong.
func (r *Rsyslogd) read(withProbes bool) []Message {
	data, _ := os.ReadFile(r.messagesFile)
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var msgs []Message
	for line := range strings.Lines(string(data)) {
		if m := parseMessage(line); m.AppName != r.probe || withProbes {
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// parseMessage turns a line of the output file into a Message.
func parseMessage(line string) Message {
	var j struct {
		Listener, Facility, Severity, Timestamp, Hostname string
		AppName                                           string `json:"app_name"`
		ProcID, MsgID                                     string
		StructuredData                                    string `json:"structured_data"`
		Msg, Protocol, Raw                                string
	}
	if err := json.Unmarshal([]byte(line), &j); err != nil {
		return Message{Raw: line, Msg: "peertest: cannot parse rsyslogd's output: " + err.Error()}
	}
	m := Message{
		Listener: j.Listener, Timestamp: j.Timestamp, Hostname: j.Hostname, AppName: j.AppName,
		ProcID: j.ProcID, MsgID: j.MsgID, StructuredData: j.StructuredData, Msg: j.Msg, Raw: j.Raw,
	}
	m.Facility, _ = strconv.Atoi(j.Facility)
	m.Severity, _ = strconv.Atoi(j.Severity)
	m.Protocol, _ = strconv.Atoi(j.Protocol)
	return m
}

// probesFrom returns the probe messages rsyslogd wrote from byte *off of
// its output on, and moves *off past the lines it read. A restarted
// collector may be writing a test's whole backlog: the output is read
// once, and only the probes' lines are parsed.
func (r *Rsyslogd) probesFrom(off *int64) []Message {
	f, err := os.Open(r.messagesFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, _ := io.ReadAll(io.NewSectionReader(f, *off, 1<<62))
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	*off += int64(len(data))
	var probes []Message
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, r.probe) {
			if m := parseMessage(line); m.AppName == r.probe {
				probes = append(probes, m)
			}
		}
	}
	return probes
}

// diagnostics returns rsyslogd's stderr and its own messages. Errors are in
// both, except those before the config was loaded (stderr only).
func (r *Rsyslogd) diagnostics() string {
	stderr, _ := os.ReadFile(filepath.Join(r.dir, "stderr"))
	log, _ := os.ReadFile(r.logFile)
	return fmt.Sprintf("--- stderr:\n%s--- own messages (%s):\n%s", stderr, r.logFile, log)
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
