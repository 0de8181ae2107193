package peertest

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
)

// Snmpd is a net-snmp snmpd acting as AgentX master, confined to a temp
// dir: its configuration, persistent state and AgentX socket are there,
// and the environment points it nowhere else. It plays the host's own
// snmpd, or the master a subagent attaches to.
type Snmpd struct {
	bin, dir, conf string
	port           int
	socket         string
	cmd            *exec.Cmd
	exited         chan struct{}
	out            *Buffer
}

// StartSnmpd runs snmpd -f on a free UDP port of 127.0.0.1 with "master
// agentx" on a unix socket in t.TempDir(), read-only community "public"
// and read-write community "private" (so that a SET reaches a subagent),
// and waits until it answers a GET and its socket exists.
func StartSnmpd(t testing.TB) *Snmpd {
	t.Helper()
	bin := RequireCommand(t, "snmpd", "snmpd")
	RequireCommand(t, "snmpget", "snmp")
	dir := t.TempDir()
	s := &Snmpd{bin: bin, dir: dir, conf: filepath.Join(dir, "snmpd.conf"), socket: filepath.Join(dir, "agentx.sock"), out: &Buffer{}}
	if err := os.MkdirAll(filepath.Join(dir, "persist"), 0o700); err != nil {
		t.Fatal(err)
	}
	// The free port is found by binding and releasing it; another process
	// may take it in between, so a start that fails on it tries a new one.
	for attempt := 1; ; attempt++ {
		port, err := FreeUDPPort()
		if err != nil {
			t.Fatal(err)
		}
		s.port = port
		conf := fmt.Sprintf(`# Written by hostagent's tests.
agentAddress udp:127.0.0.1:%d
master agentx
agentXSocket unix:%s
agentXPerms 0600 0700
rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
sysLocation peer snmpd
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
		s.out = &Buffer{}
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("snmpd wrote:\n%s", s.out.String())
		}
	})
	return s
}

// start runs snmpd and waits until it answers sysUpTime.0 and its AgentX
// socket exists.
func (s *Snmpd) start() error {
	// -f: foreground, so we own the process; -Lo: log to stdout; -C -c:
	// our configuration only; SNMPCONFPATH and SNMP_PERSISTENT_DIR: no
	// file of the system's is read or written. The default MIB modules
	// stay: they serve the native tables benchmarks walk.
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
	up := Until(30*time.Second, func() bool {
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
		s.Kill()
		return fmt.Errorf("snmpd on %s not answering after 30s", s.Addr())
	}
	return nil
}

// Kill ends snmpd as a crash would and waits for it.
func (s *Snmpd) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart kills snmpd and starts it again on the same port and socket.
func (s *Snmpd) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	if err := s.start(); err != nil {
		t.Fatalf("snmpd restart: %v\n%s", err, s.out.String())
	}
}

// Addr is the UDP address managers poll.
func (s *Snmpd) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Socket is the AgentX master socket.
func (s *Snmpd) Socket() string { return s.socket }

// Log is what snmpd wrote so far.
func (s *Snmpd) Log() string { return s.out.String() }
