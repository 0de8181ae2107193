package snmpconfig

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"hostagent/internal/configstore"
	"hostagent/manage/audit"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent/usm"
)

// sha1Key and sha256Key are keys of the right length for SHA1 and SHA256.
var (
	sha1Key   = strings.Repeat("ab", 20)
	sha256Key = strings.Repeat("cd", 32)
)

func v3Config() Config {
	c := DefaultConfig()
	c.Authentication, c.Privacy = "SHA256", "AES128"
	c.Users = Users{"ops/" + sha256Key + "/" + sha256Key + "/priv", "mon/" + sha256Key + "/-/auth", "anon/-/-/none"}
	c.V3Targets = []string{"192.0.2.1/ops/priv/trap", "[2001:db8::1]@1162/mon/auth/trap", "nms.example.com/anon/none/trap"}
	return c
}

func TestParseV3(t *testing.T) {
	c := v3Config()
	c.EngineID = "80007ed905a1b2c3d4e5f60718"
	s, err := c.Parse(resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	v := s.V3
	if hex.EncodeToString(v.EngineID) != c.EngineID || v.Auth != usm.AuthSHA256 || v.Priv != usm.PrivAES128 || len(v.Users) != 3 || len(v.Targets) != 3 {
		t.Fatalf("parsed %+v", v)
	}
	if u, ok := v.User("mon"); !ok || u.Level != usm.AuthNoPriv || hex.EncodeToString(u.AuthKey) != sha256Key || u.PrivKey != nil {
		t.Errorf("user mon %+v", u)
	}
	for i, want := range []string{"192.0.2.1@162/ops/priv/trap", "[2001:db8::1]@1162/mon/auth/trap", "nms.example.com@162/anon/none/trap"} {
		if got := v.Targets[i]; got.String() != want || got.Kind != TrapV3 || got.Kind.String() != "v3 trap" {
			t.Errorf("target %d: %s (%s), want %s", i, got, got.Kind, want)
		}
	}
	// The defaults: no SNMPv3, nothing to check.
	d := DefaultConfig()
	if s, err := d.Parse(resolve.NewResolver(nil)); err != nil || s.V3.EngineID != nil || len(s.V3.Users) != 0 || len(s.V3.Targets) != 0 {
		t.Errorf("defaults: %+v %v", s.V3, err)
	}
}

// TestParseV3Refusals: each bad value is refused with a message naming
// the setting, the value (never a key) and what is allowed.
func TestParseV3Refusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"engineid not hex", func(c *Config) { c.EngineID = "xyz" }, `engineid: engine ID "xyz": not a hex string (allowed: 5 to 32 octets`},
		{"engineid too short", func(c *Config) { c.EngineID = "80007e" }, `engineid: engine ID "80007e": engine ID of 3 octets (allowed: 5 to 32 octets)`},
		{"MD5", func(c *Config) { c.Authentication = "MD5" }, `authentication: authentication "MD5" is refused: MD5 is a broken hash`},
		{"DES", func(c *Config) { c.Privacy = "DES" }, `privacy: privacy "DES" is refused`},
		{"unknown auth", func(c *Config) { c.Authentication = "SHA3" }, `authentication: authentication "SHA3" is not supported (allowed: none, SHA1, SHA224, SHA256, SHA384, SHA512)`},
		{"privacy without auth", func(c *Config) { c.Authentication, c.Users, c.V3Targets = "none", nil, nil },
			`privacy "AES128" needs authentication, but authentication is none`},
		{"key of another hash", func(c *Config) { c.Users[1] = "mon/" + sha1Key + "/-/auth" },
			`users: user "mon" authhash: 20 octets, but a SHA256 key has 32 (64 hex digits, as vicfg-snmp --hash prints it)`},
		{"key not hex", func(c *Config) { c.Users[1] = "mon/zz" + sha256Key[2:] + "/-/auth" }, `users: user "mon" authhash: not a hex string`},
		{"model none with a key", func(c *Config) { c.Users[2] = "anon/" + sha256Key + "/-/none" }, `users: user "anon" has model none, so authhash and privhash must be -`},
		{"model auth with a privhash", func(c *Config) { c.Users[1] = "mon/" + sha256Key + "/" + sha256Key + "/auth" }, `users: user "mon" has model auth, so privhash must be -`},
		{"model priv without privacy", func(c *Config) { c.Privacy = "none"; c.V3Targets = nil }, `users: user "ops" has model priv, but privacy is none`},
		{"model auth without authentication", func(c *Config) {
			c.Authentication, c.Privacy, c.Users, c.V3Targets = "none", "none", Users{"mon/" + sha256Key + "/-/auth"}, nil
		},
			`users: user "mon" has model auth, but authentication is none`},
		{"unknown model", func(c *Config) { c.Users[2] = "anon/-/-/full" }, `users: user "anon" model: security level "full" is not supported (allowed: none, auth, priv)`},
		{"bad user name", func(c *Config) { c.Users[2] = "an on/-/-/none" }, `users: user name "an on": character ' ' is not allowed`},
		{"user twice", func(c *Config) { c.Users[2] = "mon/-/-/none" }, `users: user "mon" is listed twice`},
		{"six users", func(c *Config) {
			c.Users = Users{"a/-/-/none", "b/-/-/none", "c/-/-/none", "d/-/-/none", "e/-/-/none", "f/-/-/none"}
			c.V3Targets = nil
		}, "users: 6 given, at most 5 are allowed"},
		{"unknown user", func(c *Config) { c.V3Targets[0] = "192.0.2.1/ghost/none/trap" }, `v3targets: "192.0.2.1/ghost/none/trap" names user "ghost", which users does not list (users: ops, mon, anon)`},
		{"level above the model", func(c *Config) { c.V3Targets[1] = "192.0.2.2/mon/priv/trap" }, `v3targets: "192.0.2.2/mon/priv/trap" asks for security level priv, but user "mon" has model auth`},
		{"inform without a remote user", func(c *Config) { c.V3Targets[0] = "192.0.2.1/ops/priv/inform" },
			`v3targets: "192.0.2.1/ops/priv/inform" names user "ops", which remoteusers does not list (remoteusers: none)`},
		{"remote user without engine ID", func(c *Config) { c.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/-/auth/-"} },
			`remoteusers: user "nms" has model auth but no engine ID: its keys must be localized to the receiver's engine ID, so the engine ID must be given`},
		{"remote user with an empty engine ID", func(c *Config) { c.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/" + sha256Key + "/priv/"} },
			`remoteusers: user "nms" has model priv but no engine ID`},
		{"remote user engine ID not hex", func(c *Config) { c.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/-/auth/80001f88zz"} },
			`remoteusers: user "nms" engine ID: engine ID "80001f88zz": not a hex string`},
		{"remote user of four parts", func(c *Config) { c.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/-/auth"} },
			`remoteusers: entry "nms/<set>" has 4 parts separated by '/' (want name/authhash/privhash/model/engineid`},
		{"remote user key of another hash", func(c *Config) { c.RemoteUsers = RemoteUsers{"nms/" + sha1Key + "/-/auth/80001f880401020304"} },
			`remoteusers: user "nms" authhash: 20 octets, but a SHA256 key has 32`},
		{"remote user twice", func(c *Config) {
			c.RemoteUsers = RemoteUsers{"nms/-/-/none/-", "nms/-/-/none/80001f880401020304"}
		}, `remoteusers: user "nms" is listed twice`},
		{"six remote users", func(c *Config) {
			c.RemoteUsers = RemoteUsers{"a/-/-/none/-", "b/-/-/none/-", "c/-/-/none/-", "d/-/-/none/-", "e/-/-/none/-", "f/-/-/none/-"}
		}, "remoteusers: 6 given, at most 5 are allowed"},
		{"inform above the remote user's model", func(c *Config) {
			c.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/-/auth/80001f880401020304"}
			c.V3Targets[0] = "192.0.2.1/nms/priv/inform"
		}, `v3targets: "192.0.2.1/nms/priv/inform" asks for security level priv, but user "nms" has model auth`},
		{"trap with a remote user", func(c *Config) {
			c.RemoteUsers = RemoteUsers{"nms/-/-/none/-"}
			c.V3Targets[0] = "192.0.2.1/nms/none/trap"
		}, `v3targets: "192.0.2.1/nms/none/trap" names user "nms", which users does not list (users: ops, mon, anon)`},
		{"four targets", func(c *Config) { c.V3Targets = append(c.V3Targets, "192.0.2.4/anon/none/trap") }, "v3targets: 4 given, at most 3 are allowed"},
		{"target twice", func(c *Config) { c.V3Targets[2] = "192.0.2.1@162/ops/priv/trap" }, `v3targets: "192.0.2.1@162/ops/priv/trap" is listed twice`},
		{"target with a kind prefix", func(c *Config) { c.V3Targets[2] = "inform:192.0.2.3/anon/none/trap" }, `v3targets: v3 target "inform:192.0.2.3/anon/none/trap": a kind prefix is not allowed`},
		{"target broadcast", func(c *Config) { c.V3Targets[2] = "255.255.255.255/anon/none/trap" }, `is the limited broadcast address`},
		{"target parts", func(c *Config) { c.V3Targets[2] = "192.0.2.3/anon/trap" }, `v3targets: v3 target "192.0.2.3/anon/trap": 3 parts separated by '/' (want host[@port]/user/secLevel/trap|inform`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := v3Config()
			tc.change(&c)
			err := c.Validate(resolve.NewResolver(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), sha256Key) || strings.Contains(err.Error(), sha1Key) {
				t.Errorf("error shows a key: %v", err)
			}
		})
	}
}

// TestParseV3Informs: v3targets .../inform take their user from
// remoteusers, keys and engine ID included; a noAuthNoPriv remote user may
// leave the engine ID to discovery.
func TestParseV3Informs(t *testing.T) {
	c := v3Config()
	c.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/" + sha256Key + "/priv/80001F880401020304", "open/-/-/none/-"}
	c.V3Targets = []string{"192.0.2.1/nms/priv/inform", "192.0.2.2@1162/open/none/INFORM", "192.0.2.1/ops/priv/trap"}
	s, err := c.Parse(resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	v := s.V3
	nms, ok := v.RemoteUser("nms")
	if !ok || nms.Level != usm.AuthPriv || hex.EncodeToString(nms.AuthKey) != sha256Key || hex.EncodeToString(nms.PrivKey) != sha256Key || hex.EncodeToString(nms.EngineID) != "80001f880401020304" {
		t.Errorf("remote user nms %+v", nms)
	}
	if open, ok := v.RemoteUser("open"); !ok || open.Level != usm.NoAuthNoPriv || open.EngineID != nil {
		t.Errorf("remote user open %+v", open)
	}
	if _, ok := v.User("nms"); ok {
		t.Error("a remote user is a user for traps too")
	}
	for i, want := range []struct {
		s    string
		kind Kind
		name string
	}{{"192.0.2.1@162/nms/priv/inform", InformV3, "v3 inform"}, {"192.0.2.2@1162/open/none/inform", InformV3, "v3 inform"}, {"192.0.2.1@162/ops/priv/trap", TrapV3, "v3 trap"}} {
		if got := v.Targets[i]; got.String() != want.s || got.Kind != want.kind || got.Kind.String() != want.name || !got.Kind.IsV3() || got.Kind.IsInform() != (want.kind == InformV3) {
			t.Errorf("target %d: %s (%s), want %s (%s)", i, got, got.Kind, want.s, want.name)
		}
	}
	if err := CheckRemoteUsers(c.RemoteUsers); err != nil {
		t.Errorf("CheckRemoteUsers: %v", err)
	}
	if err := CheckRemoteUsers([]string{"nms/" + sha256Key + "/-/auth/-", "x/y"}); err == nil ||
		!strings.Contains(err.Error(), `remoteusers: user "nms" has model auth but no engine ID`) || !strings.Contains(err.Error(), `remoteusers: entry "x/<set>" has 2 parts`) || strings.Contains(err.Error(), sha256Key) {
		t.Errorf("CheckRemoteUsers of bad entries: %v", err)
	}
}

// TestRemoteUsersNeverPrinted: remoteusers prints with its keys masked
// (the engine ID shown), in the audit trail too.
func TestRemoteUsersNeverPrinted(t *testing.T) {
	old := v3Config()
	old.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/" + sha256Key + "/priv/80001f880401020304", "open/-/-/none/-"}
	if got, want := old.RemoteUsers.String(), "nms/<set>/<set>/priv/80001f880401020304,open/-/-/none/-"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := MaskRemoteUser("nms/" + sha256Key + "/priv/80001f880401020304"); got != "nms/<set>" {
		t.Errorf("MaskRemoteUser of a bad entry = %q", got)
	}
	next := old.Clone()
	next.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/-/auth/80001f880401020304"}
	entries := audit.Changes(old, next)
	if len(entries) != 1 || entries[0].Setting != "remoteusers" {
		t.Fatalf("audit entries %+v", entries)
	}
	if e := entries[0]; strings.Contains(e.Old+e.New+e.Detail, sha256Key) {
		t.Errorf("audit entry shows a key: %+v", e)
	}
}

// TestUsersNeverPrinted: the users setting prints with its keys masked,
// in the audit trail's entries too.
func TestUsersNeverPrinted(t *testing.T) {
	old := v3Config()
	if got, want := old.Users.String(), "ops/<set>/<set>/priv,mon/<set>/-/auth,anon/-/-/none"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := MaskUser("ops/" + sha1Key + "/priv"); got != "ops/<set>" {
		t.Errorf("MaskUser of a bad entry = %q", got)
	}
	next := old.Clone()
	next.Users = Users{"ops/" + sha256Key + "/-/auth"}
	entries := audit.Changes(old, next)
	if len(entries) != 1 || entries[0].Setting != "users" {
		t.Fatalf("audit entries %+v", entries)
	}
	for _, e := range entries {
		if strings.Contains(e.Old+e.New, sha256Key) {
			t.Errorf("audit entry shows a key: %+v", e)
		}
	}
	// A key rotated alone prints the same, and is still a change.
	rotated := old.Clone()
	rotated.Users = slices.Clone(old.Users)
	if u, err := rotateKey(rotated.Users[0]); err == nil {
		rotated.Users[0] = u
	} else {
		t.Fatal(err)
	}
	entries = audit.Changes(old, rotated)
	if len(entries) != 1 || entries[0].Setting != "users" || entries[0].Old != entries[0].New || entries[0].Detail != "secret values changed (not shown)" {
		t.Errorf("a rotated key: audit entries %+v", entries)
	}
	if len(audit.Changes(old, old.Clone())) != 0 {
		t.Error("an unchanged users setting is audited")
	}
}

// rotateKey changes the last hex digit of the auth key of a
// name/authhash/privhash/model entry.
func rotateKey(u string) (string, error) {
	parts := strings.Split(u, "/")
	if len(parts) != 4 || len(parts[1]) < 2 {
		return "", fmt.Errorf("not a keyed user: %q", u)
	}
	k := []byte(parts[1])
	if k[len(k)-1] == '0' {
		k[len(k)-1] = '1'
	} else {
		k[len(k)-1] = '0'
	}
	parts[1] = string(k)
	return strings.Join(parts, "/"), nil
}

func TestNormalizeV3(t *testing.T) {
	c := v3Config()
	c.Authentication, c.Privacy, c.EngineID = "sha-256", "aes", "0x80:00:7E:D9:05:a1:b2:c3:d4:e5:f6:07:18"
	c.RemoteUsers = RemoteUsers{"nms/-/-/none/0x80:00:1F:88:80:A1:B2:C3:D4"}
	c.Normalize()
	if c.Authentication != "SHA256" || c.Privacy != "AES128" || c.EngineID != "80007ed905a1b2c3d4e5f60718" || c.V3Targets[0] != "192.0.2.1@162/ops/priv/trap" {
		t.Errorf("normalized %q %q %q %q", c.Authentication, c.Privacy, c.EngineID, c.V3Targets)
	}
	if c.RemoteUsers[0] != "nms/-/-/none/80001f8880a1b2c3d4" {
		t.Errorf("normalized remote user %q", c.RemoteUsers[0])
	}
}

func TestCheckKeysKept(t *testing.T) {
	old := v3Config()
	a, b := []byte{0x80, 0, 0x7e, 0xd9, 5, 1}, []byte{0x80, 0, 0x7e, 0xd9, 5, 2}
	if err := CheckKeysKept(old, old, a, a); err != nil {
		t.Errorf("no change: %v", err)
	}
	err := CheckKeysKept(old, old, a, b)
	if err == nil || !strings.Contains(err.Error(), "users: changing engineid invalidates the keys of user(s) ops, mon") {
		t.Errorf("engine change: %v", err)
	}
	next := old.Clone()
	next.Authentication = "SHA1"
	if err := CheckKeysKept(old, next, a, a); err == nil || !strings.Contains(err.Error(), "changing authentication") {
		t.Errorf("authentication change: %v", err)
	}
	next.Users = Users{"anon/-/-/none"} // users given again: no keys kept
	if err := CheckKeysKept(old, next, a, b); err != nil {
		t.Errorf("users replaced: %v", err)
	}
	// Remote users: our engine ID is not theirs; the hash is.
	old.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/-/auth/80001f880401020304", "open/-/-/none/-"}
	old.Users = Users{"anon/-/-/none"}
	if err := CheckKeysKept(old, old, a, b); err != nil {
		t.Errorf("engine change with remote users: %v", err)
	}
	next = old.Clone()
	next.Authentication = "SHA1"
	if err := CheckKeysKept(old, next, a, a); err == nil || !strings.Contains(err.Error(), "remoteusers: changing authentication invalidates the keys of remote user(s) nms,") {
		t.Errorf("authentication change with remote users: %v", err)
	}
	old = v3Config()
	next = old.Clone()
	next.Privacy = "AES256" // a privacy key does not depend on the cipher
	if err := CheckKeysKept(old, next, a, a); err != nil {
		t.Errorf("privacy change: %v", err)
	}
}

// TestV3RoundTrip: the SNMPv3 settings survive snmp.toml, as the daemon
// saves and loads it.
func TestV3RoundTrip(t *testing.T) {
	c := v3Config()
	c.EngineID = "80007ed905a1b2c3d4e5f60718"
	c.RemoteUsers = RemoteUsers{"nms/" + sha256Key + "/-/auth/80001f880401020304"}
	c.V3Targets[2] = "192.0.2.9@162/nms/auth/inform"
	path := filepath.Join(t.TempDir(), "snmp.toml")
	if err := configstore.Save(path, c, 0o600, "test"); err != nil {
		t.Fatal(err)
	}
	got := DefaultConfig()
	if _, err := configstore.Load(path, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("loaded\n%+v\nwant\n%+v", got, c)
	}
}
