package daemon_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/manage/apiclient"
)

// TestSyslogThroughTheDaemon sets loghosts through the API, follows a log
// directory, sends a mark, and checks what rsyslogd receives; bad input is
// refused with the stored file untouched.
func TestSyslogThroughTheDaemon(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
	dir, logs := t.TempDir(), t.TempDir()
	sock := filepath.Join(dir, "syslog.sock")
	writeFile(t, filepath.Join(dir, "etc", daemon.SyslogFile), fmt.Sprintf(
		"socket = %q\nhostname = \"esx01\"\n[[files]]\nglob = %q\npriority = \"local1.notice\"\n", sock, filepath.Join(logs, "*.log")))
	d := start(t, dir)
	c, err := apiclient.NewClient("unix:" + d.sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	loghost := "tcp://" + r.TCPAddr()
	st, err := c.PatchSyslog(ctx, api.SyslogPatch{Loghosts: &[]string{loghost}})
	if err != nil || len(st.Loghosts) != 1 {
		t.Fatalf("set loghost: %v %+v", err, st)
	}
	appendLog := func(name string, from, to int) {
		f, err := os.OpenFile(filepath.Join(logs, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < to; i++ {
			fmt.Fprintf(f, "%s line %d\n", name, i)
		}
		f.Close()
	}
	appendLog("vpxa.log", 0, 100)
	if err := c.MarkSyslog(ctx, "-- MARK --"); err != nil {
		t.Fatal(err)
	}
	// A program logging through the local socket, as syslog(3) does.
	conn, err := net.Dial("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "<38>%s sshd[4242]: Accepted publickey for root", time.Now().Format(time.Stamp))
	conn.Close()
	msgs := r.WaitMessages(t, 102, 20*time.Second)
	sshd := false
	for _, m := range msgs {
		if m.AppName == "sshd" && m.ProcID == "4242" && m.Msg == "Accepted publickey for root" && m.Facility == 4 && m.Severity == 6 {
			sshd = true
		}
	}
	if !sshd {
		t.Errorf("the local socket's message did not arrive as sent")
	}
	vpxa := 0
	for _, m := range msgs {
		if m.AppName == "vpxa" && m.Facility == 17 && m.Severity == 5 && m.Hostname == "esx01" {
			vpxa++
		}
	}
	if vpxa != 100 {
		t.Errorf("%d of 100 lines of vpxa.log arrived with local1.notice from esx01", vpxa)
	}
	stored, _ := os.ReadFile(filepath.Join(dir, "etc", daemon.SyslogFile))
	if !strings.Contains(string(stored), loghost) {
		t.Errorf("syslog.toml does not hold the loghost:\n%s", stored)
	}

	// Bad loghosts are refused, naming the value; nothing changes.
	for _, bad := range []string{"http://x", "tcp://h:0", "tcp://bad_host!:514"} {
		if _, err := c.PatchSyslog(ctx, api.SyslogPatch{Loghosts: &[]string{bad}}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("loghost %q: %v", bad, err)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "etc", daemon.SyslogFile)); string(after) != string(stored) {
		t.Errorf("a refused change rewrote syslog.toml")
	}

	// A hand edit with a bad priority is refused; the forwarder goes on.
	replaceFile(t, filepath.Join(dir, "etc", daemon.SyslogFile), strings.Replace(string(stored), "local1.notice", "local9.loud", 1))
	waitFor(t, "the refusal", func() bool { return strings.Contains(d.log.String(), "configuration change refused") })
	appendLog("vpxa.log", 100, 110)
	msgs = r.WaitMessages(t, 112, 20*time.Second)

	// The daemon's own log goes to the loghosts too: the refusal above.
	waitFor(t, "the daemon's own log at the collector", func() bool {
		for _, m := range r.Messages() {
			if m.AppName == "hostagentd" && m.Facility == 3 && m.Severity == 3 && strings.Contains(m.Msg, "configuration change refused") {
				return true
			}
		}
		return false
	})

	// Reset: no loghost any more, and the daemon's factory defaults (here
	// the test's, whose socket is the one above: a reset to the host's
	// /run/hostagent/syslog.sock would fail where a hostagentd runs).
	st, err = c.PatchSyslog(ctx, api.SyslogPatch{Reset: true})
	if err != nil || len(st.Loghosts) != 0 || len(st.Config.Loghosts) != 0 || st.Config.Socket != sock || st.Config.Hostname != "" {
		t.Errorf("reset: %v %+v", err, st)
	}
}
