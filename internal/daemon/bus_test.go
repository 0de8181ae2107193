package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/manage/apiclient"
	"hostagent/manage/vicfg"
	syslogcmd "hostagent/manage/vicfg/syslog"
)

// TestNatsLoghostThroughTheDaemon: a nats:// loghost set with vicfg-syslog
// against a real nats-server with JetStream. The lines of a log file and a
// socket message are stored in the stream, each once, with its headers;
// vicfg-syslog --show, the API and /metrics count them acknowledged, with
// the latency; the change is in the audit log; a stream that refuses
// (none takes the subject) is said so in --show, and nothing is lost when
// one is added.
func TestNatsLoghostThroughTheDaemon(t *testing.T) {
	srv := peertest.StartNatsServer(t, peertest.NatsServerOptions{})
	dir, logs := t.TempDir(), t.TempDir()
	sock := filepath.Join(dir, "syslog.sock")
	writeFile(t, filepath.Join(dir, "etc", daemon.SyslogFile), fmt.Sprintf(
		"socket = %q\nhostname = \"esx01\"\n[[files]]\nglob = %q\n", sock, filepath.Join(logs, "*.log")))
	d := start(t, dir)
	c, err := apiclient.NewClient("unix:" + d.sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vicfgSyslog := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := syslogcmd.Command.Run(ctx, "vicfg-syslog", append([]string{"--server", "unix:" + d.sock}, args...), vicfg.IO{Stdout: &out, Stderr: &errOut})
		return code, out.String(), errOut.String()
	}

	// No stream takes the subject yet: the records wait, and --show says why.
	loghost := fmt.Sprintf("nats://127.0.0.1:%d/logs.esx01", srv.Port())
	if code, out, errOut := vicfgSyslog("--loghost", loghost); code != 0 {
		t.Fatalf("vicfg-syslog --loghost: %d %s %s", code, out, errOut)
	}
	f, err := os.OpenFile(filepath.Join(logs, "vpxa.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		fmt.Fprintf(f, "vpxa line %d\n", i)
	}
	f.Close()
	waitFor(t, "--show to say no stream takes the subject", func() bool {
		_, out, _ := vicfgSyslog("--show")
		return strings.Contains(out, "logs.esx01") && strings.Contains(out, "last error") && strings.Contains(out, "no stream")
	})
	srv.AddStream(t, jetstream.StreamConfig{Name: "LOGS", Subjects: []string{"logs.>"}})
	conn, err := net.Dial("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "<38>%s sshd[4242]: Accepted publickey for root", time.Now().Format(time.Stamp))
	conn.Close()

	var vpxa, sshd int
	ids := map[string]bool{}
	peertest.Eventually(t, 30*time.Second, "100 lines of vpxa.log and the sshd message in the stream", func() bool {
		vpxa, sshd = 0, 0
		for _, m := range srv.Messages(t, "LOGS") {
			id := m.Header.Get("Nats-Msg-Id")
			if ids[id] && id != "" {
				t.Errorf("message %s stored twice", id)
			}
			ids[id] = true
			switch {
			case strings.Contains(string(m.Data), "vpxa line "):
				if m.Header.Get("hostname") != "esx01" || m.Header.Get("source") != filepath.Join(logs, "vpxa.log") ||
					m.Header.Get("sequenceId") == "" || m.Header.Get("source_id") == "" || m.Subject != "logs.esx01" {
					t.Errorf("vpxa record %q: headers %v", m.Data, m.Header)
				}
				vpxa++
			case strings.Contains(string(m.Data), "Accepted publickey for root"):
				sshd++
			}
		}
		clear(ids)
		return vpxa == 100 && sshd == 1
	})

	st, err := c.Syslog(ctx)
	if err != nil || len(st.Loghosts) != 1 {
		t.Fatalf("API: %v %+v", err, st)
	}
	// The daemon's own log goes to the loghost too: some may be in flight.
	if l := st.Loghosts[0]; l.Confirmed < 101 || l.AckLatency <= 0 || !strings.Contains(l.Guarantee, "JetStream") {
		t.Errorf("API's account of the loghost: %+v", l)
	}
	_, show, _ := vicfgSyslog("--show")
	if !strings.Contains(show, loghost) || !strings.Contains(show, "connected") || !strings.Contains(show, "mean ack latency") ||
		!strings.Contains(show, "delivery: stored by the JetStream stream") {
		t.Errorf("vicfg-syslog --show:\n%s", show)
	}

	metrics := getMetrics(t, d.sock)
	for _, want := range []string{
		fmt.Sprintf(`hostagent_syslog_messages_confirmed_total{loghost=%q}`, loghost),
		fmt.Sprintf(`hostagent_syslog_unconfirmed{loghost=%q}`, loghost),
		fmt.Sprintf(`hostagent_syslog_publish_failures_total{loghost=%q}`, loghost),
		fmt.Sprintf(`hostagent_syslog_ack_latency_seconds_count{loghost=%q}`, loghost),
		fmt.Sprintf(`hostagent_syslog_ack_latency_seconds_sum{loghost=%q}`, loghost),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(metrics, "hostagent_syslog"))
		}
	}

	trail, _ := os.ReadFile(filepath.Join(dir, "state", "audit.log"))
	if !strings.Contains(string(trail), "syslog.update") || !strings.Contains(string(trail), "logs.esx01") {
		t.Errorf("the audit log does not record the new loghost:\n%s", trail)
	}
}

// getMetrics reads /metrics over the API socket.
func getMetrics(t *testing.T, sock string) string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Get("http://hostagentd" + api.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v %s", resp.StatusCode, err, body)
	}
	return string(body)
}
