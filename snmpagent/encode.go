package snmpagent

import (
	"encoding/binary"
	"fmt"

	"hostagent/mibs"
	"hostagent/snmpagent/ber"
)

// The BER encoder is written here rather than using gosnmp's marshaller
// because the agent encodes each notification once and sends the same PDU to
// every target: it needs the PDU apart from the message header (whose
// community differs per target) and a fixed place for the request-id, and it
// must not allocate per varbind (gosnmp's marshaller builds a bytes.Buffer per
// element, which alone caps a send loop well below the agent's goal).
// gosnmp decodes what this writes in the tests, and snmptrapd in integration.

// BER tags used by SNMP (RFC 1157, RFC 3416).
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagIPAddress   = 0x40
	tagCounter32   = 0x41
	tagGauge32     = 0x42
	tagTimeTicks   = 0x43
	tagCounter64   = 0x46

	tagTrapV1     = 0xa4
	tagGetResp    = 0xa2
	tagInform     = 0xa6
	tagTrapV2     = 0xa7
	versionV1     = 0
	versionV2c    = 1
	maxRequestID  = 0x7fffffff
	minRequestID  = 0x01000000 // from here up every request-id encodes in 4 octets
	requestIDSize = 4
	agentAddrSize = 4 // an IpAddress: SNMPv1 knows only IPv4
)

var (
	sysUpTime0   = mibs.SysUpTime.OID.Append(0)
	snmpTrapOID0 = mibs.SnmpTrapOID.OID.Append(0)
)

// begin starts a constructed element; finish fills in its length.
func begin(b []byte, tag byte) ([]byte, int) {
	b = append(b, tag, 0)
	return b, len(b)
}

// finish writes the definite length of the element opened at start, moving
// its content when the length needs the long form.
func finish(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	k := 1
	for v := n >> 8; v > 0; v >>= 8 {
		k++
	}
	b = append(b, make([]byte, k)...)
	copy(b[start+k:], b[start:start+n])
	b[start-1] = 0x80 | byte(k)
	for i := k - 1; i >= 0; i-- {
		b[start+i] = byte(n)
		n >>= 8
	}
	return b
}

// appendUint writes an unsigned application type (Counter32, Gauge32,
// TimeTicks, Counter64): minimal octets, with a leading zero when the top
// bit is set so that it does not read as negative.
func appendUint(b []byte, tag byte, v uint64) []byte {
	n := 1
	for n < 8 && v>>(8*n) != 0 {
		n++
	}
	pad := v>>(8*n-1)&1 == 1
	if pad {
		b = append(b, tag, byte(n+1), 0)
	} else {
		b = append(b, tag, byte(n))
	}
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func appendBytes(b []byte, tag byte, s []byte) []byte {
	b = ber.AppendLength(append(b, tag), len(s))
	return append(b, s...)
}

func appendOID(b []byte, oid mibs.OID) []byte {
	b, start := begin(b, tagOID)
	b = appendSubID(b, oid[0]*40+oid[1])
	for _, v := range oid[2:] {
		b = appendSubID(b, v)
	}
	return finish(b, start)
}

// appendSubID writes one sub-identifier in base 128, high groups first.
func appendSubID(b []byte, v uint32) []byte {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(b, tmp[i:]...)
}

func appendVarBind(b []byte, vb mibs.VarBind) []byte {
	b, start := begin(b, tagSequence)
	b = appendOID(b, vb.OID)
	switch vb.Syntax {
	case mibs.Integer:
		b = ber.AppendInt(b, tagInteger, vb.Int)
	case mibs.OctetString:
		b = appendBytes(b, tagOctetString, vb.Bytes)
	case mibs.ObjectIdentifier:
		b = appendOID(b, vb.Object)
	case mibs.IPAddress:
		b = appendBytes(b, tagIPAddress, vb.Bytes)
	case mibs.Counter32:
		b = appendUint(b, tagCounter32, vb.Uint)
	case mibs.Gauge32:
		b = appendUint(b, tagGauge32, vb.Uint)
	case mibs.TimeTicks:
		b = appendUint(b, tagTimeTicks, vb.Uint)
	case mibs.Counter64:
		b = appendUint(b, tagCounter64, vb.Uint)
	default:
		b = append(b, tagNull, 0)
	}
	return finish(b, start)
}

// encodeV2 writes an SNMPv2 Trap-PDU (RFC 3416 4.2.6): sysUpTime.0,
// snmpTrapOID.0, then the notification's varbinds. The request-id is a
// 4-octet placeholder the sender overwrites with its next one, for traps as
// for informs (see requestIDOffset); an InformRequest-PDU differs only by
// its tag, which the sender also sets.
func encodeV2(b []byte, n *mibs.Notification, uptime uint32) []byte {
	b, pdu := begin(b, tagTrapV2)
	b = ber.AppendInt(b, tagInteger, maxRequestID)
	b = append(b, tagInteger, 1, 0, tagInteger, 1, 0) // error-status, error-index
	b, list := begin(b, tagSequence)
	b, vb := begin(b, tagSequence)
	b = appendOID(b, sysUpTime0)
	b = appendUint(b, tagTimeTicks, uint64(uptime))
	b = finish(b, vb)
	b, vb = begin(b, tagSequence)
	b = appendOID(b, snmpTrapOID0)
	b = appendOID(b, n.Type.OID)
	b = finish(b, vb)
	for _, v := range n.VarBinds {
		b = appendVarBind(b, v)
	}
	b = finish(b, list)
	return finish(b, pdu)
}

// requestIDOffset is where the 4 request-id octets of a PDU made by encodeV2
// start: after the PDU tag, its length octets, and the INTEGER tag and length.
func requestIDOffset(pdu []byte) int {
	return 1 + lengthOctets(pdu[1]) + 2
}

// agentAddrOffset is where the 4 agent-addr octets of a PDU made by
// encodeV1 start: after the PDU tag and length octets, the enterprise
// OBJECT IDENTIFIER, and the IpAddress tag and length.
func agentAddrOffset(pdu []byte) int {
	at := 1 + lengthOctets(pdu[1]) // the enterprise's tag
	n := lengthOctets(pdu[at+1])
	at += 1 + n + contentLength(pdu[at+1:at+1+n])
	return at + 2
}

// lengthOctets is how many octets a BER length starting with first takes.
func lengthOctets(first byte) int {
	if first&0x80 == 0 {
		return 1
	}
	return 1 + int(first&0x7f)
}

// contentLength decodes a definite BER length (short or long form).
func contentLength(l []byte) int {
	if l[0]&0x80 == 0 {
		return int(l[0])
	}
	n := 0
	for _, b := range l[1:] {
		n = n<<8 | int(b)
	}
	return n
}

// v1Trap holds the SNMPv1 Trap-PDU fields derived per RFC 3584 section 3.2.
type v1Trap struct {
	enterprise mibs.OID
	generic    int64
	specific   int64
}

// genericTraps are snmpTraps (1.3.6.1.6.3.1.1.5): coldStart .1 to
// egpNeighborLoss .6 map to generic-trap 0 to 5.
var genericTraps = mibs.MustOID("1.3.6.1.6.3.1.1.5")

// toV1 translates a notification OID to SNMPv1 fields (RFC 3584 3.2). For the
// generic traps the enterprise is the agent's sysObjectID, as net-snmp and
// ESXi send it, so that receivers show which kind of agent restarted.
func toV1(trapOID, sysObjectID mibs.OID) v1Trap {
	if len(trapOID) == len(genericTraps)+1 && trapOID.HasPrefix(genericTraps) && trapOID[len(trapOID)-1] >= 1 && trapOID[len(trapOID)-1] <= 6 {
		return v1Trap{enterprise: sysObjectID, generic: int64(trapOID[len(trapOID)-1]) - 1}
	}
	last := len(trapOID) - 1
	t := v1Trap{generic: 6, specific: int64(trapOID[last])}
	if trapOID[last-1] == 0 {
		t.enterprise = trapOID[:last-1]
	} else {
		t.enterprise = trapOID[:last]
	}
	return t
}

// encodeV1 writes an SNMPv1 Trap-PDU (RFC 1157 4.1.6). Counter64 cannot be
// carried by SNMPv1, so such a notification is not translated (RFC 3584
// 3.2 (3)), and the caller counts it as dropped for v1 targets. agent-addr
// is 0.0.0.0, a placeholder each sender overwrites with the address that
// reaches its target (see agentAddrOffset): the PDU is encoded once for
// every v1 target, whose routes may leave by different interfaces.
func encodeV1(b []byte, n *mibs.Notification, uptime uint32, sysObjectID mibs.OID) ([]byte, error) {
	for _, vb := range n.VarBinds {
		if vb.Syntax == mibs.Counter64 {
			return b, fmt.Errorf("%s carries a Counter64 (%s), which SNMPv1 cannot send (RFC 3584)", n.Type.Name, vb.OID)
		}
	}
	t := toV1(n.Type.OID, sysObjectID)
	b, pdu := begin(b, tagTrapV1)
	b = appendOID(b, t.enterprise)
	var unset [agentAddrSize]byte
	b = appendBytes(b, tagIPAddress, unset[:])
	b = ber.AppendInt(b, tagInteger, t.generic)
	b = ber.AppendInt(b, tagInteger, t.specific)
	b = appendUint(b, tagTimeTicks, uint64(uptime))
	b, list := begin(b, tagSequence)
	for _, v := range n.VarBinds {
		b = appendVarBind(b, v)
	}
	b = finish(b, list)
	return finish(b, pdu), nil
}

// appendMessage wraps a PDU in a community-based message (RFC 1901):
// SEQUENCE { version, community, PDU }.
func appendMessage(b []byte, version int64, community []byte, pdu []byte) []byte {
	inner := 3 + 1 + ber.LengthSize(len(community)) + len(community) + len(pdu)
	b = ber.AppendLength(append(b, tagSequence), inner)
	b = ber.AppendInt(b, tagInteger, version)
	b = appendBytes(b, tagOctetString, community)
	return append(b, pdu...)
}

// setRequestID overwrites the 4-octet request-id placeholder at off.
func setRequestID(msg []byte, off int, id uint32) {
	binary.BigEndian.PutUint32(msg[off:off+requestIDSize], id)
}
