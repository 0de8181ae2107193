package snmpagent_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// These tests run the agent with v3targets against net-snmp's snmptrapd,
// whose users are made by createUser -e <our engine ID> from passwords
// (peertest.USMUser): the keys the agent is configured with come from the
// same passwords by usm.LocalizedKeys, as vicfg-snmp --hash computes them.

// v3User is a USM user as both sides are configured: snmptrapd with
// passwords, the agent with the keys localized from them (from a wrong
// password when wrongKey is set).
type v3User struct {
	name     string
	level    usm.Level
	wrongKey bool
}

// trapdUser is u as snmptrapd's user, made from the passwords entry
// localizes: to engineID (createUser -e, the agent's engine, for traps), or
// by snmptrapd to its own engine when engineID is nil (informs).
func (u v3User) trapdUser(engineID []byte, a usm.AuthProtocol, p usm.PrivProtocol) peertest.USMUser {
	tu := peertest.USMUser{Name: u.name, EngineID: engineID}
	if u.level >= usm.AuthNoPriv {
		tu.Auth, tu.AuthPass = a.String(), "auth-"+u.name
	}
	if u.level == usm.AuthPriv {
		tu.Priv, tu.PrivPass = p.String(), "priv-"+u.name
	}
	return tu
}

// newEngine is the agent's SNMP engine: a new engine ID and a clock whose
// state is kept in a temp dir.
func newEngine(t *testing.T) ([]byte, *usm.Clock) {
	t.Helper()
	engineID, err := usm.NewEngineID()
	if err != nil {
		t.Fatal(err)
	}
	clock, err := usm.StartClock(filepath.Join(t.TempDir(), "snmp-engine.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return engineID, clock
}

// entry is the users entry of u, with hashes as vicfg-snmp --hash prints them.
func (u v3User) entry(t *testing.T, engineID []byte, a usm.AuthProtocol) string {
	t.Helper()
	if u.level == usm.NoAuthNoPriv {
		return u.name + "/-/-/none"
	}
	authPass, privPass := "auth-"+u.name, []byte("priv-"+u.name)
	if u.wrongKey {
		authPass, privPass = "not-the-password", []byte("not-the-password")
	}
	if u.level == usm.AuthNoPriv {
		privPass = nil
	}
	ak, pk, err := usm.LocalizedKeys(a, []byte(authPass), privPass, engineID)
	if err != nil {
		t.Fatal(err)
	}
	privHash := "-"
	if pk != nil {
		privHash = hex.EncodeToString(pk)
	}
	return u.name + "/" + hex.EncodeToString(ak) + "/" + privHash + "/" + u.level.String()
}

// combination is one authentication × privacy choice of a test.
type combination struct {
	name  string
	auth  usm.AuthProtocol
	priv  usm.PrivProtocol
	level usm.Level
}

// combinations is every authentication × privacy combination net-snmp
// has, after no security (named none).
func combinations(none string) []combination {
	cs := []combination{{none, usm.AuthNone, usm.PrivNone, usm.NoAuthNoPriv}}
	for a := usm.AuthSHA1; a <= usm.AuthSHA512; a++ {
		for p := usm.PrivNone; p <= usm.PrivAES256; p++ {
			c := combination{"authPriv " + a.String() + " " + p.String(), a, p, usm.AuthPriv}
			if p == usm.PrivNone {
				c.name, c.level = "authNoPriv "+a.String(), usm.AuthNoPriv
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// TestSnmptrapdDecodesV3Traps: for every authentication × privacy
// combination net-snmp has, and no security, the agent's v3 targets get coldStart at the start, the test
// notification, and a notification with varbinds, each decoded by name by
// snmptrapd from the right user; a user whose key was made from a wrong
// password gets nothing accepted, and the agent counts it as sent (a trap
// has no answer). A v2c target beside them is untouched.
func TestSnmptrapdDecodesV3Traps(t *testing.T) {
	for _, tc := range combinations("noAuthNoPriv") {
		t.Run(tc.name, func(t *testing.T) {
			engineID, clock := newEngine(t)
			good := v3User{name: "ops", level: tc.level}
			users := []v3User{good}
			if tc.level > usm.NoAuthNoPriv {
				users = append(users, v3User{name: "intruder", level: tc.level, wrongKey: true})
			}
			opts := peertest.SnmptrapdOptions{Communities: []string{"probe"}}
			for _, u := range users {
				opts.Users = append(opts.Users, u.trapdUser(engineID, tc.auth, tc.priv))
			}
			d := peertest.StartSnmptrapd(t, opts)

			cfg := config(fmt.Sprintf("127.0.0.1@%d/probe", d.Port()))
			cfg.Authentication, cfg.Privacy = tc.auth.String(), tc.priv.String()
			for _, u := range users {
				cfg.Users = append(cfg.Users, u.entry(t, engineID, tc.auth))
				cfg.V3Targets = append(cfg.V3Targets, fmt.Sprintf("127.0.0.1@%d/%s/%s/trap", d.Port(), u.name, tc.level))
			}
			a := snmpagent.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
			a.SetEngine(engineID, clock)
			p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
			if err != nil {
				t.Fatal(err)
			}
			a.Apply(p) // coldStart
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				a.Close(ctx)
			})
			res, err := a.Test(context.Background()) // warmStart
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(users)+1 {
				t.Fatalf("test results %+v, want one per target", res)
			}
			for i, r := range res[1:] {
				want := fmt.Sprintf("127.0.0.1@%d/%s/%s/trap", d.Port(), users[i].name, tc.level)
				if r.Target != want || r.Kind != "v3 trap" || r.Result != "sent" {
					t.Errorf("test result %+v, want %s (v3 trap) sent", r, want)
				}
			}
			// Once Test returned, both v3 senders have written coldStart
			// and warmStart: snmptrapd reads them before this one.
			on := mibs.VmwVmPoweredOn.MustNew(mibs.Int(7), mibs.String("/etc/libvirt/qemu/web 01.xml"), mibs.String("web 01").At(7))
			if err := a.Notify(context.Background(), on); err != nil {
				t.Fatal(err)
			}
			recs := d.WaitUserTraps(t, "ops", 3, 15*time.Second)
			for i, name := range []string{"SNMPv2-MIB::coldStart", "SNMPv2-MIB::warmStart", "VMWARE-VMINFO-MIB::vmwVmPoweredOn"} {
				if r := recs[i]; r.PDU != "TRAP2" || r.TrapOID != name {
					t.Errorf("notification %d: %s, want a TRAP2 %s from ops", i, r.Raw, name)
				}
			}
			wantVBs := "VMWARE-VMINFO-MIB::vmwVmID.0 INTEGER 7\n" +
				"VMWARE-VMINFO-MIB::vmwVmConfigFilePath.0 STRING /etc/libvirt/qemu/web 01.xml\n" +
				"VMWARE-VMINFO-MIB::vmwVmDisplayName.7 STRING web 01\n"
			if got := varbinds(recs[2]); got != wantVBs {
				t.Errorf("vmwVmPoweredOn varbinds:\n%s\nwant:\n%s", got, wantVBs)
			}
			if bad := d.UserTraps("intruder"); len(bad) != 0 {
				t.Errorf("snmptrapd accepted %d notifications keyed with a wrong password: %+v", len(bad), bad)
			}
			stats := a.Stats()
			for _, s := range stats[1:] {
				if s.Kind != "v3 trap" || s.Sent < 2 || s.Failed != 0 || s.Dropped != 0 {
					t.Errorf("stats %+v, want a v3 trap target with its notifications sent", s)
				}
				if strings.Contains(s.Target, "/") && strings.Count(s.Target, "/") != 3 {
					t.Errorf("stats target %q is not host@port/user/level/trap", s.Target)
				}
			}
		})
	}
}

// TestV3TargetNeedsEngine: without SetEngine (no state directory), v3
// targets are refused with a message saying why, and a configuration
// without them is unaffected.
func TestV3TargetNeedsEngine(t *testing.T) {
	a := snmpagent.New(slog.New(slog.DiscardHandler))
	cfg := config()
	cfg.Users = snmpconfig.Users{"ops/-/-/none"}
	cfg.V3Targets = []string{"127.0.0.1@162/ops/none/trap"}
	if _, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil)); err == nil || !strings.Contains(err.Error(), "v3targets: SNMPv3 needs the daemon's SNMP engine") {
		t.Errorf("Prepare without an engine: %v", err)
	}
	cfg.V3Targets = nil
	p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	p.Discard()
}

// TestEngineChangeKeepingKeysRefused: changing the engine ID while keeping
// users with keys is refused (their keys were made for the old one), and
// accepted when the users are given again.
func TestEngineChangeKeepingKeysRefused(t *testing.T) {
	engineID, _ := usm.NewEngineID()
	clock, err := usm.StartClock(filepath.Join(t.TempDir(), "snmp-engine.toml"))
	if err != nil {
		t.Fatal(err)
	}
	a := snmpagent.New(slog.New(slog.DiscardHandler))
	a.SetEngine(engineID, clock)
	ak, _, err := usm.LocalizedKeys(usm.AuthSHA256, []byte("auth-password"), nil, engineID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := snmpconfig.DefaultConfig()
	cfg.Authentication = "SHA256"
	cfg.Users = snmpconfig.Users{"ops/" + hex.EncodeToString(ak) + "/-/auth"}
	p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Apply(p)
	if !bytes.Equal(a.EngineID(), engineID) {
		t.Errorf("engine ID in force %x, want the generated %x", a.EngineID(), engineID)
	}
	next := cfg.Clone()
	next.EngineID = "80007ed905a1b2c3d4e5f60718"
	_, err = a.Prepare(context.Background(), next, resolve.NewResolver(nil))
	if err == nil || !strings.Contains(err.Error(), "users: changing engineid invalidates the keys of user(s) ops") {
		t.Fatalf("engine ID change keeping the keys: %v", err)
	}
	newID, _ := usm.ParseEngineID(next.EngineID)
	ak2, _, _ := usm.LocalizedKeys(usm.AuthSHA256, []byte("auth-password"), nil, newID)
	next.Users = snmpconfig.Users{"ops/" + hex.EncodeToString(ak2) + "/-/auth"}
	p, err = a.Prepare(context.Background(), next, resolve.NewResolver(nil))
	if err != nil {
		t.Fatalf("engine ID change with the users given again: %v", err)
	}
	a.Apply(p)
	if !bytes.Equal(a.EngineID(), newID) {
		t.Errorf("engine ID in force %x, want the configured %x", a.EngineID(), newID)
	}
}
