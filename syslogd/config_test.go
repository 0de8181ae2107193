package syslogd

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"loghosts", func(c *Config) { c.Loghosts = []string{"tcp://a:1514", "udp://b"} }, ""},
		{"empty loghost", func(c *Config) { c.Loghosts = []string{"tcp://a:1514", " "} }, `loghosts[1] " ": empty`},
		{"relative glob", func(c *Config) { c.Files = []FileInput{{Glob: "x/*.log"}} }, `files[0].glob "x/*.log": must be an absolute path pattern`},
		{"socket", func(c *Config) { c.Socket = "run/x.sock" }, `socket "run/x.sock"`},
		{"udp not loopback", func(c *Config) { c.UDP = "10.0.0.1:514" }, `udp "10.0.0.1:514": must be a loopback address`},
		{"max_line", func(c *Config) { c.MaxLine = 10 }, "max_line 10: must be from 256 to 65536"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
