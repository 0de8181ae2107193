package syslogd

import "testing"

func TestParsePriority(t *testing.T) {
	for in, want := range map[string][2]int{
		"local0.info": {16, 6}, "DAEMON.Warning": {3, 4}, "kern.emerg": {0, 0},
		"local7.debug": {23, 7}, "user.warn": {1, 4}, "auth.error": {4, 3},
	} {
		f, s, err := ParsePriority(in)
		if err != nil || int(f) != want[0] || int(s) != want[1] {
			t.Errorf("ParsePriority(%q) = %d.%d, %v; want %v", in, f, s, err, want)
		}
	}
	for _, bad := range []string{"", "local0", "local8.info", "local0.loud", ".info", "local0.info.x"} {
		if _, _, err := ParsePriority(bad); err == nil {
			t.Errorf("ParsePriority(%q) accepted", bad)
		}
	}
	if Priority(16, 6) != 134 {
		t.Error("PRI of local0.info is 134")
	}
}
