package mibs

import (
	"fmt"
	"math"
	"time"
)

// Value is what a producer supplies for one object of a notification: the
// value and, for a table column, the instance (index) it belongs to.
type Value struct {
	Instance OID
	kind     valueKind
	i        int64
	u        uint64
	b        []byte
	oid      OID
}

type valueKind uint8

const (
	kindInt valueKind = iota + 1
	kindUint
	kindBytes
	kindOID
)

// Int is a value for INTEGER and Integer32 objects.
func Int(v int64) Value { return Value{kind: kindInt, i: v} }

// Uint is a value for Counter32, Gauge32, TimeTicks and Counter64 objects.
func Uint(v uint64) Value { return Value{kind: kindUint, u: v} }

// String is a value for OCTET STRING objects.
func String(s string) Value { return Value{kind: kindBytes, b: []byte(s)} }

// Bytes is a value for OCTET STRING and IpAddress objects.
func Bytes(b []byte) Value { return Value{kind: kindBytes, b: b} }

// ObjectID is a value for OBJECT IDENTIFIER objects.
func ObjectID(o OID) Value { return Value{kind: kindOID, oid: o} }

// At sets the instance of a columnar value (for example the VM id of
// vmwVmDisplayName, or the ifIndex of ifOperStatus).
func (v Value) At(instance ...uint32) Value {
	v.Instance = OID(instance)
	return v
}

// VarBind is one encoded-ready variable binding.
type VarBind struct {
	OID    OID
	Syntax Syntax
	Int    int64  // Integer
	Uint   uint64 // Counter32, Gauge32, TimeTicks, Counter64
	Bytes  []byte // OctetString, IPAddress
	Object OID    // ObjectIdentifier
}

// Notification is a notification type with its varbinds, ready to send.
// sysUpTime.0 and snmpTrapOID.0 are added by the agent when it encodes.
type Notification struct {
	Type     *NotificationType
	VarBinds []VarBind
}

// New builds a notification of type t from one value per object, checking
// count, kind, range and instance against the catalogue.
func (t *NotificationType) New(values ...Value) (Notification, error) {
	if len(values) != len(t.Objects) {
		return Notification{}, fmt.Errorf("%s: %d values given, the notification has %d objects", t.Name, len(values), len(t.Objects))
	}
	vbs := make([]VarBind, len(values))
	for i, v := range values {
		obj := t.Objects[i]
		vb, err := obj.bind(v)
		if err != nil {
			return Notification{}, fmt.Errorf("%s: %w", t.Name, err)
		}
		vbs[i] = vb
	}
	return Notification{Type: t, VarBinds: vbs}, nil
}

// MustNew is New for values known to be right; it panics otherwise.
func (t *NotificationType) MustNew(values ...Value) Notification {
	n, err := t.New(values...)
	if err != nil {
		panic(err)
	}
	return n
}

func (o Object) bind(v Value) (VarBind, error) {
	vb := VarBind{Syntax: o.Syntax}
	switch {
	case o.Columnar && len(v.Instance) == 0:
		return vb, fmt.Errorf("%s is a table column: its value needs an instance (Value.At)", o.Name)
	case o.Columnar:
		vb.OID = o.OID.Append(v.Instance...)
	case len(v.Instance) != 0:
		return vb, fmt.Errorf("%s is a scalar: its value takes no instance, got %s", o.Name, v.Instance)
	default:
		vb.OID = o.OID.Append(0)
	}
	bad := func(want string) (VarBind, error) {
		return vb, fmt.Errorf("%s (%s) needs %s", o.Name, o.Syntax, want)
	}
	switch o.Syntax {
	case Integer:
		if v.kind != kindInt || v.i < math.MinInt32 || v.i > math.MaxInt32 {
			return bad("an Int from -2147483648 to 2147483647")
		}
		vb.Int = v.i
	case Counter32, Gauge32, TimeTicks:
		if v.kind != kindUint || v.u > math.MaxUint32 {
			return bad("a Uint from 0 to 4294967295")
		}
		vb.Uint = v.u
	case Counter64:
		if v.kind != kindUint {
			return bad("a Uint")
		}
		vb.Uint = v.u
	case OctetString:
		if v.kind != kindBytes || len(v.b) > 65535 {
			return bad("a String or Bytes of at most 65535 octets")
		}
		vb.Bytes = v.b
	case IPAddress:
		if v.kind != kindBytes || len(v.b) != 4 {
			return bad("Bytes of exactly 4 octets")
		}
		vb.Bytes = v.b
	case ObjectIdentifier:
		if v.kind != kindOID || len(v.oid) < 2 {
			return bad("an ObjectID")
		}
		vb.Object = v.oid
	default:
		return bad("a known syntax")
	}
	return vb, nil
}

// DateAndTime encodes t as the 11-octet SNMPv2-TC DateAndTime (with the
// offset from UTC), as vmwEnvHardwareTime carries it.
func DateAndTime(t time.Time) []byte {
	_, offset := t.Zone()
	dir := byte('+')
	if offset < 0 {
		dir, offset = '-', -offset
	}
	return []byte{
		byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), byte(t.Nanosecond() / 100_000_000),
		dir, byte(offset / 3600), byte(offset % 3600 / 60),
	}
}
