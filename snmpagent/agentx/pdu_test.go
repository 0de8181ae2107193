package agentx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"hostagent/mibs"
)

func roundTrip(t *testing.T, p *pdu) *pdu {
	t.Helper()
	b, err := p.encode()
	if err != nil {
		t.Fatalf("encode %s: %v", p.Type, err)
	}
	h, err := decodeHeader(b)
	if err != nil {
		t.Fatalf("decode header of %s: %v", p.Type, err)
	}
	q, err := decodePDU(h, b[headerLen:])
	if err != nil {
		t.Fatalf("decode %s: %v", p.Type, err)
	}
	return q
}

func TestRoundTrip(t *testing.T) {
	sub := mibs.OID{1, 3, 6, 1, 4, 1, 6876, 2, 1}
	tests := []*pdu{
		{header: header{Type: typeOpen}, Timeout: 5, ID: mibs.VmwESX.OID, Description: []byte("hostagent")},
		{header: header{Type: typeClose}, Reason: reasonShutdown},
		{header: header{Type: typeRegister}, Priority: 127, Subtree: sub},
		{header: header{Type: typeRegister}, Priority: 1, Subtree: sub.Append(1, 2, 3), RangeSubID: 11, UpperBound: 9},
		{header: header{Type: typeGet}, Ranges: []searchRange{{Start: sub.Append(1)}, {Start: mibs.OID{2, 5}}}},
		{header: header{Type: typeGetNext}, Ranges: []searchRange{{Start: sub, Include: true, End: mibs.OID{1, 3, 6, 1, 4, 1, 6876, 2, 2}}}},
		{header: header{Type: typeGetBulk}, NonRepeaters: 1, MaxRepetitions: 50, Ranges: []searchRange{{Start: sub}, {Start: sub.Append(1)}}},
		{header: header{Type: typeGet, Flags: flagNonDefaultContext}, Context: []byte("ctx1"), Ranges: []searchRange{{Start: sub}}},
		{header: header{Type: typePing}},
		{header: header{Type: typeResponse, SessionID: 7, TransactionID: 8, PacketID: 9}, SysUpTime: 100, Error: errNotWritable, Index: 1,
			VarBinds: []varBind{
				{Type: vtInteger, Name: sub.Append(1), Int: -5},
				{Type: vtOctetString, Name: sub.Append(2), Bytes: []byte("abcde")},
				{Type: vtOctetString, Name: sub.Append(2, 1), Bytes: []byte{}},
				{Type: vtObjectIdentifier, Name: sub.Append(3), OID: mibs.OID{1, 3, 6, 1, 4, 1, 6876, 4, 1}},
				{Type: vtObjectIdentifier, Name: sub.Append(3, 1), OID: nil},
				{Type: vtIPAddress, Name: sub.Append(4), Bytes: []byte{10, 0, 0, 1}},
				{Type: vtCounter32, Name: sub.Append(5), Uint: 4294967295},
				{Type: vtGauge32, Name: sub.Append(6), Uint: 1},
				{Type: vtTimeTicks, Name: sub.Append(7), Uint: 12345},
				{Type: vtCounter64, Name: sub.Append(8), Uint: 1<<64 - 1},
				{Type: vtNull, Name: mibs.OID{0, 0}},
				{Type: vtNoSuchObject, Name: mibs.OID{1, 3, 6, 1}},
				{Type: vtNoSuchInstance, Name: mibs.OID{1, 3, 6, 1, 300, 1}},
				{Type: vtEndOfMibView, Name: mibs.OID{2}},
			}},
	}
	for _, p := range tests {
		t.Run(p.Type.String(), func(t *testing.T) {
			q := roundTrip(t, p)
			p.Version, p.Flags = 1, p.Flags|flagNetworkByteOrder
			p.PayloadLength = q.PayloadLength
			for i := range q.VarBinds {
				if q.VarBinds[i].Bytes != nil && len(q.VarBinds[i].Bytes) == 0 {
					q.VarBinds[i].Bytes = p.VarBinds[i].Bytes
				}
			}
			if !reflect.DeepEqual(p, q) {
				t.Errorf("round trip:\n got %+v\nwant %+v", q, p)
			}
		})
	}
}

// TestOIDEncoding checks the prefix compression and the include flag
// against RFC 2741 §5.1's example.
func TestOIDEncoding(t *testing.T) {
	e := &encoder{}
	e.oid(mibs.OID{1, 3, 6, 1, 2, 1, 1, 1, 0}, true)
	want := []byte{4, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}
	if !bytes.Equal(e.b, want) {
		t.Errorf("sysDescr.0: % x, want % x", e.b, want)
	}
	e = &encoder{}
	e.oid(mibs.OID{1, 3, 6, 1, 300, 1}, false) // 300 does not fit the prefix byte
	if e.b[0] != 6 || e.b[1] != 0 {
		t.Errorf("1.3.6.1.300.1: n_subid %d prefix %d, want 6 and 0", e.b[0], e.b[1])
	}
	e = &encoder{}
	e.octets([]byte("abcde"))
	if want := []byte{0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e', 0, 0, 0}; !bytes.Equal(e.b, want) {
		t.Errorf("octets: % x, want % x", e.b, want)
	}
}

// TestLittleEndian decodes a GetNext as a master using its host byte order
// (flag clear) sends it.
func TestLittleEndian(t *testing.T) {
	var b []byte
	le := binary.LittleEndian
	b = append(b, 1, byte(typeGetNext), 0, 0)
	b = le.AppendUint32(b, 3) // session
	b = le.AppendUint32(b, 4) // transaction
	b = le.AppendUint32(b, 5) // packet
	b = le.AppendUint32(b, 4+12+4)
	b = append(b, 3, 4, 1, 0) // start: 1.3.6.1.4.1.6876.2, include
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 6876)
	b = le.AppendUint32(b, 2)
	b = append(b, 0, 0, 0, 0) // end: null
	h, err := decodeHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodePDU(h, b[headerLen:])
	if err != nil {
		t.Fatal(err)
	}
	want := []searchRange{{Start: mibs.OID{1, 3, 6, 1, 4, 1, 6876, 2}, Include: true}}
	if p.SessionID != 3 || p.TransactionID != 4 || p.PacketID != 5 || !reflect.DeepEqual(p.Ranges, want) {
		t.Errorf("got %+v", p)
	}
}

func TestDecodeErrors(t *testing.T) {
	hdr := func(typ pduType, flags byte, n int) []byte {
		b := []byte{1, byte(typ), flags | flagNetworkByteOrder, 0}
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, 1)
		return binary.BigEndian.AppendUint32(b, uint32(n))
	}
	if _, err := decodeHeader(hdr(typeGet, 0, maxPayload+4)); err == nil {
		t.Error("payload above the limit accepted")
	}
	if _, err := decodeHeader(append([]byte{2}, hdr(typeGet, 0, 0)[1:]...)); err == nil {
		t.Error("version 2 accepted")
	}
	if _, err := decodeHeader(hdr(typeGet, 0, 3)); err == nil {
		t.Error("payload length not a multiple of 4 accepted")
	}
	for name, payload := range map[string][]byte{
		"OID runs past the end":     {5, 0, 0, 0, 0, 0, 0, 1},
		"too many sub-identifiers":  append([]byte{200, 0, 0, 0}, make([]byte, 800)...),
		"octet string length huge":  {0xff, 0xff, 0xff, 0xf0},
		"range end missing":         {1, 4, 0, 0, 0, 0, 0, 1},
		"response varbind bad type": append([]byte{0, 0, 0, 0, 0, 0, 0, 0}, 0, 99, 0, 0, 0, 0, 0, 0),
	} {
		typ, flags := typeGet, byte(0)
		switch name {
		case "octet string length huge":
			flags = flagNonDefaultContext
		case "response varbind bad type":
			typ = typeResponse
		}
		h, err := decodeHeader(hdr(typ, flags, len(payload)))
		if err != nil {
			t.Fatalf("%s: header: %v", name, err)
		}
		if _, err := decodePDU(h, payload); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "response varbind bad type" && name != "too many sub-identifiers" && !errors.Is(err, errShort) {
			t.Errorf("%s: error %v does not say truncated", name, err)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic,
// and what it accepts must encode again (the flags aside) to a PDU that
// decodes to the same thing.
func FuzzDecode(f *testing.F) {
	sub := mibs.OID{1, 3, 6, 1, 4, 1, 6876, 2, 1}
	for _, p := range []*pdu{
		{header: header{Type: typeGetNext}, Ranges: []searchRange{{Start: sub, Include: true, End: sub.Append(9)}}},
		{header: header{Type: typeGetBulk}, NonRepeaters: 1, MaxRepetitions: 10, Ranges: []searchRange{{Start: sub}}},
		{header: header{Type: typeResponse}, VarBinds: []varBind{{Type: vtOctetString, Name: sub, Bytes: []byte("x")}, {Type: vtCounter64, Name: sub, Uint: 9}}},
		{header: header{Type: typeOpen}, ID: sub, Description: []byte("d")},
		{header: header{Type: typeRegister}, Subtree: sub, RangeSubID: 9, UpperBound: 3},
		{header: header{Type: typeGet, Flags: flagNonDefaultContext}, Context: []byte("c"), Ranges: []searchRange{{Start: sub}}},
	} {
		b, err := p.encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 5, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHeader(b)
		if err != nil {
			return
		}
		payload := b[headerLen:]
		if len(payload) > int(h.PayloadLength) {
			payload = payload[:h.PayloadLength]
		}
		p, err := decodePDU(h, payload)
		if err != nil || p.Type > typeResponse || p.Type == 0 || p.Type == typeNotify {
			return
		}
		if p.Type == typeTestSet {
			p.Type = typeResponse // same varbind list, and encodable
		}
		for _, v := range p.VarBinds {
			if v.Type == vtOpaque {
				return // decoded, never produced
			}
		}
		out, err := p.encode()
		if err != nil {
			return // e.g. an OID that only fits with its prefix spelled out
		}
		h2, err := decodeHeader(out)
		if err != nil {
			t.Fatalf("re-encoded header: %v", err)
		}
		q, err := decodePDU(h2, out[headerLen:])
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", p.Type, err)
		}
		if len(q.Ranges) != len(p.Ranges) || len(q.VarBinds) != len(p.VarBinds) {
			t.Fatalf("re-encoded %s: %d ranges %d varbinds, want %d and %d", p.Type, len(q.Ranges), len(q.VarBinds), len(p.Ranges), len(p.VarBinds))
		}
	})
}
