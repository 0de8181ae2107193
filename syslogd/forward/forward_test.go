package forward_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/forward"
)

// appendLines writes lines "<prefix> N" for N in [from, to) to path.
func appendLines(t *testing.T, path, prefix string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i < to; i++ {
		fmt.Fprintf(f, "%s %d\n", prefix, i)
	}
}

func start(t *testing.T, cfg syslogd.Config, state string) *forward.Forwarder {
	t.Helper()
	p, err := forward.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := forward.Start(p, state, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var seqRE = regexp.MustCompile(`sequenceId="(\d+)"`)

// tally counts, per app, each line number received and checks the
// sequence numbers; it reports lines missing, duplicated, and seq gaps.
func tally(t *testing.T, msgs []peertest.Message, app, prefix string, n int) (missing, dups int) {
	t.Helper()
	seen := map[int]int{}
	lastSeq := uint64(0)
	for _, m := range msgs {
		if m.AppName != app {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(m.Msg, prefix+" %d", &i); err != nil {
			t.Errorf("unexpected message %q", m.Msg)
			continue
		}
		seen[i]++
		s, _ := strconv.ParseUint(seqRE.FindStringSubmatch(m.StructuredData)[1], 10, 64)
		if s != lastSeq+1 && seen[i] == 1 {
			t.Errorf("%s: sequenceId %d after %d", app, s, lastSeq)
		}
		lastSeq = s
	}
	for i := 0; i < n; i++ {
		switch c := seen[i]; {
		case c == 0:
			missing++
		case c > 1:
			dups += c - 1
		}
	}
	return missing, dups
}

func TestForwardFilesAndSocketToRsyslog(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
	logs, state := t.TempDir(), t.TempDir()
	app := filepath.Join(logs, "hostd.log")
	appendLines(t, app, "hostd line", 0, 1000) // written before the agent starts
	cfg := syslogd.DefaultConfig()
	cfg.Loghosts = []string{"tcp://" + r.TCPAddr()}
	cfg.Files = []syslogd.FileInput{{Glob: filepath.Join(logs, "*.log"), Priority: "local3.warning"}}
	cfg.Hostname = "esx01"
	cfg.Options = map[string]syslogd.LoghostOptions{cfg.Loghosts[0]: {RetryMax: 100 * 1e6}}

	f := start(t, cfg, state)
	appendLines(t, app, "hostd line", 1000, 2000) // and while it runs
	f.Submit(syslogd.Record{Hostname: "esx01", AppName: "sshd", ProcID: "77", Facility: 4, Severity: 5, Message: "accepted", Source: "unix:/run/test.sock"})
	f.Mark("-- MARK --")
	msgs := r.WaitMessages(t, 2002, 20*time.Second)
	if missing, dups := tally(t, msgs, "hostd", "hostd line", 2000); missing != 0 || dups != 0 {
		t.Errorf("%d lines missing, %d duplicated", missing, dups)
	}
	var sshd, mark, first peertest.Message
	for _, m := range msgs {
		switch m.AppName {
		case "sshd":
			sshd = m
		case "hostagent":
			mark = m
		case "hostd":
			if first.AppName == "" {
				first = m
			}
		}
	}
	if first.Facility != 19 || first.Severity != 4 || first.Hostname != "esx01" {
		t.Errorf("file line fields: %+v", first)
	}
	if sshd.ProcID != "77" || sshd.Msg != "accepted" || sshd.Facility != 4 || sshd.StructuredData != `[meta sequenceId="1"][hostagent@32473 source="unix:/run/test.sock"]` {
		t.Errorf("socket message: %+v", sshd)
	}
	if mark.MsgID != "MARK" || mark.Msg != "-- MARK --" {
		t.Errorf("mark: %+v", mark)
	}

	// A restart resumes after the last delivered line: nothing again.
	f.Stop()
	appendLines(t, app, "hostd line", 2000, 2500) // while the agent is down
	f = start(t, cfg, state)
	r.WaitMessages(t, 2502, 20*time.Second)
	// Lines are read and delivered in order on one connection: a line sent
	// again by the restart would come before the last one written.
	peertest.Eventually(t, 20*time.Second, "the last line written", func() bool {
		return slices.ContainsFunc(r.Messages(), func(m peertest.Message) bool { return m.Msg == "hostd line 2499" })
	})
	if missing, dups := tally(t, r.Messages(), "hostd", "hostd line", 2500); missing != 0 || dups != 0 {
		t.Errorf("after a restart: %d lines missing, %d duplicated", missing, dups)
	}

	// The collector goes down; lines written meanwhile arrive once it is back.
	r.Stop(t)
	appendLines(t, app, "hostd line", 2500, 3000)
	peertest.Eventually(t, 20*time.Second, "the forwarder to find the collector gone", func() bool { return !f.Status()[0].Connected })
	r.Start(t)
	r.WaitMessages(t, 3002, 20*time.Second)
	f.Stop()
	if missing, dups := tally(t, r.Messages(), "hostd", "hostd line", 3000); missing != 0 || dups > forwardBatch {
		t.Errorf("collector down and back: %d lines missing, %d duplicated", missing, dups)
	}
}

// forwardBatch bounds the duplicates a failure may cause: one batch.
const forwardBatch = 4096

// TestFullSpoolDropsAndSaysSo: with the collector down, socket messages
// fill the loghost's spool; the rest are dropped, counted, and announced
// by one "N messages dropped" message once the collector is back.
func TestFullSpoolDropsAndSaysSo(t *testing.T) {
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	r := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
	r.Stop(t)
	cfg := syslogd.DefaultConfig()
	cfg.Loghosts = []string{"tcp://" + r.TCPAddr()}
	cfg.Files = nil
	cfg.SpoolMax = 1 << 20
	cfg.Options = map[string]syslogd.LoghostOptions{cfg.Loghosts[0]: {RetryMax: 100 * 1e6}}
	f := start(t, cfg, t.TempDir())
	defer f.Stop()
	const sent = 20_000
	for i := range sent {
		f.Submit(syslogd.Record{Hostname: "esx01", AppName: "app", Facility: 1, Severity: 6,
			Message: fmt.Sprintf("message %05d %s", i, "padding to make the spool fill up sooner........"), Source: "unix:/test"})
	}
	st := f.Status()[0]
	if st.Dropped == 0 || st.Dropped == sent {
		t.Fatalf("dropped %d of %d with a 1 MiB spool", st.Dropped, sent)
	}
	r.Start(t)
	want := sent - int(st.Dropped) + 1
	msgs := r.WaitMessages(t, want, 30*time.Second)
	var mark string
	for _, m := range msgs {
		if m.AppName == "hostagent" {
			mark = m.Msg
		}
	}
	if !regexp.MustCompile(fmt.Sprintf(`^%d messages dropped`, st.Dropped)).MatchString(mark) {
		t.Errorf("drop announcement %q, want %d messages dropped", mark, st.Dropped)
	}
}
