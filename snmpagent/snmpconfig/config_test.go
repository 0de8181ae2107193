package snmpconfig

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"hostagent/internal/configstore"
	"hostagent/mibs/resolve"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		kind     Kind
	}{
		{"192.0.2.1", "192.0.2.1@162", TrapV2c},
		{"192.0.2.1@1162/public", "192.0.2.1@1162/public", TrapV2c},
		{"nms.example.com/public", "nms.example.com@162/public", TrapV2c},
		{"v1:nms@162/public", "v1:nms@162/public", TrapV1},
		{"V1:nms", "v1:nms@162", TrapV1},
		{"v2c:nms/c", "nms@162/c", TrapV2c},
		{"inform:nms@10162/c", "inform:nms@10162/c", InformV2c},
		{"fe80::1@162/public", "[fe80::1]@162/public", TrapV2c},
		{"[::1]@162/public", "[::1]@162/public", TrapV2c},
		{"inform:::1/public", "inform:[::1]@162/public", InformV2c},
	} {
		got, err := ParseTarget(tc.in)
		if err != nil || got.String() != tc.want || got.Kind != tc.kind {
			t.Errorf("ParseTarget(%q) = %q kind %v, %v; want %q %v", tc.in, got, got.Kind, err, tc.want, tc.kind)
		}
	}
	for _, bad := range []string{"", "@162", "bad_host!", "h@0", "h@65536", "h@x/c", "h@162/", "h/" + strings.Repeat("c", 65), "h/a b", "h/a,b", "-h", "a..b", "inform:", "h/with/slash"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("ParseTarget(%q): error %q does not name the value", bad, err)
		}
	}
}

// TestTargetIPv6InBrackets: an IPv6 target is written with its address in
// brackets, so that inform:::1@20164/public reads as inform:[::1]@20164/public;
// both forms that were accepted before still parse (snmp.toml files keep
// loading) and give the same target.
func TestTargetIPv6InBrackets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"inform:::1@20164/public", "inform:[::1]@20164/public"},
		{"inform:[::1]@20164/public", "inform:[::1]@20164/public"},
		{"2001:db8::1", "[2001:db8::1]@162"},
		{"v1:[2001:db8::1]/c", "v1:[2001:db8::1]@162/c"},
		{"fe80::1%eth0@1162/c", "[fe80::1%eth0]@1162/c"},
		{"::ffff:192.0.2.1", "[::ffff:192.0.2.1]@162"},
		{"[192.0.2.1]@1162", "192.0.2.1@1162"}, // accepted before: brackets around any host
		{"192.0.2.1@1162", "192.0.2.1@1162"},
		{"nms.example.com/c", "nms.example.com@162/c"},
	} {
		got, err := ParseTarget(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseTarget(%q).String() = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		if again, err := ParseTarget(got.String()); err != nil || again != got {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
	// The normalized form stored and shown has the brackets too.
	cfg := Config{Targets: []string{"inform:::1@20164/public"}}
	cfg.Normalize()
	if cfg.Targets[0] != "inform:[::1]@20164/public" {
		t.Errorf("Normalize = %q", cfg.Targets)
	}
	for _, bad := range []string{"[::1@162", "::1]@162", "inform:[::1", "[fe80::1%eth0@162/c"} {
		if _, err := ParseTarget(bad); err == nil || !strings.Contains(err.Error(), "unmatched bracket") {
			t.Errorf("ParseTarget(%q): %v, want an unmatched bracket refused", bad, err)
		}
	}
}

// TestTargetOneReceiver: a target is one receiver. The unspecified, limited
// broadcast and multicast addresses, and names that resolvers read as a
// shortened IPv4 address, are refused, by ParseTarget and so by Validate (the
// API and snmp.toml), each naming the value and saying why.
func TestTargetOneReceiver(t *testing.T) {
	for _, tc := range []struct{ in, errHas string }{
		{"0.0.0.0", "unspecified address"},
		{"0.0.0.0@162/public", "unspecified address"},
		{"::", "unspecified address"},
		{"[::]@162", "unspecified address"},
		{"inform:[::]/c", "unspecified address"},
		{"::ffff:0.0.0.0", "unspecified address"},
		{"255.255.255.255", "limited broadcast address"},
		{"v1:255.255.255.255@162/c", "limited broadcast address"},
		{"::ffff:255.255.255.255", "limited broadcast address"},
		{"224.0.0.1", "multicast address"},
		{"239.255.255.250@1900", "multicast address"},
		{"224.0.0.0", "multicast address"},
		{"ff02::1", "multicast address"},
		{"[ff02::1%eth0]@162", "multicast address"},
		{"ff05::101", "multicast address"},
		{"0", "not a valid IPv4 address"},
		{"127.1", "not a valid IPv4 address"},
		{"010.0.0.1", "not a valid IPv4 address"},
		{"0x7f.1", "not a valid IPv4 address"},
		{"4294967295", "not a valid IPv4 address"},
		// A zone is an interface name: a newline in it would split the
		// target's line in --show and in the logs.
		{"fe80::1%eth0\nfake@162/c", "is not an interface name"},
		{"[fe80::1%a b]@162/c", "is not an interface name"},
		{"[fe80::1%eth0]]@162/c", "is not an interface name"},
		{"fe80::1%averyveryverylongname", "is not an interface name"},
	} {
		_, err := ParseTarget(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
			t.Errorf("ParseTarget(%q): %v; want an error naming it and saying %q", tc.in, err, tc.errHas)
		}
		cfg := DefaultConfig()
		cfg.Enabled, cfg.Communities, cfg.Targets = true, []string{"public"}, []string{tc.in}
		if err := cfg.Validate(resolve.NewResolver(nil)); err == nil || !strings.Contains(err.Error(), "targets: ") || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("Validate of target %q: %v; want it refused", tc.in, err)
		}
	}
	// Unicast addresses next to the refused ranges, and a subnet-directed
	// broadcast address, which cannot be told from a host address without
	// the netmask, are accepted.
	for _, ok := range []string{"0.0.0.1", "223.255.255.255", "240.0.0.1", "255.255.255.254", "192.0.2.255", "192.0.2.0",
		"::1", "fe80::1", "fe00::1", "fe80::1%eth0", "fe80::1%2", "[fe80::1%br-lan.10]", "127.0.0.1", "10.0.0.255", "0.example.com", "host0", "1.2.3.example", "0x7f.example"} {
		if _, err := ParseTarget(ok); err != nil {
			t.Errorf("ParseTarget(%q): %v", ok, err)
		}
	}
}

// TestTargetOneSlash: host@port/public/extra is refused rather than stored
// with the community public/extra.
func TestTargetOneSlash(t *testing.T) {
	for _, in := range []string{"host@162/public/extra", "h/a/b", "inform:[::1]@162/c/", "h@162//c", "v1:h/c/d/e"} {
		_, err := ParseTarget(in)
		if err == nil || !strings.Contains(err.Error(), "more than one '/'") || !strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
			t.Errorf("ParseTarget(%q): %v; want more than one '/' refused", in, err)
		}
	}
}

// TestCommunityCharacters: a community holds no quotes (most often the
// shell's quotes doubled: -c '"pub,lic"' gives "pub and lic"), no
// backslash, no control character, in the communities and in targets.
func TestCommunityCharacters(t *testing.T) {
	for _, tc := range []struct{ community, errHas string }{
		{`"pub`, "were the shell's quotes doubled"},
		{`lic"`, "were the shell's quotes doubled"},
		{`"public"`, "were the shell's quotes doubled"},
		{`'public'`, "were the shell's quotes doubled"},
		{`pub'lic`, "were the shell's quotes doubled"},
		{`pub\`, "backslashes are not allowed"},
		{"pub\tlic", "control characters are not allowed"},
		{"pub\x00", "control characters are not allowed"},
		{"pub\x1b[0m", "control characters are not allowed"},
		{"pub\x7f", "control characters are not allowed"},
		{"pub lic", "spaces are not allowed"},
		{"pub,lic", "commas are not allowed"},
		{"públic", "only printable ASCII"},
		{"****", "the placeholder shown for a hidden community"},
	} {
		cfg := DefaultConfig()
		cfg.Communities = []string{tc.community}
		err := cfg.Validate(resolve.NewResolver(nil))
		if err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), fmt.Sprintf("communities: community %q", tc.community)) {
			t.Errorf("communities %q: %v; want it refused naming it, saying %q", tc.community, err, tc.errHas)
		}
		target := "192.0.2.1@162/" + tc.community
		if _, err := ParseTarget(target); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("target %q: %v; want it refused saying %q", target, err, tc.errHas)
		}
	}
	for _, ok := range []string{"public", "p@ss#1!", "a-b_c.d:e;f<g>h=i?j[k]l{m}n|o~p`q$r%s^t&u*v(w)x+y/z"} {
		if err := CheckCommunities([]string{ok}); err != nil {
			t.Errorf("community %q: %v", ok, err)
		}
	}
}

func TestValidate(t *testing.T) {
	many := func(n int, f string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(f, i)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		errHas string // "" means valid
	}{
		{"default", func(c *Config) {}, ""},
		{"enabled full", func(c *Config) {
			c.Enabled, c.Communities, c.Targets = true, many(10, "c%d"), many(32, "192.0.2.%d")
		}, ""},
		{"port 0", func(c *Config) { c.Port = 0 }, "port 0: must be from 1 to 65535"},
		{"port 70000", func(c *Config) { c.Port = 70000 }, "port 70000"},
		{"11 communities", func(c *Config) { c.Communities = many(11, "c%d") }, "11 given, at most 10"},
		{"long community", func(c *Config) { c.Communities = []string{strings.Repeat("x", 65)} }, "1 to 64 characters"},
		{"empty community", func(c *Config) { c.Communities = []string{""} }, `community ""`},
		{"community twice", func(c *Config) { c.Communities = []string{"a", "a"} }, `"a" is listed twice`},
		{"33 targets", func(c *Config) { c.Targets = many(33, "192.0.2.%d") }, "33 given, at most 32"},
		{"target twice", func(c *Config) { c.Targets = []string{"h", "h@162"} }, "listed twice"},
		{"no community", func(c *Config) { c.Enabled, c.Targets = true, []string{"h"} }, "names no community"},
		{"broadcast target", func(c *Config) { c.Targets = []string{"255.255.255.255/c"} }, `targets: target "255.255.255.255/c": host "255.255.255.255" is the limited broadcast address`},
		{"multicast target", func(c *Config) { c.Targets = []string{"inform:ff02::1/c"} }, "multicast address"},
		{"unspecified target", func(c *Config) { c.Targets = []string{"0.0.0.0@162/c"} }, "unspecified address"},
		{"extra slash", func(c *Config) { c.Targets = []string{"h@162/public/extra"} }, "more than one '/'"},
		{"quoted community", func(c *Config) { c.Communities = []string{`"pub`, `lic"`} }, "quotes doubled"},
		{"IPv6 target twice", func(c *Config) { c.Targets = []string{"::1/c", "[::1]@162/c"} }, "listed twice"},
		{"bad notrap", func(c *Config) { c.Notraps = []string{"NO-SUCH-MIB::x"} }, `notraps: "NO-SUCH-MIB::x"`},
		{"bad loglevel", func(c *Config) { c.Loglevel = "verbose" }, `loglevel "verbose": must be one of debug, info, warning, error`},
		{"bad sysobjectid", func(c *Config) { c.SysObjectID = "vmware" }, "sysobjectid"},
		{"control char", func(c *Config) { c.Syscontact = "a\nb" }, "syscontact"},
		{"inform timeout", func(c *Config) { c.InformTimeout = configstore.Duration(time.Hour) }, "inform_timeout"},
		{"inform retries", func(c *Config) { c.InformRetries = -1 }, "inform_retries -1"},
		{"queue", func(c *Config) { c.QueueSize = 0 }, "queue_size 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(&cfg)
			err := cfg.Validate(resolve.NewResolver(nil))
			switch {
			case tc.errHas == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.errHas != "" && err == nil:
				t.Errorf("accepted")
			case tc.errHas != "" && !strings.Contains(err.Error(), tc.errHas):
				t.Errorf("error %q, want it to contain %q", err, tc.errHas)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Port, cfg.Loglevel = 0, "loud"
	err := cfg.Validate(resolve.NewResolver(nil))
	if err == nil || !strings.Contains(err.Error(), "port 0") || !strings.Contains(err.Error(), "loglevel") {
		t.Errorf("error %v, want both problems", err)
	}
}

func TestNormalize(t *testing.T) {
	cfg := Config{Targets: []string{"h", "inform:h@1/c", "bad host"}}
	cfg.Normalize()
	want := []string{"h@162", "inform:h@1/c", "bad host"}
	if fmt.Sprint(cfg.Targets) != fmt.Sprint(want) {
		t.Errorf("Normalize = %q, want %q", cfg.Targets, want)
	}
}
