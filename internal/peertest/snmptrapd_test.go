package peertest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Numeric OIDs the tests send; snmptrapd must print them by name.
const (
	oidSysUpTime     = ".1.3.6.1.2.1.1.3.0"
	oidSnmpTrapOID   = ".1.3.6.1.6.3.1.1.4.1.0"
	oidWarmStart     = ".1.3.6.1.6.3.1.1.5.2"
	oidIfIndex2      = ".1.3.6.1.2.1.2.2.1.1.2"
	oidIfOperStatus2 = ".1.3.6.1.2.1.2.2.1.8.2"
	oidVmwVmID0      = ".1.3.6.1.4.1.6876.50.101.0"
	oidVmwVmDisplay7 = ".1.3.6.1.4.1.6876.2.1.1.2.7" // DisplayString: printed raw
	oidNoMIBString   = ".1.3.6.1.4.1.99999.1"        // no MIB: printed in quotes
	oidVmware        = ".1.3.6.1.4.1.6876"
	oidVmwESX        = ".1.3.6.1.4.1.6876.4.1"
)

const waitTime = 10 * time.Second

func sender(t *testing.T, d *Snmptrapd, version gosnmp.SnmpVersion, community string) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{
		Target: "127.0.0.1", Port: uint16(d.Port()), Version: version,
		Community: community, Timeout: 2 * time.Second, Retries: 1,
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

// v2cTrap builds a v2c notification with the mandatory sysUpTime.0 and
// snmpTrapOID.0 first, then vars.
func v2cTrap(uptime uint32, trapOID string, vars ...gosnmp.SnmpPDU) gosnmp.SnmpTrap {
	return gosnmp.SnmpTrap{Variables: append([]gosnmp.SnmpPDU{
		{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uptime},
		{Name: oidSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: trapOID},
	}, vars...)}
}

func wantVarBinds(t *testing.T, got, want []VarBind) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("varbinds: got %d %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("varbind %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestSnmptrapdV2cTrap(t *testing.T) {
	d := StartSnmptrapd(t, SnmptrapdOptions{})
	g := sender(t, d, gosnmp.Version2c, "public")
	_, err := g.SendTrap(v2cTrap(12345, oidWarmStart,
		gosnmp.SnmpPDU{Name: oidVmwVmID0, Type: gosnmp.Integer, Value: 42},
		gosnmp.SnmpPDU{Name: oidVmwVmDisplay7, Type: gosnmp.OctetString, Value: []byte("web-01")},
		gosnmp.SnmpPDU{Name: oidIfOperStatus2, Type: gosnmp.Integer, Value: 1},
		gosnmp.SnmpPDU{Name: oidNoMIBString, Type: gosnmp.OctetString, Value: []byte{}},
	))
	if err != nil {
		t.Fatal(err)
	}
	tr := d.WaitTraps(t, 1, waitTime)[0]
	if tr.PDU != "TRAP2" || tr.Version != "v2c" || tr.Community != "public" {
		t.Errorf("PDU/Version/Community = %q/%q/%q, want TRAP2/v2c/public", tr.PDU, tr.Version, tr.Community)
	}
	if tr.TrapOID != "SNMPv2-MIB::warmStart" || tr.Uptime != 12345 {
		t.Errorf("TrapOID, Uptime = %q, %d; want SNMPv2-MIB::warmStart, 12345", tr.TrapOID, tr.Uptime)
	}
	if want := g.Conn.LocalAddr().String(); tr.Source != "["+strings.Replace(want, ":", "]:", 1) {
		t.Errorf("Source = %q, sent from %s", tr.Source, want)
	}
	wantVarBinds(t, tr.VarBinds, []VarBind{
		{"VMWARE-VMINFO-MIB::vmwVmID.0", "INTEGER", "42"},
		{"VMWARE-VMINFO-MIB::vmwVmDisplayName.7", "STRING", "web-01"},
		{"IF-MIB::ifOperStatus.2", "INTEGER", "up(1)"},
		{"SNMPv2-SMI::enterprises.99999.1", "STRING", ""},
	})
}

func TestSnmptrapdV1Trap(t *testing.T) {
	d := StartSnmptrapd(t, SnmptrapdOptions{})
	g := sender(t, d, gosnmp.Version1, "public")
	traps := []gosnmp.SnmpTrap{
		{ // enterprise-specific, trap OID without a MIB name
			Enterprise: oidVmwESX, AgentAddress: "10.1.2.3", GenericTrap: 6, SpecificTrap: 201, Timestamp: 555,
			Variables: []gosnmp.SnmpPDU{{Name: oidIfIndex2, Type: gosnmp.Integer, Value: 2}},
		},
		{ // enterprise-specific, vmware.0.1 is VMWARE-OBSOLETE-MIB::vmPoweredOn
			Enterprise: oidVmware, AgentAddress: "10.1.2.4", GenericTrap: 6, SpecificTrap: 1, Timestamp: 7,
		},
		{ // generic linkUp
			Enterprise: oidVmwESX, AgentAddress: "10.1.2.5", GenericTrap: 3, SpecificTrap: 0, Timestamp: 8,
		},
	}
	for _, trap := range traps {
		if _, err := g.SendTrap(trap); err != nil {
			t.Fatal(err)
		}
	}
	got := d.WaitTraps(t, 3, waitTime)

	tr := got[0]
	if tr.PDU != "TRAP" || tr.Version != "v1" || tr.Community != "public" {
		t.Errorf("PDU/Version/Community = %q/%q/%q, want TRAP/v1/public", tr.PDU, tr.Version, tr.Community)
	}
	if tr.Enterprise != "VMWARE-PRODUCTS-MIB::vmwESX" || tr.AgentAddr != "10.1.2.3" ||
		tr.Generic != 6 || tr.Specific != 201 || tr.Uptime != 555 || tr.TrapOID != "" {
		t.Errorf("got %+v", tr)
	}
	wantVarBinds(t, tr.VarBinds, []VarBind{{"IF-MIB::ifIndex.2", "INTEGER", "2"}})

	tr = got[1]
	if tr.Enterprise != "VMWARE-ROOT-MIB::vmware" || tr.Generic != 6 || tr.Specific != 1 ||
		tr.TrapOID != "VMWARE-OBSOLETE-MIB::vmPoweredOn" || tr.Uptime != 7 || len(tr.VarBinds) != 0 {
		t.Errorf("got %+v", tr)
	}
	tr = got[2]
	if tr.Generic != 3 || tr.Specific != 0 || tr.AgentAddr != "10.1.2.5" || tr.TrapOID != "" {
		t.Errorf("got %+v", tr)
	}
}

func TestSnmptrapdInformAcknowledged(t *testing.T) {
	d := StartSnmptrapd(t, SnmptrapdOptions{})
	g := sender(t, d, gosnmp.Version2c, "public")
	inform := v2cTrap(777, oidWarmStart, gosnmp.SnmpPDU{Name: oidIfIndex2, Type: gosnmp.Integer, Value: 2})
	inform.IsInform = true
	resp, err := g.SendTrap(inform)
	if err != nil {
		t.Fatalf("inform not acknowledged: %v", err)
	}
	if resp.PDUType != gosnmp.GetResponse {
		t.Errorf("response PDU type %v, want GetResponse", resp.PDUType)
	}
	tr := d.WaitTraps(t, 1, waitTime)[0]
	if tr.PDU != "INFORM" || tr.TrapOID != "SNMPv2-MIB::warmStart" || tr.Uptime != 777 {
		t.Errorf("got %+v", tr)
	}
}

func TestSnmptrapdDropsUnknownCommunity(t *testing.T) {
	d := StartSnmptrapd(t, SnmptrapdOptions{Communities: []string{"public", "ops"}})

	wrong := sender(t, d, gosnmp.Version2c, "wrong")
	if _, err := wrong.SendTrap(v2cTrap(1, oidWarmStart)); err != nil {
		t.Fatal(err)
	}
	wrong.Timeout, wrong.Retries = 500*time.Millisecond, 0
	inform := v2cTrap(2, oidWarmStart)
	inform.IsInform = true
	if _, err := wrong.SendTrap(inform); err == nil {
		t.Error("inform with an unknown community was acknowledged")
	}

	// snmptrapd handles datagrams in order: once this one is decoded, the
	// ones above have been handled (and dropped).
	if _, err := sender(t, d, gosnmp.Version2c, "ops").SendTrap(v2cTrap(3, oidWarmStart)); err != nil {
		t.Fatal(err)
	}
	d.WaitTraps(t, 1, waitTime)
	if got := d.Traps(); len(got) != 1 || got[0].Community != "ops" || got[0].Uptime != 3 {
		t.Fatalf("want only the trap with community ops, got %+v", got)
	}
}

func TestSnmptrapdStringsWithSeparator(t *testing.T) {
	d := StartSnmptrapd(t, SnmptrapdOptions{})
	g := sender(t, d, gosnmp.Version2c, "public")
	// The value separator is "\n<sep> ", so this would split a naive parser.
	tricky := `a "quoted" 'single' back\slash ` + d.sep + d.varSep() + " tail\twith tab  "
	_, err := g.SendTrap(v2cTrap(1, oidWarmStart,
		gosnmp.SnmpPDU{Name: oidVmwVmDisplay7, Type: gosnmp.OctetString, Value: []byte(tricky)},
		gosnmp.SnmpPDU{Name: oidNoMIBString, Type: gosnmp.OctetString, Value: []byte(tricky)},
		gosnmp.SnmpPDU{Name: oidVmwVmDisplay7, Type: gosnmp.OctetString, Value: []byte("two\nlines")},
		gosnmp.SnmpPDU{Name: oidNoMIBString, Type: gosnmp.OctetString, Value: []byte{0, 1, 0xfe, 0xff}},
		gosnmp.SnmpPDU{Name: oidVmwVmID0, Type: gosnmp.Integer, Value: 9},
	))
	if err != nil {
		t.Fatal(err)
	}
	tr := d.WaitTraps(t, 1, waitTime)[0]
	wantVarBinds(t, tr.VarBinds, []VarBind{
		{"VMWARE-VMINFO-MIB::vmwVmDisplayName.7", "STRING", tricky},
		{"SNMPv2-SMI::enterprises.99999.1", "STRING", tricky},
		{"VMWARE-VMINFO-MIB::vmwVmDisplayName.7", "STRING", "two\nlines"},
		{"SNMPv2-SMI::enterprises.99999.1", "Hex-STRING", "00 01 FE FF"},
		{"VMWARE-VMINFO-MIB::vmwVmID.0", "INTEGER", "9"},
	})
}

func TestParseVarBind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want VarBind
	}{
		{`X::a.1 = STRING: "say \"hi\" \\o/"`, VarBind{"X::a.1", "STRING", `say "hi" \o/`}},
		{`X::a.1 = STRING: "a" and "b"`, VarBind{"X::a.1", "STRING", `"a" and "b"`}}, // raw (hinted) text
		{`X::a.1 = ""`, VarBind{"X::a.1", "STRING", ""}},
		{"X::a.1 = Hex-STRING: 01 02 \n03 ", VarBind{"X::a.1", "Hex-STRING", "01 02 03"}},
		{`X::a.1 = Timeticks: (5) 0:00:00.05`, VarBind{"X::a.1", "Timeticks", "(5) 0:00:00.05"}},
		{`X::a.1 = OID: SNMPv2-MIB::coldStart`, VarBind{"X::a.1", "OID", "SNMPv2-MIB::coldStart"}},
		{`X::a.1 = NULL`, VarBind{"X::a.1", "", "NULL"}},
	} {
		if got := parseVarBind(tc.in); got != tc.want {
			t.Errorf("parseVarBind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// recordingTB captures Skip and Fatal, which end the calling goroutine.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func runTB(fn func(tb testing.TB)) *recordingTB {
	r := &recordingTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestMissingPeerSkipsOrFailsInCI(t *testing.T) {
	missing := func(tb testing.TB) { RequireCommand(tb, "peertest-no-such-command", "no-such-package") }

	t.Setenv("CI", "")
	r := runTB(missing)
	if !r.skipped || !strings.Contains(r.msg, "no-such-package") {
		t.Errorf("without CI: skipped=%v msg=%q", r.skipped, r.msg)
	}

	t.Setenv("CI", "true")
	r = runTB(missing)
	if !r.failed || !strings.Contains(r.msg, "peertest-no-such-command") {
		t.Errorf("with CI=true: failed=%v msg=%q", r.failed, r.msg)
	}

	t.Setenv(mibEnv, t.TempDir()+"/absent")
	r = runTB(func(tb testing.TB) { MIBDir(tb) })
	if !r.failed || !strings.Contains(r.msg, mibEnv) || !strings.Contains(r.msg, "absent") {
		t.Errorf("MIBDir with a missing folder: failed=%v msg=%q", r.failed, r.msg)
	}
}

func v3Sender(t *testing.T, d *Snmptrapd, flags gosnmp.SnmpV3MsgFlags, usm *gosnmp.UsmSecurityParameters) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{
		Target: "127.0.0.1", Port: uint16(d.Port()), Version: gosnmp.Version3, Timeout: 2 * time.Second, Retries: 1,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: flags, SecurityParameters: usm,
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

// TestSnmptrapdV3Users: a v3 trap from a user created with -e (the sender's
// engine ID) is decoded with its user, one keyed with a wrong password is
// dropped; an inform from a user localized to the engine ID EngineID sets
// (TextEngineID) is acknowledged, also by the same snmptrapd restarted in
// its Dir after Stop, which counts one more engine boot.
func TestSnmptrapdV3Users(t *testing.T) {
	sender := []byte("\x80\x00\x1f\x88\x04peertest-sender")
	receiver := TextEngineID("peertest-receiver")
	opts := SnmptrapdOptions{
		EngineID: "peertest-receiver",
		Users: []USMUser{
			{Name: "ops", EngineID: sender, Auth: "SHA256", AuthPass: "auth-pass", Priv: "AES128", PrivPass: "priv-pass"},
			{Name: "informer", Auth: "SHA512", AuthPass: "auth-pass"},
		},
		Dir: t.TempDir(),
	}
	d := StartSnmptrapd(t, opts)
	for i, pass := range []string{"not-the-password", "auth-pass"} {
		g := v3Sender(t, d, gosnmp.AuthPriv, &gosnmp.UsmSecurityParameters{
			UserName: "ops", AuthoritativeEngineID: string(sender), AuthoritativeEngineBoots: 1, AuthoritativeEngineTime: 1,
			AuthenticationProtocol: gosnmp.SHA256, AuthenticationPassphrase: pass,
			PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "priv-pass",
		})
		if _, err := g.SendTrap(v2cTrap(uint32(i+1), oidWarmStart)); err != nil {
			t.Fatal(err)
		}
	}
	got := d.WaitUserTraps(t, "ops", 1, waitTime)
	if all := d.Traps(); len(all) != 1 || len(got) != 1 {
		t.Fatalf("want only the trap keyed with the right password, got %+v", all)
	}
	if tr := got[0]; tr.PDU != "TRAP2" || tr.Version != "v3" || tr.User != "ops" || tr.Community != "" || tr.Uptime != 2 || tr.TrapOID != "SNMPv2-MIB::warmStart" {
		t.Errorf("got %+v", tr)
	}

	var boots uint32
	for run := 1; run <= 2; run++ {
		// No engine ID: gosnmp discovers snmptrapd's.
		usm := &gosnmp.UsmSecurityParameters{UserName: "informer", AuthenticationProtocol: gosnmp.SHA512, AuthenticationPassphrase: "auth-pass"}
		g := v3Sender(t, d, gosnmp.AuthNoPriv, usm)
		inform := v2cTrap(uint32(run), oidWarmStart)
		inform.IsInform = true
		if _, err := g.SendTrap(inform); err != nil {
			t.Fatalf("run %d: inform not acknowledged: %v", run, err)
		}
		if tr := d.WaitUserTraps(t, "informer", 1, waitTime)[0]; tr.PDU != "INFORM" || tr.Uptime != uint32(run) {
			t.Errorf("run %d: got %+v", run, tr)
		}
		if eng := usm.AuthoritativeEngineID; eng != string(receiver) {
			t.Errorf("run %d: discovered engine ID %x, want %x", run, eng, receiver)
		}
		if run == 2 && usm.AuthoritativeEngineBoots != boots+1 {
			t.Errorf("engine boots after the restart %d, want %d", usm.AuthoritativeEngineBoots, boots+1)
		}
		boots = usm.AuthoritativeEngineBoots
		if run == 1 {
			d.Stop()
			opts.Port = d.Port()
			d = StartSnmptrapd(t, opts)
		}
	}
}
