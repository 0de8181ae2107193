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
	"hostagent/snmpagent/usm"
)

// encoded is one notification, encoded once and shared by every target's
// queue; nothing writes to it after Notify built it.
type encoded struct {
	name   string // MODULE::name, for logs
	v2     []byte // Trap-PDU with a request-id placeholder
	reqAt  int    // offset of the request-id in v2
	v1     []byte // SNMPv1 Trap-PDU with an agent-addr placeholder; nil when no target wants v1 or v1Err is set
	addrAt int    // offset of the agent-addr in v1
	v1Err  error
	scoped *usm.ScopedPDU // SNMPv3 scopedPDU around v2; nil when no target wants v3 or v3Err is set
	v3Err  error
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
	agentAddr [agentAddrSize]byte // v1: this host's IPv4 address towards the target
	timeout   time.Duration
	retries   int
	log       *slog.Logger

	queue chan item
	conn  *net.UDPConn
	// store keeps this target's unacknowledged informs on disk (nil: not
	// kept, or not an inform target); see pendingStore.
	store *pendingStore
	// SNMPv3 targets: the USM wrapping with the user's keys (owned by the
	// sender's goroutine, as Wrap requires) and our engine's clock.
	wrapper *usm.Wrapper
	clock   *usm.Clock
	// v3 is the receiver's engine state of an SNMPv3 inform target (nil
	// for the others): see informV3.
	v3     *informV3
	cancel context.CancelFunc
	done   chan struct{}

	sent, acknowledged, failed, dropped atomic.Uint64
}

// newSender opens the socket of a sender for t. agentAddr is what v1 traps
// to t carry as agent-addr (ignored for other kinds).
func newSender(t snmpconfig.Target, community string, addr netip.AddrPort, agentAddr [agentAddrSize]byte, timeout time.Duration, retries, queueSize int, log *slog.Logger) (*sender, error) {
	network := "udp4"
	if addr.Addr().Is6() {
		network = "udp6"
	}
	conn, err := net.ListenUDP(network, nil)
	if err != nil {
		return nil, fmt.Errorf("target %s: open UDP socket: %w", snmpconfig.MaskTarget(t.String()), err)
	}
	s := &sender{
		target:    t,
		community: []byte(community),
		addr:      addr,
		agentAddr: agentAddr,
		timeout:   timeout,
		retries:   retries,
		log:       log.With("target", snmpconfig.MaskTarget(t.String())), // the log is no place for a community
		queue:     make(chan item, queueSize),
		conn:      conn,
		done:      make(chan struct{}),
	}
	s.key = senderKey(t, community, addr, agentAddr, timeout, retries, queueSize)
	return s, nil
}

// senderKey identifies a sender across reloads: a target whose settings all
// stay the same keeps its sender, queue and counters. The agent-addr is
// part of it so that a sender never changes under its running goroutine: a
// host whose route to a v1 target moved gets a new sender at the reload.
func senderKey(t snmpconfig.Target, community string, addr netip.AddrPort, agentAddr [agentAddrSize]byte, timeout time.Duration, retries, queueSize int) string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%d|%d", t, community, addr, netip.AddrFrom4(agentAddr), timeout, retries, queueSize)
}

// requestIDs is a sender's request-id sequence, for traps as for informs:
// a receiver tells datagrams apart by it (and drops a repeated one as a
// duplicate), so every message gets its own. The sequence starts at random,
// so that a restarted agent does not resend the ids a receiver just saw,
// and stays within [minRequestID, maxRequestID] so that each id fills the
// 4 octets of the placeholder exactly.
type requestIDs struct{ next uint32 }

func newRequestIDs() requestIDs {
	return requestIDs{next: minRequestID + rand.Uint32N(maxRequestID-minRequestID+1)}
}

func (r *requestIDs) take() uint32 {
	id := r.next
	if r.next++; r.next > maxRequestID {
		r.next = minRequestID
	}
	return id
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
	if s.target.Kind.IsInform() {
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
	ids := newRequestIDs()
	for {
		select {
		case <-ctx.Done():
			return
		case it, ok := <-s.queue:
			if !ok {
				return
			}
			var err error
			buf, err = s.message(buf[:0], it.enc, tagTrapV2, ids.take())
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

// message builds the wire message for this target: SNMPv1 with the
// target's community and agent-addr, SNMPv2c with the target's
// community, request-id id and the PDU tag for its kind, or SNMPv3 with
// the target's user (msgID and request-id id, our engine's boots and time).
func (s *sender) message(buf []byte, enc *encoded, tag byte, id uint32) ([]byte, error) {
	if s.v3 != nil {
		// Wrapped at each transmission (transmit), with the receiver's
		// engine boots and time as they are then.
		if enc.v3Err != nil {
			return buf, enc.v3Err
		}
		if enc.scoped == nil {
			return buf, errors.New("no SNMPv3 encoding")
		}
		return buf[:0], nil
	}
	if s.target.Kind == snmpconfig.TrapV3 {
		if enc.v3Err != nil {
			return buf, enc.v3Err
		}
		if enc.scoped == nil {
			return buf, errors.New("no SNMPv3 encoding")
		}
		// msgID and request-id from the same sequence: both tell this
		// message apart, and neither repeats soon.
		boots, now := s.clock.Now()
		return s.wrapper.Wrap(buf, enc.scoped, usm.Params{MsgID: int32(id), RequestID: int32(id), EngineBoots: boots, EngineTime: now})
	}
	if s.target.Kind == snmpconfig.TrapV1 {
		if enc.v1Err != nil {
			return buf, enc.v1Err
		}
		if enc.v1 == nil {
			return buf, errors.New("no SNMPv1 encoding")
		}
		buf = appendMessage(buf, versionV1, s.community, enc.v1)
		copy(buf[len(buf)-len(enc.v1)+enc.addrAt:], s.agentAddr[:])
		return buf, nil
	}
	buf = appendMessage(buf, versionV2c, s.community, enc.v2)
	pduAt := len(buf) - len(enc.v2)
	buf[pduAt] = tag
	setRequestID(buf, pduAt+enc.reqAt, id)
	return buf, nil
}

// inflight is an inform awaiting its response.
type inflight struct {
	id       uint32 // request-id (and, for SNMPv3, msgID)
	it       item
	msg      []byte
	attempts int
	deadline time.Time
	stored   *pendingInform // its entry in the store; nil when not kept
}

func (s *sender) runInforms(ctx context.Context) {
	acks := make(chan uint32, maxInflight)
	var msgs chan []byte // SNMPv3: the receiver's datagrams, read here
	quit := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	if s.v3 != nil {
		msgs = make(chan []byte, maxInflight)
		go func() {
			defer readers.Done()
			s.readDatagrams(msgs, quit)
		}()
	} else {
		go func() {
			defer readers.Done()
			s.readResponses(acks, quit)
		}()
	}
	defer readers.Wait()
	defer s.conn.Close() // ends readResponses
	defer close(quit)    // and unblocks it if it is handing over an ack

	pending := make(map[uint32]*inflight, maxInflight)
	ids := newRequestIDs()
	tick := time.NewTicker(min(s.timeout/4, 100*time.Millisecond))
	defer tick.Stop()
	queue := s.queue
	acknowledge := func(id uint32) {
		p, ok := pending[id]
		if !ok {
			return // a late duplicate response
		}
		delete(pending, id)
		s.forget(p)
		s.acknowledged.Add(1)
		if s.log.Enabled(ctx, slog.LevelDebug) {
			s.log.Debug("inform acknowledged", "notification", p.it.enc.name, "attempts", p.attempts)
		}
		s.report(p.it, "acknowledged", "")
	}
	fail := func(id uint32, reason string) {
		p, ok := pending[id]
		if !ok {
			return
		}
		delete(pending, id)
		s.forget(p)
		s.failed.Add(1)
		s.report(p.it, "failed", reason)
	}
	if s.v3 != nil {
		s.v3.discover(s, &ids)
	}
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
			var kept []*pendingInform
			for _, p := range pending {
				if p.stored != nil {
					// Not failed: on disk, for the target's next
					// sender or the next start.
					kept = append(kept, p.stored)
					s.report(p.it, "failed", "agent stopped before the inform was acknowledged; it is resent by the next start")
					continue
				}
				s.failed.Add(1)
				s.report(p.it, "failed", "agent stopped before the inform was acknowledged")
			}
			if s.store != nil {
				s.store.release(kept)
				s.flushStore()
			}
			return
		case it, ok := <-in:
			if !ok {
				queue = nil
				continue
			}
			id := ids.take()
			msg, err := s.message(nil, it.enc, tagInform, id)
			if err != nil {
				s.dropped.Add(1)
				s.report(it, "failed", err.Error())
				continue
			}
			p := &inflight{id: id, it: it, msg: msg, stored: s.keep(it.enc)}
			pending[id] = p
			s.transmit(p)
			s.sent.Add(1)
			if s.v3 != nil && !s.v3.synced && s.v3.probeID == 0 {
				s.v3.discover(s, &ids)
			}
		case id := <-acks:
			acknowledge(id)
		case msg := <-msgs:
			s.v3.handle(s, msg, pending, &ids, acknowledge, fail)
		case now := <-tick.C:
			if s.v3 != nil {
				s.v3.tick(s, now, len(pending), &ids)
			}
			for id, p := range pending {
				if now.Before(p.deadline) {
					continue
				}
				if p.attempts > s.retries {
					delete(pending, id)
					s.forget(p)
					s.failed.Add(1)
					reason := fmt.Sprintf("no response after %d attempts, %s apart", p.attempts, s.timeout)
					switch {
					case s.v3 != nil && s.v3.unverified != "":
						reason = s.v3.unverified
					case s.v3 != nil && !s.v3.synced:
						reason = fmt.Sprintf("the receiver's SNMPv3 engine was not discovered: no answer to engine discovery after %d attempts, %s apart", p.attempts, s.timeout)
					}
					s.log.Warn("inform failed", "notification", p.it.enc.name, "reason", reason)
					s.report(p.it, "failed", reason)
					continue
				}
				if p.stored != nil {
					_ = s.store.tried(p.stored.ID) // unsynced: see pendingStore
				}
				s.transmit(p)
			}
			if queue != nil { // a sender being stopped leaves them to its successor
				s.adopt(pending, &ids)
			}
			s.flushStore()
		}
	}
}

// keep stores enc before its first transmission, synced, so that an agent
// killed before the acknowledgement resends it after its restart. On a
// write error the inform is still sent, only not kept (logged).
func (s *sender) keep(enc *encoded) *pendingInform {
	if s.store == nil {
		return nil
	}
	ids, err := s.store.add([]pendingInform{{Name: enc.name, PDU: enc.v2, ReqAt: enc.reqAt}})
	if err != nil {
		s.log.Error("inform not kept for a restart; sent all the same", "notification", enc.name, "err", err)
		return nil
	}
	return &pendingInform{ID: ids[0], Name: enc.name, PDU: enc.v2, ReqAt: enc.reqAt}
}

// forget marks an inform acknowledged or failed in the store.
func (s *sender) forget(p *inflight) {
	if p.stored != nil {
		_ = s.store.done(p.stored.ID)
	}
}

// adopt sends, while the window has room, the informs the store holds for
// nobody: those of the last run, or of this target's previous sender.
// Their attempts go on counting from where they were.
func (s *sender) adopt(pending map[uint32]*inflight, ids *requestIDs) {
	if s.store == nil || len(pending) >= maxInflight {
		return
	}
	for _, in := range s.store.take(maxInflight - len(pending)) {
		enc := &encoded{name: in.Name, v2: in.PDU, reqAt: in.ReqAt}
		if s.v3 != nil {
			// Stored as the v2 PDU: wrapped anew for this receiver.
			enc.scoped, enc.v3Err = usm.NewScopedPDU(s.v3.contextEngineID, nil, in.PDU)
		}
		id := ids.take()
		msg, err := s.message(nil, enc, tagInform, id)
		if err != nil { // cannot happen for a v2 PDU; kept for the next start
			s.store.release([]*pendingInform{in})
			continue
		}
		p := &inflight{id: id, it: item{enc: enc}, msg: msg, attempts: in.Attempts, stored: in}
		pending[id] = p
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("resending an inform left unacknowledged", "notification", in.Name, "attempts", in.Attempts)
		}
		s.transmit(p)
		s.sent.Add(1)
	}
}

func (s *sender) flushStore() {
	if s.store != nil {
		if err := s.store.flush(); err != nil {
			s.log.Warn("pending informs not written", "err", err)
		}
	}
}

func (s *sender) transmit(p *inflight) {
	p.attempts++
	p.deadline = time.Now().Add(s.timeout)
	if s.v3 != nil {
		s.v3.send(s, p)
		return
	}
	if _, err := s.conn.WriteToUDPAddrPort(p.msg, s.addr); err != nil {
		s.log.Debug("inform send failed, will retry", "err", err)
	}
}

// readFromTarget reads the next datagram from the target into buf,
// skipping those from any other address (the socket is not connected, so
// anyone may write to it); ok is false once the socket is closed or fails.
func (s *sender) readFromTarget(buf []byte) (n int, from netip.AddrPort, ok bool) {
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Debug("reading responses", "err", err)
			}
			return 0, from, false
		}
		if from.Addr().Unmap() == s.addr.Addr().Unmap() && from.Port() == s.addr.Port() {
			return n, from, true
		}
	}
}

// readResponses decodes Response-PDUs from the target and passes their
// request-ids on; it ends when the socket is closed.
func (s *sender) readResponses(acks chan<- uint32, quit <-chan struct{}) {
	decoder := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: string(s.community), Logger: gosnmp.NewLogger(nil)}
	buf := make([]byte, 65536)
	for {
		n, from, ok := s.readFromTarget(buf)
		if !ok {
			return
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
