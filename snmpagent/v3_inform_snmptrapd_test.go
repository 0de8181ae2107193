package snmpagent_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
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
// sets (snmptrapd.conf's engineID, peertest.SnmptrapdOptions.EngineID) so
// that it knows it.

// remoteEntry is the remoteusers entry of u for a receiver of engine ID
// engineID; "-" as the engine ID for a noAuthNoPriv user.
func (u v3User) remoteEntry(t *testing.T, engineID []byte, a usm.AuthProtocol) string {
	t.Helper()
	if u.level == usm.NoAuthNoPriv {
		return u.name + "/-/-/none/-"
	}
	return u.entry(t, engineID, a) + "/" + hex.EncodeToString(engineID)
}

func newV3Agent(t *testing.T, stateDir string) *snmpagent.Agent {
	t.Helper()
	engineID, clock := newEngine(t)
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

// startV3Agent starts newV3Agent(t, stateDir) on cfg (it sends its
// coldStart) and closes it at the end of the test.
func startV3Agent(t *testing.T, stateDir string, cfg snmpconfig.Config) *snmpagent.Agent {
	t.Helper()
	a := newV3Agent(t, stateDir)
	p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Apply(p) // coldStart
	t.Cleanup(func() { closeAgent(a, 5*time.Second) })
	return a
}

func closeAgent(a *snmpagent.Agent, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	a.Close(ctx)
}

// informNames are the snmpTrapOIDs of the informs snmptrapd logged from user.
func informNames(d *peertest.Snmptrapd, user string) []string {
	var names []string
	for _, r := range d.UserTraps(user) {
		if r.PDU == "INFORM" && r.TrapOID != "" {
			names = append(names, r.TrapOID)
		}
	}
	return names
}

// wantInforms waits up to timeout until snmptrapd has logged as many informs
// from user as want has, and checks their snmpTrapOIDs, in any order (a
// retry may overtake).
func wantInforms(t *testing.T, d *peertest.Snmptrapd, user string, timeout time.Duration, want ...string) {
	t.Helper()
	var names []string
	if !peertest.Until(timeout, func() bool { names = informNames(d, user); return len(names) >= len(want) }) {
		t.Fatalf("snmptrapd logged informs %q from %s, want %q", names, user, want)
	}
	slices.Sort(names)
	if want = slices.Sorted(slices.Values(want)); !slices.Equal(names, want) {
		t.Errorf("informs %q from %s, want %q", names, user, want)
	}
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
			receiverText := fmt.Sprintf("receiver-%d", tc.level)
			receiverID := peertest.TextEngineID(receiverText)
			good := v3User{name: "ops", level: tc.level}
			users := []v3User{good}
			if tc.level > usm.NoAuthNoPriv {
				users = append(users, v3User{name: "intruder", level: tc.level, wrongKey: true}, v3User{name: "elsewhere", level: tc.level})
			}
			opts := peertest.SnmptrapdOptions{EngineID: receiverText}
			for _, u := range users {
				opts.Users = append(opts.Users, u.trapdUser(nil, tc.auth, tc.priv))
			}
			d := peertest.StartSnmptrapd(t, opts)

			cfg := config()
			cfg.Authentication, cfg.Privacy = tc.auth.String(), tc.priv.String()
			for _, u := range users {
				entry := u.remoteEntry(t, receiverID, tc.auth)
				if u.name == "elsewhere" { // right keys, for another engine
					other, _ := usm.NewEngineID()
					entry = u.remoteEntry(t, other, tc.auth)
				}
				cfg.RemoteUsers = append(cfg.RemoteUsers, entry)
				cfg.V3Targets = append(cfg.V3Targets, fmt.Sprintf("127.0.0.1@%d/%s/%s/inform", d.Port(), u.name, tc.level))
			}
			cfg.InformTimeout = configstore.Duration(time.Second)
			cfg.InformRetries = 2
			a := startV3Agent(t, "", cfg)
			res, err := a.Test(context.Background()) // warmStart
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(users) {
				t.Fatalf("test results %+v, want one per target", res)
			}
			for i, r := range res {
				want := fmt.Sprintf("127.0.0.1@%d/%s/%s/inform", d.Port(), users[i].name, tc.level)
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
			wantInforms(t, d, "ops", 15*time.Second, "SNMPv2-MIB::coldStart", "SNMPv2-MIB::warmStart", "VMWARE-VMINFO-MIB::vmwVmPoweredOn")
			for _, r := range d.UserTraps("ops") {
				if r.TrapOID == "VMWARE-VMINFO-MIB::vmwVmPoweredOn" && !strings.Contains(varbinds(r), "VMWARE-VMINFO-MIB::vmwVmDisplayName.7 STRING web 01\n") {
					t.Errorf("vmwVmPoweredOn varbinds %q", varbinds(r))
				}
			}
			for _, u := range []string{"intruder", "elsewhere"} {
				if bad := d.UserTraps(u); len(bad) != 0 {
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
	receiverID := peertest.TextEngineID("restart-receiver")
	u := v3User{name: "ops", level: usm.AuthPriv}
	port := closedPort(t)
	cfg := config()
	cfg.Authentication, cfg.Privacy = "SHA256", "AES128"
	cfg.RemoteUsers = snmpconfig.RemoteUsers{u.remoteEntry(t, receiverID, usm.AuthSHA256)}
	cfg.V3Targets = []string{fmt.Sprintf("127.0.0.1@%d/ops/priv/inform", port)}
	cfg.InformTimeout = configstore.Duration(time.Second)
	cfg.InformRetries = 10
	state := t.TempDir()

	// Closed by the test, while its informs are unacknowledged.
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

	d := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{
		EngineID: "restart-receiver", Port: port,
		Users: []peertest.USMUser{u.trapdUser(nil, usm.AuthSHA256, usm.PrivAES128)},
	})
	second := startV3Agent(t, state, cfg) // its own coldStart
	// The two of the first run and the second's coldStart.
	wantInforms(t, d, "ops", 20*time.Second, "SNMPv2-MIB::coldStart", "SNMPv2-MIB::coldStart", "VMWARE-VMINFO-MIB::vmwVmPoweredOn")
	peertest.Eventually(t, 10*time.Second, "the three informs acknowledged", func() bool { return second.Stats()[0].Acknowledged == 3 })
}

// TestV3InformsAfterReceiverRestart: once snmptrapd restarts (engine boots
// incremented, engine time from 0), the agent's next inform, stamped with
// the old boots, gets a signed usmStatsNotInTimeWindows; the agent takes
// the receiver's new clock from it and sends the inform again, which is
// acknowledged.
func TestV3InformsAfterReceiverRestart(t *testing.T) {
	receiverID := peertest.TextEngineID("restarting")
	u := v3User{name: "ops", level: usm.AuthNoPriv}
	// Its Dir given: the second snmptrapd started there is this one restarted.
	opts := peertest.SnmptrapdOptions{
		EngineID: "restarting", Dir: t.TempDir(),
		Users: []peertest.USMUser{u.trapdUser(nil, usm.AuthSHA1, usm.PrivNone)},
	}
	d := peertest.StartSnmptrapd(t, opts)
	cfg := config()
	cfg.Authentication = "SHA1"
	cfg.RemoteUsers = snmpconfig.RemoteUsers{u.remoteEntry(t, receiverID, usm.AuthSHA1)}
	cfg.V3Targets = []string{fmt.Sprintf("127.0.0.1@%d/ops/auth/inform", d.Port())}
	cfg.InformTimeout = configstore.Duration(time.Second)
	cfg.InformRetries = 1
	a := startV3Agent(t, "", cfg)
	peertest.Eventually(t, 10*time.Second, "coldStart acknowledged", func() bool { return a.Stats()[0].Acknowledged == 1 })

	d.Stop()
	opts.Port = d.Port()
	d = peertest.StartSnmptrapd(t, opts)
	res, err := a.Test(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Result != "acknowledged" {
		t.Fatalf("test after the receiver's restart: %+v, want acknowledged", res)
	}
	wantInforms(t, d, "ops", 10*time.Second, "SNMPv2-MIB::warmStart") // once
	if st := a.Stats()[0]; st.Acknowledged != 2 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}
