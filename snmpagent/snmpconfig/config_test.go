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
		{"fe80::1@162/public", "fe80::1@162/public", TrapV2c},
		{"[::1]@162/public", "::1@162/public", TrapV2c},
		{"inform:::1/public", "inform:::1@162/public", InformV2c},
		{"h/with/slash", "h@162/with/slash", TrapV2c},
	} {
		got, err := ParseTarget(tc.in)
		if err != nil || got.String() != tc.want || got.Kind != tc.kind {
			t.Errorf("ParseTarget(%q) = %q kind %v, %v; want %q %v", tc.in, got, got.Kind, err, tc.want, tc.kind)
		}
	}
	for _, bad := range []string{"", "@162", "bad_host!", "h@0", "h@65536", "h@x/c", "h@162/", "h/" + strings.Repeat("c", 65), "h/a b", "h/a,b", "-h", "a..b", "inform:"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("ParseTarget(%q): error %q does not name the value", bad, err)
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
