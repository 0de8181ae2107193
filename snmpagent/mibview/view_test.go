package mibview

import (
	"testing"

	"hostagent/mibs"
)

func vb(oid string, v int64) mibs.VarBind {
	return mibs.VarBind{OID: mibs.MustOID(oid), Syntax: mibs.Integer, Int: v}
}

// TestGetAndNextWalkEverySection: sections merge into one sorted walk;
// Next honours include and the end of a range; replacing or removing a
// section changes only its objects.
func TestGetAndNextWalkEverySection(t *testing.T) {
	v := New()
	v.Publish("vms", []mibs.VarBind{vb("1.3.6.1.4.1.6876.2.1.1.2.7", 2), vb("1.3.6.1.4.1.6876.2.1.1.2.3", 1)})
	v.Publish("system", []mibs.VarBind{vb("1.3.6.1.4.1.6876.1.1.0", 10), vb("1.3.6.1.4.1.6876.1.2.0", 11)})
	var walk []string
	for from, include := mibs.MustOID("1.3"), false; ; include = false {
		got, ok := v.Next(from, include, nil)
		if !ok {
			break
		}
		walk = append(walk, got.OID.String())
		from = got.OID
	}
	want := []string{"1.3.6.1.4.1.6876.1.1.0", "1.3.6.1.4.1.6876.1.2.0", "1.3.6.1.4.1.6876.2.1.1.2.3", "1.3.6.1.4.1.6876.2.1.1.2.7"}
	if len(walk) != len(want) {
		t.Fatalf("walk %v, want %v", walk, want)
	}
	for i := range want {
		if walk[i] != want[i] {
			t.Fatalf("walk %v, want %v", walk, want)
		}
	}
	if got, ok := v.Next(mibs.MustOID("1.3.6.1.4.1.6876.1.1.0"), true, nil); !ok || got.Int != 10 {
		t.Errorf("Next include: %v %v", got, ok)
	}
	if _, ok := v.Next(mibs.MustOID("1.3.6.1.4.1.6876.1.2.0"), false, mibs.MustOID("1.3.6.1.4.1.6876.2")); ok {
		t.Error("Next went past the end of its range")
	}
	if got, ok := v.Get(mibs.MustOID("1.3.6.1.4.1.6876.2.1.1.2.7")); !ok || got.Int != 2 {
		t.Errorf("Get: %v %v", got, ok)
	}
	if _, ok := v.Get(mibs.MustOID("1.3.6.1.4.1.6876.2.1.1.2")); ok {
		t.Error("Get of a column without instance found an object")
	}
	v.Publish("vms", nil)
	if v.Len() != 2 {
		t.Errorf("after removing vms: %d objects, want 2", v.Len())
	}
	if _, ok := v.Get(mibs.MustOID("1.3.6.1.4.1.6876.2.1.1.2.7")); ok {
		t.Error("a removed section's object is still served")
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.3.6", "1.3.6", 0},
		{"1.3.6", "1.3.6.1", -1},
		{"1.3.10", "1.3.9", 1},
		{"1.3.6.1.2", "1.3.6.2", -1},
	} {
		got := Compare(mibs.MustOID(tc.a), mibs.MustOID(tc.b))
		if (got < 0) != (tc.want < 0) || (got > 0) != (tc.want > 0) {
			t.Errorf("Compare(%s, %s) = %d, want sign of %d", tc.a, tc.b, got, tc.want)
		}
	}
}
