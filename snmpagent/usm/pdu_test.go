package usm_test

import (
	"strconv"
	"strings"
)

// A small BER encoder for the tests' PDUs: the agent's encoder lives in
// package snmpagent, unexported, which imports this package.

func tlv(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := []byte{tag}
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	default:
		b = append(b, 0x82, byte(n>>8), byte(n))
	}
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func oid(s string) []byte {
	var subs []uint64
	for _, f := range strings.Split(s, ".") {
		v, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			panic(err)
		}
		subs = append(subs, v)
	}
	var b []byte
	enc := func(v uint64) {
		var tmp []byte
		tmp = append(tmp, byte(v&0x7f))
		for v >>= 7; v > 0; v >>= 7 {
			tmp = append([]byte{byte(v&0x7f) | 0x80}, tmp...)
		}
		b = append(b, tmp...)
	}
	enc(subs[0]*40 + subs[1])
	for _, v := range subs[2:] {
		enc(v)
	}
	return tlv(0x06, b)
}

func uint32TLV(tag byte, v uint32) []byte {
	return tlv(tag, []byte{0, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

const (
	sysUpTime0   = "1.3.6.1.2.1.1.3.0"
	snmpTrapOID0 = "1.3.6.1.6.3.1.1.4.1.0"
	coldStart    = "1.3.6.1.6.3.1.1.5.1"
	sysLocation0 = "1.3.6.1.2.1.1.6.0"
)

// trapPDU is an SNMPv2-Trap-PDU as the agent encodes it: a 4-octet
// request-id placeholder, sysUpTime.0, snmpTrapOID.0 and extra varbinds.
func trapPDU(uptime uint32, trapOID string, extra ...[]byte) []byte {
	vbs := [][]byte{
		tlv(0x30, oid(sysUpTime0), uint32TLV(0x43, uptime)),
		tlv(0x30, oid(snmpTrapOID0), oid(trapOID)),
	}
	vbs = append(vbs, extra...)
	return tlv(0xa7, []byte{0x02, 4, 0x7f, 0xff, 0xff, 0xff}, []byte{0x02, 1, 0, 0x02, 1, 0}, tlv(0x30, vbs...))
}

func stringVarBind(name, value string) []byte {
	return tlv(0x30, oid(name), tlv(0x04, []byte(value)))
}
