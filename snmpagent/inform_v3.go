package snmpagent

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// SNMPv3 informs: the receiver is the authoritative engine (RFC 3414 1.5.1),
// so each inform carries the receiver's engine ID, boots and time, and the
// remote user's keys are localized to the receiver's engine ID. The sender
// learns boots and time by RFC 3414 §4 discovery at its start, and again
// when the receiver answers unknownEngineID or notInTimeWindow; every
// transmission is wrapped anew with the engine's clock as it is then.

// prepareV3Inform returns the sender of an SNMPv3 inform target t, reused
// when nothing about it changed, with its pending-inform store.
func (a *Agent) prepareV3Inform(p *Plan, v3 snmpconfig.V3, t snmpconfig.Target, addr netip.AddrPort, running map[string]*sender, timeout time.Duration, retries, queueSize int) (*sender, error) {
	ru, ok := v3.RemoteUser(t.User)
	if !ok { // Parse refused it already
		return nil, fmt.Errorf("v3targets: %s: no remote user %q", t, t.User)
	}
	u := ru.User
	u.Level = t.Level
	key := senderKey(t, "", addr, [agentAddrSize]byte{}, timeout, retries, queueSize) + "|" + v3Key(u, ru.EngineID) + fmt.Sprintf("|%x", p.engineID)
	if snd, reused := running[key]; reused {
		return snd, nil
	}
	v := &informV3{user: u, engineID: ru.EngineID, contextEngineID: p.engineID}
	if ru.EngineID != nil {
		w, err := usm.NewWrapper(u, ru.EngineID)
		if err != nil {
			return nil, fmt.Errorf("v3targets: %s: %w", t, err)
		}
		v.wrapper = w
	} else if err := u.Validate(); err != nil {
		return nil, fmt.Errorf("v3targets: %s: %w", t, err)
	}
	snd, err := newSender(t, "", addr, [agentAddrSize]byte{}, timeout, retries, queueSize, a.log)
	if err != nil {
		return nil, err
	}
	snd.key, snd.v3 = key, v
	if snd.store, err = a.store(t.String()); err != nil {
		snd.conn.Close()
		return nil, err
	}
	p.fresh = append(p.fresh, snd)
	return snd, nil
}

// informV3 is an SNMPv3 inform target's view of its receiver's engine.
// Only the sender's goroutine uses it.
type informV3 struct {
	user            usm.User
	engineID        []byte // from remoteusers; nil: the discovered one is taken (noAuthNoPriv only)
	contextEngineID []byte // ours, as in the scoped PDUs the agent encodes
	wrapper         *usm.Wrapper
	engine          usm.Engine
	synced          bool

	// The discovery exchange under way: probeID is the msgID of the probe
	// awaiting its answer (0: none), step 1 the unauthenticated discovery,
	// step 2 the authenticated time synchronization.
	probeID       int32
	step          int
	probeDeadline time.Time
	probes        int // probes left unanswered in a row

	// lastRefusal is the last reason logged for informs the receiver
	// refused, so that a burst of them is logged once.
	lastRefusal string
	// unverified explains a time synchronization answered with messages
	// the user's key does not verify: the reason its informs fail.
	unverified string
}

// discover starts RFC 3414 §4 discovery with its first probe.
func (v *informV3) discover(s *sender, ids *requestIDs) {
	v.synced = false
	v.step = 1
	v.probe(s, ids)
}

// probe sends the probe of the current step.
func (v *informV3) probe(s *sender, ids *requestIDs) {
	id := int32(ids.take())
	var msg []byte
	var err error
	if v.step == 1 {
		msg, err = usm.DiscoveryProbe(nil, id, id)
	} else {
		msg, err = v.wrapper.TimeSyncProbe(nil, id, id)
	}
	v.probeID, v.probeDeadline = id, time.Now().Add(s.timeout)
	v.probes++
	if err != nil {
		s.log.Error("SNMPv3 engine discovery probe not built", "err", err)
		return
	}
	if _, err := s.conn.WriteToUDPAddrPort(msg, s.addr); err != nil {
		s.log.Debug("discovery probe not sent, will retry", "err", err)
	}
}

// tick resends an unanswered probe; with no inform waiting, it gives up
// after the retries (the next inform starts discovery again).
func (v *informV3) tick(s *sender, now time.Time, pending int, ids *requestIDs) {
	if v.probeID == 0 && !v.synced && pending > 0 {
		v.discover(s, ids) // e.g. informs of the last run, adopted
		return
	}
	if v.probeID == 0 || now.Before(v.probeDeadline) {
		return
	}
	if pending == 0 && v.probes > s.retries {
		v.probeID, v.probes = 0, 0
		s.log.Warn("the inform receiver does not answer SNMPv3 engine discovery; trying again with the next inform")
		return
	}
	v.probe(s, ids)
}

// send wraps p for the receiver's engine as it is now and sends it; before
// the engine is known it only counts the attempt (discovery sends it once
// it is).
func (v *informV3) send(s *sender, p *inflight) {
	if !v.synced {
		return
	}
	boots, engineTime := v.engine.Clock(time.Now())
	msg, err := v.wrapper.Wrap(p.msg[:0], p.it.enc.scoped, usm.Params{
		MsgID: int32(p.id), RequestID: int32(p.id), PDUType: usm.PDUInform, EngineBoots: boots, EngineTime: engineTime,
	})
	if err != nil {
		s.log.Error("inform not wrapped", "notification", p.it.enc.name, "err", err)
		return
	}
	p.msg = msg
	if _, err := s.conn.WriteToUDPAddrPort(msg, s.addr); err != nil {
		s.log.Debug("inform send failed, will retry", "err", err)
	}
}

// synchronized puts the engine in force and sends every waiting inform
// now, their attempt already counted.
func (v *informV3) synchronized(s *sender, e usm.Engine, pending map[uint32]*inflight) {
	v.engine, v.synced, v.probeID, v.probes, v.unverified = e, true, 0, 0, ""
	// In request-id order: the order they were queued in, mostly.
	for _, id := range slices.Sorted(maps.Keys(pending)) {
		v.send(s, pending[id])
	}
}

// refused fails every waiting inform with reason, logged once per burst.
func (v *informV3) refused(s *sender, reason string, pending map[uint32]*inflight, fail func(uint32, string)) {
	v.logRefusal(s, reason)
	for id := range pending {
		fail(id, reason)
	}
}

func (v *informV3) logRefusal(s *sender, reason string) {
	if reason != v.lastRefusal {
		v.lastRefusal = reason
		s.log.Warn("informs refused by the receiver", "user", v.user.Name, "reason", reason)
	}
}

// reportReason explains a Report refusing our messages.
func reportReason(in *usm.Incoming) string {
	why := map[usm.Report]string{
		usm.ReportWrongDigests:          "wrong authentication key (authhash) for the receiver's engine ID",
		usm.ReportDecryptionErrors:      "wrong privacy key (privhash) or protocol",
		usm.ReportUnknownUserNames:      "the receiver has no such user",
		usm.ReportUnsupportedSecLevels:  "the receiver's user does not have this security level",
		usm.ReportUnknownEngineIDs:      "the receiver does not know the engine ID the keys were localized to",
		usm.ReportUnknownSecurityModels: "the receiver does not support USM",
	}[in.Report]
	if why == "" {
		why = "refused by the receiver"
	}
	name := in.Report.String()
	if in.Report == usm.ReportOther {
		name = in.ReportOID
	}
	return fmt.Sprintf("the receiver answered with Report %s: %s", name, why)
}

// handle reads one datagram from the receiver: a discovery answer, a
// Response acknowledging an inform (authenticated, with a pending
// request-id, as usm.Wrapper.Open checks), or a Report.
func (v *informV3) handle(s *sender, msg []byte, pending map[uint32]*inflight, ids *requestIDs, acknowledge func(uint32), fail func(uint32, string)) {
	if v.probeID != 0 && v.step == 1 {
		if in, err := usm.Parse(msg); err == nil && in.MsgID == v.probeID {
			v.discovered(s, msg, pending, ids, fail)
			return
		}
	}
	if v.wrapper == nil {
		return
	}
	in, err := v.wrapper.Open(msg)
	if err != nil {
		if errors.Is(err, usm.ErrWrongDigest) && v.step == 2 && v.probeID != 0 && in != nil && in.MsgID == v.probeID {
			// Some receivers (pysnmp) sign their usmStatsWrongDigests
			// Report with their own key; unverifiable, it is dropped, but
			// it tells why the informs will fail.
			v.unverified = "the receiver answers the time synchronization with messages the user's authhash does not verify: a wrong authhash (or authentication protocol) for the receiver's engine ID"
		}
		s.log.Debug("ignoring datagram that is not an answer to an inform", "err", err)
		return
	}
	switch in.PDUType {
	case usm.PDUResponse:
		id := uint32(in.RequestID)
		if p, ok := pending[id]; ok && in.MsgID == int32(p.id) {
			v.lastRefusal = ""
			acknowledge(id)
		}
	case usm.PDUReport:
		v.report(s, in, pending, ids, fail)
	}
}

// discovered takes the answer to the discovery probe.
func (v *informV3) discovered(s *sender, msg []byte, pending map[uint32]*inflight, ids *requestIDs, fail func(uint32, string)) {
	e, err := usm.ParseDiscovery(msg, v.probeID)
	if err != nil {
		s.log.Debug("ignoring a bad answer to engine discovery", "err", err)
		return
	}
	v.probeID, v.probes = 0, 0
	if v.engineID != nil && !bytes.Equal(e.ID, v.engineID) {
		reason := fmt.Sprintf("the receiver's engine ID is %s, not %s as remoteusers gives for user %q: its keys are localized to the wrong engine (give the receiver's engine ID, with keys from vicfg-snmp --hash --remote-engineid %s)",
			usm.FormatEngineID(e.ID), usm.FormatEngineID(v.engineID), v.user.Name, usm.FormatEngineID(e.ID))
		if reason != v.lastRefusal {
			v.lastRefusal = reason
			s.log.Error("SNMPv3 inform receiver has another engine ID", "user", v.user.Name, "reason", reason)
		}
		for id := range pending {
			fail(id, reason)
		}
		return
	}
	if v.wrapper == nil {
		w, err := usm.NewWrapper(v.user, e.ID)
		if err != nil {
			v.refused(s, err.Error(), pending, fail)
			return
		}
		v.wrapper = w
	}
	if v.user.Level == usm.NoAuthNoPriv {
		v.synchronized(s, e, pending)
		return
	}
	// Boots and time are trusted only from an authenticated message
	// (RFC 3414 3.2 step 7b).
	v.step = 2
	v.probe(s, ids)
}

// report takes a Report answering a time synchronization probe or an inform.
func (v *informV3) report(s *sender, in *usm.Incoming, pending map[uint32]*inflight, ids *requestIDs, fail func(uint32, string)) {
	if v.probeID != 0 && v.step == 2 && in.MsgID == v.probeID {
		if in.Report == usm.ReportNotInTimeWindows && in.Authenticated {
			if e, err := usm.SyncedEngine(in); err == nil {
				v.synchronized(s, e, pending)
				return
			}
		}
		v.probeID, v.probes = 0, 0
		v.refused(s, reportReason(in), pending, fail)
		return
	}
	p, ok := pending[uint32(in.MsgID)]
	if !ok {
		return // a late answer
	}
	switch {
	case in.Report == usm.ReportNotInTimeWindows && in.Authenticated:
		// The receiver restarted or its clock moved: take its clock and
		// send again.
		if e, err := usm.SyncedEngine(in); err == nil {
			s.log.Info("the inform receiver's engine restarted or its clock moved; informs are sent with its new boots and time",
				"boots", e.Boots, "was", v.engine.Boots)
			v.engine = e
			v.send(s, p)
		}
	case in.Report == usm.ReportNotInTimeWindows || in.Report == usm.ReportUnknownEngineIDs:
		s.log.Info("the inform receiver answered "+in.Report.String()+"; discovering its engine again", "user", v.user.Name)
		if v.probeID == 0 {
			v.discover(s, ids)
		}
	default:
		reason := reportReason(in)
		v.logRefusal(s, reason)
		fail(p.id, reason)
	}
}

// readDatagrams passes on the datagrams from the target (copied); it ends
// when the socket is closed.
func (s *sender) readDatagrams(msgs chan<- []byte, quit <-chan struct{}) {
	buf := make([]byte, 65536)
	for {
		n, _, ok := s.readFromTarget(buf)
		if !ok {
			return
		}
		select {
		case msgs <- bytes.Clone(buf[:n]):
		case <-quit:
			return
		}
	}
}
