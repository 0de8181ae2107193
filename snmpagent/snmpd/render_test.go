package snmpd

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hostagent/mibs"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

var testEngine = []byte{0x80, 0x00, 0x7e, 0xd9, 0x05, 1, 2, 3, 4, 5, 6, 7, 8}

func baseSettings() Settings {
	return Settings{
		Listen:       []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:16161")},
		AgentXSocket: "/var/lib/hostagent/snmpd/agentx/master",
		EngineID:     testEngine,
		Communities:  []string{"public"},
		SysContact:   "ops@example.org",
		SysLocation:  "rack 4",
		SysDescr:     "hostagent 1.0",
	}
}

func TestRender(t *testing.T) {
	s := baseSettings()
	s.Listen = append(s.Listen, netip.MustParseAddrPort("[::]:16161"), netip.MustParseAddrPort("0.0.0.0:161"))
	s.Communities = []string{"public", "a#b,c"}
	auth := bytes.Repeat([]byte{0xab}, 32)
	priv := bytes.Repeat([]byte{0xcd}, 32)
	s.Users = []usm.User{
		{Name: "ops", Level: usm.AuthPriv, Auth: usm.AuthSHA256, Priv: usm.PrivAES128, AuthKey: auth, PrivKey: priv},
		{Name: "mon", Level: usm.AuthNoPriv, Auth: usm.AuthSHA256, AuthKey: auth},
		{Name: "anon", Level: usm.NoAuthNoPriv},
	}
	conf, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"agentAddress udp:127.0.0.1:16161,udp6:16161,udp:161\n",
		"exactEngineID 0x80007ed9050102030405060708\n",
		"master agentx\n",
		"agentXSocket unix:/var/lib/hostagent/snmpd/agentx/master\n",
		"agentXPerms 0600 0700\n",
		"view hostagentAll included .1\n",
		`com2sec hostagentCommunity2 default "a#b,c"` + "\n",
		`com2sec6 hostagentCommunity2 default "a#b,c"` + "\n",
		`access hostagentCommunities "" any noauth exact hostagentAll none none` + "\n",
		`createUser -e 0x80007ed9050102030405060708 "ops" SHA-256 -l 0x` + hex.EncodeToString(auth) + " AES -l 0x" + hex.EncodeToString(priv) + "\n",
		`access hostagentUser1 "" usm priv exact hostagentAll none none` + "\n",
		`createUser -e 0x80007ed9050102030405060708 "mon" SHA-256 -l 0x` + hex.EncodeToString(auth) + "\n",
		`access hostagentUser2 "" usm auth exact hostagentAll none none` + "\n",
		`createUser -e 0x80007ed9050102030405060708 "anon"` + "\n",
		`access hostagentUser3 "" usm noauth exact hostagentAll none none` + "\n",
		"override .1.3.6.1.2.1.1.4.0 octet_str 0x" + hex.EncodeToString([]byte("ops@example.org")) + "\n",
		"override .1.3.6.1.2.1.1.6.0 octet_str 0x" + hex.EncodeToString([]byte("rack 4")) + "\n",
		"override .1.3.6.1.2.1.1.1.0 octet_str 0x" + hex.EncodeToString([]byte("hostagent 1.0")) + "\n",
		"view hostagentAll excluded .1.3.6.1.2.1.25.4.2.1.5\n",
		"sysObjectID .1.3.6.1.4.1.6876.4.1\n",
		"sysServices 72\n",
		"includeAllDisks 10%\n",
		"realStorageUnits 0\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("configuration lacks %q:\n%s", want, conf)
		}
	}
	for _, absent := range []string{"rwcommunity", "rwuser", "engineBoots", "trapsink", "rocommunity"} {
		if strings.Contains(conf, absent) {
			t.Errorf("configuration has %q:\n%s", absent, conf)
		}
	}

	// No communities: no community access at all.
	s = baseSettings()
	s.Communities = nil
	s.RealStorageUnits = true
	s.SysContact, s.SysLocation, s.SysDescr = "", "", ""
	s.SysObjectID = mibs.MustOID("1.3.6.1.4.1.99999.1")
	conf, err = Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"com2sec", "hostagentCommunities", ".1.3.6.1.2.1.1.1.0", "com2sec6"} {
		if strings.Contains(conf, absent) {
			t.Errorf("configuration has %q:\n%s", absent, conf)
		}
	}
	for _, want := range []string{"realStorageUnits 1\n", "sysObjectID .1.3.6.1.4.1.99999.1\n",
		"override .1.3.6.1.2.1.1.4.0 octet_str \"\"\n", "override .1.3.6.1.2.1.1.6.0 octet_str \"\"\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("configuration lacks %q:\n%s", want, conf)
		}
	}
}

// Hostile strings never reach the file: Render refuses them, naming the
// setting, and no key appears in an error.
func TestRenderRefusesInjection(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, 32)
	cases := map[string]func(*Settings){
		"community newline":   func(s *Settings) { s.Communities = []string{"x\nrwcommunity evil"} },
		"community quote":     func(s *Settings) { s.Communities = []string{`x" default .1`} },
		"community single":    func(s *Settings) { s.Communities = []string{"x'"} },
		"community space":     func(s *Settings) { s.Communities = []string{"a b"} },
		"community backslash": func(s *Settings) { s.Communities = []string{`a\`} },
		"community empty":     func(s *Settings) { s.Communities = []string{""} },
		"community non-ASCII": func(s *Settings) { s.Communities = []string{"café"} },
		"community NUL":       func(s *Settings) { s.Communities = []string{"a\x00b"} },
		"community too long":  func(s *Settings) { s.Communities = []string{strings.Repeat("a", 256)} },
		"user newline":        func(s *Settings) { s.Users = []usm.User{{Name: "u\nrwuser u", Level: usm.NoAuthNoPriv}} },
		"user quote":          func(s *Settings) { s.Users = []usm.User{{Name: `u"`, Level: usm.NoAuthNoPriv}} },
		"user too long":       func(s *Settings) { s.Users = []usm.User{{Name: strings.Repeat("u", 33), Level: usm.NoAuthNoPriv}} },
		"user twice": func(s *Settings) {
			s.Users = []usm.User{{Name: "u", Level: usm.NoAuthNoPriv}, {Name: "u", Level: usm.NoAuthNoPriv}}
		},
		"user short key": func(s *Settings) {
			s.Users = []usm.User{{Name: "u", Level: usm.AuthNoPriv, Auth: usm.AuthSHA256, AuthKey: key[:31]}}
		},
		"user priv without key": func(s *Settings) {
			s.Users = []usm.User{{Name: "u", Level: usm.AuthPriv, Auth: usm.AuthSHA256, AuthKey: key}}
		},
		"user auth none":    func(s *Settings) { s.Users = []usm.User{{Name: "u", Level: usm.AuthNoPriv, AuthKey: key}} },
		"sysdescr too long": func(s *Settings) { s.SysDescr = strings.Repeat("d", 256) },
		"no listen":         func(s *Settings) { s.Listen = nil },
		"listen port 0":     func(s *Settings) { s.Listen = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")} },
		"listen zone":       func(s *Settings) { s.Listen = []netip.AddrPort{netip.MustParseAddrPort("[fe80::1%eth0]:161")} },
		"socket relative":   func(s *Settings) { s.AgentXSocket = "agentx" },
		"socket blank":      func(s *Settings) { s.AgentXSocket = "/tmp/a b" },
		"socket comma":      func(s *Settings) { s.AgentXSocket = "/tmp/a,udp:1" },
		"socket newline":    func(s *Settings) { s.AgentXSocket = "/tmp/a\nrwcommunity x" },
		"socket too long":   func(s *Settings) { s.AgentXSocket = "/" + strings.Repeat("s", 107) },
		"engine ID short":   func(s *Settings) { s.EngineID = []byte{1, 2, 3} },
		"engine ID zeros":   func(s *Settings) { s.EngineID = make([]byte, 8) },
		"sysobjectid short": func(s *Settings) { s.SysObjectID = mibs.OID{1} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := baseSettings()
			mutate(&s)
			conf, err := Render(s)
			if err == nil {
				t.Fatalf("Render accepted it:\n%s", conf)
			}
			if strings.Contains(err.Error(), hex.EncodeToString(key[:8])) {
				t.Errorf("error shows a key: %v", err)
			}
		})
	}
}

// FuzzRender: whatever the strings, Render either refuses them or writes
// exactly the lines it writes for plain ones (nothing injected).
func FuzzRender(f *testing.F) {
	for _, seed := range []string{"public", "a#b", "x\nrwcommunity y", `"`, "\\", "#", "\u2028", "a\rb", "é"} {
		f.Add(seed, seed, seed)
	}
	f.Fuzz(func(t *testing.T, community, user, contact string) {
		s := baseSettings()
		s.Communities = []string{community}
		s.Users = []usm.User{{Name: user, Level: usm.NoAuthNoPriv}}
		s.SysContact = contact
		conf, err := Render(s)
		if err != nil {
			return
		}
		ref := baseSettings()
		ref.Communities = []string{"c"}
		ref.Users = []usm.User{{Name: "u", Level: usm.NoAuthNoPriv}}
		ref.SysContact = "x"
		want, err := Render(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got, w := strings.Count(conf, "\n"), strings.Count(want, "\n"); got != w {
			t.Fatalf("%d lines, want %d:\n%s", got, w, conf)
		}
		for _, l := range strings.Split(conf, "\n") {
			if strings.HasPrefix(l, "com2sec ") && l != `com2sec hostagentCommunity1 default "`+community+`"` {
				t.Fatalf("community line %q", l)
			}
		}
	})
}

func TestFromConfig(t *testing.T) {
	c := snmpconfig.DefaultConfig()
	c.Communities = []string{"public"}
	c.Syscontact, c.Syslocation = "me", "here"
	c.Authentication, c.Privacy = "SHA256", "AES128"
	authKey, privKey, err := usm.LocalizedKeys(usm.AuthSHA256, []byte("authpass1"), []byte("privpass1"), testEngine)
	if err != nil {
		t.Fatal(err)
	}
	c.Users = snmpconfig.Users{"ops/" + hex.EncodeToString(authKey) + "/" + hex.EncodeToString(privKey) + "/priv", "anon/-/-/none"}
	s, err := FromConfig(c, testEngine)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Users) != 2 || s.Users[0].Level != usm.AuthPriv || !bytes.Equal(s.Users[0].PrivKey, privKey) || s.Users[1].Level != usm.NoAuthNoPriv {
		t.Errorf("users %+v", s.Users)
	}
	if s.SysObjectID.String() != snmpconfig.DefaultSysObjectID || s.SysContact != "me" || s.SysLocation != "here" {
		t.Errorf("settings %+v", s)
	}
	c.Users = snmpconfig.Users{"ops/zz/-/auth"}
	if _, err := FromConfig(c, testEngine); err == nil || strings.Contains(err.Error(), "zz") {
		t.Errorf("bad key: %v", err)
	}
}

func TestPersistentConf(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snmpd.conf")
	if err := writePersistent(path, testEngine, 42); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "engineBoots 41\noldEngineID 0x80007ed9050102030405060708\n") {
		t.Errorf("persistent file:\n%s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	// What snmpd saves is read back for its own engine ID only.
	if got := savedBoots(path, testEngine); got != 41 {
		t.Errorf("savedBoots = %d, want 41", got)
	}
	if got := savedBoots(path, []byte{1, 2, 3, 4, 5}); got != 0 {
		t.Errorf("savedBoots of another engine = %d, want 0", got)
	}
	for _, b := range []uint32{0, maxBoots} {
		if err := writePersistent(path, testEngine, b); err == nil {
			t.Errorf("boots %d accepted", b)
		}
	}
}

// TestTextValuesAreOctets: sysContact, sysLocation and sysDescr reach
// snmpd's configuration as hex octets, whatever they hold (a newline and a
// directive, a '#', a line separator, bytes that are not UTF-8): nothing of
// them is read as syntax.
func TestTextValuesAreOctets(t *testing.T) {
	s := baseSettings()
	s.SysContact, s.SysLocation, s.SysDescr = "me\nrwcommunity evil", "#rack 4", "a\u2028b\xff"
	conf, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{s.SysContact, s.SysLocation, s.SysDescr} {
		if !strings.Contains(conf, " octet_str 0x"+hex.EncodeToString([]byte(v))+"\n") {
			t.Errorf("%q not written as octets:\n%s", v, conf)
		}
	}
	if strings.Contains(conf, "rwcommunity") || strings.Contains(conf, "#rack") {
		t.Errorf("a value reached the configuration as text:\n%s", conf)
	}
}
