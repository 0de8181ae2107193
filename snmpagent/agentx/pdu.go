package agentx

import (
	"encoding/binary"
	"errors"
	"fmt"

	"hostagent/mibs"
)

// pduType is h.type of the AgentX header (RFC 2741 §6.1).
type pduType uint8

const (
	typeOpen            pduType = 1
	typeClose           pduType = 2
	typeRegister        pduType = 3
	typeUnregister      pduType = 4
	typeGet             pduType = 5
	typeGetNext         pduType = 6
	typeGetBulk         pduType = 7
	typeTestSet         pduType = 8
	typeCommitSet       pduType = 9
	typeUndoSet         pduType = 10
	typeCleanupSet      pduType = 11
	typeNotify          pduType = 12
	typePing            pduType = 13
	typeIndexAllocate   pduType = 14
	typeIndexDeallocate pduType = 15
	typeAddAgentCaps    pduType = 16
	typeRemoveAgentCaps pduType = 17
	typeResponse        pduType = 18
)

var typeNames = [...]string{"", "Open", "Close", "Register", "Unregister", "Get", "GetNext", "GetBulk",
	"TestSet", "CommitSet", "UndoSet", "CleanupSet", "Notify", "Ping", "IndexAllocate",
	"IndexDeallocate", "AddAgentCaps", "RemoveAgentCaps", "Response"}

func (t pduType) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// Header flags (RFC 2741 §6.1).
const (
	flagInstanceRegistration = 0x01
	flagNewIndex             = 0x02
	flagAnyIndex             = 0x04
	flagNonDefaultContext    = 0x08
	flagNetworkByteOrder     = 0x10
)

// Value types of a VarBind (RFC 2741 §5.4).
const (
	vtInteger          uint16 = 2
	vtOctetString      uint16 = 4
	vtNull             uint16 = 5
	vtObjectIdentifier uint16 = 6
	vtIPAddress        uint16 = 64
	vtCounter32        uint16 = 65
	vtGauge32          uint16 = 66
	vtTimeTicks        uint16 = 67
	vtOpaque           uint16 = 68
	vtCounter64        uint16 = 70
	vtNoSuchObject     uint16 = 128
	vtNoSuchInstance   uint16 = 129
	vtEndOfMibView     uint16 = 130
)

// res.error values of a Response-PDU: the SNMP error-status values the
// subagent uses (RFC 3416) and the AgentX ones (RFC 2741 §6.2.16).
const (
	errNoError               uint16 = 0
	errGenErr                uint16 = 5
	errNoAccess              uint16 = 6
	errNotWritable           uint16 = 17
	errOpenFailed            uint16 = 256
	errNotOpen               uint16 = 257
	errIndexWrongType        uint16 = 258
	errIndexAlreadyAllocated uint16 = 259
	errIndexNoneAvailable    uint16 = 260
	errIndexNotAllocated     uint16 = 261
	errUnsupportedContext    uint16 = 262
	errDuplicateRegistration uint16 = 263
	errUnknownRegistration   uint16 = 264
	errUnknownAgentCaps      uint16 = 265
	errParseError            uint16 = 266
	errRequestDenied         uint16 = 267
	errProcessingError       uint16 = 268
)

func errorName(e uint16) string {
	switch e {
	case errNoError:
		return "noError"
	case errGenErr:
		return "genErr"
	case errNoAccess:
		return "noAccess"
	case errNotWritable:
		return "notWritable"
	case errOpenFailed:
		return "openFailed"
	case errNotOpen:
		return "notOpen"
	case errIndexWrongType:
		return "indexWrongType"
	case errIndexAlreadyAllocated:
		return "indexAlreadyAllocated"
	case errIndexNoneAvailable:
		return "indexNoneAvailable"
	case errIndexNotAllocated:
		return "indexNotAllocated"
	case errUnsupportedContext:
		return "unsupportedContext"
	case errDuplicateRegistration:
		return "duplicateRegistration"
	case errUnknownRegistration:
		return "unknownRegistration"
	case errUnknownAgentCaps:
		return "unknownAgentCaps"
	case errParseError:
		return "parseError"
	case errRequestDenied:
		return "requestDenied"
	case errProcessingError:
		return "processingError"
	}
	return fmt.Sprintf("error %d", e)
}

// Close-PDU reasons (RFC 2741 §6.2.2).
const (
	reasonOther         uint8 = 1
	reasonParseError    uint8 = 2
	reasonProtocolError uint8 = 3
	reasonTimeouts      uint8 = 4
	reasonShutdown      uint8 = 5
	reasonByManager     uint8 = 6
)

const (
	headerLen = 20
	// maxPayload bounds h.payload_length: the master's PDUs are small
	// (net-snmp sends one GetNext per repetition), and a hostile length
	// must not make us allocate gigabytes.
	maxPayload = 1 << 20
	// maxSubIDs is the most sub-identifiers an OID may have (RFC 2741
	// §5.1, as SNMP's own limit).
	maxSubIDs = 128
	// internetPrefix is 1.3.6.1, which the prefix field abbreviates.
	internetLen = 4
)

var internet = mibs.OID{1, 3, 6, 1}

// header is the fixed 20-byte AgentX header.
type header struct {
	Version       uint8
	Type          pduType
	Flags         uint8
	SessionID     uint32
	TransactionID uint32
	PacketID      uint32
	PayloadLength uint32
}

func (h header) order() binary.ByteOrder {
	if h.Flags&flagNetworkByteOrder != 0 {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// decodeHeader reads the header of a PDU. The caller reads PayloadLength
// bytes next; a length above maxPayload is refused here, before anything is
// allocated for it.
func decodeHeader(b []byte) (header, error) {
	if len(b) < headerLen {
		return header{}, fmt.Errorf("agentx header: %d bytes, need %d", len(b), headerLen)
	}
	h := header{Version: b[0], Type: pduType(b[1]), Flags: b[2]}
	o := h.order()
	h.SessionID = o.Uint32(b[4:])
	h.TransactionID = o.Uint32(b[8:])
	h.PacketID = o.Uint32(b[12:])
	h.PayloadLength = o.Uint32(b[16:])
	switch {
	case h.Version != 1:
		return h, fmt.Errorf("agentx header: version %d, only 1 exists", h.Version)
	case h.PayloadLength > maxPayload:
		return h, fmt.Errorf("agentx header: %s payload of %d bytes exceeds the limit of %d", h.Type, h.PayloadLength, maxPayload)
	case h.PayloadLength%4 != 0:
		return h, fmt.Errorf("agentx header: %s payload length %d is not a multiple of 4", h.Type, h.PayloadLength)
	}
	return h, nil
}

// searchRange is a SearchRange (RFC 2741 §5.2): from Start (itself
// included when Include) up to End, excluded; an empty End is no bound.
type searchRange struct {
	Start   mibs.OID
	Include bool
	End     mibs.OID
}

// varBind is a VarBind on the wire (RFC 2741 §5.4).
type varBind struct {
	Type  uint16
	Name  mibs.OID
	Int   int32    // Integer
	Uint  uint64   // Counter32, Gauge32, TimeTicks, Counter64
	Bytes []byte   // OctetString, IpAddress, Opaque
	OID   mibs.OID // ObjectIdentifier
}

// pdu is any AgentX PDU; which fields are used depends on Type.
type pdu struct {
	header
	Context []byte // when Flags has flagNonDefaultContext

	Timeout     uint8    // Open, Register: seconds (0: the master's default)
	ID          mibs.OID // Open
	Description []byte   // Open
	Reason      uint8    // Close
	Priority    uint8    // Register
	RangeSubID  uint8    // Register
	Subtree     mibs.OID // Register
	UpperBound  uint32   // Register, when RangeSubID != 0

	NonRepeaters, MaxRepetitions uint16        // GetBulk
	Ranges                       []searchRange // Get, GetNext, GetBulk

	SysUpTime uint32    // Response
	Error     uint16    // Response
	Index     uint16    // Response
	VarBinds  []varBind // Response, TestSet
}

// hasContext reports whether the PDU type carries the optional context
// field when flagNonDefaultContext is set (RFC 2741 §6.1.1).
func hasContext(t pduType) bool {
	switch t {
	case typeRegister, typeUnregister, typeGet, typeGetNext, typeGetBulk, typeTestSet,
		typeNotify, typePing, typeIndexAllocate, typeIndexDeallocate, typeAddAgentCaps, typeRemoveAgentCaps:
		return true
	}
	return false
}

// encoder appends AgentX fields in network byte order: everything this
// side sends has flagNetworkByteOrder set.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

func (e *encoder) octets(s []byte) {
	if uint64(len(s)) > maxPayload {
		e.fail(fmt.Errorf("octet string of %d bytes exceeds %d", len(s), maxPayload))
		return
	}
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
	for pad := (4 - len(s)%4) % 4; pad > 0; pad-- {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// oid writes an Object Identifier (RFC 2741 §5.1), abbreviating a
// 1.3.6.1.n prefix (n in 1..255) as the prefix field does.
func (e *encoder) oid(o mibs.OID, include bool) {
	prefix := uint8(0)
	subs := o
	if len(o) > internetLen+1 && o[:internetLen].Equal(internet) && o[internetLen] > 0 && o[internetLen] < 256 {
		prefix = uint8(o[internetLen])
		subs = o[internetLen+1:]
	}
	if len(subs) > maxSubIDs {
		e.fail(fmt.Errorf("OID %s: %d sub-identifiers, at most %d", o, len(o), maxSubIDs))
		return
	}
	e.u8(uint8(len(subs)))
	e.u8(prefix)
	if include {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.u8(0)
	for _, s := range subs {
		e.u32(s)
	}
}

func (e *encoder) varBind(v varBind) {
	e.u16(v.Type)
	e.u16(0)
	e.oid(v.Name, false)
	switch v.Type {
	case vtInteger:
		e.u32(uint32(v.Int))
	case vtOctetString, vtIPAddress, vtOpaque:
		e.octets(v.Bytes)
	case vtObjectIdentifier:
		e.oid(v.OID, false)
	case vtCounter32, vtGauge32, vtTimeTicks:
		if v.Uint > 0xffffffff {
			e.fail(fmt.Errorf("varbind %s: value %d does not fit 32 bits", v.Name, v.Uint))
			return
		}
		e.u32(uint32(v.Uint))
	case vtCounter64:
		e.u64(v.Uint)
	case vtNull, vtNoSuchObject, vtNoSuchInstance, vtEndOfMibView:
	default:
		e.fail(fmt.Errorf("varbind %s: unknown value type %d", v.Name, v.Type))
	}
}

// encode renders p with its header; the payload length is computed, the
// byte order is always network order.
func (p *pdu) encode() ([]byte, error) {
	e := &encoder{b: make([]byte, headerLen, 64)}
	flags := p.Flags | flagNetworkByteOrder
	if len(p.Context) > 0 && hasContext(p.Type) {
		flags |= flagNonDefaultContext
		e.octets(p.Context)
	} else {
		flags &^= flagNonDefaultContext
	}
	switch p.Type {
	case typeOpen:
		e.u8(p.Timeout)
		e.u8(0)
		e.u8(0)
		e.u8(0)
		e.oid(p.ID, false)
		e.octets(p.Description)
	case typeClose:
		e.u8(p.Reason)
		e.u8(0)
		e.u8(0)
		e.u8(0)
	case typeRegister, typeUnregister:
		e.u8(p.Timeout) // r.timeout; reserved in Unregister
		e.u8(p.Priority)
		e.u8(p.RangeSubID)
		e.u8(0)
		e.oid(p.Subtree, false)
		if p.RangeSubID != 0 {
			e.u32(p.UpperBound)
		}
	case typeGetBulk:
		e.u16(p.NonRepeaters)
		e.u16(p.MaxRepetitions)
		fallthrough
	case typeGet, typeGetNext:
		for _, r := range p.Ranges {
			e.oid(r.Start, r.Include)
			e.oid(r.End, false)
		}
	case typeResponse:
		e.u32(p.SysUpTime)
		e.u16(p.Error)
		e.u16(p.Index)
		fallthrough
	case typeTestSet:
		for _, v := range p.VarBinds {
			e.varBind(v)
		}
	case typeCommitSet, typeUndoSet, typeCleanupSet, typePing:
	default:
		return nil, fmt.Errorf("agentx: encoding %s is not supported", p.Type)
	}
	if e.err != nil {
		return nil, fmt.Errorf("agentx: encode %s: %w", p.Type, e.err)
	}
	n := len(e.b) - headerLen
	if n > maxPayload {
		return nil, fmt.Errorf("agentx: encode %s: payload of %d bytes exceeds %d", p.Type, n, maxPayload)
	}
	b := e.b
	b[0] = 1
	b[1] = byte(p.Type)
	b[2] = flags
	b[3] = 0
	binary.BigEndian.PutUint32(b[4:], p.SessionID)
	binary.BigEndian.PutUint32(b[8:], p.TransactionID)
	binary.BigEndian.PutUint32(b[12:], p.PacketID)
	binary.BigEndian.PutUint32(b[16:], uint32(n))
	return b, nil
}

// errShort is wrapped by every decoding error caused by a field that runs
// past the end of the payload.
var errShort = errors.New("truncated")

// decoder reads AgentX fields in the byte order the header announced.
type decoder struct {
	b   []byte
	o   binary.ByteOrder
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail(fmt.Errorf("%s: %w (%d bytes needed, %d left)", what, errShort, n, len(d.b)))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8(what string) uint8 {
	if b := d.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if b := d.take(2, what); b != nil {
		return d.o.Uint16(b)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if b := d.take(4, what); b != nil {
		return d.o.Uint32(b)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if b := d.take(8, what); b != nil {
		return d.o.Uint64(b)
	}
	return 0
}

func (d *decoder) octets(what string) []byte {
	n := d.u32(what + " length")
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(d.b)) {
		d.fail(fmt.Errorf("%s: %w (length %d, %d bytes left)", what, errShort, n, len(d.b)))
		return nil
	}
	s := d.take(int(n), what)
	d.take(int((4-n%4)%4), what+" padding")
	if d.err != nil {
		return nil
	}
	return append([]byte{}, s...)
}

func (d *decoder) oid(what string) (mibs.OID, bool) {
	// n_subid, prefix, include and reserved at once: naming each in its
	// own error would cost string concatenations on every OID decoded,
	// the hottest path (two per SearchRange): 12% of a round trip.
	h := d.take(4, what)
	if h == nil {
		return nil, false
	}
	n, prefix, include := int(h[0]), h[1], h[2] != 0
	if n > maxSubIDs {
		d.fail(fmt.Errorf("%s: %d sub-identifiers, at most %d", what, n, maxSubIDs))
		return nil, false
	}
	if n == 0 && prefix == 0 {
		return nil, include // the null OID
	}
	raw := d.take(4*n, what)
	if d.err != nil {
		return nil, false
	}
	var o mibs.OID
	if prefix != 0 {
		o = make(mibs.OID, 0, internetLen+1+n)
		o = append(append(o, internet...), uint32(prefix))
	} else {
		o = make(mibs.OID, 0, n)
	}
	for i := 0; i < n; i++ {
		o = append(o, d.o.Uint32(raw[4*i:]))
	}
	return o, include
}

func (d *decoder) varBind() varBind {
	v := varBind{Type: d.u16("varbind type")}
	d.u16("varbind reserved")
	v.Name, _ = d.oid("varbind name")
	switch v.Type {
	case vtInteger:
		v.Int = int32(d.u32("Integer"))
	case vtOctetString, vtOpaque:
		v.Bytes = d.octets("OCTET STRING")
	case vtIPAddress:
		v.Bytes = d.octets("IpAddress")
		if d.err == nil && len(v.Bytes) != 4 {
			d.fail(fmt.Errorf("IpAddress of %s: %d bytes, must be 4", v.Name, len(v.Bytes)))
		}
	case vtObjectIdentifier:
		v.OID, _ = d.oid("OBJECT IDENTIFIER value")
	case vtCounter32, vtGauge32, vtTimeTicks:
		v.Uint = uint64(d.u32("32-bit value"))
	case vtCounter64:
		v.Uint = d.u64("Counter64")
	case vtNull, vtNoSuchObject, vtNoSuchInstance, vtEndOfMibView:
	default:
		d.fail(fmt.Errorf("varbind %s: unknown value type %d", v.Name, v.Type))
	}
	return v
}

// decodePDU decodes the payload of a PDU whose header was read already.
// Any malformed or truncated field is an error naming it; nothing panics
// and no allocation exceeds the payload's size.
func decodePDU(h header, payload []byte) (*pdu, error) {
	if uint64(len(payload)) != uint64(h.PayloadLength) {
		return nil, fmt.Errorf("agentx %s: payload of %d bytes, header says %d", h.Type, len(payload), h.PayloadLength)
	}
	p := &pdu{header: h}
	d := &decoder{b: payload, o: h.order()}
	if h.Flags&flagNonDefaultContext != 0 && hasContext(h.Type) {
		p.Context = d.octets("context")
	}
	switch h.Type {
	case typeOpen:
		p.Timeout = d.u8("o.timeout")
		d.take(3, "o.reserved")
		p.ID, _ = d.oid("o.id")
		p.Description = d.octets("o.descr")
	case typeClose:
		p.Reason = d.u8("c.reason")
		d.take(3, "c.reserved")
	case typeRegister, typeUnregister:
		p.Timeout = d.u8("r.timeout")
		p.Priority = d.u8("r.priority")
		p.RangeSubID = d.u8("r.range_subid")
		d.u8("r.reserved")
		p.Subtree, _ = d.oid("r.subtree")
		if p.RangeSubID != 0 {
			p.UpperBound = d.u32("r.upper_bound")
			if d.err == nil && int(p.RangeSubID) > len(p.Subtree) {
				d.fail(fmt.Errorf("r.range_subid %d beyond the %d sub-identifiers of r.subtree", p.RangeSubID, len(p.Subtree)))
			}
		}
	case typeGetBulk:
		p.NonRepeaters = d.u16("non_repeaters")
		p.MaxRepetitions = d.u16("max_repetitions")
		fallthrough
	case typeGet, typeGetNext:
		for d.err == nil && len(d.b) > 0 {
			var r searchRange
			r.Start, r.Include = d.oid("SearchRange start")
			r.End, _ = d.oid("SearchRange end")
			p.Ranges = append(p.Ranges, r)
		}
	case typeResponse:
		p.SysUpTime = d.u32("res.sysUpTime")
		p.Error = d.u16("res.error")
		p.Index = d.u16("res.index")
		fallthrough
	case typeTestSet, typeNotify:
		for d.err == nil && len(d.b) > 0 {
			p.VarBinds = append(p.VarBinds, d.varBind())
		}
	case typeCommitSet, typeUndoSet, typeCleanupSet, typePing:
	default:
		// Types a master does not send to a subagent (IndexAllocate,
		// AddAgentCaps, ...) and unknown ones: the header is enough to
		// answer them with an error.
		return p, nil
	}
	if d.err != nil {
		return p, fmt.Errorf("agentx %s: %w", h.Type, d.err)
	}
	if len(d.b) != 0 {
		return p, fmt.Errorf("agentx %s: %d bytes left after the last field", h.Type, len(d.b))
	}
	return p, nil
}
