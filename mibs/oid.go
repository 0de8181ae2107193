// Package mibs is the catalogue of notifications hostagent sends (name, OID,
// ordered varbinds with their syntaxes) and the OIDs they use.
//
// The catalogue is plain Go data so that the agent works without any MIB file
// installed; resolve adds names from whatever MIB modules are on disk.
package mibs

import (
	"fmt"
	"strconv"
	"strings"
)

// OID is an SNMP object identifier.
type OID []uint32

// ParseOID parses a dotted numeric OID; a leading dot is allowed.
func ParseOID(s string) (OID, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), ".")
	if t == "" {
		return nil, fmt.Errorf("OID %q: empty", s)
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 128 {
		return nil, fmt.Errorf("OID %q: must have 2 to 128 sub-identifiers", s)
	}
	oid := make(OID, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: sub-identifier %q is not a number from 0 to 4294967295", s, p)
		}
		oid[i] = uint32(v)
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("OID %q: must start with 0, 1 or 2, and a second sub-identifier below 40 under 0 or 1", s)
	}
	return oid, nil
}

// MustOID parses a literal OID of the catalogue; it panics on a typo.
func MustOID(s string) OID {
	oid, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return oid
}

// String renders the OID in dotted form without a leading dot.
func (o OID) String() string {
	var b strings.Builder
	for i, v := range o {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return b.String()
}

// Equal reports whether two OIDs are the same.
func (o OID) Equal(p OID) bool {
	if len(o) != len(p) {
		return false
	}
	for i := range o {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}

// HasPrefix reports whether p is a prefix of o (or equal to it).
func (o OID) HasPrefix(p OID) bool {
	return len(o) >= len(p) && o[:len(p)].Equal(p)
}

// Append returns a new OID of o followed by sub.
func (o OID) Append(sub ...uint32) OID {
	out := make(OID, 0, len(o)+len(sub))
	return append(append(out, o...), sub...)
}
