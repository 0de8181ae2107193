package snmpagent_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hostagent/internal/configstore"
	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// These tests send SNMPv3 informs from the agent to net-snmp's snmptrapd,
// the authoritative engine of the informs it receives: its users are made
// by createUser without -e (localized to its own engine ID), and the agent's
// remoteusers carry the keys localized to that engine ID, which the test
// sets (oldEngineID) so that it knows it.

// remoteEntry is the remoteusers entry of u for a receiver of engine ID
// engineID; "-" as the engine ID for a noAuthNoPriv user.
func (u v3User) remoteEntry(t *testing.T, engineID []byte, a usm.AuthProtocol) string {
	t.Helper()
	if u.level == usm.NoAuthNoPriv {
		return u.name + "/-/-/none/-"
	}
	return u.entry(t, engineID, a) + "/" + hex.EncodeToString(engineID)
}

// receiverUser is the snmptrapd.conf of u, localized by snmptrapd to its
// own engine ID.
func (u v3User) receiverUser(a usm.AuthProtocol, p usm.PrivProtocol) string {
	line := "createUser " + u.name
	if u.level >= usm.AuthNoPriv {
		line += " " + netsnmpAuth[a] + " auth-" + u.name
	}
	if u.level == usm.AuthPriv {
		line += " " + netsnmpPriv[p] + " priv-" + u.name
	}
	return line + "\nauthUser log " + u.name + " " + netsnmpLevel[u.level] + "\n"
}

func newV3Agent(t *testing.T, stateDir string) *snmpagent.Agent {
	t.Helper()
	engineID, err := usm.NewEngineID()
	if err != nil {
		t.Fatal(err)
	}
	clock, err := usm.StartClock(filepath.Join(t.TempDir(), "snmp-engine.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	a := snmpagent.New(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
	a.SetEngine(engineID, clock)
	if stateDir != "" {
		a.SetStateDir(stateDir)
	}
	return a
}

func closeAgent(a *snmpagent.Agent, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	a.Close(ctx)
}

// informNames are the snmpTrapOIDs of the informs snmptrapd logged from user.
func informNames(d *v3trapd, user string) []string {
	var names []string
	for _, r := range d.byUser(user) {
		if strings.HasPrefix(r.header, "INFORM, SNMP v3, user "+user+",") && len(r.varbinds) > 1 {
			names = append(names, strings.TrimPrefix(r.varbinds[1], "SNMPv2-MIB::snmpTrapOID.0 = OID: "))
		}
	}
	return names
}

// TestSnmptrapdAcknowledgesV3Informs: v3targets .../inform are delivered to
// snmptrapd after engine discovery, acknowledged (Test says so, the
// counters too) and logged with their varbinds; a remote user whose key was
// made from a wrong password fails with the receiver's reason
// (usmStatsWrongDigests), and one given another engine ID than the
// receiver's fails saying so.
func TestSnmptrapdAcknowledgesV3Informs(t *testing.T) {
	// The noAuthNoPriv user's engine is discovered.
	for _, tc := range combinations("noAuthNoPriv discovered engine") {
		t.Run(tc.name, func(t *testing.T) {
			receiverID := receiverEngineID(fmt.Sprintf("receiver-%d", tc.level))
			good := v3User{name: "ops", level: tc.level}
			users := []v3User{good}
			if tc.level > usm.NoAuthNoPriv {
				users = append(users, v3User{name: "intruder", level: tc.level, wrongKey: true}, v3User{name: "elsewhere", level: tc.level})
			}
			var conf strings.Builder
			for _, u := range users {
				conf.WriteString(u.receiverUser(tc.auth, tc.priv))
			}
			d := startV3TrapdOn(t, conf.String(), 0, receiverID)

			cfg := config()
			cfg.Authentication, cfg.Privacy = tc.auth.String(), tc.priv.String()
			for _, u := range users {
				entry := u.remoteEntry(t, receiverID, tc.auth)
				if u.name == "elsewhere" { // right keys, for another engine
					other, _ := usm.NewEngineID()
					entry = u.remoteEntry(t, other, tc.auth)
				}
				cfg.RemoteUsers = append(cfg.RemoteUsers, entry)
				cfg.V3Targets = append(cfg.V3Targets, fmt.Sprintf("127.0.0.1@%d/%s/%s/inform", d.port, u.name, tc.level))
			}
			cfg.InformTimeout = configstore.Duration(time.Second)
			cfg.InformRetries = 2
			a := newV3Agent(t, "")
			p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
			if err != nil {
				t.Fatal(err)
			}
			a.Apply(p) // coldStart
			t.Cleanup(func() { closeAgent(a, 5*time.Second) })
			res, err := a.Test(context.Background()) // warmStart
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(users) {
				t.Fatalf("test results %+v, want one per target", res)
			}
			for i, r := range res {
				want := fmt.Sprintf("127.0.0.1@%d/%s/%s/inform", d.port, users[i].name, tc.level)
				if r.Target != want || r.Kind != "v3 inform" {
					t.Errorf("test result %+v, want target %s (v3 inform)", r, want)
				}
				switch users[i].name {
				case "ops":
					if r.Result != "acknowledged" {
						t.Errorf("test result %+v, want acknowledged", r)
					}
				case "intruder":
					if r.Result != "failed" || !strings.Contains(r.Reason, "usmStatsWrongDigests") {
						t.Errorf("test result %+v, want failed with usmStatsWrongDigests", r)
					}
				case "elsewhere":
					if r.Result != "failed" || !strings.Contains(r.Reason, "the receiver's engine ID is "+hex.EncodeToString(receiverID)) {
						t.Errorf("test result %+v, want failed naming the receiver's engine ID", r)
					}
				}
			}
			on := mibs.VmwVmPoweredOn.MustNew(mibs.Int(7), mibs.String("/etc/libvirt/qemu/web 01.xml"), mibs.String("web 01").At(7))
			if err := a.Notify(context.Background(), on); err != nil {
				t.Fatal(err)
			}
			var names []string
			if !peertest.Until(15*time.Second, func() bool { names = informNames(d, "ops"); return len(names) >= 3 }) {
				t.Fatalf("snmptrapd logged informs %q from ops, want coldStart, warmStart and vmwVmPoweredOn", names)
			}
			slices.Sort(names)
			if want := []string{"SNMPv2-MIB::coldStart", "SNMPv2-MIB::warmStart", "VMWARE-VMINFO-MIB::vmwVmPoweredOn"}; !slices.Equal(names, want) {
				t.Errorf("informs %q, want %q", names, want)
			}
			for _, r := range d.byUser("ops") {
				if strings.Contains(r.varbinds[1], "vmwVmPoweredOn") && !slices.Contains(r.varbinds, "VMWARE-VMINFO-MIB::vmwVmDisplayName.7 = STRING: web 01") {
					t.Errorf("vmwVmPoweredOn varbinds %q", r.varbinds)
				}
			}
			for _, u := range []string{"intruder", "elsewhere"} {
				if bad := d.byUser(u); len(bad) != 0 {
					t.Errorf("snmptrapd accepted %d informs from %s: %+v", len(bad), u, bad)
				}
			}
			var st snmpconfig.TargetStats
			peertest.Eventually(t, 15*time.Second, "the counters of ops", func() bool {
				st = a.Stats()[0]
				return st.Acknowledged == 3
			})
			if st.Kind != "v3 inform" || st.Failed != 0 || st.Dropped != 0 {
				t.Errorf("stats of ops %+v", st)
			}
			if tc.level > usm.NoAuthNoPriv {
				peertest.Eventually(t, 15*time.Second, "intruder's and elsewhere's informs counted as failed", func() bool {
					s := a.Stats()
					return s[1].Failed == 3 && s[2].Failed == 3 && s[1].Acknowledged == 0 && s[2].Acknowledged == 0
				})
			}
		})
	}
}

// TestV3InformsPendingAcrossRestart: informs to a receiver that is down
// stay pending when the agent stops; a new agent on the same state
// directory sends them, wrapped anew after discovering the receiver (now
// up), and snmptrapd acknowledges them.
func TestV3InformsPendingAcrossRestart(t *testing.T) {
	receiverID := receiverEngineID("restart-receiver")
	u := v3User{name: "ops", level: usm.AuthPriv}
	port := closedPort(t)
	cfg := config()
	cfg.Authentication, cfg.Privacy = "SHA256", "AES128"
	cfg.RemoteUsers = snmpconfig.RemoteUsers{u.remoteEntry(t, receiverID, usm.AuthSHA256)}
	cfg.V3Targets = []string{fmt.Sprintf("127.0.0.1@%d/ops/priv/inform", port)}
	cfg.InformTimeout = configstore.Duration(time.Second)
	cfg.InformRetries = 10
	state := t.TempDir()

	first := newV3Agent(t, state)
	p, err := first.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	first.Apply(p) // coldStart
	on := mibs.VmwVmPoweredOn.MustNew(mibs.Int(7), mibs.String("/etc/libvirt/qemu/web 01.xml"), mibs.String("web 01").At(7))
	if err := first.Notify(context.Background(), on); err != nil {
		t.Fatal(err)
	}
	peertest.Eventually(t, 10*time.Second, "both informs taken by the sender", func() bool { return first.Stats()[0].Sent == 2 })
	closeAgent(first, 50*time.Millisecond)
	if s := first.Stats(); len(s) != 0 && (s[0].Acknowledged != 0 || s[0].Failed != 0) {
		t.Fatalf("first agent's counters %+v: the informs were neither acknowledged nor failed", s)
	}

	d := startV3TrapdOn(t, u.receiverUser(usm.AuthSHA256, usm.PrivAES128), port, receiverID)
	second := newV3Agent(t, state)
	p, err = second.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	second.Apply(p) // its own coldStart
	t.Cleanup(func() { closeAgent(second, 5*time.Second) })
	var names []string
	if !peertest.Until(20*time.Second, func() bool { names = informNames(d, "ops"); return len(names) >= 3 }) {
		t.Fatalf("snmptrapd logged informs %q, want the two of the first run and the second's coldStart", names)
	}
	slices.Sort(names)
	if want := []string{"SNMPv2-MIB::coldStart", "SNMPv2-MIB::coldStart", "VMWARE-VMINFO-MIB::vmwVmPoweredOn"}; !slices.Equal(names, want) {
		t.Errorf("informs %q, want %q", names, want)
	}
	peertest.Eventually(t, 10*time.Second, "the three informs acknowledged", func() bool { return second.Stats()[0].Acknowledged == 3 })
}

// TestV3InformsAfterReceiverRestart: once snmptrapd restarts (engine boots
// incremented, engine time from 0), the agent's next inform, stamped with
// the old boots, gets a signed usmStatsNotInTimeWindows; the agent takes
// the receiver's new clock from it and sends the inform again, which is
// acknowledged.
func TestV3InformsAfterReceiverRestart(t *testing.T) {
	receiverID := receiverEngineID("restarting")
	u := v3User{name: "ops", level: usm.AuthNoPriv}
	dir := t.TempDir()
	d := startV3TrapdIn(t, dir, u.receiverUser(usm.AuthSHA1, usm.PrivNone), 0, receiverID)
	cfg := config()
	cfg.Authentication = "SHA1"
	cfg.RemoteUsers = snmpconfig.RemoteUsers{u.remoteEntry(t, receiverID, usm.AuthSHA1)}
	cfg.V3Targets = []string{fmt.Sprintf("127.0.0.1@%d/ops/auth/inform", d.port)}
	cfg.InformTimeout = configstore.Duration(time.Second)
	cfg.InformRetries = 1
	a := newV3Agent(t, "")
	p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Apply(p)
	t.Cleanup(func() { closeAgent(a, 5*time.Second) })
	peertest.Eventually(t, 10*time.Second, "coldStart acknowledged", func() bool { return a.Stats()[0].Acknowledged == 1 })

	d.stop()
	d = startV3TrapdIn(t, dir, u.receiverUser(usm.AuthSHA1, usm.PrivNone), d.port, receiverID)
	res, err := a.Test(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Result != "acknowledged" {
		t.Fatalf("test after the receiver's restart: %+v, want acknowledged", res)
	}
	var names []string
	if !peertest.Until(10*time.Second, func() bool { names = informNames(d, "ops"); return len(names) > 0 }) || !slices.Equal(names, []string{"SNMPv2-MIB::warmStart"}) {
		t.Errorf("the restarted snmptrapd logged %q, want warmStart once", names)
	}
	if st := a.Stats()[0]; st.Acknowledged != 2 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}
