package usm

import (
	"errors"
	"fmt"
	"hostagent/snmpagent/ber"
)

// The few BER pieces an SNMPv3 header needs. They are written here, not
// borrowed from snmpagent's encoder, because that one is unexported in the
// package that will import this one; they follow the same rules (definite
// lengths, minimal INTEGERs).

const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagCounter32   = 0x41
)

// tlvSize is the size of a whole element with n content octets.
func tlvSize(n int) int { return 1 + ber.LengthSize(n) + n }

func appendOctets(b []byte, s []byte) []byte {
	b = ber.AppendLength(append(b, tagOctetString), len(s))
	return append(b, s...)
}

var errTruncated = errors.New("truncated BER element")

// reader reads BER elements from a message.
type reader struct {
	b   []byte
	off int // offset in the whole message of b[0], for locating fields
}

// next reads one element: its tag, content and the offset of the content in
// the whole message.
func (r *reader) next() (tag byte, content []byte, at int, err error) {
	if len(r.b) < 2 {
		return 0, nil, 0, errTruncated
	}
	tag = r.b[0]
	n, hdr := int(r.b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(r.b) < 2+k {
			return 0, nil, 0, fmt.Errorf("bad BER length (tag 0x%02x)", tag)
		}
		n = 0
		for _, c := range r.b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if n < 0 || len(r.b)-hdr < n {
		return 0, nil, 0, errTruncated
	}
	content = r.b[hdr : hdr+n]
	at = r.off + hdr
	r.b = r.b[hdr+n:]
	r.off += hdr + n
	return tag, content, at, nil
}

// expect reads an element with the given tag.
func (r *reader) expect(tag byte, what string) ([]byte, int, error) {
	t, c, at, err := r.next()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, err)
	}
	if t != tag {
		return nil, 0, fmt.Errorf("%s: tag 0x%02x, want 0x%02x", what, t, tag)
	}
	return c, at, nil
}

// sub returns a reader over an element's content found at offset at.
func sub(content []byte, at int) *reader { return &reader{b: content, off: at} }

// integer reads an INTEGER that fits in 64 bits.
func (r *reader) integer(what string) (int64, error) {
	c, _, err := r.expect(tagInteger, what)
	if err != nil {
		return 0, err
	}
	return decodeInt(c, what)
}

func decodeInt(c []byte, what string) (int64, error) {
	if len(c) == 0 || len(c) > 8 {
		return 0, fmt.Errorf("%s: INTEGER of %d octets", what, len(c))
	}
	v := int64(int8(c[0]))
	for _, x := range c[1:] {
		v = v<<8 | int64(x)
	}
	return v, nil
}

// decodeUint reads an unsigned application value (Counter32 and the like).
func decodeUint(c []byte) (uint64, error) {
	if len(c) == 0 || len(c) > 9 || (len(c) == 9 && c[0] != 0) {
		return 0, fmt.Errorf("unsigned value of %d octets", len(c))
	}
	var v uint64
	for _, x := range c {
		v = v<<8 | uint64(x)
	}
	return v, nil
}

// decodeOID returns an OBJECT IDENTIFIER in dotted form.
func decodeOID(c []byte) (string, error) {
	if len(c) == 0 {
		return "", errors.New("empty OID")
	}
	var out []byte
	var v uint64
	first := true
	for i, x := range c {
		v = v<<7 | uint64(x&0x7f)
		if v > 1<<32 {
			return "", errors.New("OID sub-identifier too large")
		}
		if x&0x80 != 0 {
			if i == len(c)-1 {
				return "", errors.New("OID ends inside a sub-identifier")
			}
			continue
		}
		if first {
			a := min(v/40, 2)
			out = fmt.Appendf(out, "%d.%d", a, v-40*a)
			first = false
		} else {
			out = fmt.Appendf(out, ".%d", v)
		}
		v = 0
	}
	return string(out), nil
}
