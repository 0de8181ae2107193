package vms_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hostagent/collectors/vms"
	"hostagent/internal/configstore"
	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/snmpagent/mibview"
)

// vmwVmTable and vmwVmNetTable columns (VMWARE-VMINFO-MIB).
func vmCol(col, id uint32) mibs.OID {
	return mibs.MustOID("1.3.6.1.4.1.6876.2.1.1").Append(col, id)
}

func netCol(col, id, n uint32) mibs.OID {
	return mibs.MustOID("1.3.6.1.4.1.6876.2.4.1").Append(col, id, n)
}

func text(v *mibview.View, oid mibs.OID) string {
	vb, ok := v.Get(oid)
	if !ok {
		return "<absent>"
	}
	if vb.Syntax == mibs.Integer {
		return fmt.Sprint(vb.Int)
	}
	return string(vb.Bytes)
}

// TestTablesFollowLibvirtd: the collector publishes vmwVmTable and
// vmwVmNetTable from libvirtd's test driver: a defined domain appears with
// its memory in MB, vCPUs, guest OS (libosinfo's id), UUID and adapters;
// starting, suspending and destroying it changes vmwVmState (and the
// adapters' connected state); undefining it removes its rows. Each change
// is in the view when virsh returns plus the event's way through the
// collector, measured and logged.
func TestTablesFollowLibvirtd(t *testing.T) {
	peertest.RequireCommand(t, "virsh", "libvirt-clients")
	d := peertest.StartLibvirtd(t)
	view := mibview.New()
	cfg := vms.DefaultConfig()
	cfg.URI, cfg.Socket = "test:///default", d.Socket()
	cfg.ReconnectMax = configstore.Duration(200 * time.Millisecond)
	c, err := vms.New(cfg, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.WithPublisher(view)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, discardNotifier{}) }()
	t.Cleanup(func() { cancel(); <-done })
	waitResyncs(t, c, 1)

	// The driver's own "test" domain is vmid 1, running.
	if got := text(view, vmCol(6, 1)); got != "powered on" {
		t.Errorf("test's vmwVmState %q", got)
	}
	path := filepath.Join(t.TempDir(), "web01.xml")
	xml := `<domain type='test'><name>web01</name><uuid>5a1c0e6f-2b1d-4f7a-9a55-0123456789ab</uuid>
<metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>
<memory unit='MiB'>2048</memory><vcpu>2</vcpu><os><type>hvm</type></os>
<devices><interface type='network'><mac address='52:54:00:aa:bb:01'/><source network='default'/></interface>
<interface type='bridge'><mac address='52:54:00:aa:bb:02'/><source bridge='br0'/><link state='down'/></interface></devices></domain>`
	if err := os.WriteFile(path, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	step := func(what string, cond func() bool, virsh ...string) {
		t.Helper()
		d.Virsh(t, virsh...)
		start := time.Now()
		peertest.Eventually(t, 10*time.Second, what, cond)
		t.Logf("%s: in the table %v after virsh returned", what, time.Since(start).Round(time.Millisecond))
	}
	step("web01 defined", func() bool { return text(view, vmCol(2, 2)) == "web01" }, "define", path)
	for col, want := range map[uint32]string{3: "/etc/libvirt/qemu/web01.xml", 4: "http://debian.org/debian/12", 5: "2048", 6: "powered off", 8: "notRunning", 9: "2", 10: "5a1c0e6f-2b1d-4f7a-9a55-0123456789ab"} {
		if got := text(view, vmCol(col, 2)); got != want {
			t.Errorf("web01 column %d = %q, want %q", col, got, want)
		}
	}
	if got := text(view, netCol(4, 2, 1)); got != "default" {
		t.Errorf("adapter 1 vmwVmNetName %q", got)
	}
	if got := text(view, netCol(4, 2, 2)); got != "br0" {
		t.Errorf("adapter 2 vmwVmNetName %q", got)
	}
	if vb, _ := view.Get(netCol(7, 2, 1)); fmt.Sprintf("%x", vb.Bytes) != "525400aabb01" {
		t.Errorf("adapter 1 vmwVmMAC %x", vb.Bytes)
	}
	step("web01 started", func() bool { return text(view, vmCol(6, 2)) == "powered on" }, "start", "web01")
	if a, b := text(view, netCol(6, 2, 1)), text(view, netCol(6, 2, 2)); a != "true" || b != "false" {
		t.Errorf("vmwVmNetConnected of a running VM: %s (link up), %s (link down); want true, false (VmwConnectedState)", a, b)
	}
	step("web01 suspended", func() bool { return text(view, vmCol(6, 2)) == "suspended" }, "suspend", "web01")
	step("web01 destroyed", func() bool { return text(view, vmCol(6, 2)) == "powered off" }, "destroy", "web01")
	step("web01 undefined", func() bool { return text(view, vmCol(2, 2)) == "<absent>" }, "undefine", "web01")
	if got := text(view, netCol(4, 2, 1)); got != "<absent>" {
		t.Errorf("an undefined VM's adapter is still served: %q", got)
	}
}

type discardNotifier struct{}

func (discardNotifier) Notify(context.Context, mibs.Notification) error { return nil }
