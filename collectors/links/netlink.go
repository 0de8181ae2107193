package links

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"hostagent/collectors"
)

// Run polls at once, then every Interval and whenever the kernel announces
// a link change over netlink, so a change is reported within milliseconds
// rather than an interval. Without netlink (a seccomp profile or an old
// kernel refusing the socket) it logs at debug and only polls. It returns
// nil when ctx is done, after the netlink reader has stopped.
func (l *Links) Run(ctx context.Context, out collectors.Notifier) error {
	if f, err := subscribe(); err != nil {
		l.log.Debug("links: no netlink link notifications, polling only", "err", err)
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.listen(f, l.kick)
		}()
		defer func() {
			f.Close() // wakes the blocked Read
			<-done
		}()
	}

	return l.runner.Run(ctx, out)
}

// subscribe opens a NETLINK_ROUTE socket joined to RTMGRP_LINK, on which
// the kernel sends RTM_NEWLINK or RTM_DELLINK whenever an interface is
// added, removed or changes state; joining it needs no privilege.
// SOCK_NONBLOCK hands the descriptor to the Go runtime poller, because only
// then does Close wake a goroutine blocked in Read: close(2) does not
// interrupt a recvfrom in another thread, and netlink has no shutdown.
func subscribe() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return os.NewFile(uintptr(fd), "netlink-route"), nil
}

// listen reads netlink datagrams from f until it is closed and signals kick
// for each that holds a link message.
func (l *Links) listen(f *os.File, kick chan<- struct{}) {
	// RTM_NEWLINK carries every attribute of the link (statistics, queues)
	// and can pass a page; a datagram longer than buf is truncated, which
	// is harmless since only the first header is needed.
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		switch {
		case err == nil:
			if !hasLinkMessage(buf[:n]) {
				continue
			}
		case errors.Is(err, unix.ENOBUFS):
			// The socket overflowed and messages were lost: poll to catch
			// up, and keep reading.
		case errors.Is(err, os.ErrClosed):
			return
		default:
			l.log.Debug("links: netlink read failed, polling only", "err", err)
			return
		}
		select {
		case kick <- struct{}{}:
		default: // a poll is already due
		}
	}
}

// hasLinkMessage says whether b, one netlink datagram, holds an
// RTM_NEWLINK or RTM_DELLINK message.
func hasLinkMessage(b []byte) bool {
	for len(b) >= unix.NLMSG_HDRLEN {
		size := binary.NativeEndian.Uint32(b[0:4])
		typ := binary.NativeEndian.Uint16(b[4:6])
		if typ == unix.RTM_NEWLINK || typ == unix.RTM_DELLINK {
			return true
		}
		next := (int(size) + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		if size < unix.NLMSG_HDRLEN || next > len(b) {
			return false
		}
		b = b[next:]
	}
	return false
}
