package snmpagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"

	"hostagent/snmpagent/snmpconfig"
)

// encoded is one notification, encoded once and shared by every target's
// queue; nothing writes to it after Notify built it.
type encoded struct {
	name  string // MODULE::name, for logs
	v2    []byte // Trap-PDU with a request-id placeholder
	reqAt int    // offset of the request-id in v2
	v1    []byte // SNMPv1 Trap-PDU; nil when no target wants v1 or v1Err is set
	v1Err error
}

// item is a queued delivery; done, when set, receives its result (--test).
type item struct {
	enc  *encoded
	done chan<- snmpconfig.TestResult
}

// maxInflight bounds the informs awaiting a response per target; the queue
// in front of it provides the backpressure.
const maxInflight = 64

// sender delivers to one target from its own goroutine and unconnected UDP
// socket, so that a slow or dead target delays nobody else. An unconnected
// socket matters: on a connected one an ICMP port-unreachable makes the next
// send fail, losing every second trap to a receiver that restarts.
type sender struct {
	target    snmpconfig.Target
	key       string // identity across reloads: same key, same sender
	community []byte
	addr      netip.AddrPort
	timeout   time.Duration
	retries   int
	log       *slog.Logger

	queue  chan item
	conn   *net.UDPConn
	cancel context.CancelFunc
	done   chan struct{}

	sent, acknowledged, failed, dropped atomic.Uint64
}

func newSender(t snmpconfig.Target, community string, addr netip.AddrPort, timeout time.Duration, retries, queueSize int, log *slog.Logger) (*sender, error) {
	network := "udp4"
	if addr.Addr().Is6() {
		network = "udp6"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, fmt.Errorf("target %s: open UDP socket: %w", t, err)
	}
	s := &sender{
		target:    t,
		community: []byte(community),
		addr:      addr,
		timeout:   timeout,
		retries:   retries,
		log:       log.With("target", t.String()),
		queue:     make(chan item, queueSize),
		conn:      conn,
		done:      make(chan struct{}),
	}
	s.key = senderKey(t, community, addr, timeout, retries, queueSize)
	return s, nil
}

// senderKey identifies a sender across reloads: a target whose settings all
// stay the same keeps its sender, queue and counters.
func senderKey(t snmpconfig.Target, community string, addr netip.AddrPort, timeout time.Duration, retries, queueSize int) string {
	return fmt.Sprintf("%s|%s|%s|%s|%d|%d", t, community, addr, timeout, retries, queueSize)
}

func (s *sender) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(ctx)
}

// stop waits for delivery to end once the queue was closed (by the agent,
// under its lock). Queued notifications get until ctx's deadline to go out
// (informs to be acknowledged); whatever is left is counted as dropped.
func (s *sender) stop(ctx context.Context) {
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancel()
		<-s.done
	}
}

// enqueue adds it to the queue, or counts a drop when the queue is full.
func (s *sender) enqueue(it item) {
	select {
	case s.queue <- it:
	default:
		s.dropped.Add(1)
		s.report(it, "failed", "queue full")
	}
}

func (s *sender) stats() snmpconfig.TargetStats {
	return snmpconfig.TargetStats{
		Target: s.target.String(), Kind: s.target.Kind.String(),
		Sent: s.sent.Load(), Acknowledged: s.acknowledged.Load(),
		Failed: s.failed.Load(), Dropped: s.dropped.Load(), Queued: len(s.queue),
	}
}

func (s *sender) result(result, reason string) snmpconfig.TestResult {
	return snmpconfig.TestResult{Target: s.target.String(), Kind: s.target.Kind.String(), Result: result, Reason: reason}
}

// report tells the requester of a test notification what became of it;
// ordinary notifications have none, and cost nothing here.
func (s *sender) report(it item, result, reason string) {
	if it.done != nil {
		it.done <- s.result(result, reason)
	}
}

func (s *sender) run(ctx context.Context) {
	defer close(s.done)
	defer s.conn.Close()
	if s.target.Kind == snmpconfig.InformV2c {
		s.runInforms(ctx)
	} else {
		s.runTraps(ctx)
	}
	for it := range s.queue { // only left over when cancelled
		s.dropped.Add(1)
		s.report(it, "failed", "agent stopped")
	}
}

func (s *sender) runTraps(ctx context.Context) {
	buf := make([]byte, 0, 1500)
	for {
		select {
		case <-ctx.Done():
			return
		case it, ok := <-s.queue:
			if !ok {
				return
			}
			var err error
			buf, err = s.message(buf[:0], it.enc, tagTrapV2)
			if err != nil {
				s.dropped.Add(1)
				s.log.Warn("notification not sent", "notification", it.enc.name, "err", err)
				s.report(it, "failed", err.Error())
				continue
			}
			if _, err := s.conn.WriteToUDPAddrPort(buf, s.addr); err != nil {
				s.failed.Add(1)
				s.log.Warn("notification not sent", "notification", it.enc.name, "err", err)
				s.report(it, "failed", err.Error())
				continue
			}
			s.sent.Add(1)
			if s.log.Enabled(ctx, slog.LevelDebug) {
				s.log.Debug("notification sent", "notification", it.enc.name, "kind", s.target.Kind.String())
			}
			s.report(it, "sent", "")
		}
	}
}

// message builds the wire message for this target: SNMPv1 or SNMPv2c with
// the target's community, a fresh request-id and the PDU tag for its kind.
func (s *sender) message(buf []byte, enc *encoded, tag byte) ([]byte, error) {
	if s.target.Kind == snmpconfig.TrapV1 {
		if enc.v1Err != nil {
			return buf, enc.v1Err
		}
		if enc.v1 == nil {
			return buf, errors.New("no SNMPv1 encoding")
		}
		return appendMessage(buf, versionV1, s.community, enc.v1), nil
	}
	buf = appendMessage(buf, versionV2c, s.community, enc.v2)
	pduAt := len(buf) - len(enc.v2)
	buf[pduAt] = tag
	return buf, nil
}

// inflight is an inform awaiting its response.
type inflight struct {
	it       item
	msg      []byte
	attempts int
	deadline time.Time
}

func (s *sender) runInforms(ctx context.Context) {
	acks := make(chan uint32, maxInflight)
	quit := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		s.readResponses(acks, quit)
	}()
	defer readers.Wait()
	defer s.conn.Close() // ends readResponses
	defer close(quit)    // and unblocks it if it is handing over an ack

	pending := make(map[uint32]*inflight, maxInflight)
	nextID := minRequestID + rand.Uint32N(maxRequestID-minRequestID)
	tick := time.NewTicker(min(s.timeout/4, 100*time.Millisecond))
	defer tick.Stop()
	queue := s.queue
	for {
		in := queue
		if len(pending) >= maxInflight {
			in = nil // window full: leave the rest queued
		}
		if queue == nil && len(pending) == 0 {
			return // stopped and every inform answered or failed
		}
		select {
		case <-ctx.Done():
			for _, p := range pending {
				s.failed.Add(1)
				s.report(p.it, "failed", "agent stopped before the inform was acknowledged")
			}
			return
		case it, ok := <-in:
			if !ok {
				queue = nil
				continue
			}
			msg, err := s.message(nil, it.enc, tagInform)
			if err != nil {
				s.dropped.Add(1)
				s.report(it, "failed", err.Error())
				continue
			}
			id := nextID
			if nextID++; nextID > maxRequestID {
				nextID = minRequestID
			}
			setRequestID(msg, len(msg)-len(it.enc.v2)+it.enc.reqAt, id)
			p := &inflight{it: it, msg: msg}
			pending[id] = p
			s.transmit(p)
			s.sent.Add(1)
		case id := <-acks:
			p, ok := pending[id]
			if !ok {
				continue // a late duplicate response
			}
			delete(pending, id)
			s.acknowledged.Add(1)
			if s.log.Enabled(ctx, slog.LevelDebug) {
				s.log.Debug("inform acknowledged", "notification", p.it.enc.name, "attempts", p.attempts)
			}
			s.report(p.it, "acknowledged", "")
		case now := <-tick.C:
			for id, p := range pending {
				if now.Before(p.deadline) {
					continue
				}
				if p.attempts > s.retries {
					delete(pending, id)
					s.failed.Add(1)
					reason := fmt.Sprintf("no response after %d attempts, %s apart", p.attempts, s.timeout)
					s.log.Warn("inform failed", "notification", p.it.enc.name, "reason", reason)
					s.report(p.it, "failed", reason)
					continue
				}
				s.transmit(p)
			}
		}
	}
}

func (s *sender) transmit(p *inflight) {
	p.attempts++
	p.deadline = time.Now().Add(s.timeout)
	if _, err := s.conn.WriteToUDPAddrPort(p.msg, s.addr); err != nil {
		s.log.Debug("inform send failed, will retry", "err", err)
	}
}

// readResponses decodes Response-PDUs from the target and passes their
// request-ids on; it ends when the socket is closed.
func (s *sender) readResponses(acks chan<- uint32, quit <-chan struct{}) {
	decoder := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: string(s.community), Logger: gosnmp.NewLogger(nil)}
	buf := make([]byte, 65536)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Debug("reading responses", "err", err)
			}
			return
		}
		if from.Addr().Unmap() != s.addr.Addr().Unmap() || from.Port() != s.addr.Port() {
			continue // not from our target
		}
		pkt, err := decoder.SnmpDecodePacket(buf[:n])
		if err != nil || pkt.PDUType != gosnmp.GetResponse || pkt.Community != string(s.community) {
			s.log.Debug("ignoring datagram that is not a response to an inform", "from", from.String(), "err", err)
			continue
		}
		select {
		case acks <- pkt.RequestID:
		case <-quit:
			return
		}
	}
}
