package usm

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// Engine ID sizes (RFC 3411 SnmpEngineID: SIZE(5..32)).
const (
	MinEngineIDLen = 5
	MaxEngineIDLen = 32
)

// enterprise is the number in the engine IDs this agent generates: 32473,
// the number RFC 5612 sets aside for documentation, which the project uses
// wherever a private enterprise number is needed (as in its syslog SD-ID).
const enterprise = 32473

// formatOctets is RFC 3411's engine ID format 5: administratively assigned
// octets follow the 5th octet.
const formatOctets = 5

// randomOctets is how many random octets follow the format octet: 64 bits
// make a collision between two agents of one NOC improbable.
const randomOctets = 8

// NewEngineID generates an RFC 3411 SNMP engine ID: the enterprise number
// 32473 with the high bit set (the "new" format), format 5 (octets), and
// eight random octets; 13 octets in all.
func NewEngineID() ([]byte, error) {
	id := make([]byte, 5+randomOctets)
	binary.BigEndian.PutUint32(id, 0x80000000|enterprise)
	id[4] = formatOctets
	if _, err := rand.Read(id[5:]); err != nil {
		return nil, fmt.Errorf("generate engine ID: %w", err)
	}
	return id, nil
}

// ParseEngineID reads an engine ID as --engineid takes it: hex digits, with
// an optional 0x prefix and optional ':' separators between octets, 5 to 32
// octets, not all zeros nor all 0xff (RFC 3411).
func ParseEngineID(s string) ([]byte, error) {
	v := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	v = strings.ReplaceAll(v, ":", "")
	id, err := hex.DecodeString(v)
	if err != nil || v == "" {
		return nil, fmt.Errorf("engine ID %q: not a hex string (allowed: %d to %d octets as hex digits, e.g. 80007ed905a1b2c3d4e5f60718)", s, MinEngineIDLen, MaxEngineIDLen)
	}
	if err := ValidateEngineID(id); err != nil {
		return nil, fmt.Errorf("engine ID %q: %w", s, err)
	}
	return id, nil
}

// ValidateEngineID checks an engine ID's length and reserved values.
func ValidateEngineID(id []byte) error {
	if len(id) < MinEngineIDLen || len(id) > MaxEngineIDLen {
		return fmt.Errorf("engine ID of %d octets (allowed: %d to %d octets)", len(id), MinEngineIDLen, MaxEngineIDLen)
	}
	if allBytes(id, 0) || allBytes(id, 0xff) {
		return fmt.Errorf("engine ID %x is reserved (all octets 0x00 or all 0xff are not allowed, RFC 3411)", id)
	}
	return nil
}

func allBytes(b []byte, v byte) bool {
	for _, c := range b {
		if c != v {
			return false
		}
	}
	return true
}

// FormatEngineID prints an engine ID as ParseEngineID reads it and as
// esxcli shows it: lower-case hex.
func FormatEngineID(id []byte) string { return hex.EncodeToString(id) }
