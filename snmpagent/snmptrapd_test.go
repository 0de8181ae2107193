package snmpagent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"hostagent/internal/configstore"
	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent"
	"hostagent/snmpagent/snmpconfig"
)

// These tests send to net-snmp's snmptrapd, which decodes each notification
// with the IETF and VMware MIB modules, as a NOC's receiver would.

func startAgent(t *testing.T, cfg snmpconfig.Config) *snmpagent.Agent {
	t.Helper()
	a := snmpagent.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Apply(p)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a
}

func config(targets ...string) snmpconfig.Config {
	cfg := snmpconfig.DefaultConfig()
	cfg.Enabled = true
	cfg.Communities = []string{"public"}
	cfg.Targets = targets
	return cfg
}

// closedPort is a loopback UDP port nothing listens on.
func closedPort(t *testing.T) int {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func varbinds(tr peertest.Trap) string {
	var b strings.Builder
	for _, v := range tr.VarBinds {
		fmt.Fprintf(&b, "%s %s %s\n", v.Name, v.Type, v.Value)
	}
	return b.String()
}

func TestSnmptrapdDecodesEveryKind(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{Communities: []string{"public", "ops"}})
	port := trapd.Port()
	started := time.Now()
	a := startAgent(t, config(
		fmt.Sprintf("127.0.0.1@%d/public", port),
		fmt.Sprintf("v1:127.0.0.1@%d/ops", port),
		fmt.Sprintf("inform:127.0.0.1@%d", port), // the first community: public
		fmt.Sprintf("127.0.0.1@%d/wrong", port),  // refused by snmptrapd
	))
	trapd.WaitTraps(t, 3, 10*time.Second) // coldStart

	res, err := a.Test(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sent", "sent", "acknowledged", "sent"}
	for i, r := range res {
		if r.Result != want[i] {
			t.Errorf("test result %d %+v, want %s", i, r, want[i])
		}
	}
	ctx := context.Background()
	on := mibs.VmwVmPoweredOn.MustNew(mibs.Int(7), mibs.String("/etc/libvirt/qemu/web 01.xml"), mibs.String("web 01").At(7))
	hw := mibs.VmwESXEnvHardwareEvent.MustNew(mibs.Int(8).At(3), mibs.Int(4).At(3),
		mibs.String("coretemp Package id 0: 97 C, critical limit 95 C").At(3),
		mibs.Bytes(mibs.DateAndTime(time.Date(2026, 11, 25, 17, 4, 5, 0, time.UTC))).At(3))
	for _, n := range []mibs.Notification{on, hw} {
		if err := a.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	traps := trapd.WaitTraps(t, 12, 10*time.Second)
	elapsed := time.Since(started)

	byKind := map[string][]peertest.Trap{}
	for _, tr := range traps {
		if tr.Community == "wrong" {
			t.Errorf("snmptrapd reported a trap with a refused community: %s", tr.Raw)
		}
		byKind[tr.PDU] = append(byKind[tr.PDU], tr)
	}
	for _, pdu := range []string{"TRAP2", "INFORM"} {
		got := byKind[pdu]
		if len(got) != 4 {
			t.Fatalf("%s: %d notifications, want 4", pdu, len(got))
		}
		for i, name := range []string{"SNMPv2-MIB::coldStart", "SNMPv2-MIB::warmStart", "VMWARE-VMINFO-MIB::vmwVmPoweredOn", "VMWARE-ENV-MIB::vmwESXEnvHardwareEvent"} {
			if got[i].TrapOID != name || got[i].Community != "public" || got[i].Version != "v2c" {
				t.Errorf("%s %d: %s %s %s, want %s from public", pdu, i, got[i].Version, got[i].TrapOID, got[i].Community, name)
			}
		}
		if up := got[0].Uptime; up > 100 {
			t.Errorf("%s coldStart sysUpTime %d cs, want about 0", pdu, up)
		}
		if up := got[3].Uptime; up < got[0].Uptime || time.Duration(up)*10*time.Millisecond > elapsed {
			t.Errorf("%s sysUpTime %d cs after %s", pdu, up, elapsed)
		}
		wantOn := "VMWARE-VMINFO-MIB::vmwVmID.0 INTEGER 7\n" +
			"VMWARE-VMINFO-MIB::vmwVmConfigFilePath.0 STRING /etc/libvirt/qemu/web 01.xml\n" +
			"VMWARE-VMINFO-MIB::vmwVmDisplayName.7 STRING web 01\n"
		if vb := varbinds(got[2]); vb != wantOn {
			t.Errorf("%s vmwVmPoweredOn varbinds:\n%s\nwant:\n%s", pdu, vb, wantOn)
		}
		wantHW := "VMWARE-ENV-MIB::vmwSubsystemType.3 INTEGER temperatureSensor(8)\n" +
			"VMWARE-ENV-MIB::vmwHardwareStatus.3 INTEGER critical(4)\n" +
			"VMWARE-ENV-MIB::vmwEventDescription.3 STRING coretemp Package id 0: 97 C, critical limit 95 C\n" +
			"VMWARE-ENV-MIB::vmwEnvHardwareTime.3 STRING 2026-11-25,17:4:5.0,+0:0\n"
		if vb := varbinds(got[3]); vb != wantHW {
			t.Errorf("%s vmwESXEnvHardwareEvent varbinds:\n%s\nwant:\n%s", pdu, vb, wantHW)
		}
	}

	v1 := byKind["TRAP"]
	if len(v1) != 4 {
		t.Fatalf("v1: %d traps, want 4", len(v1))
	}
	for i, w := range []struct{ generic, specific int }{{0, 0}, {1, 0}, {6, 1}, {6, 301}} {
		tr := v1[i]
		if tr.Version != "v1" || tr.Community != "ops" || tr.Enterprise != "VMWARE-PRODUCTS-MIB::vmwESX" ||
			tr.Generic != w.generic || tr.Specific != w.specific || tr.AgentAddr != "127.0.0.1" {
			t.Errorf("v1 trap %d: %s %s enterprise %s generic %d specific %d agent %s; want v1 ops vmwESX %d %d 127.0.0.1",
				i, tr.Version, tr.Community, tr.Enterprise, tr.Generic, tr.Specific, tr.AgentAddr, w.generic, w.specific)
		}
	}
	if vb := varbinds(v1[2]); !strings.Contains(vb, "VMWARE-VMINFO-MIB::vmwVmDisplayName.7 STRING web 01") {
		t.Errorf("v1 vmwVmPoweredOn varbinds:\n%s", vb)
	}

	// snmptrapd may print the last inform before its response is counted.
	if !peertest.Until(5*time.Second, func() bool { s := a.Stats()[2]; return s.Sent == 4 && s.Acknowledged == 4 }) {
		t.Fatalf("inform target stats %+v, want 4 sent and acknowledged", a.Stats()[2])
	}
}

// TestUnreachableTargetDoesNotDelayOthers: informs to a dead port and to a
// receiver that never answers keep retrying while the trap target gets
// every notification.
func TestUnreachableTargetDoesNotDelayOthers(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cfg := config(
		fmt.Sprintf("inform:127.0.0.1@%d/public", closedPort(t)),
		fmt.Sprintf("inform:127.0.0.1@%d/public", silent.LocalAddr().(*net.UDPAddr).Port),
		fmt.Sprintf("127.0.0.1@%d/public", trapd.Port()),
	)
	cfg.InformTimeout = configstore.Duration(3 * time.Second)
	a := startAgent(t, cfg)
	const n = 200
	for i := range n {
		up := mibs.LinkUp.MustNew(mibs.Int(int64(i+1)).At(uint32(i+1)), mibs.Int(1).At(uint32(i+1)), mibs.Int(1).At(uint32(i+1)))
		if err := a.Notify(context.Background(), up); err != nil {
			t.Fatal(err)
		}
	}
	traps := trapd.WaitTraps(t, n+1, 10*time.Second)
	// The informs give up only after 4 attempts 3 s apart: had the trap
	// target waited for them, they would have failed by now.
	for _, s := range a.Stats()[:2] {
		if s.Failed != 0 || s.Acknowledged != 0 {
			t.Errorf("inform target %s already done (%+v): the trap target waited for it", s.Target, s)
		}
	}
	last := traps[len(traps)-1]
	if last.TrapOID != "IF-MIB::linkUp" || !strings.Contains(varbinds(last), fmt.Sprintf("IF-MIB::ifIndex.%d INTEGER %d", n, n)) ||
		!strings.Contains(varbinds(last), fmt.Sprintf("IF-MIB::ifOperStatus.%d INTEGER up(1)", n)) {
		t.Errorf("last trap %s:\n%s", last.TrapOID, varbinds(last))
	}
}

func TestInformToDeadReceiverFails(t *testing.T) {
	cfg := config(fmt.Sprintf("inform:127.0.0.1@%d/public", closedPort(t)))
	cfg.InformTimeout = configstore.Duration(100 * time.Millisecond)
	a := startAgent(t, cfg)
	res, err := a.Test(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Result != "failed" || res[0].Reason != "no response after 4 attempts, 100ms apart" {
		t.Fatalf("result %+v, want failed after 4 attempts", res)
	}
	if s := a.Stats()[0]; s.Failed < 1 || s.Acknowledged != 0 { // the test's result comes after the count
		t.Errorf("stats %+v", s)
	}
}
