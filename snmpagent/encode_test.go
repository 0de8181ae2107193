package snmpagent

import (
	"bytes"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"hostagent/mibs"
	"hostagent/snmpagent/ber"
	"hostagent/snmpagent/snmpconfig"
)

func decode(t *testing.T, msg []byte) *gosnmp.SnmpPacket {
	t.Helper()
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
	pkt, err := g.SnmpDecodePacket(msg)
	if err != nil {
		t.Fatalf("gosnmp cannot decode % x: %v", msg, err)
	}
	return pkt
}

func TestAppendIntMinimal(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		want []byte
	}{
		{0, []byte{2, 1, 0}},
		{127, []byte{2, 1, 0x7f}},
		{128, []byte{2, 2, 0, 0x80}},
		{-1, []byte{2, 1, 0xff}},
		{-128, []byte{2, 1, 0x80}},
		{-129, []byte{2, 2, 0xff, 0x7f}},
		{math.MaxInt32, []byte{2, 4, 0x7f, 0xff, 0xff, 0xff}},
		{math.MinInt32, []byte{2, 4, 0x80, 0, 0, 0}},
	} {
		if got := ber.AppendInt(nil, tagInteger, tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("ber.AppendInt(%d) = % x, want % x", tc.v, got, tc.want)
		}
	}
}

func TestAppendUintMinimal(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0x43, 1, 0}},
		{255, []byte{0x43, 2, 0, 0xff}},
		{math.MaxUint32, []byte{0x43, 5, 0, 0xff, 0xff, 0xff, 0xff}},
		{math.MaxUint64, []byte{0x43, 9, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	} {
		if got := appendUint(nil, tagTimeTicks, tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("appendUint(%d) = % x, want % x", tc.v, got, tc.want)
		}
	}
}

func TestAppendOID(t *testing.T) {
	// snmpTrapOID.0 as every SNMP stack writes it.
	want := []byte{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x06, 0x03, 0x01, 0x01, 0x04, 0x01, 0x00}
	if got := appendOID(nil, snmpTrapOID0); !bytes.Equal(got, want) {
		t.Errorf("appendOID = % x, want % x", got, want)
	}
	// Sub-identifiers of several base-128 groups.
	got := appendOID(nil, mibs.OID{1, 3, 6, 1, 4, 1, 6876, 4294967295})
	want = []byte{0x06, 0x0c, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xb5, 0x5c, 0x8f, 0xff, 0xff, 0xff, 0x7f}
	if !bytes.Equal(got, want) {
		t.Errorf("appendOID = % x, want % x", got, want)
	}
}

func TestFinishLongLengths(t *testing.T) {
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536} {
		b, start := begin([]byte{0xff}, tagSequence)
		b = append(b, bytes.Repeat([]byte{0xaa}, n)...)
		b = finish(b, start)
		want := ber.AppendLength([]byte{0xff, tagSequence}, n)
		if !bytes.Equal(b[:len(want)], want) || len(b) != len(want)+n || b[len(b)-1] != 0xaa && n > 0 {
			t.Errorf("length %d: header % x, want % x", n, b[:min(len(b), 6)], want)
		}
	}
}

func vmNotification(t *testing.T, name string) mibs.Notification {
	t.Helper()
	n, err := mibs.VmwVmPoweredOn.New(mibs.Int(7), mibs.String("/etc/libvirt/qemu/"+name+".xml"), mibs.String(name).At(7))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEncodeV2DecodesWithGosnmp(t *testing.T) {
	// A long display name forces long-form lengths at every level.
	name := string(bytes.Repeat([]byte("vm-"), 100))
	n := vmNotification(t, name)
	pdu := encodeV2(nil, &n, 4242)
	for _, tag := range []byte{tagTrapV2, tagInform} {
		msg := appendMessage(nil, versionV2c, []byte("s3cret"), pdu)
		msg[len(msg)-len(pdu)] = tag
		setRequestID(msg, len(msg)-len(pdu)+requestIDOffset(pdu), 0x01020304)
		pkt := decode(t, msg)
		wantType := map[byte]gosnmp.PDUType{tagTrapV2: gosnmp.SNMPv2Trap, tagInform: gosnmp.InformRequest}[tag]
		if pkt.Version != gosnmp.Version2c || pkt.Community != "s3cret" || pkt.PDUType != wantType || pkt.RequestID != 0x01020304 {
			t.Fatalf("header: version %v community %q type %v request-id %#x", pkt.Version, pkt.Community, pkt.PDUType, pkt.RequestID)
		}
		vbs := pkt.Variables
		if len(vbs) != 5 {
			t.Fatalf("%d varbinds, want 5", len(vbs))
		}
		checks := []struct {
			name string
			typ  gosnmp.Asn1BER
			val  any
		}{
			{".1.3.6.1.2.1.1.3.0", gosnmp.TimeTicks, uint32(4242)},
			{".1.3.6.1.6.3.1.1.4.1.0", gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.6876.4.1.0.1"},
			{".1.3.6.1.4.1.6876.50.101.0", gosnmp.Integer, 7},
			{".1.3.6.1.4.1.6876.50.102.0", gosnmp.OctetString, []byte("/etc/libvirt/qemu/" + name + ".xml")},
			{".1.3.6.1.4.1.6876.2.1.1.2.7", gosnmp.OctetString, []byte(name)},
		}
		for i, c := range checks {
			v := vbs[i]
			if v.Name != c.name || v.Type != c.typ {
				t.Errorf("varbind %d: %s %v, want %s %v", i, v.Name, v.Type, c.name, c.typ)
			}
			if b, ok := c.val.([]byte); ok {
				if !bytes.Equal(v.Value.([]byte), b) {
					t.Errorf("varbind %d value %q", i, v.Value)
				}
			} else if v.Value != c.val {
				t.Errorf("varbind %d value %v (%T), want %v", i, v.Value, v.Value, c.val)
			}
		}
	}
}

func TestToV1(t *testing.T) {
	esx := mibs.MustOID(snmpconfig.DefaultSysObjectID)
	for _, tc := range []struct {
		trap       *mibs.NotificationType
		enterprise string
		generic    int64
		specific   int64
	}{
		{mibs.ColdStart, "1.3.6.1.4.1.6876.4.1", 0, 0},
		{mibs.WarmStart, "1.3.6.1.4.1.6876.4.1", 1, 0},
		{mibs.LinkDown, "1.3.6.1.4.1.6876.4.1", 2, 0},
		{mibs.LinkUp, "1.3.6.1.4.1.6876.4.1", 3, 0},
		{mibs.VmwVmPoweredOn, "1.3.6.1.4.1.6876.4.1", 6, 1},
		{mibs.VmwESXEnvHardwareEvent, "1.3.6.1.4.1.6876.4.1", 6, 301},
		{mibs.MteTriggerRising, "1.3.6.1.2.1.88.2", 6, 2},
	} {
		got := toV1(tc.trap.OID, esx)
		if got.enterprise.String() != tc.enterprise || got.generic != tc.generic || got.specific != tc.specific {
			t.Errorf("%s: enterprise %s generic %d specific %d, want %s %d %d", tc.trap.Name, got.enterprise, got.generic, got.specific, tc.enterprise, tc.generic, tc.specific)
		}
	}
}

func TestEncodeV1DecodesWithGosnmp(t *testing.T) {
	// A short PDU, and one whose long display name forces long-form
	// lengths: the agent-addr placeholder is found in both.
	for _, name := range []string{"web01", string(bytes.Repeat([]byte("vm-"), 100))} {
		n := vmNotification(t, name)
		pdu, err := encodeV1(nil, &n, 99, mibs.MustOID(snmpconfig.DefaultSysObjectID))
		if err != nil {
			t.Fatal(err)
		}
		msg := appendMessage(nil, versionV1, []byte("public"), pdu)
		if tr := decode(t, msg).SnmpTrap; tr.AgentAddress != "0.0.0.0" {
			t.Errorf("placeholder agent-addr %s, want 0.0.0.0", tr.AgentAddress)
		}
		copy(msg[len(msg)-len(pdu)+agentAddrOffset(pdu):], []byte{192, 0, 2, 7})
		pkt := decode(t, msg)
		if pkt.Version != gosnmp.Version1 || pkt.PDUType != gosnmp.Trap {
			t.Fatalf("version %v type %v", pkt.Version, pkt.PDUType)
		}
		tr := pkt.SnmpTrap
		if tr.Enterprise != ".1.3.6.1.4.1.6876.4.1" || tr.AgentAddress != "192.0.2.7" || tr.GenericTrap != 6 || tr.SpecificTrap != 1 || tr.Timestamp != 99 {
			t.Errorf("v1 fields: %+v", tr)
		}
		if len(pkt.Variables) != 3 || pkt.Variables[2].Name != ".1.3.6.1.4.1.6876.2.1.1.2.7" {
			t.Fatalf("v1 varbinds: %+v", pkt.Variables)
		}
		if v, _ := pkt.Variables[2].Value.([]byte); string(v) != name {
			t.Errorf("v1 vmwVmDisplayName %q, want %q", v, name)
		}
	}
}

// TestAgentAddrOffsetAfterLongEnterprise: an enterprise OID of more than
// 127 octets has a long-form length, which the offset must step over.
func TestAgentAddrOffsetAfterLongEnterprise(t *testing.T) {
	oid := mibs.MustOID("1.3.6.1.4.1.99999")
	for range 70 {
		oid = oid.Append(300) // two octets each
	}
	typ := &mibs.NotificationType{Module: "TEST", Name: "deep", OID: oid.Append(0, 1)}
	n := typ.MustNew()
	pdu, err := encodeV1(nil, &n, 0, mibs.MustOID(snmpconfig.DefaultSysObjectID))
	if err != nil {
		t.Fatal(err)
	}
	msg := appendMessage(nil, versionV1, []byte("public"), pdu)
	copy(msg[len(msg)-len(pdu)+agentAddrOffset(pdu):], []byte{10, 1, 2, 3})
	if tr := decode(t, msg).SnmpTrap; tr.AgentAddress != "10.1.2.3" || tr.Enterprise != "."+oid.String() || tr.SpecificTrap != 1 {
		t.Errorf("v1 fields: agent %s enterprise %s specific %d", tr.AgentAddress, tr.Enterprise, tr.SpecificTrap)
	}
}

func TestEncodeV1RefusesCounter64(t *testing.T) {
	typ := &mibs.NotificationType{Module: "TEST", Name: "big", OID: mibs.MustOID("1.3.6.1.4.1.99999.0.1"),
		Objects: []mibs.Object{{Name: "c", OID: mibs.MustOID("1.3.6.1.4.1.99999.1"), Syntax: mibs.Counter64}}}
	n := typ.MustNew(mibs.Uint(1 << 40))
	if _, err := encodeV1(nil, &n, 0, mibs.MustOID(snmpconfig.DefaultSysObjectID)); err == nil {
		t.Fatal("Counter64 encoded into SNMPv1")
	}
}

func TestDateAndTime(t *testing.T) {
	ts := time.Date(2026, 11, 25, 17, 4, 5, 300_000_000, time.FixedZone("X", -(5*3600+30*60)))
	want := []byte{0x07, 0xea, 11, 25, 17, 4, 5, 3, '-', 5, 30}
	if got := mibs.DateAndTime(ts); !bytes.Equal(got, want) {
		t.Errorf("DateAndTime = % x, want % x", got, want)
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
