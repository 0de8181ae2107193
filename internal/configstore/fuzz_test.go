package configstore_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"hostagent/internal/configstore"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/syslogd"
)

var (
	resolverOnce sync.Once
	resolver     *resolve.Resolver
)

func nilResolver() *resolve.Resolver {
	resolverOnce.Do(func() { resolver = resolve.NewResolver(nil) })
	return resolver
}

// addFile seeds the corpus with a shipped configuration file, if present.
func addFile(f *testing.F, path string) {
	if b, err := os.ReadFile(path); err == nil {
		f.Add(b)
	}
}

// loadFuzzed writes data as a file and Loads it into v.
func loadFuzzed(t *testing.T, name string, data []byte, v any) error {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	found, err := configstore.Load(path, v)
	if !found && err == nil {
		t.Fatalf("Load(%s) did not find the file it was given", path)
	}
	if err != nil && !strings.Contains(err.Error(), path) {
		t.Errorf("Load error %q does not name the file", err)
	}
	return err
}

// roundTrip Saves v and Loads it back into fresh.
func roundTrip(t *testing.T, name string, v, fresh any) {
	path := filepath.Join(t.TempDir(), name)
	if err := configstore.Save(path, v, 0o600, "Fuzzed.\n\nSecond line."); err != nil {
		t.Fatalf("Save of an accepted config: %v", err)
	}
	if _, err := configstore.Load(path, fresh); err != nil {
		saved, _ := os.ReadFile(path)
		t.Fatalf("Load of a saved accepted config: %v\n%s", err, saved)
	}
}

// FuzzLoadSNMP loads arbitrary snmp.toml text over the defaults: Load
// never panics, and a configuration it loads and Validate accepts is
// written by Save and loaded back unchanged, and is still accepted.
func FuzzLoadSNMP(f *testing.F) {
	addFile(f, "../../configs/snmp.toml")
	for _, s := range []string{
		"",
		"enabled = true\ncommunities = [\"public\"]\ntargets = [\"192.0.2.1@162\", \"inform:nms/c\"]\n",
		"port = 1161\nsyscontact = \"noc \\\"24/7\\\"\"\nsyslocation = \"rack\\t4\"\nloglevel = \"debug\"\n",
		"inform_timeout = \"250ms\"\ninform_retries = 0\nqueue_size = 1\nmib_dirs = []\nnotraps = [\"warmStart\", \".1.3.6.1.6.3.1.1.5.1\"]\n",
		"sysobjectid = \"1.3.6.1.4.1.6876.4.1\"\ntargets = []\ncommunities = []\n",
		"enabeld = true\n", "port = \"161\"\n", "[snmp]\nport = 1\n", "inform_timeout = \"5 s\"\n",
		"port = 1\nport = 2\n", "targets = [\"fe80::1%eth0@162/c\"]\n", "syscontact = '''multi\nline'''\n",
		"inform_timeout = 5\n", "port = 9223372036854775807\n", "enabled = true\ntargets = [\"h\"]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := snmpconfig.DefaultConfig()
		if err := loadFuzzed(t, "snmp.toml", data, &c); err != nil {
			return
		}
		if c.Validate(nilResolver()) != nil {
			return
		}
		back := snmpconfig.DefaultConfig()
		roundTrip(t, "snmp.toml", c, &back)
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("TOML round trip changed the config:\nloaded %+v\nsaved and re-loaded %+v", c, back)
		}
		if err := back.Validate(nilResolver()); err != nil {
			t.Fatalf("accepted config refused after a TOML round trip: %v", err)
		}
	})
}

// FuzzLoadSyslog is FuzzLoadSNMP for syslog.toml, accepted when Validate
// and syslogd.ParseLoghosts (as the forwarder checks loghosts) accept it.
func FuzzLoadSyslog(f *testing.F) {
	addFile(f, "../../configs/syslog.toml")
	for _, s := range []string{
		"",
		"loghosts = [\"udp://10.0.0.5:514\", \"tcp://loghost\", \"ssl://[::1]:1514\"]\n",
		"loghosts = [\"ssl://loghost:1514\"]\n[loghost_options.\"ssl://loghost:1514\"]\nformat = \"rfc3164\"\nframing = \"newline\"\nmax_message = 2048\nretry_max = \"30s\"\nverify = false\n",
		"socket = \"\"\nudp = \"127.0.0.1:514\"\nhostname = \"esx01\"\nmax_line = 256\nspool_max = 1048576\n",
		"[[files]]\nglob = \"/var/log/*.log\"\npriority = \"daemon.warn\"\napp_name = \"x\"\n[[files]]\nglob = \"/tmp/[a-z]*\"\n",
		"files = []\n", "loghosts = [\"tcp://a\", \"tcp://a:514\"]\n", "udp = \"[::1]:514\"\n", "max_line = 255\n",
		"[loghost_options]\n", "loghost = []\n", "[[files]]\nglob = \"relative\"\n", "spool_max = 1e9\n",
		"loghosts = [\"udp://[fe80::1%25eth0]\"]\n", "[loghost_options.x]\nretry_max = \"-1s\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := syslogd.DefaultConfig()
		if err := loadFuzzed(t, "syslog.toml", data, &c); err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		if _, err := syslogd.ParseLoghosts(strings.Join(c.Loghosts, ",")); err != nil {
			return
		}
		back := syslogd.DefaultConfig()
		roundTrip(t, "syslog.toml", c, &back)
		if !sameSyslog(back, c) {
			t.Fatalf("TOML round trip changed the config:\nloaded %+v\nsaved and re-loaded %+v", c, back)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("accepted config refused after a TOML round trip: %v", err)
		}
	})
}

// sameSyslog compares two configurations, an empty map or list being the
// same as none.
func sameSyslog(a, b syslogd.Config) bool {
	for _, c := range []*syslogd.Config{&a, &b} {
		if len(c.Options) == 0 {
			c.Options = nil
		}
		if len(c.Files) == 0 {
			c.Files = nil
		}
		if len(c.Loghosts) == 0 {
			c.Loghosts = nil
		}
	}
	return reflect.DeepEqual(a, b)
}
