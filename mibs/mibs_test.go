package mibs

import (
	"testing"
	"time"
)

func TestParseOID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"1.3.6.1.6.3.1.1.5.2", "1.3.6.1.6.3.1.1.5.2", true},
		{".1.3.6.1", "1.3.6.1", true},
		{" 1.3 ", "1.3", true},
		{"", "", false},
		{"1", "", false},
		{"1..3", "", false},
		{"1.3.x", "", false},
		{"3.1", "", false},
		{"1.40", "", false},
		{"1.3.4294967296", "", false},
	} {
		got, err := ParseOID(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got.String() != tc.want) {
			t.Errorf("ParseOID(%q) = %v, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"warmStart", "SNMPv2-MIB::warmStart"} {
		if n, ok := Lookup(name); !ok || n != WarmStart {
			t.Errorf("Lookup(%q) = %v, %v", name, n, ok)
		}
	}
	if _, ok := Lookup("IF-MIB::warmStart"); ok {
		t.Error("Lookup found warmStart in the wrong module")
	}
	if n, ok := LookupOID(MustOID("1.3.6.1.4.1.6876.4.1.0.301")); !ok || n != VmwESXEnvHardwareEvent {
		t.Errorf("LookupOID = %v, %v", n, ok)
	}
}

func TestNew(t *testing.T) {
	good := []Value{Int(3), String("/vm/a.xml"), String("a").At(3)}
	n, err := VmwVmPoweredOff.New(good...)
	if err != nil {
		t.Fatal(err)
	}
	wantOIDs := []string{"1.3.6.1.4.1.6876.50.101.0", "1.3.6.1.4.1.6876.50.102.0", "1.3.6.1.4.1.6876.2.1.1.2.3"}
	for i, vb := range n.VarBinds {
		if vb.OID.String() != wantOIDs[i] {
			t.Errorf("varbind %d OID %s, want %s", i, vb.OID, wantOIDs[i])
		}
	}
	for name, values := range map[string][]Value{
		"too few":            good[:2],
		"column without at":  {Int(3), String("/vm/a.xml"), String("a")},
		"scalar with at":     {Int(3).At(1), String("/vm/a.xml"), String("a").At(3)},
		"string for integer": {String("3"), String("/vm/a.xml"), String("a").At(3)},
		"int out of range":   {Int(1 << 40), String("/vm/a.xml"), String("a").At(3)},
	} {
		if _, err := VmwVmPoweredOff.New(values...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := MteTriggerRising.New(String("cpu"), String(""), String(""), Uint(1), Int(95)); err == nil {
		t.Error("a Uint accepted for mteHotOID")
	}
	if _, err := VmwESXEnvHardwareEvent.New(Int(8).At(1), Int(4).At(1), String("CPU1 temp").At(1), Bytes(DateAndTime(time.Now())).At(1)); err != nil {
		t.Error(err)
	}
}
