package peertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// Libvirtd is a private libvirtd serving the test driver (test:///default)
// on its own socket; nothing of the host's libvirt is touched.
type Libvirtd struct {
	bin, dir, socket string
	cmd              *exec.Cmd
	exited           chan struct{}
	log              *os.File
	// holder keeps a connection to test:///default open: the test driver
	// forgets its domains when its last connection closes, and a test that
	// stops its collector must not lose them.
	holder *libvirt.Libvirt
}

// StartLibvirtd runs libvirtd as a child with a config in t.TempDir() and
// waits until its socket accepts connections. libvirtd needs root; it
// loads no driver module (only the built-in test driver runs), so that
// several run at once.
func StartLibvirtd(t testing.TB) *Libvirtd {
	t.Helper()
	bin := RequireCommand(t, "libvirtd", "libvirt-daemon")
	if os.Geteuid() != 0 {
		unavailable(t, "libvirtd runs as root in these tests; run them as root (CI does)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "libvirtd.conf")
	body := fmt.Sprintf("unix_sock_dir = %q\nunix_sock_rw_perms = \"0700\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n", dir)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &Libvirtd{bin: bin, dir: dir, socket: filepath.Join(dir, "libvirt-sock")}
	d.Start(t)
	t.Cleanup(func() {
		d.Stop(t)
		if t.Failed() {
			out, _ := os.ReadFile(filepath.Join(dir, "libvirtd.log"))
			t.Logf("libvirtd wrote:\n%s", out)
		}
	})
	return d
}

// Socket is the path of libvirtd's read-write socket.
func (d *Libvirtd) Socket() string { return d.socket }

// URI is a URI for virsh that reaches the test driver through this daemon.
func (d *Libvirtd) URI() string { return "test+unix:///default?socket=" + d.socket }

// Start (re)starts the daemon and waits for its socket.
func (d *Libvirtd) Start(t testing.TB) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(d.dir, "libvirtd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(d.socket)
	cmd := exec.Command(d.bin, "-f", filepath.Join(d.dir, "libvirtd.conf"), "-p", filepath.Join(d.dir, "libvirtd.pid"))
	// No driver module but the built-in test driver: the QEMU and network
	// drivers a root libvirtd loads take locks and state in /run/libvirt,
	// and a second libvirtd of another test package, started meanwhile,
	// failed on them (it exited at start, or refused connections).
	noModules := filepath.Join(d.dir, "no-driver-modules")
	if err := os.MkdirAll(noModules, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "LIBVIRT_DRIVER_DIR="+noModules)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start libvirtd: %v", err)
	}
	d.cmd, d.log, d.exited = cmd, log, make(chan struct{})
	go func() { _ = cmd.Wait(); close(d.exited) }()
	// libvirtd has no readiness notice without systemd: its socket is
	// polled until it accepts, or the daemon exits.
	exited := false
	up := Until(30*time.Second, func() bool {
		select {
		case <-d.exited:
			exited = true
			return true
		default:
		}
		c, err := net.Dial("unix", d.socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	switch {
	case exited:
		out, _ := os.ReadFile(filepath.Join(d.dir, "libvirtd.log"))
		t.Fatalf("libvirtd exited at start:\n%s", out)
	case !up:
		t.Fatal("libvirtd socket not ready after 30s")
	}
	d.holder = libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(d.socket)))
	if err := d.holder.ConnectToURI("test:///default"); err != nil {
		t.Fatalf("connect to libvirtd's test driver: %v", err)
	}
}

// Stop kills the daemon (as a crash would) and waits for it to exit.
func (d *Libvirtd) Stop(t testing.TB) {
	t.Helper()
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	<-d.holder.Disconnected()
	d.log.Close()
	d.cmd = nil
}

// Virsh runs virsh against this daemon's test driver.
func (d *Libvirtd) Virsh(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-q", "-c", d.URI()}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
