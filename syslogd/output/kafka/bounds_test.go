package kafka

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/output"
)

// TestMemoryBound: with the cluster unreachable and lines of 8 KiB,
// Deliver stops taking batches once about maxUnackedBytes are
// unacknowledged (long before maxUnacked records), and the heap stays
// bounded.
func TestMemoryBound(t *testing.T) {
	c := newCluster(t)
	h := c.loghost(t, testTopic)
	o := newOutput(t, h, testSettings(h), nil)
	for _, b := range c.brokers {
		b.down(t)
	}
	const size, batch = 8 << 10, 256
	recs := records(batch, "esx")
	line := strings.Repeat("x", size) // shared: only what the output makes of it takes memory
	for i := range recs {
		recs[i].Message = line
	}
	taken := 0
	for range 64 { // 128 MiB offered
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := o.Deliver(ctx, recs)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		taken++
	}
	held := o.Unconfirmed() * size
	t.Logf("%d batches of %d records of %d bytes taken: %d unacknowledged, %d MiB of lines; stats %+v",
		taken, batch, size, o.Unconfirmed(), held>>20, o.Stats())
	if held > maxUnackedBytes+batch*size || held < maxUnackedBytes-2*batch*size {
		t.Errorf("%d bytes of lines unacknowledged; want about %d (within a batch of %d)", held, maxUnackedBytes, batch*size)
	}
	if o.Confirmed() != 0 {
		t.Errorf("confirmed %d without a broker", o.Confirmed())
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use: %d MiB", ms.HeapInuse>>20)
	if ms.HeapInuse > 100<<20 {
		t.Errorf("heap in use %d MiB with %d MiB of lines unacknowledged", ms.HeapInuse>>20, held>>20)
	}
}

// TestRefusedForSize: a record larger than the brokers' message.max.bytes
// is refused every time: kept and produced again (never dropped), its
// batch never confirmed, and the outage stays shown, said once; once the
// limit is raised, everything is stored, once.
func TestRefusedForSize(t *testing.T) {
	c := newCluster(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4096"}))
	h := c.loghost(t, testTopic)
	s := testSettings(h)
	var logBuf peertest.Buffer
	o := newOutput(t, h, s, slog.New(slog.NewTextHandler(&logBuf, nil)))
	recs := records(10, "esx")
	recs[4].Message = strings.Repeat("y", 8000)
	last := deliver(t, o, recs, 5, nil)
	waitStats(t, o, 30*time.Second, "the refusal in Stats, three times", func(st output.Stats) bool {
		return strings.Contains(st.LastError, "bytes refused") && st.Unconfirmed > 0 && st.Failed >= 3*uint64(st.Unconfirmed)
	})
	st := o.Stats()
	t.Logf("stats %+v", st)
	if !strings.Contains(st.LastError, "record of ") || !strings.Contains(st.LastError, "raise it") ||
		!strings.Contains(st.LastError, "message.max.bytes") {
		t.Errorf("last error %q: want the record's size and what to do", st.LastError)
	}
	if o.Confirmed() != 0 || st.Unconfirmed == 0 || st.Connected {
		t.Errorf("confirmed batch %d (want 0), stats %+v", o.Confirmed(), st)
	}
	if n := strings.Count(logBuf.String(), "\n"); n > 2 || strings.Contains(logBuf.String(), "acknowledges again") {
		t.Errorf("%d lines logged, want the outage's warning once:\n%s", n, logBuf.String())
	}

	setBrokerConfig(t, c, "message.max.bytes", "1048588")
	waitConfirmed(t, o, last, time.Minute)
	verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic), s, true)
	if st := o.Stats(); st.LastError != "" || st.Unconfirmed != 0 || !st.Connected {
		t.Errorf("after the limit was raised: %+v", st)
	}
}

// setBrokerConfig sets a cluster-wide broker config, as an operator would.
func setBrokerConfig(t *testing.T, c *cluster, name, value string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType = kmsg.ConfigResourceTypeBroker
	cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	cfg.Name, cfg.Value = name, kmsg.StringPtr(value)
	r.Configs = append(r.Configs, cfg)
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatalf("alter config %s: %v", name, err)
	}
	for _, rr := range resp.Resources {
		if rr.ErrorCode != 0 {
			t.Fatalf("alter config %s: error %d %v", name, rr.ErrorCode, rr.ErrorMessage)
		}
	}
}

// TestSecretFileKinds: a FIFO or an oversized file named as the password
// file is refused at once, the error naming the loghost and the file.
func TestSecretFileKinds(t *testing.T) {
	h, err := syslogd.ParseLoghost("kafka://127.0.0.1:1/logs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, output.MaxSecretFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{fifo, big} {
		s := testSettings(h)
		s.SASL, s.Username, s.PasswordFile = "plain", "agent", file
		done := make(chan error, 1)
		go func() {
			o, err := New(h, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				o.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), h.String()) {
				t.Errorf("password file %s: err %v, want one naming the loghost and the file", filepath.Base(file), err)
			} else {
				t.Logf("password file %s: %v", filepath.Base(file), err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("password file %s: New still reading after 10 s", filepath.Base(file))
		}
	}
}

// TestLoggerLevel: franz-go's messages carry one level, franz-go's as
// slog's, and come only when the agent logs at debug level.
func TestLoggerLevel(t *testing.T) {
	var buf peertest.Buffer
	l := logger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if l.Level() != kgo.LogLevelInfo {
		t.Errorf("level %v at debug", l.Level())
	}
	for _, lv := range []kgo.LogLevel{kgo.LogLevelError, kgo.LogLevelWarn, kgo.LogLevelInfo, kgo.LogLevelDebug} {
		l.Log(lv, "something", "broker", "1")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"ERROR", "WARN", "INFO", "DEBUG"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		if strings.Count(line, "level=") != 1 || !strings.Contains(line, "level="+want[i]+" ") ||
			!strings.Contains(line, "broker=1") {
			t.Errorf("line %q: want one level=%s and the client's keys", line, want[i])
		}
	}
	quiet := logger{slog.New(slog.NewTextHandler(io.Discard, nil))}
	if quiet.Level() != kgo.LogLevelNone {
		t.Errorf("level %v at info", quiet.Level())
	}
}
