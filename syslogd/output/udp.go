package output

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"hostagent/syslogd"
	"hostagent/syslogd/format"
)

// UDP has no delivery to confirm: a batch counts as delivered once sent,
// and Stats says that nothing is guaranteed. What can be done is not to
// lose datagrams on the way out, and not to flood the collector:
//
//   - A datagram the local kernel refuses for lack of room (ENOBUFS, a full
//     device queue; EAGAIN) is sent again after a short wait, a bounded
//     number of times; one refused for good is counted in
//     Stats.SendFailures and skipped, as ESXi drops it: blocking would only
//     hold the other lines back for a collector that may never answer.
//   - ECONNREFUSED on a send reports an ICMP "port unreachable" for an
//     earlier datagram: nothing listened on the collector's host. That
//     datagram is counted as a failure; the one being sent was not sent,
//     and is sent again.
//   - Bursts are paced: at most udpBurst datagrams at once, then no faster
//     than udpRate per second. A collector's socket buffer (208 KiB by
//     default on Linux) holds about a thousand typical messages, and what
//     overflows it is dropped on the collector's host, where the sender
//     cannot count it; a batch of 4096 lines sent in a few milliseconds
//     would overflow it while the collector is busy. The pace is checked
//     every udpBurst datagrams (one clock read, at most one sleep), so it
//     costs no system call per line.
const (
	udpBurst   = 256
	udpRate    = 100_000 // datagrams per second, sustained
	udpRetries = 8       // attempts per datagram refused for lack of room
)

// udpState paces the datagrams.
type udpState struct {
	since time.Time // start of the current pacing period
	count int       // datagrams sent in it
}

// sendUDP sends each message as a datagram.
func (o *Output) sendUDP(ctx context.Context, id uint64, batch []syslogd.Record) error {
	if o.conn == nil {
		err := o.retrying(ctx, func() error {
			conn, err := o.dial(ctx)
			if err != nil {
				return err
			}
			o.connectedTo(conn)
			return nil
		})
		if err != nil {
			return err
		}
	}
	for i := range batch {
		for _, part := range o.parts(&batch[i]) {
			if err := o.pace(ctx); err != nil {
				return err
			}
			o.buf = format.Append(o.buf[:0], part, o.settings.Format, format.None, o.settings.MaxMessage)
			if err := o.sendDatagram(ctx, o.buf); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				o.sendFails.Add(1)
				o.setError(err.Error())
			}
		}
	}
	o.confirmed.Store(id) // nothing to wait for: UDP confirms nothing (Stats.Confirmed stays 0)
	return nil
}

// sendDatagram sends one datagram, waiting and retrying while the kernel
// has no room for it.
func (o *Output) sendDatagram(ctx context.Context, b []byte) error {
	wait := 100 * time.Microsecond
	var err error
	for range udpRetries {
		if _, err = o.conn.Write(b); err == nil {
			return nil
		}
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			// The ICMP error belongs to an earlier datagram, refused; this
			// one was not sent. Once more, at once.
			o.sendFails.Add(1)
			o.setError(fmt.Sprintf("send: %v (a datagram was refused by the collector's host)", err))
			if _, err = o.conn.Write(b); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
				if err != nil {
					return fmt.Errorf("send: %w", err)
				}
				return nil
			}
			return fmt.Errorf("send: %w", err)
		case errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.ENOMEM):
		default:
			return fmt.Errorf("send: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
	return fmt.Errorf("send: %w (after %d attempts)", err, udpRetries)
}

// pace waits, every udpBurst datagrams, until the rate is back under udpRate.
func (o *Output) pace(ctx context.Context) error {
	u := &o.udp
	if u.count < udpBurst {
		u.count++
		return nil
	}
	now := time.Now()
	due := u.since.Add(time.Duration(u.count) * time.Second / udpRate)
	if d := due.Sub(now); d > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
		now = due
	}
	u.since, u.count = now, 1
	return nil
}
