package links

import (
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hostagent/internal/peertest"
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
	pair := func() (r, w *os.File) {
		// SOCK_SEQPACKET keeps datagrams apart as netlink does, and,
		// unlike SOCK_DGRAM, ends the reader's stream when the writer
		// closes, so the test knows when every message has been read.
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Skip("socketpair:", err)
		}
		return os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	}
	l := New(DefaultConfig(), newSysfs(t).paths(), nil)
	listen := func(r *os.File, kick chan<- struct{}) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.listen(r, kick)
		}()
		return done
	}

	// One kick per link message, none for the others: room for every
	// kick, and the writer closed, so that all are counted once listen
	// has read everything and returned.
	r, w := pair()
	defer r.Close()
	kick := make(chan struct{}, 10)
	done := listen(r, kick)
	for _, m := range [][]byte{nlmsg(unix.RTM_NEWADDR, 24), nlmsg(unix.RTM_NEWLINK, 600), nlmsg(unix.RTM_NEWADDR, 24), nlmsg(unix.RTM_DELLINK, 16)} {
		if _, err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("listen did not stop at the end of its socket")
	}
	if len(kick) != 2 {
		t.Errorf("%d polls asked for, want 2: one per link message, none per address message", len(kick))
	}

	// Closing the socket wakes a blocked read: Run's way to stop it.
	r, w = pair()
	defer w.Close()
	done = listen(r, make(chan struct{}, 1))
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
		peertest.Eventually(t, 5*time.Second, what, ok)
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
	if st := l.Stats(); st.Runs < 2 || st.Failures != 0 {
		t.Errorf("stats %+v, want the baseline and the poll that saw the change", st)
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
