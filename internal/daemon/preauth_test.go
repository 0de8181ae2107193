package daemon_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hostagent/internal/daemon"
	"hostagent/manage/api"
	"hostagent/manage/tlsid"
)

// httpsDaemon starts a daemon with HTTPS on loopback (with the timeouts in
// force) and returns it, a TLS configuration trusting it, and a dialer of
// TLS connections to it from a given loopback address.
func httpsDaemon(t *testing.T) (running, *tls.Config, func(from string) (*tls.Conn, error)) {
	t.Helper()
	dir := t.TempDir()
	r := start(t, dir, func(o *daemon.Options) { o.HTTPSListen = "127.0.0.1:0" })
	addr := r.daemon.HTTPSAddr()
	id, err := tlsid.Load(filepath.Join(dir, "state"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(id.Leaf)
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	dial := func(from string) (*tls.Conn, error) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
		return tls.DialWithDialer(d, "tcp", addr, tlsConf)
	}
	return r, tlsConf, dial
}

// TestHTTPSConnectionsPerAddress: one address gets daemon.MaxConnsPerSource
// connections, the next is closed unread; another address is still
// served. The timeouts are long here, so that none of the held
// connections is closed by them while the others are opened (with both
// cores busy that took over the 1 s the other test gives them).
func TestHTTPSConnectionsPerAddress(t *testing.T) {
	t.Cleanup(daemon.SetHTTPTimeouts(time.Minute, time.Minute, time.Minute, time.Minute))
	_, _, dial := httpsDaemon(t)
	// One address: daemon.MaxConnsPerSource connections, the next closed
	// unread; another address is still served.
	var held []*tls.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range daemon.MaxConnsPerSource {
		c, err := dial("127.0.0.7")
		if err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, daemon.MaxConnsPerSource, err)
		}
		held = append(held, c)
	}
	if c, err := dial("127.0.0.7"); err == nil {
		c.Close()
		t.Errorf("connection %d from one address accepted", daemon.MaxConnsPerSource+1)
	}
	c, err := dial("127.0.0.8")
	if err != nil {
		t.Fatalf("another address refused while one is at its cap: %v", err)
	}
	c.Close()

}

// TestHTTPSConnectionsAreBounded is the attack on the doors around the
// login: a slow header, a slow body, an idle keep-alive connection and a
// client opening connection after connection each held a goroutine and
// buffers forever; a huge body was read to its end. Now timeouts close the
// first three, one address gets at most daemon.MaxConnsPerSource
// connections, and a body over 1 MiB is answered 413.
func TestHTTPSConnectionsAreBounded(t *testing.T) {
	t.Cleanup(daemon.SetHTTPTimeouts(time.Second, 2*time.Second, 2*time.Second, time.Second))
	r, tlsConf, dial := httpsDaemon(t)
	dir, addr := r.dir, r.daemon.HTTPSAddr()
	// closedByServer waits (at most 15 s, well past every timeout) for the
	// daemon to close c, and says how long it took.
	closedByServer := func(what string, c net.Conn, rd io.Reader) {
		t.Helper()
		t0 := time.Now()
		_ = c.SetReadDeadline(t0.Add(15 * time.Second))
		_, err := io.Copy(io.Discard, rd)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("%s: still open after %v", what, time.Since(t0).Round(time.Millisecond))
			return
		}
		t.Logf("%s: closed by the daemon after %v", what, time.Since(t0).Round(time.Millisecond))
	}

	// A header that never ends.
	c, err := dial("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: localhost\r\n", api.PathSession)
	closedByServer("slow header", c, c)
	c.Close()

	// A body that never comes: 1000 bytes announced, one sent.
	c, err = dial("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", api.PathSession)
	closedByServer("slow body", c, c)
	c.Close()

	// An idle keep-alive connection after a complete request.
	c, err = dial("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", api.PathIdentity)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("identity: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	closedByServer("idle keep-alive", c, br)
	c.Close()

	// A body over the limit: 413, before the login is tried.
	body := `{"user":"` + strings.Repeat("m", 2<<20) + `","password":"x"}`
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}}
	resp, err = hc.Post("https://"+addr+api.PathSession, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Contains(out, []byte("larger than the limit of 1048576 bytes")) {
		t.Errorf("oversize body: %d %s, want 413 naming the limit", resp.StatusCode, out)
	}

	// Requests without a session cost nothing to send: 120 of them, with
	// 60 KiB queries, make one audit entry, written when the burst ends
	// (here: at stop), naming the route, not the client's path.
	for i := range 120 {
		resp, err := hc.Get("https://" + addr + api.PathSNMP + "?q=" + strings.Repeat("x", 60<<10) + fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("no session: %d", resp.StatusCode)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "state", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte(`"action":"GET /api/v1/snmp"`)); n != 1 || !bytes.Contains(data, []byte("120 attempts refused")) || len(data) > 16<<10 {
		t.Errorf("audit.log after 120 requests without a session: %d bytes, %d entries for the route, want 1 counting 120:\n%s", len(data), n, data)
	}
}
