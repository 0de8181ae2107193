// Package ber holds the BER primitives (X.690) that the agent's two
// encoders share: the notifications' PDUs and messages (snmpagent) and the
// SNMPv3 message and security parameters (snmpagent/usm). They are written
// by hand, not with encoding/asn1, because both encoders patch fields in
// place after encoding (request-id placeholders, lengths, the HMAC) and
// need to know sizes before writing.
package ber

// LengthSize is the size of a definite length for n content octets.
func LengthSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	case n < 0x1000000:
		return 4
	default:
		return 5
	}
}

// AppendLength appends the definite length of n content octets, in the
// fewest octets.
func AppendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// IntSize is the content size of a minimal two's complement integer.
func IntSize(v int64) int {
	n := 1
	for n < 8 && v>>(8*n-1) != 0 && v>>(8*n-1) != -1 {
		n++
	}
	return n
}

// AppendInt appends a two's complement integer with tag (INTEGER, or an
// application type) in the fewest octets.
func AppendInt(b []byte, tag byte, v int64) []byte {
	n := IntSize(v)
	b = append(b, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
