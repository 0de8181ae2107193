package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hostagent/syslogd"
)

const cfgHost = "cfg-host"

// start listens on cfg and runs the Listener until the test ends, checking
// then that Run returned nil.
func start(t testing.TB, cfg Config) (*Listener, <-chan syslogd.Record) {
	t.Helper()
	l, err := Listen(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan syslogd.Record, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, func(r syslogd.Record) { ch <- r }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
		l.Close()
	})
	return l, ch
}

func socketPath(t *testing.T) string { return filepath.Join(t.TempDir(), "dev", "log") }

func recv(t *testing.T, ch <-chan syslogd.Record) syslogd.Record {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no record within 5s")
		return syslogd.Record{}
	}
}

// logger runs util-linux's logger(1), the real peer.
func logger(t *testing.T, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("logger"); err != nil {
		t.Skip("logger(1) not installed")
	}
	if out, err := exec.Command("logger", args...).CombinedOutput(); err != nil {
		t.Fatalf("logger %q: %v: %s", args, err, out)
	}
}

// send writes one raw datagram to the socket.
func send(t *testing.T, path string, msg []byte) {
	t.Helper()
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
}

func osHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func checkRecent(t *testing.T, r syslogd.Record) {
	t.Helper()
	if d := time.Since(r.Time); d < -time.Minute || d > time.Minute {
		t.Errorf("Time %v is not now", r.Time)
	}
}

// The form syslog(3) writes to /dev/log: no HOSTNAME.
func TestLoggerLocalForm(t *testing.T) {
	path := socketPath(t)
	_, ch := start(t, Config{Socket: path, Hostname: cfgHost})

	logger(t, "--socket", path, "-t", "myapp", "-p", "local3.warning", "text")
	r := recv(t, ch)
	want := syslogd.Record{Hostname: cfgHost, AppName: "myapp", Facility: 19, Severity: 4,
		Message: "text", Source: "unix:" + path, Seq: 1, Time: r.Time}
	if r != want {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
	checkRecent(t, r)

	logger(t, "--socket", path, "-t", "myapp", "--id=4242", "text 2")
	r = recv(t, ch)
	if r.AppName != "myapp" || r.ProcID != "4242" || r.Message != "text 2" || r.Hostname != cfgHost ||
		r.Facility != 1 || r.Severity != 5 || r.Seq != 2 {
		t.Errorf("got %+v", r)
	}
}

func TestLoggerRFC5424(t *testing.T) {
	path := socketPath(t)
	_, ch := start(t, Config{Socket: path, Hostname: cfgHost})

	logger(t, "--rfc5424", "--socket", path, "-t", "myapp", "-p", "daemon.err", "--msgid", "ID47",
		"--sd-id", "ex@32473", "--sd-param", `iut="3"`, "--sd-param", `eventSource="Application"`, "hello world")
	r := recv(t, ch)
	// logger adds [timeQuality ...] too: the hop's data, not kept.
	want := syslogd.Record{Hostname: osHostname(t), AppName: "myapp", MsgID: "ID47", Facility: 3, Severity: 3,
		Message: `[ex@32473 iut="3" eventSource="Application"] hello world`, Source: "unix:" + path, Seq: 1, Time: r.Time}
	if r != want {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
	checkRecent(t, r)
}

func TestLoggerRFC3164WithHostname(t *testing.T) {
	path := socketPath(t)
	_, ch := start(t, Config{Socket: path, Hostname: cfgHost})

	logger(t, "--rfc3164", "--socket", path, "-t", "myapp", "-p", "mail.info", "hi there")
	r := recv(t, ch)
	if r.Hostname != osHostname(t) || r.AppName != "myapp" || r.Message != "hi there" || r.Facility != 2 || r.Severity != 6 {
		t.Errorf("got %+v", r)
	}
	checkRecent(t, r)
}

func TestUDP(t *testing.T) {
	l, ch := start(t, Config{UDP: "127.0.0.1:0", Hostname: cfgHost})
	addr := l.inputs[0].conn.LocalAddr().(*net.UDPAddr)

	logger(t, "-d", "-n", "127.0.0.1", "-P", strconv.Itoa(addr.Port), "-t", "myapp", "--msgid", "M1", "over udp")
	r := recv(t, ch)
	if r.AppName != "myapp" || r.MsgID != "M1" || r.Message != "over udp" || r.Hostname != osHostname(t) ||
		r.Source != "udp:"+addr.String() || r.Seq != 1 {
		t.Errorf("got %+v, source want udp:%s", r, addr)
	}
	checkRecent(t, r)

	logger(t, "-d", "--rfc3164", "-n", "127.0.0.1", "-P", strconv.Itoa(addr.Port), "-t", "myapp", "bsd over udp")
	if r := recv(t, ch); r.AppName != "myapp" || r.Message != "bsd over udp" || r.Seq != 2 {
		t.Errorf("got %+v", r)
	}
}

func TestUDPNotLoopbackRefused(t *testing.T) {
	_, err := Listen(Config{UDP: "0.0.0.0:0"}, nil)
	if err == nil || !strings.Contains(err.Error(), "0.0.0.0:0") {
		t.Fatalf("err = %v, want a refusal naming the address", err)
	}
}

func TestBothSockets(t *testing.T) {
	path := socketPath(t)
	l, ch := start(t, Config{Socket: path, UDP: "[::1]:0", Hostname: cfgHost})
	if len(l.inputs) != 2 {
		t.Fatalf("%d inputs", len(l.inputs))
	}
	send(t, path, []byte("<13>Nov 25 18:01:02 a: 1"))
	c, err := net.Dial("udp", l.inputs[1].conn.LocalAddr().String())
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer c.Close()
	c.Write([]byte("<13>Nov 25 18:01:02 b: 2"))
	got := map[string]string{}
	for range 2 {
		r := recv(t, ch)
		got[r.AppName] = r.Source
	}
	if got["a"] != "unix:"+path || !strings.HasPrefix(got["b"], "udp:[::1]:") {
		t.Errorf("sources %v", got)
	}
}

func TestMalformedKept(t *testing.T) {
	path := socketPath(t)
	_, ch := start(t, Config{Socket: path, Hostname: cfgHost})
	for _, c := range []struct {
		in       string
		fac, sev int
		msg      string
	}{
		{"hello world", 1, 5, "hello world"},
		{"<11>not syslog at all", 1, 3, "not syslog at all"},
		{"<999>bad pri", 1, 5, "<999>bad pri"},
		{"<13>1 2024-01-02T03:04:05Z h app 12 ID47 [bad", 1, 5, "1 2024-01-02T03:04:05Z h app 12 ID47 [bad"},
	} {
		send(t, path, []byte(c.in))
		r := recv(t, ch)
		if int(r.Facility) != c.fac || int(r.Severity) != c.sev || r.Message != c.msg || r.Hostname != cfgHost {
			t.Errorf("%q: got %+v", c.in, r)
		}
		checkRecent(t, r)
	}
}

func TestLongMessage(t *testing.T) {
	path := socketPath(t)
	_, ch := start(t, Config{Socket: path, Hostname: cfgHost})

	text := strings.Repeat("0123456789abcdef", 60<<10/16)
	logger(t, "--socket", path, "-S", "70000", "-t", "myapp", text)
	if r := recv(t, ch); r.Message != text || r.AppName != "myapp" {
		t.Errorf("60 KiB message: got %d bytes, app %q", len(r.Message), r.AppName)
	}

	// Longer than the limit: cut, but kept.
	send(t, path, []byte("<13>Nov 25 18:01:02 myapp: "+strings.Repeat("x", 70<<10)))
	r := recv(t, ch)
	if n := len("<13>Nov 25 18:01:02 myapp: ") + len(r.Message); n != MaxMessage || r.AppName != "myapp" {
		t.Errorf("over-long message: got %d bytes, want %d", n, MaxMessage)
	}
}

func TestControlBytesEscaped(t *testing.T) {
	path := socketPath(t)
	_, ch := start(t, Config{Socket: path, Hostname: cfgHost})

	send(t, path, []byte("<13>Nov 25 18:01:02 myapp[1]: a\x00b\x01c\td\ne\x7f caf\xc3\xa9 \xff\n"))
	r := recv(t, ch)
	if want := `a#000b#001c` + "\t" + `d#012e#177 café \xFF`; r.Message != want || r.AppName != "myapp" {
		t.Errorf("got %q (app %q), want %q", r.Message, r.AppName, want)
	}
}

func TestSocketMode(t *testing.T) {
	path := socketPath(t)
	start(t, Config{Socket: path})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o666 {
		t.Errorf("mode %v, want a socket with 0666", fi.Mode())
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	old, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	// Still listening: refused.
	if _, err := Listen(Config{Socket: path}, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("live socket: err = %v, want a refusal naming %s", err, path)
	}
	old.Close() // the file stays, as after a crash
	_, ch := start(t, Config{Socket: path, Hostname: cfgHost})
	send(t, path, []byte("<13>Nov 25 18:01:02 myapp: after"))
	if r := recv(t, ch); r.Message != "after" {
		t.Errorf("got %+v", r)
	}
}

func TestRegularFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(Config{Socket: path}, nil)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want a refusal naming %s", err, path)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
		t.Errorf("file changed: %q, %v", b, err)
	}
}

func TestRunStopsAndCloseRemovesSocket(t *testing.T) {
	path := socketPath(t)
	l, err := Listen(Config{Socket: path, UDP: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	got := make(chan struct{}, 1)
	go func() {
		done <- l.Run(ctx, func(syslogd.Record) {
			select {
			case got <- struct{}{}:
			default:
			}
		})
	}()
	// Cancel a Run that is receiving: once a message came through.
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "<13>running")
	c.Close()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not hand over a message")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file still there: %v", err)
	}
	// Run on a closed Listener returns at once.
	if err := l.Run(context.Background(), func(syslogd.Record) {}); err != nil {
		t.Errorf("Run after Close: %v", err)
	}
}

func TestNothingConfigured(t *testing.T) {
	if _, err := Listen(Config{}, nil); err == nil {
		t.Fatal("no error")
	}
}

// Messages per second read from the unix socket, parsed and delivered.
func BenchmarkUnixSocket(b *testing.B) {
	path := filepath.Join(b.TempDir(), "log")
	l, err := Listen(Config{Socket: path, Hostname: cfgHost}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	got := make(chan struct{}, 1)
	n := 0
	go l.Run(context.Background(), func(syslogd.Record) {
		if n++; n == b.N {
			got <- struct{}{}
		}
	})
	c, err := net.Dial("unixgram", path)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := []byte("<30>Nov 25 18:01:02 myapp[12345]: connection from 192.0.2.7 port 51234 accepted for user alice")
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(msg); err != nil { // blocks while the queue is full: none lost
			b.Fatal(err)
		}
	}
	<-got
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
