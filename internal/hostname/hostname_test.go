package hostname

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"192.0.2.1", "::1", "fe80::1%eth0", "esx01", "nms.example.com", "nms.example.com.", "a-b.c"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "bad_host", "-a", "a-", "a..b", "host!", strings.Repeat("a", 64), strings.Repeat("a.", 127) + "ab"} {
		if err := Check(bad); err == nil {
			t.Errorf("Check(%q) accepted", bad)
		}
	}
}
