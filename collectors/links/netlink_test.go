package links

import (
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nlmsg builds a netlink message of type typ with payload bytes of zeros.
func nlmsg(typ uint16, payload int) []byte {
	size := unix.NLMSG_HDRLEN + payload
	b := make([]byte, (size+3)&^3)
	binary.NativeEndian.PutUint32(b[0:4], uint32(size))
	binary.NativeEndian.PutUint16(b[4:6], typ)
	return b
}

func TestHasLinkMessage(t *testing.T) {
	cat := func(bs ...[]byte) (out []byte) {
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	corrupt := nlmsg(unix.RTM_NEWADDR, 0)
	binary.NativeEndian.PutUint32(corrupt[0:4], 3) // shorter than its header
	cases := []struct {
		name string
		b    []byte
		want bool
	}{
		{"newlink", nlmsg(unix.RTM_NEWLINK, 600), true},
		{"dellink", nlmsg(unix.RTM_DELLINK, 16), true},
		{"newaddr", nlmsg(unix.RTM_NEWADDR, 24), false},
		{"second of two", cat(nlmsg(unix.RTM_NEWADDR, 5), nlmsg(unix.RTM_NEWLINK, 16)), true},
		{"truncated", nlmsg(unix.RTM_NEWLINK, 0)[:8], false},
		{"corrupt length", cat(corrupt, nlmsg(unix.RTM_NEWLINK, 0)), false},
		{"empty", nil, false},
	}
	for _, c := range cases {
		if got := hasLinkMessage(c.b); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestListen feeds listen datagrams through a socket pair, as the kernel
// would through netlink, without touching the host's interfaces.
func TestListen(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip("socketpair:", err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	defer w.Close()
	l := New(DefaultConfig(), newSysfs(t).paths(), nil)
	kick := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.listen(r, kick)
	}()

	w.Write(nlmsg(unix.RTM_NEWADDR, 24))
	w.Write(nlmsg(unix.RTM_NEWLINK, 600))
	select {
	case <-kick:
	case <-time.After(5 * time.Second):
		t.Fatal("no poll asked for RTM_NEWLINK")
	}
	w.Write(nlmsg(unix.RTM_NEWADDR, 24))
	time.Sleep(50 * time.Millisecond)
	select {
	case <-kick:
		t.Error("a poll asked for RTM_NEWADDR")
	default:
	}

	r.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("listen did not stop when its socket was closed")
	}
}

// TestRun runs against a fixture sysfs with the real netlink socket, which
// only listens: the host's interfaces are neither read nor changed.
func TestRun(t *testing.T) {
	if f, err := subscribe(); err != nil {
		t.Logf("netlink unavailable here (%v): Run is tested polling only", err)
	} else {
		f.Close()
	}
	s := newSysfs(t)
	s.set("eth0", 2, "down", adminUp)
	cfg := DefaultConfig()
	cfg.Interval.UnmarshalText([]byte("100ms"))
	l := New(cfg, s.paths(), slog.New(slog.DiscardHandler))
	rec := &recorder{}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- l.Run(ctx, rec) }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the baseline", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.primed
	})
	s.set("eth0", 2, "up", adminUp)
	var got []string
	waitFor("linkUp", func() bool {
		got = append(got, rec.take()...)
		return len(got) > 0
	})
	if len(got) != 1 || got[0] != linkUp(2, 1, 1) {
		t.Errorf("sent %q, want one linkUp for ifIndex 2", got)
	}

	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context was cancelled")
	}
}
