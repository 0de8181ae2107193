package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"hostagent/collectors"
	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/manage/apiclient"
	"hostagent/manage/vicfg"
	snmpcmd "hostagent/manage/vicfg/snmp"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/syslogd"
)

type running struct {
	dir, sock string
	log       *peertest.Buffer
	daemon    *daemon.Daemon
	stop      func() error
}

func (r running) file() string { return filepath.Join(r.dir, "etc", daemon.SNMPFile) }

// cli runs vicfg-snmp against the daemon and returns its exit code and output.
func (r running) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := snmpcmd.Command.Run(context.Background(), "vicfg-snmp", append([]string{"--server", "unix:" + r.sock}, args...), vicfg.IO{Stdout: &out, Stderr: &errOut})
	return code, out.String(), errOut.String()
}

func (r running) state(t *testing.T) api.SNMPState {
	t.Helper()
	c, err := apiclient.NewClient("unix:" + r.sock)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.SNMP(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// noCollectors keeps the host's own disks, links and sensors out of tests
// that count notifications.
const noCollectors = "[vms]\nenabled = false\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n"

// testDefaults are the factory defaults of a test's daemon on dir: the
// production ones with no collector and every path in dir, so that a
// reset reaches for no path of the host (a hostagentd the host runs holds
// /run/hostagent/syslog.sock).
func testDefaults(t testing.TB, dir string) daemon.Defaults {
	def := daemon.FactoryDefaults()
	// Polling starts a snmpd on the agent's port: only the tests of
	// polling ask for it, on a port of their own.
	def.SNMP = func() snmpconfig.Config {
		cfg := snmpconfig.DefaultConfig()
		cfg.Polling = snmpconfig.PollingOff
		return cfg
	}
	def.Collectors = func() daemon.CollectorsConfig {
		cfg := daemon.DefaultCollectorsConfig()
		if _, err := toml.Decode(noCollectors, cfg.Ptr()); err != nil {
			t.Errorf("noCollectors: %v", err)
		}
		return cfg
	}
	def.Syslog = func() syslogd.Config {
		cfg := syslogd.DefaultConfig()
		cfg.Socket = filepath.Join(dir, "syslog.sock")
		cfg.Files = []syslogd.FileInput{{Glob: filepath.Join(dir, "log", "*.log"), Priority: "local0.info"}}
		return cfg
	}
	return def
}

// start runs a daemon on dir (config in dir/etc, state in dir/state, its
// API socket dir/api.sock, testDefaults) until the test ends; adjust
// changes its options (HTTPS, a clock).
func start(t *testing.T, dir string, adjust ...func(*daemon.Options)) running {
	t.Helper()
	r := running{dir: dir, sock: filepath.Join(dir, "api.sock"), log: &peertest.Buffer{}}
	opts := daemon.Options{
		ConfigDir: filepath.Join(dir, "etc"), StateDir: filepath.Join(dir, "state"), APISocket: r.sock,
		Paths:    collectors.Paths{ProcFS: filepath.Join(dir, "proc"), SysFS: filepath.Join(dir, "sys")},
		Defaults: testDefaults(t, dir),
	}
	for _, f := range adjust {
		f(&opts)
	}
	r.daemon = daemon.New(opts, slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.daemon.Run(ctx) }()
	select {
	case <-r.daemon.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("daemon did not start: %v\n%s", err, r.log)
	case <-time.After(2 * time.Minute):
		// Generous: a daemon loading a folder of MIB modules with the race
		// detector on a loaded machine took over 20 s; this only catches
		// one that never becomes ready.
		cancel()
		t.Fatalf("daemon not ready after 2 minutes\n%s", r.log)
	}
	var once sync.Once
	var stopErr error
	r.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() {
		_ = r.stop()
		if t.Failed() {
			t.Logf("daemon log:\n%s", r.log)
		}
	})
	return r
}

func writeConfig(t *testing.T, dir, body string) {
	t.Helper()
	etc := filepath.Join(dir, "etc")
	if err := os.MkdirAll(etc, 0o750); err != nil {
		t.Fatal(err)
	}
	// Written beside and renamed, as editors save.
	tmp := filepath.Join(etc, "snmp.toml.new")
	if err := os.WriteFile(tmp, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(etc, daemon.SNMPFile)); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits for what the daemon does on its own (a reload, a log line).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	peertest.Eventually(t, 10*time.Second, what, cond)
}

func names(traps []peertest.Trap) []string {
	var out []string
	for _, tr := range traps {
		out = append(out, tr.TrapOID)
	}
	return out
}

// TestDaemonWithCLIAndHandEdits drives a daemon with vicfg-snmp and with
// hand edits of snmp.toml, and checks what snmptrapd receives.
func TestDaemonWithCLIAndHandEdits(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	dir := t.TempDir()
	d := start(t, dir) // no snmp.toml: factory defaults, agent off

	if st, err := os.Stat(d.sock); err != nil || st.Mode().Perm() != 0o660 {
		t.Fatalf("api socket mode: %v %v, want 0660", st.Mode(), err)
	}
	if st := d.state(t); st.Config.Enabled || len(st.Config.Targets) != 0 {
		t.Fatalf("factory config %+v, want the agent off", st.Config)
	}
	if code, _, errOut := d.cli(t, "-T"); code != 1 || !strings.Contains(errOut, "disabled") {
		t.Errorf("--test while disabled: exit %d, %q", code, errOut)
	}

	target := fmt.Sprintf("127.0.0.1@%d", trapd.Port())
	code, out, errOut := d.cli(t, "-c", "public", "-t", target, "-E")
	if code != 0 || !strings.Contains(out, "Enabling agent...\nComplete.\n") {
		t.Fatalf("enable: exit %d\n%s%s", code, out, errOut)
	}
	trapd.WaitTraps(t, 1, 10*time.Second) // coldStart
	stored, err := os.ReadFile(d.file())
	if err != nil || !strings.Contains(string(stored), fmt.Sprintf("targets = [%q]", target)) {
		t.Fatalf("snmp.toml after the change:\n%s (%v)", stored, err)
	}

	code, out, _ = d.cli(t, "--test")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("  %s (v2c trap): sent\n", target)) {
		t.Errorf("--test: exit %d\n%s", code, out)
	}
	trapd.WaitTraps(t, 2, 10*time.Second)
	// The same counters, for Prometheus.
	console := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.sock)
	}}}
	resp, err := console.Get("http://console" + api.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(`hostagent_snmp_notifications_total{kind="v2c trap",outcome="sent",target=%q} 2`, target); !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %s:\n%s", want, metrics)
	}

	// Bad input: refused, file untouched, nothing sent.
	before, _ := os.ReadFile(d.file())
	for _, args := range [][]string{{"-p", "0"}, {"-t", "bad_host!"}, {"-c", strings.Repeat("x", 65)}, {"-n", "NO-SUCH-MIB::x"}} {
		if code, _, errOut := d.cli(t, args...); code != 1 || errOut == "" {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	if after, _ := os.ReadFile(d.file()); !bytes.Equal(before, after) {
		t.Errorf("a refused change rewrote snmp.toml:\n%s", after)
	}

	// A hand edit is applied live and announced with warmStart.
	edited := strings.Replace(string(before), `syscontact = ""`, `syscontact = "noc@example.com"`, 1)
	if edited == string(before) {
		t.Fatalf("cannot find syscontact in:\n%s", before)
	}
	writeConfig(t, dir, edited)
	waitFor(t, "the hand edit", func() bool { return d.state(t).Config.Syscontact == "noc@example.com" })
	traps := trapd.WaitTraps(t, 3, 10*time.Second)
	if got := names(traps); got[2] != "SNMPv2-MIB::warmStart" {
		t.Errorf("after the hand edit snmptrapd got %v", got)
	}

	// An invalid hand edit is refused; the previous configuration runs on.
	writeConfig(t, dir, edited+"\nenabeld = false\n")
	waitFor(t, "the refusal in the log", func() bool { return strings.Contains(d.log.String(), "configuration change refused") })
	if !strings.Contains(d.log.String(), `unknown setting \"enabeld\"`) {
		t.Errorf("the log does not name the unknown key:\n%s", d.log)
	}
	writeConfig(t, dir, strings.Replace(edited, "port = 161", "port = 0", 1))
	waitFor(t, "the second refusal", func() bool { return strings.Count(d.log.String(), "configuration change refused") == 2 })
	if st := d.state(t); !st.Config.Enabled || st.Config.Port != 161 || st.Config.Syscontact != "noc@example.com" {
		t.Errorf("config after invalid edits: %+v", st.Config)
	}
	if code, _, _ := d.cli(t, "-T"); code != 0 {
		t.Errorf("agent not working after the refused edits")
	}
	// Hand edits are audited as the API's changes are.
	trail, _ := os.ReadFile(filepath.Join(d.dir, "state", "audit.log"))
	for _, want := range []string{`"action":"snmp.reload"`, `"setting":"syscontact"`, `"new":"noc@example.com"`, `"result":"invalid"`} {
		if !bytes.Contains(trail, []byte(want)) {
			t.Errorf("audit log lacks %s:\n%s", want, trail)
		}
	}
	if got := names(trapd.WaitTraps(t, 4, 10*time.Second)); len(got) != 4 {
		t.Errorf("snmptrapd got %v", got)
	}

	// A restart reads back what was stored and sends coldStart.
	if err := d.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := os.Stat(d.sock); !os.IsNotExist(err) {
		t.Errorf("api socket left behind: %v", err)
	}
	writeConfig(t, dir, edited) // back to a valid file
	d2 := start(t, dir)
	if st := d2.state(t); !st.Config.Enabled || st.Config.Syscontact != "noc@example.com" || len(st.Config.Targets) != 1 {
		t.Errorf("config after restart: %+v", st.Config)
	}
	traps = trapd.WaitTraps(t, 5, 10*time.Second)
	if traps[4].TrapOID != "SNMPv2-MIB::coldStart" || traps[4].Uptime > 100 {
		t.Errorf("after restart: %s uptime %d", traps[4].TrapOID, traps[4].Uptime)
	}
}

func TestDaemonRefusesInvalidConfigAtStart(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, "enabled = true\ncommunities = [\"public\"]\ntargets = [\"h@99999\"]\n")
	d := daemon.New(daemon.Options{
		ConfigDir: filepath.Join(dir, "etc"), StateDir: filepath.Join(dir, "state"), APISocket: filepath.Join(dir, "api.sock"),
		Defaults: testDefaults(t, dir),
	}, slog.New(slog.DiscardHandler))
	err := d.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "snmp.toml") || !strings.Contains(err.Error(), `"h@99999"`) {
		t.Errorf("Run = %v, want an error naming the file and the target", err)
	}
}

func TestNotrapsByMIBName(t *testing.T) {
	dir := t.TempDir()
	mibDir := peertest.MIBDir(t)
	writeConfig(t, dir, fmt.Sprintf("mib_dirs = [%q]\n", mibDir))
	d := start(t, dir)
	// authenticationFailure is not in the catalogue: only the MIB files name it.
	if code, out, errOut := d.cli(t, "-n", "SNMPv2-MIB::authenticationFailure,1.3.6.1.6.3.1.1.5.4,vmwVmPoweredOn"); code != 0 {
		t.Fatalf("notraps: exit %d\n%s%s", code, out, errOut)
	}
	if got := d.state(t).Config.Notraps; len(got) != 3 {
		t.Errorf("notraps stored %v", got)
	}
	if code, _, errOut := d.cli(t, "-n", "IF-MIB::noSuchThing"); code != 1 || !strings.Contains(errOut, `"IF-MIB::noSuchThing"`) {
		t.Errorf("unknown name: exit %d %q", code, errOut)
	}
}

func TestDaemonRefusesABusySocket(t *testing.T) {
	dir := t.TempDir()
	first := start(t, dir)
	d := daemon.New(daemon.Options{
		ConfigDir: filepath.Join(dir, "etc2"), StateDir: filepath.Join(dir, "state2"), APISocket: first.sock,
		Defaults: testDefaults(t, filepath.Join(dir, "second")),
	}, slog.New(slog.DiscardHandler))
	if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "another hostagentd is listening") {
		t.Errorf("second daemon on the same socket: %v", err)
	}
	first.state(t) // the first daemon still answers
}
