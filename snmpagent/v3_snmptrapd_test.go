package snmpagent_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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
// whose users are made by createUser -e <our engine ID> from passwords:
// the keys the agent is configured with come from the same passwords by
// usm.LocalizedKeys, as vicfg-snmp --hash computes them.

// v3trapd is snmptrapd with USM users, printing one line per notification.
type v3trapd struct {
	port int
	mu   sync.Mutex
	out  bytes.Buffer
	stop func() // ends snmptrapd as a service stop does (SIGTERM): it saves its state
}

func (d *v3trapd) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

func (d *v3trapd) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// v3Record is one notification: %P (PDU, version, user) and %v's varbinds.
type v3Record struct {
	header   string
	varbinds []string
}

// byUser returns the notifications snmptrapd accepted from user.
func (d *v3trapd) byUser(user string) []v3Record {
	var out []v3Record
	for _, line := range strings.Split(d.output(), "\n") {
		rest, ok := strings.CutPrefix(line, "V3REC ")
		if !ok {
			continue
		}
		f := strings.Split(rest, "\t")
		if strings.Contains(f[0], "SNMP v3, user "+user+",") {
			out = append(out, v3Record{header: f[0], varbinds: f[1:]})
		}
	}
	return out
}

func (d *v3trapd) waitUser(t *testing.T, user string, n int) []v3Record {
	t.Helper()
	var got []v3Record
	if !peertest.Until(15*time.Second, func() bool { got = d.byUser(user); return len(got) >= n }) {
		t.Fatalf("snmptrapd accepted %d notifications from %s, want %d; it wrote:\n%s", len(got), user, n, d.output())
	}
	return got
}

// startV3Trapd runs snmptrapd on a free loopback port with conf (its
// createUser and authUser lines) and the test MIBs; it is ready once it
// logs a v2c probe.
func startV3Trapd(t *testing.T, conf string) *v3trapd {
	t.Helper()
	return startV3TrapdOn(t, conf, 0, nil)
}

// startV3TrapdOn is startV3Trapd on port (0: a free one) and, when
// engineID is set (see receiverEngineID), with that engine ID, set by
// snmptrapd.conf's engineID, so that the test knows the engine the
// receiver's users' keys are localized to.
func startV3TrapdOn(t *testing.T, conf string, port int, engineID []byte) *v3trapd {
	t.Helper()
	return startV3TrapdIn(t, t.TempDir(), conf, port, engineID)
}

// startV3TrapdIn is startV3TrapdOn with its files in dir: a second
// snmptrapd in the same dir is the first one restarted (engine boots
// incremented, engine time from 0).
func startV3TrapdIn(t *testing.T, dir, conf string, port int, engineID []byte) *v3trapd {
	t.Helper()
	bin := peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	mibDir := peertest.MIBDir(t)
	path := filepath.Join(dir, "snmptrapd.conf")
	conf += "authCommunity log probe\nformat2 V3REC %P\\t%v\\n\n"
	if engineID != nil {
		text, ok := bytes.CutPrefix(engineID, textEngineIDPrefix)
		if !ok {
			t.Fatalf("engine ID %x is not of the text format snmptrapd's engineID sets", engineID)
		}
		conf = "engineID " + string(text) + "\n" + conf
	}
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if port == 0 {
		var err error
		if port, err = peertest.FreeUDPPort(); err != nil {
			t.Fatal(err)
		}
	}
	d := &v3trapd{port: port}
	// Its configuration from dir only (SNMPCONFPATH), and not -C -c: -C
	// would skip the persistent file too, where snmptrapd keeps its
	// engineBoots across restarts.
	cmd := exec.Command(bin, "-f", "-Lo", "-n", "-X", "-M", mibDir, "-m", "ALL", fmt.Sprintf("udp:127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=", "MIBDIRS=", "SNMPCONFPATH="+dir+":"+filepath.Join(dir, "persist"))
	cmd.Stdout, cmd.Stderr = d, d
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	d.stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("snmptrapd wrote:\n%s", d.output())
		}
	})
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A v2c coldStart from community probe: SEQUENCE { 1, "probe", Trap-PDU }.
	probe, _ := hex.DecodeString("303f020101040570726f6265a7330201010201000201003028300d06082b060102010103004301003017060a2b06010603010104010006092b0601060301010501")
	ready := peertest.Until(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		if strings.Contains(d.output(), "community probe") {
			return true
		}
		_, _ = conn.Write(probe)
		return false
	})
	if !ready || !strings.Contains(d.output(), "community probe") {
		t.Fatalf("snmptrapd on port %d not ready; it wrote:\n%s", port, d.output())
	}
	return d
}

// textEngineIDPrefix starts the engine ID net-snmp makes of engineID TEXT
// (snmpd.conf(5)): net-snmp's enterprise (8072) with the format bit, then
// format 4, text (RFC 3411 SnmpEngineID).
var textEngineIDPrefix = []byte{0x80, 0x00, 0x1f, 0x88, 0x04}

// receiverEngineID is the engine ID snmptrapd takes from engineID text.
func receiverEngineID(text string) []byte {
	return append(append([]byte(nil), textEngineIDPrefix...), text...)
}

// v3User is a USM user as both sides are configured: snmptrapd with
// passwords, the agent with the keys localized from them (from a wrong
// password when wrongKey is set).
type v3User struct {
	name     string
	level    usm.Level
	wrongKey bool
}

var (
	netsnmpAuth  = map[usm.AuthProtocol]string{usm.AuthSHA1: "SHA", usm.AuthSHA224: "SHA-224", usm.AuthSHA256: "SHA-256", usm.AuthSHA384: "SHA-384", usm.AuthSHA512: "SHA-512"}
	netsnmpPriv  = map[usm.PrivProtocol]string{usm.PrivAES128: "AES", usm.PrivAES192: "AES192", usm.PrivAES256: "AES256"}
	netsnmpLevel = map[usm.Level]string{usm.NoAuthNoPriv: "noauth", usm.AuthNoPriv: "auth", usm.AuthPriv: "priv"}
)

func (u v3User) createUser(engineID []byte, a usm.AuthProtocol, p usm.PrivProtocol) string {
	line := "createUser -e 0x" + hex.EncodeToString(engineID) + " " + u.name
	if u.level >= usm.AuthNoPriv {
		line += " " + netsnmpAuth[a] + " auth-" + u.name
	}
	if u.level == usm.AuthPriv {
		line += " " + netsnmpPriv[p] + " priv-" + u.name
	}
	return line + "\nauthUser log " + u.name + " " + netsnmpLevel[u.level] + "\n"
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
			engineID, err := usm.NewEngineID()
			if err != nil {
				t.Fatal(err)
			}
			clock, err := usm.StartClock(filepath.Join(t.TempDir(), "snmp-engine.toml"))
			if err != nil {
				t.Fatal(err)
			}
			good := v3User{name: "ops", level: tc.level}
			users := []v3User{good}
			if tc.level > usm.NoAuthNoPriv {
				users = append(users, v3User{name: "intruder", level: tc.level, wrongKey: true})
			}
			var conf strings.Builder
			for _, u := range users {
				conf.WriteString(u.createUser(engineID, tc.auth, tc.priv))
			}
			d := startV3Trapd(t, conf.String())

			cfg := config(fmt.Sprintf("127.0.0.1@%d/probe", d.port))
			cfg.Authentication, cfg.Privacy = tc.auth.String(), tc.priv.String()
			for _, u := range users {
				cfg.Users = append(cfg.Users, u.entry(t, engineID, tc.auth))
				cfg.V3Targets = append(cfg.V3Targets, fmt.Sprintf("127.0.0.1@%d/%s/%s/trap", d.port, u.name, tc.level))
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
				want := fmt.Sprintf("127.0.0.1@%d/%s/%s/trap", d.port, users[i].name, tc.level)
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
			recs := d.waitUser(t, "ops", 3)
			for i, name := range []string{"SNMPv2-MIB::coldStart", "SNMPv2-MIB::warmStart", "VMWARE-VMINFO-MIB::vmwVmPoweredOn"} {
				r := recs[i]
				if !strings.HasPrefix(r.header, "TRAP2, SNMP v3, user ops,") || len(r.varbinds) < 2 || r.varbinds[1] != "SNMPv2-MIB::snmpTrapOID.0 = OID: "+name {
					t.Errorf("notification %d: %q %q, want a TRAP2 %s from ops", i, r.header, r.varbinds, name)
				}
			}
			wantVBs := []string{
				"VMWARE-VMINFO-MIB::vmwVmID.0 = INTEGER: 7",
				"VMWARE-VMINFO-MIB::vmwVmConfigFilePath.0 = STRING: /etc/libvirt/qemu/web 01.xml",
				"VMWARE-VMINFO-MIB::vmwVmDisplayName.7 = STRING: web 01",
			}
			if got := recs[2].varbinds[2:]; strings.Join(got, "\n") != strings.Join(wantVBs, "\n") {
				t.Errorf("vmwVmPoweredOn varbinds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantVBs, "\n"))
			}
			if bad := d.byUser("intruder"); len(bad) != 0 {
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
