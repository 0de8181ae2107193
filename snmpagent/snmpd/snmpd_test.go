package snmpd

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/snmpagent/usm"
)

// Integration tests with net-snmp 5.9.3's snmpd and its clients; each test
// runs its own snmpd in its own folder on a free loopback port.

type harness struct {
	t      *testing.T
	sup    *Supervisor
	s      Settings
	port   int
	mibDir string
}

func requireSnmpd(t *testing.T) string {
	t.Helper()
	bin := lookBinary("")
	if bin == "" {
		t.Skip("snmpd not found in PATH, /usr/sbin or /sbin: it is in the Debian package snmpd (apt-get install snmpd)")
	}
	peertest.RequireCommand(t, "snmpget", "snmp")
	return bin
}

func start(t *testing.T, opts Options, mutate func(*Settings)) *harness {
	t.Helper()
	requireSnmpd(t)
	dir := t.TempDir()
	port, err := peertest.FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	engine, err := usm.NewEngineID()
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{
		Listen:       []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))},
		AgentXSocket: filepath.Join(dir, "agentx", "master"),
		EngineID:     engine,
		Communities:  []string{"public"},
		SysContact:   "ops@example.org",
		SysLocation:  "rack #4, row 2",
		SysDescr:     "hostagent test  host",
	}
	if mutate != nil {
		mutate(&s)
	}
	opts.Dir = filepath.Join(dir, "state")
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sup, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sup.Stop)
	h := &harness{t: t, sup: sup, s: s, port: port, mibDir: peertest.MIBDir(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := sup.Apply(ctx, s); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// run runs a net-snmp client against the harness's snmpd; args before the
// agent, oids after.
func (h *harness) run(cmd string, args []string, oids ...string) (string, error) {
	all := append([]string{"-M", h.mibDir, "-m", "ALL", "-Oqv"}, args...)
	all = append(all, fmt.Sprintf("127.0.0.1:%d", h.port))
	all = append(all, oids...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, cmd, all...)
	c.Env = append(cleanEnv(), "SNMPCONFPATH="+h.t.TempDir()) // no ~/.snmp
	var out, errOut strings.Builder
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s%s", cmd, strings.Join(all, " "), err, out.String(), errOut.String())
	}
	return out.String(), nil
}

func (h *harness) v2c(community string, oids ...string) ([]string, error) {
	out, err := h.run("snmpget", []string{"-v2c", "-c", community, "-t", "2", "-r", "1"}, oids...)
	return lines(out), err
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func unquote(v string) string {
	if u, err := strconv.Unquote(v); err == nil {
		return u
	}
	return v
}

func TestSystemGroupOverV2c(t *testing.T) {
	h := start(t, Options{}, func(s *Settings) { s.Communities = []string{"public", "a#b,c"} })
	got, err := h.v2c("public", "SNMPv2-MIB::sysContact.0", "SNMPv2-MIB::sysLocation.0", "SNMPv2-MIB::sysDescr.0", "SNMPv2-MIB::sysObjectID.0", "SNMPv2-MIB::sysServices.0", "SNMP-FRAMEWORK-MIB::snmpEngineID.0")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ops@example.org", "rack #4, row 2", "hostagent test  host", "VMWARE-PRODUCTS-MIB::vmwESX", "72"}
	if len(got) != 6 {
		t.Fatalf("got %q", got)
	}
	for i, w := range want {
		if unquote(got[i]) != w {
			t.Errorf("value %d = %q, want %q", i, got[i], w)
		}
	}
	if id := strings.ToLower(strings.ReplaceAll(strings.Trim(got[5], `" `), " ", "")); id != hex.EncodeToString(h.s.EngineID) {
		t.Errorf("snmpEngineID %s, want %x", got[5], h.s.EngineID)
	}
	// A community with '#' and ',' is one word.
	if _, err := h.v2c("a#b,c", "SNMPv2-MIB::sysUpTime.0"); err != nil {
		t.Error(err)
	}
	// A wrong community gets no answer.
	for _, c := range []string{"private", "a#b", "publi", "a"} {
		out, err := h.run("snmpget", []string{"-v2c", "-c", c, "-t", "1", "-r", "0"}, "SNMPv2-MIB::sysUpTime.0")
		if err == nil || !strings.Contains(err.Error(), "Timeout") {
			t.Errorf("community %q: %q, %v; want a timeout", c, out, err)
		}
	}
	// Read-only: a SET is refused.
	if out, err := h.run("snmpset", []string{"-v2c", "-c", "public", "-t", "1", "-r", "0"}, "SNMPv2-MIB::sysName.0", "s", "x"); err == nil {
		t.Errorf("SET answered %q", out)
	}
	st := h.sup.Status()
	if !st.Installed || !st.Running || st.PID == 0 || st.Reason() != "" || st.EngineBoots != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestUsersOverV3(t *testing.T) {
	type user struct {
		name     string
		a        usm.AuthProtocol
		p        usm.PrivProtocol
		level    usm.Level
		aName    string
		pName    string
		authPass string
		privPass string
	}
	users := []user{
		{"sha256aes", usm.AuthSHA256, usm.PrivAES128, usm.AuthPriv, "SHA-256", "AES", "authpass-256", "privpass-128"},
		{"sha512aes256", usm.AuthSHA512, usm.PrivAES256, usm.AuthPriv, "SHA-512", "AES256", "authpass-512", "privpass-256"},
		{"sha1aes256", usm.AuthSHA1, usm.PrivAES256, usm.AuthPriv, "SHA", "AES256", "authpass-sha1", "privpass-aes256"},
		{"authonly", usm.AuthSHA256, usm.PrivNone, usm.AuthNoPriv, "SHA-256", "", "authpass-only", ""},
		// net-snmp's rouser would put these two in one group "grpa_b",
		// letting a_b answer without authentication.
		{"a.b", usm.AuthNone, usm.PrivNone, usm.NoAuthNoPriv, "", "", "", ""},
		{"a_b", usm.AuthSHA256, usm.PrivAES128, usm.AuthPriv, "SHA-256", "AES", "authpass-a_b", "privpass-a_b"},
	}
	var h *harness
	h = start(t, Options{}, func(s *Settings) {
		s.Communities = nil
		for _, u := range users {
			uu := usm.User{Name: u.name, Level: u.level, Auth: u.a, Priv: u.p}
			if u.level > usm.NoAuthNoPriv {
				var priv []byte
				if u.level == usm.AuthPriv {
					priv = []byte(u.privPass)
				}
				ak, pk, err := usm.LocalizedKeys(u.a, []byte(u.authPass), priv, s.EngineID)
				if err != nil {
					t.Fatal(err)
				}
				uu.AuthKey, uu.PrivKey = ak, pk
			}
			s.Users = append(s.Users, uu)
		}
	})
	get := func(args ...string) (string, error) {
		out, err := h.run("snmpget", append(args, "-t", "1", "-r", "0"), "SNMPv2-MIB::sysContact.0")
		return strings.TrimSpace(out), err
	}
	for _, u := range users {
		var args []string
		switch u.level {
		case usm.AuthPriv:
			args = []string{"-v3", "-u", u.name, "-l", "authPriv", "-a", u.aName, "-A", u.authPass, "-x", u.pName, "-X", u.privPass}
		case usm.AuthNoPriv:
			args = []string{"-v3", "-u", u.name, "-l", "authNoPriv", "-a", u.aName, "-A", u.authPass}
		default:
			args = []string{"-v3", "-u", u.name, "-l", "noAuthNoPriv"}
		}
		if out, err := get(args...); err != nil || unquote(out) != "ops@example.org" {
			t.Errorf("user %s: %q, %v", u.name, out, err)
		}
		if u.level == usm.NoAuthNoPriv {
			continue
		}
		// A wrong authentication key: an error, never the value.
		bad := append([]string(nil), args...)
		bad[8] = "wrong-" + u.authPass
		if out, err := get(bad...); err == nil {
			t.Errorf("user %s with a wrong authentication password answered %q", u.name, out)
		}
		if u.level == usm.AuthPriv {
			bad := append([]string(nil), args...)
			bad[12] = "wrong-" + u.privPass
			if out, err := get(bad...); err == nil {
				t.Errorf("user %s with a wrong privacy password answered %q", u.name, out)
			}
			// Below its model: refused.
			if out, err := get("-v3", "-u", u.name, "-l", "authNoPriv", "-a", u.aName, "-A", u.authPass); err == nil {
				t.Errorf("user %s answered at authNoPriv: %q", u.name, out)
			}
		}
		if out, err := get("-v3", "-u", u.name, "-l", "noAuthNoPriv"); err == nil {
			t.Errorf("user %s answered at noAuthNoPriv: %q", u.name, out)
		}
	}
	// Unknown user.
	if out, err := get("-v3", "-u", "nobody", "-l", "noAuthNoPriv"); err == nil {
		t.Errorf("unknown user answered %q", out)
	}
	// No communities configured: v2c gets nothing.
	if out, err := get("-v2c", "-c", "public"); err == nil {
		t.Errorf("v2c answered %q without communities", out)
	}
}

func TestStandardMIBs(t *testing.T) {
	h := start(t, Options{}, nil)
	walk := func(oid string) []string {
		t.Helper()
		out, err := h.run("snmpbulkwalk", []string{"-v2c", "-c", "public", "-t", "5", "-r", "1", "-Cc"}, oid)
		if err != nil {
			t.Fatal(err)
		}
		l := lines(out)
		if len(l) == 0 || strings.Contains(out, "No Such") || strings.Contains(out, "No more variables") {
			t.Errorf("walk of %s: %q", oid, out)
		}
		return l
	}
	if names := walk("IF-MIB::ifDescr"); !contains(names, "lo") {
		t.Errorf("ifDescr %q has no lo", names)
	}
	walk("IF-MIB::ifHCInOctets")
	walk("IF-MIB::ifName")
	if descr := walk("HOST-RESOURCES-MIB::hrStorageDescr"); !contains(descr, "/") {
		t.Errorf("hrStorageDescr %q has no /", descr)
	}
	walk("HOST-RESOURCES-MIB::hrStorageTable")
	walk("HOST-RESOURCES-MIB::hrSWRunName")
	walk("UCD-SNMP-MIB::laLoad")
	if paths := walk("UCD-SNMP-MIB::dskPath"); !contains(paths, "/") {
		t.Errorf("dskPath %q has no /", paths)
	}
	got, err := h.v2c("public", "UCD-SNMP-MIB::memTotalReal.0", "UCD-SNMP-MIB::laLoad.1")
	if err != nil || len(got) != 2 || !strings.HasSuffix(got[0], "kB") {
		t.Errorf("memTotalReal, laLoad: %q, %v", got, err)
	}
}

func TestEngineBootsAndSettingsChange(t *testing.T) {
	clock, err := usm.StartClock(filepath.Join(t.TempDir(), "boots.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clock.Raise(41); err != nil {
		t.Fatal(err)
	}
	h := start(t, Options{Boots: ClockBoots(clock)}, nil)
	boots := func() string {
		t.Helper()
		got, err := h.v2c("public", "SNMP-FRAMEWORK-MIB::snmpEngineBoots.0")
		if err != nil || len(got) != 1 {
			t.Fatalf("snmpEngineBoots: %q, %v", got, err)
		}
		return got[0]
	}
	// Every start is a new boot of the shared clock, the first included:
	// snmpd's time starts at 0, and the trap sender's with it.
	if b := boots(); b != "42" || h.sup.Status().EngineBoots != 42 || clock.Boots() != 42 {
		t.Errorf("first start: snmpEngineBoots %s (status %d, clock %d), want 42", b, h.sup.Status().EngineBoots, clock.Boots())
	}
	pid := h.sup.Status().PID

	// Same settings: nothing happens.
	ctx := context.Background()
	if err := h.sup.Apply(ctx, h.s); err != nil || h.sup.Status().PID != pid {
		t.Fatalf("Apply of the same settings: %v, pid %d -> %d", err, pid, h.sup.Status().PID)
	}

	// New settings: a restart, with the new values and a new boot shared
	// with the clock.
	s := h.s
	s.SysContact = "new contact"
	s.Communities = []string{"other"}
	if err := h.sup.Apply(ctx, s); err != nil {
		t.Fatal(err)
	}
	if h.sup.Status().PID == pid {
		t.Error("snmpd was not restarted")
	}
	got, err := h.v2c("other", "SNMPv2-MIB::sysContact.0", "SNMP-FRAMEWORK-MIB::snmpEngineBoots.0")
	if err != nil || len(got) != 2 || unquote(got[0]) != "new contact" || got[1] != "43" {
		t.Errorf("after the change: %q, %v; want new contact and boots 43", got, err)
	}
	if clock.Boots() != 43 || h.sup.Status().EngineBoots != 43 {
		t.Errorf("clock boots %d, status %d; want 43", clock.Boots(), h.sup.Status().EngineBoots)
	}
	if out, err := h.run("snmpget", []string{"-v2c", "-c", "public", "-t", "1", "-r", "0"}, "SNMPv2-MIB::sysUpTime.0"); err == nil {
		t.Errorf("the removed community still answers: %q", out)
	}

	// Hostile settings are refused, and the running snmpd is stopped (fail
	// closed): it has the communities the change may have revoked.
	s.Communities = []string{"x\nrwcommunity evil"}
	if err := h.sup.Apply(ctx, s); err == nil || !strings.Contains(err.Error(), "community") {
		t.Errorf("hostile community: %v", err)
	}
	if st := h.sup.Status(); st.PID != 0 || st.Running || st.LastError == "" {
		t.Errorf("status after a refused Apply: %+v", st)
	}
	if out, err := h.run("snmpget", []string{"-v2c", "-c", "other", "-t", "1", "-r", "0"}, "SNMPv2-MIB::sysUpTime.0"); err == nil {
		t.Errorf("the previous settings still answer after a refused change: %q", out)
	}
}

// Without Options.Boots, snmpd's own count carries on across restarts.
func TestEngineBootsCarriedOn(t *testing.T) {
	h := start(t, Options{}, nil)
	for want := 2; want <= 3; want++ {
		if err := h.sup.Disable(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := h.sup.Status(); st.Running || st.Reason() != "disabled" {
			t.Errorf("disabled: %+v", st)
		}
		if err := h.sup.Apply(context.Background(), h.s); err != nil {
			t.Fatal(err)
		}
		got, err := h.v2c("public", "SNMP-FRAMEWORK-MIB::snmpEngineBoots.0")
		if err != nil || len(got) != 1 || got[0] != strconv.Itoa(want) {
			t.Errorf("snmpEngineBoots %q, %v; want %d", got, err, want)
		}
	}
}

func TestKilledSnmpdIsRestarted(t *testing.T) {
	h := start(t, Options{MinBackoff: 50 * time.Millisecond}, nil)
	st := h.sup.Status()
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	peertest.Eventually(t, 30*time.Second, "snmpd restarted", func() bool {
		n := h.sup.Status()
		return n.Running && n.PID != st.PID && n.Restarts == 1
	})
	if got, err := h.v2c("public", "SNMPv2-MIB::sysContact.0"); err != nil || len(got) != 1 {
		t.Errorf("after the restart: %q, %v", got, err)
	}
	if n := h.sup.Status(); n.EngineBoots != st.EngineBoots+1 {
		t.Errorf("boots %d after a restart from %d", n.EngineBoots, st.EngineBoots)
	}
}

func TestStartFailureIsReported(t *testing.T) {
	requireSnmpd(t)
	// The port is taken: snmpd exits, Apply says why with its log.
	h := start(t, Options{}, nil)
	dir := t.TempDir()
	s := h.s
	s.AgentXSocket = filepath.Join(dir, "agentx2")
	sup, err := New(Options{Dir: filepath.Join(dir, "state"), MinBackoff: time.Hour, StartTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Stop()
	err = sup.Apply(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "the port is taken (the system's snmpd?") || !strings.Contains(err.Error(), "udp:127.0.0.1:") {
		t.Errorf("Apply on a taken port: %v", err)
	}
	if st := sup.Status(); st.Running || st.LastError == "" {
		t.Errorf("status %+v", st)
	}
}

func TestNotInstalled(t *testing.T) {
	sup, err := New(Options{Binary: filepath.Join(t.TempDir(), "no-snmpd"), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Stop()
	err = sup.Apply(context.Background(), baseSettings())
	if !errors.Is(err, ErrNotInstalled) || err.Error() != "polling off: snmpd is not installed (Debian package snmpd)" {
		t.Errorf("Apply: %v", err)
	}
	if st := sup.Status(); st.Installed || st.Reason() != "snmpd is not installed (Debian package snmpd)" {
		t.Errorf("status %+v", st)
	}
}

func contains(vals []string, want string) bool {
	for _, v := range vals {
		if unquote(v) == want {
			return true
		}
	}
	return false
}

// TestSystemSnmpdOnThePort: Debian's own snmpd listens on 127.0.0.1:161
// once the package is installed. Ours, on every address of that port,
// cannot open it: Apply says so and names the way out, and ours starts by
// itself (with backoff) once the port is free, never answering with the
// other agent's engine ID meanwhile.
func TestSystemSnmpdOnThePort(t *testing.T) {
	system := peertest.StartSnmpd(t) // on 127.0.0.1:PORT
	_, portText, _ := strings.Cut(system.Addr(), ":")
	port, _ := strconv.Atoi(portText)
	dir := t.TempDir()
	engine, err := usm.NewEngineID()
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{Listen: []netip.AddrPort{netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port))},
		AgentXSocket: filepath.Join(dir, "agentx.sock"), EngineID: engine, Communities: []string{"ours"}}
	sup, err := New(Options{Dir: filepath.Join(dir, "state"), MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Stop()
	err = sup.Apply(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "the port is taken (the system's snmpd? stop it with systemctl disable --now snmpd") {
		t.Fatalf("Apply beside the system's snmpd: %v", err)
	}
	system.Kill()
	peertest.Eventually(t, 30*time.Second, "ours running once the port is free", func() bool { return sup.Status().Running })
	h := &harness{t: t, sup: sup, s: s, port: port, mibDir: peertest.MIBDir(t)}
	if got, err := h.v2c("ours", "SNMP-FRAMEWORK-MIB::snmpEngineID.0"); err != nil || len(got) != 1 {
		t.Errorf("ours after the system's went away: %q %v", got, err)
	}
}

// TestRefusedChangeCancelsPendingRestart: snmpd died and its restart waits
// out the backoff when a change is refused. The restart must not come,
// with the settings the change replaced (fail closed), not even once the
// backoff is over many times.
func TestRefusedChangeCancelsPendingRestart(t *testing.T) {
	h := start(t, Options{MinBackoff: 300 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}, nil)
	if err := syscall.Kill(h.sup.Status().PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Dead, and its restart scheduled: refuse a change before it comes.
	bad := h.s
	bad.Communities = []string{"x y"}
	if err := h.sup.Apply(context.Background(), bad); err == nil {
		t.Fatal("a community with a blank was accepted")
	}
	if peertest.Until(3*time.Second, func() bool { return h.sup.Status().Running }) { // ten backoffs
		t.Fatalf("snmpd came back with the replaced settings after a refused change: %+v", h.sup.Status())
	}
	if st := h.sup.Status(); st.LastError == "" || st.Reason() != st.LastError {
		t.Errorf("status after the refusal: %+v", st)
	}
	if _, err := os.Stat(h.sup.paths.conf); !os.IsNotExist(err) {
		t.Errorf("the replaced configuration is still on disk: %v", err)
	}
	// A valid change brings it back.
	if err := h.sup.Apply(context.Background(), h.s); err != nil {
		t.Fatal(err)
	}
	if got, err := h.v2c("public", "SNMPv2-MIB::sysUpTime.0"); err != nil || len(got) != 1 {
		t.Errorf("after a valid change: %q %v", got, err)
	}
}
