// Package bench compares hostagentd's syslog forwarder with rsyslogd, side
// by side in one run (make bench-syslog).
//
// Both read the same 1,000,000-line file (about 100 bytes a line, numbered,
// like the lines of ESXi's hostd.log) from its beginning and forward every
// line as RFC 5424 over TCP with RFC 6587 octet counting to the same kind of
// sink on loopback: a listener in this test that parses the frames and counts
// distinct line numbers. hostagentd also runs once over TLS (ssl://), to a
// TLS variant of the sink. For each run it reports:
//
//   - lines/s: 1,000,000 divided by the time from starting the process until
//     the sink has received every line (start-up included);
//   - CPU seconds of the forwarding process (utime+stime of all its threads
//     from /proc/PID/stat, read just before it is killed), and per line;
//   - max RSS: VmHWM from /proc/PID/status.
//
// The goal of the issue (≥ 1.5× rsyslog's lines/s at ≤ 0.6× its CPU per
// line; TLS at least as fast as rsyslog's plain TCP) is reported, not
// asserted: a benchmark is never a timed assertion. The test fails only when
// a run does not deliver all lines. It is a benchmark run once (make
// bench-syslog: -bench ForwardVsRsyslog -benchtime 1x), never by make test.
package bench

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

const (
	totalLines = 1_000_000
	runTimeout = 10 * time.Minute // per run; a stalled run fails instead of hanging
)

// BenchmarkForwardVsRsyslog is one comparison (run it with -benchtime 1x,
// as make bench-syslog does): each of its runs forwards 1M lines per
// forwarder, so b.N means nothing more than repeating the comparison.
func BenchmarkForwardVsRsyslog(b *testing.B) {
	for range b.N {
		forwardVsRsyslog(b)
	}
}

func forwardVsRsyslog(t testing.TB) {
	rsyslogd := peertest.RequireCommand(t, "rsyslogd", "rsyslog")

	logDir := t.TempDir()
	logFile := filepath.Join(logDir, "hostd.log")
	writeLogFile(t, logFile, totalLines)
	bin := buildHostagentd(t)
	ca := peertest.NewTestCA(t)

	var results []result
	results = append(results, runRsyslog(t, rsyslogd, logFile))
	results = append(results, runHostagent(t, bin, logDir, nil))
	results = append(results, runHostagent(t, bin, logDir, ca))

	report(t, results)
	backlogRSS(t, bin, logDir)
	for _, r := range results {
		if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
		}
	}
}

// writeLogFile writes n numbered lines of about 100 bytes each; the number
// ends the line, so the sink can tell every line apart.
func writeLogFile(t testing.TB, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		// e.g. 2024-05-14T09:21:07.123Z info hostd[2099543] [Originator@6876 sub=Vimsvc opID=5f2e] Task done 0000001
		fmt.Fprintf(w, "2024-05-14T09:%02d:%02d.%03dZ info hostd[2099543] [Originator@6876 sub=Vimsvc opID=%04x] Task done %07d\n",
			i/60000%60, i/1000%60, i%1000, i%0xffff, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	t.Logf("input: %s, %d lines, %d bytes (%.1f bytes/line)", path, n, fi.Size(), float64(fi.Size())/float64(n))
}

// buildHostagentd builds the daemon without the race detector.
func buildHostagentd(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hostagentd")
	out, err := exec.Command("go", "build", "-o", bin, "hostagent/cmd/hostagentd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build hostagentd: %v\n%s", err, out)
	}
	return bin
}

// sink receives octet-counted RFC 5424 messages (RFC 6587 framing) and
// counts the distinct line numbers at the end of their MSG.
type sink struct {
	ln   net.Listener
	want int

	mu          sync.Mutex
	seen        []uint64 // bitmap of line numbers
	distinct    int
	total       int
	bad         int
	badExample  string
	first, last time.Time // first message; the one that completed the set
	err         error     // a framing error
	done        chan struct{}
}

// startSink listens on a free port of 127.0.0.1; with tlsConf, over TLS.
func startSink(t testing.TB, want int, tlsConf *tls.Config) *sink {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s := &sink{ln: ln, want: want, seen: make([]uint64, (want+63)/64), done: make(chan struct{})}
	go s.accept()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *sink) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *sink) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.serve(c)
	}
}

// serve reads frames "LEN SP MSG" until the connection ends.
func (s *sink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 256<<10)
	for {
		n, err := readLen(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.fail(err)
			}
			return
		}
		if n > r.Size() {
			s.fail(fmt.Errorf("frame of %d octets, more than this sink takes", n))
			return
		}
		msg, err := r.Peek(n)
		if err != nil {
			s.fail(fmt.Errorf("frame of %d octets cut short: %w", n, err))
			return
		}
		s.count(msg)
		_, _ = r.Discard(n)
	}
}

// readLen reads MSG-LEN and the space after it.
func readLen(r *bufio.Reader) (int, error) {
	n, digits := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			if digits > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		switch {
		case b >= '0' && b <= '9' && digits < 6:
			n = n*10 + int(b-'0')
			digits++
		case b == ' ' && digits > 0:
			return n, nil
		default:
			return 0, fmt.Errorf("octet counting: unexpected byte %q after %d digits", b, digits)
		}
	}
}

// count checks that msg is RFC 5424 ("<PRI>1 ") and notes its line number,
// the seven digits that end it (a trailing LF, which rsyslog's template
// adds, is ignored).
func (s *sink) count(msg []byte) {
	now := time.Now()
	m := bytes.TrimRight(msg, "\n")
	num := -1
	if gt := bytes.IndexByte(m, '>'); len(m) > 8 && m[0] == '<' && gt > 0 && bytes.HasPrefix(m[gt+1:], []byte("1 ")) {
		if v, err := strconv.Atoi(string(m[len(m)-7:])); err == nil && v >= 0 && v < s.want {
			num = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	if s.first.IsZero() {
		s.first = now
	}
	if num < 0 {
		if s.bad == 0 {
			s.badExample = string(msg)
		}
		s.bad++
		return
	}
	word, bit := num/64, uint64(1)<<(num%64)
	if s.seen[word]&bit != 0 {
		return
	}
	s.seen[word] |= bit
	s.distinct++
	if s.distinct == s.want {
		s.last = now
		close(s.done)
	}
}

func (s *sink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

type sinkState struct {
	distinct, total, bad int
	badExample           string
	first, last          time.Time
	err                  error
}

func (s *sink) state() sinkState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sinkState{s.distinct, s.total, s.bad, s.badExample, s.first, s.last, s.err}
}

// result is one run's figures.
type result struct {
	name        string
	lines       int // distinct lines received
	duplicates  int // messages received more than once
	elapsed     time.Duration
	firstAfter  time.Duration // from process start to the first message
	cpu         float64       // seconds
	maxRSSBytes int64
	err         error // the run did not deliver every line
}

func (r result) linesPerSec() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.lines) / r.elapsed.Seconds()
}

func (r result) cpuPerLine() float64 { // µs
	if r.lines == 0 {
		return 0
	}
	return r.cpu / float64(r.lines) * 1e6
}

// measure starts cmd, waits until the sink has every line (or the run
// fails), reads the process's CPU time and peak RSS, and kills it.
func measure(t testing.TB, name string, cmd *exec.Cmd, s *sink, diagnostics func() string) result {
	t.Helper()
	res := result{name: name}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		res.err = fmt.Errorf("start: %w", err)
		return res
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	kill := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	t.Cleanup(kill) // whatever happens below, the process does not outlive the test

	select {
	case <-s.done:
	case <-exited:
		res.err = fmt.Errorf("exited before delivering every line: %v", waitErr)
	case <-time.After(runTimeout):
		res.err = fmt.Errorf("not every line delivered within %v", runTimeout)
	}
	if res.err == nil {
		cpu, err := cpuSeconds(pid)
		if err == nil {
			res.cpu = cpu
			res.maxRSSBytes, err = maxRSS(pid)
		}
		if err != nil {
			res.err = fmt.Errorf("read /proc/%d: %w", pid, err)
		}
	}
	kill()

	st := s.state()
	res.lines, res.duplicates = st.distinct, st.total-st.distinct-st.bad
	if !st.first.IsZero() {
		res.firstAfter = st.first.Sub(start)
	}
	if !st.last.IsZero() {
		res.elapsed = st.last.Sub(start)
	}
	if res.err == nil && st.err != nil {
		res.err = st.err
	}
	if st.bad > 0 {
		err := fmt.Errorf("%d messages not RFC 5424 or without a line number, e.g. %q", st.bad, st.badExample)
		res.err = errors.Join(res.err, err)
	}
	if res.err != nil {
		res.err = fmt.Errorf("%w (sink: %d of %d lines, %d messages)\n%s", res.err, st.distinct, s.want, st.total, diagnostics())
	}
	t.Logf("%s: %d lines in %.2fs (first message after %.3fs, %d duplicates), CPU %.2fs, max RSS %.1f MB",
		name, res.lines, res.elapsed.Seconds(), res.firstAfter.Seconds(), res.duplicates, res.cpu, float64(res.maxRSSBytes)/(1<<20))
	return res
}

// runRsyslog is run A: rsyslogd's imfile reads the file from its start and
// omfwd sends every line to the sink, RFC 5424 with octet counting.
func runRsyslog(t testing.TB, bin, logFile string) result {
	t.Helper()
	s := startSink(t, totalLines, nil)
	dir := t.TempDir() // config, pid file, workDirectory (imfile's state), rsyslogd's own messages
	conf := filepath.Join(dir, "rsyslog.conf")
	ownLog := filepath.Join(dir, "rsyslogd.log")
	// As internal/peertest: no imuxsock, no imklog, rsyslogd's own messages
	// to a file of its own, so the host's logging is never touched.
	// imfile: inotify mode (its default; reads the file at once and then on
	// each change, no polling), from the start of the file since there is
	// no state yet (freshStartTail off), one line per message (readMode 0).
	// The queues and omfwd keep rsyslog's defaults.
	config := fmt.Sprintf(`global(workDirectory=%q processInternalMessages="on" net.enableDNS="off")
module(load="imfile" mode="inotify")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp"
         TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}
input(type="imfile" file=%q tag="hostd" ruleset="fwd" freshStartTail="off" readMode="0")
*.* action(type="omfile" file=%q)
`, dir, s.port(), logFile, ownLog)
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	stderrPath := filepath.Join(dir, "stderr")
	stderr, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd := exec.Command(bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Env = peertest.RsyslogEnv()
	cmd.Stdout, cmd.Stderr = stderr, stderr
	t.Logf("rsyslogd config:\n%s", config)
	return measure(t, "rsyslog tcp", cmd, s, func() string {
		return fmt.Sprintf("--- rsyslogd stderr:\n%s--- own messages:\n%s", readTail(stderrPath), readTail(ownLog))
	})
}

// runHostagent is run B (ca == nil: tcp://) or C (ssl://, verified with ca).
func runHostagent(t testing.TB, bin, logDir string, ca *peertest.TestCA) result {
	t.Helper()
	var tlsConf *tls.Config
	name, scheme := "hostagent tcp", "tcp"
	if ca != nil {
		name, scheme = "hostagent tls", "ssl"
		certFile, keyFile := ca.Issue(t)
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	s := startSink(t, totalLines, tlsConf)
	work := t.TempDir() // fresh state: no positions from an earlier run
	etc := filepath.Join(work, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	loghost := fmt.Sprintf("%s://127.0.0.1:%d", scheme, s.port())
	syslogToml := fmt.Sprintf("loghosts = [%q]\nsocket = \"\"\n", loghost)
	if ca != nil {
		syslogToml += fmt.Sprintf("\n[loghost_options.%q]\nca_file = %q\n", loghost, ca.CertFile)
	}
	syslogToml += fmt.Sprintf("\n[[files]]\nglob = %q\npriority = \"local0.info\"\napp_name = \"hostd\"\n", filepath.Join(logDir, "*.log"))
	files := map[string]string{
		// No snmp.toml: the agent is off.
		"collectors.toml": "[vms]\nenabled = false\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n",
		"syslog.toml":     syslogToml,
	}
	for file, content := range files {
		if err := os.WriteFile(filepath.Join(etc, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(work, "hostagentd.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "--config-dir", etc, "--state-dir", filepath.Join(work, "state"),
		"--api-socket", filepath.Join(work, "api.sock"))
	cmd.Stdout, cmd.Stderr = out, out
	t.Logf("%s: syslog.toml:\n%s", name, syslogToml)
	return measure(t, name, cmd, s, func() string { return "--- hostagentd output:\n" + readTail(logPath) })
}

// backlogRSS runs hostagentd with the 1M-line file to forward and its
// collector down (nothing listens), and reports its memory after 10 s of
// retrying: reading stops at the file (backpressure), so memory must not
// grow with the backlog. The issue's goal: at most 32 MB.
func backlogRSS(t testing.TB, bin, logDir string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	loghost := "tcp://" + ln.Addr().String()
	ln.Close() // the collector is down
	work := t.TempDir()
	etc := filepath.Join(work, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"collectors.toml": "[vms]\nenabled = false\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n",
		"syslog.toml": fmt.Sprintf("loghosts = [%q]\nsocket = \"\"\n[loghost_options.%q]\nretry_max = \"1s\"\n[[files]]\nglob = %q\n",
			loghost, loghost, filepath.Join(logDir, "*.log")),
	}
	for file, content := range files {
		if err := os.WriteFile(filepath.Join(etc, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "--config-dir", etc, "--state-dir", filepath.Join(work, "state"), "--api-socket", filepath.Join(work, "api.sock"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(10 * time.Second)
	rss, err := maxRSS(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	cpu, _ := cpuSeconds(cmd.Process.Pid)
	verdict := "met"
	if float64(rss)/(1<<20) > 32 {
		verdict = "NOT met"
	}
	line := fmt.Sprintf("hostagent, collector down, %d-line backlog: max RSS %.1f MB after 10 s (goal <= 32 MB: %s), CPU %.2f s",
		totalLines, float64(rss)/(1<<20), verdict, cpu)
	t.Log(line)
	fmt.Println(line)
}

// readTail returns the last 4 KiB of a file, for diagnostics.
func readTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error() + "\n"
	}
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return string(data)
}

// cpuSeconds is utime+stime of the process (all its threads) in seconds.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// comm, in parentheses, may hold spaces: count fields after the last ')'.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat: %d fields", len(fields))
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(fields[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(utime+stime) / clockTicks(), nil
}

// clockTicks is sysconf(_SC_CLK_TCK), from getconf; 100 on Linux if that fails.
var clockTicks = sync.OnceValue(func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
})

// maxRSS is VmHWM, the peak resident set size, in bytes.
func maxRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("status: no VmHWM")
}

// report prints the table with t.Log and on stdout (go test -v shows it
// either way; stdout keeps it free of t.Log's prefixes).
func report(t testing.TB, results []result) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-14s | %9s | %7s | %9s | %6s | %11s | %10s\n", "run", "lines", "seconds", "lines/s", "CPU s", "CPU µs/line", "max RSS MB")
	fmt.Fprintf(&b, "%s\n", strings.Repeat("-", 14+9+7+9+6+11+10+6*3))
	for _, r := range results {
		fmt.Fprintf(&b, "%-14s | %9d | %7.2f | %9.0f | %6.2f | %11.2f | %10.1f\n", r.name, r.lines, r.elapsed.Seconds(),
			r.linesPerSec(), r.cpu, r.cpuPerLine(), float64(r.maxRSSBytes)/(1<<20))
	}
	rs, tcp, tlsRun := results[0], results[1], results[2]
	ratio := func(a, b float64) string {
		if a == 0 || b == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	lps := tcp.linesPerSec() / rs.linesPerSec()
	cpu := tcp.cpuPerLine() / rs.cpuPerLine()
	tlsVsTCP := tlsRun.linesPerSec() / rs.linesPerSec()
	fmt.Fprintf(&b, "\nhostagent tcp / rsyslog tcp, lines/s:      %s (goal ≥ 1.50×: %s)\n", ratio(tcp.linesPerSec(), rs.linesPerSec()), verdict(lps >= 1.5))
	fmt.Fprintf(&b, "hostagent tcp / rsyslog tcp, CPU per line: %s (goal ≤ 0.60×: %s)\n", ratio(tcp.cpuPerLine(), rs.cpuPerLine()), verdict(cpu > 0 && cpu <= 0.6))
	fmt.Fprintf(&b, "hostagent tls / rsyslog tcp, lines/s:      %s (goal ≥ 1.00×: %s)\n", ratio(tlsRun.linesPerSec(), rs.linesPerSec()), verdict(tlsVsTCP >= 1))
	fmt.Fprintf(&b, "hostagent tls / rsyslog tcp, CPU per line: %s\n", ratio(tlsRun.cpuPerLine(), rs.cpuPerLine()))
	t.Log(b.String())
	fmt.Print(b.String())
}
