package forward

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hostagent/syslogd"
)

// TestDirNames: each loghost keeps its own state directory. Names of the
// older schemes stay as they were (their state carries over); a log bus's
// cannot collide, even where characters are replaced, and stay within a
// file name's 255 bytes.
func TestDirNames(t *testing.T) {
	if got := dirName(syslogd.Loghost{Scheme: "tcp", Host: "::1", Port: 1514}); got != "tcp_[__1]_1514" {
		t.Errorf("tcp://[::1]:1514 → %q, as before: tcp_[__1]_1514", got)
	}
	seen := map[string]string{}
	for _, s := range []string{
		"nats://h/a:b", "nats://h/a_b", "nats://h/a.b", "kafka://b1:9092,b2:9092/logs", "kafka://b1:9092/logs",
		"kafka://b2:9092,b1:9092/logs", "kafkas://b1:9092/logs", "kafka://b1:9092/logs2",
		"kafka://b1.example-with-a-long-name.example.com,b2.example-with-a-long-name.example.com," +
			"b3.example-with-a-long-name.example.com,b4.example-with-a-long-name.example.com/" + strings.Repeat("t", 240),
		"nats://[fe80::1%25eth0]:4222/logs",
	} {
		h, err := syslogd.ParseLoghost(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		name := dirName(h)
		if prev, ok := seen[name]; ok {
			t.Errorf("%s and %s share the directory %s", s, prev, name)
		}
		seen[name] = s
		if len(name) > 200 || strings.ContainsAny(name, "/:%,") || name != dirName(h) {
			t.Errorf("%s → %q: want a stable name of at most 200 bytes without / : %% ,", s, name)
		}
	}
}

// TestInstanceID: made once, the same at every start; another state
// directory (another host, or this one wiped) gets another; a damaged
// file stops the start rather than change the identities.
func TestInstanceID(t *testing.T) {
	dir := t.TempDir()
	first, err := instanceID(dir)
	if err != nil || len(first) != 32 {
		t.Fatalf("first: %q %v", first, err)
	}
	if again, err := instanceID(dir); err != nil || again != first {
		t.Errorf("second start: %q %v, want %q", again, err, first)
	}
	if other, err := instanceID(t.TempDir()); err != nil || other == first {
		t.Errorf("another state directory: %q %v", other, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "syslog", "instance.toml"), []byte("id = \"xyz\"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if id, err := instanceID(dir); err == nil || !strings.Contains(err.Error(), `"xyz"`) {
		t.Errorf("damaged file: %q %v, want an error naming the value", id, err)
	}
}
