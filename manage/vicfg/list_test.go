package vicfg

import (
	"reflect"
	"testing"
)

// TestList is the one rule of the list options, checked against what each
// command's tests need of it: vicfg-snmp's "-c a,,b" reaches the daemon
// with the empty community for it to refuse, vicfg-syslog's "--loghost
// tcp://a," is one loghost, "" clears every list.
func TestList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"  ", []string{}},
		{",", []string{""}}, // a slip, refused: not a way to clear
		{" , ,", []string{""}},
		{"public", []string{"public"}},
		{"public,private", []string{"public", "private"}},
		{" public , private ", []string{"public", "private"}},
		{"tcp://a,", []string{"tcp://a"}},
		{"tcp://a,,", []string{"tcp://a"}},
		{"tcp://a, ", []string{"tcp://a"}},
		{"a,,b", []string{"a", "", "b"}},
		{",a", []string{"", "a"}},
		{"a, ,b,", []string{"a", "", "b"}},
		{`"a,b"`, []string{`"a`, `b"`}}, // no quoting, as in ESXi
		{"sys contact,udp://[2001:db8::1]:514", []string{"sys contact", "udp://[2001:db8::1]:514"}},
	} {
		got := List(tt.in)
		if got == nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("List(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}
