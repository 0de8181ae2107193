package daemon_test

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/snmpagent/usm"
)

// pollingDaemon starts a daemon whose agent answers polls through its own
// snmpd on a free loopback port, with the VM collector on libvirtd's test
// driver, and waits until polls reach the subagent.
func pollingDaemon(t *testing.T, snmpExtra string) (running, int, *peertest.Libvirtd) {
	t.Helper()
	peertest.RequireCommand(t, "snmpd", "snmpd")
	peertest.RequireCommand(t, "virsh", "libvirt-clients")
	lv := peertest.StartLibvirtd(t)
	port, err := peertest.FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeConfig(t, dir, fmt.Sprintf("enabled = true\npolling = \"private\"\nlisten_address = \"127.0.0.1\"\nport = %d\ncommunities = [\"public\"]\nsyscontact = \"noc@example.com\"\nsyslocation = \"rack 7\"\n%s", port, snmpExtra))
	writeFile(t, filepath.Join(dir, "etc", daemon.CollectorsFile), fmt.Sprintf(
		"[vms]\nenabled = true\nuri = \"test:///default\"\nsocket = %q\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n", lv.Socket()))
	r := start(t, dir)
	waitFor(t, "polls answered through the subagent", func() bool {
		p := r.daemon.SNMPState().Polling
		return p.On && p.SubagentConnected
	})
	return r, port, lv
}

// TestPollingThroughSnmpd: with the agent enabled, GETs reach snmpd
// (sysContact and sysLocation as vicfg-snmp sets them, sysObjectID), and
// the VMware MIBs reach hostagent through AgentX (vmwProdName, the test
// driver's VM in vmwVmTable, a VM defined and started shown within the
// second); a wrong community gets no answer; an SNMPv3 authPriv user with
// keys localized to the agent's engine ID is answered; snmpd killed is
// restarted and the subagent attaches again; --show says so.
func TestPollingThroughSnmpd(t *testing.T) {
	r, port, lv := pollingDaemon(t, "")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	v2 := func(oids ...string) (string, error) {
		return peertest.NetSNMP(t, "snmpget", append([]string{"-v2c", "-c", "public", "-t", "2", "-r", "1", "-Oqv", addr}, oids...)...)
	}
	out, err := v2("SNMPv2-MIB::sysContact.0", "SNMPv2-MIB::sysLocation.0", "SNMPv2-MIB::sysObjectID.0", "VMWARE-SYSTEM-MIB::vmwProdName.0")
	if err != nil {
		t.Fatal(err)
	}
	if want := "noc@example.com\nrack 7\nVMWARE-PRODUCTS-MIB::vmwESX\nhostagent\n"; out != want {
		t.Errorf("GET answered %q, want %q", out, want)
	}
	// libvirtd's test driver has one running VM, "test": vmid 1.
	out, err = v2("VMWARE-VMINFO-MIB::vmwVmDisplayName.1", "VMWARE-VMINFO-MIB::vmwVmState.1")
	if err != nil || out != "test\npowered on\n" {
		t.Errorf("vmwVmTable row 1: %q %v", out, err)
	}
	if out, err := peertest.NetSNMP(t, "snmpget", "-v2c", "-c", "private", "-t", "1", "-r", "0", addr, "SNMPv2-MIB::sysContact.0"); err == nil {
		t.Errorf("a wrong community was answered: %q", out)
	}

	// A VM defined, then started: in the table within a second of virsh.
	xml := filepath.Join(t.TempDir(), "web01.xml")
	writeFile(t, xml, "<domain type='test'><name>web01</name><memory unit='MiB'>512</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>")
	lv.Virsh(t, "define", xml)
	lv.Virsh(t, "start", "web01")
	started := time.Now()
	peertest.Eventually(t, 10*time.Second, "web01 powered on in vmwVmTable", func() bool {
		out, err := v2("VMWARE-VMINFO-MIB::vmwVmState.2", "VMWARE-VMINFO-MIB::vmwVmCpus.2", "VMWARE-VMINFO-MIB::vmwVmMemSize.2")
		return err == nil && out == "powered on\n2\n512 megabytes\n" // UNITS, from the MIB file
	})
	t.Logf("web01 powered on in vmwVmTable %v after virsh start returned (the polls' own time included)", time.Since(started).Round(time.Millisecond))
	for _, step := range []struct{ virsh, state string }{{"suspend", "suspended"}, {"destroy", "powered off"}, {"undefine", "No Such Object available on this agent at this OID"}} {
		lv.Virsh(t, step.virsh, "web01")
		since := time.Now()
		peertest.Eventually(t, 10*time.Second, "web01 "+step.state+" in vmwVmTable", func() bool {
			out, err := v2("VMWARE-VMINFO-MIB::vmwVmState.2")
			return err == nil && out == step.state+"\n"
		})
		t.Logf("virsh %s: in vmwVmTable %v after virsh returned", step.virsh, time.Since(since).Round(time.Millisecond))
	}

	// SNMPv3: a user of the agent's engine ID.
	engine, err := usm.ParseEngineID(r.daemon.SNMPState().EngineID)
	if err != nil {
		t.Fatal(err)
	}
	ak, pk, err := usm.LocalizedKeys(usm.AuthSHA256, []byte("poll-auth-secret"), []byte("poll-priv-secret"), engine)
	if err != nil {
		t.Fatal(err)
	}
	if code, o, e := r.cli(t, "--authentication", "SHA256", "--privacy", "AES128", "--users", "nms/"+hex.EncodeToString(ak)+"/"+hex.EncodeToString(pk)+"/priv"); code != 0 {
		t.Fatalf("vicfg-snmp --users: %d %s %s", code, o, e)
	}
	v3 := func(authPass string) (string, error) {
		return peertest.NetSNMP(t, "snmpget", "-v3", "-l", "authPriv", "-u", "nms", "-a", "SHA-256", "-A", authPass, "-x", "AES", "-X", "poll-priv-secret",
			"-t", "2", "-r", "2", "-Oqv", addr, "VMWARE-SYSTEM-MIB::vmwProdName.0")
	}
	peertest.Eventually(t, 20*time.Second, "the SNMPv3 user answered", func() bool {
		out, err := v3("poll-auth-secret")
		return err == nil && out == "hostagent\n"
	})
	if out, err := v3("wrong-auth-secret"); err == nil {
		t.Errorf("a wrong key was answered: %q", out)
	}

	// snmpd killed: restarted, and the subagent attaches again.
	st := r.daemon.SNMPState().Polling
	if st.PID == 0 {
		t.Fatalf("no snmpd pid: %+v", st)
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitForLong(t, "snmpd restarted and the subagent attached", func() bool {
		p := r.daemon.SNMPState().Polling
		return p.On && p.SubagentConnected && p.PID != st.PID && p.Restarts > st.Restarts
	})
	peertest.Eventually(t, 20*time.Second, "polls answered again after the restart", func() bool {
		out, err := v2("VMWARE-VMINFO-MIB::vmwVmDisplayName.1")
		return err == nil && out == "test\n"
	})
	code, show, _ := r.cli(t, "--show")
	if code != 0 || !strings.Contains(show, "Polling  : on, snmpd pid ") || !strings.Contains(show, "AgentX subagent attached") {
		t.Errorf("--show:\n%s", show)
	}

	// syscontact emptied: served empty, as vicfg-snmp set it (snmpd's
	// sysContact line would say "root"); the system group walks in order.
	if code, o, e := r.cli(t, "-C", ""); code != 0 {
		t.Fatalf("vicfg-snmp -C '': %d %s %s", code, o, e)
	}
	peertest.Eventually(t, 20*time.Second, "an empty sysContact served", func() bool {
		out, err := v2("SNMPv2-MIB::sysContact.0", "SNMPv2-MIB::sysLocation.0")
		return err == nil && out == "\nrack 7\n" // -Oqv prints an empty string as nothing
	})
	if out, err := peertest.NetSNMP(t, "snmpwalk", "-v2c", "-c", "public", "-Cc", "-On", "-t", "2", addr, "1.3.6.1.2.1.1"); err != nil ||
		!strings.Contains(out, ".1.3.6.1.2.1.1.4.0 = STRING: \n") || !strings.Contains(out, ".1.3.6.1.2.1.1.5.0 = STRING") {
		t.Errorf("walk of the system group: %v\n%s", err, out)
	}
}

// TestPollingOffSaysWhy: the agent disabled, or polling off, answers no
// poll, and --show says why; notifications are not affected.
func TestPollingOffSaysWhy(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, "enabled = false\npolling = \"private\"\n")
	r := start(t, dir)
	code, show, _ := r.cli(t, "--show")
	if code != 0 || !strings.Contains(show, "Polling  : off: the agent is disabled") {
		t.Errorf("--show of a disabled agent:\n%s", show)
	}
	if p := r.daemon.SNMPState().Polling; p.On || p.Reason != "the agent is disabled" {
		t.Errorf("polling state %+v", p)
	}
}

// TestPollingWithoutSnmpd: without snmpd, polling is off and --show, the
// API and /metrics say why; notifications still reach their receiver.
func TestPollingWithoutSnmpd(t *testing.T) {
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	dir := t.TempDir()
	writeConfig(t, dir, fmt.Sprintf("enabled = true\npolling = \"private\"\nlisten_address = \"127.0.0.1\"\nport = 16199\ncommunities = [\"public\"]\ntargets = [\"127.0.0.1@%d\"]\n", trapd.Port()))
	r := start(t, dir, func(o *daemon.Options) { o.SNMPDBinary = filepath.Join(dir, "no-such-snmpd") })
	trapd.WaitTraps(t, 1, 10*time.Second) // coldStart
	const why = "snmpd is not installed (Debian package snmpd)"
	waitFor(t, "polling off for want of snmpd", func() bool {
		p := r.daemon.SNMPState().Polling
		return !p.On && p.Reason == why
	})
	if code, show, _ := r.cli(t, "--show"); code != 0 || !strings.Contains(show, "Polling  : off: "+why) {
		t.Errorf("--show:\n%s", show)
	}
	if !strings.Contains(r.log.String(), why) {
		t.Errorf("the log does not say why polling is off:\n%s", r.log)
	}
	code, metrics := call(t, consoleClient(r.sock), "GET", api.PathMetrics, nil)
	if want := `hostagent_snmp_polling_up{cause="not_installed",mode="private"} 0`; code != http.StatusOK || !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %s:\n%s", want, metrics)
	}
}

func waitForLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	peertest.Eventually(t, 60*time.Second, what, cond)
}

// TestPollingRecoversFromATakenPort: the port is taken when the daemon
// starts (the system's snmpd, say): polling is off and says so; once the
// port is free the private snmpd starts on its own, and --show and the
// API say polls are answered, without a configuration change.
func TestPollingRecoversFromATakenPort(t *testing.T) {
	peertest.RequireCommand(t, "snmpd", "snmpd")
	holder, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := holder.LocalAddr().(*net.UDPAddr).Port
	dir := t.TempDir()
	writeConfig(t, dir, fmt.Sprintf("enabled = true\npolling = \"private\"\nlisten_address = \"127.0.0.1\"\nport = %d\ncommunities = [\"public\"]\n", port))
	r := start(t, dir)
	waitFor(t, "polling off for the taken port", func() bool {
		p := r.daemon.SNMPState().Polling
		return !p.On && strings.Contains(p.Reason, "the port is taken")
	})
	holder.Close()
	waitForLong(t, "polls answered once the port is free", func() bool {
		p := r.daemon.SNMPState().Polling
		return p.On && p.SubagentConnected && p.Reason == ""
	})
	if code, show, _ := r.cli(t, "--show"); code != 0 || !strings.Contains(show, "Polling  : on, snmpd pid ") {
		t.Errorf("--show after the recovery:\n%s", show)
	}
}
