package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// build compiles the commands once into dir.
func build(t testing.TB, dir string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", dir, "hostagent/cmd/hostagentd", "hostagent/cmd/vicfg")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The commands are links to vicfg, as make build installs them.
	for _, name := range []string{"vicfg-snmp", "vicfg-syslog", "esxcfg-snmp", "esxcfg-syslog"} {
		if err := os.Symlink("vicfg", filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBinariesStartServeAndStop runs the built daemon as a process, talks
// to it with esxcfg-snmp, and stops it with SIGTERM.
func TestBinariesStartServeAndStop(t *testing.T) {
	bin, work := t.TempDir(), t.TempDir()
	build(t, bin)
	sock := filepath.Join(work, "api.sock")
	// Its own syslog socket and log folder: the default paths belong to the
	// host (a hostagentd it runs holds /run/hostagent/syslog.sock).
	if err := os.MkdirAll(filepath.Join(work, "etc"), 0o750); err != nil {
		t.Fatal(err)
	}
	syslogToml := fmt.Sprintf("socket = %q\n[[files]]\nglob = %q\n", filepath.Join(work, "syslog.sock"), filepath.Join(work, "log", "*.log"))
	if err := os.WriteFile(filepath.Join(work, "etc", "syslog.toml"), []byte(syslogToml), 0o640); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	d := exec.Command(filepath.Join(bin, "hostagentd"), "--config-dir", filepath.Join(work, "etc"),
		"--state-dir", filepath.Join(work, "state"), "--api-socket", sock)
	d.Stdout, d.Stderr = &log, &log
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.Wait() }()
	defer func() {
		_ = d.Process.Kill()
		if t.Failed() {
			t.Logf("daemon output:\n%s", log.String())
		}
	}()

	esxcfg := func(args ...string) (string, error) {
		out, err := exec.Command(filepath.Join(bin, "esxcfg-snmp"), append([]string{"--server", "unix:" + sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	// Ready once its API answers; an early exit ends the wait at once.
	var out string
	var err error
	gone := false
	peertest.Until(20*time.Second, func() bool {
		select {
		case <-exited:
			gone = true
			return true
		default:
		}
		out, err = esxcfg("--show")
		return err == nil
	})
	if gone {
		t.Fatal("hostagentd exited at start")
	}
	if err != nil || !strings.Contains(out, "Enabled  : 0\nUDP port : 161\n") {
		t.Fatalf("esxcfg-snmp --show: %v\n%s", err, out)
	}
	out, err = esxcfg("--port", "70000")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, `esxcfg-snmp: --port "70000": must be a number from 1 to 65535`) {
		t.Errorf("bad port: %v\n%s", err, out)
	}
	show, err := exec.Command(filepath.Join(bin, "esxcfg-syslog"), "--server", "unix:"+sock, "--show").CombinedOutput()
	if err != nil || !strings.Contains(string(show), "Syslog loghosts :") {
		t.Errorf("esxcfg-syslog --show: %v\n%s", err, show)
	}
	out2, err := exec.Command(filepath.Join(bin, "esxcfg-syslog"), "--server", "unix:"+sock, "--loghost", "tcp://h:0").CombinedOutput()
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out2), "esxcfg-syslog: ") || !strings.Contains(string(out2), `"tcp://h:0"`) {
		t.Errorf("bad loghost: %v\n%s", err, out2)
	}
	out, err = esxcfg("--frobnicate")
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "unknown flag: --frobnicate") {
		t.Errorf("unknown flag: %v\n%s", err, out)
	}

	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("daemon exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop on SIGTERM")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind after SIGTERM: %v", err)
	}
	if !strings.Contains(log.String(), "hostagentd stopping") {
		t.Errorf("no shutdown in the log")
	}
}

func TestDaemonRefusesBadFlags(t *testing.T) {
	bin := t.TempDir()
	build(t, bin)
	out, err := exec.Command(filepath.Join(bin, "hostagentd"), "--no-such-flag").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "unknown flag: --no-such-flag") {
		t.Errorf("bad flag: %v\n%s", err, out)
	}
}
