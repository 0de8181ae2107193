package vms_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/collectors/vms"
	"hostagent/internal/configstore"
	"hostagent/internal/peertest"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent"
	"hostagent/snmpagent/snmpconfig"
)

// testDomain is a minimal domain of libvirt's test driver.
func testDomain(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name+".xml")
	xml := fmt.Sprintf("<domain type='test'><name>%s</name><memory>8192</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>", name)
	if err := os.WriteFile(path, []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type rig struct {
	libvirtd *peertest.Libvirtd
	trapd    *peertest.Snmptrapd
	agent    *snmpagent.Agent
	stateDir string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{libvirtd: peertest.StartLibvirtd(t), stateDir: t.TempDir()}
	r.trapd = peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	r.agent = snmpagent.New(slog.New(slog.DiscardHandler))
	cfg := snmpconfig.DefaultConfig()
	cfg.Enabled, cfg.Communities = true, []string{"public"}
	cfg.Targets = []string{fmt.Sprintf("127.0.0.1@%d", r.trapd.Port())}
	p, err := r.agent.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	r.agent.Apply(p)
	t.Cleanup(func() { r.agent.Close(context.Background()) })
	r.trapd.WaitTraps(t, 1, 10*time.Second) // coldStart
	return r
}

// collector runs a VM collector against the rig's libvirtd until stop is
// called or the test ends.
func (r *rig) collector(t *testing.T, log *peertest.Buffer) (c *vms.VMs, stop func()) {
	t.Helper()
	cfg := vms.DefaultConfig()
	cfg.URI, cfg.Socket = "test:///default", r.libvirtd.Socket()
	cfg.ReconnectMax = configstore.Duration(200 * time.Millisecond)
	c, err := vms.New(cfg, r.stateDir, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, r.agent) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("collector log:\n%s", log)
		}
	})
	waitResyncs(t, c, 1)
	return c, stop
}

func waitResyncs(t *testing.T, c *vms.VMs, n uint64) {
	t.Helper()
	peertest.Eventually(t, 20*time.Second, fmt.Sprintf("resync %d", n), func() bool { return c.Resyncs() >= n })
}

// vmTrap is a decoded VM notification: its name and varbinds in one line.
func vmTrap(tr peertest.Trap) string {
	var parts []string
	for _, v := range tr.VarBinds {
		name := strings.TrimPrefix(v.Name, "VMWARE-VMINFO-MIB::")
		parts = append(parts, name+"="+v.Value)
	}
	return strings.TrimPrefix(tr.TrapOID, "VMWARE-VMINFO-MIB::") + " " + strings.Join(parts, " ")
}

// expectTraps checks that snmptrapd's notifications from index from on are
// want, and that nothing came after them so far. It does not wait for
// "nothing more": a notification sent in excess comes before the next one
// a test expects (the collector handles libvirtd's events in order, and the
// agent sends each target's queue in order), so the next expectTraps finds
// it in the place of what it expects; a test therefore ends with one more
// event, as that barrier.
func expectTraps(t *testing.T, trapd *peertest.Snmptrapd, from int, want ...string) {
	t.Helper()
	traps := trapd.WaitTraps(t, from+len(want), 10*time.Second)
	for i, w := range want {
		if got := vmTrap(traps[from+i]); got != w {
			t.Errorf("notification %d:\n got %s\nwant %s", from+i, got, w)
		}
	}
	if extra := trapd.Traps()[from+len(want):]; len(extra) > 0 {
		for _, tr := range extra {
			t.Errorf("unexpected notification: %s", vmTrap(tr))
		}
	}
}

// TestVMLifecycleThroughLibvirtd drives domains of libvirtd's test driver
// with virsh and checks what snmptrapd decodes, including a restart of
// libvirtd in the middle.
func TestVMLifecycleThroughLibvirtd(t *testing.T) {
	peertest.RequireCommand(t, "virsh", "libvirt-clients")
	r := newRig(t)
	var log peertest.Buffer
	c, stop := r.collector(t, &log)
	// First start: the driver's running "test" domain is recorded (vmid 1),
	// not announced.
	expectTraps(t, r.trapd, 1)

	xml := testDomain(t, t.TempDir(), "web01")
	r.libvirtd.Virsh(t, "define", xml)
	r.libvirtd.Virsh(t, "start", "web01")
	r.libvirtd.Virsh(t, "suspend", "web01")
	r.libvirtd.Virsh(t, "resume", "web01")
	r.libvirtd.Virsh(t, "shutdown", "web01")
	r.libvirtd.Virsh(t, "start", "web01")
	r.libvirtd.Virsh(t, "destroy", "web01")
	vars := "vmwVmID.0=2 vmwVmConfigFilePath.0=/etc/libvirt/qemu/web01.xml vmwVmDisplayName.2=web01"
	expectTraps(t, r.trapd, 1,
		"vmwVmPoweredOn "+vars,
		"vmwVmSuspended "+vars,
		"vmwVmPoweredOn "+vars,
		"vmwVmPoweredOff "+vars,
		"vmwVmPoweredOn "+vars,
		"vmwVmPoweredOff "+vars,
	)

	// libvirtd dies with "test" suspended, and comes back with the test
	// driver's defaults: "test" running, web01 gone. One notification for
	// the change missed, none for web01 (it was off), none twice.
	r.libvirtd.Virsh(t, "suspend", "test")
	testVars := "vmwVmID.0=1 vmwVmConfigFilePath.0=/etc/libvirt/qemu/test.xml vmwVmDisplayName.1=test"
	expectTraps(t, r.trapd, 7, "vmwVmSuspended "+testVars)
	r.libvirtd.Stop(t)
	r.libvirtd.Start(t)
	waitResyncs(t, c, 2)
	expectTraps(t, r.trapd, 8, "vmwVmPoweredOn "+testVars)
	if !strings.Contains(log.String(), "libvirtd unavailable; reconnecting") {
		t.Errorf("no reconnection in the log")
	}
	// The daemon's /metrics: resyncs as runs, the lost connection as a
	// failure.
	if st := c.Stats(); st.Runs != 2 || st.Failures == 0 || st.LastError != "" {
		t.Errorf("stats after the reconnection: %+v", st)
	}

	// Events flow again after the reconnection.
	r.libvirtd.Virsh(t, "suspend", "test")
	expectTraps(t, r.trapd, 9, "vmwVmSuspended "+testVars)

	// The agent restarts while "test" is resumed: the new collector, on the
	// same state directory, knows "test" as vmid 1 and reports the change
	// it missed, once.
	stop()
	r.libvirtd.Virsh(t, "resume", "test")
	var log2 peertest.Buffer
	r.collector(t, &log2)
	expectTraps(t, r.trapd, 10, "vmwVmPoweredOn "+testVars)
	// The barrier: the next change is the next notification, so the
	// restart announced its change once.
	r.libvirtd.Virsh(t, "suspend", "test")
	expectTraps(t, r.trapd, 11, "vmwVmSuspended "+testVars)
}
