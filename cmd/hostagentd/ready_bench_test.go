package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// BenchmarkStartToReady measures what hostagent.service's Type=notify makes
// systemd wait for at each start: the time from the exec of the daemon to
// its READY=1 on NOTIFY_SOCKET, and its resident memory at that moment.
// Side by side, Debian's rsyslogd, also Type=notify, with a socket input
// and a file output. hostagentd runs the factory configuration (configs/:
// the collectors on, the agent off) with its syslog socket and log glob
// moved under the benchmark's folder; each start is a restart (its state
// directory kept from a first, untimed, start).
//
//	go test -run '^$' -bench StartToReady -benchtime 20x ./cmd/hostagentd/
func BenchmarkStartToReady(b *testing.B) {
	bin, work := b.TempDir(), b.TempDir()
	build(b, bin)
	etc := filepath.Join(work, "etc")
	if err := os.MkdirAll(etc, 0o750); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"snmp.toml", "collectors.toml"} {
		data, err := os.ReadFile(filepath.Join("../../configs", name))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(etc, name), data, 0o640); err != nil {
			b.Fatal(err)
		}
	}
	syslogToml := fmt.Sprintf("socket = %q\n[[files]]\nglob = %q\n", filepath.Join(work, "syslog.sock"), filepath.Join(work, "log", "*.log"))
	if err := os.WriteFile(filepath.Join(etc, "syslog.toml"), []byte(syslogToml), 0o640); err != nil {
		b.Fatal(err)
	}
	hostagentd := []string{filepath.Join(bin, "hostagentd"), "--config-dir", etc,
		"--state-dir", filepath.Join(work, "state"), "--api-socket", filepath.Join(work, "api.sock")}

	rsyslogd := peertest.RequireCommand(b, "rsyslogd", "rsyslog")
	rwork := b.TempDir()
	conf := filepath.Join(rwork, "rsyslog.conf")
	rconf := fmt.Sprintf("global(workDirectory=%q)\nmodule(load=\"imuxsock\" SysSock.Use=\"off\")\n"+
		"input(type=\"imuxsock\" Socket=%q)\n*.* action(type=\"omfile\" file=%q)\n",
		rwork, filepath.Join(rwork, "log.sock"), filepath.Join(rwork, "out.log"))
	if err := os.WriteFile(conf, []byte(rconf), 0o640); err != nil {
		b.Fatal(err)
	}
	rsyslog := []string{rsyslogd, "-n", "-f", conf, "-i", filepath.Join(rwork, "rsyslogd.pid")}

	for _, c := range []struct {
		name string
		argv []string
	}{{"hostagentd", hostagentd}, {"rsyslogd", rsyslog}} {
		b.Run(c.name, func(b *testing.B) {
			startToReady(b, c.argv) // the first start, untimed: state made
			var ready time.Duration
			var rss int64
			b.ResetTimer()
			for range b.N {
				d, kb := startToReady(b, c.argv)
				ready += d
				rss += kb
			}
			b.ReportMetric(float64(ready.Microseconds())/1e3/float64(b.N), "ms-to-ready")
			b.ReportMetric(float64(rss)/1024/float64(b.N), "MiB-rss-at-ready")
		})
	}
}

// startToReady starts argv with a NOTIFY_SOCKET of its own, waits for
// READY=1, reads the process's VmRSS, stops it with SIGTERM and waits for
// it to exit.
func startToReady(b *testing.B, argv []string) (time.Duration, int64) {
	b.Helper()
	b.StopTimer()
	notify := peertest.ListenNotify(b)
	var log peertest.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(withoutVar(os.Environ(), "NOTIFY_SOCKET"), "NOTIFY_SOCKET="+notify.Path)
	cmd.Stdout, cmd.Stderr = &log, &log
	exited := make(chan error, 1)
	b.StartTimer()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { exited <- cmd.Wait() }()
	notify.Await(b, exited, "READY=1", 60*time.Second)
	took := time.Since(start)
	b.StopTimer()
	rss := vmRSS(b, cmd.Process.Pid)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		b.Fatalf("%s did not stop within 30 s of SIGTERM\n%s", argv[0], log.String())
	}
	b.StartTimer()
	return took, rss
}

// vmRSS is the process's resident memory in KiB.
func vmRSS(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
