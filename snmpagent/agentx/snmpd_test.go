package agentx

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// testSnmpd is a private net-snmp snmpd acting as AgentX master, confined
// to a temp dir: its configuration, persistent state and AgentX socket are
// there, and the environment points it nowhere else.
type testSnmpd struct {
	bin, dir, conf string
	port           int
	socket         string
	cmd            *exec.Cmd
	exited         chan struct{}
	out            *peertest.Buffer
}

// startSnmpd runs snmpd -f on a free UDP port of 127.0.0.1 with
// "master agentx" on a unix socket in t.TempDir(), read-only community
// "public" and read-write community "private" (so that a SET reaches the
// subagent's TestSet), and waits until it answers a GET.
func startSnmpd(t testing.TB) *testSnmpd {
	t.Helper()
	bin := peertest.RequireCommand(t, "snmpd", "snmpd")
	peertest.RequireCommand(t, "snmpget", "snmp")
	dir := t.TempDir()
	s := &testSnmpd{bin: bin, dir: dir, conf: filepath.Join(dir, "snmpd.conf"), socket: filepath.Join(dir, "agentx.sock"), out: &peertest.Buffer{}}
	if err := os.MkdirAll(filepath.Join(dir, "persist"), 0o700); err != nil {
		t.Fatal(err)
	}
	// The free port is found by binding and releasing it; another process
	// may take it in between, so a start that fails on it tries a new one.
	for attempt := 1; ; attempt++ {
		port, err := peertest.FreeUDPPort()
		if err != nil {
			t.Fatal(err)
		}
		s.port = port
		conf := fmt.Sprintf(`# Written by the hostagent/snmpagent/agentx tests.
agentAddress udp:127.0.0.1:%d
master agentx
agentXSocket unix:%s
agentXPerms 0600 0700
rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
sysLocation agentx test
sysContact test@example.invalid
`, port, s.socket)
		if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		err = s.start()
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(s.out.String(), "in use") {
			t.Fatalf("snmpd: %v\n%s", err, s.out.String())
		}
		s.out = &peertest.Buffer{}
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("snmpd wrote:\n%s", s.out.String())
		}
	})
	return s
}

// start runs snmpd and waits until it answers sysUpTime.0 and its AgentX
// socket exists.
func (s *testSnmpd) start() error {
	// -f: foreground, so we own the process; -Lo: log to stdout; -C -c:
	// our configuration only; SNMPCONFPATH and SNMP_PERSISTENT_DIR: no
	// file of the system's is read or written. The default MIB modules
	// stay: they serve the native tables the benchmark walks.
	cmd := exec.Command(s.bin, "-f", "-Lo", "-C", "-c", s.conf, "-p", filepath.Join(s.dir, "snmpd.pid"))
	cmd.Env = append(cleanEnv(), "SNMPCONFPATH="+s.dir, "SNMP_PERSISTENT_DIR="+filepath.Join(s.dir, "persist"), "MIBS=")
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start snmpd: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	exited := false
	up := peertest.Until(30*time.Second, func() bool {
		select {
		case <-s.exited:
			exited = true
			return true
		default:
		}
		if _, err := os.Stat(s.socket); err != nil {
			return false
		}
		out, err := exec.Command("snmpget", "-v2c", "-c", "public", "-On", "-m", "", "-t", "0.3", "-r", "0", s.Addr(), ".1.3.6.1.2.1.1.3.0").CombinedOutput()
		return err == nil && strings.Contains(string(out), "Timeticks")
	})
	switch {
	case exited:
		return fmt.Errorf("snmpd exited at start")
	case !up:
		s.kill()
		return fmt.Errorf("snmpd on %s not answering after 30s", s.Addr())
	}
	return nil
}

// kill ends snmpd as a crash would and waits for it.
func (s *testSnmpd) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// restart kills snmpd and starts it again on the same port and socket.
func (s *testSnmpd) restart(t testing.TB) {
	t.Helper()
	s.kill()
	if err := s.start(); err != nil {
		t.Fatalf("snmpd restart: %v\n%s", err, s.out.String())
	}
}

// Addr is the UDP address managers poll.
func (s *testSnmpd) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// cleanEnv drops variables that would point net-snmp at other MIBs or
// configuration.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MIBS", "MIBDIRS", "SNMPCONFPATH", "SNMP_PERSISTENT_DIR", "SNMP_PERSISTENT_FILE":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// snmpCmd runs a net-snmp client (snmpget, snmpwalk, ...) against s with
// numeric output and no MIB loaded, and returns its stdout.
func (s *testSnmpd) snmpCmd(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	all := append([]string{"-v2c", "-m", "", "-On", "-Ox", "-t", "3", "-r", "1"}, args...)
	cmd := exec.Command(name, all...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}
