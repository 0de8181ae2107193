package usm_test

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/snmpagent/usm"
)

// TestPysnmpDecodesTraps: a second implementation, pysnmp (Debian
// python3-pysnmp4), decodes the agent's traps for one combination of each
// kind: authPriv with SHA-256/AES-128 and SHA-512/AES-256, authNoPriv
// with SHA-1, and noAuthNoPriv; a trap with a wrong key is not delivered.
func TestPysnmpDecodesTraps(t *testing.T) {
	py := peertest.RequirePythonModule(t, "pysnmp", "python3-pysnmp4")
	engineID := newEngineID(t)
	picked := []combo{{name: "none", level: usm.NoAuthNoPriv}}
	for _, c := range combos() {
		switch c.name {
		case "sha256-aes128", "sha512-aes256", "sha1-none":
			picked = append(picked, c)
		}
	}
	args := []string{"testdata/pysnmp_receiver.py", fmt.Sprintf("%x", engineID)}
	for _, c := range picked {
		auth, priv := "none", "none"
		if c.level >= usm.AuthNoPriv {
			auth = c.auth.String()
		}
		if c.level == usm.AuthPriv {
			priv = c.priv.String()
		}
		args = append(args, strings.Join([]string{c.name, auth, "auth-" + c.name, priv, "priv-" + c.name}, ":"))
	}
	cmd := exec.Command(py, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("pysnmp receiver stderr:\n%s", stderr.String())
		}
	})
	var mu sync.Mutex
	var lines []string
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			if p, ok := strings.CutPrefix(l, "PORT "); ok {
				port <- p
				continue
			}
			mu.Lock()
			lines = append(lines, l)
			mu.Unlock()
		}
	}()
	var addr string
	select {
	case p := <-port:
		addr = net.JoinHostPort("127.0.0.1", p)
	case <-time.After(30 * time.Second):
		t.Fatalf("the pysnmp receiver did not start: %s", stderr.String())
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	notified := func(user, marker string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range lines {
			if strings.HasPrefix(l, "NOTIFY "+user+" ") && strings.Contains(l, "1.3.6.1.6.3.1.1.4.1.0=1.3.6.1.6.3.1.1.5.1") && strings.Contains(l, "1.3.6.1.2.1.1.6.0="+marker) {
				return true
			}
		}
		return false
	}
	for i, c := range picked {
		// A wrong key first: pysnmp must drop it.
		if c.level >= usm.AuthNoPriv {
			bad := c.user(t, engineID, "not-the-password")
			if _, err := conn.Write(trap(t, wrapper(t, bad, engineID), engineID, "forged-"+c.name, int32(1000+i))); err != nil {
				t.Fatal(err)
			}
		}
		u := c.user(t, engineID, "auth-"+c.name)
		if _, err := conn.Write(trap(t, wrapper(t, u, engineID), engineID, "marker-"+c.name, int32(2000+i))); err != nil {
			t.Fatal(err)
		}
		peertest.Eventually(t, 20*time.Second, "pysnmp decodes the "+c.name+" trap", func() bool { return notified(c.name, "marker-"+c.name) })
		if notified(c.name, "forged-"+c.name) {
			t.Errorf("%s: pysnmp accepted a trap with a wrong key", c.name)
		}
	}
}
