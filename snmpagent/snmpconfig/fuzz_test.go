package snmpconfig

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"hostagent/internal/configstore"
	"hostagent/mibs/resolve"
)

// FuzzParseTarget checks that an accepted target is complete and that its
// canonical String re-parses to the same Target (and is a fixed point),
// and that a refused one is named in the error.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"192.0.2.1", "192.0.2.1@1162/public", "nms.example.com/public", "v1:nms@162/public", "V1:nms",
		"v2c:nms/c", "inform:nms@10162/c", "fe80::1@162/public", "[::1]@162/public", "inform:::1/public",
		"h/with/slash", "", "@162", "bad_host!", "h@0", "h@65536", "h@x/c", "h@162/", "h/" + strings.Repeat("c", 65),
		"h/a b", "h/a,b", "-h", "a..b", "inform:", "fe80::1%eth0@162/c", "[fe80::1%eth0]/c", " v1:h ",
		"h@+162", "h@0162", "nms.example.com.", "v1:v2c:h", "[::1]]@1",
		"inform:[::1]@20164/public", "[fe80::1%eth0]@162/c", "0.0.0.0", "::", "255.255.255.255", "::ffff:255.255.255.255",
		"224.0.0.1", "ff02::1", "0", "127.1", "0x7f.1", "h@162/public/extra", "h//c", `h/"pub`, "h/pub\\", "[::1@162", "fe80::1%a\nb@162/c", "[fe80::1%eth0]]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Errorf("ParseTarget(%q): error %q does not name the value", s, err)
			}
			return
		}
		if tg.Host == "" || tg.Port == 0 || tg.Kind > InformV2c {
			t.Fatalf("ParseTarget(%q) = %+v: incomplete", s, tg)
		}
		if a, err := netip.ParseAddr(tg.Host); err == nil {
			if a = a.Unmap(); a.IsUnspecified() || a.IsMulticast() || a == limitedBroadcast {
				t.Fatalf("ParseTarget(%q) = %+v: not one receiver", s, tg)
			}
		}
		if hostPort, _, _ := strings.Cut(tg.String(), "/"); strings.Contains(tg.Host, ":") != strings.Contains(hostPort, "[") {
			t.Fatalf("ParseTarget(%q).String() = %q: an IPv6 address must be in brackets, nothing else", s, tg.String())
		}
		if tg.Community != "" {
			if err := checkCommunity(tg.Community); err != nil {
				t.Fatalf("ParseTarget(%q) = %+v with an invalid community: %v", s, tg, err)
			}
		}
		canon := tg.String()
		if strings.ContainsFunc(canon, func(r rune) bool { return r <= ' ' || r > '~' }) {
			t.Fatalf("ParseTarget(%q).String() = %q: a target is shown on one line, in printable ASCII", s, canon)
		}
		again, err := ParseTarget(canon)
		if err != nil || again != tg {
			t.Fatalf("ParseTarget(%q) = %+v, but ParseTarget(String() = %q) = %+v, %v", s, tg, canon, again, err)
		}
		if again.String() != canon {
			t.Fatalf("String is not a fixed point: %q -> %q", canon, again.String())
		}
	})
}

var (
	resolverOnce sync.Once
	resolver     *resolve.Resolver
)

func nilResolver() *resolve.Resolver {
	resolverOnce.Do(func() { resolver = resolve.NewResolver(nil) })
	return resolver
}

// splitList turns a fuzzed string into a list; "" is the empty list, as
// DefaultConfig has it.
func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// FuzzConfigValidate builds a Config from fuzzed settings and checks that
// Validate never panics and that an accepted Config stays accepted after
// Normalize (which is idempotent) and after a TOML round trip through
// configstore, which gives back the same Config.
func FuzzConfigValidate(f *testing.F) {
	type seed struct {
		enabled                               bool
		port                                  int
		comms, targets, notraps, contact, loc string
		level, sysoid                         string
		timeout                               int64
		retries, queue                        int
	}
	def := DefaultConfig()
	for _, s := range []seed{
		{false, 161, "", "", "", "", "", "info", def.SysObjectID, int64(5 * time.Second), 3, 1024},
		{true, 161, "public\nprivate", "192.0.2.1\nv1:nms@162/c\ninform:[::1]@10162/x", "warmStart\n1.3.6.1.6.3.1.1.5.1\nSNMPv2-MIB::coldStart", "noc", "rack 4", "debug", "1.3.6.1.4.1.6876.4.1", int64(10 * time.Millisecond), 0, 1},
		{true, 65535, "", "192.0.2.1", "", "", "", "error", ".1.3", int64(time.Minute), 10, 1_000_000},
		{true, 0, "a b\na\na", "h\nh@162\nbad_host", "nope\n1..3", "tab\there", "x\x7f", "loud", "9.9", 0, 11, 0},
		{false, 162, "c", "fe80::1%eth0/c", "IF-MIB::linkDown", strings.Repeat("x", 256), "", "warning", "1.3.6", int64(time.Second), 5, 10},
		{true, 161, "public", "inform:::1@20164/public\n[::1]@162\nh@162/a/b\n255.255.255.255/c", "", "", "", "info", def.SysObjectID, int64(time.Second), 3, 10},
		{true, 161, "\"pub\nlic\"", "::1/c", "", "", "", "info", def.SysObjectID, int64(time.Second), 3, 10},
	} {
		f.Add(s.enabled, s.port, s.comms, s.targets, s.notraps, s.contact, s.loc, s.level, s.sysoid, s.timeout, s.retries, s.queue)
	}
	f.Fuzz(func(t *testing.T, enabled bool, port int, comms, targets, notraps, contact, loc, level, sysoid string, timeout int64, retries, queue int) {
		// Settings reach a Config through JSON (the API) or TOML (the
		// file), both of which only ever give valid UTF-8.
		for _, s := range []string{comms, targets, notraps, contact, loc, level, sysoid} {
			if !utf8.ValidString(s) {
				return
			}
		}
		c := DefaultConfig()
		c.Enabled, c.Port = enabled, port
		c.Communities, c.Targets, c.Notraps = splitList(comms), splitList(targets), splitList(notraps)
		c.Syscontact, c.Syslocation, c.Loglevel, c.SysObjectID = contact, loc, level, sysoid
		c.InformTimeout, c.InformRetries, c.QueueSize = configstore.Duration(timeout), retries, queue
		r := nilResolver()
		if err := c.Validate(r); err != nil {
			if err.Error() == "" {
				t.Fatal("Validate refused with an empty message")
			}
			return
		}
		n := c.Clone()
		n.Normalize()
		if err := n.Validate(r); err != nil {
			t.Fatalf("accepted config %+v refused after Normalize (%q): %v", c, n.Targets, err)
		}
		nn := n.Clone()
		nn.Normalize()
		if !reflect.DeepEqual(n, nn) {
			t.Fatalf("Normalize is not idempotent: %q -> %q", n.Targets, nn.Targets)
		}
		path := filepath.Join(t.TempDir(), "snmp.toml")
		if err := configstore.Save(path, c, 0o600, "fuzz"); err != nil {
			t.Fatalf("Save of accepted config %+v: %v", c, err)
		}
		back := DefaultConfig()
		if _, err := configstore.Load(path, &back); err != nil {
			t.Fatalf("Load of saved accepted config %+v: %v", c, err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("TOML round trip changed the config:\nsaved  %+v\nloaded %+v", c, back)
		}
		if err := back.Validate(r); err != nil {
			t.Fatalf("accepted config refused after a TOML round trip: %v", err)
		}
	})
}
