package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// The snmp.toml hand-edit defects of issue 11, each as the failing
// scenario, with a real snmptrapd receiving.

// enabledDaemon starts a daemon on dir sending v2c traps to trapd, and
// waits for its coldStart.
func enabledDaemon(t *testing.T, dir string, trapd *peertest.Snmptrapd) running {
	t.Helper()
	d := start(t, dir)
	target := fmt.Sprintf("127.0.0.1@%d", trapd.Port())
	if code, out, errOut := d.cli(t, "-c", "public", "-t", target, "-E"); code != 0 {
		t.Fatalf("enable: exit %d\n%s%s", code, out, errOut)
	}
	trapd.WaitTraps(t, 1, 10*time.Second)
	return d
}

// logLine is the first line of log holding every one of parts, "" if none.
func logLine(log string, parts ...string) string {
	for line := range strings.Lines(log) {
		found := true
		for _, p := range parts {
			found = found && strings.Contains(line, p)
		}
		if found {
			return line
		}
	}
	return ""
}

// TestEmptySNMPFileIsRefused: an empty (or comments only) snmp.toml used
// to be all defaults, the agent off, with an INFO line: nothing reached
// the receivers. It is refused at ERROR, naming the file, and the agent
// keeps sending.
func TestEmptySNMPFileIsRefused(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	dir := t.TempDir()
	d := enabledDaemon(t, dir, trapd)

	for i, body := range []string{"", "# snmp.toml, to be written\n\n   \n# later\n"} {
		writeConfig(t, dir, body)
		waitFor(t, fmt.Sprintf("refusal #%d", i+1), func() bool {
			return strings.Count(d.log.String(), "holds no setting") == i+1
		})
	}
	line := logLine(d.log.String(), "configuration change refused", "holds no setting")
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, d.file()) || !strings.Contains(line, "remove it to run the factory defaults") {
		t.Errorf("the refusal is not an ERROR naming the file and what to do:\n%s", line)
	}
	if strings.Contains(d.log.String(), "SNMP agent disabled") {
		t.Errorf("the agent was disabled:\n%s", d.log)
	}
	if st := d.state(t); !st.Config.Enabled || len(st.Config.Targets) != 1 {
		t.Fatalf("config after the empty file: %+v", st.Config)
	}
	// Still sending: --test reaches snmptrapd.
	if code, out, errOut := d.cli(t, "--test"); code != 0 {
		t.Fatalf("--test: exit %d\n%s%s", code, out, errOut)
	}
	if got := names(trapd.WaitTraps(t, 2, 10*time.Second)); got[1] != "SNMPv2-MIB::warmStart" {
		t.Errorf("snmptrapd got %v", got)
	}
}

// TestSlowInPlaceSaveDoesNotFlap: a writer that truncates snmp.toml,
// writes half, pauses and writes the rest through the same open file used
// to have its half applied (settings of the other half at their defaults:
// the agent off), then the whole: every receiver got a second coldStart,
// a false reboot. The save is applied once, when complete: one warmStart.
func TestSlowInPlaceSaveDoesNotFlap(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	dir := t.TempDir()
	d := enabledDaemon(t, dir, trapd)

	stored, err := os.ReadFile(d.file())
	if err != nil {
		t.Fatal(err)
	}
	// The new file with "enabled = true" last: its first half, applied,
	// would turn the agent off.
	var body strings.Builder
	for line := range strings.Lines(string(stored)) {
		switch {
		case strings.HasPrefix(line, "enabled = "):
		case strings.HasPrefix(line, "syscontact = "):
			body.WriteString("syscontact = \"noc@example.com\"\n")
		default:
			body.WriteString(line)
		}
	}
	if !strings.Contains(body.String(), "noc@example.com") || strings.Contains(body.String(), "enabled =") || !strings.Contains(string(stored), "enabled = true") {
		t.Fatalf("cannot find enabled and syscontact in:\n%s", stored)
	}
	half, rest := body.String(), "enabled = true\n"

	before, err := os.Stat(d.file())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(d.file(), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(half); err != nil {
		t.Fatal(err)
	}
	// The writer's pause: part of the scenario, three times the daemon's
	// 200 ms debounce.
	time.Sleep(600 * time.Millisecond)
	if _, err := f.WriteString(rest); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if after, err := os.Stat(d.file()); err != nil || !os.SameFile(before, after) {
		t.Fatal("the save replaced the file; it must write in place")
	}

	waitFor(t, "the save applied", func() bool { c := d.state(t).Config; return c.Syscontact == "noc@example.com" && c.Enabled })
	// A marker after the save: whatever the save sent came before it.
	if code, out, errOut := d.cli(t, "--test"); code != 0 {
		t.Fatalf("--test: exit %d\n%s%s", code, out, errOut)
	}
	traps := trapd.WaitTraps(t, 3, 10*time.Second)
	want := []string{"SNMPv2-MIB::coldStart", "SNMPv2-MIB::warmStart", "SNMPv2-MIB::warmStart"}
	if got := names(traps); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("snmptrapd got %v, want %v (the save once, then the test)", got, want)
	}
	for _, bad := range []string{"SNMP agent disabled", "configuration change refused"} {
		if strings.Contains(d.log.String(), bad) {
			t.Errorf("the daemon logged %q during the save:\n%s", bad, d.log)
		}
	}
	// The reload logs after it applied the configuration (and audited and
	// saved it): wait for its line before counting them.
	waitFor(t, "the reload logged", func() bool { return strings.Contains(d.log.String(), `msg="configuration reloaded"`) })
	if n := strings.Count(d.log.String(), `msg="configuration reloaded"`); n != 1 {
		t.Errorf("the save was applied %d times, want once", n)
	}
}

// TestStartFromLastGoodSNMPConfig: a hand edit the running daemon refused
// stays on disk; the next start used to refuse it too and exit 1, the agent
// down after a reboot. The start runs the last good configuration, loudly.
func TestStartFromLastGoodSNMPConfig(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	dir := t.TempDir()
	d := enabledDaemon(t, dir, trapd)
	stored, err := os.ReadFile(d.file())
	if err != nil {
		t.Fatal(err)
	}
	invalid := string(stored) + "enabeld = false\n"
	writeConfig(t, dir, invalid)
	waitFor(t, "the refusal", func() bool { return strings.Contains(d.log.String(), "configuration change refused") })
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	d2 := start(t, dir) // fails the test if the daemon does not start
	if st := d2.state(t); !st.Config.Enabled || len(st.Config.Targets) != 1 {
		t.Errorf("config after the restart: %+v", st.Config)
	}
	traps := trapd.WaitTraps(t, 2, 10*time.Second)
	if traps[1].TrapOID != "SNMPv2-MIB::coldStart" {
		t.Errorf("after the restart snmptrapd got %v", names(traps))
	}
	line := logLine(d2.log.String(), "the last good configuration runs instead")
	for _, want := range []string{"level=ERROR", d2.file(), `unknown setting \"enabeld\"`, filepath.Join(dir, "state", "snmp.toml.last-good")} {
		if !strings.Contains(line, want) {
			t.Errorf("the start's log line lacks %s:\n%s", want, line)
		}
	}
	trail, _ := os.ReadFile(filepath.Join(dir, "state", "audit.log"))
	if l := logLine(string(trail), `"action":"snmp.start"`); !strings.Contains(l, `"result":"invalid"`) || !strings.Contains(l, "last good configuration") {
		t.Errorf("no audit entry of the start from the last good configuration:\n%s", trail)
	}
	// The file is the admin's: left as it is, to be fixed.
	if now, _ := os.ReadFile(d2.file()); string(now) != invalid {
		t.Errorf("the invalid file was rewritten:\n%s", now)
	}
	// Fixed by hand, it is applied.
	writeConfig(t, dir, strings.Replace(string(stored), `syscontact = ""`, `syscontact = "fixed"`, 1))
	waitFor(t, "the fixed file applied", func() bool { return d2.state(t).Config.Syscontact == "fixed" })
}

// TestStartFromLastGoodSyslogAndCollectors: the same for syslog.toml and
// collectors.toml.
func TestStartFromLastGoodSyslogAndCollectors(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	if err := os.MkdirAll(etc, 0o750); err != nil {
		t.Fatal(err)
	}
	d := start(t, dir)
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"syslog.toml", "collectors.toml"} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte("this is not = = toml\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	d2 := start(t, dir)
	for _, name := range []string{"syslog.toml", "collectors.toml"} {
		if line := logLine(d2.log.String(), "the last good configuration runs instead", filepath.Join(etc, name)); !strings.Contains(line, "level=ERROR") {
			t.Errorf("no ERROR for %s:\n%s", name, d2.log)
		}
	}
}
