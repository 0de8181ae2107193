package snmpagent_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"hostagent/internal/configstore"
	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// OIDs as pysnmp prints them.
const (
	oidSysUpTime        = "1.3.6.1.2.1.1.3.0"
	oidSnmpTrapOID      = "1.3.6.1.6.3.1.1.4.1.0"
	oidColdStart        = "1.3.6.1.6.3.1.1.5.1"
	oidWarmStart        = "1.3.6.1.6.3.1.1.5.2"
	oidVmwVmPoweredOn   = "1.3.6.1.4.1.6876.4.1.0.1"
	oidVmwVmID          = "1.3.6.1.4.1.6876.50.101.0"
	oidVmwVmConfigFile  = "1.3.6.1.4.1.6876.50.102.0"
	oidVmwVmDisplayName = "1.3.6.1.4.1.6876.2.1.1.2" // column, indexed by vmwVmID
)

// pysnmp's refusals: a wrong digest (usmStatsWrongDigests.0), and the
// notInTimeWindow of the agent's time synchronization probe
// (usmStatsNotInTimeWindows.0), the answer RFC 3414 §4 expects.
var (
	refusedWrongDigest   = peertest.PysnmpRefusal{Reason: "AuthenticationFailure", Counter: "1.3.6.1.6.3.15.1.1.5.0"}
	refusedNotInTimeWind = peertest.PysnmpRefusal{Reason: "NotInTimeWindow", Counter: "1.3.6.1.6.3.15.1.1.2.0"}
)

// TestPysnmpAcknowledgesV3Informs: a second implementation, pysnmp (Debian
// python3-pysnmp4), is the receiver of the agent's SNMPv3 informs at
// authPriv, with SHA-256/AES-128 and with the strongest it has,
// SHA-512/AES-256, and its engine ID in remoteusers with keys localized by
// the agent, while pysnmp localizes its own from the passwords. The agent
// discovers pysnmp's engine (RFC 3414 §4), and its informs (coldStart,
// warmStart from Test, vmwVmPoweredOn) are decoded by pysnmp as
// InformRequestPDUs at authPriv, varbinds checked by OID and value, and
// acknowledged by pysnmp's Response, which the agent takes only
// authenticated and decrypted with the user's keys (Test says
// acknowledged, the counters too). A remote user whose keys come from a
// wrong password gets nothing accepted: pysnmp refuses its messages for a
// wrong digest (usmStatsWrongDigests), and the agent counts its informs
// failed.
func TestPysnmpAcknowledgesV3Informs(t *testing.T) {
	for _, tc := range []struct {
		auth usm.AuthProtocol
		priv usm.PrivProtocol
	}{{usm.AuthSHA256, usm.PrivAES128}, {usm.AuthSHA512, usm.PrivAES256}} {
		t.Run(tc.auth.String()+" "+tc.priv.String(), func(t *testing.T) {
			receiverID, err := usm.NewEngineID()
			if err != nil {
				t.Fatal(err)
			}
			users := []v3User{{name: "ops", level: usm.AuthPriv}, {name: "intruder", level: usm.AuthPriv, wrongKey: true}}
			var pyUsers []peertest.USMUser
			for _, u := range users {
				// pysnmp has the right passwords for both users, keys
				// localized to its own engine.
				pyUsers = append(pyUsers, u.trapdUser(nil, tc.auth, tc.priv))
			}
			r := peertest.StartPysnmp(t, peertest.PysnmpOptions{EngineID: receiverID, Users: pyUsers})

			cfg := config()
			cfg.Authentication, cfg.Privacy = tc.auth.String(), tc.priv.String()
			var targets []string
			for _, u := range users {
				cfg.RemoteUsers = append(cfg.RemoteUsers, u.remoteEntry(t, receiverID, tc.auth))
				targets = append(targets, fmt.Sprintf("127.0.0.1@%d/%s/priv/inform", r.Port(), u.name))
			}
			cfg.V3Targets = targets
			cfg.InformTimeout = configstore.Duration(time.Second)
			cfg.InformRetries = 2
			a := startV3Agent(t, "", cfg)            // coldStart
			res, err := a.Test(context.Background()) // warmStart
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(users) {
				t.Fatalf("test results %+v, want one per target", res)
			}
			for i, r := range res {
				if r.Target != targets[i] || r.Kind != "v3 inform" {
					t.Errorf("test result %+v, want target %s (v3 inform)", r, targets[i])
				}
			}
			if res[0].Result != "acknowledged" {
				t.Errorf("ops: test result %+v, want acknowledged", res[0])
			}
			// pysnmp signs its usmStatsWrongDigests Report with its own
			// key: unverifiable, the agent drops it, yet says why.
			if res[1].Result != "failed" || !strings.Contains(res[1].Reason, "the user's authhash does not verify") {
				t.Errorf("intruder: test result %+v, want failed for a wrong authhash", res[1])
			}
			on := mibs.VmwVmPoweredOn.MustNew(mibs.Int(7), mibs.String("/etc/libvirt/qemu/web 01.xml"), mibs.String("web 01").At(7))
			if err := a.Notify(context.Background(), on); err != nil {
				t.Fatal(err)
			}

			var st []snmpconfig.TargetStats
			peertest.Eventually(t, 15*time.Second, "ops's three informs acknowledged and intruder's three failed", func() bool {
				st = a.Stats()
				// pysnmp prints an inform after sending its Response: the
				// line may reach us after the agent took the Response.
				return st[0].Acknowledged == 3 && st[1].Failed == 3 && len(r.Notifications("ops")) >= 3
			})
			if st[0].Failed != 0 || st[0].Dropped != 0 || st[1].Acknowledged != 0 || st[1].Dropped != 0 {
				t.Errorf("stats %+v", st)
			}

			ns := r.Notifications("ops")
			var names []string
			for _, n := range ns {
				if n.PDU != "InformRequestPDU" || n.Level != 3 {
					t.Errorf("pysnmp got a %s at securityLevel %d, want InformRequestPDU at 3 (authPriv)", n.PDU, n.Level)
				}
				if _, ok := n.VarBinds[oidSysUpTime]; !ok {
					t.Errorf("notification without sysUpTime.0: %v", n.VarBinds)
				}
				names = append(names, n.VarBinds[oidSnmpTrapOID])
				if n.VarBinds[oidSnmpTrapOID] != oidVmwVmPoweredOn {
					continue
				}
				want := map[string]string{
					oidVmwVmID:                 "7",
					oidVmwVmConfigFile:         "/etc/libvirt/qemu/web 01.xml",
					oidVmwVmDisplayName + ".7": "web 01",
				}
				for oid, v := range want {
					if got, ok := n.VarBinds[oid]; !ok || got != v {
						t.Errorf("vmwVmPoweredOn as pysnmp decoded it: %s=%q, want %q (all: %v)", oid, got, v, n.VarBinds)
					}
				}
			}
			slices.Sort(names)
			if want := []string{oidVmwVmPoweredOn, oidColdStart, oidWarmStart}; !slices.Equal(names, want) {
				t.Errorf("pysnmp decoded informs %q from ops, want %q (coldStart, warmStart, vmwVmPoweredOn)", names, want)
			}
			for _, why := range r.Refusals("ops") {
				if why != refusedNotInTimeWind {
					t.Errorf("pysnmp refused a message of ops: %s", why)
				}
			}

			// The wrong key fails for the reason it should: pysnmp found
			// the digest wrong, and nothing else.
			if ns := r.Notifications("intruder"); len(ns) != 0 {
				t.Errorf("pysnmp accepted %d notifications from intruder: %+v", len(ns), ns)
			}
			why := r.Refusals("intruder")
			if len(why) == 0 {
				t.Error("pysnmp refused nothing of intruder's")
			}
			for _, w := range why {
				if w != refusedWrongDigest {
					t.Errorf("pysnmp refused a message of intruder with %s, want %s", w, refusedWrongDigest)
				}
			}
		})
	}
}
