package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// These tests forward numbered lines with the real hostagentd to a real
// rsyslogd, disturb the path as operations do (the real logrotate, the
// agent or the collector stopped, killed or stalled, a full disk, a
// descriptor limit) and count, from what rsyslogd wrote, every line:
//
//   - none may be missing;
//   - duplicates stay within what the faults of the scenario may repeat:
//     per fault, the lines written to the collector but not yet confirmed;
//   - every copy of a line carries the same [meta sequenceId] and the same
//     file identity (a line sent again keeps its number), and the numbers
//     of one file are exactly 1..k: a collector can drop duplicates and
//     trust a gap.
//
// The scenarios are those of issue 8's "Proof". They wait on conditions
// (rsyslogd's output, the daemon's log and API, the state files), never
// on sleeps; the only timed parts are the faults themselves (a collector
// stalled while lines flow at a set rate).

// What one fault (the agent or the collector killed, stopped or stalled)
// may repeat is what was written to the collector and not yet confirmed,
// plus the batch being delivered (forward.maxBatch, 4096 lines), whose
// checkpoint may not have been written:
//
//   - relp: the window of 1024 transactions (output.relpWindow);
//   - tcp, ssl: the bytes the kernel's evidence leaves unconfirmed, at
//     most output's unconfirmed window: twice the lag of its rule
//     (4F + readSlack, F the largest window the collector advertised,
//     which its receive buffer bounds: net.ipv4.tcp_rmem's maximum;
//     readSlack 1 MiB) within 4 to 16 MiB, but never less than that lag
//     plus the next batch. Messages here are at least 100 bytes (header,
//     structured data with the file's path and identity, and the 17-byte
//     line). On loopback this is hundreds of thousands of lines: for tcp
//     the bound catches runaway re-sending, not a few thousand lines too
//     many; the figures logged say what really repeated.
//
// A SIGKILL may also repeat what was confirmed in the last 250 ms, before
// the checkpoint was written (forward.saveEvery): at the rates here, at
// most maxBatch lines more, which the bound's batch covers.
//
// These mirror unexported constants of syslogd/output and syslogd/forward:
// change them together.
const (
	maxBatch    = 4096
	relpWindow  = 1024
	minMsgBytes = 100
)

// unconfirmedLines is what one fault may repeat on transport.
func unconfirmedLines(t *testing.T, transport string) int {
	t.Helper()
	if transport == relp {
		return relpWindow + maxBatch
	}
	rmem, err := os.ReadFile("/proc/sys/net/ipv4/tcp_rmem")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(rmem))
	if len(fields) != 3 {
		t.Fatalf("/proc/sys/net/ipv4/tcp_rmem: %q: want three numbers", rmem)
	}
	window, err := strconv.Atoi(fields[2])
	if err != nil {
		t.Fatalf("/proc/sys/net/ipv4/tcp_rmem: %v", err)
	}
	lag := 4*window + 1<<20
	unconfirmed := max(min(max(4<<20, 2*lag), 16<<20), lag+maxBatch*minMsgBytes)
	return unconfirmed/minMsgBytes + maxBatch
}

// dupBound is the duplicates allowed after faults faults.
func (r *lossRig) dupBound(faults int) int { return faults * unconfirmedLines(r.t, r.opts.transport) }

// shared holds the binaries, built once for all tests of this process.
var shared struct {
	once sync.Once
	dir  string
	ok   bool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// binaries builds hostagentd and the vicfg commands once per test process:
// each scenario would otherwise link them again.
func binaries(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "hostagentd-loss-bin-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = dir
		build(t, dir) // fails t, and leaves ok false, on error
		shared.ok = true
	})
	if !shared.ok {
		t.Fatal("building the binaries failed (see the first test that built them)")
	}
	return shared.dir
}

// Transports of the loghost.
const (
	tcp  = "tcp"
	ssl  = "ssl"
	relp = "relp"
)

// rigOptions vary the rig per scenario.
type rigOptions struct {
	transport string // tcp (default), ssl or relp
	stateDir  string // the daemon's --state-dir; "" = a folder of the rig
	nofile    int    // the daemon's descriptor limit, soft and hard; 0 = inherited
}

// lossRig is one hostagentd forwarding *.log files of a folder to one
// rsyslogd, and the tally of what rsyslogd received.
type lossRig struct {
	t                      *testing.T
	opts                   rigOptions
	bin, work, logs, state string
	loghost                string
	rsyslog                *peertest.Rsyslogd
	daemon                 *exec.Cmd
	exited                 chan struct{}
	daemonLog              peertest.Buffer
	logMark                int // length of daemonLog when the running daemon started
	next                   int // number of the next line written
	tally                  tally
	began                  time.Time
}

func newLossRig(t *testing.T, opts rigOptions) *lossRig {
	t.Helper()
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	if opts.transport == "" {
		opts.transport = tcp
	}
	r := &lossRig{t: t, opts: opts, bin: binaries(t), work: t.TempDir(), logs: t.TempDir(), began: time.Now()}
	r.state = opts.stateDir
	if r.state == "" {
		r.state = filepath.Join(r.work, "state")
	}
	options := "retry_max = \"200ms\"\n"
	switch opts.transport {
	case tcp:
		r.rsyslog = peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
		r.loghost = "tcp://" + r.rsyslog.TCPAddr()
	case ssl:
		r.rsyslog = peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TLS: true})
		r.loghost = "ssl://" + r.rsyslog.TLSAddr()
		options += fmt.Sprintf("ca_file = %q\n", r.rsyslog.CA().CertFile)
	case relp:
		r.rsyslog = peertest.StartRsyslogd(t, peertest.RsyslogdOptions{RELP: true})
		r.loghost = "relp://" + r.rsyslog.RELPAddr()
	default:
		t.Fatalf("transport %q: must be tcp, ssl or relp", opts.transport)
	}
	r.configure(options)
	t.Cleanup(func() {
		r.stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("hostagentd:\n%s", r.daemonLog.String())
		}
	})
	return r
}

// configure writes the daemon's configuration: no collector, the *.log
// files of the rig's folder forwarded to its loghost with options (lines
// of TOML), no socket.
func (r *lossRig) configure(options string) {
	r.t.Helper()
	etc := filepath.Join(r.work, "etc")
	if err := os.MkdirAll(etc, 0o750); err != nil {
		r.t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(body), 0o640); err != nil {
			r.t.Fatal(err)
		}
	}
	write("collectors.toml", "[vms]\nenabled = false\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n")
	write("syslog.toml", fmt.Sprintf("loghosts = [%q]\nsocket = \"\"\n[loghost_options.%q]\n%s[[files]]\nglob = %q\n",
		r.loghost, r.loghost, options, filepath.Join(r.logs, "*.log")))
}

// start runs hostagentd and returns once it logged that it is ready.
func (r *lossRig) start() {
	r.t.Helper()
	if r.daemon != nil {
		r.t.Fatal("hostagentd is already running")
	}
	args := []string{"--config-dir", filepath.Join(r.work, "etc"), "--state-dir", r.state, "--api-socket", r.apiSocket()}
	daemon := filepath.Join(r.bin, "hostagentd")
	var cmd *exec.Cmd
	if r.opts.nofile > 0 {
		// Go raises its soft limit to the hard one at start, so both are
		// set; sh's ulimit without -H or -S sets both. exec keeps the pid.
		cmd = exec.Command("sh", append([]string{"-c", `ulimit -n "$0" && exec "$@"`, strconv.Itoa(r.opts.nofile), daemon}, args...)...)
	} else {
		cmd = exec.Command(daemon, args...)
	}
	cmd.Stdout, cmd.Stderr = &r.daemonLog, &r.daemonLog
	r.logMark = len(r.daemonLog.String())
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.daemon, r.exited = cmd, make(chan struct{})
	exited := r.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	r.waitFor("hostagentd ready", 30*time.Second, func() bool { return strings.Contains(r.log(), "hostagentd ready") })
}

func (r *lossRig) apiSocket() string { return filepath.Join(r.work, "api.sock") }

// log is what the running daemon (or the last one) logged since it started.
func (r *lossRig) log() string { return r.daemonLog.String()[r.logMark:] }

// stop stops hostagentd with sig and waits until it has exited. SIGKILL
// gives it no chance to flush or checkpoint anything; SIGTERM must make
// it exit within 30 s.
func (r *lossRig) stop(sig syscall.Signal) {
	r.t.Helper()
	if r.daemon == nil {
		return
	}
	_ = r.daemon.Process.Signal(sig)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		_ = r.daemon.Process.Kill()
		<-r.exited
		r.daemon = nil
		r.t.Fatalf("hostagentd did not exit within 30s of %v", sig)
	}
	r.daemon = nil
}

// waitFor polls cond until it holds; the test fails after timeout, or at
// once if the daemon exits meanwhile.
func (r *lossRig) waitFor(what string, timeout time.Duration, cond func() bool) {
	r.t.Helper()
	exited := false
	if !peertest.Until(timeout, func() bool { exited = r.hasExited(); return exited || cond() }) {
		r.t.Fatalf("waiting for %s: not within %v", what, timeout)
	}
	if exited {
		r.t.Fatalf("waiting for %s: hostagentd exited:\n%s", what, r.log())
	}
}

// hasExited reports whether the running daemon has exited (and forgets
// it); false when none runs.
func (r *lossRig) hasExited() bool {
	if r.daemon == nil {
		return false
	}
	select {
	case <-r.exited:
		r.daemon = nil
		return true
	default:
		return false
	}
}

// show is the daemon's own account of its loghost: vicfg-syslog --show.
func (r *lossRig) show() string {
	out, _ := exec.Command(filepath.Join(r.bin, "vicfg-syslog"), "--server", "unix:"+r.apiSocket(), "--show").CombinedOutput()
	return string(out)
}

// waitLoghostDown waits until the daemon says its loghost is down after a
// failed attempt: it has noticed the outage.
func (r *lossRig) waitLoghostDown() {
	r.t.Helper()
	r.waitFor("the loghost reported down with an error by vicfg-syslog --show", 30*time.Second, func() bool {
		for _, l := range strings.Split(r.show(), "\n") {
			if strings.HasPrefix(l, r.loghost) && strings.Contains(l, " down ") && strings.Contains(l, "last error") {
				return true
			}
		}
		return false
	})
}

// positionSaved says whether the daemon has checkpointed a position of
// the file at path: a delivery it confirmed is on disk.
func (r *lossRig) positionSaved(path string) bool {
	files, _ := filepath.Glob(filepath.Join(r.state, "syslog", "*", "positions.toml"))
	for _, f := range files {
		if data, _ := os.ReadFile(f); bytes.Contains(data, []byte(strconv.Quote(path))) {
			return true
		}
	}
	return false
}

// writeUntilSaved writes lines to w, 1000 at a time, each time waiting
// until they all arrived, until the daemon has saved a position of the
// file. Over TCP the last bytes written are confirmed only once more
// follows them (the collector must be seen to read past them), so a
// quiet file may keep its last batches unconfirmed, and unsaved.
func (r *lossRig) writeUntilSaved(w *logWriter) {
	r.t.Helper()
	for written := 0; !r.positionSaved(w.path); written += 1000 {
		if written >= 500_000 {
			files, _ := filepath.Glob(filepath.Join(r.state, "syslog", "*", "*"))
			r.t.Fatalf("no position of %s saved after %d lines were delivered; state files: %v", w.path, r.next, files)
		}
		w.write(1000, 0)
		r.waitReceived(r.next)
	}
}

// logWriter appends numbered lines to one log file, as a daemon's logger:
// it keeps its descriptor across a rotation until told to reopen (as on
// SIGHUP).
type logWriter struct {
	r    *lossRig
	path string
	f    *os.File
}

func (r *lossRig) openWriter(name string) *logWriter {
	r.t.Helper()
	w := &logWriter{r: r, path: filepath.Join(r.logs, name)}
	w.reopen()
	r.t.Cleanup(w.close)
	return w
}

// reopen closes the descriptor and opens the path again, creating it if
// it is missing: what a daemon does on SIGHUP after logrotate.
func (w *logWriter) reopen() {
	w.r.t.Helper()
	w.close()
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.r.t.Fatal(err)
	}
	w.f = f
}

func (w *logWriter) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// write appends count lines "loss line N", N from the rig's next number,
// at about rate lines per second (0: as fast as possible), 1000 at a time.
func (w *logWriter) write(count, rate int) {
	w.r.t.Helper()
	start := time.Now()
	var buf bytes.Buffer
	for i := 0; i < count; i++ {
		fmt.Fprintf(&buf, "loss line %07d\n", w.r.next)
		w.r.next++
		if (i+1)%1000 != 0 && i != count-1 {
			continue
		}
		if _, err := w.f.Write(buf.Bytes()); err != nil {
			w.r.t.Fatal(err)
		}
		buf.Reset()
		if rate > 0 {
			// Pacing the load, not synchronisation.
			if ahead := time.Duration(i+1)*time.Second/time.Duration(rate) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
}

// writeFile creates name with count numbered lines.
func (r *lossRig) writeFile(name string, count int) {
	r.t.Helper()
	var buf bytes.Buffer
	for i := 0; i < count; i++ {
		fmt.Fprintf(&buf, "loss line %07d\n", r.next)
		r.next++
	}
	if err := os.WriteFile(filepath.Join(r.logs, name), buf.Bytes(), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// waitReceived waits until at least n distinct lines have arrived.
func (r *lossRig) waitReceived(n int) {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("%d lines at rsyslogd", n), 60*time.Second, func() bool {
		r.tally.update(r.t, r.rsyslog.MessagesFile())
		return r.tally.distinct >= n
	})
}

// waitAll waits until every line written so far has arrived, then checks
// duplicates against bound and the sequence numbers. It gives up when
// no new line arrived for 30 s, or after 2 minutes.
func (r *lossRig) waitAll(bound int) {
	r.t.Helper()
	n := r.next
	start := time.Now()
	lastProgress, lastDistinct := start, -1
	var failure string
	peertest.Until(2*time.Minute+time.Second, func() bool {
		r.tally.update(r.t, r.rsyslog.MessagesFile())
		if r.tally.missing(n) == 0 {
			return true
		}
		// Progress is a line not seen before: copies sent again and
		// again are none.
		if r.tally.distinct != lastDistinct {
			lastDistinct, lastProgress = r.tally.distinct, time.Now()
		}
		switch {
		case r.hasExited():
			failure = "hostagentd exited while lines were missing"
		case time.Since(lastProgress) > 30*time.Second || time.Since(start) > 2*time.Minute:
			failure = fmt.Sprintf("lines still missing after %v (nothing new for %v)", time.Since(start).Round(time.Second), time.Since(lastProgress).Round(time.Second))
		}
		return failure != ""
	})
	if failure != "" {
		r.t.Error(failure)
		r.report(n, bound)
		r.t.FailNow()
	}
	r.report(n, bound)
}

// report logs the figures and fails the test for lines missing, too many
// duplicates and wrong sequence numbers.
func (r *lossRig) report(n, bound int) {
	r.t.Helper()
	tl := &r.tally
	missing := tl.missing(n)
	r.t.Logf("%s: %d lines written, %d received, %d missing, %d messages, %d duplicates (bound %d), %d file identities, %v",
		r.opts.transport, n, n-missing, missing, tl.messages, tl.duplicates(n), bound, len(tl.files), time.Since(r.began).Round(100*time.Millisecond))
	if missing > 0 {
		r.t.Errorf("%d of %d lines missing: %s", missing, n, tl.missingRanges(n))
		if len(tl.others) > 0 {
			r.t.Logf("other messages received (first %d): %s", len(tl.others), strings.Join(tl.others, "\n  "))
		}
	}
	if d := tl.duplicates(n); d > bound {
		r.t.Errorf("%d duplicates, more than %d", d, bound)
	}
	for _, p := range tl.problems() {
		r.t.Error(p)
	}
}

// tally counts what rsyslogd wrote, reading its output file incrementally.
type tally struct {
	off      int64 // bytes of the output file counted so far
	messages int   // loss lines received, copies included
	distinct int   // distinct loss lines received
	lines    []lineSeen
	files    map[string]*fileSeqs
	names    []*fileSeqs // by index, as lineSeen.file

	noSeq, noFile int                 // copies without a sequenceId, without a file identity
	changed       int                 // copies whose (file, sequenceId) differs from the first copy's
	conflicts     int                 // (file, sequenceId) pairs carried by two different lines
	examples      map[string][]string // per kind of fault, the first few
	others        []string            // first other messages, for a failure's report
}

type lineSeen struct {
	copies uint32
	file   int32 // index into tally.names; -1: no file identity
	seq    uint64
}

// fileSeqs records, per sequenceId of one file identity, the line (+1)
// that carried it.
type fileSeqs struct {
	name   string
	index  int32 // in tally.names
	lineOf []int32
}

// The fields of a line of rsyslogd's JSON output that matter here, as its
// jsonf template writes them (quotes inside values escaped as \").
var (
	msgKey  = []byte(`"msg":"loss line `)
	sdKey   = []byte(`"structured_data":"`)
	seqKey  = []byte(`[meta sequenceId=\"`)
	fileKey = []byte(` file=\"`)
	endKey  = []byte(`\"`)
	probe   = []byte(`"app_name":"peertest-probe-`)
	ownLog  = []byte(`"app_name":"hostagentd"`)
)

// update counts the complete lines rsyslogd has added since the last call.
// The output may hold hundreds of thousands of lines, read again every
// 200 ms while a test waits: so each byte is read once, and the few fields
// needed are found with bytes.Index rather than by decoding the JSON
// (about ten times faster, and the layout is peertest's own template).
func (tl *tally) update(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(tl.off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	tl.off += int64(len(data))
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		tl.add(data[:i])
		data = data[i+1:]
	}
}

func (tl *tally) add(line []byte) {
	if tl.files == nil {
		tl.files = map[string]*fileSeqs{}
	}
	m := bytes.Index(line, msgKey)
	if m < 0 || m+len(msgKey)+8 > len(line) || line[m+len(msgKey)+7] != '"' {
		// The daemon forwards its own log too: its warnings and errors
		// may explain a loss, the rest is noise.
		own := bytes.Contains(line, ownLog) && !bytes.Contains(line, []byte("level=WARN")) && !bytes.Contains(line, []byte("level=ERROR"))
		if !bytes.Contains(line, probe) && !own && len(tl.others) < 10 {
			tl.others = append(tl.others, string(line))
		}
		return
	}
	n, err := strconv.Atoi(string(line[m+len(msgKey) : m+len(msgKey)+7]))
	if err != nil {
		return
	}
	var sd []byte
	if s := bytes.Index(line[:m], sdKey); s >= 0 {
		sd = line[s+len(sdKey) : m]
	}
	seq, _ := strconv.ParseUint(string(field(sd, seqKey)), 10, 64)
	file := int32(-1)
	if name := field(sd, fileKey); name != nil {
		fs := tl.files[string(name)]
		if fs == nil {
			fs = &fileSeqs{name: string(name), index: int32(len(tl.names))}
			tl.files[fs.name] = fs
			tl.names = append(tl.names, fs)
		}
		file = fs.index
	}
	for n >= len(tl.lines) {
		tl.lines = append(tl.lines, lineSeen{})
	}
	tl.messages++
	if seq == 0 {
		tl.noSeq++
		tl.example("noSeq", "line %d arrived without [meta sequenceId]: %s", n, sd)
	}
	if file < 0 {
		tl.noFile++
		tl.example("noFile", "line %d arrived without a file identity (file=) in its structured data: %s", n, sd)
	}
	ls := &tl.lines[n]
	if ls.copies == 0 {
		tl.distinct++
		ls.file, ls.seq = file, seq
	} else if ls.file != file || ls.seq != seq {
		tl.changed++
		tl.example("changed", "line %d arrived again as (file %s, sequenceId %d), first as (file %s, sequenceId %d)",
			n, tl.name(file), seq, tl.name(ls.file), ls.seq)
	}
	ls.copies++
	if file >= 0 && seq > 0 && seq < 1<<31 {
		fs := tl.names[file]
		for uint64(len(fs.lineOf)) <= seq {
			fs.lineOf = append(fs.lineOf, 0)
		}
		switch fs.lineOf[seq] {
		case 0:
			fs.lineOf[seq] = int32(n + 1)
		case int32(n + 1):
		default:
			tl.conflicts++
			tl.example("conflict", "file %s sequenceId %d carried by line %d and by line %d", fs.name, seq, fs.lineOf[seq]-1, n)
		}
	}
}

func (tl *tally) name(file int32) string {
	if file < 0 {
		return "(none)"
	}
	return tl.names[file].name
}

func (tl *tally) example(kind, format string, args ...any) {
	if tl.examples == nil {
		tl.examples = map[string][]string{}
	}
	if len(tl.examples[kind]) < 3 {
		tl.examples[kind] = append(tl.examples[kind], fmt.Sprintf(format, args...))
	}
}

// field returns the value after key in sd, up to the escaped closing quote.
func field(sd, key []byte) []byte {
	i := bytes.Index(sd, key)
	if i < 0 {
		return nil
	}
	v := sd[i+len(key):]
	j := bytes.Index(v, endKey)
	if j < 0 {
		return nil
	}
	return v[:j]
}

func (tl *tally) missing(n int) int {
	missing := 0
	for i := 0; i < n; i++ {
		if i >= len(tl.lines) || tl.lines[i].copies == 0 {
			missing++
		}
	}
	return missing
}

func (tl *tally) duplicates(n int) int {
	d := 0
	for i := 0; i < n && i < len(tl.lines); i++ {
		if c := tl.lines[i].copies; c > 1 {
			d += int(c) - 1
		}
	}
	return d
}

// missingRanges lists the missing lines as ranges "first-last".
func (tl *tally) missingRanges(n int) string {
	seen := func(i int) bool { return i < len(tl.lines) && tl.lines[i].copies > 0 }
	return ranges(n, func(i int) bool { return !seen(i) })
}

// ranges lists the runs of i in [0, n) where in(i), at most 20 of them.
func ranges(n int, in func(int) bool) string {
	var b strings.Builder
	runs := 0
	for i := 0; i < n; i++ {
		if !in(i) {
			continue
		}
		j := i
		for j+1 < n && in(j+1) {
			j++
		}
		if runs++; runs <= 20 {
			fmt.Fprintf(&b, "%d-%d (%d) ", i, j, j-i+1)
		}
		i = j
	}
	if runs > 20 {
		fmt.Fprintf(&b, "... %d ranges in all", runs)
	}
	return b.String()
}

// problems are the sequence-number faults found: lines without a number
// or identity, copies that changed them, numbers used twice or skipped.
func (tl *tally) problems() []string {
	var p []string
	if tl.noSeq > 0 {
		p = append(p, fmt.Sprintf("%d messages without [meta sequenceId]", tl.noSeq))
	}
	if tl.noFile > 0 {
		p = append(p, fmt.Sprintf("%d messages without a file identity ([hostagent@32473 file=...])", tl.noFile))
	}
	if tl.changed > 0 {
		p = append(p, fmt.Sprintf("%d copies carry another (file, sequenceId) than the line's first copy", tl.changed))
	}
	if tl.conflicts > 0 {
		p = append(p, fmt.Sprintf("%d (file, sequenceId) pairs were carried by two different lines", tl.conflicts))
	}
	gaps := 0
	for _, fs := range tl.names {
		if len(fs.lineOf) < 2 {
			continue
		}
		holes := ranges(len(fs.lineOf), func(i int) bool { return i > 0 && fs.lineOf[i] == 0 })
		if holes != "" {
			if gaps++; gaps <= 5 {
				p = append(p, fmt.Sprintf("file %s: sequenceIds 1..%d received with gaps: %s", fs.name, len(fs.lineOf)-1, holes))
			}
		}
	}
	if gaps > 5 {
		p = append(p, fmt.Sprintf("%d files in all have gaps in their sequenceIds", gaps))
	}
	var examples []string
	for _, kind := range []string{"noSeq", "noFile", "changed", "conflict"} {
		examples = append(examples, tl.examples[kind]...)
	}
	if len(examples) > 0 {
		p = append(p, "for example:\n  "+strings.Join(examples, "\n  "))
	}
	return p
}

// Scenarios kept from before issue 8, made deterministic.

// TestKillWithBacklog: the agent is killed with SIGKILL while it works
// through a backlog, and started again.
func TestKillWithBacklog(t *testing.T) {
	t.Parallel()
	r := newLossRig(t, rigOptions{})
	w := r.openWriter("app.log")
	w.write(100_000, 0)
	r.start()
	r.waitReceived(20_000)
	r.stop(syscall.SIGKILL)
	r.start()
	r.waitAll(r.dupBound(1))
}

// TestRenameRotation: lines written at 100k lines/s, the file rotated by
// logrotate (rename, create) every 50k lines and the writer reopening it.
func TestRenameRotation(t *testing.T) {
	t.Parallel()
	r := newLossRig(t, rigOptions{})
	w := r.openWriter("app.log")
	lr := peertest.NewLogrotate(t, peertest.LogrotateOptions{Rotate: 10}, w.path)
	r.start()
	for i := 0; i < 4; i++ {
		w.write(50_000, 100_000)
		lr.Run(t)
		w.write(100, 0) // still to the old descriptor, until "SIGHUP"
		w.reopen()
	}
	w.write(10_000, 100_000)
	r.waitAll(0)
}

// TestCopytruncate: every 50k lines logrotate copies the file aside and
// truncates it in place, while lines keep coming at 50k/s.
func TestCopytruncate(t *testing.T) {
	t.Parallel()
	r := newLossRig(t, rigOptions{})
	w := r.openWriter("app.log")
	lr := peertest.NewLogrotate(t, peertest.LogrotateOptions{CopyTruncate: true, Rotate: 10}, w.path)
	r.start()
	for i := 0; i < 3; i++ {
		w.write(50_000, 50_000)
		lr.Run(t)
	}
	w.write(10_000, 50_000)
	r.waitAll(0)
}

// TestCollectorDownThenBack: rsyslogd is killed, lines keep coming for
// 6 s, then it is started again.
func TestCollectorDownThenBack(t *testing.T) {
	t.Parallel()
	r := newLossRig(t, rigOptions{})
	w := r.openWriter("app.log")
	r.start()
	w.write(50_000, 50_000)
	r.rsyslog.Stop(t)
	w.write(30_000, 5_000)
	r.rsyslog.Start(t)
	r.waitAll(r.dupBound(1))
}

// TestRestartWhileCollectorDown: the agent is killed and started again
// while the collector is down; everything arrives once it is back.
func TestRestartWhileCollectorDown(t *testing.T) {
	t.Parallel()
	r := newLossRig(t, rigOptions{})
	w := r.openWriter("app.log")
	r.start()
	w.write(25_000, 0)
	r.waitReceived(1)
	r.rsyslog.Stop(t)
	w.write(25_000, 0)
	r.waitLoghostDown() // the agent met the outage with lines to send
	r.stop(syscall.SIGKILL)
	r.start()
	r.waitLoghostDown() // the new agent tried, and failed, to deliver
	r.rsyslog.Start(t)
	r.waitAll(r.dupBound(2))
}

// Issue 8's scenarios.

// rotationCase is a logrotate policy and how often it runs.
type rotationCase struct {
	name      string
	opts      peertest.LogrotateOptions
	rotations int
}

// TestRotationsWhileCollectorDown: the collector is down while the agent
// runs and logrotate rotates its file two or three times, lines written
// in between; when the collector is back every generation must have been
// read: the plain one, those compressed, and today's file.
func TestRotationsWhileCollectorDown(t *testing.T) {
	t.Parallel()
	cases := []rotationCase{
		{"rename-compress-delaycompress-2", peertest.LogrotateOptions{Compress: true, DelayCompress: true, Rotate: 5}, 2},
		{"rename-compress-delaycompress-3", peertest.LogrotateOptions{Compress: true, DelayCompress: true, Rotate: 5}, 3},
		{"copytruncate-compress-delaycompress-2", peertest.LogrotateOptions{CopyTruncate: true, Compress: true, DelayCompress: true, Rotate: 5}, 2},
	}
	for _, transport := range []string{tcp, relp} {
		for _, c := range cases {
			t.Run(transport+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				r := newLossRig(t, rigOptions{transport: transport})
				w := r.openWriter("app.log")
				lr := peertest.NewLogrotate(t, c.opts, w.path)
				r.start()
				w.write(1_000, 0)
				r.waitReceived(1_000)
				r.rsyslog.Stop(t)
				for i := 0; i < c.rotations; i++ {
					w.write(15_000, 0)
					lr.Run(t)
					w.write(100, 0) // to the old descriptor: delaycompress keeps it plain
					w.reopen()
				}
				w.write(15_000, 0)
				r.rsyslog.Start(t)
				r.waitAll(r.dupBound(1))
			})
		}
	}
}

// TestRestartAcrossRotation: the agent is stopped (SIGTERM, SIGKILL),
// 10k lines are written, logrotate runs once, 10k more are written, and
// the agent is started: the 10k lines it had not read are in the rotated
// generation (renamed, the copy of a copytruncate, or only a .gz).
func TestRestartAcrossRotation(t *testing.T) {
	t.Parallel()
	cases := []rotationCase{
		{"rename", peertest.LogrotateOptions{Rotate: 3}, 1},
		{"copytruncate", peertest.LogrotateOptions{CopyTruncate: true, Rotate: 3}, 1},
		{"rename-compress", peertest.LogrotateOptions{Compress: true, Rotate: 3}, 1},
	}
	signals := []struct {
		name string
		sig  syscall.Signal
	}{{"sigterm", syscall.SIGTERM}, {"sigkill", syscall.SIGKILL}}
	for _, transport := range []string{tcp, relp} {
		for _, s := range signals {
			for _, c := range cases {
				t.Run(transport+"/"+s.name+"/"+c.name, func(t *testing.T) {
					t.Parallel()
					r := newLossRig(t, rigOptions{transport: transport})
					w := r.openWriter("app.log")
					lr := peertest.NewLogrotate(t, c.opts, w.path)
					r.start()
					r.writeUntilSaved(w)
					r.stop(s.sig)
					w.write(10_000, 0)
					lr.Run(t)
					w.reopen()
					w.write(10_000, 0)
					r.start()
					r.waitAll(r.dupBound(1))
				})
			}
		}
	}
}

// TestCollectorStalledThenKilled: the collector stops reading (SIGSTOP)
// for 5 s while lines flow and the agent is behind, then it is killed
// (SIGKILL) and started again. Whatever the agent wrote into the stalled
// collector's socket was never read: it must be sent again.
func TestCollectorStalledThenKilled(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{tcp, ssl, relp} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			r := newLossRig(t, rigOptions{transport: transport})
			w := r.openWriter("app.log")
			w.write(100_000, 0) // a backlog
			r.start()
			r.waitReceived(1_000)
			r.rsyslog.Pause(t)
			t.Logf("collector paused with %d of %d lines received", r.tally.distinct, r.next)
			w.write(25_000, 5_000) // 5 s
			r.rsyslog.Stop(t)
			r.rsyslog.Start(t)
			r.waitAll(r.dupBound(1))
		})
	}
}

// TestCollectorRestartedDuringBacklog: the collector is stopped cleanly
// (SIGTERM) and started again while the agent catches up a backlog.
func TestCollectorRestartedDuringBacklog(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{tcp, relp} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			r := newLossRig(t, rigOptions{transport: transport})
			w := r.openWriter("app.log")
			w.write(60_000, 0)
			r.start()
			r.waitReceived(5_000)
			r.rsyslog.Terminate(t)
			t.Logf("collector terminated with %d of %d lines received", r.tally.distinct, r.next)
			r.rsyslog.Start(t)
			r.waitAll(r.dupBound(1))
		})
	}
}

// TestDiskFullStateDir: the agent's state directory is on a small tmpfs,
// filled while lines flow so that no position can be saved, later freed;
// then the agent is killed and started again. No file line may be lost;
// what was delivered while positions could not be saved may repeat.
func TestDiskFullStateDir(t *testing.T) {
	t.Parallel()
	mnt := peertest.SmallDisk(t, "2m")
	r := newLossRig(t, rigOptions{stateDir: filepath.Join(mnt, "state")})
	w := r.openWriter("app.log")
	r.start()
	r.writeUntilSaved(w)

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	full := r.next
	w.write(10_000, 0)
	r.waitReceived(r.next)
	r.waitFor("the daemon's log to report no space left on device", 30*time.Second, func() bool {
		return strings.Contains(r.log(), "no space left on device")
	})
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	w.write(5_000, 0)
	r.waitReceived(r.next)
	sinceFull := r.next - full
	r.stop(syscall.SIGKILL)
	r.start()
	w.write(5_000, 0)
	r.waitAll(sinceFull + r.dupBound(1))
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		_, err := f.Write(chunk)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The last bytes of a page-sized remainder: fill them too.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
}

// TestDescriptorLimit2000Files: 2,000 log files are written while the
// daemon runs with at most 1024 descriptors (soft and hard): every line
// of every file arrives.
func TestDescriptorLimit2000Files(t *testing.T) {
	t.Parallel()
	r := newLossRig(t, rigOptions{nofile: 1024})
	r.start()
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", r.daemon.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(limits)), " "), "Max open files 1024 1024 files") {
		t.Fatalf("the daemon's descriptor limit is not 1024:\n%s", limits)
	}
	for i := 0; i < 2_000; i++ {
		r.writeFile(fmt.Sprintf("f%04d.log", i), 20)
	}
	r.waitAll(0)
}
