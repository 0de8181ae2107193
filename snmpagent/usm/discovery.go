package usm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

// Engine is what a notification originator knows of an authoritative
// engine (an inform receiver): its ID and its boots and time as last learnt,
// and when they were learnt (RFC 3414 2.3's snmpEngineTime estimate).
type Engine struct {
	ID    []byte
	Boots uint32
	Time  uint32
	At    time.Time // when Boots and Time were read; carries a monotonic clock reading
}

// Clock estimates the engine's boots and time at now: its time advances
// with ours (RFC 3414 2.3).
func (e Engine) Clock(now time.Time) (boots, engineTime uint32) {
	t := int64(e.Time) + int64(now.Sub(e.At)/time.Second)
	return e.Boots, uint32(min(max(t, 0), maxInt32))
}

// DiscoveryProbe appends RFC 3414 §4's discovery request: a reportable
// noAuthNoPriv message with an empty authoritative engine ID and user name,
// boots and time 0, carrying an empty GetRequest. The receiver answers with a
// Report (usmStatsUnknownEngineIDs) from its engine ID; see ParseDiscovery.
func DiscoveryProbe(dst []byte, msgID, requestID int32) ([]byte, error) {
	if msgID < 0 {
		return dst, fmt.Errorf("discovery probe: msgID %d is negative", msgID)
	}
	sp, err := NewScopedPDU(nil, nil, emptyGetRequest)
	if err != nil {
		return dst, err
	}
	h := header{msgID: msgID, flags: flagReportable}
	dst, _, at := h.append(dst, len(sp.b), false)
	dst = append(dst, sp.b...)
	binary.BigEndian.PutUint32(dst[at+sp.reqAt:], uint32(requestID))
	return dst, nil
}

// emptyGetRequest is a GetRequest-PDU without varbinds and with a 4-octet
// request-id placeholder: the PDU of the discovery probes.
var emptyGetRequest = []byte{byte(PDUGetRequest), 14, tagInteger, 4, 0, 0, 0, 0, tagInteger, 1, 0, tagInteger, 1, 0, tagSequence, 0}

// ParseDiscovery reads the Report answering DiscoveryProbe(msgID): the
// receiver's engine ID, and the boots and time it reported (net-snmp sends
// its own; when they are 0, or to be sure of them, follow with
// Wrapper.TimeSyncProbe, whose answer is authenticated).
func ParseDiscovery(msg []byte, msgID int32) (Engine, error) {
	in, err := Parse(msg)
	if err != nil {
		return Engine{}, fmt.Errorf("discovery: %w", err)
	}
	if in.MsgID != msgID {
		return Engine{}, fmt.Errorf("discovery: answer to msgID %d, not %d", in.MsgID, msgID)
	}
	if in.PDUType != PDUReport {
		return Engine{}, fmt.Errorf("discovery: a %s, not a Report", in.PDUType)
	}
	if err := ValidateEngineID(in.EngineID); err != nil {
		return Engine{}, fmt.Errorf("discovery: the receiver's %w", err)
	}
	return Engine{ID: in.EngineID, Boots: in.EngineBoots, Time: in.EngineTime, At: time.Now()}, nil
}

// TimeSyncProbe appends the second step of RFC 3414 §4's discovery: an
// authenticated, reportable GetRequest with the wrapper's engine ID and
// boots and time 0. The receiver answers with an authenticated Report
// usmStatsNotInTimeWindows carrying its boots and time; read it with Open
// and SyncedEngine.
func (w *Wrapper) TimeSyncProbe(dst []byte, msgID, requestID int32) ([]byte, error) {
	if w.level == NoAuthNoPriv {
		return dst, errors.New("time synchronization needs an authenticated user")
	}
	s, err := NewScopedPDU(w.engineID, nil, emptyGetRequest)
	if err != nil {
		return dst, err
	}
	return w.Wrap(dst, s, Params{MsgID: msgID, RequestID: requestID})
}

// SyncedEngine returns the engine state an authenticated Report carries
// (the answer to TimeSyncProbe, or a usmStatsNotInTimeWindows answering an
// inform): boots and time are taken only from authenticated messages
// (RFC 3414 3.2 step 7b).
func SyncedEngine(in *Incoming) (Engine, error) {
	if !in.Authenticated {
		return Engine{}, fmt.Errorf("engine boots and time from an unauthenticated %s (%s) are not trusted", in.PDUType, in.Report)
	}
	return Engine{ID: in.EngineID, Boots: in.EngineBoots, Time: in.EngineTime, At: time.Now()}, nil
}

// Discover asks the SNMP engine at addr (host:port) for its engine ID,
// boots and time by RFC 3414 §4's discovery, the unauthenticated first
// step: for a command line (vicfg-snmp --hash --remote-target), which
// must know a receiver's engine ID to localize its user's keys. The
// agent's inform senders discover on their own, without blocking. Each
// of tries probes waits up to timeout for its Report; ctx ends the wait.
func Discover(ctx context.Context, addr string, timeout time.Duration, tries int) (Engine, error) {
	var d net.Dialer
	// Connected: only the receiver's datagrams are read, and an ICMP
	// port unreachable shows as an error rather than a timeout.
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return Engine{}, fmt.Errorf("engine discovery: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 65535)
	last := errors.New("no answer")
	for range max(tries, 1) {
		// A cancel between tries set a deadline the next would replace.
		if ctx.Err() != nil {
			return Engine{}, fmt.Errorf("engine discovery of %s: %w", addr, ctx.Err())
		}
		id := rand.Int32N(maxInt32) + 1
		probe, err := DiscoveryProbe(nil, id, id)
		if err != nil {
			return Engine{}, err
		}
		if _, err := conn.Write(probe); err != nil {
			last = err
			continue
		}
		conn.SetReadDeadline(time.Now().Add(timeout))
		if ctx.Err() != nil { // cancelled while the deadline was set
			return Engine{}, fmt.Errorf("engine discovery of %s: %w", addr, ctx.Err())
		}
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if ctx.Err() != nil {
					return Engine{}, fmt.Errorf("engine discovery of %s: %w", addr, ctx.Err())
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					last = err
				}
				break
			}
			e, err := ParseDiscovery(buf[:n], id)
			if err == nil {
				return e, nil
			}
			last = err // an answer, but not to this probe: wait on
		}
	}
	return Engine{}, fmt.Errorf("engine discovery of %s: %v after %d tries of %s (is an SNMPv3 receiver listening there?)", addr, last, max(tries, 1), timeout)
}
