package mibs

import (
	"strings"
	"testing"
)

// FuzzParseOID checks that ParseOID never panics and that an OID it accepts
// has 2 to 128 sub-identifiers, a valid first arc, and round-trips through
// String (with and without the leading dot).
func FuzzParseOID(f *testing.F) {
	for _, s := range []string{
		"1.3.6.1.6.3.1.1.5.2", ".1.3.6.1", " 1.3 ", "", "1", "1..3", "1.3.x",
		"0.39", "1.40", "2.999", "3.1", "1.3.6.1.4.1.6876.4.1.0.301",
		"1.3.6.1.2.1.1.3.0", "2.4294967295.4294967295", "1.3.4294967296",
		"1.3.+5", "1.3.-0", "1.3." + strings.Repeat("1.", 126) + "1", ". 1.3", "1.3\t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOID(s)
		if err != nil {
			if !strings.Contains(err.Error(), "OID") {
				t.Errorf("ParseOID(%q): error %q does not say what it is about", s, err)
			}
			return
		}
		if len(o) < 2 || len(o) > 128 {
			t.Fatalf("ParseOID(%q) = %v: %d sub-identifiers", s, o, len(o))
		}
		if o[0] > 2 || (o[0] < 2 && o[1] > 39) {
			t.Fatalf("ParseOID(%q) = %v: invalid first arcs", s, o)
		}
		for _, in := range []string{o.String(), "." + o.String()} {
			p, err := ParseOID(in)
			if err != nil || !p.Equal(o) {
				t.Fatalf("ParseOID(%q) = %v, but ParseOID(%q) = %v, %v", s, o, in, p, err)
			}
		}
		if !o.HasPrefix(o[:2]) || !o.Append(7).HasPrefix(o) {
			t.Fatalf("%v: prefix relations broken", o)
		}
	})
}
