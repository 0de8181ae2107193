package agentx

import (
	"fmt"
	"math"

	"hostagent/mibs"
)

// maxBulkVarBinds bounds a GetBulk answer: max_repetitions comes from the
// master (and, through it, from a manager) and may be 65535.
const maxBulkVarBinds = 1024

// SNMP error-status values for the set phases (RFC 3416).
const (
	errCommitFailed uint16 = 14
)

// serve answers one request of the master; nil means no answer is due
// (CleanupSet).
func (c *conn) serve(p *pdu, decodeErr error) (res *pdu) {
	res = &pdu{header: header{Type: typeResponse, SessionID: p.SessionID, TransactionID: p.TransactionID, PacketID: p.PacketID}}
	if decodeErr != nil {
		c.log.Warn("agentx: malformed request from master", "err", decodeErr)
		res.Error = errParseError
		return res
	}
	if s := c.sessionID(); s != 0 && p.SessionID != s {
		c.log.Warn("agentx: request for another session", "type", p.Type, "session", p.SessionID, "ours", s)
		res.Error = errNotOpen
		return res
	}
	// Only the default context is registered; a master that still asks
	// for another gets "nothing there" rather than our default objects.
	foreign := p.Flags&flagNonDefaultContext != 0
	defer func() {
		// A Handler bug must not take the session down with it.
		if r := recover(); r != nil {
			c.log.Error("agentx: handler panicked", "type", p.Type, "panic", fmt.Sprint(r))
			res.Error, res.Index, res.VarBinds = errGenErr, 0, nil
		}
	}()
	switch p.Type {
	case typeGet:
		res.VarBinds = make([]varBind, 0, len(p.Ranges))
		for i, r := range p.Ranges {
			v := varBind{Type: vtNoSuchObject, Name: r.Start}
			if !foreign {
				if vb, ok := c.a.opts.Handler.Get(r.Start); ok {
					var err error
					if v, err = toWire(r.Start, vb); err != nil {
						return c.handlerError(res, i, err)
					}
				}
			}
			res.VarBinds = append(res.VarBinds, v)
		}
	case typeGetNext:
		res.VarBinds = make([]varBind, 0, len(p.Ranges))
		for i, r := range p.Ranges {
			v, _, err := c.next(r, foreign)
			if err != nil {
				return c.handlerError(res, i, err)
			}
			res.VarBinds = append(res.VarBinds, v)
		}
	case typeGetBulk:
		vbs, index, err := c.bulk(p, foreign)
		if err != nil {
			return c.handlerError(res, index, err)
		}
		res.VarBinds = vbs
	case typeTestSet:
		// A read-only agent: the first varbind is the one that fails.
		res.Error = errNotWritable
		if len(p.VarBinds) > 0 {
			res.Index = 1
		}
	case typeCommitSet:
		// Never reached after our TestSet refusals; if a master sends it
		// anyway there is nothing to commit.
		res.Error = errCommitFailed
	case typeUndoSet:
		// Nothing was changed, so undoing succeeds.
	case typeCleanupSet:
		return nil // RFC 2741 §7.2.4.4: no Response
	case typePing:
	default:
		c.log.Debug("agentx: unexpected request from master", "type", p.Type)
		res.Error = errProcessingError
	}
	return res
}

func (c *conn) handlerError(res *pdu, i int, err error) *pdu {
	c.log.Error("agentx: handler returned a bad object", "err", err)
	res.Error, res.Index, res.VarBinds = errGenErr, uint16(min(i+1, math.MaxUint16)), nil
	return res
}

// next answers one SearchRange of a GetNext; end reports endOfMibView.
func (c *conn) next(r searchRange, foreign bool) (v varBind, end bool, err error) {
	if foreign {
		return varBind{Type: vtEndOfMibView, Name: r.Start}, true, nil
	}
	vb, ok := c.a.opts.Handler.Next(r.Start, r.Include, r.End)
	if !ok {
		return varBind{Type: vtEndOfMibView, Name: r.Start}, true, nil
	}
	// An object out of the range would make the master answer out of
	// order, and a manager's walk loop or stop early.
	cmp := compareOID(vb.OID, r.Start)
	if cmp < 0 || (cmp == 0 && !r.Include) || (len(r.End) > 0 && compareOID(vb.OID, r.End) >= 0) {
		return v, false, fmt.Errorf("Next(%s, %v, %s) returned %s, out of the range", r.Start, r.Include, r.End.String(), vb.OID)
	}
	v, err = toWire(vb.OID, vb)
	return v, false, err
}

// bulk answers a GetBulk (RFC 2741 §7.2.3.3): the first non_repeaters
// ranges once, then up to max_repetitions rows of the others, each
// repetition starting after what the previous one found, stopping early
// when every repeater has reached endOfMibView.
func (c *conn) bulk(p *pdu, foreign bool) ([]varBind, int, error) {
	n := min(int(p.NonRepeaters), len(p.Ranges))
	out := make([]varBind, 0, min(len(p.Ranges)*max(int(p.MaxRepetitions), 1), maxBulkVarBinds))
	for i := range n {
		v, _, err := c.next(p.Ranges[i], foreign)
		if err != nil {
			return nil, i, err
		}
		out = append(out, v)
	}
	cur := append([]searchRange(nil), p.Ranges[n:]...)
	ended := make([]bool, len(cur))
	for rep := 0; rep < int(p.MaxRepetitions) && len(cur) > 0; rep++ {
		if rep > 0 && len(out)+len(cur) > maxBulkVarBinds {
			break // fewer repetitions are allowed; the master asks again
		}
		live := false
		for j, r := range cur {
			if ended[j] {
				out = append(out, varBind{Type: vtEndOfMibView, Name: r.Start})
				continue
			}
			v, end, err := c.next(r, foreign)
			if err != nil {
				return nil, n + j, err
			}
			out = append(out, v)
			if end {
				ended[j] = true
				continue
			}
			live = true
			cur[j] = searchRange{Start: v.Name, End: r.End}
		}
		if !live {
			break
		}
	}
	return out, 0, nil
}

// toWire converts a Handler's value to an AgentX VarBind named name,
// refusing values their syntax cannot carry.
func toWire(name mibs.OID, vb mibs.VarBind) (varBind, error) {
	v := varBind{Name: name}
	switch vb.Syntax {
	case mibs.Integer:
		if vb.Int < math.MinInt32 || vb.Int > math.MaxInt32 {
			return v, fmt.Errorf("%s: INTEGER %d out of the 32-bit range", name, vb.Int)
		}
		v.Type, v.Int = vtInteger, int32(vb.Int)
	case mibs.OctetString:
		v.Type, v.Bytes = vtOctetString, vb.Bytes
	case mibs.ObjectIdentifier:
		if len(vb.Object) > maxSubIDs {
			return v, fmt.Errorf("%s: OBJECT IDENTIFIER value of %d sub-identifiers", name, len(vb.Object))
		}
		v.Type, v.OID = vtObjectIdentifier, vb.Object
	case mibs.IPAddress:
		if len(vb.Bytes) != 4 {
			return v, fmt.Errorf("%s: IpAddress of %d bytes, must be 4", name, len(vb.Bytes))
		}
		v.Type, v.Bytes = vtIPAddress, vb.Bytes
	case mibs.Counter32, mibs.Gauge32, mibs.TimeTicks:
		if vb.Uint > math.MaxUint32 {
			return v, fmt.Errorf("%s: %s %d out of the 32-bit range", name, vb.Syntax, vb.Uint)
		}
		v.Type, v.Uint = vtCounter32, vb.Uint
		if vb.Syntax == mibs.Gauge32 {
			v.Type = vtGauge32
		} else if vb.Syntax == mibs.TimeTicks {
			v.Type = vtTimeTicks
		}
	case mibs.Counter64:
		v.Type, v.Uint = vtCounter64, vb.Uint
	default:
		return v, fmt.Errorf("%s: unknown syntax %s", name, vb.Syntax)
	}
	if len(name) == 0 || len(name) > maxSubIDs {
		return v, fmt.Errorf("object name %q: must have 1 to %d sub-identifiers", name.String(), maxSubIDs)
	}
	return v, nil
}

// compareOID orders OIDs lexicographically, as SNMP walks them.
func compareOID(a, b mibs.OID) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
